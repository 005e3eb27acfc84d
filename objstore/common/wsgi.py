"""Running WSGI apps: PasteDeploy loading, binding, prefork workers.

``run_server(conf_path)`` is what every server's entry point calls: it
reads ``[DEFAULT]`` (bind_ip, bind_port, workers, backlog, client_timeout,
max_clients, log_*), binds once, then either serves in-process
(``workers = 0``) or forks ``workers`` children that share the listening
socket and are restarted when they die: at once when they had served a
while, after a growing delay when they keep dying young, and not at all
when one cannot load its app (the server then exits with the error, since
a replacement would fail the same way). SIGTERM/SIGINT stop it cleanly.

``serve_in_thread(app)`` runs an app on a loopback port in a background OS
thread with its own event hub: the in-process servers of unit tests.
"""

import errno
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

from paste.deploy import loadapp

from objstore.common import green, metrics
from objstore.common.backend_client import allow_header_count
from objstore.common.config import ConfBase, readconf
from objstore.common.constraints import MAX_HEADER_COUNT
from objstore.common.exceptions import ConfigError
from objstore.common.heap import release_free_heap
from objstore.common.http_server import HttpServer
from objstore.common.infocache import SHARED_CACHE_KEY
from objstore.common.log import get_logger

# More filters than any pipeline has: the walk to the app stops there.
MAX_PIPELINE_DEPTH = 100


@dataclass(frozen=True)
class WSGIServerConf(ConfBase):
    """Options every WSGI server reads from its [DEFAULT] section."""

    bind_ip: str = '127.0.0.1'
    bind_port: int = 8080
    workers: int = 1
    backlog: int = 4096
    client_timeout: float = 60.0
    max_clients: int = 1024
    metrics_dir: str = ''
    log_name: str = 'objstore'
    log_level: str = 'INFO'
    log_file: str = ''

    def validate(self):
        if not 0 <= self.bind_port <= 65535:
            raise ConfigError('bind_port must be 0..65535, got %d'
                              % self.bind_port)
        if self.workers < 0:
            raise ConfigError('workers must be >= 0')


def load_app(conf_path, name='main'):
    """The WSGI app (pipeline) ``name`` of a PasteDeploy config file."""
    return with_shared_info_cache(
        loadapp('config:' + os.path.abspath(conf_path), name=name))


def with_shared_info_cache(pipeline):
    """``pipeline``, putting its app's info cache in every request.

    Middlewares read account and container info through common.info,
    whose second layer is the shared cache a request carries
    (``SHARED_CACHE_KEY``). The app at the bottom of a proxy pipeline owns
    that cache (its ``info_cache``); unless the environ carries it, every
    middleware's first lookup of a request is a HEAD subrequest down the
    rest of the pipeline that the app then answers from that very cache
    (two such per object request: a quarter of a proxy's CPU per HEAD).
    A pipeline whose app has no such cache (storage servers) is returned
    as it is. Filters are found through their ``app`` attribute.
    """
    app = pipeline
    for _depth in range(MAX_PIPELINE_DEPTH):
        cache = getattr(app, 'info_cache', None)
        if cache is not None:
            break
        app = getattr(app, 'app', None)
        if app is None:
            return pipeline
    else:
        return pipeline

    def installing_cache(environ, start_response):
        environ.setdefault(SHARED_CACHE_KEY, cache)
        return pipeline(environ, start_response)
    return installing_cache


def bind_socket(ip, port, backlog=4096):
    """A listening green socket; raises ConfigError naming a busy port."""
    family = socket.AF_INET6 if ':' in ip else socket.AF_INET
    try:
        sock = green.listen((ip, port), family=family, backlog=backlog)
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise ConfigError('address %s:%d is already in use' % (ip, port))
        raise ConfigError('cannot bind %s:%d: %s' % (ip, port, err.strerror))
    if family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def serve_forever(sock, app, server_conf):
    """Serve ``app`` on ``sock`` in this process until interrupted."""
    # The backend client's answers take as many header lines as requests.
    allow_header_count()
    HttpServer(app, client_timeout=server_conf.client_timeout,
               max_clients=server_conf.max_clients,
               max_header_lines=MAX_HEADER_COUNT).serve(sock)


# Exit status of a worker that could not load its app.
WORKER_CANNOT_LOAD = 3
# A worker that dies sooner than this after its fork is failing, not done.
WORKER_QUICK_EXIT = 5.0
WORKER_FIRST_DELAY = 0.1
WORKER_MAX_DELAY = 10.0


