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
The goals: <= 5% of one core, < 1 GiB. Every process started is stopped
by PID.
"""

import argparse
import http.client
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


def cpu_seconds(procs):
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def rss_bytes(procs):
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


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
        procs = family(aio.supervisor.pids().values())
        before = cpu_seconds(procs)
        time.sleep(args.seconds)
        procs = family(aio.supervisor.pids().values())
        used = cpu_seconds(procs) - before
        print()
        print('processes: %d' % len(procs))
        print('idle CPU: %.2f%% of one core over %ds (goal <= 5%%)'
              % (100.0 * used / args.seconds, args.seconds))
        print('RSS total: %.0f MiB (goal < 1024 MiB)'
              % (rss_bytes(procs) / 2 ** 20))
    finally:
        try:
            aio.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
    main()
