"""The HTTP server's own request-head parser (common.http_server, with the
header helpers of common.http).

Plain header blocks are read without the email package's parser; what
they give must equal what ``http.client.parse_headers`` gives for every
block, plain or not, and a refused request line gets the stdlib's answer.
"""

import email.parser
import http.client
import io
import random
import socket

import pytest

from objstore.common import http as http_head
from objstore.common.http_head import parse_head
from objstore.common.wsgi import serve_in_thread


def stdlib_headers(block):
    return http.client.parse_headers(io.BytesIO(block))


def our_headers(block):
    return http_head.parse_header_lines(
        http_head.read_header_lines(io.BytesIO(block)))


def assert_same_headers(block):
    ours, theirs = our_headers(block), stdlib_headers(block)
    assert ours.items() == theirs.items(), block
    assert ours.get_content_type() == theirs.get_content_type(), block


@pytest.mark.parametrize('block', [
    b'Host: x\r\nContent-Length: 5\r\n\r\n',
    b'Host:x\r\nX-Empty:\r\nX-Blanks: \t a b \t\r\n\r\n',
    b'host: a\r\nHOST: b\r\nX-Latin: caf\xe9 \x85\xa0\r\n\r\n',
    b'Host: x\nX-A: lf only\n\n',
    b'X-Colon: a:b: c\r\nContent-Type: text/html; charset=x\r\n\r\n',
    b'X-Folded: a\r\n  b\r\n\tc\r\nX-After: d\r\n\r\n',
    b'No colon here\r\nX-Lost: after it\r\n\r\n',
    b': no name\r\nX-Kept: yes\r\n\r\n',
    b'From someone\r\nX-A: b\r\n\r\n',
    b'X-Lone-CR: a\rb\r\nX-B: c\r\n\r\n',
    b'X-Space-Name : v\r\nX-B: c\r\n\r\n',
    b'X-At-Eof: no blank line',
    b'\r\n',
    b'',
])
def test_header_blocks_parse_as_the_stdlib_parses_them(block):
    assert_same_headers(block)


def test_random_header_blocks_parse_as_the_stdlib_parses_them():
    rng = random.Random(17)
    pieces = [b'X-A', b'Host', b':', b': ', b' ', b'\t', b'\r', b'v', b'From ',
              b'\xe9', b'\x85', b'\x00', b'-', b'=', b'\x7f']
    for _ in range(3000):
        lines = []
        for _line in range(rng.randint(0, 5)):
            line = b''.join(rng.choice(pieces)
                            for _piece in range(rng.randint(0, 6)))
            lines.append(line + rng.choice([b'\r\n', b'\n']))
        assert_same_headers(b''.join(lines) + rng.choice([b'\r\n', b'']))


def test_random_request_heads_parse_as_the_stdlib_parses_them():
    # The server's own path for plain blocks (no email parser at all).
    rng = random.Random(13)
    pieces = [b'X-A', b'Host', b':', b': ', b' ', b'\t', b'\r', b'v', b'\xe9',
              b'-', b'=', b'Content-Length', b'\x7f']
    for _ in range(3000):
        lines = [b''.join(rng.choice(pieces)
                          for _piece in range(rng.randint(0, 6)))
                 + rng.choice([b'\r\n', b'\n'])
                 for _line in range(rng.randint(0, 5))]
        block = b''.join(lines) + rng.choice([b'\r\n', b''])
        # What the server reads of it: through the first blank line.
        head = b''.join(http_head.read_header_lines(io.BytesIO(block)))
        _method, _target, _version, headers = parse_head(
            b'GET / HTTP/1.1\r\n' + head, 100)
        assert list(headers) == stdlib_headers(block).items(), block


def test_header_limits_raise_as_the_stdlib_does(monkeypatch):
    monkeypatch.setattr(http.client, '_MAXHEADERS', 3)
    many = b'X-A: 1\r\n' * 4 + b'\r\n'
    with pytest.raises(http.client.HTTPException,
                       match='got more than 3 headers'):
        http_head.read_header_lines(io.BytesIO(many))
    long_line = b'X-A: ' + b'v' * http.client._MAXLINE + b'\r\n\r\n'
    with pytest.raises(http.client.LineTooLong):
        http_head.read_header_lines(io.BytesIO(long_line))


def echo_app(environ, start_response):
    body = ('%s %s %s|%s' % (
        environ['REQUEST_METHOD'], environ['PATH_INFO'],
        environ.get('HTTP_X_A'), environ['wsgi.input'].read().decode())
    ).encode('latin-1')
    start_response('200 OK', [('Content-Length', str(len(body)))])
    return [body]


@pytest.fixture
def server():
    handle = serve_in_thread(echo_app)
    yield handle
    handle.stop()


def exchange(port, raw):
    with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        answer = b''
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return answer
            answer += chunk


def test_plain_requests_are_served_without_the_email_parser(server,
                                                            monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError('the email parser read a plain header block')
    monkeypatch.setattr(email.parser.Parser, 'parsestr', refuse)
    answer = exchange(server.port, b'PUT /a/b HTTP/1.1\r\nHost: x\r\n'
                                   b'X-A:  one \r\nContent-Length: 3\r\n'
                                   b'Connection: close\r\n\r\nabc')
    assert answer.startswith(b'HTTP/1.1 200 OK\r\n'), answer
    assert answer.endswith(b'\r\n\r\nPUT /a/b one|abc'), answer


def test_folded_headers_still_reach_the_app(server):
    answer = exchange(server.port, b'GET /f HTTP/1.1\r\nX-A: one\r\n two\r\n'
                                   b'Connection: close\r\n\r\n')
    assert answer.startswith(b'HTTP/1.1 200 OK\r\n'), answer
    assert answer.endswith(b'GET /f one\r\n two|'), answer


@pytest.mark.parametrize('request_line, status, reason', [
    (b'GET / HTTP/2.0', b'505', b'Invalid HTTP version (2.0)'),
    (b'GET / HTTP/1.x', b'400', b"Bad request version ('HTTP/1.x')"),
    (b'GET / HTTP/1.1.1', b'400', b"Bad request version ('HTTP/1.1.1')"),
    (b'GET / FTP/1.1', b'400', b"Bad request version ('FTP/1.1')"),
    (b'GET / x HTTP/1.1', b'400', b"Bad request syntax ('GET / x HTTP/1.1')"),
    (b'GETALL', b'400', b"Bad request syntax ('GETALL')"),
    (b'PUT /x', b'400', b"Bad HTTP/0.9 request type ('PUT')"),
])
def test_bad_request_lines_get_the_stdlib_reason(server, request_line,
                                                 status, reason):
    answer = exchange(server.port, request_line + b'\r\nHost: x\r\n\r\n')
    assert answer.split(b' ', 2)[1] == status, answer
    assert answer.endswith(b'\r\n\r\n' + reason + b'\n'), answer


def test_double_slash_target_is_reduced_as_the_stdlib_does(server):
    answer = exchange(server.port, b'GET //x/y HTTP/1.1\r\nHost: h\r\n'
                                   b'Connection: close\r\n\r\n')
    assert answer.endswith(b'GET /x/y None|'), answer
