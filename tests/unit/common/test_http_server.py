"""common.http_server: the HTTP/1.1 connection loop, on real sockets.

Each test runs a tiny WSGI app in a ThreadedServer on loopback and talks
raw HTTP to it: keep-alive and pipelining, request bodies (Content-Length,
chunked, 100-continue), the head timeout, framing of answers, and clients
that go away.
"""

import socket
import threading
import time

import pytest

from objstore.common import green
from objstore.common.wsgi import ThreadedServer

# The longest request line a server reads (eventlet's limit too).
MAX_REQUEST_LINE = 8192


def echo_app(environ, start_response):
    """Answers 'METHOD PATH|body' with a Content-Length."""
    body = environ['wsgi.input'].read()
    answer = ('%s %s|' % (environ['REQUEST_METHOD'], environ['PATH_INFO'])
              ).encode('latin-1') + body
    start_response('200 OK', [('Content-Length', str(len(answer)))])
    return [answer]


@pytest.fixture
def serve():
    servers = []

    def start(app, client_timeout=30.0, host='127.0.0.1', max_clients=1024):
        server = ThreadedServer(app, host=host, client_timeout=client_timeout,
                                max_clients=max_clients)
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.stop()


def connect(server):
    return socket.create_connection((server.host, server.port), timeout=10)


@pytest.fixture
def client(serve):
    """``client(app, **server options)``: ``app`` served on loopback and
    a Reader on a new connection to it (its socket: ``reader.sock``),
    closed at the end of the test."""
    socks = []

    def open_client(app, **options):
        sock = connect(serve(app, **options))
        socks.append(sock)
        return Reader(sock)
    yield open_client
    for sock in socks:
        sock.close()


