"""Fixtures of the tests of objstore.common: a minimal memcached."""

import socket
import threading
import time

import pytest


class TinyMemcached:
    """get/set/delete of the memcached text protocol, one thread per
    connection; enough to exercise the client."""

    def __init__(self):
        self.data = {}
        self.connections = 0
        # Faults to inject: seconds to wait before each reply, and a hook
        # that may rewrite the bytes of a get reply.
        self.delay = lambda: 0
        self.rewrite_get = lambda key, reply: reply
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
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _serve(self, conn):
        reader = conn.makefile('rb')
        with conn:
            for line in reader:
                words = line.split()
                time.sleep(self.delay())
                if words[0] == b'get':
                    value = self.data.get(words[1])
                    if value is not None:
                        reply = (b'VALUE %s 0 %d\r\n%s\r\nEND\r\n'
                                 % (words[1], len(value), value))
                    else:
                        reply = b'END\r\n'
                    try:
                        conn.sendall(self.rewrite_get(words[1], reply))
                    except OSError:
                        return
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
    """A TinyMemcached on a loopback port, closed after the test."""
    tiny = TinyMemcached()
    yield tiny
    tiny.close()
