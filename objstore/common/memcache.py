"""A tiny memcached client for shared caches (proxy info cache).

Owns: choosing a server for a key (CRC32 of the key over the server list),
the text protocol for get/set/delete and counters (incr/decr), a pool of connections per server,
and short timeouts. A cache is an optimisation: every failure is swallowed
(get -> None) and the server is skipped for ``retry_after`` seconds, so a
dead memcached never fails a request. Values are str (callers serialize);
never pickled.

Why a pool and not one socket per server: the proxy serves many requests
at once in green threads, and two of them interleaving on one socket read
each other's replies (a container's info with another container's ACL).
So a connection belongs to one caller from its command to the end of its
reply, then goes back to the pool; one that failed in any way, or whose
caller was interrupted mid-reply (a timeout), is closed, never reused,
since an unread reply may be left in it. Replies to ``get`` are checked
against the key asked for as a second line of defence.
"""

import collections
import hashlib
import socket
import time
import zlib

DEFAULT_PORT = 11211
# Idle connections kept per server; more may be open while busy.
MAX_IDLE = 16


def _parse_server(text):
    host, _, port = text.strip().rpartition(':')
    if not host:
        return text.strip(), DEFAULT_PORT
    return host.strip('[]'), int(port)


class BadReply(ValueError):
    """The server's answer is not what the command calls for."""


class Connection:
    """One socket to a memcached and its buffered reader."""

    def __init__(self, server, timeout):
        self.sock = socket.create_connection(server, timeout)
        self.sock.settimeout(timeout)
        self.reader = self.sock.makefile('rb')

    def close(self):
        self.reader.close()
        self.sock.close()


class MemcacheRing:
    """get/set/delete against one of several memcached servers."""

    def __init__(self, servers, timeout=0.3, retry_after=30.0):
        self.servers = [_parse_server(s) for s in servers if s.strip()]
        if not self.servers:
            raise ValueError('no memcache servers given')
        self.timeout = timeout
        self.retry_after = retry_after
        # deque: append/pop are atomic for threads and green threads alike.
        self._idle = {server: collections.deque() for server in self.servers}
        self._down_until = {}

    def _server_for(self, key):
        return self.servers[zlib.crc32(key.encode('utf-8'))
                            % len(self.servers)]

    def _checkout(self, server):
        try:
            return self._idle[server].pop()
        except IndexError:
            return Connection(server, self.timeout)

    def _checkin(self, server, conn):
        idle = self._idle[server]
        if len(idle) < MAX_IDLE:
            idle.append(conn)
        else:
            conn.close()

    def _call(self, key, command, reader):
        server = self._server_for(key)
        if self._down_until.get(server, 0) > time.monotonic():
            return None
        conn = None
        try:
            conn = self._checkout(server)
            conn.sock.sendall(command)
            result = reader(conn.reader)
        except (OSError, ValueError):
            self._mark_down(server, conn)
            return None
        except BaseException:
            # Interrupted mid-reply (e.g. an outer timeout): the rest of
            # the reply may still arrive, so the connection is unusable.
            if conn is not None:
                conn.close()
            raise
        self._checkin(server, conn)
        return result

    def _mark_down(self, server, conn):
        if conn is not None:
            conn.close()
        idle = self._idle[server]
        while idle:
            idle.pop().close()
        self._down_until[server] = time.monotonic() + self.retry_after

    @staticmethod
    def _key(key):
        """The wire key: memcached keys are <= 250 bytes, no whitespace."""
        encoded = key.encode('utf-8')
        if len(encoded) > 250 or any(c in encoded for c in b' \r\n\t'):
            return b'md5-' + hashlib.md5(encoded).hexdigest().encode()
        return encoded

    def get(self, key):
        wire_key = self._key(key)
        return self._call(key, b'get %s\r\n' % wire_key,
                          lambda reader: read_get_reply(reader, wire_key))

    def set(self, key, value, ttl=0):
        data = value.encode('utf-8')
        command = b'set %s 0 %d %d\r\n%s\r\n' % (self._key(key), int(ttl),
                                                  len(data), data)
        return self._call(key, command,
                          lambda reader: read_status(reader, (b'STORED',)))

    def delete(self, key):
        return self._call(key, b'delete %s\r\n' % self._key(key),
                          lambda reader: read_status(
                              reader, (b'DELETED', b'NOT_FOUND')))

    def incr(self, key, delta=1, ttl=0):
        """The counter ``key`` after adding ``delta`` (created at ``delta``
        when missing), or None when memcached cannot be reached. Atomic
        across every proxy sharing the server: two creators racing both
        count (the loser of ``add`` increments)."""
        for _attempt in range(2):
            value = self._counter(key, b'incr', delta)
            if value is not False:
                return value
            added = self._call(key, b'add %s 0 %d %d\r\n%d\r\n' % (
                self._key(key), int(ttl), len(b'%d' % delta), delta),
                lambda reader: read_status(reader, (b'STORED',)))
            if added is None:
                return None
            if added:
                return delta
        return None

    def decr(self, key, delta=1):
        """The counter ``key`` after taking ``delta`` off (memcached stops
        at 0), None when missing or unreachable."""
        value = self._counter(key, b'decr', delta)
        return None if value is False else value

    def _counter(self, key, verb, delta):
        """incr/decr: the new value, False when the key is missing."""
        return self._call(key, b'%s %s %d\r\n' % (verb, self._key(key),
                                                    delta),
                          read_counter_reply)


def read_status(reader, expected):
    """True when the one-line reply is one of ``expected``; BadReply for a
    line that answers no such command (the stream is out of step)."""
    line = reader.readline()
    if not line.endswith(b'\r\n'):
        raise BadReply('truncated memcache reply: %r' % line)
    word = line[:-2]
    if word in expected:
        return True
    if word in (b'NOT_STORED', b'EXISTS', b'NOT_FOUND') or \
            word.startswith(b'SERVER_ERROR'):
        return False
    raise BadReply('unexpected memcache reply: %r' % line)


def read_counter_reply(reader):
    """The number an incr/decr answers, False for ``NOT_FOUND``."""
    line = reader.readline()
    if line == b'NOT_FOUND\r\n':
        return False
    word = line[:-2]
    if not line.endswith(b'\r\n') or not (word.isascii() and word.isdigit()):
        raise BadReply('unexpected memcache counter reply: %r' % line)
    return int(word)


def read_get_reply(reader, wire_key):
    """The value of a ``get`` reply, or None on a miss.

    ``VALUE <key> <flags> <bytes>\\r\\n<data>\\r\\nEND\\r\\n``; the key must
    be the one asked for and the data complete, else BadReply.
    """
    line = reader.readline()
    if line == b'END\r\n':
        return None
    words = line.split()
    if len(words) != 4 or words[0] != b'VALUE' or not line.endswith(b'\r\n'):
        raise BadReply('bad memcache answer: %r' % line)
    if words[1] != wire_key:
        raise BadReply('memcache answered for key %r, not %r'
                       % (words[1], wire_key))
    if not (words[3].isascii() and words[3].isdigit()):
        raise BadReply('bad memcache length: %r' % line)
    length = int(words[3])
    data = reader.read(length + 2)
    if len(data) != length + 2 or not data.endswith(b'\r\n'):
        raise BadReply('truncated memcache value')
    if reader.readline() != b'END\r\n':
        raise BadReply('memcache value not followed by END')
    return data[:length].decode('utf-8')
