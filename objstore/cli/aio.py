"""``objstore-aio``: a whole cluster on one machine in one command.

``objstore-aio [run]`` creates the data dir on first use (objstore_layout),
starts rsync, every storage node's servers, the proxy and the consistency
daemons as supervised child processes, waits until they answer (each
stage and the count of servers answering printed as it goes), prints how
to reach the cluster, and runs until Ctrl-C/SIGTERM, which stops every
child, also when it comes during start-up. ``--daemon`` backgrounds it;
``status`` and ``stop`` act on a backgrounded one, found through the lock
it holds on its data dir (a state file alone may name a PID that the
kernel has long given to another process). ``--port-base`` moves the
storage and rsync ports so that several clusters share one machine.
``AioCluster`` is the same code as a library: the functional and probe
test fixtures start their clusters through it.
"""

import argparse
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import psutil

from objstore.cli.aio_layout import (
    DAEMONS, S3_LOCATION, STORAGE_KINDS, AioLayout, AioUser, DataDir,
    create_data_dir, default_users, load_layout, write_configs)
from objstore.cli.aio_supervisor import (
    ChildSpec, Supervisor, answers_http, is_serving)
from objstore.common.durable import write_atomic
from objstore.common.exceptions import ConfigError
from objstore.common.log import get_logger

START_TIMEOUT = 60.0
DAEMON_STAGGER = 0.2
EXIT_OK, EXIT_WARNING, EXIT_ERROR = 0, 1, 2


def _bin(name):
    """A console script installed beside this interpreter."""
    return os.path.join(os.path.dirname(sys.executable), name)


def _server_argv(conf):
    return (sys.executable, '-m', 'objstore.cli.server', conf)


class StartInterrupted(Exception):
    """SIGINT/SIGTERM came while the cluster was starting; it is stopped."""


def port_is_free(ip, port):
    family = socket.AF_INET6 if ':' in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def port_holder(port):
    """``pid N (name)`` of a process using TCP ``port``, None if unknown.

    A listener is preferred over a connection that merely has the port as
    its local end. Other users' processes stay unknown unless we are root.
    """
    try:
        conns = [c for c in psutil.net_connections('inet')
                 if c.laddr and c.laddr.port == port and c.pid]
    except psutil.Error:
        return None
    conns.sort(key=lambda c: c.status != psutil.CONN_LISTEN)
    for conn in conns:
        try:
            return 'pid %d (%s)' % (conn.pid, psutil.Process(conn.pid).name())
        except psutil.Error:
            continue
    return None


