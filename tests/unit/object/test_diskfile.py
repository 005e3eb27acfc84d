"""DiskFile on real tmp devices: write, read, POST, delete, quarantine."""

import hashlib
import os
import time

import pytest

from objstore.common import durable
from objstore.common.exceptions import (
    DiskFileCollision, DiskFileDeleted, DiskFileDeviceUnavailable,
    DiskFileExpired, DiskFileNoSpace, DiskFileNotExist, DiskFileQuarantined)
from objstore.common.timestamp import Timestamp
from objstore.object import hashdir, ondisk
from objstore.object.diskfile import (
    DiskFileManager, DiskFileSettings, remove_tmp_older_than)
from objstore.object.diskfile_writer import WRITEBACK_BYTES
from tests.helpers import dirty_pages, wait_for
from tests.unit.common.test_durable import dir_flags
from tests.unit.object.conftest import HASH_CONF, put_object, tmp_files

# Recent timestamps: a tombstone older than reclaim_age is removed at once.
BASE = int(time.time())
T1, T2, T3 = (Timestamp(BASE + i).normal for i in (1, 2, 3))


def test_put_then_open_and_read(mgr, device_path):
    body = os.urandom(10000)
    df = put_object(mgr, 'o', body, T1, {'X-Object-Meta-Color': 'blue'})
    assert sorted(os.listdir(df.hash_dir)) == [T1 + '.data']
    assert df.hash_dir.startswith(os.path.join(device_path, 'objects', '0'))
    meta = mgr.get_diskfile('sda', '0', 'a', 'c', 'o').open()
    assert meta['ETag'] == hashlib.md5(body).hexdigest()
    assert meta['Content-Length'] == '10000'
    assert meta['name'] == '/a/c/o'
    assert meta['X-Object-Meta-Color'] == 'blue'
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    df.open()
    assert b''.join(df.reader()) == body
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    df.open()
    assert b''.join(df.reader().iter_range(5000, 5010)) == body[5000:5010]
    assert tmp_files(device_path) == []


def test_writer_starts_writeback_while_the_body_arrives(mgr, device_path):
    """A large body's pages go to disk as it streams in, not all at the
    final fsync: what was written before the last writeback step is clean
    long before the kernel would flush it on its own (30 s)."""
    chunk = os.urandom(256 * 1024)
    total = 2 * WRITEBACK_BYTES + len(chunk)
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'big')
    with df.create(total) as writer:
        while writer.bytes_written < total:
            writer.write(chunk)
        tmp_path = os.path.join(device_path, 'tmp',
                                tmp_files(device_path)[0])
        tail_pages = len(chunk) // 4096
        assert wait_for(lambda: dirty_pages(tmp_path) <= tail_pages,
                        timeout=10)
        writer.put({'X-Timestamp': T1})
        writer.commit(T1)
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'big')
    assert df.open()['Content-Length'] == str(total)


def test_missing_object_and_device(mgr, devices):
    with pytest.raises(DiskFileNotExist):
        mgr.get_diskfile('sda', '0', 'a', 'c', 'nothing').open()
    # mount_check off: the device dir is looked for once the hash dir is
    # not found, and before anything is written.
    with pytest.raises(DiskFileDeviceUnavailable):
        mgr.get_diskfile('sdz', '0', 'a', 'c', 'o').open()
    for bad in ('..', '', 'a/b'):
        with pytest.raises(DiskFileDeviceUnavailable):
            mgr.get_diskfile(bad, '0', 'a', 'c', 'o')
    for bad in ('..', '', 'a/b'):
        with pytest.raises(DiskFileDeviceUnavailable):
            mgr.device_path(bad)
    strict = DiskFileManager(DiskFileSettings(devices=devices,
                                              mount_check=True))
    with pytest.raises(DiskFileDeviceUnavailable):
        strict.device_path('sda')
    with pytest.raises(DiskFileDeviceUnavailable):
        strict.get_diskfile('sda', '0', 'a', 'c', 'o')


def test_no_write_makes_a_missing_device(mgr, devices):
    df = mgr.get_diskfile('sdz', '0', 'a', 'c', 'o')
    with pytest.raises(DiskFileDeviceUnavailable):
        with df.create(1) as writer:
            writer.write(b'x')
    for write in (lambda: df.delete(T1),
                  lambda: df.write_metadata({'X-Timestamp': T1}),
                  lambda: df.withdraw(T1)):
        with pytest.raises(DiskFileDeviceUnavailable):
            write()
    assert os.listdir(devices) == ['sda']


