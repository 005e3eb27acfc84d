"""Child-process supervision for objstore-aio.

A ``Supervisor`` starts each ``ChildSpec`` as its own process (own session,
so a terminal's Ctrl-C reaches only the supervisor, which then stops every
child in order), copies its output to ``logs/<name>.log`` and optionally to
the console, restarts a child that dies with exponential backoff, and stops
them all with SIGTERM, then SIGKILL after a grace period. A child stopped on
purpose (``hold``) is not restarted until ``release``.

Signals go to a child's whole process group (its session leader's PID):
a proxy's prefork workers and an rsync daemon's per-connection children
must not outlive the child that made them. An optional ``stop_requested``
event cuts start-up short, so a Ctrl-C while the cluster comes up stops
it as promptly as one after.

Children die with their supervisor even when it cannot stop them (SIGKILL,
a crash, a test run killed by ``timeout``): each asks the kernel, before
it execs, for SIGTERM when its parent goes (Linux's parent-death signal).
SIGTERM rather than SIGKILL so that each stops as on a normal stop and
takes what it forked (a proxy's workers) with it. The kernel sends that
signal when the *thread* that forked the child exits, not the process, so
a supervisor starts children only from the thread that made it.
"""

import ctypes
import functools
import http.client
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass

FIRST_BACKOFF = 0.2
MAX_BACKOFF = 30.0
STABLE_AFTER = 30.0
STOP_GRACE = 10.0

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
# Resolved here, not in the forked child, where loading a library could
# wait on a lock another thread of the parent held at fork time.
_prctl = ctypes.CDLL(None, use_errno=True).prctl


@dataclass(frozen=True)
class ChildSpec:
    """What to run and how to tell it is serving.

    ``health`` is ('http', ip, port), ('tcp', ip, port) or None (alive is
    enough, for daemons).
    """

    name: str
    argv: tuple
    health: tuple = None


def answers_http(ip, port, timeout=1.0):
    """True when something at ip:port speaks HTTP (any status counts)."""
    conn = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        conn.request('GET', '/healthcheck')
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def accepts_tcp(ip, port, timeout=1.0):
    try:
        socket.create_connection((ip, port), timeout).close()
        return True
    except OSError:
        return False


def is_serving(health):
    """Whether a ChildSpec ``health`` check passes (None: nothing to ask)."""
    if health is None:
        return True
    kind, ip, port = health
    return (answers_http if kind == 'http' else accepts_tcp)(ip, port)


def next_backoff(previous, ran_for):
    """Seconds to wait before restarting a child that just died.

    >>> next_backoff(None, 1.0), next_backoff(0.2, 1.0), next_backoff(16, 2)
    (0.2, 0.4, 30.0)
    >>> next_backoff(8.0, 120.0)
    0.2
    """
    if previous is None or ran_for >= STABLE_AFTER:
        return FIRST_BACKOFF
    return min(previous * 2, MAX_BACKOFF)


def die_with_parent(parent_pid):
    """``preexec_fn`` of every child: SIGTERM it when ``parent_pid`` dies.

    Runs in the forked child before exec (the setting survives exec). A
    parent that died before the call would never send the signal, hence
    the check after it.
    """
    if _prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        os._exit(1)
    if os.getppid() != parent_pid:
        os._exit(1)


class Child:
    """One supervised process and its restart bookkeeping."""

    def __init__(self, spec, log_dir, console):
        self.spec = spec
        self.log_path = os.path.join(log_dir, spec.name + '.log')
        self.console = console
        self.proc = None
        self.started_at = 0.0
        self.backoff = None
        self.restart_at = None
        self.restarts = 0
        self.held = False
        self._pump = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, env):
        self.proc = subprocess.Popen(
            self.spec.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, env=env,
            preexec_fn=functools.partial(die_with_parent, os.getpid()))
        self.started_at = time.monotonic()
        self.restart_at = None
        self._pump = threading.Thread(target=self._copy_output,
                                      args=(self.proc,), daemon=True)
        self._pump.start()

    def _copy_output(self, proc):
        with open(self.log_path, 'ab', buffering=0) as log:
            for line in iter(proc.stdout.readline, b''):
                log.write(line)
                if self.console is not None:
                    self.console('%s | %s' % (
                        self.spec.name,
                        line.decode('utf-8', 'replace').rstrip()))
        proc.stdout.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def healthy(self):
        return self.alive() and is_serving(self.spec.health)

    def signal(self, signum):
        """Send ``signum`` to every process of this child's group.

        Also when the leader is gone: what it forked may still run. The
        group is this child's own (``start_new_session``), and the kernel
        does not hand its ID to a new process while a member lives.
        """
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signum)
        except ProcessLookupError:
            pass

    def reap(self, timeout):
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        if self._pump is not None:
            self._pump.join(2)
        return True


