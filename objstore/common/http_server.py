"""The HTTP/1.1 server every objstore process serves its WSGI app with.

Owns the connection loop on a green socket: read into a buffer until the
request head is in, parse it (``parse_head``, pure), build the WSGI
environ, call the app, frame its answer (Content-Length, chunked, or
close at the end), and keep the connection for the next request as
HTTP/1.0 and 1.1 say. A request's body is read from the same buffer
(``RequestBody``: Content-Length or chunked, ``Expect: 100-continue``
answered when the app first reads); bytes past it stay there for the next,
pipelined, request. FileSpans an answer yields go out with os.sendfile,
SpliceSpans (a proxy's body relayed from a backend socket) with os.splice
(common.green).

It replaces eventlet.wsgi and the stdlib's http.server machinery under it
(file objects, a method call per header line: half of the server's CPU
per request went there). What clients see is what that server sent: the
same environ keys, the same framing and keep-alive rules, and the same
refusals of a head it cannot read (common.http_head).

Must not: know what any app does, nor log (the apps write access lines).
"""

import errno
import socket
import sys
import time
from urllib.parse import unquote

from objstore.common import green
from objstore.common.http_head import (
    FIRST_VALUES, HEAD_END, MAX_HEADER_BYTES, MAX_HEADER_LINE,
    MAX_REQUEST_LINE, RESPONSE_414, Refusal, content_length, http_date,
    parse_head)

# Answer bytes held back until this many are queued (one send, not one per
# tiny chunk); write_unbuffered's key sets it per request.
MINIMUM_CHUNK_SIZE = 4096
WRITE_CHUNK_KEY = 'eventlet.minimum_write_chunk_size'
RECV_SIZE = 65536
# An answer's first chunk up to this size goes out in the head's send.
JOIN_LIMIT = 262144
# A chunked request body's chunk-size line, extensions included.
MAX_CHUNK_LINE = 8192
DISCARD_SIZE = 65536

RESPONSE_HEAD_TIMEOUT = (
    b'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n'
    b'Content-Type: text/plain; charset=utf-8\r\nContent-Length: 41\r\n'
    b'\r\nRequest line and headers took too long.\r\n')
CONTINUE_LINE = b'HTTP/1.1 100 Continue\r\n\r\n'
LAST_CHUNK = b'0\r\n\r\n'

# accept() errors that end the server loop rather than the process.
_ACCEPT_STOP_ERRNOS = {errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN,
                       errno.ESHUTDOWN}


class ChunkReadError(ValueError):
    """A chunked request body whose framing cannot be read."""


# -- the server -------------------------------------------------------------

class HttpServer:
    """Accepts connections and serves each in a green thread of a pool of
    ``max_clients`` (accept waits while it is full)."""

    def __init__(self, app, client_timeout=None, max_clients=1024,
                 max_header_lines=100):
        self.app = app
        self.client_timeout = client_timeout
        self.max_clients = max_clients
        self.max_header_lines = max_header_lines
        self.stopping = False
        self.idle = set()

    def serve(self, listener):
        """Serve until accept() raises SystemExit (a stop) or fails."""
        pool = green.GreenPool(self.max_clients)
        try:
            while True:
                try:
                    sock, address = listener.accept()
                except (KeyboardInterrupt, SystemExit):
                    break
                except OSError as err:
                    if err.errno in _ACCEPT_STOP_ERRNOS:
                        break
                    raise
                sock.settimeout(self.client_timeout)
                pool.spawn_n(self.serve_connection, sock, address)
        finally:
            self.stopping = True
            for sock in list(self.idle):
                _shutdown(sock)
            pool.waitall()
            listener.close()

    def serve_connection(self, sock, address):
        try:
            Connection(self, sock, address).serve()
        except OSError:
            # The peer is gone or timed out (socket.timeout is one):
            # its connection just ends.
            pass
        finally:
            _shutdown(sock)
            sock.close()


