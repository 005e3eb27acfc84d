"""The on-disk rules of erasure-coded hash dirs (objstore.object.ondisk)."""

import pytest

from objstore.common.timestamp import Timestamp
from objstore.object import ondisk

T1, T2, T3 = '1700000001.00000', '1700000002.00000', '1700000003.00000'


def frag(stamp, index, durable=True):
    return ondisk.make_fragment_filename(Timestamp(stamp), index, durable)


def test_fragment_names_round_trip():
    for index in (0, 5, 13):
        for durable in (True, False):
            parsed = ondisk.parse_filename(frag(T1, index, durable))
            assert (parsed.timestamp, parsed.ext, parsed.frag_index,
                    parsed.durable) == (Timestamp(T1), '.data', index,
                                        durable)


@pytest.mark.parametrize('name', [
    T1 + '#x.data', T1 + '#1#e.data', T1 + '#1#d#d.data', T1 + '#01.data',
    T1 + '#-1.data', T1 + '#1.ts', T1 + '#1.meta', T1 + '#.data'])
def test_bad_fragment_names_are_unknown(name):
    with pytest.raises(ValueError):
        ondisk.parse_filename(name)
    assert ondisk.classify_files([name]).unknown == [name]


def test_newest_durable_wins_and_older_is_obsolete():
    fs = ondisk.classify_files([frag(T1, 2), frag(T2, 2)])
    assert fs.data == frag(T2, 2)
    assert fs.obsolete == [frag(T1, 2)]


def test_newer_non_durable_is_kept_but_not_served():
    fs = ondisk.classify_files([frag(T1, 2), frag(T2, 2, durable=False)])
    assert fs.data == frag(T1, 2)
    assert fs.nondurable == [frag(T2, 2, durable=False)]
    assert fs.obsolete == []
    assert fs.kept == sorted([frag(T1, 2), frag(T2, 2, durable=False)])


def test_only_non_durable_serves_nothing():
    fs = ondisk.classify_files([frag(T2, 2, durable=False)])
    assert fs.data is None and fs.tombstone is None
    assert fs.nondurable == [frag(T2, 2, durable=False)]


def test_non_durable_older_than_durable_is_obsolete():
    fs = ondisk.classify_files([frag(T1, 2, durable=False), frag(T2, 2)])
    assert fs.data == frag(T2, 2)
    assert fs.obsolete == [frag(T1, 2, durable=False)]


def test_non_durable_reclaimed_after_reclaim_age():
    names = [frag(T1, 2), frag(T2, 2, durable=False)]
    young = ondisk.classify_files(names, reclaim_age=100,
                                  now=float(T2) + 10)
    assert young.nondurable == [frag(T2, 2, durable=False)]
    old = ondisk.classify_files(names, reclaim_age=100, now=float(T2) + 101)
    assert old.nondurable == []
    assert old.obsolete == [frag(T2, 2, durable=False)]
    assert old.data == frag(T1, 2)


def test_all_fragments_of_the_durable_timestamp_are_kept():
    # A handoff can hold two indexes; one durable mark makes the timestamp
    # durable.
    names = [frag(T2, 4), frag(T2, 1, durable=False), frag(T1, 3)]
    fs = ondisk.classify_files(names)
    assert fs.data == frag(T2, 1, durable=False)
    assert fs.fragments == [frag(T2, 1, durable=False), frag(T2, 4)]
    assert fs.obsolete == [frag(T1, 3)]


def test_tombstone_newer_than_durable_wins():
    names = [frag(T1, 0), T2 + '.ts']
    fs = ondisk.classify_files(names)
    assert fs.tombstone == T2 + '.ts'
    assert fs.data is None
    assert fs.obsolete == [frag(T1, 0)]


def test_non_durable_newer_than_tombstone_is_kept():
    names = [T1 + '.ts', frag(T2, 0, durable=False)]
    fs = ondisk.classify_files(names)
    assert fs.tombstone == T1 + '.ts'
    assert fs.nondurable == [frag(T2, 0, durable=False)]


def test_meta_rules_as_replication():
    names = [frag(T1, 0), T2 + '.meta', '1700000000.00000.meta']
    fs = ondisk.classify_files(names)
    assert (fs.data, fs.meta) == (frag(T1, 0), T2 + '.meta')
    assert fs.obsolete == ['1700000000.00000.meta']


def test_sidecars_follow_their_archives():
    kept = frag(T3, 0, durable=False)
    gone = frag(T1, 0, durable=False)
    names = [frag(T2, 3), kept, kept + '.mdjson', gone, gone + '.mdjson']
    fs = ondisk.classify_files(names)
    assert fs.sidecars == {kept: kept + '.mdjson'}
    assert sorted(fs.obsolete) == [gone, gone + '.mdjson']


def test_quarantine_of_an_archive_takes_older_files():
    names = [frag(T1, 0), frag(T2, 0), frag(T3, 0, durable=False)]
    assert ondisk.quarantine_names(names, frag(T2, 0)) == [
        frag(T2, 0), frag(T1, 0)]
