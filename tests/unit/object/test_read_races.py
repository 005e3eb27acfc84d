"""Readers racing writers on real tmp devices: a reader never quarantines
what a concurrent PUT/POST/DELETE (or an rsync in flight) just made.

The objects here carry the largest metadata the API allows, so it lives
in sidecar files (ext4 xattr overflow), where reading takes two steps.
"""

import os
import shutil
import threading
import time

import pytest

from objstore.common.exceptions import (
    DiskFileDeleted, DiskFileNotExist, DiskFileQuarantined)
from objstore.common.timestamp import Timestamp
from objstore.object import diskfile, metadata as md
from tests.unit.object.conftest import (
    HASH_CONF, ServerProcess, opath, put_object)

BASE = int(time.time())


def stamp(i):
    return Timestamp(BASE + i).internal


def big_meta(tag):
    """User metadata too large for ext4's xattr block: a sidecar."""
    return {'X-Object-Meta-K%02d' % i: tag[0] * 43 for i in range(90)}


def put_big(mgr, i, body=b'body', device='sda'):
    return put_object(mgr, 'o', body, stamp(i),
                      big_meta('v%d' % i), device=device)


def quarantine_root(device_path):
    return os.path.join(device_path, 'quarantined', 'objects')


def quarantined(device_path):
    root = quarantine_root(device_path)
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


class WriteBeforeSidecarRead:
    """Seam between opening an owner and reading its sidecar: the first
    sidecar read first lets ``write`` land (a newer PUT/POST/DELETE)."""

    def __init__(self, monkeypatch, write):
        self.write = write
        self.done = False
        self.real = md._read_sidecar
        monkeypatch.setattr(md, '_read_sidecar', self)

    def __call__(self, path, marker):
        if not self.done:
            self.done = True
            self.write()
        return self.real(path, marker)


def test_put_between_open_and_sidecar_read_gives_the_new_object(
        mgr, device_path, monkeypatch):
    first = put_big(mgr, 1, b'old')
    seam = WriteBeforeSidecarRead(monkeypatch,
                                  lambda: put_big(mgr, 2, b'new'))
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    meta = df.open()
    assert seam.done
    assert meta['X-Timestamp'] == stamp(2)
    assert b''.join(df.reader()) == b'new'
    assert quarantined(device_path) == []
    assert sorted(os.listdir(first.hash_dir)) == [
        stamp(2) + '.data', stamp(2) + '.data.mdjson']


def test_delete_between_open_and_sidecar_read_gives_deleted(
        mgr, device_path, monkeypatch):
    first = put_big(mgr, 1)
    WriteBeforeSidecarRead(monkeypatch, lambda: first.delete(stamp(2)))
    with pytest.raises(DiskFileDeleted):
        mgr.get_diskfile('sda', '0', 'a', 'c', 'o').open()
    assert quarantined(device_path) == []
    assert os.listdir(first.hash_dir) == [stamp(2) + '.ts']


def test_post_between_open_and_meta_sidecar_read(mgr, device_path,
                                                 monkeypatch):
    first = put_object(mgr, 'o', b'body', stamp(1))
    first.write_metadata(dict(big_meta('a'), **{'X-Timestamp': stamp(2)}))
    WriteBeforeSidecarRead(monkeypatch, lambda: first.write_metadata(
        dict(big_meta('b'), **{'X-Timestamp': stamp(3)})))
    meta = mgr.get_diskfile('sda', '0', 'a', 'c', 'o').open()
    assert meta['X-Object-Meta-K00'] == 'b' * 43
    assert quarantined(device_path) == []


def test_corrupt_body_replaced_while_read_is_not_quarantined(mgr,
                                                             device_path):
    first = put_object(mgr, 'o', b'a' * 4096 * 3, stamp(1))
    with open(os.path.join(first.hash_dir, stamp(1) + '.data'), 'r+b') as f:
        f.write(b'X')
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    df.open()
    chunks = iter(df.reader())
    next(chunks)
    put_object(mgr, 'o', b'new', stamp(2))   # replaces it mid-read
    with pytest.raises(DiskFileNotExist):
        list(chunks)
    assert quarantined(device_path) == []
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    df.open()
    assert b''.join(df.reader()) == b'new'


def read_loop(mgr, stop, errors):
    """Open and read object 'o' until ``stop``; a version's body is its
    timestamp's offset from BASE. Records quarantines and torn reads."""
    while not stop.is_set():
        df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
        try:
            meta = df.open()
            body = b''.join(df.reader())
            if int(body) != int(float(meta['X-Timestamp'])) - BASE:
                errors.append((body, meta['X-Timestamp']))
        except DiskFileNotExist:
            pass
        except DiskFileQuarantined as err:
            errors.append(err)
        finally:
            df.close()


