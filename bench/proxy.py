#!/usr/bin/env python3
"""Benchmark: the objstore proxy (and cluster behind it) against Swift's.

Not a test. Run it with the objstore venv's python::

    python bench/proxy.py [--quick] [--workers 1] [--concurrency 16]

It starts two clusters of the same shape on free loopback ports:
objstore's (``objstore.cli.aio``, the aio code path) and
OpenStack Swift's from PyPI (installed once into
``~/.cache/objstore-bench/swift-venv``, shared with bench/ring.py; rings
made by its own ``swift-ring-builder``, a private memcached for its
tempauth tokens and info cache). Both have 4 devices, 3 replicas, part
power 6, storage servers with ``workers = 0`` and the proxy with
``--workers`` workers, tempauth with the same user. Then, through each
proxy, with keep-alive HTTP connections:

- 4 KiB objects: PUT, GET, HEAD and DELETE ops/s at ``--concurrency``,
  with p50 and p99 latency;
- 64 MiB objects: PUT and GET MB/s, one at a time;
- a GET of the JSON listing of a container holding 10,000 objects.

Each phase alternates between the two clusters for ``--rounds`` rounds
and keeps each one's best figure, since the machine may be shared.
It prints both sets of figures and objstore/swift ratios (for latencies
swift/objstore), so > 1.0 always means objstore is better. Every process
it starts is stopped by PID at the end; every phase has a time bound.
"""

import argparse
import getpass
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import quote, urlparse

from objstore.cli.aio import AioCluster, port_is_free
from objstore.cli.aio_layout import AioUser

SWIFT_VENV = os.path.expanduser('~/.cache/objstore-bench/swift-venv')
PIP_TIMEOUT = 900
START_TIMEOUT = 60
PHASE_TIMEOUT = 600
SMALL = 4096
LARGE = 64 * 1024 * 1024
PIECE = 1024 * 1024
USER, KEY = 'test:tester', 'testing'
REPLICAS, DEVICES, PART_POWER = 3, 4, 6


# ----------------------------------------------------------------- helpers


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
                    'swift'], check=True, timeout=PIP_TIMEOUT)


class Processes:
    """Processes this benchmark started, stopped by PID."""

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


# ---------------------------------------------------------------- clusters


