"""Start and stop the two clusters that bench/ and compat/ compare.

One home for "start an objstore aio" and "start an OpenStack Swift
cluster from PyPI" on free loopback ports, shared by the proxy benchmark
(``bench/proxy.py``) and the Swift v1 differential harness (``compat/``).
Both clusters get the same shape (devices, replicas, part power) and the
same tempauth users. Swift is installed once into its own venv
(``~/.cache/objstore-bench/swift-venv``, shared with bench/ring.py) and
keeps its tempauth tokens and info cache in a private memcached.

Nothing here measures or compares: callers do. Every process started
here is stopped by PID.
"""

import getpass
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from objstore.cli.aio import AioCluster, port_is_free
from objstore.cli.aio_layout import AioUser

SWIFT_VENV = os.path.expanduser('~/.cache/objstore-bench/swift-venv')
# The release the compatibility work targets; bench/ring.py installs the
# same venv.
SWIFT_REQUIREMENT = 'swift>=2.38,<2.39'
PIP_TIMEOUT = 900
START_TIMEOUT = 60
REPLICAS, DEVICES, PART_POWER = 3, 4, 6
PORT_LOW, PORT_HIGH = 20000, 32000
BENCH_USERS = (AioUser('test', 'tester', 'testing', ('.admin',)),)
# Swift's proxy pipeline in the order objstore's aio runs the same
# filters (etc/proxy-server.conf-sample); Swift names its logging filter
# proxy-logging, keeps its info cache in ``cache`` and logs twice.
SWIFT_PIPELINE = (
    'catch_errors', 'gatekeeper', 'healthcheck', 'proxy-logging', 'cache',
    'domain_remap', 'crossdomain', 'list_endpoints', 'listing_formats',
    'bulk', 'tempurl', 'formpost', 'ratelimit', 's3api', 'tempauth',
    'staticweb', 'copy', 'container_quotas', 'account_quotas', 'slo', 'dlo',
    'etag_quoter', 'proxy-logging', 'proxy-server')
# The filters of SWIFT_PIPELINE a caller may add: the bare pipeline has
# none of them.
OPTIONAL_FILTERS = frozenset((
    'domain_remap', 'crossdomain', 'list_endpoints', 'bulk', 'tempurl',
    'formpost', 'ratelimit', 's3api', 'staticweb', 'container_quotas',
    'account_quotas', 'slo', 'dlo', 'etag_quoter'))
# Every optional filter: Swift's usual full pipeline (no cname_lookup:
# it needs DNS).
FULL_FEATURES = tuple(name for name in SWIFT_PIPELINE
                      if name in OPTIONAL_FILTERS)


