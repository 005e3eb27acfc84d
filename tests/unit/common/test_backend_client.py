"""backend_client against a real WSGI server on a loopback port: pooling,
streaming bodies, Expect: 100-continue PUTs (accepted and refused),
timeouts, dead ports, stale pooled connections and messages with as many
header lines as the largest legal metadata needs."""

import http.client
import io
import re
import socket
import threading
import time

import pytest

from objstore.common import green
from objstore.common.backend_client import (
    BackendClient, ConnectionPool, ResponseHeaders, direct_request,
    parse_header_lines, request_message)
from objstore.common.constraints import MAX_HEADER_COUNT
from objstore.common.exceptions import ChunkReadTimeout, ConnectionTimeout
from objstore.common.http import read_header_lines
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


@pytest.mark.parametrize('method', ['HEAD', 'GET'])
def test_answer_without_body_bytes_is_pooled_unread(server, method):
    client = BackendClient(node_timeout=2)
    path = '/refuse' if method == 'GET' else '/x'   # a GET of 0 bytes
    response = client.request('127.0.0.1', server.port, method, path)
    assert response.status in (200, 507)
    response.close()
    assert client.pool.take('127.0.0.1', server.port) is not None
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


def test_pooled_direct_request_answers_as_direct_request_does(server):
    client = BackendClient(node_timeout=5)
    answers = [client.direct_request('127.0.0.1', server.port, 'PUT',
                                     '/a b/c', body=b'hello')
               for _ in range(2)]
    status, headers, body = direct_request('127.0.0.1', server.port, 'PUT',
                                           '/a b/c', body=b'hello')
    for got_status, got_headers, got_body in answers:
        assert got_status == status == 200
        assert set(got_headers) == set(headers)
        assert got_body.endswith(b'5|hello')
    # Both went over one kept-alive connection (same client port).
    assert answers[0][2].split()[3] == answers[1][2].split()[3]
    client.pool.close_all()


def test_pooled_direct_request_keeps_the_callers_node_timeout(server):
    client = BackendClient(node_timeout=30)
    started = time.monotonic()
    with pytest.raises(ChunkReadTimeout):
        client.direct_request('127.0.0.1', server.port, 'GET', '/slow',
                              node_timeout=0.2)
    assert time.monotonic() - started < 0.9


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


def _echo_meta_app(environ, start_response):
    """Answers with every X-Object-Meta-* header of the request."""
    meta = [(key[5:].replace('_', '-').title(), value)
            for key, value in environ.items()
            if key.startswith('HTTP_X_OBJECT_META_')]
    start_response('200 OK', [('Content-Length', '0')] + meta)
    return [b'']


def test_as_many_header_lines_as_allowed_cross_both_ways(monkeypatch):
    # Start from the stdlib's limit (100), whatever ran before in this
    # process: the server and the client must raise it themselves.
    monkeypatch.setattr(http.client, '_MAXHEADERS', 100)
    handle = serve_in_thread(_echo_meta_app)
    try:
        meta = {'X-Object-Meta-K%03d' % i: 'v%d' % i
                for i in range(MAX_HEADER_COUNT - 10)}
        status, headers, _ = direct_request(
            '127.0.0.1', handle.port, 'GET', '/o', headers=meta)
    finally:
        handle.stop()
    assert status == 200
    assert {k: headers[k.lower()] for k in meta} == meta


@pytest.fixture
def stalling_server():
    """Reads a request's headers, sends part of a 100 line, then stalls."""
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    accepted = []

    def serve():
        conn, _ = listener.accept()
        accepted.append(conn)
        received = b''
        while b'\r\n\r\n' not in received:
            received += conn.recv(4096)
        conn.sendall(b'HTTP/1.1 10')

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    thread.join(5)
    for conn in accepted:
        conn.close()
    listener.close()


def test_partial_continue_line_times_out(stalling_server):
    client = BackendClient(node_timeout=0.3)
    outcome = []

    def put():
        started = time.monotonic()
        try:
            client.start_put('127.0.0.1', stalling_server, '/o',
                             {'Content-Length': '1'}, False)
        except ConnectionTimeout as err:
            outcome.append((err, time.monotonic() - started))

    thread = threading.Thread(target=put, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), 'start_put still waiting after 5 s'
    (err, waited), = outcome
    assert '100-continue' in str(err)
    assert waited < 2


