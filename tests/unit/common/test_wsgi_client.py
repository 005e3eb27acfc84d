"""The in-thread WSGI server and direct_request, over real sockets."""

import http.client
import socket

import pytest

from objstore.common.backend_client import direct_request
from objstore.common.constraints import MAX_HEADER_COUNT
from objstore.common.exceptions import ConfigError
from objstore.common.wsgi import bind_socket, serve_in_thread


def echo_app(environ, start_response):
    body = environ['wsgi.input'].read()
    reply = ('%s %s %s' % (environ['REQUEST_METHOD'], environ['PATH_INFO'],
                           environ.get('HTTP_X_TIMESTAMP'))
             ).encode('latin-1') + body
    start_response('201 Created', [('Content-Length', str(len(reply))),
                                   ('X-Echo', 'yes')])
    return [reply]


@pytest.fixture
def server():
    handle = serve_in_thread(echo_app)
    yield handle
    handle.stop()


def test_direct_request_round_trip(server):
    status, headers, body = direct_request(
        '127.0.0.1', server.port, 'PUT', '/sda/1/a/c/o n\u00e9',
        {'X-Timestamp': '1.00000'}, body=b'data')
    assert status == 201
    assert headers['x-echo'] == 'yes'
    assert body == 'PUT /sda/1/a/c/o n\u00e9 1.00000data'.encode('utf-8')


def test_connection_refused_raises(server):
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(OSError):
        direct_request('127.0.0.1', port, 'HEAD', '/x')


def test_busy_port_is_a_clear_config_error(server):
    with pytest.raises(ConfigError) as info:
        bind_socket('127.0.0.1', server.port)
    assert 'already in use' in str(info.value)


def test_stop_releases_the_port():
    handle = serve_in_thread(echo_app)
    port = handle.port
    handle.stop()
    with pytest.raises(OSError):
        direct_request('127.0.0.1', port, 'HEAD', '/x', conn_timeout=0.5)


def test_too_many_header_lines_get_a_one_line_reason(server, monkeypatch):
    # The limit is process-wide; a client library imported by other tests
    # (swiftclient) may have raised it further.
    monkeypatch.setattr(http.client, '_MAXHEADERS', MAX_HEADER_COUNT)
    lines = b''.join(b'X-Junk-%d: x\r\n' % i
                     for i in range(MAX_HEADER_COUNT + 1))
    with socket.create_connection(('127.0.0.1', server.port), 5) as sock:
        sock.sendall(b'GET /o HTTP/1.1\r\nHost: x\r\n' + lines + b'\r\n')
        answer = b''
        while True:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    head, _, body = answer.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 431 ')
    assert b'content-type: text/plain' in head.lower()
    assert body == b'Too many headers\n'
