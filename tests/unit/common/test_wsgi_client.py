"""The in-thread WSGI server and direct_request, over real sockets."""

import socket

import pytest

from objstore.common.backend_client import direct_request
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
