"""green.FileSpan: body bytes a WSGI app leaves the server to sendfile.

A real eventlet server on loopback (serve_in_thread) runs tiny apps that
yield spans of a tmp file, alone or between ordinary chunks.
"""

import http.client
import os

import pytest

from objstore.common import green
from objstore.common.wsgi import serve_in_thread

DATA = os.urandom(300000)


@pytest.fixture
def data_fd(tmp_path):
    path = tmp_path / 'data'
    path.write_bytes(DATA)
    fd = os.open(str(path), os.O_RDONLY)
    yield fd
    os.close(fd)


def serve(body_of):
    """A server whose app answers 200 with ``body_of(environ)``, its
    Content-Length the sum of the pieces' lengths."""
    def app(environ, start_response):
        pieces = body_of(environ)
        start_response('200 OK', [
            ('Content-Length', str(sum(len(p) for p in pieces)))])
        return pieces
    return serve_in_thread(app)


def get(server):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request('GET', '/')
        resp = conn.getresponse()
        try:
            return resp.read()
        except http.client.IncompleteRead as cut:
            return ('cut', cut.partial)
    finally:
        conn.close()


def test_spans_and_chunks_arrive_in_order(data_fd):
    def body_of(environ):
        assert green.accept_file_spans(environ)
        return [green.FileSpan(data_fd, 1000, 200000), b'-between-',
                green.FileSpan(data_fd, 0, 10), b'',
                green.FileSpan(data_fd, 250000, 50000)]
    server = serve(body_of)
    try:
        assert get(server) == (DATA[1000:201000] + b'-between-' + DATA[:10] +
                               DATA[250000:])
    finally:
        server.stop()


def test_span_past_the_end_of_its_file_cuts_the_answer(data_fd):
    def body_of(environ):
        assert green.accept_file_spans(environ)
        return [b'head', green.FileSpan(data_fd, 200000, 200000)]
    server = serve(body_of)
    try:
        assert get(server) == ('cut', b'head' + DATA[200000:])
    finally:
        server.stop()


def test_environ_without_the_server_accepts_no_spans():
    # An app called directly (a test, a subrequest) keeps yielding bytes.
    environ = {}
    assert not green.accept_file_spans(environ)
    assert environ == {}
