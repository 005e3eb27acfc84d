"""The one module that imports eventlet.

Everything else reaches green threads, timeouts, queues and sockets through
these names, so the concurrency library can be swapped in one place. The
HTTP server (common.http_server) is our own, on these green sockets; the
FileSpans an answer may yield (file bytes sent with os.sendfile rather than
through Python) are defined and sent here.
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

import os
import socket
import warnings

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


# -- file spans: response bytes sent from a file with os.sendfile ----------

# Set by the HTTP server (common.http_server) in every request's environ:
# it sends the FileSpans an answer yields.
FILE_SPANS_SERVED = 'objstore.file_spans_served'


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
    """Whether this answer's body may yield FileSpans: the server on the
    other end of ``environ`` sends them (an app called directly, a
    subrequest, gets bytes)."""
    return environ.get(FILE_SPANS_SERVED, False)


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


def write_unbuffered(environ):
    """Ask the HTTP server to send each chunk of this answer at once.

    It otherwise holds back writes (and the status line) until 4 KiB are
    queued: a heartbeat's spaces would never leave, and an answer that
    must be cut short after its headers could still turn into a 500.
    The key is eventlet's own, which middlewares know (bulk sets it).
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
