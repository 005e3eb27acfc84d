"""The one module that imports eventlet.

Everything else reaches green threads, timeouts, queues and the WSGI server
through these names, so the concurrency library can be swapped in one place.
The WSGI server also sends the FileSpans an answer may yield (file bytes
sent with os.sendfile rather than through Python; see FileSpan).
Eventlet announces its own deprecation at import time; that warning is for
new projects choosing a framework, not for our operators, so it is silenced
here and only here.

Eventlet's green DNS resolver is left out: it loads dnspython, about
11 MiB in every server and daemon process (an aio runs dozens), while
nodes are addressed by IP (ring, bind_ip) and the few names we resolve
(localhost, a memcached host at connect time) are answered by the
system's resolver at once. ``EVENTLET_NO_GREENDNS=no`` in the environment
brings it back.
"""

import http.client
import os
import re
import socket
import warnings
from http import HTTPStatus

from objstore.common.http import (
    parse_header_lines, parse_http_version, read_header_lines)

# Read by eventlet when it is first imported, hence before the import.
os.environ.setdefault('EVENTLET_NO_GREENDNS', 'yes')

with warnings.catch_warnings():
    warnings.simplefilter('ignore')
    import eventlet
    import eventlet.corolocal
    import eventlet.debug
    import eventlet.hubs
    import eventlet.queue
    import eventlet.tpool
    import eventlet.wsgi

GreenPool = eventlet.GreenPool
GreenPile = eventlet.GreenPile
Timeout = eventlet.Timeout
Event = eventlet.event.Event
Queue = eventlet.queue.Queue
QueueEmpty = eventlet.queue.Empty
spawn = eventlet.spawn
spawn_n = eventlet.spawn_n
sleep = eventlet.sleep
listen = eventlet.listen


class _RequestHeadTimeout(Exception):
    """The request line and headers took longer than the client timeout."""


REQUEST_TIMEOUT_RESPONSE = (
    b'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n'
    b'Content-Type: text/plain; charset=utf-8\r\nContent-Length: 41\r\n'
    b'\r\nRequest line and headers took too long.\r\n')


# Bytes that str.split() takes for whitespace once the stdlib decodes the
# request line as Latin-1, other than the space and the line end: a tab,
# the ASCII separators, NEL (0x85) and NBSP (0xA0, the second byte of
# UTF-8 "à"). HTTP separates the request line's words with spaces only.
_SPLIT_BYTES = re.compile(rb'[\t\x0b\x0c\x1c-\x1f\x85\xa0]')


def request_line_split_on_spaces(line):
    r"""The request line with the bytes the stdlib would split its words on,
    other than the space, percent-encoded: the target reaches the app whole
    and, once unquoted, byte for byte as sent (as Swift's parser, which
    splits on spaces only, hands it over).

    >>> request_line_split_on_spaces(b'GET /c/voil\xc3\xa0\tx HTTP/1.1\r\n')
    b'GET /c/voil\xc3%A0%09x HTTP/1.1\r\n'
    >>> request_line_split_on_spaces(b'GET /c/o HTTP/1.1\r\n')
    b'GET /c/o HTTP/1.1\r\n'
    """
    if _SPLIT_BYTES.search(line) is None:
        return line
    return _SPLIT_BYTES.sub(lambda match: b'%%%02X' % match.group()[0], line)


