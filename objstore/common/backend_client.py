"""HTTP client from one objstore process to the storage servers.

Owns every connection a process opens to a storage server: connect and
response timeouts, keep-alive reuse (a small pool of idle connections per
``ip:port``, where Swift opens a new connection per request), streaming
response bodies, and streaming PUT bodies behind ``Expect: 100-continue``.
It knows nothing of rings, quorums or retries on other nodes: callers
(the proxy, the storage servers' container/account updates, replicators)
decide what a failure means.

``direct_request`` is the simple one-shot call (whole body in, whole body
out). ``BackendClient`` is the pooled, streaming client the proxy uses.
Paths are given unquoted (``/sda/17/AUTH_test/c/o``) and quoted here, once.

Sockets come from the stdlib; servers run monkey-patched (common.green), so
they are cooperative there and many requests run in parallel green threads.
"""

import http.client
import io
import re
import socket
import time
from collections import defaultdict, deque
from urllib.parse import quote

from objstore.common import green
from objstore.common.constraints import MAX_HEADER_COUNT
from objstore.common.exceptions import (
    ChunkReadTimeout, ChunkWriteTimeout, ConnectionTimeout)
from objstore.common.http_basics import read_header_lines

# Errors that mean "this backend failed": callers count them against it.
BACKEND_ERRORS = (OSError, http.client.HTTPException, ConnectionTimeout,
                  ChunkReadTimeout, ChunkWriteTimeout)
# A pooled connection the server already closed fails with one of these
# before any byte of the answer arrived: retried once on a fresh one.
_STALE_ERRORS = (BrokenPipeError, ConnectionResetError,
                 http.client.RemoteDisconnected, http.client.BadStatusLine)
CONTINUE_LINE = b'HTTP/1.1 100'


def allow_header_count(count=MAX_HEADER_COUNT):
    """Let this process parse HTTP messages of up to ``count`` header lines.

    http.client refuses more than 100 (``_MAXHEADERS``, one module global),
    fewer than an answer about an account, container or object with the
    largest legal metadata carries. That parser reads the header blocks
    this client and the HTTP server hand to the stdlib (the odd ones their
    own parsers leave; common.wsgi calls this too), so one limit holds on
    both sides.
    """
    http.client._MAXHEADERS = max(http.client._MAXHEADERS, count)


def _host_for(ip):
    return ip.strip('[]')


# Printable ASCII but space: kept as the client wrote it in a query.
QUERY_SAFE = ''.join(chr(code) for code in range(0x21, 0x7f))


def _target(path, query):
    target = quote(path)
    return target + '?' + _wire_query(query) if query else target


def _wire_query(query):
    """The query string as it may go on a request line.

    A client may send raw bytes outside ASCII in its query, which WSGI
    hands over decoded as latin-1; they are percent-encoded again here,
    and everything printable is passed on as the client wrote it.

    >>> _wire_query('end_marker=\xff&limit=2')
    'end_marker=%FF&limit=2'
    """
    if query.isascii() and query.isprintable() and ' ' not in query:
        return query
    try:
        raw = query.encode('latin-1')
    except UnicodeEncodeError:
        raw = query.encode('utf-8', 'surrogateescape')
    return quote(raw, safe=QUERY_SAFE)


class ResponseHeaders:
    """A backend answer's header lines: the part of http.client's
    HTTPMessage its response and our callers use (``get``, ``get_all``,
    ``items``), case-insensitive on names.

    Built from the raw header lines without the email parser, which costs
    about a tenth of the proxy's CPU per object HEAD (every backend answer
    goes through it). Names and values come out as that parser gives them
    (value stripped of leading blanks and the line end); a block with a
    folded line or a line without a colon goes to the email parser after
    all (``parse_header_lines``).
    """

    def __init__(self, pairs):
        self._pairs = pairs
        self._by_name = {}
        for name, value in pairs:
            self._by_name.setdefault(name.lower(), []).append(value)

    def get(self, name, default=None):
        values = self._by_name.get(name.lower())
        return values[0] if values else default

    def get_all(self, name, default=None):
        return list(self._by_name.get(name.lower(), ())) or default

    def items(self):
        return list(self._pairs)

    def __iter__(self):
        return (name for name, _value in self._pairs)

    def __len__(self):
        return len(self._pairs)


