"""Pure on-disk name rules: make/parse names, which files win."""

import pytest

from objstore.common.timestamp import Timestamp
from objstore.object import hashdir, ondisk

T = ['1700000000.%05d' % i for i in range(10)]


def names(*pairs):
    return [ts + ext for ts, ext in pairs]


def test_policy_dirs():
    assert ondisk.policy_dir('objects', 0) == 'objects'
    assert ondisk.policy_dir('objects', '3') == 'objects-3'
    with pytest.raises(ValueError):
        ondisk.policy_dir('objects', -1)
    assert ondisk.policy_index_of('objects', 'objects') == 0
    assert ondisk.policy_index_of('objects-12', 'objects') == 12
    assert ondisk.policy_index_of('objects-x', 'objects') is None
    assert ondisk.policy_index_of('objectsfoo', 'objects') is None


def test_make_and_parse_roundtrip():
    stamp = Timestamp('1700000000.5', offset=3)
    name = ondisk.make_filename(stamp, '.meta')
    assert name == '1700000000.50000_0000000000000003.meta'
    parsed = ondisk.parse_filename(name)
    assert parsed.timestamp == stamp and parsed.ext == '.meta'
    sidecar = ondisk.parse_filename(ondisk.sidecar_name(name))
    assert sidecar.sidecar and sidecar.owner == name
    with pytest.raises(ValueError):
        ondisk.make_filename(stamp, '.tmp')


@pytest.mark.parametrize('bad', [
    'x.data', '1700000000.00000.dat', '1700000000.data', '.data',
    '1700000000.00000', 'hashes.json', '1700000000.00000.data.tmp',
    '-1.00000.data', '1700000000.00000_zz.data',
])
def test_parse_rejects(bad):
    with pytest.raises(ValueError):
        ondisk.parse_filename(bad)


def test_newest_data_wins_and_older_are_obsolete():
    fs = ondisk.classify_files(names((T[1], '.data'), (T[3], '.data'),
                                     (T[2], '.ts')))
    assert fs.data == T[3] + '.data'
    assert sorted(fs.obsolete) == [T[1] + '.data', T[2] + '.ts']


def test_newer_tombstone_wins_and_obsoletes_meta():
    fs = ondisk.classify_files(names((T[1], '.data'), (T[2], '.meta'),
                                     (T[3], '.ts')))
    assert fs.tombstone == T[3] + '.ts' and fs.data is None
    assert fs.meta is None
    assert sorted(fs.obsolete) == [T[1] + '.data', T[2] + '.meta']


def test_only_newest_meta_newer_than_data_applies():
    fs = ondisk.classify_files(names((T[1], '.meta'), (T[2], '.data'),
                                     (T[3], '.meta'), (T[4], '.meta')))
    assert fs.data == T[2] + '.data' and fs.meta == T[4] + '.meta'
    assert sorted(fs.obsolete) == [T[1] + '.meta', T[3] + '.meta']
    assert ondisk.newest_timestamp(fs) == Timestamp(T[4])


def test_meta_without_data_is_kept():
    fs = ondisk.classify_files([T[5] + '.meta'])
    assert fs.meta == T[5] + '.meta' and not fs.obsolete


def test_equal_timestamps_tombstone_beats_data():
    fs = ondisk.classify_files(names((T[1], '.data'), (T[1], '.ts')))
    assert fs.tombstone == T[1] + '.ts'


def test_tombstone_reclaimed_after_reclaim_age():
    listing = names((T[1], '.ts'))
    now = float(T[1])
    assert ondisk.classify_files(listing, 100, now + 99).tombstone
    fs = ondisk.classify_files(listing, 100, now + 101)
    assert fs.tombstone is None and fs.obsolete == listing and not fs.kept


