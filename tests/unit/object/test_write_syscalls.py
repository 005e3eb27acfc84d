"""What one object write or read asks of the filesystem, on real tmp devices.

The object server's CPU per request is mostly syscalls and the Python
around them; these tests pin the count of the costly ones, and check that
each shortcut leaves the files a fresh look would leave.
"""

import fcntl
import os
import threading
import time

from objstore.common.timestamp import Timestamp
from objstore.object import hashdir, hashes, ondisk
from tests.unit.object.conftest import put_object

BASE = int(time.time())
T1, T2, T3, T4 = (Timestamp(BASE + i).normal for i in (1, 2, 3, 4))


def count_listings(monkeypatch):
    """The paths hashdir.listdir is asked for, from now on."""
    listed = []
    real = hashdir.listdir

    def counting(path):
        listed.append(path)
        return real(path)
    monkeypatch.setattr(hashdir, 'listdir', counting)
    return listed


def test_a_delete_after_open_lists_the_hash_dir_once(mgr, monkeypatch):
    put_object(mgr, 'o', b'body', T1)
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    listed = count_listings(monkeypatch)
    df.open()
    df.close()
    df.delete(T2)
    assert listed.count(df.hash_dir) == 1
    # The cleanup still removed the data file the tombstone replaced.
    assert os.listdir(df.hash_dir) == [T2 + '.ts']


def test_a_write_without_open_lists_the_hash_dir_for_its_cleanup(mgr):
    put_object(mgr, 'o', b'body', T1)
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    df.delete(T2)
    assert os.listdir(df.hash_dir) == [T2 + '.ts']


def test_a_cleanup_from_a_stale_listing_spares_what_landed_meanwhile(mgr):
    put_object(mgr, 'o', b'old', T1)
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    df.open()
    df.close()
    # A newer PUT lands (and removes T1's .data) after our open() listed
    # the dir and before our older DELETE renames its tombstone in.
    put_object(mgr, 'o', b'new', T3)
    df.delete(T2)
    reader = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    assert reader.open()['X-Timestamp'] == T3
    assert b''.join(reader.reader()) == b'new'
    # What the stale listing could not judge, the next cleanup removes.
    hashdir.cleanup_ondisk_files(df.hash_dir)
    assert os.listdir(df.hash_dir) == [T3 + '.data']


def test_a_listing_serves_one_write_only(mgr, monkeypatch):
    put_object(mgr, 'o', b'body', T1)
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    df.open()
    df.close()
    df.write_metadata({'X-Timestamp': T2})
    listed = count_listings(monkeypatch)
    df.delete(T3)
    assert listed == [df.hash_dir]
    assert os.listdir(df.hash_dir) == [T3 + '.ts']


def test_an_invalidation_takes_no_partition_lock(device_path):
    # The append locks hashes.invalid alone (one file opened, not two):
    # a conditional write holding the partition lock does not delay it.
    suffix_dir = os.path.join(device_path, 'objects', '0', 'abc')
    os.makedirs(suffix_dir)
    started = time.monotonic()
    with hashes.lock_partition(os.path.dirname(suffix_dir)):
        hashes.invalidate_hash(suffix_dir)
    assert time.monotonic() - started < hashes.LOCK_TIMEOUT / 2
    assert hashes.get_hashes(device_path, '0') == {}


def test_an_invalidation_waits_for_the_consumer_of_the_invalid_file(
        device_path):
    # get_hashes reads and then empties hashes.invalid under that file's
    # lock: an append in between would be lost, so it waits.
    partition_dir = os.path.join(device_path, 'objects', '0')
    suffix_dir = os.path.join(partition_dir, 'abc')
    os.makedirs(suffix_dir)
    invalid = os.path.join(partition_dir, ondisk.HASHES_INVALID_FILE)
    fd = os.open(invalid, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        appender = threading.Thread(target=hashes.invalidate_hash,
                                    args=(suffix_dir,))
        appender.start()
        appender.join(0.3)
        assert appender.is_alive() and os.path.getsize(invalid) == 0
    finally:
        os.close(fd)
    appender.join(5)
    with open(invalid) as written:
        assert written.read() == 'abc\n'


def test_a_write_does_not_ask_for_the_process_id(mgr, monkeypatch):
    # tempfile.mkstemp's names ask for it at every call (to notice a
    # fork): one syscall per object write that a fork-safe generator saves.
    def no_getpid():
        raise AssertionError('os.getpid called by an object write')
    monkeypatch.setattr(os, 'getpid', no_getpid)
    df = put_object(mgr, 'o', b'body', T1)
    df.delete(T2)
    assert os.listdir(df.hash_dir) == [T2 + '.ts']


def record_write_steps(mgr, monkeypatch):
    """The fsyncs, renames and unlinks of writes from now on, in order, as
    (step, file name, whether in a run_blocking trip)."""
    steps = []
    trip = []
    real_run = mgr.run_blocking

    def run_blocking(func, *args, device_path=None):
        trip.append(True)
        try:
            return real_run(func, *args, device_path=device_path)
        finally:
            trip.pop()

    def recording(step, real, name_of):
        def call(*args, **kwargs):
            steps.append((step, name_of(*args), bool(trip)))
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(mgr, 'run_blocking', run_blocking)
    for step, name_of in (('unlink', os.path.basename),
                          ('rename', lambda _src, dst: os.path.basename(dst)),
                          ('fsync', lambda _fd: None)):
        monkeypatch.setattr(os, step, recording(step, getattr(os, step),
                                                name_of))
    return steps


def test_a_delete_removes_the_old_data_in_its_trip_after_the_fsyncs(
        mgr, monkeypatch):
    # The unlink of a large .data can hold the disk for milliseconds: it
    # runs in the native-thread trip of the tombstone's fsyncs, after the
    # tombstone is durable (its rename and the dir fsyncs), never before.
    put_object(mgr, 'o', b'body' * 1000, T1)
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    df.open()
    df.close()
    steps = record_write_steps(mgr, monkeypatch)
    df.delete(T2)
    unlinks = [step for step in steps if step[0] == 'unlink']
    assert unlinks == [('unlink', T1 + '.data', True)]
    renamed = steps.index(('rename', T2 + '.ts', True))
    removed = steps.index(unlinks[0])
    assert renamed < removed
    assert [s for s in steps[renamed:removed] if s[0] == 'fsync']
    assert os.listdir(df.hash_dir) == [T2 + '.ts']


def test_an_overwrite_removes_the_old_data_in_its_trip(mgr, monkeypatch):
    put_object(mgr, 'o', b'old', T1)
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    df.open()
    df.close()
    steps = record_write_steps(mgr, monkeypatch)
    with df.create(3) as writer:
        writer.write(b'new')
        writer.put({'X-Timestamp': T2})
    assert [s for s in steps if s[0] == 'unlink'] == [
        ('unlink', T1 + '.data', True)]
    assert os.listdir(df.hash_dir) == [T2 + '.data']
