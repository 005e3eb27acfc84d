"""rsync for the object replicator: command lines, runs, rsyncd.conf.

Owns which rsync options replication uses and why, running one rsync
with a hard deadline, reading its itemized output, rendering an
rsyncd.conf, and starting/stopping an rsync daemon we own (the aio, tests
and the benchmark). It must not decide what to sync: the replicator
passes the suffix dirs.

Why these options are safe for "newest wins" (DESIGN.md, "Time and
conflicts"): object files are named by their timestamp and never change
once renamed into place, so a file name identifies one version.

- ``--ignore-existing``: a file the receiver already has is never
  rewritten; rsync can only add versions, never replace one.
- no ``--delete``: files the receiver has and we lack are newer state (or
  state it will clean up itself); deleting them could resurrect an old
  version. The receiver's ``cleanup_ondisk_files`` (run when it rehashes
  on our REPLICATE) removes whatever the newest file made obsolete.
- no ``--partial``; rsync writes into a hidden ``.<name>.XXXXXX`` temp
  file beside the target and renames it when complete, so a cut transfer
  never leaves a visible object file; ``--exclude=.*.??????`` keeps such
  leftovers of an earlier cut transfer from being sent on.
- ``--xattrs``: object metadata lives in xattrs; ``--whole-file``: files
  are immutable, delta transfer would only cost CPU. A metadata sidecar
  (``<owner>.mdjson``) sorts after its owner, so the receiver sees the
  owner first, and a cut transfer may leave it alone until the next pass;
  the receiver's readers pass such an owner over (``diskfile``), and its
  suffix hash differs from ours until the sidecar arrives.
- ``--relative`` with a ``/./`` anchor: the receiver creates
  ``objects[-N]/<part>/`` under the device dir as needed, and nothing
  outside the device dir is ever named.
- ``--timeout`` (I/O stall), ``--contimeout`` (daemon connect) and a hard
  process deadline: a dead peer can not hang a replication pass.
"""

import dataclasses
import grp
import os
import pwd
import re
import signal
import socket
import subprocess
import time

from objstore.common import green
from objstore.common.exceptions import ConfigError

# rsync exit statuses worth a word in the log (rsync(1), EXIT VALUES).
RSYNC_EXIT_MEANINGS = {
    0: 'success',
    5: 'error starting client-server protocol',
    10: 'error in socket I/O',
    11: 'error in file I/O',
    12: 'error in rsync protocol data stream',
    23: 'partial transfer due to error',
    24: 'partial transfer due to vanished source files',
    30: 'timeout in data send/receive',
    35: 'timeout waiting for daemon connection',
}
# Source files that vanish mid-transfer were made obsolete by a newer
# write or reclaimed; what remains was sent, so the run counts as done.
RSYNC_OK_CODES = frozenset((0, 24))
KILLED_BY_DEADLINE = -1
RSYNC_TEMP_EXCLUDE = '--exclude=.*.??????'
_ITEM_SENT = re.compile(r'^[<>]f')
_BWLIMIT = re.compile(r'^\d+(\.\d+)?[KkMmGg]?$')


@dataclasses.dataclass(frozen=True)
class RsyncSettings:
    """How to reach peers' rsync daemons and how long to wait for them.

    ``module`` is a template filled per peer device with ``ip``, ``port``,
    ``replication_ip``, ``replication_port`` and ``device``; the device
    path below the module is appended (Swift's ``rsync_module``).
    """

    module: str = '{replication_ip}::object'
    port: int = 873
    io_timeout: int = 900
    conn_timeout: int = 60
    bwlimit: str = '0'
    compress: bool = False
    binary: str = 'rsync'

    def __post_init__(self):
        if not _BWLIMIT.match(str(self.bwlimit)):
            raise ConfigError('rsync_bwlimit: expected a number with an '
                              'optional K/M/G unit, got %r' % self.bwlimit)
        if self.io_timeout <= 0 or self.conn_timeout <= 0:
            raise ConfigError('rsync timeouts must be > 0')

    @property
    def deadline(self):
        """Hard limit for one rsync process, in seconds."""
        return self.io_timeout + self.conn_timeout


@dataclasses.dataclass(frozen=True)
class RsyncResult:
    returncode: int
    files_sent: int
    duration: float
    output: str

    @property
    def ok(self):
        return self.returncode in RSYNC_OK_CODES

    @property
    def meaning(self):
        if self.returncode == KILLED_BY_DEADLINE:
            return 'killed after the deadline'
        return RSYNC_EXIT_MEANINGS.get(self.returncode,
                                       'exit status %d' % self.returncode)


def _bracketed(ip):
    return '[%s]' % ip if ':' in ip and not ip.startswith('[') else ip


def rsync_destination(template, dev):
    """``<module>/<device>/`` for a peer device dict.

    >>> rsync_destination('{replication_ip}::object{replication_port}',
    ...     {'ip': '10.0.0.1', 'port': 6200, 'replication_ip': '10.0.0.2',
    ...      'replication_port': 6300, 'device': 'sdb'})
    '10.0.0.2::object6300/sdb/'
    """
    rep_ip = dev.get('replication_ip') or dev['ip']
    values = {
        'ip': _bracketed(dev['ip']), 'port': dev['port'],
        'replication_ip': _bracketed(rep_ip),
        'replication_port': dev.get('replication_port') or dev['port'],
        'device': dev['device'],
    }
    try:
        module = template.format(**values)
    except (KeyError, IndexError, ValueError) as err:
        raise ConfigError('rsync_module %r: %s' % (template, err))
    return '%s/%s/' % (module.rstrip('/'), dev['device'])


