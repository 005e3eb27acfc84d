"""The SQLite broker base: creation, pending file, metadata, replication
primitives, reclaim, integrity and the listing page algorithm.

Exercised through ContainerBroker (the smallest concrete broker) on real
SQLite files in temp dirs.
"""

import fcntl
import json
import os
import random
import shutil
import sqlite3
import threading

import pytest

from objstore.common import db_layout
from objstore.common.db import DatabaseBroker, merge_metadata, parse_pending
from objstore.common.db_sqlite import chexor, list_page
from objstore.common.exceptions import (
    DatabaseAlreadyExists, DatabaseCorrupt, DatabaseNotFound,
    DiskFileDeviceUnavailable, InvalidInput, LockTimeout)
from objstore.common.listing import ListingParams
from objstore.common.timestamp import Timestamp
from objstore.container.backend import ContainerBroker
from tests.helpers import T0, ts

def make_broker(tmp_path, name='c', **kwargs):
    path = tmp_path / 'containers' / '1' / 'abc' / name / (name + '.db')
    broker = ContainerBroker(str(path), account='a', container=name,
                             **kwargs)
    broker.initialize(ts(0))
    return broker


def put(broker, name, offset, size=1, deleted=0):
    broker.put_object(name, ts(offset), size, 'text/plain', 'etag-' + name,
                      deleted=deleted)


# -- creation -----------------------------------------------------------------

def test_initialize_creates_wal_db_and_pending(tmp_path):
    broker = make_broker(tmp_path)
    assert os.path.exists(broker.db_file)
    assert os.path.getsize(broker.pending_file) == 0
    conn = sqlite3.connect(broker.db_file)
    assert conn.execute('PRAGMA journal_mode').fetchone()[0] == 'wal'
    conn.close()
    leftovers = [n for n in os.listdir(broker.db_dir) if '.tmp' in n]
    assert leftovers == []
    info = broker.get_info()
    assert info['put_timestamp'] == ts(0)
    assert info['account'] == 'a' and info['container'] == 'c'
    assert len(info['id']) == 36


def test_initialize_twice_fails(tmp_path):
    broker = make_broker(tmp_path)
    again = ContainerBroker(broker.db_file, account='a', container='c')
    with pytest.raises(DatabaseAlreadyExists):
        again.initialize(ts(1))
    assert broker.get_info()['put_timestamp'] == ts(0)


def test_missing_db_raises_not_found(tmp_path):
    broker = ContainerBroker(str(tmp_path / 'nope.db'))
    assert not broker.exists()
    assert broker.is_deleted()
    with pytest.raises(DatabaseNotFound):
        broker.get_info()
    with pytest.raises(DatabaseNotFound):
        put(broker, 'o', 1)


# -- pending file ------------------------------------------------------------

def test_pending_file_without_its_db_refuses_rows(tmp_path):
    """A removal cut short (DB unlinked, directory left) leaves the pending
    file: a row for it is refused as for a missing DB, not appended."""
    broker = make_broker(tmp_path)
    os.unlink(broker.db_file)
    with pytest.raises(DatabaseNotFound):
        put(broker, 'o', 1)
    assert os.path.getsize(broker.pending_file) == 0


def test_row_append_looks_paths_up_twice(tmp_path, monkeypatch):
    """An update is the hot path of a DB server: per append, one lookup
    that the pending file is still the DB's and one that the DB is there,
    not a third one before opening the pending file."""
    broker = make_broker(tmp_path)
    looked_up = []
    real_stat = os.stat

    def stat(path, *args, **kwargs):
        looked_up.append(path)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, 'stat', stat)
    put(broker, 'o', 1)
    assert sorted(looked_up) == sorted([broker.pending_file, broker.db_file])



def test_put_goes_to_pending_then_merges_on_read(tmp_path):
    broker = make_broker(tmp_path)
    put(broker, 'o1', 1, size=10)
    put(broker, 'o2', 1, size=5)
    assert os.path.getsize(broker.pending_file) > 0
    raw = broker.conn.execute('SELECT COUNT(*) FROM object').fetchone()[0]
    assert raw == 0
    info = broker.get_info()
    assert (info['object_count'], info['bytes_used']) == (2, 15)
    assert os.path.getsize(broker.pending_file) == 0