def _shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Connection:
    """One client connection: its receive buffer and its request loop."""

    def __init__(self, server, sock, address):
        self.server = server
        self.sock = sock
        self.buffer = b''
        if sock.family == socket.AF_INET or sock.family == socket.AF_INET6:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            except (AttributeError, OSError):
                pass
        local = sock.getsockname()
        # Every request of this connection starts from these keys.
        self.base_environ = {
            'wsgi.errors': sys.stderr,
            'wsgi.version': (1, 0),
            'wsgi.multithread': True,
            'wsgi.multiprocess': False,
            'wsgi.run_once': False,
            'wsgi.url_scheme': 'http',
            'SCRIPT_NAME': '',
            'SERVER_PROTOCOL': 'HTTP/1.0',
            'GATEWAY_INTERFACE': 'CGI/1.1',
            'SERVER_NAME': local[0],
            'SERVER_PORT': str(local[1]),
            'REMOTE_ADDR': address[0],
            'REMOTE_PORT': str(address[1]),
            green.FILE_SPANS_SERVED: True,
            green.SPLICE_SERVED: True,
        }

    def serve(self):
        server = self.server
        while not server.stopping:
            head = self.read_head()
            if head is None or not self.serve_request(head):
                return

    # -- reading --

    def read_head(self):
        """The next request head (through its blank line), or None when
        the client closed or idled out before sending one. The whole head
        must come within the client timeout; a head cut short by it gets
        408 once its request line is in."""
        timeout = self.server.client_timeout
        try:
            return self._read_head(timeout)
        finally:
            if self.sock.gettimeout() != timeout:
                self.sock.settimeout(timeout)

    def _read_head(self, timeout):
        buf = self.buffer
        # Set once a second read is needed: most heads come in one.
        deadline = None
        while True:
            line_end = buf.find(b'\n', 0, MAX_REQUEST_LINE - 1)
            if line_end >= 0:
                end = HEAD_END.search(buf, line_end)
                if end is not None:
                    self.buffer = buf[end.end():]
                    return buf[:end.end()]
                if len(buf) - line_end > MAX_HEADER_BYTES + MAX_HEADER_LINE:
                    # Over the limits whatever follows: refused at parse.
                    self.buffer = b''
                    return buf
            elif len(buf) >= MAX_REQUEST_LINE - 1:
                self.sock.sendall(RESPONSE_414)
                return None
            if timeout is not None:
                if deadline is None:
                    deadline = time.monotonic() + timeout
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return self._head_timed_out(line_end >= 0)
                    self.sock.settimeout(left)
            data = self._recv_head(not buf)
            if data is None:
                return self._head_timed_out(line_end >= 0)
            if not data:
                self.buffer = b''
                return buf or None
            buf += data

    def _recv_head(self, idle):
        """Bytes of a head (b'' at EOF, None on the timeout); an idle
        connection is one a stop may shut down."""
        idle_set = self.server.idle
        if idle:
            idle_set.add(self.sock)
        try:
            return self.sock.recv(RECV_SIZE)
        except socket.timeout:
            return None
        finally:
            if idle:
                idle_set.discard(self.sock)

    def _head_timed_out(self, line_in):
        if line_in:
            self.sock.sendall(RESPONSE_HEAD_TIMEOUT)
        return None

    def take(self, size):
        """Up to ``size`` bytes: all of them unless the client closes."""
        buf = self.buffer
        if len(buf) >= size:
            self.buffer = buf[size:]
            return buf[:size]
        self.buffer = b''
        parts = [buf]
        got = len(buf)
        while got < size:
            data = self.sock.recv(min(size - got, 4 * RECV_SIZE))
            if not data:
                break
            parts.append(data)
            got += len(data)
        return parts[-1] if len(parts) == 2 and not buf else b''.join(parts)

    def take_line(self, limit):
        """Bytes through the next line end, at most ``limit`` (less at
        EOF)."""
        buf = self.buffer
        while True:
            end = buf.find(b'\n', 0, limit)
            if end >= 0:
                self.buffer = buf[end + 1:]
                return buf[:end + 1]
            if len(buf) >= limit:
                self.buffer = buf[limit:]
                return buf[:limit]
            data = self.sock.recv(RECV_SIZE)
            if not data:
                self.buffer = b''
                return buf
            buf += data

    # -- one request --

    def serve_request(self, head):
        """Answer one request; whether the connection serves another."""
        try:
            environ, framing = self.environ_of(head)
        except Refusal as refusal:
            if refusal.answer:
                self.sock.sendall(refusal.answer)
            return False
        return Exchange(self, environ, *framing).run(self.server.app)

    def environ_of(self, head):
        """(WSGI environ, (keep-alive, HTTP/1.1, the Connection header))
        of a request head; Refusal for one the server answers itself."""
        method, target, version, headers = parse_head(
            head, self.server.max_header_lines)
        environ = self.base_environ.copy()
        environ['REQUEST_METHOD'] = method
        path, question, query = target.partition('?')
        environ['RAW_PATH_INFO'] = path
        environ['PATH_INFO'] = unquote(path, encoding='latin1') \
            if '%' in path else path
        if question:
            environ['QUERY_STRING'] = query
        # The first value of these, as the stdlib message's get() gives it
        # (trailing blanks kept).
        firsts = {}
        raw = []
        for name, parsed in headers:
            value = parsed.strip(' \t\n\r')
            raw.append((name, value))
            if '_' in name:
                # A header with '_' would share its key with one with '-'.
                continue
            key = name.replace('-', '_').upper()
            if key in FIRST_VALUES and key not in firsts:
                firsts[key] = parsed
            if key == 'CONTENT_TYPE' or key == 'CONTENT_LENGTH':
                continue
            key = 'HTTP_' + key
            if key in environ:
                environ[key] += ',' + value
            else:
                environ[key] = value
        environ['headers_raw'] = tuple(raw)
        environ['CONTENT_TYPE'] = firsts.get('CONTENT_TYPE', 'text/plain')
        length = content_length(firsts)
        if length is not None:
            environ['CONTENT_LENGTH'] = firsts['CONTENT_LENGTH']
        chunked = environ.get('HTTP_TRANSFER_ENCODING', '').lower() == \
            'chunked'
        expect = environ.get('HTTP_EXPECT', '').lower() == '100-continue'
        environ['wsgi.input'] = RequestBody(self, length or 0, chunked,
                                            expect)
        connection = firsts.get('CONNECTION', '').lower()
        http11 = version == 'HTTP/1.1'
        keep_alive = connection == 'keep-alive' or (
            connection != 'close' and http11)
        return environ, (keep_alive, http11, connection)


