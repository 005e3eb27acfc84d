"""MemcacheRing against a minimal memcached (text protocol) on a real
loopback socket, and its behaviour when the server is gone."""

import socket
import threading

import pytest

from objstore.common.memcache import MemcacheRing


class TinyMemcached:
    """get/set/delete of the memcached text protocol, one thread per
    connection; enough to exercise the client."""

    def __init__(self):
        self.data = {}
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _serve(self, conn):
        reader = conn.makefile('rb')
        with conn:
            for line in reader:
                words = line.split()
                if words[0] == b'get':
                    value = self.data.get(words[1])
                    if value is not None:
                        conn.sendall(b'VALUE %s 0 %d\r\n%s\r\nEND\r\n'
                                     % (words[1], len(value), value))
                    else:
                        conn.sendall(b'END\r\n')
                elif words[0] == b'set':
                    value = reader.read(int(words[4]) + 2)[:-2]
                    self.data[words[1]] = value
                    conn.sendall(b'STORED\r\n')
                elif words[0] == b'delete':
                    found = self.data.pop(words[1], None) is not None
                    conn.sendall(b'DELETED\r\n' if found
                                 else b'NOT_FOUND\r\n')

    def close(self):
        self.sock.close()


@pytest.fixture
def server():
    tiny = TinyMemcached()
    yield tiny
    tiny.close()


def test_set_get_delete(server):
    ring = MemcacheRing(['127.0.0.1:%d' % server.port])
    assert ring.get('k') is None
    assert ring.set('k', 'v\u00e9', 10)
    assert ring.get('k') == 'v\u00e9'
    assert ring.delete('k')
    assert ring.get('k') is None


def test_long_or_spaced_keys_are_hashed(server):
    ring = MemcacheRing(['127.0.0.1:%d' % server.port])
    key = 'container/AUTH_a/with space ' + 'x' * 300
    ring.set(key, 'v', 10)
    assert ring.get(key) == 'v'
    assert all(len(k) <= 250 and b' ' not in k for k in server.data)


def test_dead_server_is_quietly_skipped():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    ring = MemcacheRing(['127.0.0.1:%d' % port], timeout=0.2)
    assert ring.get('k') is None
    assert ring.set('k', 'v') is None


def test_no_servers_is_an_error():
    with pytest.raises(ValueError):
        MemcacheRing([' '])
