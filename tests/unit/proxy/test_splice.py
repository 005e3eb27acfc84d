"""A large object GET relayed by splice: the proxy (scripted backends on
real sockets) served by the HTTP server, read by a raw client socket.

The body must arrive whole and unchanged whether it goes socket to socket
(green.splice) or through Python: when a backend dies mid-stream (resumed
from another node), when the client goes away (the backend connection is
closed, never pooled), and when a middleware changes the bytes (no splice).
"""

import hashlib
import os
import socket

import pytest

from objstore.common import green
from objstore.common.wsgi import serve_in_thread
from tests.unit.proxy.test_scripted import as_owner, call, make_container

SIZE = 6 * 1024 * 1024
BREAK_AT = 3 * 1024 * 1024 + 12345
# A body longer than loopback's socket buffers can take in.
LONG = 8 * SIZE


@pytest.fixture
def spliced(monkeypatch):
    """The bytes each green.splice call was asked to move (it still moves
    them)."""
    calls = []
    real = green.splice

    def counting(src, dst, length):
        calls.append(length)
        return real(src, dst, length)
    monkeypatch.setattr(green, 'splice', counting)
    return calls


def owner_pipeline(app):
    """The proxy app as an auth middleware would leave it for the owner;
    the body passes through untouched."""
    def authorized(environ, start_response):
        environ['swift.authorize'] = as_owner
        return app(environ, start_response)
    return authorized


def upper_case(app):
    """A middleware that changes every chunk of the body."""
    def changed(environ, start_response):
        return (chunk.upper() for chunk in app(environ, start_response))
    return changed


@pytest.fixture
def served(scripted):
    """(proxy served over HTTP, the object's body, its ETag)."""
    make_container(scripted)
    body = os.urandom(SIZE)
    call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=body)
    server = serve_in_thread(owner_pipeline(scripted.app))
    yield server, body, hashlib.md5(body).hexdigest()
    server.stop()


def raw_get(server, path='/v1/AUTH_a/c/o', read_limit=None):
    """(head bytes, body bytes) of a GET; the body read to the end of the
    connection, or only ``read_limit`` bytes of it."""
    sock = socket.create_connection((server.host, server.port), timeout=10)
    try:
        sock.sendall(b'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
                     b'\r\n' % path.encode())
        data = bytearray()
        while read_limit is None or len(data) < read_limit:
            piece = sock.recv(1 << 20)
            if not piece:
                break
            data += piece
    finally:
        sock.close()
    head, _, body = bytes(data).partition(b'\r\n\r\n')
    return head, body


def test_large_get_goes_out_by_splice_whole(served, spliced):
    server, body, _etag = served
    head, got = raw_get(server)
    assert head.startswith(b'HTTP/1.1 200')
    assert b'Content-Length: %d' % SIZE in head
    assert got == body
    # The first chunk goes through Python (the server takes the offer on
    # seeing it); every byte after it by splice.
    assert len(spliced) == 1 and SIZE - 1024 * 1024 < spliced[0] < SIZE


def test_backend_dying_mid_splice_resumes_from_another_node(
        scripted, served, spliced):
    server, body, etag = served
    _part, primaries, _ = scripted.nodes('object', 'AUTH_a', 'c', 'o')
    ranges = []

    def dies_mid_body(method, path, headers):
        if method != 'GET' or len(path.split('/', 5)) < 6:
            return None
        if 'range' in headers:
            ranges.append((headers['range'], headers.get('if-match')))
            return None

        def part_then_die():
            yield body[:BREAK_AT]
            raise IOError('disk went away')
        return 200, {'Content-Length': str(SIZE), 'Etag': etag,
                     'X-Backend-Timestamp': '1'}, part_then_die()
    for node in primaries:
        scripted.backend_of(node).override = dies_mid_body
    head, got = raw_get(server)
    assert head.startswith(b'HTTP/1.1 200')
    assert len(got) == SIZE and got == body
    assert ranges == [('bytes=%d-' % BREAK_AT, etag)]
    # Two splices: the first node's until it died, the resumed answer's.
    assert len(spliced) == 2


def test_client_gone_mid_splice_closes_the_backend_connection(
        scripted, served, spliced):
    server, body, etag = served
    _part, primaries, _ = scripted.nodes('object', 'AUTH_a', 'c', 'o')
    ended = []

    def watched_body(method, path, headers):
        if method != 'GET' or len(path.split('/', 5)) < 6:
            return None

        def pieces():
            # Ends early (GeneratorExit, a failed send) only when the proxy
            # drops the connection: a pooled one would hold it open. The
            # body is far more than the socket buffers between them hold.
            try:
                for _ in range(LONG // SIZE):
                    for start in range(0, SIZE, 65536):
                        yield body[start:start + 65536]
            except BaseException:
                ended.append('dropped')
                raise
            ended.append('sent whole')
        return 200, {'Content-Length': str(LONG), 'Etag': etag,
                     'X-Backend-Timestamp': '1'}, pieces()
    for node in primaries:
        scripted.backend_of(node).override = watched_body
    head, got = raw_get(server, read_limit=2 * 1024 * 1024)
    assert head.startswith(b'HTTP/1.1 200') and body.startswith(got)
    for _ in range(100):
        if ended:
            break
        green.sleep(0.05)
    assert ended == ['dropped'] and spliced
    for node in primaries:
        scripted.backend_of(node).override = None
    # The proxy still answers: the next GET is whole.
    assert raw_get(server)[1] == body


def test_middleware_changing_bytes_gets_no_splice(scripted, spliced):
    make_container(scripted)
    body = os.urandom(SIZE).hex().encode()[:SIZE]
    call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=body)
    server = serve_in_thread(upper_case(owner_pipeline(scripted.app)))
    try:
        head, got = raw_get(server)
    finally:
        server.stop()
    assert head.startswith(b'HTTP/1.1 200')
    assert got == body.upper()
    assert spliced == []