class ObjstoreCluster:
    name = 'objstore'

    def __init__(self, workers):
        self.root = tempfile.mkdtemp(prefix='bench-objstore-')
        proxy_port, base = self._ports()
        self.aio = AioCluster(self.root, {
            'devices': DEVICES, 'replicas': REPLICAS,
            'part_power': PART_POWER, 'proxy_port': proxy_port,
            'storage_port_base': base, 'proxy_workers': workers,
            'users': (AioUser('test', 'tester', KEY, ('.admin',)),)})

    @staticmethod
    def _ports():
        for _ in range(200):
            base = free_ports(1)[0] // 10 * 10
            if base > 60000 - 10 * DEVICES or base < 20000:
                continue
            ports = [base - 7] + [base + 10 * n + k for n in range(DEVICES)
                                  for k in range(4)]
            if all(port_is_free('127.0.0.1', p) for p in ports):
                return base - 7, base
        raise RuntimeError('no free block of ports')

    def start(self):
        self.aio.prepare()
        self.aio.start()
        return self.aio.auth_url

    def stop(self):
        try:
            self.aio.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class SwiftCluster:
    name = 'swift'
    KINDS = ('account', 'container', 'object')

    def __init__(self, workers):
        self.workers = workers
        self.root = tempfile.mkdtemp(prefix='bench-swift-')
        self.etc = os.path.join(self.root, 'etc')
        os.makedirs(self.etc)
        os.makedirs(os.path.join(self.root, 'logs'))
        ports = free_ports(2 + DEVICES * 3)
        self.proxy_port, self.memcache_port = ports[:2]
        self.ports = {kind: ports[2 + i * DEVICES:2 + (i + 1) * DEVICES]
                      for i, kind in enumerate(self.KINDS)}
        self.procs = Processes(os.path.join(self.root, 'logs'))

    def _bin(self, name):
        return os.path.join(SWIFT_VENV, 'bin', name)

    def _write(self, name, text):
        path = os.path.join(self.etc, name)
        with open(path, 'w') as conf:
            conf.write(text)
        return path

    def _build_rings(self):
        builder = self._bin('swift-ring-builder')
        for kind in self.KINDS:
            path = os.path.join(self.etc, kind + '.builder')
            subprocess.run([builder, path, 'create', str(PART_POWER),
                            str(REPLICAS), '0'], check=True,
                           capture_output=True, timeout=60)
            for node, port in enumerate(self.ports[kind]):
                subprocess.run([builder, path, 'add', 'r1z%d-127.0.0.1:%d/d%d'
                                % (node + 1, port, node), '100'],
                               check=True, capture_output=True, timeout=60)
            subprocess.run([builder, path, 'rebalance', '--seed', '1'],
                           capture_output=True, timeout=60)
            if not os.path.exists(os.path.join(self.etc,
                                               kind + '.ring.gz')):
                raise RuntimeError('swift-ring-builder made no %s ring'
                                   % kind)

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
            'pipeline = catch_errors gatekeeper healthcheck proxy-logging '
            'cache listing_formats tempauth copy proxy-logging proxy-server',
            '',
            '[app:proxy-server]', 'use = egg:swift#proxy',
            'account_autocreate = true', '',
            '[filter:catch_errors]', 'use = egg:swift#catch_errors', '',
            '[filter:gatekeeper]', 'use = egg:swift#gatekeeper', '',
            '[filter:healthcheck]', 'use = egg:swift#healthcheck', '',
            '[filter:proxy-logging]', 'use = egg:swift#proxy_logging', '',
            '[filter:cache]', 'use = egg:swift#memcache',
            'memcache_servers = 127.0.0.1:%d' % self.memcache_port, '',
            '[filter:listing_formats]', 'use = egg:swift#listing_formats',
            '',
            '[filter:tempauth]', 'use = egg:swift#tempauth',
            'user_test_tester = %s .admin' % KEY, '',
            '[filter:copy]', 'use = egg:swift#copy', '']))

    def start(self):
        self._write('swift.conf', '\n'.join([
            '[swift-hash]', 'swift_hash_path_prefix = bench-prefix',
            'swift_hash_path_suffix = bench-suffix', '',
            '[storage-policy:0]', 'name = Policy-0', 'default = yes', '']))
        self._build_rings()
        memcached = ['memcached', '-l', '127.0.0.1', '-p',
                     str(self.memcache_port), '-U', '0', '-m', '64']
        if os.geteuid() == 0:
            memcached += ['-u', 'root']
        self.procs.start('memcached', memcached)
        for kind in self.KINDS:
            for node in range(DEVICES):
                conf = self._server_conf(kind, node)
                self.procs.start('%s-%d' % (kind, node),
                                 [self._bin('swift-%s-server' % kind), conf])
        self.procs.start('proxy', [self._bin('swift-proxy-server'),
                                   self._proxy_conf()])
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


# ---------------------------------------------------------------- workload


class Session:
    """One keep-alive connection with the user's token."""

    def __init__(self, storage_url, token):
        url = urlparse(storage_url)
        self.host, self.port, self.base = url.hostname, url.port, url.path
        self.token = token
        self.conn = http.client.HTTPConnection(self.host, self.port,
                                               timeout=120)

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {}, **{'X-Auth-Token': self.token})
        for attempt in (0, 1):
            try:
                self.conn.request(method, self.base + quote(path), body=body,
                                  headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                return resp.status, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port,
                                                       timeout=120)
                if attempt:
                    raise
        raise RuntimeError('unreachable')


def authenticate(auth_url):
    url = urlparse(auth_url)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        try:
            conn.request('GET', url.path, headers={'X-Auth-User': USER,
                                                   'X-Auth-Key': KEY})
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                return (resp.getheader('X-Storage-Url'),
                        resp.getheader('X-Auth-Token'))
        except OSError:
            pass
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise RuntimeError('no token from %s' % auth_url)
        time.sleep(0.5)