HEADER_BLOCKS = (
    b'Content-Length: 3\r\nX-Object-Meta-A:  spaced value \r\n'
    b'Content-Type: text/plain\r\n\r\n',
    b'X-Dup: one\r\nx-dup: two\r\nEmpty:\r\nTabbed:\tv\r\n\r\n',
    b'Bare-Newlines: yes\nOther: \xe9t\xe9\n\n',
    # Folded and colon-less lines: the email parser's own business.
    b'Folded: first\r\n  second\r\nAfter: x\r\n\r\n',
    b'No colon here\r\nName: v\r\n\r\n',
)


@pytest.mark.parametrize('block', HEADER_BLOCKS)
def test_header_lines_parse_as_http_client_parses_them(block):
    expected = http.client.parse_headers(io.BytesIO(block))
    parsed = parse_header_lines(read_header_lines(io.BytesIO(block)))
    assert parsed.items() == expected.items()
    for name in ('content-length', 'X-DUP', 'folded', 'missing', 'name'):
        assert parsed.get(name) == expected.get(name)
        assert parsed.get_all(name) == expected.get_all(name)


def test_answers_are_parsed_without_the_email_parser(server):
    """Every backend answer skips http.client's email-based header parser
    (a tenth of the proxy's CPU per HEAD); its headers still arrive."""
    client = BackendClient()
    response = client.request('127.0.0.1', server.port, 'GET', '/x')
    assert isinstance(response._response.msg, ResponseHeaders)
    body = response.read()
    assert response.status == 200
    assert response.headers['content-length'] == str(len(body))
    assert response.headers['x-seen-expect'] == '-'


def test_request_message_refuses_line_breaks_as_http_client_does():
    folded = {'X-A': 'v\r\n folded continuation'}
    assert request_message('GET', '/', 'h:1', folded).endswith(
        b'X-A: v\r\n folded continuation\r\n\r\n')
    for headers in ({'X-A': 'v\r\nX-Injected: 1'}, {'X-A\n': 'v'},
                    {'X:A': 'v'}, {'X-A': 'v\rX'}):
        with pytest.raises(ValueError):
            request_message('GET', '/d/1/a', 'h:1', headers)
        conn = http.client.HTTPConnection('127.0.0.1', 1)
        with pytest.raises(ValueError):
            conn.putrequest('GET', '/')
            for name, value in headers.items():
                conn.putheader(name, value)



@pytest.mark.parametrize('name', [
    'X-A', '', ' X-A', '\tX', 'X A', 'X-A ', ':X', 'X:', 'X\rA', 'X\nA',
    '\x0bX', '\x1cX', '\u2003X', '\x85X', 'X\x85', 'Content-Length', '\xe9t\xe9'])
def test_request_message_takes_the_names_http_client_takes(name):
    """The name check is http.client's ``_is_legal_header_name`` rule
    (a token of no ':' nor line break, not starting blank) spelled out."""
    legal = re.match(r'\A[^:\s][^:\r\n]*\Z', name) is not None
    try:
        request_message('GET', '/', 'h:1', {name: 'v'})
    except ValueError:
        assert not legal
    else:
        assert legal


def test_small_requests_go_out_as_one_message(server, monkeypatch):
    """A backend request is written whole, without http.client's header by
    header building; the server sees the same request."""
    monkeypatch.setattr(http.client.HTTPConnection, 'putheader',
                        lambda *_a: pytest.fail('built by http.client'))
    client = BackendClient()
    status, headers, body = client.request_full(
        '127.0.0.1', server.port, 'PUT', '/a b/c', {'X-Seen': 1}, b'hello')
    assert status == 200
    assert body.startswith(b'PUT /a b/c ') and body.endswith(b' 5|hello')
    status, _headers, body = client.request_full(
        '127.0.0.1', server.port, 'POST', '/p')
    assert status == 200 and body.endswith(b' 0|')