def build_rsync_command(device_path, relpaths, destination, settings):
    """argv sending ``device_path/<relpath>`` for each relpath to the
    same relative place under ``destination`` (a device on the peer).

    >>> build_rsync_command('/srv/node/d1', ['objects/7/abc'],
    ...     '10.0.0.2::object/d2/', RsyncSettings(port=873))[-2:]
    ['/srv/node/d1/./objects/7/abc', '10.0.0.2::object/d2/']
    """
    if not relpaths:
        raise ValueError('nothing to send')
    argv = [settings.binary, '--recursive', '--relative', '--whole-file',
            '--xattrs', '--ignore-existing', '--itemize-changes',
            RSYNC_TEMP_EXCLUDE,
            '--timeout=%d' % settings.io_timeout,
            '--contimeout=%d' % settings.conn_timeout,
            '--bwlimit=%s' % settings.bwlimit,
            '--port=%d' % settings.port]
    if settings.compress:
        argv.append('--compress')
    root = device_path.rstrip('/')
    for relpath in relpaths:
        relpath = relpath.strip('/')
        if not relpath or '..' in relpath.split('/'):
            raise ValueError('bad relative path %r' % relpath)
        argv.append('%s/./%s' % (root, relpath))
    argv.append(destination)
    return argv


def count_sent_files(output):
    """Files rsync transferred, from its --itemize-changes lines."""
    return sum(1 for line in output.splitlines() if _ITEM_SENT.match(line))


def run_rsync(argv, deadline):
    """Run one rsync; kill it (by its PID) when ``deadline`` passes.

    The process is waited for in a native thread (``green.tpool_execute``):
    the stdlib subprocess module is not made cooperative by the monkey
    patching, and without this the green threads of a replicator would
    run their rsyncs one after the other.
    """
    return green.tpool_execute(_run_rsync_blocking, argv, deadline)


def _run_rsync_blocking(argv, deadline):
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        output, _ = proc.communicate(timeout=deadline)
        returncode = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        returncode = KILLED_BY_DEADLINE
    text = output.decode('utf-8', 'replace')
    return RsyncResult(returncode, count_sent_files(text),
                       time.monotonic() - started, text)


def render_rsyncd_conf(modules, port, pid_file, log_file, address='127.0.0.1',
                       uid=None, gid=None, max_connections=0,
                       hosts_allow=None):
    """rsyncd.conf text for ``modules``, a list of (name, path).

    ``uid``/``gid`` default to the running user: started as root, rsync
    would otherwise switch to ``nobody`` and could not write the devices.
    ``max_connections`` 0 means unlimited (each module then needs no lock
    file). ``hosts_allow`` (IPs or networks) are the only clients served,
    by default ``address`` alone: the modules are writable without a
    password, so whoever may connect may read and overwrite every object.
    """
    uid = uid if uid is not None else pwd.getpwuid(os.getuid()).pw_name
    gid = gid if gid is not None else grp.getgrgid(os.getgid()).gr_name
    lines = [
        '# Generated by objstore; one module per storage node and kind.',
        'pid file = %s' % pid_file,
        'log file = %s' % log_file,
        'port = %d' % int(port),
        'address = %s' % address,
        'hosts allow = %s' % ' '.join(hosts_allow or (address,)),
        'hosts deny = *',
        'use chroot = no',
        'uid = %s' % uid,
        'gid = %s' % gid,
        '',
    ]
    for name, path in modules:
        if not name or any(c in name for c in '[]/ \n'):
            raise ValueError('bad rsync module name %r' % name)
        lines.extend(['[%s]' % name, 'path = %s' % path, 'read only = false',
                      'max connections = %d' % int(max_connections)])
        if max_connections:
            lines.append('lock file = %s.%s.lock' % (pid_file, name))
        lines.append('')
    return '\n'.join(lines)


class RsyncDaemon:
    """An rsync daemon child process we own, stopped by its PID.

    ``RsyncDaemon(conf_path, port).start()`` waits until the port answers
    (at most ``start_timeout`` seconds) or raises RuntimeError.
    """

    def __init__(self, conf_path, port, host='127.0.0.1', binary='rsync',
                 start_timeout=10.0):
        self.conf_path = conf_path
        self.port = int(port)
        self.host = host
        self.binary = binary
        self.start_timeout = start_timeout
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, '--daemon', '--no-detach',
             '--config=%s' % os.path.abspath(self.conf_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode('utf-8', 'replace')
                raise RuntimeError('rsync daemon exited: %s %s' % (
                    err.strip(), self._log_tail()))
            try:
                socket.create_connection((self.host, self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError('rsync daemon did not listen on %s:%d'
                           % (self.host, self.port))

    def _log_tail(self, max_bytes=2000):
        """The end of the daemon's ``log file``: rsync reports start-up
        failures there, and only sometimes on stderr."""
        try:
            with open(self.conf_path, encoding='utf-8') as conf:
                paths = [line.split('=', 1)[1].strip() for line in conf
                         if line.strip().startswith('log file')]
            with open(paths[0], 'rb') as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - max_bytes))
                return log.read().decode('utf-8', 'replace').strip()
        except (OSError, IndexError):
            return ''

    def stop(self, timeout=5.0):
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout)
        finally:
            self.proc.stderr.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()
