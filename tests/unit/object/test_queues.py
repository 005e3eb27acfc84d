"""Async pendings and the expirer queue: format, naming, readers."""

import json
import os

import pytest

from objstore.object import asyncpending, expiring

HASH_A = 'a' * 32
HASH_B = 'b' * 29 + '123'


def test_async_pending_roundtrip(device_path):
    update = asyncpending.make_update(
        'PUT', 'AUTH_t', 'c', 'o/ü', {'X-Timestamp': '1700000000.00000',
                                      'X-Size': 3}, 1,
        [{'host': '127.0.0.1:6201', 'partition': '3', 'device': 'd1'}])
    path = asyncpending.write_async_pending(device_path, HASH_B, update)
    assert path == os.path.join(device_path, 'async_pending-1', '123',
                                HASH_B + '-1700000000.00000')
    assert asyncpending.read_async_pending(path) == update
    assert update['headers']['X-Size'] == '3'
    assert os.listdir(os.path.join(device_path, 'tmp')) == []
    assert list(asyncpending.iter_async_pendings(device_path, 1)) == [
        (path, update)]
    asyncpending.remove_async_pending(path)
    assert list(asyncpending.iter_async_pendings(device_path, 1)) == []
    assert not os.path.exists(os.path.dirname(path))


def test_async_pending_rejects_bad_input(device_path):
    with pytest.raises(ValueError):
        asyncpending.make_update('POST', 'a', 'c', 'o', {})
    good = asyncpending.make_update('DELETE', 'a', 'c', 'o',
                                    {'X-Timestamp': '1.00000'})
    path = asyncpending.write_async_pending(device_path, HASH_A, good)
    suffix_dir = os.path.dirname(path)
    with open(os.path.join(suffix_dir, HASH_A + '-2.00000'), 'wb') as bad:
        bad.write(json.dumps({'v': 1, 'op': 'GET'}).encode())
    with open(os.path.join(suffix_dir, 'not-a-pending'), 'wb') as junk:
        junk.write(b'x')
    found = dict(asyncpending.iter_async_pendings(device_path, 0))
    assert found == {path: good,
                     os.path.join(suffix_dir, HASH_A + '-2.00000'): None}
    with pytest.raises(ValueError):
        asyncpending.read_async_pending(
            os.path.join(suffix_dir, HASH_A + '-2.00000'))


def test_expirer_queue_yields_only_due_entries(device_path):
    entries = {}
    for delete_at, obj_hash in ((100, HASH_A), (200, HASH_B), (300, HASH_A)):
        entry = expiring.make_entry('a', 'c', 'o%d' % delete_at, 5,
                                    delete_at, '50.00000')
        entries[delete_at] = (expiring.add_entry(device_path, obj_hash,
                                                 entry), entry)
    assert entries[100][0] == os.path.join(device_path, 'expiring', '100',
                                           HASH_A)
    due = list(expiring.iter_expired(device_path, 0, now=200))
    assert due == [entries[100], entries[200]]
    expiring.remove_entry(entries[100][0])
    assert not os.path.exists(os.path.join(device_path, 'expiring', '100'))
    assert [e['delete_at'] for _, e in
            expiring.iter_expired(device_path, 0, now=10 ** 10)] == [200, 300]
    assert list(expiring.iter_expired(device_path, 3, now=10 ** 10)) == []


def test_expirer_entry_validation(device_path):
    entry = expiring.make_entry('a', 'c', 'o', 1, 100, '1.00000')
    assert expiring.parse_entry(json.dumps(entry).encode()) == entry
    for bad in (b'{', b'[]', json.dumps({'v': 1}).encode(), b'\xff'):
        with pytest.raises(ValueError):
            expiring.parse_entry(bad)
    path = expiring.add_entry(device_path, HASH_A, entry)
    with open(path, 'wb') as broken:
        broken.write(b'{"v": 2}')
    assert list(expiring.iter_expired(device_path, 0, 100)) == [(path, None)]


def test_expirer_queue_passes_over_dirs_int_cannot_read(device_path):
    root = expiring.queue_dir(device_path, 0)
    for name in ('\xb2', '\u0661\u0662', '100'):
        os.makedirs(os.path.join(root, name))
    assert expiring.due_times(os.listdir(root), 1000) == ['100']
    assert list(expiring.iter_expired(device_path, 0, 1000)) == []
