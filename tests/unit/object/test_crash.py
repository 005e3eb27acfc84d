"""Crash safety with a real server process killed by SIGKILL mid-PUT.

The server is ``python -m objstore.cli.server <conf>`` (workers = 0, so the
process we kill is the one writing). A PUT is streamed slowly; once the
server is provably writing the body into tmp/, it is SIGKILLed. After a
restart the old object (or a 404 when there was none) must be served
intact and no partial .data may exist in the object tree.
"""

import hashlib
import os
import socket
import time

import pytest

from objstore.common.timestamp import Timestamp
from tests.helpers import wait_for
from tests.unit.object.conftest import (
    ServerProcess, object_files, opath, tmp_files)

BIG = 32 * 1024 * 1024
@pytest.fixture(params=['false', 'true'])
def server_process(request, tmp_path):
    """A server process; with and without writes in eventlet's thread
    pool (``sync_in_threads``), whose path only a real server's main
    thread takes."""
    server = ServerProcess(tmp_path, sync_in_threads=request.param)
    server.start()
    yield server, server.device_path
    server.kill()


def tmp_names(device_path):
    """The files in a device's tmp/ and its subdirs."""
    return set(tmp_files(device_path))


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
        assert wait_for(lambda: tmp_names(device_path) != before), (
            'server never wrote')
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