def run_parallel(sessions, names, work):
    """Run ``work(session, name)`` over names with one thread per session;
    (elapsed seconds, [latencies], [bad statuses])."""
    latencies, bad = [], []
    lock = threading.Lock()
    todo = iter(names)
    deadline = time.monotonic() + PHASE_TIMEOUT

    def worker(session):
        while time.monotonic() < deadline:
            with lock:
                name = next(todo, None)
            if name is None:
                return
            started = time.perf_counter()
            status = work(session, name)
            took = time.perf_counter() - started
            with lock:
                latencies.append(took)
                if status is not None:
                    bad.append(status)
    threads = [threading.Thread(target=worker, args=(s,)) for s in sessions]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, bad


def expect(status, wanted):
    return None if status in wanted else status


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def small_ops(sessions, count, round_no=0):
    body = os.urandom(SMALL)
    names = ['small-%d-%06d' % (round_no, i) for i in range(count)]
    steps = (
        ('PUT', lambda s, n: expect(s.request(
            'PUT', '/bench/' + n, body)[0], (201,))),
        ('GET', lambda s, n: expect(s.request('GET', '/bench/' + n)[0],
                                    (200,))),
        ('HEAD', lambda s, n: expect(s.request('HEAD', '/bench/' + n)[0],
                                     (200,))),
        ('DELETE', lambda s, n: expect(s.request(
            'DELETE', '/bench/' + n)[0], (204,))),
    )
    figures = {}
    for verb, work in steps:
        elapsed, latencies, bad = run_parallel(sessions, names, work)
        figures['4KiB %s ops/s' % verb] = len(latencies) / elapsed
        figures['4KiB %s p50 ms' % verb] = percentile(latencies, 0.5) * 1e3
        figures['4KiB %s p99 ms' % verb] = percentile(latencies, 0.99) * 1e3
        if bad:
            print('  %s: %d bad answers, e.g. %s' % (verb, len(bad), bad[:5]))
    return figures


def _chunks(data):
    for start in range(0, len(data), PIECE):
        yield data[start:start + PIECE]


def large_ops(storage_url, token, count):
    data = os.urandom(LARGE)
    url = urlparse(storage_url)
    put_seconds = get_seconds = 0.0
    for index in range(count):
        path = url.path + '/bench/large-%d' % index
        conn = http.client.HTTPConnection(url.hostname, url.port,
                                          timeout=300)
        started = time.perf_counter()
        conn.request('PUT', path, body=_chunks(data), headers={
            'X-Auth-Token': token, 'Content-Length': str(LARGE)})
        resp = conn.getresponse()
        resp.read()
        put_seconds += time.perf_counter() - started
        if resp.status != 201:
            print('  large PUT answered %d' % resp.status)
        started = time.perf_counter()
        conn.request('GET', path, headers={'X-Auth-Token': token})
        resp = conn.getresponse()
        got = 0
        while True:
            piece = resp.read(PIECE)
            if not piece:
                break
            got += len(piece)
        get_seconds += time.perf_counter() - started
        if got != LARGE:
            print('  large GET returned %d bytes' % got)
        conn.request('DELETE', path, headers={'X-Auth-Token': token})
        conn.getresponse().read()
        conn.close()
    megabytes = count * LARGE / 1e6
    return {'64MiB PUT MB/s': megabytes / put_seconds,
            '64MiB GET MB/s': megabytes / get_seconds}


def fill_listing(name, sessions, count):
    """Untimed: a container of ``count`` empty objects."""
    sessions[0].request('PUT', '/listing')
    names = ['obj-%06d' % i for i in range(count)]
    _elapsed, _lat, bad = run_parallel(sessions, names, lambda s, n: expect(
        s.request('PUT', '/listing/' + n, b'')[0], (201,)))
    if bad:
        print('  %s listing fill: %d bad answers, e.g. %s'
              % (name, len(bad), bad[:5]))


