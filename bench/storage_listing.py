#!/usr/bin/env python3
"""Benchmark: container listings on a 1,000,000-object container, and
object-row inserts through the container server. Not a test.

    python bench/storage_listing.py [--objects 1000000] [--quick]

1. Setup: a container DB at its real place under a tmp devices dir, filled
   with ``--objects`` rows inserted straight into the broker's ``object``
   table with ``executemany`` in one transaction (the stat triggers and
   the index are live, so the DB is what the server would have built; it
   is simply faster than a million HTTP requests). Names are
   ``dNN/sNNNNN/oN``: 10 top-level dirs x 10,000 subdirs x 10 objects,
   so one prefix holds 100,000 rows and 10,000 subdirs.
2. Listing pages of 10,000 entries (limit=10000), each timed as the best
   of ``--repeat`` runs, at the start, middle and end of the container:
   plain (marker), prefix, prefix+delimiter (10,000 subdirs of 10 rows
   in a page), a top-level delimiter page, and reverse. Timed through
   ContainerBroker.list_objects and through a container server process
   over HTTP (GET ?format=json, until the last body byte is read), with
   the CPU time spent per page (load-independent on a shared machine).
3. Inserts: a container server process (``objstore-server``, ``--workers``
   workers, 1 by default) receives object-row PUTs from ``--concurrency``
   keep-alive connections (an asyncio client in this process), each
   answered only after its pending record is fdatasync'ed (group commit).
   Reports inserts/s, CPU per insert, and checks the container's object
   count afterwards.

``run(args)`` returns the figures as a dict; ``main(argv)`` prints them.
"""

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from objstore.common.db import db_path
from objstore.common.hashing import HashConf, hash_path
from objstore.common.listing import ListingParams
from objstore.common.timestamp import Timestamp
from objstore.container.backend import OBJECT_COLUMNS, ContainerBroker

HASH_PREFIX = 'bench-prefix'
HASH_SUFFIX = 'bench-suffix'
PAGE = 10000
GOAL_PAGE_MS = 100
GOAL_INSERTS = 5000