def test_pending_cap_triggers_flush(tmp_path):
    broker = make_broker(tmp_path, pending_cap=300)
    for i in range(10):
        put(broker, 'obj-%d' % i, 1)
    assert os.path.getsize(broker.pending_file) <= 300
    stored = broker.conn.execute('SELECT COUNT(*) FROM object').fetchone()[0]
    assert stored > 0
    assert broker.get_info()['object_count'] == 10


def test_each_put_is_synced_before_returning(tmp_path):
    synced = []

    def record_sync(path):
        synced.append((path, os.path.getsize(path)))

    broker = make_broker(tmp_path, pending_sync=record_sync)
    put(broker, 'o1', 1)
    put(broker, 'o2', 1)
    assert [p for p, _ in synced] == [broker.pending_file] * 2
    assert synced[0][1] < synced[1][1]


def test_torn_record_is_skipped_without_losing_the_next(tmp_path):
    broker = make_broker(tmp_path)
    put(broker, 'before', 1)
    with open(broker.pending_file, 'ab') as pending:
        pending.write(b'\n{"name": "torn", "created_')
    put(broker, 'after', 2)
    names = [e.name for e in broker.list_objects(ListingParams(limit=10))]
    assert names == ['after', 'before']


def test_parse_pending():
    data = b'\n{"a": 1}\n\n[1, 2]\n{"b"\n\n{"c": 3}\n'
    assert parse_pending(data) == ([{'a': 1}, {'c': 3}], 2)
    assert parse_pending(b'') == ([], 0)


def test_concurrent_threads_lose_nothing(tmp_path):
    broker = make_broker(tmp_path, pending_cap=4096)
    errors = []

    def writer(worker):
        try:
            mine = ContainerBroker(broker.db_file, account='a',
                                   container='c', pending_cap=4096)
            for i in range(100):
                put(mine, 'w%d-%03d' % (worker, i), 1 + i, size=2)
                if i % 25 == 0:
                    mine.get_info()
            mine.close()
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    info = broker.get_info()
    assert (info['object_count'], info['bytes_used']) == (800, 1600)
    names = [e.name for e in broker.list_objects(ListingParams(limit=1000))]
    assert len(names) == 800 and len(set(names)) == 800


