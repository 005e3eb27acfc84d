"""Object system metadata on a real object server: X-Object-Sysmeta-* is
set by a PUT only and survives POSTs; X-Object-Transient-Sysmeta-* is set
by PUT and replaced by POST, like user metadata (Swift's rules)."""

import time

from objstore.common.timestamp import Timestamp
from tests.unit.object.conftest import opath

NOW = time.time()


def ts(offset=0):
    return Timestamp(NOW + offset).internal


def write(server, method, offset, **headers):
    send = {'X-Timestamp': ts(offset)}
    send.update(headers)
    body = b'body' if method == 'PUT' else None
    if method == 'PUT':
        send['Content-Type'] = 'text/plain'
    return server.request(method, opath(), send, body)[0]


def sysmeta_of(server):
    status, headers, _ = server.request('HEAD', opath())
    assert status == 200
    return {name: value for name, value in headers.items()
            if 'sysmeta' in name}


def test_put_stores_both_kinds_of_sysmeta(server):
    assert write(server, 'PUT', 0, **{
        'X-Object-Sysmeta-Owner': 'me',
        'X-Object-Transient-Sysmeta-Crypto': 'k1'}) == 201
    assert sysmeta_of(server) == {'x-object-sysmeta-owner': 'me',
                                  'x-object-transient-sysmeta-crypto': 'k1'}


def test_post_replaces_transient_sysmeta_never_sysmeta(server):
    assert write(server, 'PUT', 0, **{
        'X-Object-Sysmeta-Owner': 'me',
        'X-Object-Transient-Sysmeta-Old': 'o'}) == 201
    assert write(server, 'POST', 1, **{
        'X-Object-Sysmeta-Owner': 'you', 'X-Object-Sysmeta-New': 'n',
        'X-Object-Transient-Sysmeta-New': 't'}) == 202
    assert sysmeta_of(server) == {'x-object-sysmeta-owner': 'me',
                                  'x-object-transient-sysmeta-new': 't'}
    assert write(server, 'POST', 2) == 202
    assert sysmeta_of(server) == {'x-object-sysmeta-owner': 'me'}


def test_put_replaces_sysmeta(server):
    assert write(server, 'PUT', 0, **{'X-Object-Sysmeta-Owner': 'me'}) == 201
    assert write(server, 'POST', 1, **{
        'X-Object-Transient-Sysmeta-T': 't'}) == 202
    assert write(server, 'PUT', 2, **{'X-Object-Sysmeta-Other': 'o'}) == 201
    assert sysmeta_of(server) == {'x-object-sysmeta-other': 'o'}


def test_post_answers_with_the_objects_sysmeta(server):
    """Swift's object server does, and the symlink middleware relies on it
    to answer a POST to a symlink with 307."""
    assert write(server, 'PUT', 0, **{
        'X-Object-Sysmeta-Symlink-Target': 'c/t',
        'X-Object-Meta-Color': 'red'}) == 201
    status, headers, _ = server.request('POST', opath(), {
        'X-Timestamp': ts(1)}, None)
    assert status == 202
    assert headers['x-object-sysmeta-symlink-target'] == 'c/t'
    assert 'x-object-meta-color' not in headers
