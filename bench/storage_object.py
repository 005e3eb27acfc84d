"""Object-server benchmark: PUT/GET rates against the disk's own limit.

Not a test. Starts a real object server process (``objstore-server``,
``workers`` configurable) on a temp device, then measures:

- 4 KiB objects: PUT and GET operations per second at ``--concurrency``
  keep-alive connections;
- 64 MiB objects: PUT and GET MB/s, one at a time;

and the same work done directly on the same filesystem as the physical
peer: for PUT, create + write + fsync + close of the same bytes (what
``dd conv=fsync`` does), for GET a plain read of those files (mostly from
the page cache, as the server's reads are) and, for large objects, a read
that also computes the MD5 a full GET verifies. It prints each figure and
the ratio server / peer.

    python bench/storage_object.py [--quick] [--dir /tmp] [--workers 2]
"""

import argparse
import hashlib
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

SMALL = 4096
LARGE = 64 * 1024 * 1024
PIECE = 1024 * 1024


def add_arguments(parser):
    parser.add_argument('--quick', action='store_true',
                        help='fewer and smaller objects, for a smoke run')
    parser.add_argument('--dir', default=tempfile.gettempdir(),
                        help='directory on the disk to measure')
    parser.add_argument('--concurrency', type=int, default=16)
    parser.add_argument('--small-count', type=int, default=None,
                        help='number of 4 KiB objects (default 3000)')
    parser.add_argument('--large-count', type=int, default=None,
                        help='number of 64 MiB objects (default 4)')
    parser.add_argument('--workers', type=int, default=1,
                        help='object server worker processes')
    parser.add_argument('--sync-in-threads', default='true',
                        help='the server option of that name')


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class ServerUnderTest:
    """A real object-server process on a temp device."""

    def __init__(self, root, workers, sync_in_threads='true'):
        self.root = root
        self.port = _free_port()
        os.makedirs(os.path.join(root, 'devices', 'sda'))
        with open(os.path.join(root, 'objstore.conf'), 'w') as conf:
            conf.write('[objstore-hash]\npath_hash_suffix = bench\n')
        self.conf_path = os.path.join(root, 'object-server.conf')
        with open(self.conf_path, 'w') as conf:
            conf.write('\n'.join([
                '[DEFAULT]', 'devices = %s/devices' % root,
                'mount_check = false', 'bind_ip = 127.0.0.1',
                'bind_port = %d' % self.port, 'workers = %d' % workers,
                'conf_dir = %s' % root, 'log_level = WARNING',
                'sync_in_threads = %s' % sync_in_threads, '',
                '[pipeline:main]', 'pipeline = object-server', '',
                '[app:object-server]', 'use = egg:objstore#object', '']))
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'objstore.cli.server', self.conf_path],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self._wait_listening()

    def _wait_listening(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(('127.0.0.1', self.port), 0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError('object server exited')
                time.sleep(0.05)
        raise RuntimeError('object server did not start')

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


class Client:
    """One keep-alive connection to the server under test."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
        self.conn.connect()
        # As the proxy's backend client does: without it, a body sent after
        # its headers waits for a delayed ACK (40 ms) on small PUTs.
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @staticmethod
    def path(name):
        # Spread objects over partitions as a ring would (the partition only
        # names a directory here; the server does not check it).
        return '/sda/%d/bench/c/%s' % (hash(name) % 1024, name)

    def put(self, name, body):
        self.conn.request('PUT', self.path(name), body=body,
                          headers={'X-Timestamp': '%.5f' % time.time(),
                                   'Content-Length': str(len(body)),
                                   'Content-Type': 'application/octet-stream'})
        resp = self.conn.getresponse()
        resp.read()
        if resp.status != 201:
            raise RuntimeError('PUT %s: %d' % (name, resp.status))

    def get(self, name, expected_length):
        self.conn.request('GET', self.path(name))
        resp = self.conn.getresponse()
        got = 0
        while True:
            chunk = resp.read(PIECE)
            if not chunk:
                break
            got += len(chunk)
        if resp.status != 200 or got != expected_length:
            raise RuntimeError('GET %s: %d, %d bytes' % (name, resp.status,
                                                         got))

    def close(self):
        self.conn.close()


def run_concurrently(concurrency, count, work):
    """Call work(worker_state, i) for i in range(count) on ``concurrency``
    threads; returns the elapsed seconds."""
    counter = iter(range(count))
    lock = threading.Lock()
    errors = []

    def worker(state):
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            try:
                work(state, index)
            except Exception as err:  # noqa: B902 -- reported below
                errors.append(err)
                return

    states = [{} for _ in range(concurrency)]
    threads = [threading.Thread(target=worker, args=(s,)) for s in states]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    for state in states:
        if 'client' in state:
            state['client'].close()
    if errors:
        raise errors[0]
    return elapsed


def _client(state, port):
    if 'client' not in state:
        state['client'] = Client(port)
    return state['client']


def fsync_write(path, data):
    """The physical peer of one PUT: create, write, fsync, close."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view[:PIECE]):]
        os.fsync(fd)
    finally:
        os.close(fd)


def plain_read(path, digest=None):
    with open(path, 'rb') as src:
        while True:
            data = src.read(PIECE)
            if not data:
                return
            if digest is not None:
                digest.update(data)


def bench_small(server, peer_dir, count, concurrency):
    body = os.urandom(SMALL)
    put_s = run_concurrently(concurrency, count, lambda st, i: _client(
        st, server.port).put('small-%d' % i, body))
    get_s = run_concurrently(concurrency, count, lambda st, i: _client(
        st, server.port).get('small-%d' % i, SMALL))
    write_s = run_concurrently(concurrency, count, lambda st, i: fsync_write(
        os.path.join(peer_dir, 'small-%d' % i), body))
    read_s = run_concurrently(concurrency, count, lambda st, i: plain_read(
        os.path.join(peer_dir, 'small-%d' % i)))
    return {'put_ops': count / put_s, 'get_ops': count / get_s,
            'peer_write_ops': count / write_s, 'peer_read_ops': count / read_s}


def bench_large(server, peer_dir, count):
    body = os.urandom(LARGE)
    mb = LARGE * count / 1e6
    client = Client(server.port)
    try:
        started = time.monotonic()
        for i in range(count):
            client.put('large-%d' % i, body)
        put_s = time.monotonic() - started
        started = time.monotonic()
        for i in range(count):
            client.get('large-%d' % i, LARGE)
        get_s = time.monotonic() - started
    finally:
        client.close()
    started = time.monotonic()
    for i in range(count):
        fsync_write(os.path.join(peer_dir, 'large-%d' % i), body)
    write_s = time.monotonic() - started
    started = time.monotonic()
    for i in range(count):
        plain_read(os.path.join(peer_dir, 'large-%d' % i))
    read_s = time.monotonic() - started
    # A full GET verifies the MD5 as it streams; this peer shows that cost.
    started = time.monotonic()
    for i in range(count):
        plain_read(os.path.join(peer_dir, 'large-%d' % i),
                   hashlib.md5(usedforsecurity=False))
    read_md5_s = time.monotonic() - started
    return {'put_mbs': mb / put_s, 'get_mbs': mb / get_s,
            'peer_write_mbs': mb / write_s, 'peer_read_mbs': mb / read_s,
            'peer_read_md5_mbs': mb / read_md5_s}


def _line(label, value, peer, unit):
    print('%-34s %10.1f %-5s  peer %10.1f %-5s  ratio %.2f'
          % (label, value, unit, peer, unit, value / peer), flush=True)


def run(args):
    """Run the benchmark; prints the figures and returns them as a dict."""
    quick = getattr(args, 'quick', False)
    small_count = getattr(args, 'small_count', None) or (300 if quick
                                                         else 3000)
    large_count = getattr(args, 'large_count', None) or (1 if quick else 4)
    concurrency = getattr(args, 'concurrency', 16)
    root = tempfile.mkdtemp(prefix='objbench-',
                            dir=getattr(args, 'dir', None))
    peer_dir = os.path.join(root, 'peer')
    os.makedirs(peer_dir)
    server = ServerUnderTest(root, getattr(args, 'workers', 1),
                             getattr(args, 'sync_in_threads', 'true'))
    try:
        print('object server: %d worker(s), data in %s'
              % (getattr(args, 'workers', 1), root), flush=True)
        small = bench_small(server, peer_dir, small_count, concurrency)
        large = bench_large(server, peer_dir, large_count)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print('4 KiB objects x %d, concurrency %d:' % (small_count, concurrency))
    _line('  PUT (vs write+fsync)', small['put_ops'],
          small['peer_write_ops'], 'ops/s')
    _line('  GET (vs plain read)', small['get_ops'], small['peer_read_ops'],
          'ops/s')
    print('64 MiB objects x %d, one at a time:' % large_count)
    _line('  PUT (vs write+fsync)', large['put_mbs'],
          large['peer_write_mbs'], 'MB/s')
    _line('  GET (vs plain read)', large['get_mbs'], large['peer_read_mbs'],
          'MB/s')
    _line('  GET (vs read + MD5)', large['get_mbs'],
          large['peer_read_md5_mbs'], 'MB/s')
    return {'small': small, 'large': large}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args, _unknown = parser.parse_known_args(argv)
    run(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
