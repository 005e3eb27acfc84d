"""Suffix hashes, hashes.json and invalidation on real tmp devices."""

import json
import os
import threading
import time

from objstore.common.timestamp import Timestamp
from objstore.object import hashdir, hashes, ondisk
from objstore.object.diskfile import DiskFileManager, DiskFileSettings
from tests.unit.object.conftest import put_object

BASE = int(time.time())
T1, T2 = Timestamp(BASE + 1).normal, Timestamp(BASE + 2).normal


def part_dir(device_path, part='0'):
    return os.path.join(device_path, 'objects', part)


def test_no_partition_no_hashes(device_path):
    assert hashes.get_hashes(device_path, '7') == {}


def test_hashes_cover_every_suffix_and_change_with_files(mgr, device_path):
    dfs = [put_object(mgr, 'o%d' % i, b'x', T1) for i in range(4)]
    first = hashes.get_hashes(device_path, '0')
    suffixes = {ondisk.suffix_of(df.hash) for df in dfs}
    assert set(first) == suffixes
    assert all(len(h) == 32 for h in first.values())
    stored = json.load(open(os.path.join(part_dir(device_path),
                                         'hashes.json')))
    assert stored['v'] == hashes.HASHES_VERSION
    assert set(stored['hashes']) == suffixes
    # A POST changes only its own suffix's hash (invalidated by the write).
    dfs[0].write_metadata({'X-Timestamp': T2})
    second = hashes.get_hashes(device_path, '0')
    changed = {s for s in first if first[s] != second[s]}
    assert changed == {ondisk.suffix_of(dfs[0].hash)}


def test_identical_content_gives_identical_hashes(mgr, tmp_path):
    results = []
    for node in ('n1', 'n2'):
        dev = tmp_path / node
        os.makedirs(dev / 'sda')
        node_mgr = DiskFileManager(DiskFileSettings(
            devices=str(dev), hash_conf=mgr.settings.hash_conf))
        put_object(node_mgr, 'o', b'same', T1)
        results.append(hashes.get_hashes(str(dev / 'sda'), '0'))
    assert results[0] == results[1]


def test_invalid_suffixes_recalculated_and_empty_ones_dropped(mgr,
                                                              device_path):
    df = put_object(mgr, 'o', b'x', T1)
    suffix = ondisk.suffix_of(df.hash)
    assert suffix in hashes.get_hashes(device_path, '0')
    # Remove the files behind the cache's back: the cached hash survives...
    for name in os.listdir(df.hash_dir):
        os.unlink(os.path.join(df.hash_dir, name))
    assert suffix in hashes.get_hashes(device_path, '0')
    # ...until the suffix is invalidated or explicitly recalculated.
    assert hashes.get_hashes(device_path, '0', recalculate=[suffix]) == {}
    assert not os.path.exists(os.path.dirname(df.hash_dir))


def test_invalidate_hash_appends_to_invalid_file(mgr, device_path):
    df = put_object(mgr, 'o', b'x', T1)
    hashes.get_hashes(device_path, '0')
    hashes.invalidate_hash(os.path.dirname(df.hash_dir))
    invalid = os.path.join(part_dir(device_path), 'hashes.invalid')
    assert open(invalid).read() == ondisk.suffix_of(df.hash) + '\n'
    hashes.get_hashes(device_path, '0')
    assert open(invalid).read() == ''


def test_corrupt_hashes_json_is_rebuilt(mgr, device_path):
    put_object(mgr, 'o', b'x', T1)
    good = hashes.get_hashes(device_path, '0')
    for junk in ('{', '[]', '{"v": 9, "hashes": {}}'):
        with open(os.path.join(part_dir(device_path), 'hashes.json'),
                  'w') as out:
            out.write(junk)
        assert hashes.get_hashes(device_path, '0') == good


def test_hashing_reclaims_old_tombstones(mgr, device_path):
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    df.delete(T1)
    suffix_dir = os.path.dirname(df.hash_dir)
    assert hashes.hash_suffix(suffix_dir, reclaim_age=100, now=BASE) \
        is not None
    assert hashes.hash_suffix(suffix_dir, reclaim_age=100,
                              now=BASE + 200) is None
    assert not os.path.exists(suffix_dir)


def test_quarantine_files_moves_only_the_named_files(mgr, device_path):
    first = put_object(mgr, 'o', b'1', T1)
    q1 = hashes.quarantine_files(device_path, first.hash_dir,
                                 [T1 + '.data', 'gone.data'])
    assert os.listdir(q1) == [T1 + '.data']
    assert not os.path.exists(first.hash_dir)
    put_object(mgr, 'o', b'2', T2)
    first.write_metadata({'X-Timestamp': Timestamp(BASE + 3).normal})
    q2 = hashes.quarantine_files(device_path, first.hash_dir, [T2 + '.data'])
    assert q1 != q2 and os.listdir(q2) == [T2 + '.data']
    assert os.listdir(first.hash_dir) == [Timestamp(BASE + 3).internal +
                                          '.meta']


def test_walk_lists_partitions_suffixes_hashes(mgr, device_path):
    dfs = [put_object(mgr, 'o%d' % i, b'', T1, partition=str(i))
           for i in (3, 10, 2)]
    assert hashdir.list_partitions(device_path) == ['2', '3', '10']
    os.makedirs(os.path.join(device_path, 'objects', 'notapart'))
    assert hashdir.list_partitions(device_path) == ['2', '3', '10']
    found = {h for _, _, h, _ in hashdir.iter_hash_dirs(device_path)}
    assert found == {df.hash for df in dfs}


