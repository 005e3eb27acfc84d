"""The one module that imports eventlet.

Everything else reaches green threads, timeouts, queues and sockets through
these names, so the concurrency library can be swapped in one place. The
HTTP server (common.http_server) is our own, on these green sockets; the
FileSpans an answer may yield (file bytes sent with os.sendfile rather than
through Python) and the SpliceSpans a proxy's body may yield (a backend's
bytes moved to the client with os.splice) are defined and sent here.
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

import fcntl
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

    def send(self, sock):
        send_file(sock, self.fd, self.offset, self.length)

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


# -- splices: response bytes moved socket to socket through a pipe ---------

# Set by the HTTP server in every request's environ: it sends SpliceSpans.
SPLICE_SERVED = 'objstore.splice_served'
# A body that could move the rest of its bytes itself puts the chunk it
# yields under SPLICE_OFFER; the server, seeing that very chunk arrive,
# puts it under SPLICE_ACCEPTED (see offer_splice).
SPLICE_OFFER = 'objstore.splice_offer'
SPLICE_ACCEPTED = 'objstore.splice_accepted'
# A pipe takes up to this many bytes per splice into it (the unprivileged
# limit, /proc/sys/fs/pipe-max-size): fewer, larger splices per MB.
PIPE_BYTES = 1 << 20
_SPLICE_FLAGS = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
_idle_pipes = []
MAX_IDLE_PIPES = 8


class SpliceSpan:
    """``length`` bytes an app's body iterator moves itself to the client
    socket (``send(sock)``), yielded in place of those bytes.

    Only yielded after the server accepted an offer (offer_splice), so
    every middleware between them passed the body's chunks on unchanged;
    like a FileSpan it has a length for those that count the bytes.
    """

    __slots__ = ('length', 'send')

    def __init__(self, length, send):
        self.length = length
        self.send = send

    def __len__(self):
        return self.length

    def __repr__(self):
        return 'SpliceSpan(%d)' % self.length


# What a body may yield in place of bytes: each has a ``length`` and a
# ``send(sock)`` that moves its bytes to the client socket itself.
SPAN_TYPES = (FileSpan, SpliceSpan)


def offer_splice(environ, chunk):
    """Offer to send the rest of a body as a SpliceSpan after ``chunk``,
    which the body yields next (only where the server sends SpliceSpans).

    The server accepts when the offered chunk reaches it as it was
    yielded (the same object): no middleware changed, held back or
    consumed the body so far. A middleware that reads the bytes of a
    body it passes on uses a subrequest (its own environ), so its bodies
    are never offered.
    """
    if environ.get(SPLICE_SERVED):
        environ[SPLICE_OFFER] = chunk


def splice_accepted(environ, chunk):
    """Whether the server took ``chunk``, the body's last offer: each
    body asks about its own last chunk, so no other body's offer (one a
    middleware consumed before it, with the same environ) counts."""
    return environ.get(SPLICE_ACCEPTED) is chunk


def accept_splice(environ, chunk):
    """The server's side of offer_splice: ``chunk`` reached it."""
    if chunk is environ.get(SPLICE_OFFER):
        environ[SPLICE_ACCEPTED] = chunk


class SourceBroken(Exception):
    """The sending socket of a splice failed or closed early, after
    ``moved`` bytes reached the receiving socket (none are left between)."""

    def __init__(self, moved, reason):
        super().__init__('splice source broken after %d bytes: %s'
                         % (moved, reason))
        self.moved = moved


def splice(src, dst, length):
    """Move ``length`` bytes from green socket ``src`` to green socket
    ``dst`` through a pipe, never through Python; the kernel copies
    them once per side instead of recv()'s and sendall()'s copies into
    and out of Python objects.

    Waits in the hub on either socket within its own timeout. Raises
    SourceBroken when ``src`` fails or ends first; OSError (socket.timeout
    included) when ``dst`` does.
    """
    try:
        pipe = _idle_pipes.pop()
    except IndexError:
        pipe = _new_pipe()
    clean = False
    try:
        _splice_through(pipe, src, dst, length)
        clean = True
    except SourceBroken:
        # A source failure happens with the pipe drained.
        clean = True
        raise
    finally:
        if clean and len(_idle_pipes) < MAX_IDLE_PIPES:
            _idle_pipes.append(pipe)
        else:
            os.close(pipe[0])
            os.close(pipe[1])


def _new_pipe():
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:
        pass  # a lower system limit: the default size works, in more calls
    return read_fd, write_fd


def _splice_through(pipe, src, dst, length):
    """Fill the pipe from ``src``, empty it into ``dst``, until ``length``
    bytes went out. The pipe is empty whenever ``src`` is read, so a
    source failure leaves no byte in between."""
    src_fd, dst_fd = src.fileno(), dst.fileno()
    src_timeout, dst_timeout = src.gettimeout(), dst.gettimeout()
    moved = 0
    while moved < length:
        try:
            got = _splice_wait(src_fd, pipe[1], min(length - moved,
                                                    PIPE_BYTES),
                               src_timeout, read=True)
        except OSError as err:
            raise SourceBroken(moved, err)
        if not got:
            raise SourceBroken(moved, 'closed at byte %d of %d'
                               % (moved, length))
        while got:
            out = _splice_wait(pipe[0], dst_fd, got, dst_timeout, read=False)
            if not out:
                raise BrokenPipeError('splice wrote nothing')
            got -= out
            moved += out


def _splice_wait(from_fd, to_fd, count, timeout, read):
    """One os.splice, waiting in the hub while the socket end (read: the
    source, else the destination) is not ready."""
    socket_fd = from_fd if read else to_fd
    while True:
        try:
            return os.splice(from_fd, to_fd, count, flags=_SPLICE_FLAGS)
        except BlockingIOError:
            eventlet.hubs.trampoline(socket_fd, read=read, write=not read,
                                     timeout=timeout,
                                     timeout_exc=socket.timeout('timed out'))


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
