"""The DiskFile API contract, run against the disk and the in-memory twin.

Anything the object server relies on is asserted here for both, so the
twin cannot drift from the real thing.
"""

import hashlib
import time

import pytest

from objstore.common.exceptions import (
    DiskFileDeleted, DiskFileDeviceUnavailable, DiskFileExpired,
    DiskFileNoSpace, DiskFileNotExist, DiskFileQuarantined)
from objstore.common.storage_policy import REPLICATION
from objstore.common.timestamp import Timestamp
from objstore.object.diskfile import DiskFileManager, DiskFileSettings
from objstore.object.memdiskfile import InMemoryDiskFileManager
from tests.unit.object.conftest import (HASH_CONF, ObjectServerHarness,
                                        opath)

BASE = int(time.time())
T1, T2, T3 = (Timestamp(BASE + i).internal for i in (1, 2, 3))


@pytest.fixture(params=['disk', 'memory'])
def any_mgr(request, devices):
    if request.param == 'disk':
        return DiskFileManager(DiskFileSettings(
            devices=devices, disk_chunk_size=1000, hash_conf=HASH_CONF))
    return InMemoryDiskFileManager(('sda',), HASH_CONF, chunk_size=1000)


def write(mgr, body, timestamp, obj='o', **extra):
    df = mgr.get_diskfile('sda', '3', 'a', 'c', obj)
    with df.create(len(body)) as writer:
        for i in range(0, len(body), 700):
            writer.write(body[i:i + 700])
        meta = {'X-Timestamp': timestamp, 'Content-Type': 't/t'}
        meta.update(extra)
        writer.put(meta)
    return df


def test_write_open_read(any_mgr):
    body = bytes(range(256)) * 20
    write(any_mgr, body, T1, **{'X-Object-Meta-X': 'y'})
    df = any_mgr.get_diskfile('sda', '3', 'a', 'c', 'o')
    meta = df.open()
    assert meta['ETag'] == hashlib.md5(body).hexdigest() == df.etag
    assert df.content_length == len(body)
    assert meta['X-Object-Meta-X'] == 'y' and meta['name'] == '/a/c/o'
    assert df.timestamp == df.data_timestamp == Timestamp(T1)
    chunks = list(df.reader())
    assert b''.join(chunks) == body and max(map(len, chunks)) <= 1000
    df.open()
    assert b''.join(df.reader().iter_range(1500, 2600)) == body[1500:2600]


def test_states_and_ordering(any_mgr):
    df = any_mgr.get_diskfile('sda', '3', 'a', 'c', 'o')
    with pytest.raises(DiskFileNotExist):
        df.open()
    write(any_mgr, b'x', T2)
    write(any_mgr, b'older', T1)      # an older write loses on its own
    assert b''.join(_reopen(any_mgr).reader()) == b'x'
    df.write_metadata({'X-Timestamp': T3, 'X-Object-Meta-M': '1'})
    df = _reopen(any_mgr)
    assert df.timestamp == Timestamp(T3)
    assert df.data_timestamp == Timestamp(T2)
    df.delete(Timestamp(BASE + 4))
    with pytest.raises(DiskFileDeleted) as caught:
        _reopen(any_mgr)
    assert caught.value.timestamp == Timestamp(BASE + 4)


def _reopen(mgr):
    df = mgr.get_diskfile('sda', '3', 'a', 'c', 'o')
    df.open()
    return df


def test_expiry_and_devices(any_mgr):
    write(any_mgr, b'x', T1, **{'X-Delete-At': str(BASE + 10)})
    df = any_mgr.get_diskfile('sda', '3', 'a', 'c', 'o')
    df.open(now=BASE + 9)
    with pytest.raises(DiskFileExpired):
        df.open(now=BASE + 10)
    # From get_diskfile, or (mount_check off) at the latest from open().
    with pytest.raises(DiskFileDeviceUnavailable):
        any_mgr.get_diskfile('nodev', '3', 'a', 'c', 'o').open()


def test_writer_abandoned_leaves_nothing(any_mgr):
    df = any_mgr.get_diskfile('sda', '3', 'a', 'c', 'o')
    with df.create(10) as writer:
        writer.write(b'12345')
    with pytest.raises(DiskFileNotExist):
        df.open()


def test_hashes_agree_between_disk_and_memory(devices):
    disk = DiskFileManager(DiskFileSettings(devices=devices,
                                            hash_conf=HASH_CONF))
    memory = InMemoryDiskFileManager(('sda',), HASH_CONF)
    for mgr in (disk, memory):
        for i in range(6):
            write(mgr, b'%d' % i, T1, obj='o%d' % i)
        mgr.get_diskfile('sda', '3', 'a', 'c', 'o1').delete(T2)
    assert disk.get_hashes('sda', '3') == memory.get_hashes('sda', '3')
    assert len(disk.get_hashes('sda', '3')) >= 1


def test_server_over_the_twin(devices):
    memory = InMemoryDiskFileManager(('sda',), HASH_CONF)
    harness = ObjectServerHarness(devices)
    harness.app.managers[REPLICATION] = memory
    try:
        stamp = Timestamp(BASE).internal
        assert harness.request('PUT', opath(), {
            'X-Timestamp': stamp, 'X-Delete-At': str(BASE + 86400)},
            b'abc')[0] == 201
        assert harness.request('GET', opath())[2] == b'abc'
        assert len(memory.expiring_entries) == 1
        assert harness.request('PUT', opath(), {'X-Timestamp': stamp},
                               b'x')[0] == 409
        memory.full = True
        assert harness.request('DELETE', opath(), {
            'X-Timestamp': T1})[0] == 507
        memory.full = False
        memory.get_diskfile('sda', '0', 'a', 'c', 'o').corrupt()
        with pytest.raises(DiskFileQuarantined):
            df = memory.get_diskfile('sda', '0', 'a', 'c', 'o')
            df.open()
            b''.join(df.reader())
        assert harness.request('GET', opath())[0] == 404
        memory.full = True
        with pytest.raises(DiskFileNoSpace):
            memory.get_diskfile('sda', '0', 'a', 'c', 'o').delete(T2)
    finally:
        harness.stop()