class RequestBody:
    """``wsgi.input``: a request's body, Content-Length or chunked, read
    from the connection's buffer. The first read of a request that
    expects ``100 Continue`` sends it (unless the answer has begun)."""

    def __init__(self, conn, length, chunked, expect_continue):
        self.conn = conn
        self.remaining = length
        self.chunked = chunked
        # Left in the current chunk; -1: its size line is next; 0: done.
        self.chunk_left = -1
        # Set when the chunked framing could not be read: where the body
        # ends, and the next request starts, is unknown.
        self.framing_lost = False
        self.expect_continue = expect_continue
        self.exchange = None

    def _continue(self):
        self.expect_continue = False
        if not self.exchange.head_sent:
            self.conn.sock.sendall(CONTINUE_LINE)

    def read(self, size=None):
        return self._read(size, False)

    def readline(self, size=None):
        return self._read(size, True)

    def _read(self, size, one_line):
        """Up to ``size`` bytes of the body (all without a size), or
        through the next line end with ``one_line``."""
        if self.expect_continue:
            self._continue()
        if self.chunked:
            return self._read_chunked(size, one_line)
        if size is None or size < 0 or size > self.remaining:
            size = self.remaining
        if not size:
            return b''
        conn = self.conn
        data = conn.take_line(size) if one_line else conn.take(size)
        self.remaining -= len(data)
        return data

    def readlines(self, hint=None):
        lines = []
        for line in iter(self.readline, b''):
            lines.append(line)
            if hint and hint > 0:
                hint -= len(line)
                if hint <= 0:
                    break
        return lines

    def __iter__(self):
        return iter(self.read, b'')

    def _read_chunked(self, size, one_line):
        """Up to ``size`` bytes of the chunks (all without a size), or
        through the next line end with ``one_line``."""
        if size == 0:
            return b''
        if size is not None and size < 0:
            size = None
        parts = []
        conn = self.conn
        while self.chunk_left:
            if self.chunk_left < 0:
                self._next_chunk()
                continue
            want = self.chunk_left if size is None else min(size,
                                                            self.chunk_left)
            data = conn.take_line(want) if one_line else conn.take(want)
            if not data:
                self.chunk_left = 0
                raise OSError('unexpected end of file while parsing '
                              'chunked data')
            parts.append(data)
            self.chunk_left -= len(data)
            if not self.chunk_left:
                conn.take_line(MAX_CHUNK_LINE)  # the chunk's own line end
                self.chunk_left = -1
            if size is not None:
                size -= len(data)
                if not size:
                    break
            if one_line and data.endswith(b'\n'):
                break
        return b''.join(parts)

    def _next_chunk(self):
        line = self.conn.take_line(MAX_CHUNK_LINE)
        try:
            size = int(line.split(b';', 1)[0], 16)
        except ValueError as err:
            self.framing_lost = True
            raise ChunkReadError(err)
        if size < 0:
            self.framing_lost = True
            raise ChunkReadError('negative chunk size %d' % size)
        self.chunk_left = size
        if not size:
            self._skip_trailers()

    def _skip_trailers(self):
        while True:
            line = self.conn.take_line(MAX_HEADER_LINE)
            if line in (b'\r\n', b'\n', b''):
                return

    def fully_read(self):
        return self.chunk_left == 0 if self.chunked else not self.remaining

    def discard(self):
        while self.read(DISCARD_SIZE):
            pass


