"""The one home of helpers shared by tests: timestamps, polling, fake
clocks, log capture, process checks, free ports, sample-config checks, and
real aio clusters on free ports. Test-only code lives here, not in the
objstore package.

Functional and probe tests start their clusters through
``objstore.cli.aio.AioCluster`` (the code path of ``objstore-aio``), on
free loopback ports in a temp data dir, and stop them by PID afterwards;
a run that ends without tearing them down (Ctrl-C, an error in a
fixture) still kills their process groups at exit, and one killed
outright leaves nothing either: the aio's children die with the thread
that started them (``objstore.cli.aio_supervisor``).
"""

import atexit
import configparser
import contextlib
import ctypes
import http.client
import logging
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlparse

from objstore.cli.aio import AioCluster, port_is_free, running_pid
from objstore.cli.aio_layout import AioUser, DataDir
from objstore.common.backend_client import direct_request
from objstore.common.exceptions import ConfigError
from objstore.common.hashing import load_hash_conf
from objstore.common.timestamp import Timestamp
from objstore.common.wsgi import load_app, serve_in_thread
from objstore.ring.ring import Ring

TEST_USERS = (
    AioUser('admin', 'admin', 'adminpw', ('.admin', '.reseller_admin')),
    AioUser('test', 'tester', 'testing', ('.admin',)),
    AioUser('test2', 'tester2', 'testing2', ('.admin',)),
    AioUser('test', 'tester3', 'testing3', ()),
)
DAEMON_TIMEOUT = 180

# A fixed moment for tests whose timestamps need not be near the real now.
T0 = 1700000000


def ts(offset=0, base=T0):
    """The internal timestamp ``offset`` seconds after ``base``.

    >>> ts(1), ts(0.5, base=10)
    ('1700000001.00000', '0000000010.50000')
    """
    return Timestamp(base + offset).internal


def send_raw(host, port, method, target, headers, body=None, timeout=30):
    """(status, {lower-case header: value}, body) of one request whose
    target and headers go out as given (http.client adds none but a
    Content-Length for a body that lacks one)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        sent = dict(headers)
        # A Host of the caller's replaces http.client's own (a second Host
        # line would be ignored by the server).
        conn.putrequest(method, target, skip_accept_encoding=True,
                        skip_host=any(name.lower() == 'host'
                                      for name in sent))
        if body is not None and 'Content-Length' not in sent:
            sent['Content-Length'] = str(len(body))
        for name, value in sent.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        resp = conn.getresponse()
        return (resp.status, {k.lower(): v for k, v in resp.getheaders()},
                resp.read())
    finally:
        conn.close()


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass;
    its last value (so ``assert wait_for(...)`` fails only at the
    deadline, never on a race a fixed sleep would lose)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() >= deadline:
            return result
        time.sleep(interval)


class _CacheStatRange(ctypes.Structure):
    _fields_ = [('offset', ctypes.c_uint64), ('length', ctypes.c_uint64)]


class _CacheStat(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in (
        'cache', 'dirty', 'writeback', 'evicted', 'recently_evicted')]


# cachestat(2) (Linux 6.5+, x86-64 number): how much of a file is in the
# page cache, and how much of that is dirty, without touching it.
_CACHESTAT_SYSCALL = 451
_libc = ctypes.CDLL(None, use_errno=True)


def dirty_pages(path):
    """Pages of ``path`` in the page cache not yet written to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        stat = _CacheStat()
        whole_file = _CacheStatRange(0, 0)
        if _libc.syscall(_CACHESTAT_SYSCALL, fd, ctypes.byref(whole_file),
                         ctypes.byref(stat), 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, 'cachestat: %s' % os.strerror(err))
        return stat.dirty
    finally:
        os.close(fd)


class FakeClock:
    """A clock for daemons' ``clock``/``sleep``: sleeping advances it and
    adds to ``slept``."""

    def __init__(self, now=1000.0):
        self.now = now
        self.slept = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept += seconds
        self.now += seconds


class LogCapture(logging.Handler):
    """Keeps every record it is given as (level name, message)."""

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append((record.levelname, record.getMessage()))

    def messages(self, level=None):
        """Messages logged at ``level`` (all of them when None), in order."""
        return [msg for lvl, msg in self.records
                if level is None or lvl == level]