def time_listing(name, sessions, count):
    session = sessions[0]
    started = time.perf_counter()
    status, body = session.request(
        'GET', '/listing', headers={'Accept': 'application/json'})
    took = time.perf_counter() - started
    if status != 200 or body.count(b'"name"') != count:
        print('  %s listing answered %d with %d names'
              % (name, status, body.count(b'"name"')))
    return {'list %d objects ms' % count: took * 1e3}


class Target:
    """One started cluster, authenticated, with its client sessions."""

    def __init__(self, cluster, args):
        self.cluster = cluster
        self.name = cluster.name
        print('starting %s cluster...' % cluster.name, flush=True)
        auth_url = cluster.start()
        self.storage_url, self.token = authenticate(auth_url)
        self.sessions = [Session(self.storage_url, self.token)
                         for _ in range(args.concurrency)]
        status, _ = self.sessions[0].request('PUT', '/bench')
        if status not in (201, 202):
            raise RuntimeError('%s: container PUT answered %d'
                               % (cluster.name, status))


def keep_best(best, figures):
    for name, value in figures.items():
        if name not in best:
            best[name] = value
        elif name.endswith(' ms'):
            best[name] = min(best[name], value)
        else:
            best[name] = max(best[name], value)


def measure(targets, args):
    """Each phase alternates between the clusters, ``rounds`` times, and
    keeps each cluster's best figure: load from elsewhere on a shared
    machine only ever slows a run, and alternating spreads it over both."""
    results = {t.name: {} for t in targets}
    for round_no in range(args.rounds):
        for target in targets:
            print('round %d, %s: 4 KiB and 64 MiB objects'
                  % (round_no + 1, target.name), flush=True)
            keep_best(results[target.name],
                      small_ops(target.sessions, args.small, round_no))
            keep_best(results[target.name],
                      large_ops(target.storage_url, target.token, args.large))
    for target in targets:
        print('%s: filling a container with %d objects'
              % (target.name, args.listing), flush=True)
        fill_listing(target.name, target.sessions, args.listing)
    for _ in range(3 * args.rounds):
        for target in targets:
            keep_best(results[target.name],
                      time_listing(target.name, target.sessions,
                                   args.listing))
    return results


def report(ours, theirs):
    print()
    print('%-24s %12s %12s %8s' % ('figure', 'objstore', 'swift', 'ratio'))
    for name in ours:
        mine, peer = ours[name], theirs.get(name)
        if peer is None:
            continue
        lower_is_better = name.endswith(' ms')
        ratio = (peer / mine) if lower_is_better else (mine / peer)
        print('%-24s %12.1f %12.1f %7.2fx' % (name, mine, peer, ratio))
    print('(ratio > 1.0: objstore better; for latencies swift/objstore)')


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='few objects: a smoke run, not a measurement')
    parser.add_argument('--workers', type=int, default=1,
                        help='proxy workers of both clusters')
    parser.add_argument('--concurrency', type=int, default=16)
    parser.add_argument('--small', type=int, default=1000,
                        help='4 KiB objects per verb and round')
    parser.add_argument('--rounds', type=int, default=2,
                        help='alternating rounds; the best is kept')
    parser.add_argument('--large', type=int, default=3,
                        help='64 MiB objects')
    parser.add_argument('--listing', type=int, default=10000,
                        help='objects in the listed container')
    args = parser.parse_args(argv)
    if args.quick:
        args.small, args.large, args.listing, args.rounds = 200, 1, 500, 1
    return args


def main(argv=None):
    args = parse_args(argv)
    ensure_memcached()
    ensure_swift_venv()
    clusters = [ObjstoreCluster(args.workers), SwiftCluster(args.workers)]
    try:
        targets = [Target(cluster, args) for cluster in clusters]
        results = measure(targets, args)
    finally:
        for cluster in clusters:
            cluster.stop()
    report(results['objstore'], results['swift'])

if __name__ == '__main__':
    main()