class _HttpProtocol(eventlet.wsgi.HttpProtocol):
    """eventlet's HTTP protocol, with four changes.

    A request it refuses itself (more header lines than http.client's
    limit, a malformed request line) gets a one-line plain-text reason
    rather than the stdlib's HTML page.

    The request line and headers together must arrive within the server's
    socket timeout (the client timeout): eventlet bounds each read only, so
    a client dripping one header line at a time could hold a connection
    forever (slowloris). The body is not under this bound; its reads are.

    The request line's words are split on spaces only
    (``request_line_split_on_spaces``): the stdlib splits on any
    whitespace, so a raw tab in a name was refused and a raw UTF-8 "à"
    silently cut the name short.

    The request head is parsed here (``parse_request``) with the stdlib's
    rules and answers, but plain header lines without the email parser
    (``parse_header_lines``).
    """

    error_message_format = '%(message)s\n'
    error_content_type = 'text/plain; charset=utf-8'
    _head_timer = None

    def _read_request_line(self):
        if self.server.socket_timeout:
            self._head_timer = eventlet.Timeout(self.server.socket_timeout,
                                                _RequestHeadTimeout)
        return request_line_split_on_spaces(super()._read_request_line())

    def parse_request(self):
        try:
            return self._parse_request_line() and self._parse_headers()
        except _RequestHeadTimeout:
            self.close_connection = 1
            try:
                self.wfile.write(REQUEST_TIMEOUT_RESPONSE)
            except OSError:
                pass
            return False
        finally:
            self._stop_head_timer()

    def _parse_request_line(self):
        """Method, target and version, as http.server reads them (the same
        checks and error answers); False once an error is sent."""
        self.command = None
        self.request_version = self.default_request_version
        self.close_connection = True
        self.requestline = str(self.raw_requestline,
                               'iso-8859-1').rstrip('\r\n')
        words = self.requestline.split()
        if not words:
            return False
        if len(words) >= 3:
            version = words[-1]
            number = parse_http_version(version)
            if number is None:
                self.send_error(HTTPStatus.BAD_REQUEST,
                                'Bad request version (%r)' % version)
                return False
            if number >= (1, 1) and self.protocol_version >= 'HTTP/1.1':
                self.close_connection = False
            if number >= (2, 0):
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
                                'Invalid HTTP version (%s)'
                                % version[len('HTTP/'):])
                return False
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(HTTPStatus.BAD_REQUEST,
                            'Bad request syntax (%r)' % self.requestline)
            return False
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != 'GET':
                self.send_error(HTTPStatus.BAD_REQUEST,
                                'Bad HTTP/0.9 request type (%r)' % command)
                return False
        self.command, self.path = command, path
        if self.path.startswith('//'):
            # As the stdlib (gh-87389): '//x' would read as a host name.
            self.path = '/' + self.path.lstrip('/')
        return True

    def _parse_headers(self):
        """The header block, then Connection and Expect as http.server
        heeds them; False once an error is sent."""
        try:
            self.headers = parse_header_lines(read_header_lines(self.rfile),
                                              self.MessageClass)
        except http.client.LineTooLong as err:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                            'Line too long', str(err))
            return False
        except http.client.HTTPException as err:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                            'Too many headers', str(err))
            return False
        connection = self.headers.get('Connection', '').lower()
        if connection == 'close':
            self.close_connection = True
        elif connection == 'keep-alive' and \
                self.protocol_version >= 'HTTP/1.1':
            self.close_connection = False
        if self.headers.get('Expect', '').lower() == '100-continue' and \
                self.protocol_version >= 'HTTP/1.1' and \
                self.request_version >= 'HTTP/1.1':
            return self.handle_expect_100()
        return True

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except _RequestHeadTimeout:
            self.close_connection = 1
        finally:
            self._stop_head_timer()

    def _stop_head_timer(self):
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def send_error(self, code, message=None, explain=None):
        # A request line refused before its version was read leaves
        # request_version at HTTP/0.9, for which the stdlib writes no status
        # line and no headers; no client speaks 0.9, so always send them.
        if self.request_version == 'HTTP/0.9':
            self.request_version = 'HTTP/1.0'
        super().send_error(code, message, explain)


    def get_environ(self):
        env = super().get_environ()
        env[_FILE_SPAN_SOCKET] = self.connection
        return env


def wsgi_server(sock, app, **kwargs):
    """eventlet.wsgi.server with our protocol; keyword args pass through."""
    return eventlet.wsgi.server(sock, _FileSpanSender(app),
                                protocol=_HttpProtocol, **kwargs)


# -- file spans: response bytes sent from a file with os.sendfile ----------

# The client's socket, which the server puts in every request's environ.
_FILE_SPAN_SOCKET = 'objstore.file_span_socket'
# Set by accept_file_spans: this answer may yield FileSpans.
_FILE_SPANS_ACCEPTED = 'objstore.file_spans_accepted'
# A span that comes before any other body byte: this much of it is read
# and yielded, so that the server writes the status line and headers
# before the rest goes out with sendfile.
SPAN_HEAD_BYTES = 65536


class FileSpan:
    """``length`` bytes of the open file ``fd`` from ``offset``, yielded by
    an app's body iterator in place of those bytes.

    The server sends them with os.sendfile: the kernel moves them from the
    page cache to the socket, with no copy through Python nor trip through
    the hub per chunk. Middlewares that only pass the body on and count
    it (``len()``) need not know. Only for an answer with a Content-Length
    whose app called accept_file_spans; the fd must stay open until the
    iterator is resumed. A file that ends before the span raises EOFError:
    the server then drops the connection, short of Content-Length.
    """

    __slots__ = ('fd', 'offset', 'length')

    def __init__(self, fd, offset, length):
        self.fd = fd
        self.offset = offset
        self.length = length

    def __len__(self):
        return self.length

    def __repr__(self):
        return 'FileSpan(%d, %d, %d)' % (self.fd, self.offset, self.length)