def test_pending_lock_timeout(tmp_path):
    broker = make_broker(tmp_path, pending_timeout=0.05)
    holder = os.open(broker.pending_file, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with pytest.raises(LockTimeout):
            put(broker, 'o', 1)
        stale = ContainerBroker(broker.db_file, pending_timeout=0.05,
                                stale_reads_ok=True)
        # A read with a busy pending lock may be stale when allowed ...
        with open(broker.pending_file, 'ab') as pending:
            pending.write(b'\n{"name": "p", "created_at": "1"}\n')
        assert stale.get_info()['object_count'] == 0
        # ... and fails otherwise.
        with pytest.raises(LockTimeout):
            broker.get_info()
    finally:
        os.close(holder)
    assert broker.get_info()['object_count'] == 1


# -- merging ------------------------------------------------------------------

def test_older_row_never_overwrites_newer(tmp_path):
    broker = make_broker(tmp_path)
    put(broker, 'o', 5, size=50)
    put(broker, 'o', 3, size=30)
    put(broker, 'o', 4, deleted=1)
    row = broker.get_object_row('o')
    assert (row['created_at'], row['size'], row['deleted']) == (ts(5), 50, 0)
    broker.merge_items([dict(row, created_at=ts(2), size=1)])
    assert broker.get_object_row('o')['size'] == 50
    # Equal timestamps keep what is stored.
    broker.merge_items([dict(row, size=7)])
    assert broker.get_object_row('o')['size'] == 50


def test_newer_row_replaces_with_new_rowid(tmp_path):
    broker = make_broker(tmp_path)
    put(broker, 'o', 1, size=10)
    first = broker.get_items_since(-1, 10)
    put(broker, 'o', 2, deleted=1)
    rows = broker.get_items_since(-1, 10)
    assert len(rows) == 1
    assert rows[0]['ROWID'] > first[0]['ROWID']
    assert rows[0]['deleted'] == 1
    info = broker.get_info()
    assert (info['object_count'], info['bytes_used']) == (0, 0)


def test_out_of_order_batch_converges(tmp_path):
    events = [('o', offset, offset % 3 == 0) for offset in range(1, 30)]
    random.Random(7).shuffle(events)
    broker = make_broker(tmp_path)
    for name, offset, deleted in events:
        put(broker, name, offset, size=offset, deleted=deleted)
    row = broker.get_object_row('o')
    assert (row['created_at'], row['size'], row['deleted']) == (ts(29), 29, 0)


def test_hash_is_order_independent(tmp_path):
    one = make_broker(tmp_path, 'one')
    two = make_broker(tmp_path, 'two')
    for name, offset in [('a', 1), ('b', 2), ('a', 3)]:
        put(one, name, offset)
    for name, offset in [('a', 3), ('b', 2), ('a', 1)]:
        put(two, name, offset)
    assert one.get_info()['hash'] == two.get_info()['hash'] != '0' * 32


def test_chexor_is_an_involution():
    once = chexor('0' * 32, 'name', ts(1))
    assert once != '0' * 32
    assert chexor(once, 'name', ts(1)) == '0' * 32


# -- metadata -----------------------------------------------------------------

def test_metadata_newest_wins_and_deletions_stick(tmp_path):
    broker = make_broker(tmp_path)
    broker.update_metadata({'X-Container-Meta-A': ('1', ts(2))})
    broker.update_metadata({'X-Container-Meta-A': ('old', ts(1))})
    assert broker.metadata['X-Container-Meta-A'] == ['1', ts(2)]
    broker.update_metadata({'X-Container-Meta-A': ('', ts(3))})
    broker.update_metadata({'X-Container-Meta-A': ('back', ts(2.5))})
    assert broker.metadata['X-Container-Meta-A'] == ['', ts(3)]


def test_validated_metadata_counts_what_the_db_already_holds(tmp_path):
    broker = make_broker(tmp_path)
    first = {'X-Container-Meta-A%d' % i: ('v', ts(1)) for i in range(60)}
    broker.update_metadata(first, validate=True)
    more = {'X-Container-Meta-B%d' % i: ('v', ts(2)) for i in range(31)}
    with pytest.raises(InvalidInput, match='Too many metadata items'):
        broker.update_metadata(more, validate=True)
    assert len(broker.metadata) == 60
    more['X-Container-Meta-A0'] = ('', ts(2))
    broker.update_metadata(more, validate=True)
    assert sum(value != '' for value, _ in broker.metadata.values()) == 90


def test_replicated_metadata_is_merged_unchecked(tmp_path):
    broker = make_broker(tmp_path)
    many = {'X-Container-Meta-A%d' % i: ('v', ts(1)) for i in range(91)}
    broker.update_metadata(many)
    assert len(broker.metadata) == 91


def test_merge_metadata_pure():
    merged = merge_metadata({'A': ['1', ts(1)]},
                            {'A': ('2', ts(2)), 'B': ('', ts(1))})
    assert merged == {'A': ['2', ts(2)], 'B': ['', ts(1)]}


# -- deletion and reclaim ----------------------------------------------------

def test_delete_db_clears_metadata_and_marks_deleted(tmp_path):
    broker = make_broker(tmp_path)
    broker.update_metadata({'X-Container-Meta-A': ('1', ts(1))})
    broker.delete_db(ts(2))
    info = broker.get_info()
    assert info['status'] == 'DELETED' and info['delete_timestamp'] == ts(2)
    assert info['metadata']['X-Container-Meta-A'] == ['', ts(2)]
    assert broker.is_deleted()
    broker.update_put_timestamp(ts(1.5))
    assert broker.is_deleted()
    broker.update_put_timestamp(ts(3))
    assert not broker.is_deleted()
    assert broker.get_info()['status'] == ''


def test_reclaim_drops_only_old_tombstones(tmp_path):
    broker = make_broker(tmp_path)
    put(broker, 'old-dead', 1, deleted=1)
    put(broker, 'new-dead', 10, deleted=1)
    put(broker, 'old-live', 1)
    broker.update_metadata({'X-Container-Meta-Gone': ('', ts(1)),
                            'X-Container-Meta-Recent': ('', ts(10)),
                            'X-Container-Meta-Kept': ('v', ts(1))})
    broker.reclaim(ts(5))
    names = [r['name'] for r in broker.get_items_since(-1, 10)]
    assert sorted(names) == ['new-dead', 'old-live']
    assert sorted(broker.metadata) == ['X-Container-Meta-Kept',
                                       'X-Container-Meta-Recent']


# -- replication primitives --------------------------------------------------

def test_sync_points_never_go_back(tmp_path):
    broker = make_broker(tmp_path)
    assert broker.get_sync('peer') == -1
    broker.merge_syncs([{'remote_id': 'peer', 'sync_point': 5}])
    broker.merge_syncs([{'remote_id': 'peer', 'sync_point': 3}])
    assert broker.get_sync('peer') == 5
    assert broker.get_sync('peer', incoming=False) == -1
    broker.merge_syncs([{'remote_id': 'peer', 'sync_point': 9}],
                       incoming=False)
    assert broker.get_sync('peer', incoming=False) == 9
    assert broker.get_syncs() == [{'remote_id': 'peer', 'sync_point': 5}]


def test_merge_items_from_peer_records_sync_point(tmp_path):
    source = make_broker(tmp_path, 'src')
    target = make_broker(tmp_path, 'dst')
    for i in range(5):
        put(source, 'o%d' % i, i + 1)
    rows = source.get_items_since(-1, 3)
    target.merge_items(rows, source_id=source.get_info()['id'])
    assert target.get_sync(source.get_info()['id']) == rows[-1]['ROWID']
    rest = source.get_items_since(rows[-1]['ROWID'], 10)
    assert [r['name'] for r in rest] == ['o3', 'o4']
    target.merge_items(rest, source_id=source.get_info()['id'])
    assert target.get_info()['hash'] == source.get_info()['hash']


def test_replication_info_and_new_id(tmp_path):
    broker = make_broker(tmp_path)
    put(broker, 'a', 1)
    put(broker, 'b', 2, deleted=1)
    info = broker.get_replication_info()
    assert info['max_row'] == 2 and info['count'] == 2
    old_id = info['id']
    broker.new_id('the-source')
    assert broker.get_info()['id'] != old_id
    assert broker.get_sync('the-source') == 2


def test_initialize_over_an_orphan_wal_starts_clean(tmp_path):
    # A DB removed with its -wal left behind (a removal cut short): SQLite
    # would replay that WAL onto a new DB of the same name.
    old = make_broker(tmp_path)
    db_file = old.db_file
    old.close()
    writer = sqlite3.connect(db_file)
    writer.execute('PRAGMA wal_autocheckpoint = 0')
    writer.execute('CREATE TABLE junk (x)')
    writer.commit()
    shutil.copy(db_file + '-wal', str(tmp_path / 'saved-wal'))
    writer.close()
    os.unlink(db_file)
    shutil.copy(str(tmp_path / 'saved-wal'), db_file + '-wal')
    fresh = ContainerBroker(db_file, account='a', container='c')
    fresh.initialize(ts(5))
    fresh.check_integrity()
    tables = {row[0] for row in fresh.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert 'junk' not in tables
    assert fresh.get_info()['put_timestamp'] == ts(5)


def copy_with_rows(tmp_path):
    """A peer DB: rows 'both' (t3) and 'theirs', a sync point, metadata."""
    copy = make_broker(tmp_path, 'copy')
    put(copy, 'both', 3)
    put(copy, 'theirs', 2)
    copy.merge_syncs([{'remote_id': 'third', 'sync_point': 4}])
    copy.update_metadata({'X-Container-Meta-Copy': ('1', ts(2))})
    copy.merge_timestamps(ts(0), ts(8), '0')
    return copy, copy.get_info()['id']


def test_merge_copy_is_the_union_newest_wins(tmp_path):
    live = make_broker(tmp_path, 'live')
    put(live, 'both', 5)
    put(live, 'mine', 1)
    copy, copy_id = copy_with_rows(tmp_path)
    live.merge_copy(copy, copy_id, batch=1)
    rows = {r['name']: r['created_at'] for r in live.get_items_since(-1, 9)}
    assert rows == {'both': ts(5), 'mine': ts(1), 'theirs': ts(2)}
    assert live.get_sync(copy_id) == copy.get_max_row()
    assert live.get_sync('third') == 4
    assert live.metadata['X-Container-Meta-Copy'] == ['1', ts(2)]
    assert live.get_info()['put_timestamp'] == ts(8)


def test_merge_copy_starts_after_the_sync_point(tmp_path):
    live = make_broker(tmp_path, 'live')
    copy, copy_id = copy_with_rows(tmp_path)
    first = copy.get_items_since(-1, 1)[0]
    # As after a merge cut short once its first batch was in.
    live.merge_syncs([{'remote_id': copy_id, 'sync_point': first['ROWID']}])
    live.merge_copy(copy, copy_id)
    names = [r['name'] for r in live.get_items_since(-1, 9)]
    assert names == ['theirs']


def test_adopt_copy_links_the_copy_in_when_there_is_no_db(tmp_path):
    copy, copy_id = copy_with_rows(tmp_path)
    target = ContainerBroker(str(tmp_path / 'new' / 'new.db'))
    assert target.adopt_copy(copy, copy_id) is True
    assert os.stat(target.db_file).st_ino == os.stat(copy.db_file).st_ino
    info = target.get_info()
    assert info['id'] != copy_id and info['object_count'] == 2
    assert target.get_sync(copy_id) == copy.get_max_row()
    assert os.path.exists(target.pending_file)
    target.check_integrity()


def test_adopt_copy_merges_into_a_db_made_meanwhile(tmp_path):
    live = make_broker(tmp_path, 'live')
    put(live, 'mine', 1)
    inode = os.stat(live.db_file).st_ino
    copy, copy_id = copy_with_rows(tmp_path)
    assert live.adopt_copy(copy, copy_id) is False
    assert os.stat(live.db_file).st_ino == inode
    names = {r['name'] for r in live.get_items_since(-1, 9)}
    assert names == {'both', 'mine', 'theirs'}


def test_merge_timestamps(tmp_path):
    broker = make_broker(tmp_path)
    created = broker.get_info()['created_at']
    broker.merge_timestamps(ts(-5), ts(3), ts(2))
    info = broker.get_info()
    assert info['created_at'] == min(created, ts(-5))
    assert (info['put_timestamp'], info['delete_timestamp']) == (ts(3), ts(2))
    broker.merge_timestamps(ts(10), ts(1), '0')
    assert broker.get_info()['put_timestamp'] == ts(3)


def test_merged_deletion_marks_status(tmp_path):
    broker = make_broker(tmp_path)
    broker.merge_timestamps(ts(0), ts(0), ts(4))
    info = broker.get_info()
    assert info['status'] == 'DELETED' and info['status_changed_at'] == ts(4)
    assert broker.is_deleted()
    broker.merge_timestamps(ts(0), ts(6), ts(4))
    assert broker.get_info()['status'] == ''
    assert not broker.is_deleted()


def test_integrity_check(tmp_path):
    broker = make_broker(tmp_path)
    broker.check_integrity()
    broker.close()
    with open(broker.db_file, 'r+b') as damaged:
        damaged.seek(0)
        damaged.write(b'this is not sqlite' * 10)
    broken = ContainerBroker(broker.db_file)
    with pytest.raises(DatabaseCorrupt):
        broken.check_integrity()


def test_base_class_is_abstract(tmp_path):
    broker = DatabaseBroker(str(tmp_path / 'x.db'))
    with pytest.raises(NotImplementedError):
        broker.initialize(ts(1))


# -- locations ----------------------------------------------------------------

def test_db_path_layout():
    path = db_layout.db_path('/srv/node/sda', 'container', 17,
                             'f' * 29 + 'abc')
    assert path == ('/srv/node/sda/containers/17/abc/' + 'f' * 29 + 'abc/' +
                    'f' * 29 + 'abc.db')


def test_device_path(tmp_path):
    (tmp_path / 'sda').mkdir()
    assert db_layout.device_path(str(tmp_path), 'sda', False) == str(
        tmp_path / 'sda')
    for device in ('sdb', '..', 'a/b', ''):
        with pytest.raises(DiskFileDeviceUnavailable):
            db_layout.device_path(str(tmp_path), device, False)
    with pytest.raises(DiskFileDeviceUnavailable):
        db_layout.device_path(str(tmp_path), 'sda', True)


# -- listing pages ------------------------------------------------------------

NAMES = sorted({
    'a', 'a/', 'a/b', 'a/b/c', 'a/c', 'a-b', 'ab', 'b', 'b/x', 'b/y/z',
    'c', 'c/', 'c//d', 'caf\u00e9', 'caf\u00e9/x', 'z', '\u00ff/a',
    '\u4e2d/\u6587', 'deleted/x'})


def reference_listing(names, params):
    """The obvious O(n) listing, to check the query-skipping algorithm."""
    names = sorted(names, reverse=params.reverse)
    out = []
    for name in names:
        if params.prefix and not name.startswith(params.prefix):
            continue
        if params.reverse:
            if params.marker and name >= params.marker:
                continue
            if params.end_marker and name <= params.end_marker:
                continue
        else:
            if params.marker and name <= params.marker:
                continue
            if params.end_marker and name >= params.end_marker:
                continue
        entry = name
        if params.delimiter:
            cut = name.find(params.delimiter, len(params.prefix))
            if cut >= 0:
                entry = ('subdir', name[:cut + 1])
                if entry[1] == params.marker:
                    continue
        if entry not in out:
            out.append(entry)
    return out[:params.limit]


@pytest.fixture
def listed_broker(tmp_path):
    broker = make_broker(tmp_path)
    for name in NAMES:
        put(broker, name, 1)
    put(broker, 'deleted/x', 2, deleted=1)
    put(broker, 'gone', 2, deleted=1)
    broker.get_info()
    return broker


def entries_of(broker, params):
    rows = list_page(broker.conn, 'object', ('name',), params)
    return [('subdir', row) if is_subdir else row[0]
            for is_subdir, row in rows]


def test_listing_matches_reference(listed_broker):
    live = [n for n in NAMES if n != 'deleted/x']
    rng = random.Random(3)
    choices = [''] + live + ['a/b/', 'c/', 'caf', '\u00e9', 'zz']
    for _ in range(1500):
        params = ListingParams(
            limit=rng.choice([1, 2, 3, 5, 100]),
            marker=rng.choice(choices), end_marker=rng.choice(choices),
            prefix=rng.choice(['', '', 'a', 'a/', 'c/', 'caf', 'b/', 'q']),
            delimiter=rng.choice(['', '', '/', '-', 'b']),
            reverse=rng.random() < 0.3)
        assert entries_of(listed_broker, params) == \
            reference_listing(live, params), params


def test_listing_with_mixed_subdir_sizes_matches_reference(tmp_path):
    rng = random.Random(11)
    names = set()
    for top in range(30):
        for index in range(rng.choice([1, 3, 20, 40, 90])):
            names.add('t%02d/%s%03d' % (top, rng.choice('ab'), index))
        names.add('t%02d' % top)
    broker = make_broker(tmp_path)
    broker.merge_items([{'name': n, 'created_at': ts(1), 'size': 0,
                         'content_type': '', 'etag': ''} for n in names])
    choices = [''] + sorted(names)[::37] + ['t05/', 't10', 't29/z']
    for _ in range(300):
        params = ListingParams(
            limit=rng.choice([1, 7, 25, 1000]),
            marker=rng.choice(choices), end_marker=rng.choice(choices),
            prefix=rng.choice(['', '', 't1', 't07/', 't2']),
            delimiter=rng.choice(['/', '/', 'a', '0']),
            reverse=rng.random() < 0.4)
        assert entries_of(broker, params) == \
            reference_listing(names, params), params


def test_listing_examples(listed_broker):
    params = ListingParams(limit=100, delimiter='/')
    assert entries_of(listed_broker, params) == [
        'a', 'a-b', ('subdir', 'a/'), 'ab', 'b', ('subdir', 'b/'), 'c',
        ('subdir', 'c/'), 'caf\u00e9', ('subdir', 'caf\u00e9/'), 'z',
        ('subdir', '\u00ff/'), ('subdir', '\u4e2d/')]
    params = ListingParams(limit=100, prefix='a/', delimiter='/')
    assert entries_of(listed_broker, params) == [
        'a/', 'a/b', ('subdir', 'a/b/'), 'a/c']


def count_name_queries(broker, params):
    statements = []
    broker.conn.set_trace_callback(statements.append)
    page = broker.list_objects(params)
    broker.conn.set_trace_callback(None)
    return page, len([s for s in statements if s.startswith('SELECT name')])


def fill_dirs(broker, dirs, per_dir):
    broker.merge_items([{'name': 'd%02d/o%03d' % (d, o), 'created_at': ts(1),
                         'size': 0, 'content_type': '', 'etag': ''}
                        for d in range(dirs) for o in range(per_dir)])


def test_big_subdirs_are_jumped_over(tmp_path):
    broker = make_broker(tmp_path)
    fill_dirs(broker, 20, 200)
    page, queries = count_name_queries(
        broker, ListingParams(limit=100, delimiter='/'))
    assert [e.name for e in page] == ['d%02d/' % d for d in range(20)]
    # At most one query per subdir (plus the first): never a full scan.
    assert queries <= 21


def test_small_subdirs_are_read_past_in_one_query(tmp_path):
    broker = make_broker(tmp_path)
    fill_dirs(broker, 50, 5)
    page, queries = count_name_queries(
        broker, ListingParams(limit=100, delimiter='/'))
    assert len(page) == 50
    assert queries == 1
    page, queries = count_name_queries(
        broker, ListingParams(limit=100, delimiter='/', reverse=True))
    assert page[0].name == 'd49/' and queries == 1


def test_listing_uses_the_deleted_name_index(tmp_path):
    broker = make_broker(tmp_path)
    plan = broker.conn.execute(
        'EXPLAIN QUERY PLAN SELECT name FROM object WHERE deleted = 0 '
        'AND name > ? AND name < ? ORDER BY name LIMIT 10',
        ('a', 'b')).fetchall()
    text = ' '.join(str(tuple(row)) for row in plan)
    assert 'ix_object_deleted_name' in text
    assert 'TEMP B-TREE' not in text


def test_timestamps_sort_as_strings():
    # The merge compares internal timestamps as strings: prove it orders
    # like Timestamp for normal and offset forms.
    values = [Timestamp(T0 + i * 0.5, offset=o) for i in range(5)
              for o in (0, 1, 16)]
    as_strings = sorted(values, key=lambda t: t.internal)
    assert as_strings == sorted(values)


def test_pending_record_format_is_json_lines(tmp_path):
    broker = make_broker(tmp_path)
    put(broker, 'o\nwith newline', 1)
    with open(broker.pending_file, 'rb') as pending:
        data = pending.read()
    lines = [line for line in data.split(b'\n') if line]
    assert len(lines) == 1
    assert json.loads(lines[0])['name'] == 'o\nwith newline'


def test_db_without_pending_file_gets_one(tmp_path):
    broker = make_broker(tmp_path)
    os.unlink(broker.pending_file)
    put(broker, 'o', 1)
    assert os.path.getsize(broker.pending_file) > 0
    assert broker.get_info()['object_count'] == 1