def test_lone_meta_and_orphan_sidecars_reclaimed_after_reclaim_age():
    listing = [T[5] + '.meta', T[6] + '.data.mdjson']
    fresh = ondisk.classify_files(listing, 100, float(T[5]) + 50)
    assert fresh.meta == T[5] + '.meta' and fresh.obsolete == []
    old = ondisk.classify_files(listing, 100, float(T[6]) + 101)
    assert old.meta is None and sorted(old.obsolete) == sorted(listing)
    # A .meta that applies to data is not "lone": it stays.
    applied = ondisk.classify_files([T[1] + '.data', T[5] + '.meta'], 100,
                                    float(T[5]) + 1000)
    assert applied.meta == T[5] + '.meta' and not applied.obsolete


def test_a_lone_data_file_wins_without_the_general_rules(monkeypatch):
    # The common hash dir (one replicated .data) is answered at once.
    def unexpected(*_args):
        raise AssertionError('general rules used for a lone .data')
    monkeypatch.setattr(ondisk, '_pick_winners', unexpected)
    monkeypatch.setattr(ondisk, '_assign_sidecars', unexpected)
    name = '1700000001.00000.data'
    for file_set in (ondisk.classify_files([name]),
                     ondisk.classify_files([name, 'junk'], 1, 10 ** 10)):
        assert (file_set.data, file_set.kept, file_set.obsolete) == (
            name, [name], [])
    assert ondisk.classify_files([name, 'junk']).unknown == ['junk']


def test_lone_files_other_than_a_data_file_follow_the_general_rules():
    cases = {
        '1700000001.00000.ts': ('tombstone', '1700000001.00000.ts'),
        '1700000001.00000.meta': ('meta', '1700000001.00000.meta'),
        '1700000001.00000#2#d.data': ('data', '1700000001.00000#2#d.data'),
    }
    for name, (attr, winner) in cases.items():
        assert getattr(ondisk.classify_files([name]), attr) == winner
    orphan = ondisk.classify_files(['1700000001.00000.data.mdjson'],
                                   1, 10 ** 10)
    assert (orphan.data, orphan.obsolete) == (
        None, ['1700000001.00000.data.mdjson'])


def test_sidecars_follow_their_owner():
    data, meta = T[2] + '.data', T[3] + '.meta'
    listing = [data, data + '.mdjson', meta, meta + '.mdjson',
               T[1] + '.data', T[1] + '.data.mdjson',  # superseded
               T[0] + '.meta.mdjson',                  # old orphan
               T[9] + '.data.mdjson',                  # write in flight
               'junk.tmp']
    fs = ondisk.classify_files(listing)
    assert fs.sidecars == {data: data + '.mdjson', meta: meta + '.mdjson'}
    assert sorted(fs.obsolete) == sorted([
        T[1] + '.data', T[1] + '.data.mdjson', T[0] + '.meta.mdjson'])
    assert fs.unknown == ['junk.tmp']
    assert fs.kept == sorted([data, data + '.mdjson', meta,
                              meta + '.mdjson'])


def test_paths_and_async_names():
    obj_hash = 'd41d8cd98f00b204e9800998ecf8427e'
    assert ondisk.hash_dir_relpath(2, 17, obj_hash) == \
        'objects-2/17/27e/' + obj_hash
    name = ondisk.async_pending_name(obj_hash, T[4])
    assert ondisk.parse_async_pending_name(name) == (obj_hash, Timestamp(T[4]))
    for bad in ('nohash-' + T[4], obj_hash, obj_hash + '-x'):
        with pytest.raises(ValueError):
            ondisk.parse_async_pending_name(bad)
    assert ondisk.is_hash_name(obj_hash) and not ondisk.is_hash_name('xyz')
    assert ondisk.is_suffix_name('27e') and not ondisk.is_suffix_name('27')


def test_policy_indexes_present_on_a_device(tmp_path):
    for name in ('async_pending', 'async_pending-2', 'objects-1', 'tmp',
                 'async_pending-x'):
        (tmp_path / name).mkdir()
    assert hashdir.policy_indexes(str(tmp_path), ondisk.ASYNC_PENDING) == [
        0, 2]
    assert hashdir.policy_indexes(str(tmp_path), ondisk.OBJECTS) == [1]
    assert hashdir.policy_indexes(str(tmp_path / 'absent'),
                                  ondisk.EXPIRING) == []
