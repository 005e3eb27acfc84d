"""A 64 MiB GET on a real aio cluster whose object server is killed
(SIGKILL) while it sends: the proxy, relaying the body socket to socket
(green.splice), goes on from another primary with a Range, and the client
gets the whole body, byte for byte, on its one connection."""

import hashlib
import http.client
import os
import signal
from urllib.parse import urlparse

import psutil

from tests.helpers import node_of, wait_for

SIZE = 64 * 1024 * 1024
# What the client reads before the kill: far less than the object, so
# most of it is still on the killed server (the socket buffers between
# it and the client hold a few MiB).
READ_FIRST = 4 * 1024 * 1024


def read_chars(cluster, node):
    """Bytes the object server of ``node`` (and its workers) has read:
    the one sending the object reads it (the MD5 check) as it sends."""
    child = cluster.aio.supervisor.children['object-server-%d' % node]
    total = 0
    try:
        proc = psutil.Process(child.proc.pid)
        for member in [proc] + proc.children(recursive=True):
            total += member.io_counters().read_chars
    except psutil.NoSuchProcess:
        pass
    return total


def test_object_server_killed_mid_get_is_resumed_from_another(cluster):
    storage_url, token = cluster.get_token()
    url = urlparse(storage_url)
    body = os.urandom(SIZE)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.request('PUT', url.path + '/resume', headers={
            'X-Auth-Token': token})
        assert conn.getresponse().read() is not None
        conn.request('PUT', url.path + '/resume/big', body=body, headers={
            'X-Auth-Token': token, 'Content-Length': str(SIZE)})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 201
        account = url.path.rsplit('/', 1)[-1]
        _part, primaries = cluster.ring('object').get_nodes(
            account, 'resume', 'big')
        nodes = [node_of(dev) for dev in primaries]
        before = {node: read_chars(cluster, node) for node in nodes}

        conn.request('GET', url.path + '/resume/big', headers={
            'X-Auth-Token': token})
        resp = conn.getresponse()
        assert resp.status == 200
        first = resp.read(READ_FIRST)

        def serving():
            grown = {node: read_chars(cluster, node) - before[node]
                     for node in nodes}
            node = max(grown, key=grown.get)
            return node if grown[node] >= 2 * READ_FIRST else None
        killed = wait_for(serving)
        assert killed is not None
        cluster.aio.supervisor.hold('object-server-%d' % killed,
                                    signal.SIGKILL)
        try:
            rest = resp.read()
        finally:
            cluster.start_node('object', killed)
    finally:
        conn.close()
    got = first + rest
    assert len(got) == SIZE
    assert hashlib.md5(got).hexdigest() == hashlib.md5(body).hexdigest()
