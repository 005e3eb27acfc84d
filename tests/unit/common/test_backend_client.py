"""backend_client against a real WSGI server on a loopback port: pooling,
streaming bodies, Expect: 100-continue PUTs (accepted and refused),
timeouts, dead ports and stale pooled connections."""

import socket

import pytest

from objstore.common import green
from objstore.common.backend_client import (
    BackendClient, ConnectionPool, direct_request)
from objstore.common.exceptions import ChunkReadTimeout
from objstore.common.wsgi import serve_in_thread


def _app(environ, start_response):
    path = environ['PATH_INFO']
    if path == '/slow':
        green.sleep(1.0)
    if path == '/refuse':
        start_response('507 Insufficient Storage',
                       [('Content-Length', '0')])
        return [b'']
    body = environ['wsgi.input'].read() if environ['REQUEST_METHOD'] in (
        'PUT', 'POST') else b''
    if path == '/big':
        payload = b'x' * 200000
    else:
        payload = ('%s %s %s %s' % (
            environ['REQUEST_METHOD'], path, environ['REMOTE_PORT'],
            len(body))).encode() + b'|' + body
    start_response('200 OK', [('Content-Length', str(len(payload))),
                              ('X-Seen-Expect',
                               environ.get('HTTP_EXPECT', '-'))])
    return [payload]


@pytest.fixture
def server():
    handle = serve_in_thread(_app)
    yield handle
    handle.stop()


def test_direct_request_roundtrip(server):
    status, headers, body = direct_request(
        '127.0.0.1', server.port, 'PUT', '/a b/c', body=b'hello')
    assert status == 200
    assert body.startswith(b'PUT /a b/c ') and body.endswith(b'5|hello')
    assert headers['content-length'] == str(len(body))


def test_pool_reuses_connection(server):
    client = BackendClient(node_timeout=2)
    ports = set()
    for _ in range(3):
        status, _h, body = client.request_full('127.0.0.1', server.port,
                                               'GET', '/x')
        assert status == 200
        ports.add(body.split()[2])
    assert len(ports) == 1
    client.pool.close_all()


def test_unread_body_is_not_pooled(server):
    client = BackendClient(node_timeout=2)
    resp = client.request('127.0.0.1', server.port, 'GET', '/big')
    assert len(resp.read(1000)) == 1000
    resp.close()
    assert client.pool.take('127.0.0.1', server.port) is None


def test_streaming_read(server):
    client = BackendClient(node_timeout=2)
    resp = client.request('127.0.0.1', server.port, 'GET', '/big')
    got = b''
    while True:
        chunk = resp.read(65536)
        if not chunk:
            break
        got += chunk
    assert got == b'x' * 200000
    assert client.pool.take('127.0.0.1', server.port) is not None


@pytest.mark.parametrize('chunked', [True, False])
def test_put_with_continue(server, chunked):
    client = BackendClient(node_timeout=2)
    headers = {} if chunked else {'Content-Length': '10'}
    put = client.start_put('127.0.0.1', server.port, '/o', headers, chunked)
    assert put.continued and put.final is None
    put.send(b'01234')
    put.send(b'56789')
    resp = put.finish()
    assert resp.status == 200
    assert resp.headers['x-seen-expect'] == '100-continue'
    assert resp.read().endswith(b' 10|0123456789')


def test_put_refused_gets_final_answer(server):
    client = BackendClient(node_timeout=2)
    put = client.start_put('127.0.0.1', server.port, '/refuse',
                           {'Content-Length': '5'}, False)
    assert not put.continued
    assert put.final.status == 507
    put.final.read()
    assert client.pool.take('127.0.0.1', server.port) is None


def test_node_timeout(server):
    client = BackendClient(node_timeout=0.2)
    with pytest.raises(ChunkReadTimeout):
        client.request('127.0.0.1', server.port, 'GET', '/slow')


def test_dead_port_raises_oserror():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    client = BackendClient(conn_timeout=0.5)
    with pytest.raises(OSError):
        client.request('127.0.0.1', port, 'GET', '/x')


def test_stale_pooled_connection_is_retried():
    first = serve_in_thread(_app)
    port = first.port
    client = BackendClient(node_timeout=2)
    assert client.request_full('127.0.0.1', port, 'GET', '/x')[0] == 200
    first.stop()
    second = serve_in_thread(_app, port=port)
    try:
        assert client.request_full('127.0.0.1', port, 'GET', '/y')[0] == 200
    finally:
        second.stop()


def test_pool_limits_idle_connections():
    pool = ConnectionPool(max_idle_per_host=1)

    class FakeConn:
        sock = object()
        closed = False

        def close(self):
            self.closed = True
    a, b = FakeConn(), FakeConn()
    pool.give_back('h', 1, a)
    pool.give_back('h', 1, b)
    assert b.closed and not a.closed
    assert pool.take('h', 1) is a
    assert pool.take('h', 1) is None