def _answer_length(value):
    """An answer's Content-Length; one that is no number (an app's bug)
    counts as none sent out yet (-1: no check that it was met)."""
    try:
        return int(value)
    except ValueError:
        return -1


class Exchange:
    """One request's answer: start_response, the WSGI write callable, and
    the framing of what the app returns."""

    def __init__(self, conn, environ, keep_alive, http11, connection):
        self.conn = conn
        self.sock = conn.sock
        self.environ = environ
        self.method = environ['REQUEST_METHOD']
        self.keep_alive = keep_alive
        self.http11 = http11
        self.connection = connection
        self.body = environ['wsgi.input']
        self.body.exchange = self
        self.status = None
        self.headers = None
        self.bodyless = False
        self.head_sent = False
        self.chunked = False
        self.length = None
        # The body's size when the app returned all of it at once.
        self.complete_length = None
        self.sent = 0

    def run(self, app):
        """Call ``app`` and send its answer; whether the connection may
        serve another request."""
        result = None
        try:
            result = app(self.environ, self.start_response)
            self.send_result(result)
        except (Exception, green.Timeout):
            # The app failed (or the peer left mid-answer): a 500 if its
            # answer has not begun, else the connection ends short.
            self.keep_alive = False
            if not self.head_sent:
                self._send_failure()
        finally:
            close = getattr(result, 'close', None)
            if close is not None:
                close()
        return self._reusable()

    def start_response(self, status, headers, exc_info=None):
        if exc_info:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        code = int(status.split(' ', 1)[0])
        self.status = status
        self.headers = headers
        self.bodyless = (code in (204, 304) or code < 200 or
                         self.method == 'HEAD')
        return self.write

    def write(self, data):
        """The WSGI write callable: ``data`` goes out at once."""
        if data or not self.head_sent:
            self._send(data)

    def send_result(self, result):
        if self.headers is not None and not self.head_sent and \
                hasattr(result, '__len__'):
            self._frame_complete_answer(result)
        minimum = int(self.environ.get(WRITE_CHUNK_KEY, MINIMUM_CHUNK_SIZE))
        queued = []
        size = 0
        environ = self.environ
        for data in result:
            if not data:
                continue
            if data.__class__ in green.SPAN_TYPES:
                if queued:
                    self._send(b''.join(queued))
                    queued, size = [], 0
                self._send_span(data)
                continue
            if isinstance(data, str):
                data = data.encode('ascii')
            elif not self.bodyless:
                green.accept_splice(environ, data)
            queued.append(data)
            size += len(data)
            if size >= minimum:
                self._send(queued[0] if len(queued) == 1 else
                           b''.join(queued))
                queued, size = [], 0
        if queued:
            self._send(b''.join(queued))
        self._end_body()

    def _frame_complete_answer(self, result):
        """A list of chunks is the whole answer: it gets a Content-Length
        (``_head``), and if the client waits for 100 Continue that will
        never come, the connection closes after it (the client may send
        the body or not; nothing tells which)."""
        self.complete_length = sum(map(len, result))
        if self.body.expect_continue:
            self.keep_alive = False

    def _head(self):
        """The status line and headers, the framing decided."""
        if self.headers is None:
            raise AssertionError('write() before start_response()')
        lines = ['HTTP/1.1 %s\r\n' % self.status]
        has_date = False
        for name, value in self.headers:
            lower = name.lower()
            if lower == 'content-length':
                self.length = _answer_length(value)
            elif lower == 'date':
                has_date = True
            lines.append('%s: %s\r\n' % (name, value))
        if not has_date:
            lines.append('Date: %s\r\n' % http_date())
        if self.length is None and self.complete_length is not None and \
                not self.bodyless:
            self.length = self.complete_length
            lines.append('Content-Length: %d\r\n' % self.length)
        if self.length is None and not self.bodyless:
            if self.http11:
                self.chunked = True
                lines.append('Transfer-Encoding: chunked\r\n')
            else:
                # Only the end of the connection ends this answer.
                self.keep_alive = False
        if not self.keep_alive:
            lines.append('Connection: close\r\n')
        elif self.connection == 'keep-alive':
            lines.append('Connection: keep-alive\r\n')
        lines.append('\r\n')
        return ''.join(lines).encode('latin-1')

    def _send(self, data):
        """Send ``data`` (framed), the head first if it has not gone."""
        if self.bodyless:
            data = b''
        head = b'' if self.head_sent else self._head()
        self.head_sent = True
        self.sent += len(data)
        if self.chunked and data:
            data = b'%x\r\n%s\r\n' % (len(data), data)
        if not head:
            self.sock.sendall(data)
        elif len(data) <= JOIN_LIMIT:
            self.sock.sendall(head + data)
        else:
            self.sock.sendall(head)
            self.sock.sendall(data)

    def _send_span(self, span):
        if not self.head_sent:
            self._send(b'')
        if self.bodyless:
            return
        if self.chunked:
            self.sock.sendall(b'%x\r\n' % span.length)
        span.send(self.sock)
        self.sent += span.length
        if self.chunked:
            self.sock.sendall(b'\r\n')

    def _end_body(self):
        if not self.head_sent:
            self._send(b'')
        if self.chunked:
            self.sock.sendall(LAST_CHUNK)
        elif self.length is not None and self.sent < self.length and \
                not self.bodyless:
            # Short of its Content-Length: the client would wait for the
            # rest, so the connection ends here.
            self.keep_alive = False

    def _send_failure(self):
        self.status = '500 Internal Server Error'
        self.headers = [('Content-type', 'text/plain'),
                        ('Content-length', '0')]
        self.bodyless = False
        self.chunked = False
        self.length = None
        try:
            self._send(b'')
        except OSError:
            pass

    def _reusable(self):
        """Whether the connection may read the next request: the answer
        allows it, and this request's body is out of the way."""
        if self.body.expect_continue:
            # Never asked for the body: the client may or may not send it.
            return False
        if not self.keep_alive or self.body.framing_lost:
            return False
        if not self.body.fully_read():
            try:
                self.body.discard()
            except (OSError, ValueError):
                return False
        return True
