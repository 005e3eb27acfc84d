"""MemcacheRing against a minimal memcached (text protocol) on a real
loopback socket, and its behaviour when the server is gone, slow, or
answers out of step."""

import random
import socket
import threading

import pytest

from objstore.common.memcache import MemcacheRing


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


def test_concurrent_callers_each_get_their_own_value(server):
    """Many threads on one ring, replies slow and jittered: every get
    returns its own key's value (one connection per caller at a time)."""
    ring = MemcacheRing(['127.0.0.1:%d' % server.port], timeout=5)
    for i in range(40):
        ring.set('key-%d' % i, 'value-%d' % i)
    server.delay = lambda: random.uniform(0, 0.005)
    wrong = []

    def reader(offset):
        for n in range(30):
            i = (offset + n) % 40
            got = ring.get('key-%d' % i)
            if got != 'value-%d' % i:
                wrong.append((i, got))
    threads = [threading.Thread(target=reader, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert wrong == []
    assert server.connections > 1


def test_reply_for_another_key_is_not_taken(server):
    ring = MemcacheRing(['127.0.0.1:%d' % server.port], retry_after=0)
    ring.set('acl-a', 'secret-a')
    ring.set('acl-b', 'secret-b')
    server.rewrite_get = lambda key, reply: reply.replace(b'acl-b',
                                                          b'acl-a')
    assert ring.get('acl-b') is None
    server.rewrite_get = lambda key, reply: reply
    assert ring.get('acl-b') == 'secret-b'


def test_reply_left_in_the_stream_never_answers_a_later_get(server):
    """A server (or an interrupted caller) leaves an extra reply in the
    connection: the next get on it must not return that value."""
    ring = MemcacheRing(['127.0.0.1:%d' % server.port], retry_after=0)
    ring.set('container/a', '{"read_acl": "a-only"}')
    ring.set('container/b', '{"read_acl": ".r:*"}')
    server.rewrite_get = lambda key, reply: reply * 2
    assert ring.get('container/a') == '{"read_acl": "a-only"}'
    server.rewrite_get = lambda key, reply: reply
    assert ring.get('container/b') in (None, '{"read_acl": ".r:*"}')
    assert ring.get('container/b') == '{"read_acl": ".r:*"}'


def test_partial_reply_then_timeout_drops_the_connection(server):
    ring = MemcacheRing(['127.0.0.1:%d' % server.port], timeout=0.2,
                        retry_after=0)
    ring.set('k1', 'first')
    ring.set('k2', 'second')
    gate = threading.Event()

    def half_then_rest(key, reply):
        if key == b'k1' and not gate.is_set():
            gate.set()
            return reply[:12]
        return reply
    server.rewrite_get = half_then_rest
    connections = server.connections
    assert ring.get('k1') is None
    assert ring.get('k2') == 'second'
    assert server.connections == connections + 1


def test_slow_reply_times_out_and_the_late_bytes_are_never_read(server):
    ring = MemcacheRing(['127.0.0.1:%d' % server.port], timeout=0.2,
                        retry_after=0)
    ring.set('slow', 'late-value')
    ring.set('fast', 'right-value')
    server.delay = lambda: 0.5
    assert ring.get('slow') is None
    server.delay = lambda: 0
    assert ring.get('fast') == 'right-value'