class Supervisor:
    """Starts, watches, restarts and stops a set of children."""

    def __init__(self, specs, log_dir, console=None, logger=None, env=None,
                 stop_requested=None):
        os.makedirs(log_dir, exist_ok=True)
        self.children = {spec.name: Child(spec, log_dir, console)
                         for spec in specs}
        self.logger = logger
        self.env = env
        self.stop_requested = stop_requested or threading.Event()
        self._lock = threading.RLock()
        self.on_change = None
        # Children get their parent-death signal when this thread exits.
        self._forking_thread = threading.current_thread()

    def _log(self, message, *args):
        if self.logger is not None:
            self.logger.warning(message, *args)

    def start(self, names=None):
        with self._lock:
            for name in names or self.children:
                if self.stop_requested.is_set():
                    break
                child = self.children[name]
                if not child.alive():
                    self._start_child(child)
                    self._changed()

    def wait_healthy(self, names=None, timeout=30.0, progress=None):
        """Names still unhealthy after ``timeout`` or when a stop was
        requested (empty list: all good). ``progress(healthy, total)``,
        when given, hears each change of the healthy count."""
        pending = list(names or self.children)
        total = len(pending)
        shown = None
        deadline = time.monotonic() + timeout
        while (pending and time.monotonic() < deadline
               and not self.stop_requested.is_set()):
            pending = [n for n in pending
                       if not self.children[n].healthy()]
            if progress is not None and total - len(pending) != shown:
                shown = total - len(pending)
                progress(shown, total)
            if pending:
                time.sleep(0.05)
        return pending

    def poll(self, now=None):
        """One supervision step: notice deaths, restart when due."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for child in self.children.values():
                if child.held or child.proc is None or child.alive():
                    continue
                if child.restart_at is None:
                    # What the dead child forked (workers, rsync children)
                    # would hold its port against its successor.
                    child.signal(signal.SIGKILL)
                    ran_for = now - child.started_at
                    child.backoff = next_backoff(child.backoff, ran_for)
                    child.restart_at = now + child.backoff
                    self._log('%s (pid %s) exited with %s; restarting in '
                              '%.1fs', child.spec.name, child.pid,
                              child.proc.returncode, child.backoff)
                elif now >= child.restart_at:
                    child.restarts += 1
                    self._start_child(child)
                    self._log('%s restarted as pid %s (restart #%d)',
                              child.spec.name, child.pid, child.restarts)
                    self._changed()

    def hold(self, name, signum=signal.SIGTERM):
        """Stop a child on purpose; it stays down until ``release``."""
        with self._lock:
            child = self.children[name]
            child.held = True
            child.signal(signum)
        child.reap(STOP_GRACE)
        child.signal(signal.SIGKILL)
        child.reap(STOP_GRACE)
        self._changed()

    def release(self, name):
        with self._lock:
            child = self.children[name]
            child.held = False
            child.backoff = None
            if not child.alive():
                self._start_child(child)
            self._changed()

    def stop_all(self):
        """SIGTERM to every child's group; after the grace period SIGKILL
        to every group, also of children that exited in time, since what
        they forked may not have."""
        with self._lock:
            for child in self.children.values():
                child.held = True
                child.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for child in self.children.values():
            if not child.reap(max(0.1, deadline - time.monotonic())):
                self._log('%s (pid %s) ignored SIGTERM for %.0fs; killing '
                          'its process group', child.spec.name, child.pid,
                          STOP_GRACE)
        for child in self.children.values():
            child.signal(signal.SIGKILL)
            child.reap(STOP_GRACE)
        self._changed()

    def _start_child(self, child):
        if threading.current_thread() is not self._forking_thread:
            raise RuntimeError(
                'children must be started from the thread that made the '
                'supervisor (%s): they die when the thread that forked them '
                'exits' % self._forking_thread.name)
        child.start(self.env)

    def pids(self):
        return {name: child.pid for name, child in self.children.items()
                if child.alive()}

    def _changed(self):
        if self.on_change is not None:
            self.on_change()
