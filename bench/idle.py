#!/usr/bin/env python3
"""Benchmark: what an idle aio costs (issue 17's "quiet when idle").

Not a test. Run it with the objstore venv's python::

    python bench/idle.py [--objects 10000] [--seconds 300] [--quick]

Starts an aio with its consistency daemons (replicators, auditors,
updaters, expirer, reaper, reconciler), writes ``--objects`` zero-byte
objects into one container, waits one replication interval for the
daemons' first passes over them, then measures, with no traffic, for
``--seconds``: the CPU used by all the aio's processes together (as a
percentage of one core) and their total resident memory at the end.
The goals: <= 5% of one core, < 1 GiB of RSS summed over the processes
(the PSS total, which counts shared library pages once, is printed too).
A table per process kind (the supervised child's name without its node
number: ``object-server``, ``object-replicator``...) then says where the
CPU and the memory went, busiest first. Every process started is stopped
by PID.
"""

import argparse
import collections
import http.client
import os
import re
import shutil
import tempfile
import threading
import time
from urllib.parse import urlparse

import psutil

from clusters import BENCH_USERS, DEVICES, PART_POWER, REPLICAS, aio_ports
from objstore.cli.aio import AioCluster

USER = BENCH_USERS[0]
SETTLE_SECONDS = 45


# 'object-replicator-3' -> 'object-replicator'; a name without a node
# number (proxy-server, rsyncd) is its own kind.
NODE_SUFFIX = re.compile(r'-\d+$')


def family(pids):
    procs = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs.append(proc)
            procs.extend(proc.children(recursive=True))
        except psutil.NoSuchProcess:
            continue
    return procs


def kind_of(child_name):
    return NODE_SUFFIX.sub('', child_name)


def families_by_kind(children):
    """{kind: [psutil.Process]} of every supervised child and what it
    forked (a proxy's workers count as the proxy's)."""
    kinds = collections.defaultdict(list)
    for name, pid in children.items():
        kinds[kind_of(name)].extend(family([pid]))
    return kinds


def cpu_by_pid(procs):
    """{pid: (create_time, cpu seconds)}; create_time tells a PID reused
    by a new process from the one measured before."""
    seen = {}
    for proc in procs:
        try:
            times = proc.cpu_times()
            seen[proc.pid] = (proc.create_time(), times.user + times.system)
        except psutil.NoSuchProcess:
            continue
    return seen


def cpu_used(before, after):
    """CPU seconds spent between two ``cpu_by_pid`` snapshots: a process
    born in between counts from zero (one that died is lost)."""
    used = 0.0
    for pid, (created, seconds) in after.items():
        old = before.get(pid)
        used += seconds - old[1] if old and old[0] == created else seconds
    return used


def cpu_by_kind(kinds):
    return {kind: cpu_by_pid(procs) for kind, procs in kinds.items()}


def kind_table(cpu_before, kinds_after, seconds):
    """Rows (kind, processes, CPU % of one core, RSS MiB, MiB/process),
    busiest first; ``cpu_before`` is ``cpu_by_kind`` at the start."""
    rows = []
    for kind, procs in kinds_after.items():
        used = cpu_used(cpu_before.get(kind, {}), cpu_by_pid(procs))
        rss = rss_bytes(procs) / 2 ** 20
        rows.append((kind, len(procs), 100.0 * used / seconds, rss,
                     rss / max(1, len(procs))))
    rows.sort(key=lambda row: (-row[2], -row[3]))
    return rows


def print_kind_table(rows):
    print('%-24s %5s %8s %9s %9s' % ('kind', 'procs', 'CPU %', 'RSS MiB',
                                     'MiB/proc'))
    for kind, count, cpu, rss, per_proc in rows:
        print('%-24s %5d %8.2f %9.0f %9.1f' % (kind, count, cpu, rss,
                                               per_proc))


def summed(procs, measure):
    """``measure(proc)`` added up over the processes still alive."""
    total = 0
    for proc in procs:
        try:
            total += measure(proc)
        except psutil.NoSuchProcess:
            continue
    return total


def rss_bytes(procs):
    return summed(procs, lambda proc: proc.memory_info().rss)


def pss_bytes(procs):
    """Proportional set size: each shared page counted once in all (1/N
    in each of the N processes sharing it), where RSS counts it N times."""
    return summed(procs, lambda proc: proc.memory_full_info().pss)


def authenticate(proxy_url):
    url = urlparse(proxy_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request('GET', '/auth/v1.0', headers={
        'X-Auth-User': '%s:%s' % (USER.account, USER.user),
        'X-Auth-Key': USER.key})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return urlparse(resp.getheader('X-Storage-Url')).path, \
        resp.getheader('X-Auth-Token')


def fill(proxy_url, count, threads=8):
    path, token = authenticate(proxy_url)
    url = urlparse(proxy_url)

    def put(start):
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        for number in range(start, count, threads):
            conn.request('PUT', '%s/idle/o%06d' % (path, number), body=b'',
                         headers={'X-Auth-Token': token})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 201:
                raise RuntimeError('PUT answered %d' % resp.status)
        conn.close()
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    conn.request('PUT', '%s/idle' % path, headers={'X-Auth-Token': token})
    conn.getresponse().read()
    conn.close()
    workers = [threading.Thread(target=put, args=(n,))
               for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(1800)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--objects', type=int, default=10000)
    parser.add_argument('--seconds', type=int, default=300)
    parser.add_argument('--quick', action='store_true',
                        help='1,000 objects, 60 s: a smoke run')
    args = parser.parse_args(argv)
    if args.quick:
        args.objects, args.seconds = 1000, 60
    root = tempfile.mkdtemp(prefix='bench-idle-')
    proxy_port, storage_base = aio_ports()
    aio = AioCluster(root, {'devices': DEVICES, 'replicas': REPLICAS,
                            'part_power': PART_POWER,
                            'proxy_port': proxy_port,
                            'storage_port_base': storage_base,
                            'users': tuple(BENCH_USERS)}, daemons=True)
    try:
        aio.prepare()
        aio.start()
        print('started %d daemons' % aio.start_all_daemons(), flush=True)
        print('filling %d objects...' % args.objects, flush=True)
        fill(aio.proxy_url, args.objects)
        print('settling %ds (first daemon passes)...' % SETTLE_SECONDS,
              flush=True)
        time.sleep(SETTLE_SECONDS)
        cpu_before = cpu_by_kind(families_by_kind(aio.supervisor.pids()))
        load_before = os.getloadavg()
        time.sleep(args.seconds)
        kinds_after = families_by_kind(aio.supervisor.pids())
        rows = kind_table(cpu_before, kinds_after, args.seconds)
        print()
        print_kind_table(rows)
        print()
        print('processes: %d' % sum(row[1] for row in rows))
        print('idle CPU: %.2f%% of one core over %ds (goal <= 5%%)'
              % (sum(row[2] for row in rows), args.seconds))
        print('RSS total: %.0f MiB (goal < 1024 MiB)'
              % sum(row[3] for row in rows))
        print('PSS total: %.0f MiB (shared pages counted once)'
              % (sum(pss_bytes(procs) for procs in kinds_after.values())
                 / 2 ** 20))
        print('machine load average (1 min) before/after: %.2f / %.2f'
              % (load_before[0], os.getloadavg()[0]))
    finally:
        try:
            aio.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