def worker_respawn_delay(previous, lived):
    """Seconds to wait before replacing a worker that lived ``lived`` s.

    >>> worker_respawn_delay(0.0, 0.5), worker_respawn_delay(0.1, 0.5)
    (0.1, 0.2)
    >>> worker_respawn_delay(8.0, 0.5), worker_respawn_delay(8.0, 60.0)
    (10.0, 0.0)
    """
    if lived >= WORKER_QUICK_EXIT:
        return 0.0
    return min(max(previous * 2, WORKER_FIRST_DELAY), WORKER_MAX_DELAY)


def _exit_text(code):
    return 'signal %d' % -code if code < 0 else 'status %d' % code


# The signals that stop a server, its prefork parent and workers alike.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class WorkerSupervisor:
    """The prefork parent: keeps ``workers`` children alive.

    Each child loads the app itself (after fork) so that no connection or
    file handle is shared between workers.

    Between events the parent sleeps: a worker's death (SIGCHLD) or a stop
    (SIGTERM/SIGINT) wakes it through the signal wakeup pipe, rather than
    a waitpid poll 20 times a second for the server's whole life.
    """

    def __init__(self, sock, conf_path, server_conf, logger, app_name):
        self.sock = sock
        self.conf_path = conf_path
        self.server_conf = server_conf
        self.logger = logger
        self.app_name = app_name
        self.children = {}  # pid -> time.monotonic() of its fork
        self.running = True
        self.failure = None
        self.respawn_delay = 0.0
        self.respawn_at = 0.0
        self._wakeup = None

    def spawn_worker(self):
        # A stop signal reaching a new child before it resets its handlers
        # would run the parent's (``stop``, on the child's copy) and be
        # lost: the child would serve on until the parent's SIGKILL, 10 s
        # later. Held across the fork, it reaches the child once the
        # default action is back (_serve_as_worker).
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            pid = os.fork()
            if pid == 0:
                self._be_worker()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        self.children[pid] = time.monotonic()

    def _be_worker(self):
        """The child side of the fork; never returns, whatever happens,
        so that no exception unwinds into the parent's loop."""
        status = 1
        try:
            status = self._serve_as_worker()
        finally:
            os._exit(status)

    def _serve_as_worker(self):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        signal.set_wakeup_fd(-1)
        for fd in self._wakeup:
            os.close(fd)
        green.fresh_hub()
        try:
            app = load_app(self.conf_path, self.app_name)
        except Exception:
            self.logger.exception('worker %d cannot load the app from %s',
                                  os.getpid(), self.conf_path)
            return WORKER_CANNOT_LOAD
        release_free_heap()
        try:
            serve_forever(self.sock, app, self.server_conf)
        except Exception:
            self.logger.exception('worker %d stopped on an error',
                                  os.getpid())
            return 1
        return 0

    def stop(self, *_args):
        self.running = False

    def run(self):
        """Supervise until stopped; ConfigError when workers cannot load
        the app."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self._listen_for_signals()
        while self.running:
            self._spawn_missing()
            self._reap(block_for=self._next_wake())
        self._terminate_children()
        if self.failure:
            raise ConfigError(self.failure)

    def _spawn_missing(self):
        if time.monotonic() < self.respawn_at:
            return
        while len(self.children) < self.server_conf.workers:
            self.spawn_worker()

    def _listen_for_signals(self):
        """Have every handled signal written to a pipe the parent waits
        on; SIGCHLD gets a handler of its own for that (ignoring it would
        make the kernel reap the workers itself)."""
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        os.set_blocking(write_end, False)
        signal.signal(signal.SIGCHLD, lambda *_a: None)
        signal.set_wakeup_fd(write_end)
        self._wakeup = (read_end, write_end)

    def _next_wake(self):
        """Seconds until the parent has something to do unasked: a
        respawn that is due (a minute at most otherwise, for safety)."""
        if len(self.children) < self.server_conf.workers:
            return max(0.0, self.respawn_at - time.monotonic())
        return 60.0

    def _reap(self, block_for):
        """Handle an exited worker, waiting up to ``block_for`` seconds
        (less if a signal comes) for one."""
        deadline = time.monotonic() + block_for
        while self.running:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid:
                self._worker_exited(pid, os.waitstatus_to_exitcode(status))
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wait_for_signal(left)

    def _wait_for_signal(self, timeout):
        read_end = self._wakeup[0]
        select.select([read_end], [], [], timeout)
        try:
            while os.read(read_end, 64):
                pass
        except BlockingIOError:
            pass

    def _worker_exited(self, pid, code):
        lived = time.monotonic() - self.children.pop(pid, 0.0)
        metrics.worker_exited(pid)
        if code == WORKER_CANNOT_LOAD:
            self.failure = ('workers cannot load the app from %s (see the '
                            'error logged above)' % self.conf_path)
            self.logger.error('worker %d could not load the app; stopping '
                              'the server', pid)
            self.running = False
            return
        self.respawn_delay = worker_respawn_delay(self.respawn_delay, lived)
        self.respawn_at = time.monotonic() + self.respawn_delay
        self.logger.warning('worker %d exited (%s) after %.1fs; starting '
                            'another in %.1fs', pid, _exit_text(code), lived,
                            self.respawn_delay)

    def _terminate_children(self):
        for pid in list(self.children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                self.children.pop(pid)
        deadline = time.monotonic() + 10
        while self.children and time.monotonic() < deadline:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                self.children.pop(pid, None)
            else:
                time.sleep(0.05)
        for pid in self.children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def run_server(conf_path, app_name='main'):
    """Entry point body of every WSGI server process."""
    green.monkey_patch()
    defaults = readconf(conf_path)['DEFAULT']
    server_conf = WSGIServerConf.from_conf(defaults)
    logger = get_logger(defaults, server_conf.log_name)
    sock = bind_socket(server_conf.bind_ip, server_conf.bind_port,
                       server_conf.backlog)
    logger.info('%s listening on %s:%d with %d worker(s)',
                server_conf.log_name, server_conf.bind_ip,
                sock.getsockname()[1], server_conf.workers)
    if server_conf.workers == 0:
        app = load_app(conf_path, app_name)
        # Loading the pipeline freed more than it keeps (~0.6 MiB per
        # server in an aio).
        release_free_heap()
        signal.signal(signal.SIGTERM, lambda *_a: sys.exit(0))
        serve_forever(sock, app, server_conf)
        return
    metrics_dir = server_conf.metrics_dir or tempfile.mkdtemp(
        prefix='objstore-metrics-')
    # Before the workers fork and load the app: see common.metrics.
    metrics.use_multiprocess_dir(metrics_dir)
    try:
        WorkerSupervisor(sock, conf_path, server_conf, logger,
                         app_name).run()
    finally:
        if not server_conf.metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


class _StoppableSocket:
    """Wraps a listening socket so that accept() ends the server loop.

    The server loop exits on SystemExit from accept(); ``stop()`` sets the
    flag and pokes the socket from outside the server's hub.
    """

    def __init__(self, sock):
        self._sock = sock
        self.stopping = False

    def accept(self):
        conn = self._sock.accept()
        if self.stopping:
            conn[0].close()
            raise SystemExit()
        return conn

    def __getattr__(self, name):
        return getattr(self._sock, name)


class ThreadedServer:
    """A WSGI app on a loopback port, served from a background OS thread."""

    def __init__(self, app, host='127.0.0.1', port=0, client_timeout=30.0,
                 max_clients=1024):
        self.app = app
        self.host = host
        self._ready = threading.Event()
        self._listener = None
        self.port = None
        self._conf = WSGIServerConf(bind_ip=host, bind_port=port,
                                    client_timeout=client_timeout,
                                    max_clients=max_clients)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError('test server did not start')

    def _run(self):
        sock = bind_socket(self.host, self._conf.bind_port)
        self.port = sock.getsockname()[1]
        self._listener = _StoppableSocket(sock)
        self._ready.set()
        serve_forever(self._listener, self.app, self._conf)

    @property
    def url(self):
        host = '[%s]' % self.host if ':' in self.host else self.host
        return 'http://%s:%d' % (host, self.port)

    def stop(self):
        if self._listener is None or self._listener.stopping:
            return
        self._listener.stopping = True
        try:
            socket.create_connection((self.host, self.port), 1).close()
        except OSError:
            pass
        self._thread.join(10)


def serve_in_thread(app, host='127.0.0.1', port=0):
    """Start ``app`` on a loopback port; returns a ThreadedServer handle."""
    return ThreadedServer(app, host, port)
