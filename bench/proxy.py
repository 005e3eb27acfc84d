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
  with p50 and p99 latency and the servers' CPU per operation (psutil,
  over the cluster's processes and their children);
- 64 MiB objects at 1 and at 4 streams: PUT and GET MB/s, server CPU
  per MB, and PUT as a percentage of the machine's 3-replica write limit,
  measured just before in the cluster's own directory (bench/streams.py);
- zero-byte PUTs filling one container with ``--listing`` objects
  (ops/s, CPU per PUT in all and per server kind), then a GET of its
  JSON listing; ``--fill-only`` measures only this phase, on a fresh
  cluster (to judge a change to the container-update path quickly).

Only the cluster under test runs while it is measured (the other's
background work would steal the cores): each round starts one cluster,
measures every phase, stops it, then does the same for the other, for
``--rounds`` rounds that alternate which goes first; each cluster's best
figure is kept, since the machine may be shared.
It prints both sets of figures and objstore/swift ratios (for latencies
swift/objstore), so > 1.0 always means objstore is better. Every process
it starts is stopped by PID at the end; every phase has a time bound.
"""

import argparse
import http.client
import os
import threading
import time
from urllib.parse import quote, urlparse

# Run as a script: bench/ is on sys.path, so the shared module imports by
# its file name.
from clusters import (BENCH_USERS, START_TIMEOUT, ObjstoreCluster,
                      SwiftCluster, ensure_memcached, ensure_swift_venv)
from streams import cpu_by_kind, cpu_seconds, large_figures

PHASE_TIMEOUT = 600
# The servers a zero-byte PUT costs CPU in, each shown apart for the fill:
# the proxy, the object servers and the container servers they update.
FILL_KINDS = ('proxy', 'object-server', 'container-server')
SMALL = 4096
USER, KEY = BENCH_USERS[0].name, BENCH_USERS[0].key


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


def timed_phase(pids, sessions, names, work, label):
    """Ops/s, p50/p99 latency and server CPU per op of one phase."""
    cpu_before = cpu_seconds(pids)
    elapsed, latencies, bad = run_parallel(sessions, names, work)
    cpu = cpu_seconds(pids) - cpu_before
    if bad:
        print('  %s: %d bad answers, e.g. %s' % (label, len(bad), bad[:5]))
    done = max(len(latencies), 1)
    return {'%s ops/s' % label: len(latencies) / elapsed,
            '%s p50 ms' % label: percentile(latencies, 0.5) * 1e3,
            '%s p99 ms' % label: percentile(latencies, 0.99) * 1e3,
            '%s CPU ms/op' % label: cpu / done * 1e3}


def small_ops(pids, sessions, count, round_no=0):
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
        figures.update(timed_phase(pids, sessions, names, work,
                                   '4KiB ' + verb))
    return figures


def fill_listing(pids, sessions, count):
    """Zero-byte PUTs filling one container with ``count`` objects; the
    CPU per PUT also per server kind (FILL_KINDS), since every PUT costs
    three object servers and three container updates."""
    sessions[0].request('PUT', '/listing')
    names = ['obj-%06d' % i for i in range(count)]
    before = cpu_by_kind(pids)
    figures = timed_phase(pids, sessions, names, lambda s, n: expect(
        s.request('PUT', '/listing/' + n, b'')[0], (201,)), '0B fill PUT')
    after = cpu_by_kind(pids)
    for kind in FILL_KINDS:
        figures['0B fill ms/op %s' % kind.split('-')[0]] = (
            (after[kind] - before[kind]) / max(count, 1) * 1e3)
    return figures


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


def lower_is_better(name):
    """Latencies and CPU costs: the smaller the better."""
    return name.endswith(' ms') or ' ms/' in name


def keep_best(best, figures):
    for name, value in figures.items():
        if name not in best:
            best[name] = value
        elif lower_is_better(name):
            best[name] = min(best[name], value)
        else:
            best[name] = max(best[name], value)


def measure_one(cluster, args, round_no):
    """Start ``cluster``, measure every phase, stop it."""
    try:
        target = Target(cluster, args)
        pids = cluster.pids()
        figures = {}
        if not args.fill_only:
            print('round %d, %s: 4 KiB and 64 MiB objects'
                  % (round_no + 1, target.name), flush=True)
            figures.update(small_ops(pids, target.sessions, args.small,
                                     round_no))
            figures.update(large_figures(cluster, target.storage_url,
                                         target.token, args.large))
        print('%s: filling a container with %d objects'
              % (target.name, args.listing), flush=True)
        figures.update(fill_listing(pids, target.sessions, args.listing))
        for _ in range(3):
            keep_best(figures, time_listing(target.name, target.sessions,
                                            args.listing))
        return figures
    finally:
        cluster.stop()


def measure(makers, args):
    """One cluster up at a time, rounds alternating which goes first;
    each cluster's best figure kept: load from elsewhere on a shared
    machine only ever slows a run, and alternating spreads it over both."""
    results = {name: {} for name in makers}
    for round_no in range(args.rounds):
        order = sorted(makers, reverse=bool(round_no % 2))
        for name in order:
            keep_best(results[name],
                      measure_one(makers[name](), args, round_no))
    return results


def report(ours, theirs):
    print()
    print('%-27s %12s %12s %8s' % ('figure', 'objstore', 'swift', 'ratio'))
    for name in ours:
        mine, peer = ours[name], theirs.get(name)
        if peer is None:
            continue
        ratio = (peer / mine) if lower_is_better(name) else (mine / peer)
        print('%-27s %12.1f %12.1f %7.2fx' % (name, mine, peer, ratio))
    print('(ratio > 1.0: objstore better; for latencies and CPU costs '
          'swift/objstore)')


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
                        help='64 MiB objects per stream count (at least '
                        'one per stream)')
    parser.add_argument('--listing', type=int, default=10000,
                        help='objects in the listed container')
    parser.add_argument('--fill-only', action='store_true',
                        help='only the listing fill (and its listing)')
    args = parser.parse_args(argv)
    if args.quick:
        args.small, args.large, args.listing, args.rounds = 200, 1, 500, 1
    return args


def main(argv=None):
    args = parse_args(argv)
    ensure_memcached()
    ensure_swift_venv()
    makers = {'objstore': lambda: ObjstoreCluster(args.workers),
              'swift': lambda: SwiftCluster(args.workers)}
    results = measure(makers, args)
    report(results['objstore'], results['swift'])

if __name__ == '__main__':
    main()