def parse_header_lines(lines):
    r"""The headers of an answer's raw header ``lines`` (bytes, each with
    its line end, the blank line last).

    >>> headers = parse_header_lines([b'Content-Length: 3\r\n',
    ...                               b'X-Meta:  a b \r\n', b'\r\n'])
    >>> headers.get('content-length'), headers.items()[1]
    ('3', ('X-Meta', 'a b '))
    """
    pairs = []
    for raw in lines:
        line = raw.decode('iso-8859-1').rstrip('\r\n')
        if not line:
            continue
        name, colon, value = line.partition(':')
        if not colon or line[0] in ' \t':
            return http.client.parse_headers(io.BytesIO(b''.join(lines)))
        pairs.append((name, value.lstrip(' \t')))
    return ResponseHeaders(pairs)


class BackendHTTPResponse(http.client.HTTPResponse):
    """http.client's response with its headers parsed by
    ``parse_header_lines``; framing (length, chunked, keep-alive) decided
    by the same rules as http.client's own ``begin``."""

    def begin(self):
        if self.headers is not None:
            return
        while True:
            version, status, reason = self._read_status()
            if status != http.client.CONTINUE:
                break
            read_header_lines(self.fp)
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ('HTTP/1.0', 'HTTP/0.9'):
            self.version = 10
        elif version.startswith('HTTP/1.'):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = parse_header_lines(read_header_lines(self.fp))
        encoding = self.headers.get('transfer-encoding')
        self.chunked = bool(encoding) and encoding.lower() == 'chunked'
        self.chunk_left = None
        self.will_close = self._check_close()
        self.length = None if self.chunked else _content_length(
            self.headers.get('content-length'))
        if status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED) or \
                100 <= status < 200 or self._method == 'HEAD':
            self.length = 0
        if not self.chunked and self.length is None:
            self.will_close = True


def _content_length(value):
    """A Content-Length as http.client takes it: None unless a number
    >= 0."""
    try:
        length = int(value) if value else None
    except ValueError:
        return None
    return length if length is None or length >= 0 else None


# http.client's rules for what a header line may hold: a name matching
# ``\A[^:\s][^:\r\n]*\Z`` (request_message tests it without a regex), a
# line break in a value only as a folded continuation (a client's folded
# header reaches us that way).
ILLEGAL_IN_HEADER_VALUE = re.compile(r'\n(?![ \t])|\r(?![ \t\n])')
# Methods whose request has a body, Content-Length: 0 when it is empty
# (as http.client sends them).
METHODS_WITH_BODY = frozenset(('PUT', 'POST', 'PATCH'))


def conn_host(ip, port):
    """The Host header of a request to ``ip:port``, as http.client sends
    it (an IPv6 address in brackets)."""
    host = _host_for(ip)
    return '[%s]:%s' % (host, port) if ':' in host else '%s:%s' % (host,
                                                                  port)


def request_message(method, target, host, headers, body=b''):
    r"""The bytes of a request: request line, Host, ``headers`` (values
    made str; ValueError for a name or value http.client refuses: a line
    break but a folded continuation), Content-Length when not given, and
    body.

    >>> request_message('PUT', '/d/1/a', '10.0.0.1:6200', {'X-A': 1},
    ...                 b'ab').split(b'\r\n')
    ... # doctest: +NORMALIZE_WHITESPACE
    [b'PUT /d/1/a HTTP/1.1', b'Host: 10.0.0.1:6200', b'X-A: 1',
     b'Content-Length: 2', b'', b'ab']
    """
    lines = ['%s %s HTTP/1.1' % (method, target), 'Host: ' + host]
    has_length = False
    for name, value in headers.items():
        if type(value) is not str:
            value = value.decode('latin-1') if isinstance(value, bytes) \
                else str(value)
        # Every backend request checks ~10 headers, so the name's rule is
        # spelled out in substring tests, and the value's regex runs only
        # on a value with a line break in it.
        if not name or name[0].isspace() or ':' in name or \
                '\r' in name or '\n' in name or \
                (('\r' in value or '\n' in value) and
                 ILLEGAL_IN_HEADER_VALUE.search(value)):
            raise ValueError('Invalid header %r: %r' % (name, value))
        if name.lower() == 'content-length':
            has_length = True
        lines.append(name + ': ' + value)
    if not has_length and (body or method in METHODS_WITH_BODY):
        lines.append('Content-Length: %d' % len(body))
    lines.append('\r\n')
    return '\r\n'.join(lines).encode('latin-1') + body