def test_reading_an_object_does_not_stat_its_device(mgr, monkeypatch):
    # mount_check off: the hash dir found shows the device is there.
    put_object(mgr, 'o', b'body', T1)
    device_path = os.path.join(mgr.settings.devices, 'sda')
    looked = []
    real_stat = os.stat

    def stat(path, *args, **kwargs):
        looked.append(path)
        return real_stat(path, *args, **kwargs)
    monkeypatch.setattr(os, 'stat', stat)
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    df.open()
    assert b''.join(df.reader()) == b'body'
    df.open()
    df.close()
    df.delete(T2)
    assert device_path not in looked
    # A hash dir not found asks for the device, once.
    missing = mgr.get_diskfile('sda', '0', 'a', 'c', 'nothing')
    with pytest.raises(DiskFileNotExist):
        missing.open()
    assert looked.count(device_path) == 1


def test_newer_put_replaces_and_cleans_up(mgr):
    put_object(mgr, 'o', b'old', T1)
    df = put_object(mgr, 'o', b'new', T2)
    assert os.listdir(df.hash_dir) == [T2 + '.data']
    df.open()
    assert b''.join(df.reader()) == b'new'


def test_open_keeps_reading_bytes_replaced_meanwhile(mgr):
    put_object(mgr, 'o', b'old' * 5000, T1)
    reader_df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    reader_df.open()
    put_object(mgr, 'o', b'new', T2)
    assert b''.join(reader_df.reader()) == b'old' * 5000


def test_post_metadata_and_delete(mgr):
    put_object(mgr, 'o', b'body', T1, {'X-Object-Meta-A': '1',
                                       'X-Object-Sysmeta-S': 's'})
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    df.write_metadata({'X-Timestamp': T2, 'X-Object-Meta-B': '2'})
    meta = df.open()
    assert 'X-Object-Meta-A' not in meta and meta['X-Object-Meta-B'] == '2'
    assert meta['X-Object-Sysmeta-S'] == 's'
    assert df.timestamp == Timestamp(T2) and df.data_timestamp == Timestamp(T1)
    df.close()
    df.delete(T3)
    with pytest.raises(DiskFileDeleted) as caught:
        mgr.get_diskfile('sda', '0', 'a', 'c', 'o').open()
    assert caught.value.timestamp == Timestamp(T3)
    assert os.listdir(df.hash_dir) == [T3 + '.ts']


def test_expired_object(mgr):
    delete_at = BASE + 100
    put_object(mgr, 'o', b'x', T1, {'X-Delete-At': str(delete_at)})
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    assert df.open(now=delete_at - 1)['X-Delete-At'] == str(delete_at)
    df.close()
    with pytest.raises(DiskFileExpired) as caught:
        df.open(now=delete_at)
    assert caught.value.metadata['X-Timestamp'] == T1


def test_known_size_is_fallocated_up_front(mgr, device_path):
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    with df.create(1000000) as writer:
        [tmp_name] = tmp_files(device_path)
        tmp_path = os.path.join(device_path, 'tmp', tmp_name)
        assert os.stat(tmp_path).st_blocks * 512 >= 1000000
        writer.write(b'x' * 1000000)
        writer.put({'X-Timestamp': T1})
    assert mgr.get_diskfile('sda', '0', 'a', 'c', 'o').open()[
        'Content-Length'] == '1000000'


def test_writer_without_put_leaves_nothing(mgr, device_path):
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    with pytest.raises(RuntimeError):
        with df.create(100) as writer:
            writer.write(b'x' * 50)
            raise RuntimeError('client went away')
    assert tmp_files(device_path) == []
    assert not os.path.exists(df.hash_dir)


def test_fallocate_reserve_gives_no_space(devices, device_path):
    full = DiskFileManager(DiskFileSettings(devices=devices,
                                            fallocate_reserve=10 ** 18,
                                            hash_conf=HASH_CONF))
    df = full.get_diskfile('sda', '0', 'a', 'c', 'o')
    with pytest.raises(DiskFileNoSpace):
        with df.create(10):
            pass
    with pytest.raises(DiskFileNoSpace):
        df.delete(T1)
    assert tmp_files(device_path) == []


