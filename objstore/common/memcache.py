"""A tiny memcached client for shared caches (proxy info cache).

Owns: choosing a server for a key (CRC32 of the key over the server list),
the text protocol for get/set/delete, and short timeouts. A cache is an
optimisation: every failure is swallowed (get -> None) and the server is
skipped for ``retry_after`` seconds, so a dead memcached never fails a
request. Values are str (callers serialize); never pickled.
"""

import hashlib
import socket
import time
import zlib

DEFAULT_PORT = 11211


def _parse_server(text):
    host, _, port = text.strip().rpartition(':')
    if not host:
        return text.strip(), DEFAULT_PORT
    return host.strip('[]'), int(port)


class MemcacheRing:
    """get/set/delete against one of several memcached servers."""

    def __init__(self, servers, timeout=0.3, retry_after=30.0):
        self.servers = [_parse_server(s) for s in servers if s.strip()]
        if not self.servers:
            raise ValueError('no memcache servers given')
        self.timeout = timeout
        self.retry_after = retry_after
        self._conns = {}
        self._down_until = {}

    def _server_for(self, key):
        return self.servers[zlib.crc32(key.encode('utf-8'))
                            % len(self.servers)]

    def _conn(self, server):
        if self._down_until.get(server, 0) > time.monotonic():
            return None
        conn = self._conns.get(server)
        if conn is None:
            sock = socket.create_connection(server, self.timeout)
            sock.settimeout(self.timeout)
            conn = (sock, sock.makefile('rb'))
            self._conns[server] = conn
        return conn

    def _call(self, key, command, reader):
        server = self._server_for(key)
        try:
            conn = self._conn(server)
            if conn is None:
                return None
            conn[0].sendall(command)
            return reader(conn[1])
        except (OSError, ValueError):
            self._drop(server)
            return None

    def _drop(self, server):
        conn = self._conns.pop(server, None)
        if conn is not None:
            conn[1].close()
            conn[0].close()
        self._down_until[server] = time.monotonic() + self.retry_after

    @staticmethod
    def _key(key):
        """The wire key: memcached keys are <= 250 bytes, no whitespace."""
        encoded = key.encode('utf-8')
        if len(encoded) > 250 or any(c in encoded for c in b' \r\n\t'):
            return b'md5-' + hashlib.md5(encoded).hexdigest().encode()
        return encoded

    def get(self, key):
        def read(reader):
            line = reader.readline()
            if line.startswith(b'VALUE '):
                length = int(line.split()[3])
                data = reader.read(length + 2)[:length]
                if reader.readline() != b'END\r\n':
                    raise ValueError('bad memcache answer')
                return data.decode('utf-8')
            if line != b'END\r\n':
                raise ValueError('bad memcache answer: %r' % line)
            return None
        return self._call(key, b'get %s\r\n' % self._key(key), read)

    def set(self, key, value, ttl=0):
        data = value.encode('utf-8')
        command = b'set %s 0 %d %d\r\n%s\r\n' % (self._key(key), int(ttl),
                                                  len(data), data)
        return self._call(key, command, lambda r: r.readline() ==
                          b'STORED\r\n')

    def delete(self, key):
        return self._call(key, b'delete %s\r\n' % self._key(key),
                          lambda r: r.readline() in (b'DELETED\r\n',
                                                     b'NOT_FOUND\r\n'))