class BackendConnection(http.client.HTTPConnection):
    response_class = BackendHTTPResponse


def _connect(ip, port, conn_timeout):
    allow_header_count()
    conn = BackendConnection(_host_for(ip), int(port), timeout=conn_timeout)
    try:
        conn.connect()
    except (socket.timeout, TimeoutError):
        conn.close()
        raise ConnectionTimeout('connect to %s:%s timed out' % (ip, port))
    except OSError:
        conn.close()
        raise
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def direct_request(ip, port, method, path, headers=None, body=b'',
                   conn_timeout=0.5, node_timeout=3.0, query=None):
    """One request to a backend: (status, {lower-case header: value}, body).

    Raises ConnectionTimeout when the connection cannot be made in
    ``conn_timeout``; socket errors and response timeouts propagate as
    OSError / socket.timeout for the caller to count against the node.
    """
    conn = _connect(ip, port, conn_timeout)
    try:
        conn.sock.settimeout(node_timeout)
        send_headers = dict(headers or {})
        if body and 'Content-Length' not in send_headers:
            send_headers['Content-Length'] = str(len(body))
        conn.request(method, _target(path, query), body=body or None,
                     headers=send_headers)
        response = conn.getresponse()
        payload = response.read()
        return (response.status,
                {k.lower(): v for k, v in response.getheaders()}, payload)
    finally:
        conn.close()


class ConnectionPool:
    """Idle keep-alive connections per (ip, port), most recent first.

    Only connections whose last answer was read to the end and did not ask
    to close are returned here, so a pooled connection is always at a
    request boundary.
    """

    def __init__(self, max_idle_per_host=16):
        self.max_idle_per_host = max_idle_per_host
        self._idle = defaultdict(deque)

    def take(self, ip, port):
        """An idle connection or None."""
        idle = self._idle.get((ip, int(port)))
        while idle:
            conn = idle.pop()
            if conn.sock is not None:
                return conn
        return None

    def give_back(self, ip, port, conn):
        idle = self._idle[(ip, int(port))]
        if len(idle) >= self.max_idle_per_host:
            conn.close()
            return
        idle.append(conn)

    def close_all(self):
        for idle in self._idle.values():
            while idle:
                idle.pop().close()