def test_concurrent_writers_and_readers_never_quarantine(mgr, device_path):
    """Real threads: PUT/DELETE loops against readers, for a while."""
    put_big(mgr, 0, b'0')
    stop = threading.Event()
    errors = []

    def write_loop():
        i = 1
        while not stop.is_set():
            if i % 5 == 0:
                mgr.get_diskfile('sda', '0', 'a', 'c', 'o').delete(stamp(i))
            else:
                put_big(mgr, i, b'%d' % i)
            i += 1

    threads = [threading.Thread(target=write_loop)] + [
        threading.Thread(target=read_loop, args=(mgr, stop, errors))
        for _ in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert errors == [] and quarantined(device_path) == []


def copy_file(src_dir, dst_dir, name):
    """Copy one object file with its xattrs, as rsync --xattrs does."""
    os.makedirs(dst_dir, exist_ok=True)
    shutil.copy2(os.path.join(src_dir, name), os.path.join(dst_dir, name))
    os.utime(os.path.join(dst_dir, name))   # rsync without -t: now


@pytest.fixture
def receiver(tmp_path):
    """A second node's DiskFileManager (device ``sdb``)."""
    root = tmp_path / 'receiver'
    os.makedirs(root / 'sdb')
    return diskfile.DiskFileManager(diskfile.DiskFileSettings(
        devices=str(root), hash_conf=HASH_CONF))


def test_owner_arriving_before_its_sidecar_is_passed_over(mgr, receiver):
    sent = put_big(mgr, 2, b'new')
    got = receiver.get_diskfile('sdb', '0', 'a', 'c', 'o')
    device_path = got.device_path
    copy_file(sent.hash_dir, got.hash_dir, stamp(2) + '.data')
    with pytest.raises(DiskFileNotExist):
        got.open()
    assert quarantined(device_path) == []
    copy_file(sent.hash_dir, got.hash_dir, stamp(2) + '.data.mdjson')
    assert got.open()['X-Object-Meta-K00'] == 'v' * 43
    assert b''.join(got.reader()) == b'new'


def test_owner_in_flight_leaves_the_older_version_readable(mgr, receiver):
    put_big(mgr, 2, b'new')
    sent = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    older = put_object(receiver, 'o', b'old', stamp(1), device='sdb')
    copy_file(sent.hash_dir, older.hash_dir, stamp(2) + '.data')
    df = receiver.get_diskfile('sdb', '0', 'a', 'c', 'o')
    assert df.open()['X-Timestamp'] == stamp(1)
    assert b''.join(df.reader()) == b'old'
    assert quarantined(older.device_path) == []


def test_owner_whose_sidecar_never_came_is_quarantined_alone(mgr, receiver):
    sent = put_big(mgr, 2)
    got = receiver.get_diskfile('sdb', '0', 'a', 'c', 'o')
    copy_file(sent.hash_dir, got.hash_dir, stamp(2) + '.data')
    got.write_metadata({'X-Timestamp': stamp(3)})   # a newer POST: kept
    later = time.time() + 86400   # well past the time to arrive
    with pytest.raises(DiskFileQuarantined):
        got.open(now=later)
    [target] = quarantined(got.device_path)
    assert os.listdir(os.path.join(quarantine_root(got.device_path),
                                   target)) == [stamp(2) + '.data']
    assert os.listdir(got.hash_dir) == [stamp(3) + '.meta']


def test_server_process_writes_racing_readers_never_quarantine(tmp_path):
    """Real processes: an object server process takes PUT/DELETE loops
    over HTTP while reader threads here open and read the same object."""
    server = ServerProcess(tmp_path)
    server.start()
    mgr = diskfile.DiskFileManager(diskfile.DiskFileSettings(
        devices=os.path.dirname(server.device_path), hash_conf=HASH_CONF))
    stop = threading.Event()
    errors = []
    # The largest user metadata the API allows: a sidecar on ext4.
    headers = {'X-Object-Meta-K%02d' % i: 'v' * (43 if i < 46 else 42)
               for i in range(90)}

    def write_loop():
        i = 1
        while not stop.is_set():
            timestamp = {'X-Timestamp': stamp(i)}
            if i % 5:
                status, _ = server.request(
                    'PUT', opath(), dict(headers, **timestamp,
                                         **{'Content-Type': 'text/plain'}),
                    body=b'%d' % i)
            else:
                status, _ = server.request('DELETE', opath(), timestamp)
            if status not in (201, 204, 404):
                errors.append(('write', status))
            i += 1

    threads = [threading.Thread(target=write_loop)] + [
        threading.Thread(target=read_loop, args=(mgr, stop, errors))
        for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(4)
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)
        server.kill()
    assert errors == [] and quarantined(server.device_path) == []
