"""64 MiB objects through a proxy at 1 or more streams, and the disk's limit.

Used by bench/proxy.py (and its CPU meter by bench/large_objects.py):
for one started cluster, upload and download ``count`` 64 MiB objects
over ``streams`` parallel connections and report MB/s with the server CPU
each MB cost (psutil, over the cluster's server processes and their
children); and measure the
machine's 3-replica write limit: the same total (3 x the bytes uploaded)
written as fsynced sequential 64 MiB files into the cluster's own
directory, with three writers per stream (one per replica, as the cluster
writes them), divided by 3. A cluster that keeps
every replica durable cannot upload faster than that, so "PUT MB/s as % of
the limit" compares clusters without trusting how loaded the machine was.
Nor faster than its CPU allows: the "PUT CPU ceiling" is the MB/s the
machine's cores give at the CPU per MB measured (servers and this client)
with every core at work on the upload. A PUT near its ceiling is
CPU-bound; a ceiling below the write limit says the disk is not what
holds the cluster back (each replica's MD5 alone costs ~1.1 ms per MB).

As a library nothing here starts or stops clusters; callers do. Run as a
script it measures one cluster alone (no Swift peer, no ratios), for
quick before/after figures while working on the streaming paths::

    python bench/streams.py [--swift] [--count 2] [--streams 1 4]

Files it writes are removed before it returns; a cluster it started is
stopped by PID.
"""

import argparse
import collections
import http.client
import os
import threading
import time
from urllib.parse import urlparse

import psutil

from objstore.common.durable import start_writeback

# bench/ is on sys.path when a bench script runs: the sibling imports by
# its file name.
from clusters import (BENCH_USERS, START_TIMEOUT, ObjstoreCluster,
                      SwiftCluster, ensure_memcached, ensure_swift_venv)

LARGE = 64 * 1024 * 1024
PIECE = 1024 * 1024
REPLICAS = 3
TIMEOUT = 600
# What an object server writes per os.write and between two writeback
# starts (its network_chunk_size and diskfile_writer.WRITEBACK_BYTES).
REPLICA_PIECE = 64 * 1024
REPLICA_WRITEBACK = 4 * 1024 * 1024


# Words of a command line that name its process kind, first match wins.
PROCESS_KINDS = ('proxy', 'object-server', 'container-server',
                 'account-server', 'replicator', 'updater', 'auditor',
                 'expirer', 'reconstructor', 'reaper', 'memcached', 'rsync')


def cpu_seconds(pids):
    """CPU time used so far by ``pids`` and all their descendants."""
    return sum(cpu_by_kind(pids).values())


def process_kind(proc):
    """The PROCESS_KINDS word of ``proc``'s command line, else its start."""
    command = ' '.join(proc.cmdline())
    for word in PROCESS_KINDS:
        if word in command:
            return word
    return command[:40]


def cpu_by_kind(pids, kind_of=process_kind):
    """CPU seconds used so far by ``pids`` and all their descendants, per
    process kind (``kind_of(process)``, process_kind unless given)."""
    totals = collections.Counter()
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            family = [proc] + proc.children(recursive=True)
        except psutil.NoSuchProcess:
            continue
        for member in family:
            try:
                times = member.cpu_times()
                totals[kind_of(member)] += times.user + times.system
            except psutil.NoSuchProcess:
                continue
    return totals