def test_without_a_reserve_a_write_asks_the_disk_nothing(mgr, monkeypatch):
    def refuse(path):
        raise AssertionError('statvfs(%s) on a write' % path)
    monkeypatch.setattr(os, 'statvfs', refuse)
    put_object(mgr, 'o', b'abc', T1)
    mgr.get_diskfile('sda', '0', 'a', 'c', 'o').delete(T2)


def test_without_a_reserve_a_body_larger_than_the_disk_gets_no_space(
        mgr, device_path):
    stats = os.statvfs(device_path)
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    with pytest.raises(DiskFileNoSpace):
        with df.create(stats.f_blocks * stats.f_frsize + 1):
            pass
    assert tmp_files(device_path) == []


def test_largest_metadata_uses_sidecar_on_disk(mgr):
    meta = {'X-Object-Meta-K%02d' % i: 'v' * (43 if i < 46 else 42)
            for i in range(90)}
    name = 'n' * 1024
    df = mgr.get_diskfile('sda', '0', 'a', 'c', name)
    with df.create(4) as writer:
        writer.write(b'data')
        writer.put(dict(meta, **{'X-Timestamp': T1}))
    files = sorted(os.listdir(df.hash_dir))
    assert files == [T1 + '.data', T1 + '.data.mdjson']
    opened = mgr.get_diskfile('sda', '0', 'a', 'c', name).open()
    assert opened['name'] == '/a/c/' + name
    assert all(opened[k] == v for k, v in meta.items())
    df.write_metadata(dict(meta, **{'X-Timestamp': T2}))
    assert sorted(os.listdir(df.hash_dir)) == sorted(
        files + [T2 + '.meta', T2 + '.meta.mdjson'])
    df.delete(T3)
    assert os.listdir(df.hash_dir) == [T3 + '.ts']


def test_corrupt_body_quarantines_and_cuts_last_chunk(mgr, device_path):
    body = b'a' * 4096 * 3
    df = put_object(mgr, 'o', body, T1)
    path = os.path.join(df.hash_dir, T1 + '.data')
    with open(path, 'r+b') as data:
        data.seek(100)
        data.write(b'X')
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    df.open()
    got = []
    with pytest.raises(DiskFileQuarantined):
        for chunk in df.reader():
            got.append(chunk)
    assert len(b''.join(got)) == 4096 * 2
    assert not os.path.exists(df.hash_dir)
    quarantined = os.path.join(device_path, 'quarantined', 'objects',
                               df.hash)
    assert os.listdir(quarantined) == [T1 + '.data']
    with pytest.raises(DiskFileNotExist):
        mgr.get_diskfile('sda', '0', 'a', 'c', 'o').open()


def test_a_small_object_is_read_with_one_pread(mgr, monkeypatch):
    body = os.urandom(1000)
    put_object(mgr, 'o', body, T1)
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    df.open()
    reads = []
    real_pread = os.pread

    def pread(fd, length, offset):
        reads.append((length, offset))
        return real_pread(fd, length, offset)
    monkeypatch.setattr(os, 'pread', pread)
    assert b''.join(df.reader()) == body
    assert reads == [(mgr.settings.disk_chunk_size, 0)]


@pytest.mark.parametrize('damage', ['truncate', 'drop_xattr'])
def test_damaged_file_quarantined_on_open(mgr, device_path, damage):
    df = put_object(mgr, 'o', b'0123456789', T1)
    path = os.path.join(df.hash_dir, T1 + '.data')
    if damage == 'truncate':
        os.truncate(path, 5)
    else:
        for key in os.listxattr(path):
            os.removexattr(path, key)
    with pytest.raises(DiskFileQuarantined):
        mgr.get_diskfile('sda', '0', 'a', 'c', 'o').open()
    assert os.path.isdir(os.path.join(device_path, 'quarantined', 'objects',
                                      df.hash))


def test_hash_collision_detected(mgr):
    df = put_object(mgr, 'o', b'x', T1)
    impostor = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    impostor.name = '/a/c/other'
    with pytest.raises(DiskFileCollision):
        impostor.open()
    assert os.path.exists(df.hash_dir)