@contextlib.contextmanager
def capture_logs(logger, level=logging.DEBUG):
    """A LogCapture on ``logger`` (set to ``level``) for a with-block."""
    handler = LogCapture()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def make_logger(name):
    """A private DEBUG logger whose records land in ``logger.handler``, a
    LogCapture, and nowhere else."""
    logger = logging.getLogger('objstore.test.' + name)
    logger.handlers = []
    logger.handler = LogCapture()
    logger.addHandler(logger.handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger


# -- processes ----------------------------------------------------------------

def pid_alive(pid):
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def live_processes():
    """(pid, parent pid, process group) of every live (not zombie)
    process, from /proc/<pid>/stat."""
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                state, ppid, pgid = f.read().rsplit(')', 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if state != 'Z':
            yield int(entry), int(ppid), int(pgid)


def group_members(pgid):
    """Live processes of process group ``pgid``."""
    return [pid for pid, _ppid, group in live_processes() if group == pgid]


def children_of(parent):
    """Live children of process ``parent``."""
    return [pid for pid, ppid, _pgid in live_processes() if ppid == parent]


def kill_groups(pgids):
    """SIGKILL every process of each group (gone groups are fine)."""
    for pgid in pgids:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass

SAMPLE_DIR = os.path.join(os.path.dirname(__file__), '..', 'etc')
# Options of every account/container daemon: the samples set them once,
# in [DEFAULT].
DB_DAEMON_SHARED_OPTIONS = ('devices', 'mount_check', 'bind_ip', 'bind_port',
                            'conf_dir', 'recon_cache_path')
LOGGING_OPTIONS = ('log_name', 'log_level', 'log_file')

SAMPLE_OPTION = re.compile(r'^#?\s*([a-z_][a-z0-9_]*)\s*=\s*(.*?)\s*$')


def sample_options(path, section):
    """{option: value} of a section of an ``etc/*.conf-sample`` file.

    Options may be commented out (``# key = default``), as sample files
    list defaults without setting them. Prose comments do not match.
    """
    options = {}
    current = None
    with open(path, encoding='utf-8') as sample:
        for line in sample:
            stripped = line.strip()
            if stripped.startswith('[') and stripped.endswith(']'):
                current = stripped[1:-1]
                continue
            if current != section:
                continue
            match = SAMPLE_OPTION.match(stripped)
            if match:
                options[match.group(1)] = match.group(2)
    return options


def assert_sample_matches(conf_class, path, section, ignore=()):
    """Raise AssertionError naming the options where sample and code differ
    (each service's config test: etc/ and the conf dataclass agree)."""
    sample = sample_options(path, section)
    defaults = conf_class.option_defaults()
    problems = []
    for name, default in defaults.items():
        if name in ignore:
            continue
        if name not in sample:
            problems.append('%s missing from %s [%s]' % (name, path, section))
            continue
        parsed = conf_class.from_conf({name: sample[name]})
        if getattr(parsed, name) != default:
            problems.append('%s: sample says %r, code says %r'
                            % (name, sample[name], default))
    for name in sample:
        if name not in defaults and name not in ignore:
            problems.append('%s in sample but not an option' % name)
    if problems:
        raise AssertionError('; '.join(problems))


# Deny by default (objstore.common.access): what the auth tests try.
AUTH_VERBS = ('GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'COPY', 'OPTIONS')
BAD_TOKENS = (None, 'garbage', 'AUTH_tk' + '0' * 80)


def assert_db_daemon_sample_matches(conf_class, sample, section):
    """An account/container daemon's ``etc/<sample>`` agrees with its conf
    dataclass: its own options in ``[section]``, the shared ones in
    [DEFAULT]."""
    path = os.path.join(SAMPLE_DIR, sample)
    own = tuple(name for name in conf_class.option_defaults()
                if name not in DB_DAEMON_SHARED_OPTIONS)
    assert_sample_matches(conf_class, path, section,
                          ignore=DB_DAEMON_SHARED_OPTIONS)
    assert_sample_matches(conf_class, path, 'DEFAULT',
                          ignore=own + LOGGING_OPTIONS)


def denied_status(verb, level, token):
    """What the proxy answers ``verb`` at ``level`` (1 account, 2 container,
    3 object) of an API path without a valid token: 401, except that with
    no token at all, as in Swift, OPTIONS is 200 (it needs no auth; no
    CORS asked) and a verb the proxy does not serve there (COPY above
    objects; account PUT/DELETE without allow_account_management) is 405,
    before any storage is touched."""
    if verb == 'OPTIONS' and token is None:
        return 200
    unserved = (verb == 'COPY' and level < 3) or (
        verb in ('PUT', 'DELETE') and level == 1)
    return 405 if unserved and token is None else 401


def spelled_object_paths(account, container, obj):
    """[(raw request target, status without a valid token)]: the API
    prefixes the proxy routes and spellings of them that must not slip by
    (the proxy denies what auth did not claim; as Swift, before auth, an
    unknown version is 400 and an empty segment 404)."""
    rest = '%s/%s/%s' % (account, container, obj)
    return [
        ('/v1/' + rest, 401),
        ('/v1.0/' + rest, 401),
        ('//v1/' + rest, 401),
        ('//v1.0/' + rest, 401),
        ('/V1/' + rest, 400),
        ('/V1.0/' + rest, 400),
        ('/v1%2F' + rest, 401),
        ('/%76%31/' + rest, 401),
        ('/v1/%s%%2F%s/%s' % (account, container, obj), 401),
        ('/v2/' + rest, 400),
        ('/v1//' + rest, 404),
        ('/v1.0//' + rest, 404),
    ]


def free_port(host='127.0.0.1'):
    """A port nothing listens on right now (small race, fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def free_port_block(devices, bind='127.0.0.1', attempts=200):
    """(proxy_port, storage_port_base) with every port the aio needs free.

    Drawn below Linux's ephemeral range (32768+): a port up there can be
    taken between two runs by any client connection's local end.
    """
    rng = random.Random()
    for _ in range(attempts):
        base = rng.randrange(10010, 32700 - 10 * devices, 10)
        proxy = base - 7
        ports = [proxy] + [base + 10 * n + k for n in range(devices)
                           for k in range(4)]
        if all(port_is_free(bind, p) for p in ports):
            return proxy, base
    raise RuntimeError('no free block of ports found')


# Names the data dir of a running objstore-aio for the functional tests
# to use instead of starting their own.
CLUSTER_ENV = 'OBJSTORE_TEST_CLUSTER'

# Clusters started and not yet closed; whatever is left at exit is killed.
_open_clusters = []


@atexit.register
def _kill_open_clusters():
    for cluster in list(_open_clusters):
        cluster.kill()


class ClusterClient:
    """What tests reach an aio cluster by: its URLs and users' tokens.
    Subclasses set ``aio`` (an AioCluster with its layout) and ``users``
    ({'account:user': key})."""

    @property
    def proxy_url(self):
        return self.aio.proxy_url

    @property
    def auth_url(self):
        return self.aio.auth_url

    def get_token(self, user='admin:admin'):
        host, port = self.aio.layout.bind, self.aio.layout.proxy_port
        conn = http.client.HTTPConnection(host, port, timeout=10)
        try:
            conn.request('GET', '/auth/v1.0', headers={
                'X-Auth-User': user, 'X-Auth-Key': self.users[user]})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise AssertionError('auth for %s answered %d'
                                     % (user, resp.status))
            return (resp.getheader('X-Storage-Url'),
                    resp.getheader('X-Auth-Token'))
        finally:
            conn.close()


def user_flag(user):
    """The objstore-aio ``--user`` argument that makes ``user``."""
    groups = ':' + ','.join(user.groups) if user.groups else ''
    return '--user %s:%s%s' % (user.name, user.key, groups)


class ExistingCluster(ClusterClient):
    """A cluster started elsewhere with objstore-aio, found by its data dir
    as ``objstore-aio status`` finds it; it must have the TEST_USERS."""

    def __init__(self, data_dir):
        dirs = DataDir(data_dir)
        if running_pid(dirs) is None:
            raise ConfigError('%s=%s: no objstore-aio is running on that '
                              'data dir' % (CLUSTER_ENV, data_dir))
        self.aio = AioCluster.existing(data_dir)
        self.users = {u.name: u.key for u in self.aio.layout.users}
        # Any key will do; the groups decide what the tests may do.
        has = {(u.name, frozenset(u.groups)) for u in self.aio.layout.users}
        missing = [u for u in TEST_USERS
                   if (u.name, frozenset(u.groups)) not in has]
        if missing:
            raise ConfigError('%s=%s lacks test users; start it with %s' % (
                CLUSTER_ENV, data_dir, ' '.join(map(user_flag, missing))))

    def close(self):
        """Nothing to stop: the cluster is not ours."""


class RunningCluster(ClusterClient):
    """An aio cluster for one test session or module."""

    def __init__(self, devices=4, replicas=3, part_power=6, daemons=False):
        self.data_dir = tempfile.mkdtemp(prefix='objstore-test-')
        proxy_port, base = free_port_block(devices)
        self.aio = AioCluster(
            self.data_dir,
            {'devices': devices, 'replicas': replicas,
             'part_power': part_power, 'proxy_port': proxy_port,
             'storage_port_base': base, 'users': TEST_USERS},
            daemons=daemons)
        _open_clusters.append(self)
        try:
            self.aio.prepare()
            self.aio.start()
        except BaseException:
            self.close()
            raise
        self.nodes = devices
        self.users = {u.name: u.key for u in TEST_USERS}
        self.conf_dir = self.aio.dirs.etc
        self.hash_conf = load_hash_conf(self.conf_dir)

    def ring(self, kind):
        return Ring(self.conf_dir, kind, hash_conf=self.hash_conf)

    def server_conf(self, kind, node):
        return self.aio.dirs.server_conf(kind, node)

    def device_path(self, node):
        return self.aio.dirs.device_path(node)

    def stop_node(self, kind, node):
        self.aio.stop_node(kind, node)

    def start_node(self, kind, node):
        self.aio.start_node(kind, node)

    def run_daemon(self, name, nodes=None, args=()):
        kind = name.split('-', 1)[0]
        script = os.path.join(os.path.dirname(sys.executable),
                              'objstore-' + name)
        results = []
        for node in (range(self.nodes) if nodes is None else nodes):
            result = subprocess.run(
                [script, self.server_conf(kind, node), '--once'] + list(args),
                capture_output=True, timeout=DAEMON_TIMEOUT)
            if result.returncode != 0:
                raise AssertionError('%s on node %d exited %d:\n%s' % (
                    name, node, result.returncode,
                    result.stdout.decode() + result.stderr.decode()))
            results.append(result)
        return results

    def _process_groups(self):
        """The process groups of children still running (each leads its
        own). A reaped child's group ID may already be someone else's."""
        if self.aio.supervisor is None:
            return []
        return [child.proc.pid for child in
                self.aio.supervisor.children.values()
                if child.proc and child.proc.poll() is None]

    def kill(self):
        """SIGKILL every process of the cluster, its data dir gone: for
        when an orderly ``close`` cannot run or did not finish."""
        kill_groups(self._process_groups())
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self in _open_clusters:
            _open_clusters.remove(self)

    def close(self):
        try:
            self.aio.stop()
        finally:
            self.kill()


# -- probe helpers: requests through the proxy and straight to a node --------

def node_of(dev):
    """The aio node number of a ring device (devices are named ``d<N>``)."""
    return int(dev['device'][1:])


def proxy_request(cluster, user, method, path, body=None):
    """(status, body) of ``method`` on ``path`` below ``user``'s storage URL,
    through the cluster's proxy."""
    storage_url, token = cluster.get_token(user)
    parsed = urlparse(storage_url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port,
                                      timeout=30)
    try:
        conn.request(method, parsed.path + path, body=body,
                     headers={'X-Auth-Token': token})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def direct_to(dev, method, path, headers=None, query=None):
    """(status, headers, body) of a backend request straight to ``dev``'s
    server, bypassing the proxy."""
    return direct_request(dev['ip'], dev['port'], method, path,
                          headers=headers, query=query, conn_timeout=5,
                          node_timeout=30)


@contextlib.contextmanager
def running_memcached():
    """A real memcached on a free loopback port for the block; yields its
    ``host:port`` and kills it (by its pid) at the end."""
    port = free_port()
    # memcached refuses to run as root unless told which user to be.
    user = ['-u', 'root'] if os.geteuid() == 0 else []
    proc = subprocess.Popen(['memcached', '-l', '127.0.0.1', '-p', str(port),
                             '-U', '0', '-m', '8'] + user,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: _accepts(port), timeout=10), \
            'memcached did not start'
        yield '127.0.0.1:%d' % port
    finally:
        proc.kill()
        proc.wait()


def _accepts(port):
    try:
        socket.create_connection(('127.0.0.1', port), 0.2).close()
    except OSError:
        return False
    return True


class ReconfiguredProxy:
    """The aio cluster's own proxy pipeline (its proxy-server.conf loaded
    with PasteDeploy in this process) with some options changed, served on
    a loopback port in front of the cluster's storage servers.
    ``options``: {section: {option: value}}."""

    def __init__(self, cluster, tmp_dir, options):
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(cluster.aio.dirs.proxy_conf, encoding='utf-8')
        for section, values in options.items():
            for name, value in values.items():
                parser[section][name] = value
        path = os.path.join(tmp_dir, 'proxy-server.conf')
        with open(path, 'w', encoding='utf-8') as conf:
            parser.write(conf)
        self.server = serve_in_thread(load_app(path))
        self.port = self.server.port

    def request(self, method, path, headers=None, body=None):
        """(status, {lower-case header: value}, body)."""
        return send_raw('127.0.0.1', self.port, method, path, headers or {},
                        body)

    def close(self):
        self.server.stop()