class Reader:
    """Reads answers off a client socket, one at a time."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b''

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError('server closed')
        self.buffer += data

    def take(self, size):
        while len(self.buffer) < size:
            self.fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def line(self):
        while b'\r\n' not in self.buffer:
            self.fill()
        line, self.buffer = self.buffer.split(b'\r\n', 1)
        return line

    def head(self):
        """(status code, {lower-case name: value})."""
        status_line = self.line()
        assert status_line.startswith(b'HTTP/1.'), status_line
        status = int(status_line.split(b' ')[1])
        headers = {}
        while True:
            line = self.line()
            if not line:
                return status, headers
            name, value = line.decode('latin-1').split(':', 1)
            headers[name.lower()] = value.strip()

    def answer(self, method='GET'):
        """(status, headers, body) of the next answer."""
        status, headers = self.head()
        if method == 'HEAD' or status in (204, 304):
            return status, headers, b''
        if 'content-length' in headers:
            return status, headers, self.take(int(headers['content-length']))
        if headers.get('transfer-encoding') == 'chunked':
            return status, headers, self.chunks()
        return status, headers, self.rest()

    def chunks(self):
        body = b''
        while True:
            size = int(self.line(), 16)
            if not size:
                assert self.line() == b''
                return body
            body += self.take(size)
            assert self.line() == b''

    def rest(self):
        while True:
            try:
                self.fill()
            except EOFError:
                data, self.buffer = self.buffer, b''
                return data

    def closed(self, wait=5.0):
        """Whether the server closed the connection within ``wait``
        seconds (what it sent until then is added to the buffer)."""
        self.sock.settimeout(wait)
        try:
            while True:
                self.fill()
        except (EOFError, ConnectionResetError):
            return True
        except socket.timeout:
            return False


def test_keep_alive_serves_several_requests_on_one_connection(client):
    reader = client(echo_app)
    sock = reader.sock
    for number in range(5):
        body = b'body%d' % number
        sock.sendall(b'PUT /o%d HTTP/1.1\r\nHost: x\r\n'
                     b'Content-Length: %d\r\n\r\n%s'
                     % (number, len(body), body))
        status, headers, got = reader.answer()
        assert status == 200
        assert got == b'PUT /o%d|%s' % (number, body)
        assert 'connection' not in headers
        assert 'date' in headers


def test_pipelined_requests_are_answered_in_order(client):
    reader = client(echo_app)
    sock = reader.sock
    sock.sendall(b'GET /a HTTP/1.1\r\n\r\n'
                 b'PUT /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz'
                 b'GET /c HTTP/1.1\r\nConnection: close\r\n\r\n')
    assert reader.answer()[2] == b'GET /a|'
    assert reader.answer()[2] == b'PUT /b|xyz'
    status, headers, body = reader.answer()
    assert body == b'GET /c|' and headers['connection'] == 'close'
    assert reader.closed()


def test_http10_without_keep_alive_closes_after_one_answer(client):
    reader = client(echo_app)
    sock = reader.sock
    sock.sendall(b'GET /a HTTP/1.0\r\n\r\n')
    status, headers, body = reader.answer()
    assert (status, body) == (200, b'GET /a|')
    assert headers['connection'] == 'close'
    assert reader.closed()


def test_http10_with_keep_alive_stays_open(client):
    reader = client(echo_app)
    sock = reader.sock
    for _ in range(2):
        sock.sendall(b'GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
        status, headers, body = reader.answer()
        assert headers['connection'] == 'keep-alive'
        assert body == b'GET /a|'


def test_100_continue_is_sent_only_when_the_app_first_reads(client):
    reads = []

    def app(environ, start_response):
        reads.append('before')
        time.sleep(0.3)
        body = environ['wsgi.input'].read(4)
        body += environ['wsgi.input'].read()
        start_response('201 Created', [('Content-Length', str(len(body)))])
        return [body]
    reader = client(app)
    sock = reader.sock
    sock.sendall(b'PUT /o HTTP/1.1\r\nExpect: 100-continue\r\n'
                 b'Content-Length: 10\r\n\r\n')
    started = time.monotonic()
    assert reader.line() == b'HTTP/1.1 100 Continue'
    assert reader.line() == b''
    # Not before the app asked for the body.
    assert time.monotonic() - started >= 0.25 and reads == ['before']
    sock.sendall(b'0123456789')
    status, headers, body = reader.answer()
    assert (status, body) == (201, b'0123456789')
    # Only one 100 Continue, and the connection still serves.
    sock.sendall(b'GET /again HTTP/1.1\r\n\r\n')
    assert reader.answer()[0] == 201


def test_no_100_continue_when_the_app_answers_without_reading(client):
    def app(environ, start_response):
        start_response('409 Conflict', [('Content-Length', '0')])
        return [b'']
    reader = client(app)
    sock = reader.sock
    sock.sendall(b'PUT /o HTTP/1.1\r\nExpect: 100-continue\r\n'
                 b'Content-Length: 10\r\n\r\n')
    status, headers, body = reader.answer()
    assert status == 409
    # It never asked for the body: the client may or may not send it,
    # so the connection cannot carry another request.
    assert headers['connection'] == 'close'
    assert reader.closed()


def test_chunked_request_body_reaches_the_app_whole(client):
    reader = client(echo_app)
    sock = reader.sock
    sock.sendall(b'PUT /o HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'
                 b'5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n'
                 b'0\r\nX-Trailer: t\r\n\r\n'
                 b'GET /next HTTP/1.1\r\n\r\n')
    assert reader.answer()[2] == b'PUT /o|hello world'
    assert reader.answer()[2] == b'GET /next|'


def test_chunked_body_read_in_small_pieces_and_lines(client):
    def app(environ, start_response):
        body = environ['wsgi.input']
        pieces = [body.read(3), body.readline(), body.readline(), body.read()]
        answer = b'|'.join(pieces)
        start_response('200 OK', [('Content-Length', str(len(answer)))])
        return [answer]
    reader = client(app)
    sock = reader.sock
    sock.sendall(b'PUT /o HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'
                 b'8\r\nab\ncd\nef\r\n4\r\ngh\ni\r\n0\r\n\r\n')
    assert reader.answer()[2] == b'ab\n|cd\n|efgh\n|i'


@pytest.mark.parametrize('size_line', [b'zz', b'', b'-5'])
def test_bad_chunk_size_raises_a_value_error_to_the_app(client, size_line):
    errors = []

    def app(environ, start_response):
        try:
            environ['wsgi.input'].read()
        except ValueError as err:
            errors.append(err)
            start_response('400 Bad Request', [('Content-Length', '3')])
            return [b'bad']
        start_response('200 OK', [('Content-Length', '0')])
        return []
    reader = client(app)
    sock = reader.sock
    sock.sendall(b'PUT /o HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'
                 b'3\r\nabc\r\n' + size_line + b'\r\n')
    status, _headers, body = reader.answer()
    assert (status, body) == (400, b'bad')
    assert isinstance(errors[0], ValueError)
    # The rest of the body cannot be found: no next request either.
    assert reader.closed()


def test_request_head_must_arrive_within_the_client_timeout(client):
    reader = client(echo_app, client_timeout=0.5)
    sock = reader.sock
    started = time.monotonic()
    sock.sendall(b'GET /slow HTTP/1.1\r\nHost: x\r\n')
    for _ in range(4):
        time.sleep(0.2)
        try:
            sock.sendall(b'X-Drip: a\r\n')
        except OSError:
            break
    status, headers, body = reader.answer()
    assert status == 408 and headers['connection'] == 'close'
    assert body == b'Request line and headers took too long.\r\n'
    assert time.monotonic() - started < 2.0
    assert reader.closed()


def test_idle_connection_is_closed_without_an_answer(client):
    reader = client(echo_app, client_timeout=0.3)
    sock = reader.sock
    sock.sendall(b'GET /a HTTP/1.1\r\n\r\n')
    assert reader.answer()[0] == 200
    started = time.monotonic()
    assert reader.closed(wait=3)
    assert reader.buffer == b''
    assert time.monotonic() - started < 2.0


def test_client_gone_mid_body_ends_the_request_quietly(serve):
    got = []

    def app(environ, start_response):
        got.append(environ['wsgi.input'].read())
        start_response('201 Created', [('Content-Length', '0')])
        return []
    server = serve(app)
    with connect(server) as sock:
        sock.sendall(b'PUT /o HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc')
    assert wait_until(lambda: got)
    assert got == [b'abc']
    # The server still serves others.
    with connect(server) as sock:
        sock.sendall(b'PUT /o HTTP/1.1\r\nContent-Length: 1\r\n\r\nx')
        assert Reader(sock).answer()[0] == 201


def test_client_gone_mid_answer_closes_the_apps_iterator(serve):
    closed = threading.Event()

    class Endless:
        def __iter__(self):
            while True:
                yield b'x' * 65536

        def close(self):
            closed.set()

    def app(environ, start_response):
        start_response('200 OK', [('Content-Length', str(1 << 40))])
        return Endless()
    server = serve(app, client_timeout=5)
    with connect(server) as sock:
        sock.sendall(b'GET /big HTTP/1.1\r\n\r\n')
        Reader(sock).take(100000)
    assert closed.wait(10)
    with connect(server) as sock:
        sock.sendall(b'HEAD /big HTTP/1.1\r\n\r\n')
        status, headers, _body = Reader(sock).answer('HEAD')
        assert status == 200


def wait_until(predicate, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def streaming_app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return iter([b'one', b'', b'two'])


def test_answer_without_a_length_is_chunked_to_http11(client):
    reader = client(streaming_app)
    sock = reader.sock
    for _ in range(2):
        sock.sendall(b'GET / HTTP/1.1\r\n\r\n')
        status, headers, body = reader.answer()
        assert headers['transfer-encoding'] == 'chunked'
        assert body == b'onetwo'


def test_answer_without_a_length_ends_with_the_connection_to_http10(client):
    reader = client(streaming_app)
    sock = reader.sock
    sock.sendall(b'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
    status, headers, body = reader.answer()
    assert 'transfer-encoding' not in headers
    assert headers['connection'] == 'close'
    assert body == b'onetwo'


def test_list_answer_gets_a_content_length_and_head_gets_no_body(client):
    def app(environ, start_response):
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'abc', b'de']
    reader = client(app)
    sock = reader.sock
    sock.sendall(b'GET / HTTP/1.1\r\n\r\nHEAD / HTTP/1.1\r\n\r\n'
                 b'GET /last HTTP/1.1\r\n\r\n')
    status, headers, body = reader.answer()
    assert headers.pop('date').endswith(' GMT')
    assert (headers, body) == (
        {'content-type': 'text/plain', 'content-length': '5'}, b'abcde')
    status, headers, _ = reader.answer('HEAD')
    assert 'content-length' not in headers
    # No stray body bytes before the next answer.
    assert reader.answer()[2] == b'abcde'


def test_app_error_before_the_answer_is_a_500_and_a_close(client):
    def app(environ, start_response):
        raise RuntimeError('boom')
    reader = client(app)
    sock = reader.sock
    sock.sendall(b'GET / HTTP/1.1\r\n\r\n')
    status, headers, body = reader.answer()
    assert (status, body) == (500, b'')
    assert headers['connection'] == 'close'
    assert reader.closed()


def test_answer_short_of_its_length_ends_the_connection(client):
    def app(environ, start_response):
        start_response('200 OK', [('Content-Length', '10')])
        return iter([b'short'])
    reader = client(app)
    sock = reader.sock
    sock.sendall(b'GET / HTTP/1.1\r\n\r\n')
    reader.head()
    assert reader.rest() == b'short'


def test_environ_keys(serve):
    seen = []

    def app(environ, start_response):
        seen.append(dict(environ))
        return echo_app(environ, start_response)
    server = serve(app)
    with connect(server) as sock:
        sock.sendall(b'GET /a%20b/c?x=1&y HTTP/1.1\r\nHost: h\r\n'
                     b'X-Dup: 1\r\nx-dup: 2\r\nX_Under: no\r\n'
                     b'X-Blank:  v \r\n\r\n')
        Reader(sock).answer()
        client_port = sock.getsockname()[1]
    environ = seen[0]
    assert environ['PATH_INFO'] == '/a b/c'
    assert environ['RAW_PATH_INFO'] == '/a%20b/c'
    assert environ['QUERY_STRING'] == 'x=1&y'
    assert environ['REMOTE_ADDR'] == '127.0.0.1'
    assert environ['REMOTE_PORT'] == str(client_port)
    assert environ['SERVER_NAME'] == '127.0.0.1'
    assert environ['SERVER_PORT'] == str(server.port)
    assert environ['HTTP_HOST'] == 'h'
    assert environ['HTTP_X_DUP'] == '1,2'
    assert environ['HTTP_X_BLANK'] == 'v'
    assert 'HTTP_X_UNDER' not in environ
    assert environ['headers_raw'] == (('Host', 'h'), ('X-Dup', '1'),
                                      ('x-dup', '2'), ('X_Under', 'no'),
                                      ('X-Blank', 'v'))
    assert environ['CONTENT_TYPE'] == 'text/plain'
    assert 'CONTENT_LENGTH' not in environ
    assert environ['wsgi.url_scheme'] == 'http'
    assert environ['SCRIPT_NAME'] == ''


def test_unbuffered_answer_sends_each_chunk_at_once(client):
    release = threading.Event()

    def app(environ, start_response):
        green.write_unbuffered(environ)
        start_response('200 OK', [('Content-Type', 'text/plain')])

        def body():
            yield b' '
            release.wait(10)
            yield b'done'
        return body()
    reader = client(app)
    sock = reader.sock
    sock.sendall(b'GET / HTTP/1.1\r\n\r\n')
    status, headers = reader.head()
    # The heartbeat's space arrives while the app still works.
    assert reader.line() == b'1' and reader.take(3) == b' \r\n'
    release.set()
    assert reader.chunks() == b'done'


def test_max_clients_bounds_the_connections_served_at_once(serve):
    server = serve(echo_app, max_clients=1)
    with connect(server) as first, connect(server) as second:
        first.sendall(b'GET /first HTTP/1.1\r\n\r\n')
        assert Reader(first).answer()[2] == b'GET /first|'
        second.sendall(b'GET /second HTTP/1.1\r\n\r\n')
        waiting = Reader(second)
        # The first connection, kept alive, holds the only place.
        assert not waiting.closed(wait=0.5) and waiting.buffer == b''
        first.close()
        waiting.sock.settimeout(10)
        assert waiting.answer()[2] == b'GET /second|'


def test_ipv6_bind(serve):
    seen = []

    def app(environ, start_response):
        seen.append(environ['REMOTE_ADDR'])
        return echo_app(environ, start_response)
    server = serve(app, host='::1')
    with socket.create_connection(('::1', server.port), timeout=10) as sock:
        sock.sendall(b'GET /six HTTP/1.1\r\n\r\n')
        assert Reader(sock).answer()[2] == b'GET /six|'
    assert seen == ['::1']


@pytest.mark.parametrize('raw, expected', [
    (b'GET /' + b'a' * MAX_REQUEST_LINE + b' HTTP/1.1\r\n\r\n',
     b'HTTP/1.0 414 Request URI Too Long\r\n'),
    (b'GET / HTTP/1.1\r\nX-A: ' + b'v' * 8200 + b'\r\n\r\n',
     b'HTTP/1.0 400 Header Line Too Long\r\n'),
    (b'GET / HTTP/1.1\r\n' + (b'X-A: ' + b'v' * 8000 + b'\r\n') * 10 + b'\r\n',
     b'HTTP/1.0 400 Headers Too Large\r\n'),
    (b'PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n',
     b'HTTP/1.0 400 Bad Request\r\n'),
    (b'PUT / HTTP/1.1\r\nContent-Length: 1\r\n'
     b'Transfer-Encoding: chunked\r\n\r\n', b'HTTP/1.0 400 Bad Request\r\n'),
])
def test_heads_the_server_refuses_itself(client, raw, expected):
    reader = client(echo_app)
    sock = reader.sock
    sock.sendall(raw)
    assert reader.closed(wait=5)
    assert reader.buffer.startswith(expected), reader.buffer[:200]


def test_too_many_header_lines_get_431(client):
    reader = client(echo_app)
    sock = reader.sock
    sock.sendall(b'GET / HTTP/1.1\r\n' + b'X-A: 1\r\n' * 1000 + b'\r\n')
    status, headers, body = reader.answer()
    assert (status, body) == (431, b'Too many headers\n')


def test_head_cut_by_eof_is_still_answered(client):
    reader = client(echo_app)
    sock = reader.sock
    sock.sendall(b'GET /x HTTP/1.1\r\nHost: h')
    sock.shutdown(socket.SHUT_WR)
    assert reader.answer()[2] == b'GET /x|'


# -- SpliceSpans: bytes moved from another socket by green.splice ----------

SPLICED = bytes(range(256)) * 16384  # 4 MiB
FIRST = 65536


def feed(port, data):
    """Connect to ``port`` from a native thread and send ``data``, then
    close: a backend whose body the app relays."""
    with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
        sock.sendall(data)


def source_of(data):
    """A green socket the app reads ``data`` from (it ends after it)."""
    listener = green.listen(('127.0.0.1', 0))
    port = listener.getsockname()[1]
    threading.Thread(target=feed, args=(port, data), daemon=True).start()
    sock, _ = listener.accept()
    listener.close()
    sock.settimeout(5)
    return sock


def relaying_app(length_header=True, change=None, cut_at=None, seen=None):
    """Answers SPLICED: its first FIRST bytes as a chunk it offers to
    splice after, the rest from a socket (``cut_at``: the socket ends
    there), spliced when the server took the offer. ``change`` stands for
    a middleware that changes the chunks; ``seen`` gets what went how."""
    def app(environ, start_response):
        source = source_of(SPLICED[FIRST:cut_at])
        start_response('200 OK', [('Content-Length', str(len(SPLICED)))]
                       if length_header else [])

        def body():
            first = SPLICED[:FIRST]
            green.offer_splice(environ, first)
            yield first
            rest = len(SPLICED) - FIRST
            if green.splice_accepted(environ, first):
                seen.append('spliced')
                yield green.SpliceSpan(rest, lambda sock: green.splice(
                    source, sock, rest))
            else:
                seen.append('copied')
                yield from iter(lambda: source.recv(65536), b'')
        chunks = body()
        return (change(chunk) for chunk in chunks) if change else chunks
    return app


@pytest.mark.parametrize('version', ['HTTP/1.1', 'HTTP/1.0'])
def test_spliced_answer_goes_out_whole_with_its_length(client, version):
    seen = []
    reader = client(relaying_app(seen=seen))
    sock = reader.sock
    for _ in range(2):
        sock.sendall(b'GET / %s\r\nConnection: keep-alive\r\n\r\n'
                     % version.encode())
        status, headers, body = reader.answer()
        assert headers['content-length'] == str(len(SPLICED))
        assert body == SPLICED
    assert seen == ['spliced', 'spliced']


def test_spliced_answer_without_a_length_is_chunk_framed(client):
    seen = []
    reader = client(relaying_app(length_header=False, seen=seen))
    sock = reader.sock
    sock.sendall(b'GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n')
    for _ in range(2):
        status, headers, body = reader.answer()
        assert headers['transfer-encoding'] == 'chunked'
        assert body == SPLICED
    assert seen == ['spliced', 'spliced']


def test_changed_chunks_are_never_spliced(client):
    seen = []
    reader = client(relaying_app(change=bytes.upper, seen=seen))
    sock = reader.sock
    sock.sendall(b'GET / HTTP/1.1\r\n\r\n')
    assert reader.answer()[2] == SPLICED.upper()
    assert seen == ['copied']


def test_spliced_source_ending_early_ends_the_connection_short(client):
    seen = []
    cut_at = 3 * 1024 * 1024
    reader = client(relaying_app(cut_at=cut_at, seen=seen))
    sock = reader.sock
    sock.sendall(b'GET / HTTP/1.1\r\n\r\n')
    reader.head()
    assert reader.rest() == SPLICED[:cut_at]
    assert seen == ['spliced']


def test_splice_reports_the_bytes_moved_before_its_source_broke():
    received = []
    sink = green.listen(('127.0.0.1', 0))

    def drain(port):
        with socket.create_connection(('127.0.0.1', port)) as sock:
            received.append(Reader(sock).rest())
    reader = threading.Thread(target=drain, args=(sink.getsockname()[1],))
    reader.start()
    dst, _ = sink.accept()
    source = source_of(SPLICED[:100000])
    with pytest.raises(green.SourceBroken) as broken:
        green.splice(source, dst, len(SPLICED))
    dst.close()
    sink.close()
    source.close()
    reader.join(10)
    assert broken.value.moved == 100000
    assert received == [SPLICED[:100000]]
