"""Crash safety with a real server process killed by SIGKILL mid-PUT.

The server is ``python -m objstore.cli.server <conf>`` (workers = 0, so the
process we kill is the one writing). A PUT is streamed slowly; once the
server is provably writing the body into tmp/, it is SIGKILLed. After a
restart the old object (or a 404 when there was none) must be served
intact and no partial .data may exist in the object tree.
"""

import hashlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from objstore.common.timestamp import Timestamp
from tests.unit.object.conftest import object_files, opath

BIG = 32 * 1024 * 1024
START_TIMEOUT = 15


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class ServerProcess:
    def __init__(self, conf_path, port):
        self.conf_path, self.port = conf_path, port
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'objstore.cli.server', self.conf_path],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                socket.create_connection(('127.0.0.1', self.port), 0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError('object server exited with %s'
                                       % self.proc.returncode)
                time.sleep(0.05)
        raise RuntimeError('object server did not start')

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def request(self, method, path, headers=None, body=None):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()


@pytest.fixture(params=['false', 'true'])
def server_process(request, tmp_path):
    """A server process; with and without writes in eventlet's thread
    pool (``sync_in_threads``), whose path only a real server's main
    thread takes."""
    devices = tmp_path / 'devices'
    os.makedirs(devices / 'sda')
    (tmp_path / 'objstore.conf').write_text(
        '[objstore-hash]\npath_hash_suffix = crashtest\n')
    port = free_port()
    conf = tmp_path / 'object-server.conf'
    conf.write_text('\n'.join([
        '[DEFAULT]', 'devices = %s' % devices, 'mount_check = false',
        'bind_ip = 127.0.0.1', 'bind_port = %d' % port, 'workers = 0',
        'conf_dir = %s' % tmp_path, 'log_level = ERROR',
        'sync_in_threads = %s' % request.param, '',
        '[pipeline:main]', 'pipeline = object-server', '',
        '[app:object-server]', 'use = egg:objstore#object', '']))
    server = ServerProcess(str(conf), port)
    server.start()
    yield server, str(devices / 'sda')
    server.kill()


def tmp_names(device_path):
    try:
        return set(os.listdir(os.path.join(device_path, 'tmp')))
    except FileNotFoundError:
        return set()


def start_slow_put(server, path, timestamp):
    sock = socket.create_connection(('127.0.0.1', server.port), timeout=10)
    head = ('PUT %s HTTP/1.1\r\nHost: x\r\nX-Timestamp: %s\r\n'
            'Content-Length: %d\r\nExpect: 100-continue\r\n\r\n'
            % (path, timestamp, BIG))
    sock.sendall(head.encode())
    assert sock.recv(1024).startswith(b'HTTP/1.1 100')
    return sock


def kill_mid_put(server, device_path, path, timestamp):
    before = tmp_names(device_path)
    sock = start_slow_put(server, path, timestamp)
    try:
        # Send part of the body, wait for this PUT's temp file to appear
        # (the server is writing the body) and give it time to write what
        # it received; then kill it with most of the body still unsent.
        chunk = b'N' * (1024 * 1024)
        for _ in range(4):
            sock.sendall(chunk)
        deadline = time.monotonic() + 10
        while tmp_names(device_path) == before and \
                time.monotonic() < deadline:
            time.sleep(0.02)
        assert tmp_names(device_path) != before, 'server never wrote'
        time.sleep(0.2)
        server.kill()
    finally:
        sock.close()


def test_sigkill_mid_put_keeps_old_object(server_process):
    server, device_path = server_process
    old = os.urandom(3 * 1024 * 1024 + 17)
    stamp = Timestamp(time.time())
    status, _ = server.request('PUT', opath(), {
        'X-Timestamp': stamp.internal, 'Content-Length': str(len(old))}, old)
    assert status == 201
    kill_mid_put(server, device_path, opath(),
                 Timestamp(float(stamp) + 1).internal)
    server.start()
    kill_mid_put(server, device_path, opath('never-existed'),
                 Timestamp(float(stamp) + 1).internal)
    data_files = [f for f in object_files(device_path)
                  if f.endswith('.data')]
    assert [os.path.basename(f) for f in data_files] == [
        stamp.internal + '.data']
    server.start()
    status, body = server.request('GET', opath())
    assert status == 200
    assert hashlib.md5(body).hexdigest() == hashlib.md5(old).hexdigest()
    assert server.request('GET', opath('never-existed'))[0] == 404