def test_policy_index_selects_directory(mgr, device_path):
    df = put_object(mgr, 'o', b'x', T1, policy_index=2)
    assert df.hash_dir.startswith(os.path.join(device_path, 'objects-2'))
    with pytest.raises(DiskFileNotExist):
        mgr.get_diskfile('sda', '0', 'a', 'c', 'o', 0).open()


def test_audit_locations_walk_every_object(mgr):
    for i in range(5):
        put_object(mgr, 'o%d' % i, b'x' * i, T1, partition=str(i % 2))
    locations = list(mgr.iter_audit_locations('sda'))
    assert len(locations) == 5
    names = set()
    for location in locations:
        df = mgr.get_diskfile_from_audit_location(location)
        meta = df.open()
        names.add(meta['name'])
        assert b''.join(df.reader()) == b'x' * int(meta['name'][-1])
    assert names == {'/a/c/o%d' % i for i in range(5)}


def test_cleanup_reclaims_old_tombstones(mgr):
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    df.delete(T1)
    fs = hashdir.cleanup_ondisk_files(df.hash_dir, 100, float(T1) + 50)
    assert fs.tombstone == T1 + '.ts'
    hashdir.cleanup_ondisk_files(df.hash_dir, 100, float(T1) + 101)
    assert not os.path.exists(df.hash_dir)


def test_remove_stale_tmp_files(mgr, device_path):
    tmp_dir = os.path.join(device_path, ondisk.TMP_DIR)
    os.makedirs(tmp_dir, exist_ok=True)
    for name, age in (('old', 1000), ('young', 1)):
        path = os.path.join(tmp_dir, name)
        open(path, 'w').close()
        os.utime(path, (1700000000 - age, 1700000000 - age))
    assert remove_tmp_older_than(device_path, 100, now=1700000000) == 1
    assert os.listdir(tmp_dir) == ['young']


def test_an_opened_diskfile_parses_each_timestamp_once(mgr):
    # An answer reads the timestamps several times (ordering, headers).
    df = put_object(mgr, 'o', b'abc', T1)
    df.write_metadata({'X-Timestamp': T2, 'X-Object-Meta-B': '2'})
    df.open()
    df.close()
    assert df.timestamp is df.timestamp
    assert df.data_timestamp is df.data_timestamp
    assert (df.timestamp, df.data_timestamp) == (Timestamp(T2),
                                                 Timestamp(T1))
    # A newer state, opened again, is not answered from the old parse.
    df.write_metadata({'X-Timestamp': T3, 'X-Object-Meta-B': '3'})
    df.open()
    df.close()
    assert (df.timestamp, df.data_timestamp) == (Timestamp(T3),
                                                 Timestamp(T1))


def test_remove_stale_tmp_files_of_writes_keeps_their_subdirs(mgr,
                                                              device_path):
    subdir = os.path.join(device_path, ondisk.TMP_DIR, 'a')
    os.makedirs(subdir)
    for name, age in (('.obj-old', 1000), ('.obj-young', 1)):
        path = os.path.join(subdir, name)
        open(path, 'w').close()
        os.utime(path, (1700000000 - age, 1700000000 - age))
    os.utime(subdir, (1700000000 - 1000, 1700000000 - 1000))
    assert remove_tmp_older_than(device_path, 100, now=1700000000) == 1
    assert os.listdir(subdir) == ['.obj-young']


def test_a_write_makes_its_temp_file_in_the_subdir_of_its_hash(
        mgr, device_path):
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    with df.create(3) as writer:
        writer.write(b'abc')
        assert tmp_files(device_path) == [
            os.path.join(df.hash[0], os.path.basename(writer._tmp_path))]
        writer.put({'X-Timestamp': T1})
    assert tmp_files(device_path) == []


def test_a_write_has_the_partitions_and_temp_dirs_spread_over_the_disk(
        mgr, device_path):
    """ext4 then takes a new partition's (or temp dir's) inodes where few
    were freed lately (durable.spread_subdirs)."""
    put_object(mgr, 'o', b'abc', T1)
    for relpath in ('objects', 'tmp'):
        assert dir_flags(os.path.join(device_path, relpath)) & \
            durable.FS_TOPDIR_FL, relpath