def test_cache_stores_only_results_not_invalidated_since_they_began():
    cache = hashes.SuffixCache({}, {})
    for suffix in ('aaa', 'bbb', 'ccc'):
        cache.invalidate(suffix)
    started = cache.stale()
    cache.invalidate('bbb')   # a write landed while we hashed
    cache.store({'aaa': 'ours', 'bbb': 'ours-maybe-stale', 'ccc': None},
                started)
    assert cache.hashes == {'aaa': 'ours', 'bbb': None}
    assert cache.stale() == {'bbb': cache.tokens['bbb']}


def test_version_1_hashes_json_is_rebuilt(mgr, device_path):
    df = put_object(mgr, 'o', b'x', T1)
    suffix = ondisk.suffix_of(df.hash)
    with open(os.path.join(part_dir(device_path), 'hashes.json'), 'w') as out:
        json.dump({'v': 1, 'hashes': {suffix: 'stale'}}, out)
    assert hashes.get_hashes(device_path, '0')[suffix] == \
        hashes.hash_suffix(os.path.dirname(df.hash_dir))


def test_suffix_invalidated_during_hashing_is_reported_and_rehashed(
        mgr, device_path, monkeypatch):
    df = put_object(mgr, 'o', b'x', T1)
    suffix_dir = os.path.dirname(df.hash_dir)
    real_hash_suffix = hashes.hash_suffix

    def hash_then_see_a_write(path, *args):
        value = real_hash_suffix(path, *args)
        hashes.invalidate_hash(suffix_dir)   # a PUT lands meanwhile
        return value

    monkeypatch.setattr(hashes, 'hash_suffix', hash_then_see_a_write)
    first = hashes.get_hashes(device_path, '0')
    monkeypatch.undo()
    suffix = ondisk.suffix_of(df.hash)
    assert suffix in first
    stored = json.load(open(os.path.join(part_dir(device_path),
                                         'hashes.json')))
    assert stored['hashes'][suffix] is None
    assert hashes.get_hashes(device_path, '0') == first


class PausingHasher:
    """Wraps hash_suffix so chosen threads stop after hashing, until let go.

    The seam that forces two concurrent get_hashes calls (the replicator
    and a peer's REPLICATE) into one exact interleaving.
    """

    def __init__(self, real):
        self.real = real
        self.hashed = {}
        self.release = {}

    def pause(self, thread_name):
        self.hashed[thread_name] = threading.Event()
        self.release[thread_name] = threading.Event()

    def __call__(self, path, *args):
        value = self.real(path, *args)
        name = threading.current_thread().name
        if name in self.hashed:
            self.hashed[name].set()
            assert self.release[name].wait(10), 'never released'
        return value

    def run(self, name, device_path, results):
        self.pause(name)
        thread = threading.Thread(
            name=name, target=lambda: results.update(
                {name: hashes.get_hashes(device_path, '0')}))
        thread.start()
        assert self.hashed[name].wait(10), '%s never hashed' % name
        return thread


def test_write_during_two_concurrent_get_hashes_is_never_lost(
        mgr, device_path, monkeypatch):
    df = put_object(mgr, 'o', b'old', T1)
    suffix = ondisk.suffix_of(df.hash)
    hashes.get_hashes(device_path, '0')
    hashes.invalidate_hash(os.path.dirname(df.hash_dir))
    hasher = PausingHasher(hashes.hash_suffix)
    monkeypatch.setattr(hashes, 'hash_suffix', hasher)
    results = {}
    # A hashes the suffix as it was; then a PUT lands (and invalidates);
    # B takes that invalidation and hashes the new state; A stores first.
    first = hasher.run('replicator', device_path, results)
    put_object(mgr, 'o', b'new', T2)
    second = hasher.run('replicate-request', device_path, results)
    hasher.release['replicator'].set()
    first.join(10)
    hasher.release['replicate-request'].set()
    second.join(10)
    monkeypatch.undo()
    fresh = hashes.hash_suffix(os.path.dirname(df.hash_dir))
    assert results['replicate-request'][suffix] == fresh
    assert hashes.get_hashes(device_path, '0')[suffix] == fresh


def test_invalidating_a_suffix_of_an_existing_partition_makes_no_dirs(
        device_path, monkeypatch):
    # A PUT or DELETE invalidates the partition its own file lies in: the
    # partition dir exists, and a makedirs would cost syscalls each time.
    suffix_dir = os.path.join(device_path, 'objects', '7', 'abc')
    os.makedirs(suffix_dir)

    def no_makedirs(*_args, **_kwargs):
        raise AssertionError('makedirs called for an existing partition')
    monkeypatch.setattr(hashes.os, 'makedirs', no_makedirs)
    hashes.invalidate_hash(suffix_dir)
    hashes.invalidate_hash(suffix_dir)
    with open(os.path.join(device_path, 'objects', '7',
                           ondisk.HASHES_INVALID_FILE)) as invalid:
        assert invalid.read() == 'abc\nabc\n'


def test_locking_a_missing_partition_makes_it(device_path):
    partition_dir = os.path.join(device_path, 'objects', '9')
    with hashes.lock_partition(partition_dir):
        assert os.path.isfile(os.path.join(partition_dir,
                                           ondisk.PARTITION_LOCK_FILE))