class AioCluster:
    """One aio cluster: its data dir, its layout and its processes."""

    def __init__(self, data_dir, layout_args=None, console=None,
                 daemons=True, logger=None):
        self.dirs = DataDir(data_dir)
        self.layout_args = dict(layout_args or {})
        self.console = console
        self.with_daemons = daemons
        self.logger = logger or get_logger({}, 'objstore-aio')
        self.layout = None
        self.supervisor = None
        self._lock_fd = None
        self._pending_daemons = []
        # Set by request_stop (a signal handler): start-up and the main
        # loop stop at the next check.
        self.stopping = threading.Event()

    @classmethod
    def existing(cls, data_dir):
        """The cluster of a data dir made earlier (for status/banner)."""
        cluster = cls(data_dir)
        cluster.layout = load_layout(cluster.dirs)
        return cluster

    # -- preparing ---------------------------------------------------------

    def prepare(self):
        """Validate or create the data dir and take its lock.

        Raises ConfigError with one clear sentence for every refusal.
        """
        started = time.monotonic()
        self._check_writable()
        existing = load_layout(self.dirs)
        self._take_lock()
        if existing is None:
            self.layout = self._new_layout()
            self._stage('creating %s: %d devices, %d replicas, part power '
                        '%d (rings, configs)' % (
                            self.dirs.root, self.layout.devices,
                            self.layout.replicas, self.layout.part_power))
            create_data_dir(self.dirs, self.layout)
        else:
            self._refuse_conflicting_args(existing)
            self.layout = existing
            self._stage('reusing %s' % self.dirs.root)
            write_configs(self.dirs, self.layout)
        self._check_ports()
        self._stage('data dir ready in %.1fs' % (time.monotonic() - started))

    def _stage(self, text):
        """Tell the console where start-up is (nothing when quiet)."""
        if self.console is not None:
            self.console('objstore-aio: %s' % text)

    def _health_progress(self, healthy, total):
        self._stage('servers answering: %d/%d' % (healthy, total))

    def _check_writable(self):
        try:
            os.makedirs(self.dirs.root, exist_ok=True)
            probe = self.dirs.path('.write-test.%d' % os.getpid())
            with open(probe, 'w') as f:
                f.write('x')
            os.unlink(probe)
        except OSError as err:
            raise ConfigError('cannot write to data dir %s: %s'
                              % (self.dirs.root, err.strerror or err))

    def _take_lock(self):
        fd = os.open(self.dirs.path('aio.lock'), os.O_RDWR | os.O_CREAT,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            state = read_state(self.dirs)
            raise ConfigError('another objstore-aio (pid %s) is already '
                              'running on %s' % (state.get('pid', '?'),
                                                 self.dirs.root))
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def _release_lock(self):
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _new_layout(self):
        args = dict(self.layout_args)
        users = args.pop('users', None) or default_users()
        layout = AioLayout(users=tuple(users), **args)
        layout.validate()
        return layout

    def _refuse_conflicting_args(self, existing):
        for key, value in self.layout_args.items():
            if key == 'users':
                value = tuple(value)
            if getattr(existing, key) != value:
                raise ConfigError(
                    '%s was created with %s=%r; it cannot change to %r '
                    '(use another --data-dir)' % (
                        self.dirs.root, key, getattr(existing, key), value))

    def _check_ports(self):
        users = {spec.health[2]: spec.name for spec in self.server_specs()}
        for port in self.layout.all_ports():
            if not port_is_free(self.layout.bind, port):
                option = '--port' if port == self.layout.proxy_port \
                    else '--port-base'
                raise ConfigError(
                    'port %s:%d (for %s) is already in use%s; stop that '
                    'or choose another %s' % (
                        self.layout.bind, port, users[port],
                        _by(port_holder(port)), option))

    # -- processes ---------------------------------------------------------

    def server_specs(self):
        bind = self.layout.bind
        specs = [ChildSpec('rsyncd', (
            shutil.which('rsync') or 'rsync', '--daemon', '--no-detach',
            '--config=%s' % self.dirs.rsyncd_conf),
            ('tcp', bind, self.layout.rsync_port))]
        for node in range(self.layout.devices):
            for kind in STORAGE_KINDS:
                specs.append(ChildSpec(
                    '%s-server-%d' % (kind, node),
                    _server_argv(self.dirs.server_conf(kind, node)),
                    ('http', bind, self.layout.port(kind, node))))
        specs.append(ChildSpec('proxy-server',
                               _server_argv(self.dirs.proxy_conf),
                               ('http', bind, self.layout.proxy_port)))
        return specs

    def daemon_specs(self):
        """One process per daemon, serving every node: it is given each
        node's config and runs one daemon per config (see
        common.daemon.DaemonGroup), as Swift's daemons serve all the
        devices of a host. One interpreter per daemon and node would cost
        the aio a gigabyte of memory for nothing. The S3 lifecycle daemon
        is one for the whole cluster: it works through the proxy pipeline."""
        nodes = range(self.layout.devices)
        specs = [ChildSpec(daemon, (_bin('objstore-' + daemon),) + tuple(
                     self.dirs.server_conf(kind, node) for node in nodes))
                 for kind in STORAGE_KINDS for daemon in DAEMONS[kind]]
        specs.append(ChildSpec('s3-lifecycle', (
            _bin('objstore-s3-lifecycle'), self.dirs.s3_lifecycle_conf)))
        return specs

    def start(self, timeout=START_TIMEOUT):
        """Start every process; ConfigError if they do not all answer."""
        if self.layout is None:
            self.prepare()
        servers = self.server_specs()
        daemons = self.daemon_specs() if self.with_daemons else []
        env = dict(os.environ, PYTHONUNBUFFERED='1')
        self.supervisor = Supervisor(servers + daemons, self.dirs.logs,
                                     self.console, self.logger, env,
                                     stop_requested=self.stopping)
        self.supervisor.on_change = self._write_state
        self._stage('starting %d servers' % len(servers))
        self.supervisor.start([s.name for s in servers])
        unhealthy = self.supervisor.wait_healthy(
            [s.name for s in servers], timeout, self._health_progress)
        if self.stopping.is_set():
            self.stop()
            raise StartInterrupted()
        if unhealthy:
            self.stop()
            raise ConfigError('did not come up within %ds: %s (see %s)' % (
                timeout, ', '.join(unhealthy), self.dirs.logs))
        self._pending_daemons = [s.name for s in daemons]
        if daemons:
            self._stage('%d daemons start one by one in the background'
                        % len(daemons))

    def start_next_daemon(self):
        """Start one more daemon; they are staggered after the servers are
        healthy so that forty interpreters starting at once do not stall
        the first client requests."""
        if self._pending_daemons:
            self.supervisor.start([self._pending_daemons.pop(0)])

    def start_all_daemons(self):
        """Start every daemon still waiting for its turn; the number
        started (for callers that do not run the supervision loop)."""
        started = len(self._pending_daemons)
        while self._pending_daemons:
            self.start_next_daemon()
        return started

    def stop(self):
        if self.supervisor is not None:
            self.supervisor.stop_all()
        remove_state(self.dirs)
        self._release_lock()

    def request_stop(self, *_signal_args):
        """Stop at the next check; safe to call from a signal handler."""
        self.stopping.set()

    def run_until_stopped(self):
        """Supervise until ``request_stop``, then stop every child."""
        while not self.stopping.is_set():
            self.supervisor.poll()
            self.start_next_daemon()
            time.sleep(DAEMON_STAGGER)
        self.stop()

    def stop_node(self, kind, node):
        self.supervisor.hold('%s-server-%d' % (kind, node))

    def start_node(self, kind, node, timeout=30.0):
        name = '%s-server-%d' % (kind, node)
        self.supervisor.release(name)
        if self.supervisor.wait_healthy([name], timeout):
            raise ConfigError('%s did not come back' % name)

    # -- reporting ---------------------------------------------------------

    @property
    def proxy_url(self):
        host = self.layout.bind
        if ':' in host:
            host = '[%s]' % host
        return 'http://%s:%d' % (host, self.layout.proxy_port)

    @property
    def auth_url(self):
        return self.proxy_url + '/auth/v1.0'

    def _write_state(self):
        state = {'pid': os.getpid(), 'proxy_url': self.proxy_url,
                 'children': self.supervisor.pids()}
        write_atomic(self.dirs.path('aio-state.json'),
                     json.dumps(state).encode('utf-8'))

    def banner(self):
        user = self.layout.users[0]
        lines = [
            'objstore-aio is running (data dir %s)' % self.dirs.root,
            '  Swift auth URL: %s' % self.auth_url,
            '  user: %s   key: %s' % (user.name, user.key),
        ]
        for other in self.layout.users[1:]:
            lines.append('  user: %s   key: %s' % (other.name, other.key))
        swift = 'swift -A %s -U %s -K %s' % (self.auth_url, user.name,
                                             user.key)
        lines += ['  try:', '    %s stat' % swift,
                  '    %s upload mycontainer README.md' % swift]
        lines += self._s3_banner(user)
        lines.append('  logs: %s' % self.dirs.logs)
        lines += self.scrape_config()
        return '\n'.join(lines)

    def scrape_config(self):
        """A Prometheus scrape config for every server (the object servers
        also report their node: see middleware.metrics)."""
        host = self.proxy_url.split('//', 1)[1].rsplit(':', 1)[0]
        targets = ['%s:%d' % (host, self.layout.proxy_port)] + [
            '%s:%d' % (host, self.layout.port(kind, node))
            for node in range(self.layout.devices)
            for kind in STORAGE_KINDS]
        return ['  Prometheus (metrics at /metrics):',
                '    scrape_configs:',
                '      - job_name: objstore-aio',
                '        static_configs:',
                '          - targets: [%s]' % ', '.join(
                    "'%s'" % target for target in targets)]

    def _s3_banner(self, user):
        """The S3 endpoint, keys and example commands (s3api serves S3 on
        the proxy port: access key = account:user, secret = its key)."""
        env = 'AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s ' \
            'AWS_DEFAULT_REGION=%s' % (user.name, user.key, S3_LOCATION)
        boto3 = ("boto3.client('s3', endpoint_url='%s', "
                 "aws_access_key_id='%s', aws_secret_access_key='%s', "
                 "region_name='%s')" % (self.proxy_url, user.name, user.key,
                                        S3_LOCATION))
        return [
            '  S3 endpoint: %s   region: %s' % (self.proxy_url, S3_LOCATION),
            '  S3 access key: %s   secret key: %s' % (user.name, user.key),
            '  try:',
            '    %s aws --endpoint-url %s s3 mb s3://mybucket' % (
                env, self.proxy_url),
            '    %s aws --endpoint-url %s s3 cp README.md s3://mybucket/' % (
                env, self.proxy_url),
            '    python3 -c "import boto3; print(%s.list_buckets()'
            '[\'Buckets\'])"' % boto3,
        ]


def _by(holder):
    return ' by %s' % holder if holder else ''


def read_state(dirs):
    try:
        with open(dirs.path('aio-state.json'), encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def remove_state(dirs):
    try:
        os.unlink(dirs.path('aio-state.json'))
    except FileNotFoundError:
        pass


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except (ProcessLookupError, TypeError):
        return False
    except PermissionError:
        return True


def running_pid(dirs):
    """PID of the objstore-aio holding the data dir's lock, else None.

    The lock goes with its holder, so unlike the state file's PID it
    cannot point at a process that merely inherited a dead aio's PID.
    """
    try:
        fd = os.open(dirs.path('aio.lock'), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.read(fd, 32).decode('ascii', 'replace').strip()
            return int(text) if text.isdigit() else None
        return None
    finally:
        os.close(fd)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='objstore-aio',
        description='Run a whole objstore cluster (proxy, storage nodes, '
                    'rsync, consistency daemons) on this machine.')
    parser.add_argument('command', nargs='?', default='run',
                        choices=('run', 'status', 'stop'))
    parser.add_argument('--data-dir', default='./objstore-data')
    parser.add_argument('--replicas', type=int)
    parser.add_argument('--devices', type=int)
    parser.add_argument('--part-power', type=int)
    parser.add_argument('--port', type=int, dest='proxy_port',
                        help='proxy port (default 8080)')
    parser.add_argument('--port-base', '--storage-port-base', type=int,
                        dest='storage_port_base',
                        help='first storage port (default 6200): node n '
                             'uses base+10n (object), +1 (container), +2 '
                             '(account); rsync base+3. Give each cluster '
                             'on one machine its own.')
    parser.add_argument('--bind', help='IP to listen on (default 127.0.0.1)')
    parser.add_argument('--proxy-workers', type=int,
                        help='proxy worker processes (default 0: the '
                             'proxy serves in one process)')
    parser.add_argument('--user', action='append', dest='users',
                        metavar='ACCOUNT:USER:KEY[:GROUP,...]',
                        help='tempauth user (repeatable); default admin:admin '
                             'with a random key')
    parser.add_argument('--daemon', action='store_true',
                        help='run in the background')
    parser.add_argument('--no-daemons', action='store_true',
                        help='do not start the consistency daemons')
    parser.add_argument('--quiet', action='store_true',
                        help='do not copy process output to the console')
    return parser.parse_args(argv)


def layout_args_from(args):
    keys = ('replicas', 'devices', 'part_power', 'proxy_port',
            'storage_port_base', 'bind', 'proxy_workers')
    result = {k: getattr(args, k) for k in keys
              if getattr(args, k) is not None}
    if args.users:
        result['users'] = tuple(AioUser.parse(u) for u in args.users)
    return result


def run_foreground(args):
    console = None if args.quiet else (lambda line: print(line, flush=True))
    cluster = AioCluster(args.data_dir, layout_args_from(args),
                         console=console, daemons=not args.no_daemons)
    # Before any child exists: a signal during start-up must stop them too.
    signal.signal(signal.SIGINT, cluster.request_stop)
    signal.signal(signal.SIGTERM, cluster.request_stop)
    cluster.prepare()
    started = time.monotonic()
    try:
        cluster.start()
    except StartInterrupted:
        print('objstore-aio stopped during start-up', flush=True)
        return EXIT_OK
    print('%s\n  healthy after %.1fs; Ctrl-C stops everything' % (
        cluster.banner(), time.monotonic() - started), flush=True)
    cluster.run_until_stopped()
    print('objstore-aio stopped', flush=True)
    return EXIT_OK


def run_background(args, argv):
    dirs = DataDir(args.data_dir)
    os.makedirs(dirs.root, exist_ok=True)
    child_argv = [a for a in argv if a != '--daemon'] + ['--quiet']
    with open(dirs.path('aio.log'), 'ab') as log:
        proc = subprocess.Popen(
            [sys.executable, '-m', 'objstore.cli.aio'] + child_argv,
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print('objstore-aio: failed to start; see %s'
                  % dirs.path('aio.log'), file=sys.stderr)
            return EXIT_ERROR
        state = read_state(dirs)
        if state.get('pid') == proc.pid and answers_http(
                *_proxy_host_port(state['proxy_url'])):
            print(AioCluster.existing(dirs.root).banner())
            print('  backgrounded as pid %d; objstore-aio stop --data-dir '
                  '%s stops it' % (proc.pid, dirs.root))
            return EXIT_OK
        time.sleep(0.2)
    print('objstore-aio: not healthy in time; see %s' % dirs.path('aio.log'),
          file=sys.stderr)
    return EXIT_ERROR


def _proxy_host_port(url):
    host, _, port = url.split('://', 1)[1].rpartition(':')
    return host.strip('[]'), int(port)


def show_status(args):
    dirs = DataDir(args.data_dir)
    pid = running_pid(dirs)
    if pid is None:
        print('objstore-aio is not running on %s' % dirs.root)
        return EXIT_WARNING
    cluster = AioCluster.existing(dirs.root)
    health = {spec.name: spec.health for spec in cluster.server_specs()}
    print('objstore-aio pid %d on %s' % (pid, dirs.root))
    problems = 0
    children = read_state(dirs).get('children', {})
    for name, child_pid in sorted(children.items()):
        ok = pid_alive(child_pid) and is_serving(health.get(name))
        problems += not ok
        print('  %-26s pid %-8s %s' % (name, child_pid,
                                       'ok' if ok else 'DOWN'))
    return EXIT_OK if not problems else EXIT_WARNING


def stop_background(args):
    dirs = DataDir(args.data_dir)
    pid = running_pid(dirs)
    if pid is None:
        print('objstore-aio is not running on %s' % dirs.root)
        return EXIT_WARNING
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(pid):
        print('objstore-aio: pid %d did not stop' % pid, file=sys.stderr)
        return EXIT_ERROR
    print('objstore-aio stopped')
    return EXIT_OK


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_args(argv)
        if args.command == 'status':
            return show_status(args)
        if args.command == 'stop':
            return stop_background(args)
        if args.daemon:
            return run_background(args, argv)
        return run_foreground(args)
    except ConfigError as err:
        print('objstore-aio: %s' % err, file=sys.stderr)
        return EXIT_ERROR


if __name__ == '__main__':
    sys.exit(main())