def free_ports(count):
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(('127.0.0.1', 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def wait_for_port(port, deadline):
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def ensure_memcached():
    """Swift's tempauth keeps tokens in memcached: install it if absent."""
    if shutil.which('memcached') is not None:
        return
    print('installing memcached (apt-get) for the swift cluster', flush=True)
    sudo = [] if os.geteuid() == 0 else ['sudo']
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    subprocess.run(sudo + ['apt-get', 'update', '-qq'], check=True, env=env,
                   timeout=600)
    subprocess.run(sudo + ['apt-get', 'install', '-y', '-qq', 'memcached'],
                   check=True, env=env, timeout=600)


def ensure_swift_venv():
    proxy_bin = os.path.join(SWIFT_VENV, 'bin', 'swift-proxy-server')
    if os.path.exists(proxy_bin):
        return
    print('installing swift into %s (once)...' % SWIFT_VENV, flush=True)
    subprocess.run([sys.executable, '-m', 'venv', SWIFT_VENV], check=True,
                   timeout=PIP_TIMEOUT)
    subprocess.run([os.path.join(SWIFT_VENV, 'bin', 'pip'), 'install', '-q',
                    SWIFT_REQUIREMENT], check=True, timeout=PIP_TIMEOUT)


class Processes:
    """Processes a caller started, stopped by PID."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.procs = []

    def start(self, name, argv):
        log = open(os.path.join(self.log_dir, name + '.log'), 'wb')
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def log_tails(self, lines=5):
        tails = []
        for name in sorted(os.listdir(self.log_dir)):
            with open(os.path.join(self.log_dir, name), 'rb') as log:
                text = log.read().decode('utf-8', 'replace').splitlines()
            if text:
                tails.append('%s: %s' % (name, '\n  '.join(text[-lines:])))
        return '\n'.join(tails)

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self.procs = []


# Swift reads its storage policies from /etc/swift/swift.conf when first
# imported, whatever swift_dir says; each server is started through this
# so that it reads the cluster's own swift.conf (argv: swift.conf, the
# server script, its arguments).
SWIFT_BOOTSTRAP = (
    'import runpy, sys\n'
    'import swift.common.utils as utils\n'
    'utils.SWIFT_CONF_FILE = sys.argv.pop(1)\n'
    'from swift.common.storage_policy import reload_storage_policies\n'
    'reload_storage_policies()\n'
    'sys.argv.pop(0)\n'
    'runpy.run_path(sys.argv[0], run_name="__main__")\n')


def _tempauth_user_lines(users):
    return ['user_%s_%s = %s' % (u.account, u.user,
                                 ' '.join((u.key,) + tuple(u.groups)))
            for u in users]


def aio_ports(devices=DEVICES):
    """(proxy port, storage port base) for an aio of ``devices`` nodes: a
    block below the kernel's ephemeral range, where ports handed out to
    clients (and to the other cluster) are not."""
    for _ in range(500):
        base = random.randrange(PORT_LOW, PORT_HIGH, 10)
        ports = [base - 7] + [base + 10 * n + k for n in range(devices)
                              for k in range(4)]
        if all(port_is_free('127.0.0.1', p) for p in ports):
            return base - 7, base
    raise RuntimeError('no free block of ports')


class ObjstoreCluster:
    """An objstore aio (the ``objstore-aio`` code path) on free ports."""

    name = 'objstore'

    def __init__(self, workers=1, users=BENCH_USERS, devices=DEVICES):
        self.root = tempfile.mkdtemp(prefix='bench-objstore-')
        self.devices = devices
        proxy_port, base = aio_ports(devices)
        self.aio = AioCluster(self.root, {
            'devices': devices, 'replicas': REPLICAS,
            'part_power': PART_POWER, 'proxy_port': proxy_port,
            'storage_port_base': base, 'proxy_workers': workers,
            'users': tuple(users)})

    def start(self):
        self.aio.prepare()
        self.aio.start()
        return self.aio.auth_url

    def pids(self):
        """The cluster's server processes (their workers are children)."""
        return list(self.aio.supervisor.pids().values())

    def stop(self):
        try:
            self.aio.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class SwiftCluster:
    """OpenStack Swift from PyPI, the same shape as ObjstoreCluster."""

    name = 'swift'
    KINDS = ('account', 'container', 'object')

    def __init__(self, workers=1, users=BENCH_USERS, proxy_options=(),
                 parent_dir=None, features=(), devices=DEVICES,
                 ec_policy=None):
        """``proxy_options``: extra (name, value) pairs for the proxy
        app's config section; ``parent_dir``: where its devices and
        configs go (default: the temp dir); ``features``: optional
        middlewares of Swift's (names in ``OPTIONAL_FILTERS``; all of them
        are ``FULL_FEATURES``) to add to the pipeline, at their places;
        ``ec_policy``: (name, ec_type, data, parity) of an erasure coding
        policy 1 (its ring has one replica per fragment)."""
        unknown = set(features) - set(OPTIONAL_FILTERS)
        if unknown:
            raise ValueError('no such Swift feature: %s' % sorted(unknown))
        self.features = tuple(features)
        self.devices = devices
        self.ec_policy = ec_policy
        self.workers = workers
        self.users = tuple(users)
        self.proxy_options = tuple(proxy_options)
        self.root = tempfile.mkdtemp(prefix='bench-swift-', dir=parent_dir)
        self.etc = os.path.join(self.root, 'etc')
        os.makedirs(self.etc)
        os.makedirs(os.path.join(self.root, 'logs'))
        ports = free_ports(2 + devices * 3)
        self.proxy_port, self.memcache_port = ports[:2]
        self.ports = {kind: ports[2 + i * devices:2 + (i + 1) * devices]
                      for i, kind in enumerate(self.KINDS)}
        self.procs = Processes(os.path.join(self.root, 'logs'))

    def _bin(self, name):
        return os.path.join(SWIFT_VENV, 'bin', name)

    def _server_argv(self, name, conf):
        return [self._bin('python'), '-c', SWIFT_BOOTSTRAP,
                os.path.join(self.etc, 'swift.conf'), self._bin(name), conf]

    def _write(self, name, text):
        path = os.path.join(self.etc, name)
        with open(path, 'w') as conf:
            conf.write(text)
        return path

    def _rings(self):
        """[(ring name, server kind, replicas)]."""
        rings = [(kind, kind, REPLICAS) for kind in self.KINDS]
        if self.ec_policy:
            _name, _type, data, parity = self.ec_policy
            rings.append(('object-1', 'object', data + parity))
        return rings

    def _build_rings(self):
        builder = self._bin('swift-ring-builder')
        for name, kind, replicas in self._rings():
            path = os.path.join(self.etc, name + '.builder')
            subprocess.run([builder, path, 'create', str(PART_POWER),
                            str(replicas), '0'], check=True,
                           capture_output=True, timeout=60)
            for node, port in enumerate(self.ports[kind]):
                subprocess.run([builder, path, 'add', 'r1z%d-127.0.0.1:%d/d%d'
                                % (node + 1, port, node), '100'],
                               check=True, capture_output=True, timeout=60)
            subprocess.run([builder, path, 'rebalance', '--seed', '1'],
                           capture_output=True, timeout=60)
            if not os.path.exists(os.path.join(self.etc,
                                               name + '.ring.gz')):
                raise RuntimeError('swift-ring-builder made no %s ring'
                                   % name)

    def _server_conf(self, kind, node):
        devices = os.path.join(self.root, 'node%d' % node)
        os.makedirs(os.path.join(devices, 'd%d' % node), exist_ok=True)
        recon = os.path.join(self.root, 'recon%d' % node)
        os.makedirs(recon, exist_ok=True)
        return self._write('%s-%d.conf' % (kind, node), '\n'.join([
            '[DEFAULT]', 'devices = %s' % devices, 'mount_check = false',
            'bind_ip = 127.0.0.1', 'bind_port = %d' % self.ports[kind][node],
            'workers = 0', 'swift_dir = %s' % self.etc,
            'user = %s' % getpass.getuser(), 'log_level = WARNING', '',
            '[pipeline:main]',
            'pipeline = healthcheck recon %s-server' % kind, '',
            '[app:%s-server]' % kind, 'use = egg:swift#%s' % kind, '',
            '[filter:healthcheck]', 'use = egg:swift#healthcheck', '',
            '[filter:recon]', 'use = egg:swift#recon',
            'recon_cache_path = %s' % recon, '',
            '[%s-replicator]' % kind, '', '[%s-auditor]' % kind, '',
            '[%s-updater]' % kind if kind != 'account' else '', '',
            '[container-sync]' if kind == 'container' else '', '']))

    def _proxy_conf(self):
        return self._write('proxy-server.conf', '\n'.join([
            '[DEFAULT]', 'bind_ip = 127.0.0.1',
            'bind_port = %d' % self.proxy_port,
            'workers = %d' % self.workers, 'swift_dir = %s' % self.etc,
            'user = %s' % getpass.getuser(), 'log_level = WARNING', '',
            '[pipeline:main]',
            'pipeline = %s' % ' '.join(self._pipeline()),
            '',
            '[app:proxy-server]', 'use = egg:swift#proxy',
            'account_autocreate = true',
        ] + ['%s = %s' % item for item in self.proxy_options] + [
            '',
            '[filter:catch_errors]', 'use = egg:swift#catch_errors', '',
            '[filter:gatekeeper]', 'use = egg:swift#gatekeeper', '',
            '[filter:healthcheck]', 'use = egg:swift#healthcheck', '',
            '[filter:proxy-logging]', 'use = egg:swift#proxy_logging', '',
            '[filter:cache]', 'use = egg:swift#memcache',
            'memcache_servers = 127.0.0.1:%d' % self.memcache_port, '',
            '[filter:listing_formats]', 'use = egg:swift#listing_formats',
            '',
            '[filter:tempauth]', 'use = egg:swift#tempauth',
        ] + _tempauth_user_lines(self.users) + [
            '',
            '[filter:copy]', 'use = egg:swift#copy', ''] + [
                line for name in self.features
                for line in ('[filter:%s]' % name,
                             'use = egg:swift#%s' % name, '')]))

    def _pipeline(self):
        """SWIFT_PIPELINE without the optional filters not asked for."""
        return [name for name in SWIFT_PIPELINE
                if name not in OPTIONAL_FILTERS or name in self.features]

    def pids(self):
        return [proc.pid for proc in self.procs.procs
                if proc.poll() is None]

    def _ec_policy_lines(self):
        if not self.ec_policy:
            return []
        name, ec_type, data, parity = self.ec_policy
        return ['[storage-policy:1]', 'name = %s' % name,
                'policy_type = erasure_coding', 'ec_type = %s' % ec_type,
                'ec_num_data_fragments = %d' % data,
                'ec_num_parity_fragments = %d' % parity,
                'ec_object_segment_size = 1048576', '']

    def start(self):
        self._write('swift.conf', '\n'.join([
            '[swift-hash]', 'swift_hash_path_prefix = bench-prefix',
            'swift_hash_path_suffix = bench-suffix', '',
            '[storage-policy:0]', 'name = Policy-0', 'default = yes', '']
            + self._ec_policy_lines()))
        self._build_rings()
        memcached = ['memcached', '-l', '127.0.0.1', '-p',
                     str(self.memcache_port), '-U', '0', '-m', '64']
        if os.geteuid() == 0:
            memcached += ['-u', 'root']
        self.procs.start('memcached', memcached)
        for kind in self.KINDS:
            for node in range(self.devices):
                conf = self._server_conf(kind, node)
                self.procs.start('%s-%d' % (kind, node), self._server_argv(
                    'swift-%s-server' % kind, conf))
        self.procs.start('proxy', self._server_argv('swift-proxy-server',
                                                    self._proxy_conf()))
        deadline = time.monotonic() + START_TIMEOUT
        ports = [self.proxy_port, self.memcache_port] + [
            p for kind in self.KINDS for p in self.ports[kind]]
        if not all(wait_for_port(p, deadline) for p in ports):
            raise RuntimeError('swift cluster did not come up:\n%s'
                               % self.procs.log_tails())
        return 'http://127.0.0.1:%d/auth/v1.0' % self.proxy_port

    def stop(self):
        try:
            self.procs.stop_all()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