def in_threads(count, work):
    """``work(thread_no)`` in ``count`` threads; wall seconds. The first
    error of any thread is raised once all have ended."""
    errors = []

    def guarded(number):
        try:
            work(number)
        except Exception as err:  # noqa: B902 -- re-raised below
            errors.append(err)
    threads = [threading.Thread(target=guarded, args=(n,), daemon=True)
               for n in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def _pieces(data):
    # Views, not slices: a slice would copy each MiB once more in the
    # client, whose CPU shares the machine with the cluster measured.
    view = memoryview(data)
    for start in range(0, len(data), PIECE):
        yield view[start:start + PIECE]


class Uploads:
    """64 MiB PUTs and GETs on one cluster through its storage URL."""

    def __init__(self, storage_url, token, pids, container='bench'):
        url = urlparse(storage_url)
        self.host, self.port = url.hostname, url.port
        self.base = '%s/%s/' % (url.path, container)
        self.token = token
        self.pids = pids
        self.data = os.urandom(LARGE)
        self.by_kind = {}

    def _request(self, method, name, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port,
                                          timeout=TIMEOUT)
        try:
            conn.request(method, self.base + name, body=body, headers=dict(
                headers or {}, **{'X-Auth-Token': self.token}))
            resp = conn.getresponse()
            # Read into one reused buffer: the client's share of the two
            # cores stays small (a fresh 1 MiB per read costs it more).
            buffer = bytearray(PIECE)
            got = 0
            while True:
                piece = resp.readinto(buffer)
                if not piece:
                    break
                got += piece
            return resp.status, got
        finally:
            conn.close()

    def put(self, name):
        status, _ = self._request('PUT', name, _pieces(self.data),
                                  {'Content-Length': str(LARGE)})
        if status != 201:
            raise RuntimeError('64 MiB PUT %s answered %d' % (name, status))

    def get(self, name):
        status, got = self._request('GET', name)
        if status != 200 or got != LARGE:
            raise RuntimeError('64 MiB GET %s: %d with %d bytes'
                               % (name, status, got))

    def delete(self, name):
        self._request('DELETE', name)

    def _timed(self, work, names, streams, label):
        """(MB/s, server CPU ms per MB) of ``work`` over ``names``; the
        CPU ms per MB of each process kind, and of this benchmark's own
        client, go to ``self.by_kind[label]``."""
        todo = list(names)
        lock = threading.Lock()

        def stream(_number):
            while True:
                with lock:
                    if not todo:
                        return
                    name = todo.pop()
                work(name)
        me = psutil.Process()
        cpu_before, client_before = cpu_by_kind(self.pids), me.cpu_times()
        seconds = in_threads(streams, stream)
        cpu, client_after = cpu_by_kind(self.pids), me.cpu_times()
        cpu.subtract(cpu_before)
        megabytes = len(names) * LARGE / 1e6
        kinds = {kind: used * 1e3 / megabytes for kind, used in cpu.items()
                 if used > 0}
        kinds['(bench client)'] = (
            client_after.user + client_after.system - client_before.user -
            client_before.system) * 1e3 / megabytes
        self.by_kind[label] = kinds
        return megabytes / seconds, sum(cpu.values()) * 1e3 / megabytes

    def measure(self, count, streams, label):
        """PUT and GET figures for ``count`` objects at ``streams``."""
        names = ['large-%d-%d' % (streams, n) for n in range(count)]
        put_rate, put_cpu = self._timed(self.put, names, streams,
                                        '%s PUT' % label)
        get_rate, get_cpu = self._timed(self.get, names, streams,
                                        '%s GET' % label)
        for name in names:
            self.delete(name)
        return {'%s PUT MB/s' % label: put_rate,
                '%s PUT CPU ms/MB' % label: put_cpu,
                '%s GET MB/s' % label: get_rate,
                '%s GET CPU ms/MB' % label: get_cpu}


def _write_replica(path, data):
    """Write ``data`` to ``path`` the way an object server stores one
    replica: space reserved up front, the body appended in network-sized
    pieces, writeback started every few MiB, fsynced at the end."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.posix_fallocate(fd, 0, len(data))
        view = memoryview(data)
        written = flushed = 0
        while written < len(data):
            written += os.write(fd, view[written:written + REPLICA_PIECE])
            if written - flushed >= REPLICA_WRITEBACK:
                start_writeback(fd, flushed, written - flushed)
                flushed = written
        os.fsync(fd)
    finally:
        os.close(fd)


def replica_write_limit(directory, count, streams, replicas=REPLICAS):
    """Client MB/s the disk under ``directory`` allows for ``count``
    objects of 64 MiB uploaded over ``streams`` streams, each kept as
    ``replicas`` fsynced copies.

    A cluster writes the replicas of one upload at once, so the disk sees
    ``replicas`` writers per stream: ``streams * replicas`` threads write
    the ``count * replicas`` copies (each as a replica is written, see
    _write_replica); the limit is the bytes written per second divided by
    ``replicas``. One writer per stream would understate what the disk
    takes from parallel writers.
    """
    target = os.path.join(directory, 'write-limit')
    os.makedirs(target, exist_ok=True)
    data = os.urandom(LARGE)
    files = count * replicas
    todo = list(range(files))
    lock = threading.Lock()

    def writer(_number):
        while True:
            with lock:
                if not todo:
                    return
                number = todo.pop()
            _write_replica(os.path.join(target, 'copy-%d' % number), data)
    try:
        seconds = in_threads(streams * replicas, writer)
    finally:
        for number in range(files):
            try:
                os.unlink(os.path.join(target, 'copy-%d' % number))
            except FileNotFoundError:
                pass
        os.rmdir(target)
    return files * LARGE / 1e6 / seconds / replicas


def large_figures(cluster, storage_url, token, count, streams_list=(1, 4),
                  by_kind=None):
    """Every 64 MiB figure of one cluster: per stream count the write
    limit measured just before, PUT/GET MB/s, CPU per MB and PUT as % of
    the limit. ``by_kind``, a dict, receives the CPU ms per MB of each
    process kind per phase (Uploads._timed)."""
    uploads = Uploads(storage_url, token, cluster.pids())
    if by_kind is not None:
        uploads.by_kind = by_kind
    figures = {}
    for streams in streams_list:
        label = '64MiB x%d' % streams
        objects = max(count, streams)
        limit = replica_write_limit(cluster.root, objects, streams)
        figures['%s limit MB/s' % label] = limit
        measured = uploads.measure(objects, streams, label)
        figures.update(measured)
        figures['%s PUT %% of limit' % label] = \
            100.0 * measured['%s PUT MB/s' % label] / limit
        figures['%s PUT CPU ceiling MB/s' % label] = cpu_ceiling(
            measured['%s PUT CPU ms/MB' % label] +
            uploads.by_kind['%s PUT' % label]['(bench client)'])
    return figures


def cpu_ceiling(cpu_ms_per_mb):
    """MB/s of work costing ``cpu_ms_per_mb`` on all this process's cores.

    >>> cpu_ceiling(5.0) == len(os.sched_getaffinity(0)) * 200.0
    True
    """
    return len(os.sched_getaffinity(0)) * 1e3 / cpu_ms_per_mb


def _storage_login(auth_url, user):
    """(storage URL, token) of ``user`` from a tempauth ``auth_url``."""
    url = urlparse(auth_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request('GET', url.path, headers={
            'X-Auth-User': '%s:%s' % (user.account, user.user),
            'X-Auth-Key': user.key})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError('auth answered %d' % resp.status)
        return resp.getheader('X-Storage-Url'), resp.getheader('X-Auth-Token')
    finally:
        conn.close()


def _make_container(storage_url, token, container='bench'):
    url = urlparse(storage_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request('PUT', '%s/%s' % (url.path, container),
                     headers={'X-Auth-Token': token})
        resp = conn.getresponse()
        resp.read()
        if resp.status not in (201, 202):
            raise RuntimeError('container PUT answered %d' % resp.status)
    finally:
        conn.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--swift', action='store_true',
                        help='measure upstream Swift instead of objstore')
    parser.add_argument('--count', type=int, default=2,
                        help='64 MiB objects per stream count')
    parser.add_argument('--streams', type=int, nargs='+', default=[1, 4])
    args = parser.parse_args(argv)
    ensure_memcached()
    if args.swift:
        ensure_swift_venv()
    cluster = SwiftCluster() if args.swift else ObjstoreCluster()
    try:
        auth_url = cluster.start()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                storage_url, token = _storage_login(auth_url, BENCH_USERS[0])
                break
            except (OSError, RuntimeError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        _make_container(storage_url, token)
        by_kind = {}
        figures = large_figures(cluster, storage_url, token, args.count,
                                tuple(args.streams), by_kind)
    finally:
        cluster.stop()
    for name, value in figures.items():
        print('%-28s %10.1f' % (name, value))
    print('\nCPU ms per MB by process kind')
    for phase, kinds in by_kind.items():
        print('  %s: %s' % (phase, ', '.join(
            '%s %.2f' % pair for pair in sorted(
                kinds.items(), key=lambda pair: -pair[1]) if pair[1] >= 0.01)))


if __name__ == '__main__':
    main()