class BackendResponse:
    """A backend's answer with its body still on the wire.

    ``read(amt)`` streams the body; ``close()`` releases the connection:
    back to the pool when the body was read to the end, else closed.
    """

    def __init__(self, client, ip, port, conn, response, reusable=True):
        self._client = client
        self._reusable = reusable
        self._ip, self._port = ip, port
        self._conn = conn
        self._response = response
        self.status = response.status
        self.reason = response.reason
        self.headers = {k.lower(): v for k, v in response.getheaders()}

    def read(self, amt=None):
        try:
            data = self._response.read(amt)
        except (socket.timeout, TimeoutError):
            self.close()
            raise ChunkReadTimeout('reading from %s:%s timed out'
                                   % (self._ip, self._port))
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if amt is not None and not data and self._response.length:
            # http.client reports a body cut short as a quiet EOF.
            self.close()
            raise http.client.IncompleteRead(b'', self._response.length)
        if amt is None or not data:
            self.close()
        return data

    def body_left(self):
        """Bytes of the body still to read, None when unknown (chunked,
        or delimited by the end of the connection)."""
        if self._conn is None or self._response.chunked:
            return None
        return self._response.length

    def splice_into(self, sock):
        """Move the rest of a body of known length (body_left) to the
        green socket ``sock``: what http.client read ahead with sendall,
        the rest with green.splice. The bytes moved; green.SourceBroken
        (with the bytes moved) when this backend fails or ends first,
        OSError when ``sock`` does. Like read(), the connection goes
        back to the pool at the end and is closed on a failure."""
        response = self._response
        try:
            moved = self._send_read_ahead(sock)
            if response.length:
                try:
                    green.splice(self._conn.sock, sock, response.length)
                except green.SourceBroken as broken:
                    raise green.SourceBroken(moved + broken.moved, broken)
                moved += response.length
                response.length = 0
        finally:
            self.close()
        return moved

    def _send_read_ahead(self, sock):
        """Send the body bytes http.client's buffer holds; how many."""
        response = self._response
        try:
            # peek() gives the buffer as it is, reading only if it is empty.
            ahead = response.fp.peek()[:response.length]
            response.fp.read(len(ahead))
        except OSError as err:
            raise green.SourceBroken(0, err)
        response.length -= len(ahead)
        sock.sendall(ahead)
        return len(ahead)

    def close(self):
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        if self._response.length == 0 and not self._response.isclosed():
            # No body byte is left (a HEAD, a 204/304): ending the response
            # reads nothing and leaves the connection fit for the pool, where
            # a caller that never reads such a body would lose it.
            self._response.read()
        if self._reusable and self._response.isclosed() and \
                not self._response.will_close:
            self._client.pool.give_back(self._ip, self._port, conn)
        else:
            conn.close()


class PutStream:
    """An object PUT in progress: headers sent, body streamed by the caller.

    ``continued`` tells whether the backend said 100 Continue; when it did
    not, ``final`` already holds its answer and nothing may be sent.
    """

    def __init__(self, client, ip, port, conn, chunked, continued):
        self._client = client
        self.ip, self.port = ip, port
        self._conn = conn
        self.chunked = chunked
        self.continued = continued
        self.final = None if continued else self._read_response()

    def send(self, data):
        """Send one piece of the body; ChunkWriteTimeout/OSError on failure."""
        if not data:
            return
        frame = b'%x\r\n%s\r\n' % (len(data), data) if self.chunked else data
        try:
            self._conn.sock.sendall(frame)
        except (socket.timeout, TimeoutError):
            self.abort()
            raise ChunkWriteTimeout('writing to %s:%s timed out'
                                    % (self.ip, self.port))

    def finish(self):
        """End the body and wait for the backend's answer."""
        if self.chunked:
            self._conn.sock.sendall(b'0\r\n\r\n')
        return self._read_response()

    def _read_response(self):
        try:
            response = self._conn.getresponse()
            # A backend that refused the body may still wait for it:
            # such a connection is never reused.
            return BackendResponse(self._client, self.ip, self.port,
                                   self._conn, response,
                                   reusable=self.continued)
        except (socket.timeout, TimeoutError):
            self.abort()
            raise ChunkReadTimeout('no answer from %s:%s in time'
                                   % (self.ip, self.port))

    def abort(self):
        if self._conn is not None:
            self._conn.close()