def accept_file_spans(environ):
    """Whether this answer's body may yield FileSpans (the server on the
    other end of ``environ`` sends them); when so, every chunk of the
    answer is then written as it comes, so that a span never overtakes
    bytes yielded before it."""
    if _FILE_SPAN_SOCKET not in environ:
        return False
    write_unbuffered(environ)
    environ[_FILE_SPANS_ACCEPTED] = True
    return True


def send_file(sock, fd, offset, length):
    """Send bytes [offset, offset + length) of file ``fd`` on the green
    socket ``sock`` with os.sendfile, waiting in the hub while the socket
    is full (within the socket's timeout). EOFError when the file ends
    first; OSError when the peer is gone."""
    fileno = sock.fileno()
    timeout = sock.gettimeout()
    end = offset + length
    while offset < end:
        try:
            sent = os.sendfile(fileno, fd, offset, end - offset)
        except BlockingIOError:
            eventlet.hubs.trampoline(fileno, write=True, timeout=timeout,
                                     timeout_exc=socket.timeout('timed out'))
            continue
        if not sent:
            raise EOFError('file ended at byte %d, before %d' % (offset, end))
        offset += sent


class _FileSpanSender:
    """The server's app: sends the FileSpans of answers that accepted them.

    Other answers pass through untouched, at the cost of one dict lookup.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        result = self.app(environ, start_response)
        if environ.get(_FILE_SPANS_ACCEPTED):
            return _sending_spans(result, environ[_FILE_SPAN_SOCKET])
        return result


def _sending_spans(result, sock):
    """``result``'s chunks, its FileSpans sent with sendfile instead.

    The server writes a yielded chunk before it asks for the next
    (accept_file_spans made the answer unbuffered), so once one non-empty
    chunk went out, the status line and headers have too, and a span may
    follow straight on the socket.
    """
    started = False
    try:
        for chunk in result:
            if not isinstance(chunk, FileSpan):
                started = started or bool(chunk)
                yield chunk
                continue
            span = chunk
            if not started and span.length:
                head = os.pread(span.fd, min(span.length, SPAN_HEAD_BYTES),
                                span.offset)
                if not head:
                    raise EOFError('file ended at byte %d' % span.offset)
                yield head
                started = True
                span = FileSpan(span.fd, span.offset + len(head),
                                span.length - len(head))
            send_file(sock, span.fd, span.offset, span.length)
    finally:
        close = getattr(result, 'close', None)
        if close is not None:
            close()


def write_unbuffered(environ):
    """Ask the WSGI server to send each chunk of this answer at once.

    It otherwise holds back writes (and the status line) until 4 KiB are
    queued: a heartbeat's spaces would never leave, and an answer that
    must be cut short after its headers could still turn into a 500.
    """
    environ['eventlet.minimum_write_chunk_size'] = 0


def monkey_patch():
    """Make the stdlib's socket, time, select and threading cooperative.

    Called once at process start by every server and daemon entry point,
    before any socket exists.
    """
    # Naming a module True patches only the named ones, so list them all;
    # os stays unpatched (blocking file I/O is explicit, via tpool).
    eventlet.monkey_patch(all=False, socket=True, select=True, time=True,
                          thread=True)
    eventlet.debug.hub_exceptions(False)


def fresh_hub():
    """Give this thread a new event hub (a forked worker's first step).

    A hub made before a fork keeps its epoll instance in both processes:
    the kernel then wakes the parent for every socket event of the
    worker, and the idle prefork parent burned as much CPU as the worker
    serving the requests. eventlet makes the new hub at its next use.
    """
    eventlet.hubs.use_hub()


def wait_readable(fd):
    """Block this green thread until ``fd`` can be read."""
    eventlet.hubs.trampoline(fd, read=True)


def is_monkey_patched():
    return eventlet.patcher.is_monkey_patched('socket')


_native_threading = eventlet.patcher.original('threading')
_native_thread = eventlet.patcher.original('_thread')


def tpool_execute(func, *args, **kwargs):
    """Run a blocking call (fsync, big reads) in a native thread.

    Only the main thread's hub hears the pool's answers; a caller that is
    itself another native thread would wait for an answer that never comes
    (a replicator pass run in a thread hung so), and it may block anyway,
    so the call runs right there.
    """
    if not in_main_thread():
        return func(*args, **kwargs)
    return eventlet.tpool.execute(func, *args, **kwargs)


def in_main_thread():
    """True in the native thread whose hub the thread pool answers."""
    return _native_thread.get_ident() == _native_threading.main_thread().ident


def green_local():
    """A storage object local to the current green thread."""
    return eventlet.corolocal.local()