def object_name(index, total):
    """The index-th name in sorted order (see the module doc)."""
    per_top = max(total // 10, 1)
    top, rest = divmod(index, per_top)
    return 'd%02d/s%05d/o%d' % (top, rest // 10, rest % 10)


def fill_container(broker, total, batch=50000):
    timestamp = Timestamp.now().internal
    conn = broker.conn
    insert = 'INSERT INTO object (%s) VALUES (%s)' % (
        ', '.join(OBJECT_COLUMNS), ', '.join('?' * len(OBJECT_COLUMNS)))
    conn.execute('BEGIN IMMEDIATE')
    for start in range(0, total, batch):
        conn.executemany(insert, (
            (object_name(i, total), timestamp, 1024, 'application/octet-'
             'stream', 'd41d8cd98f00b204e9800998ecf8427e', 0, 0)
            for i in range(start, min(start + batch, total))))
    conn.execute('COMMIT')
    conn.execute('PRAGMA wal_checkpoint(TRUNCATE)')


def listing_cases(total):
    """(label, ListingParams kwargs, expected entries) per case."""
    per_top = max(total // 10, 1)
    mid, end = total // 2, total - PAGE - 1
    return [
        ('plain start', {}, PAGE),
        ('plain middle', {'marker': object_name(mid, total)}, PAGE),
        ('plain end', {'marker': object_name(end, total)}, PAGE),
        ('prefix start', {'prefix': 'd00/'}, min(PAGE, per_top)),
        ('prefix middle', {'prefix': 'd05/', 'marker': object_name(
            5 * per_top + per_top // 2, total)},
         min(PAGE, per_top - per_top // 2 - 1)),
        ('prefix end', {'prefix': 'd09/', 'marker': object_name(
            10 * per_top - PAGE - 1, total)}, min(PAGE, per_top)),
        ('prefix+delimiter start', {'prefix': 'd00/', 'delimiter': '/'},
         min(PAGE, per_top // 10)),
        ('prefix+delimiter middle', {'prefix': 'd05/', 'delimiter': '/'},
         min(PAGE, per_top // 10)),
        ('prefix+delimiter end', {'prefix': 'd09/', 'delimiter': '/'},
         min(PAGE, per_top // 10)),
        ('delimiter top level', {'delimiter': '/'}, 10),
        ('reverse end', {'reverse': True}, PAGE),
        ('reverse middle', {'reverse': True,
                            'marker': object_name(mid, total)}, PAGE),
    ]


def best_of(repeat, func):
    """(best wall seconds, mean CPU seconds of this process, last result)."""
    best, cpu_total, result = None, 0.0, None
    for _ in range(repeat):
        cpu_started = time.process_time()
        started = time.perf_counter()
        result = func()
        elapsed = time.perf_counter() - started
        cpu_total += time.process_time() - cpu_started
        best = elapsed if best is None else min(best, elapsed)
    return best, cpu_total / repeat, result


def time_broker_listings(broker, total, repeat):
    """{label: (wall ms, CPU ms)} through ContainerBroker.list_objects."""
    figures = {}
    for label, kwargs, expected in listing_cases(total):
        params = ListingParams(limit=PAGE, **kwargs)
        wall, cpu, entries = best_of(repeat,
                                     lambda: broker.list_objects(params))
        if len(entries) != expected:
            raise AssertionError('%s: %d entries, expected %d'
                                 % (label, len(entries), expected))
        figures[label] = (wall * 1000, cpu * 1000)
    return figures


def process_cpu(pid):
    """CPU seconds (user + system, all threads) used so far by ``pid``."""
    with open('/proc/%d/stat' % pid) as stat:
        fields = stat.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def worker_pids(parent):
    """The server's worker processes (its children), or itself if none."""
    children = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as stat:
                fields = stat.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children.append(int(entry))
    return children or [parent]


def server_cpu(pids):
    total = 0.0
    for pid in pids:
        try:
            total += process_cpu(pid)
        except OSError:
            pass
    return total


def time_http_listings(port, path, total, repeat, pids):
    """{label: (wall ms, server CPU ms)}: GET ?format=json, body read.

    Wall time is the best of ``repeat`` fetches (request sent to last body
    byte read); server CPU is the mean over them, from /proc (10 ms ticks,
    so it is only meaningful summed over several requests).
    """
    figures = {}
    for label, kwargs, expected in listing_cases(total):
        query = {'format': 'json', 'limit': str(PAGE)}
        for key, value in kwargs.items():
            query[key] = 'true' if value is True else value
        url = 'http://127.0.0.1:%d%s?%s' % (
            port, path, urllib.parse.urlencode(query))

        def fetch():
            with urllib.request.urlopen(url, timeout=30) as resp:
                return resp.read()

        cpu_before = server_cpu(pids)
        wall, _client_cpu, body = best_of(repeat, fetch)
        cpu = (server_cpu(pids) - cpu_before) / repeat
        entries = json.loads(body)
        if len(entries) != expected:
            raise AssertionError('%s over HTTP: %d entries, expected %d'
                                 % (label, len(entries), expected))
        figures[label] = (wall * 1000, cpu * 1000)
    return figures


# -- the server process -------------------------------------------------------

def free_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def write_confs(base, devices, port, workers):
    with open(os.path.join(base, 'objstore.conf'), 'w') as conf:
        conf.write('[objstore-hash]\npath_hash_prefix = %s\n'
                   'path_hash_suffix = %s\n' % (HASH_PREFIX, HASH_SUFFIX))
    path = os.path.join(base, 'container-server.conf')
    with open(path, 'w') as conf:
        conf.write(
            '[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = %d\nworkers = %d\n'
            'log_level = WARNING\n\n[pipeline:main]\n'
            'pipeline = container-server\n\n[app:container-server]\n'
            'use = egg:objstore#container\ndevices = %s\n'
            'mount_check = false\nconf_dir = %s\nlog_level = WARNING\n'
            % (port, workers, devices, base))
    return path


def start_server(conf_path, port):
    proc = subprocess.Popen(
        [sys.executable, '-m', 'objstore.cli.server', conf_path],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), 0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError('container server died: %s'
                                   % proc.stderr.read().decode())
            time.sleep(0.05)
    stop_server(proc)
    raise RuntimeError('container server did not start')


def stop_server(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# -- the insert client --------------------------------------------------------

async def _read_response(reader):
    head = await reader.readuntil(b'\r\n\r\n')
    status = int(head.split(b' ', 2)[1])
    length = 0
    for line in head.split(b'\r\n'):
        if line[:15].lower() == b'content-length:':
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def _insert_worker(port, path, names, failures):
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    try:
        for name in names:
            writer.write((
                'PUT %s/%s HTTP/1.1\r\nHost: bench\r\nX-Timestamp: %s\r\n'
                'X-Size: 4096\r\nX-Content-Type: application/octet-stream\r\n'
                'X-Etag: d41d8cd98f00b204e9800998ecf8427e\r\n'
                'Content-Length: 0\r\n\r\n' % (
                    path, name, Timestamp.now().internal)).encode('utf-8'))
            status = await _read_response(reader)
            if status != 201:
                failures.append(status)
    finally:
        writer.close()


async def _insert_all(port, path, count, concurrency):
    failures = []
    per_worker = count // concurrency
    workers = [_insert_worker(port, path, ['ins-%02d-%07d' % (w, i)
                                           for i in range(per_worker)],
                              failures)
               for w in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*workers)
    return per_worker * concurrency, time.perf_counter() - started, failures


def time_inserts(port, path, count, concurrency):
    done, seconds, failures = asyncio.run(
        _insert_all(port, path, count, concurrency))
    if failures:
        raise AssertionError('%d inserts failed: %s' % (
            len(failures), sorted(set(failures))))
    return done, seconds


def container_count(port, path):
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (port, path),
                                 method='HEAD')
    with urllib.request.urlopen(req, timeout=30) as resp:
        return int(resp.headers['X-Container-Object-Count'])


def http_put_container(port, path):
    req = urllib.request.Request(
        'http://127.0.0.1:%d%s' % (port, path), method='PUT',
        headers={'X-Timestamp': Timestamp.now().internal})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status


# -- the run ------------------------------------------------------------------

def run(args):
    """Run the benchmark described by ``args``; the figures as a dict."""
    base = tempfile.mkdtemp(prefix='objstore-bench-listing-',
                            dir=args.tmp_dir)
    devices = os.path.join(base, 'devices')
    os.makedirs(os.path.join(devices, 'sda'))
    hash_conf = HashConf(HASH_PREFIX.encode(), HASH_SUFFIX.encode())
    figures = {'objects': args.objects, 'broker_ms': {}, 'http_ms': {}}
    try:
        if not args.inserts_only:
            figures.update(listing_figures(args, base, devices, hash_conf))
        figures.update(insert_figures(args, base, devices))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return figures


def listing_figures(args, base, devices, hash_conf):
    figures = {}
    big = ContainerBroker(
        db_path(os.path.join(devices, 'sda'), 'container', 0,
                hash_path('bench', 'big', hash_conf=hash_conf)),
        account='bench', container='big')
    big.initialize(Timestamp.now())
    started = time.perf_counter()
    fill_container(big, args.objects)
    figures['setup_seconds'] = time.perf_counter() - started
    figures['db_bytes'] = os.path.getsize(big.db_file)
    figures['broker_ms'] = time_broker_listings(big, args.objects,
                                                args.repeat)
    big.close()
    # One process, no workers: its CPU time is exactly the server's.
    port = free_port()
    proc = start_server(write_confs(base, devices, port, 0), port)
    try:
        figures['http_ms'] = time_http_listings(
            port, '/sda/0/bench/big', args.objects, args.repeat, [proc.pid])
    finally:
        stop_server(proc)
    return figures


def fsync_latency_ms(directory, samples=50):
    """Median time of a 100-byte append + fdatasync on the bench's disk:
    what each group commit costs at least, as the disk is right now."""
    path = os.path.join(directory, 'fsync-probe')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    times = []
    try:
        for _ in range(samples):
            started = time.perf_counter()
            os.write(fd, b'x' * 100)
            os.fdatasync(fd)
            times.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        os.unlink(path)
    return sorted(times)[len(times) // 2] * 1000


def insert_figures(args, base, devices):
    figures = {'fsync_ms_before': fsync_latency_ms(base)}
    port = free_port()
    proc = start_server(write_confs(base, devices, port, args.workers), port)
    try:
        http_put_container(port, '/sda/0/bench/inserts')
        pids = worker_pids(proc.pid)
        cpu_before = server_cpu(pids)
        client_before = os.times()
        done, seconds = time_inserts(port, '/sda/0/bench/inserts',
                                     args.inserts, args.concurrency)
        client_after = os.times()
        figures['insert_server_cpu_us'] = (
            server_cpu(pids) - cpu_before) / done * 1e6
        figures['insert_client_cpu_us'] = (
            (client_after.user - client_before.user) +
            (client_after.system - client_before.system)) / done * 1e6
        figures['inserts'] = done
        figures['insert_seconds'] = seconds
        figures['inserts_per_second'] = done / seconds
        figures['fsync_ms_after'] = fsync_latency_ms(base)
        figures['inserts_counted'] = container_count(
            port, '/sda/0/bench/inserts')
        if figures['inserts_counted'] != done:
            raise AssertionError('container counts %d rows, %d were sent'
                                 % (figures['inserts_counted'], done))
    finally:
        stop_server(proc)
    return figures


def report(figures, args):
    lines = []
    if figures['broker_ms']:
        lines.append('container of %d objects (setup %.1f s, DB %.0f MiB)' % (
            figures['objects'], figures['setup_seconds'],
            figures['db_bytes'] / 2 ** 20))
        lines.append(
            'page of %d entries: wall = best of %d; CPU = mean per page '
            '(broker: this process; HTTP: the server process); goal <= %d ms'
            % (PAGE, args.repeat, GOAL_PAGE_MS))
        lines.append('%-26s %10s %10s %10s %10s' % (
            '', 'broker', 'broker', 'HTTP', 'HTTP'))
        lines.append('%-26s %10s %10s %10s %10s' % (
            'case', 'wall ms', 'CPU ms', 'wall ms', 'srv CPU ms'))
        for label, (wall, cpu) in figures['broker_ms'].items():
            http_wall, http_cpu = figures['http_ms'][label]
            lines.append('%-26s %10.1f %10.1f %10.1f %10.1f  %s' % (
                label, wall, cpu, http_wall, http_cpu,
                'ok' if http_wall <= GOAL_PAGE_MS else 'OVER GOAL (wall)'))
    lines.append(
        'object-row inserts via container server: %d in %.2f s = %.0f/s at '
        'concurrency %d, %d worker(s) (goal >= %d/s: %s); all %d counted'
        % (figures['inserts'], figures['insert_seconds'],
           figures['inserts_per_second'], args.concurrency, args.workers,
           GOAL_INSERTS, 'ok' if figures['inserts_per_second'] >=
           GOAL_INSERTS else 'UNDER GOAL', figures['inserts_counted']))
    lines.append(
        'CPU per insert: server %.0f us, benchmark client %.0f us; '
        'append+fdatasync on this disk: %.2f ms before, %.2f ms after; '
        'load average: %s' % (
            figures['insert_server_cpu_us'], figures['insert_client_cpu_us'],
            figures['fsync_ms_before'], figures['fsync_ms_after'],
            ' '.join('%.1f' % v for v in os.getloadavg())))
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--objects', type=int, default=1000000)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--inserts', type=int, default=32000)
    parser.add_argument('--concurrency', type=int, default=32)
    parser.add_argument('--workers', type=int, default=1,
                        help='container server workers for the insert part '
                             '(one is fastest for a single hot container: '
                             'no cross-process lock or fsync contention)')
    parser.add_argument('--tmp-dir', default=None,
                        help='where to build the DB (default: system tmp)')
    parser.add_argument('--inserts-only', action='store_true',
                        help='skip the listing part')
    parser.add_argument('--quick', action='store_true',
                        help='100,000 objects and 6,400 inserts')
    args, _unknown = parser.parse_known_args(argv)
    if args.quick:
        args.objects = min(args.objects, 100000)
        args.inserts = min(args.inserts, 6400)
        args.repeat = min(args.repeat, 3)
    return args


def main(argv=None):
    args = parse_args(argv)
    print(report(run(args), args), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