class BackendClient:
    """Pooled, streaming requests to storage servers."""

    def __init__(self, conn_timeout=0.5, node_timeout=10.0, pool=None,
                 max_idle_per_host=16):
        self.conn_timeout = conn_timeout
        self.node_timeout = node_timeout
        self.pool = pool or ConnectionPool(max_idle_per_host)

    def _conn_for(self, ip, port, fresh, timeouts=None):
        conn_timeout, node_timeout = timeouts or (self.conn_timeout,
                                                  self.node_timeout)
        conn = None if fresh else self.pool.take(ip, port)
        reused = conn is not None
        if conn is None:
            conn = _connect(ip, port, conn_timeout)
        conn.sock.settimeout(node_timeout)
        return conn, reused

    def _on_connection(self, ip, port, send, timeout_error, waited_for,
                       timeouts=None):
        """``send(conn)`` on a pooled connection: (conn, its result).

        A pooled connection the server already closed is retried once on a
        fresh one; on any failure the connection is closed, and a timeout
        becomes ``timeout_error('no <waited_for> from ip:port in time')``.
        ``timeouts``: (connect, node) for this call, else the client's.
        """
        for fresh in (False, True):
            conn, reused = self._conn_for(ip, port, fresh, timeouts)
            try:
                return conn, send(conn)
            except _STALE_ERRORS:
                conn.close()
                if reused:
                    continue
                raise
            except (socket.timeout, TimeoutError):
                conn.close()
                raise timeout_error('no %s from %s:%s in time'
                                    % (waited_for, ip, port))
            except BaseException:
                conn.close()
                raise
        raise ConnectionError('unreachable')  # the loop always returns

    def request(self, ip, port, method, path, headers=None, body=b'',
                query=None, timeouts=None):
        """Send a request with a small body; the answer's body streams."""
        message = request_message(method, _target(path, query), conn_host(
            ip, port), headers or {}, body or b'')

        def send(conn):
            # The whole message in one send, read back by our response
            # class directly: http.client's request building validates
            # and encodes header by header, a third of the cost of a
            # small backend request. The connection's own state stays
            # idle, so a PUT may use it next (start_put).
            conn.sock.sendall(message)
            response = BackendHTTPResponse(conn.sock, method=method)
            response.begin()
            return response
        conn, response = self._on_connection(ip, port, send,
                                             ChunkReadTimeout, 'answer',
                                             timeouts)
        return BackendResponse(self, ip, port, conn, response)

    def direct_request(self, ip, port, method, path, headers=None, body=b'',
                       conn_timeout=0.5, node_timeout=3.0, query=None):
        """``direct_request`` (same call, same answer; a node timeout
        raises ChunkReadTimeout) over this client's kept-alive
        connections, for senders of many small requests to the same
        servers (container updates): a new TCP connection per request
        costs both ends more CPU than the request itself."""
        response = self.request(ip, port, method, path, headers, body, query,
                                timeouts=(conn_timeout, node_timeout))
        return response.status, response.headers, response.read()

    def request_full(self, ip, port, method, path, headers=None, body=b'',
                     query=None):
        """(status, headers, body) with the body read to the end."""
        response = self.request(ip, port, method, path, headers, body, query)
        return response.status, response.headers, response.read()

    def start_put(self, ip, port, path, headers, chunked):
        """Send a PUT's headers with Expect: 100-continue; a PutStream."""
        send_headers = dict(headers)
        send_headers['Expect'] = '100-continue'
        if chunked:
            send_headers['Transfer-Encoding'] = 'chunked'
            send_headers.pop('Content-Length', None)

        def send(conn):
            conn.putrequest('PUT', _target(path, None),
                            skip_accept_encoding=True)
            for name, value in send_headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            return _await_continue(conn.sock, self.node_timeout)
        conn, continued = self._on_connection(
            ip, port, send, ConnectionTimeout, '100-continue')
        return PutStream(self, ip, port, conn, chunked, continued)


def _await_continue(sock, timeout):
    """True after consuming a ``100 Continue``; False if a final answer waits.

    Peeks so that a final answer stays in the socket for http.client to
    parse (under the socket's own timeout). A server that closes without a
    byte looks like a stale pooled connection (RemoteDisconnected), so the
    caller may retry it. A peek returns the bytes already there at once, so
    the socket timeout never fires on a partial ``100`` answer: the wait for
    the rest of it is bounded by ``timeout`` in all.
    """
    deadline = time.monotonic() + timeout
    while True:
        data = sock.recv(4096, socket.MSG_PEEK)
        if not data:
            raise http.client.RemoteDisconnected('closed before answering')
        if not CONTINUE_LINE.startswith(data[:len(CONTINUE_LINE)]):
            return False
        end = data.find(b'\r\n\r\n')
        if end >= 0:
            break
        if len(data) >= 4096:
            return False
        if time.monotonic() >= deadline:
            raise socket.timeout('partial 100-continue answer')
        time.sleep(0.001)
    remaining = end + 4
    while remaining:
        remaining -= len(sock.recv(remaining))
    return True
