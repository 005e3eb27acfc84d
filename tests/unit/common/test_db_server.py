"""REPLICATE ops and the request helpers both DB servers share.

The ops run against a real container server on a loopback port, with real
DBs on tmp devices; the peer side is a broker driven directly, as the DB
replicator would.
"""

import json
import multiprocessing
import os
import shutil
import sqlite3
import threading
import time

import pytest

from objstore.common import db_request, green
from objstore.common.db_layout import db_path
from objstore.common.group_fsync import CoalescingFsync, pending_syncer
from objstore.common.exceptions import InvalidInput
from objstore.common.hashing import hash_path
from objstore.container.backend import ContainerBroker
from objstore.container.server import ContainerController
from tests.helpers import ts
from tests.unit.container.db_server_helpers import (
    HASH_CONF, Client, devices_dir, running, server_conf)

NAME_HASH = hash_path('a', 'c', hash_conf=HASH_CONF)
PATH = '/sda/1/%s' % NAME_HASH


@pytest.fixture
def devices():
    with devices_dir('sda') as root:
        yield root


@pytest.fixture
def server(devices):
    app = ContainerController(server_conf(devices), hash_conf=HASH_CONF)
    with running(app) as handle:
        yield Client(handle.port)


def local_file(devices):
    return db_path(os.path.join(devices, 'sda'), 'container', 1, NAME_HASH)


def local_broker(devices):
    broker = ContainerBroker(local_file(devices), account='a', container='c')
    if not broker.exists():
        broker.initialize(ts(0))
    return broker


def peer_broker(tmp_path, rows=()):
    broker = ContainerBroker(str(tmp_path / 'peer' / 'peer.db'),
                             account='a', container='c')
    broker.initialize(ts(0))
    for name, offset in rows:
        broker.put_object(name, ts(offset), offset, 'text/plain', 'e')
    broker.get_info()
    return broker


def call(server, op, path=PATH, **args):
    status, headers, body = server.request(
        'REPLICATE', path, {'Content-Type': 'application/json'},
        json.dumps(dict(args, op=op)).encode('utf-8'))
    payload = json.loads(body) if headers.get(
        'content-type', '').startswith('application/json') else body
    return status, payload


# -- sync ---------------------------------------------------------------------

def test_sync_without_db_is_404(server, tmp_path):
    peer = peer_broker(tmp_path)
    status, _ = call(server, 'sync', info=peer.get_replication_info())
    assert status == 404


def test_sync_exchanges_info_and_merges_metadata(server, devices, tmp_path):
    local = local_broker(devices)
    local.put_object('mine', ts(1), 1, 'x', 'e')
    peer = peer_broker(tmp_path)
    peer.update_metadata({'X-Container-Meta-Peer': ('yes', ts(2))})
    peer.merge_timestamps(ts(0), ts(3), '0')
    status, remote = call(server, 'sync', info=peer.get_replication_info())
    assert status == 200
    assert remote['id'] == local.get_info()['id']
    assert remote['point'] == -1
    assert remote['max_row'] == 1 and remote['count'] == 1
    info = local.get_info()
    assert info['metadata']['X-Container-Meta-Peer'] == ['yes', ts(2)]
    assert info['put_timestamp'] == ts(3)


def test_merge_items_then_sync_reports_point(server, devices, tmp_path):
    local = local_broker(devices)
    peer = peer_broker(tmp_path, [('a', 1), ('b', 2), ('c', 3)])
    peer_id = peer.get_info()['id']
    rows = peer.get_items_since(-1, 10)
    status, _ = call(server, 'merge_items', items=rows, source_id=peer_id)
    assert status == 202
    assert local.get_info()['hash'] == peer.get_info()['hash']
    _, remote = call(server, 'sync', info=peer.get_replication_info())
    assert remote['point'] == rows[-1]['ROWID']


def test_merge_items_older_rows_lose(server, devices, tmp_path):
    local = local_broker(devices)
    local.put_object('o', ts(5), 50, 'x', 'new')
    peer = peer_broker(tmp_path, [('o', 1)])
    call(server, 'merge_items', items=peer.get_items_since(-1, 10),
         source_id=peer.get_info()['id'])
    assert local.get_object_row('o')['etag'] == 'new'


def test_merge_syncs(server, devices):
    local = local_broker(devices)
    status, _ = call(server, 'merge_syncs', sync_points=[
        {'remote_id': 'third', 'sync_point': 12}])
    assert status == 202
    assert local.get_sync('third') == 12
    call(server, 'merge_syncs', sync_points=[
        {'remote_id': 'third', 'sync_point': 4}])
    assert local.get_sync('third') == 12


def test_complete_rsync_moves_db_into_place(server, devices, tmp_path):
    peer = peer_broker(tmp_path, [('a', 1), ('b', 2)])
    peer.close()
    tmp_name = 'incoming.db'
    shutil.copy(peer.db_file, os.path.join(devices, 'sda', 'tmp', tmp_name))
    status, _ = call(server, 'complete_rsync', tmp_name=tmp_name,
                     source_id=peer.get_info()['id'])
    assert status == 204
    local = ContainerBroker(local_file(devices))
    info = local.get_info()
    assert info['object_count'] == 2
    assert info['id'] != peer.get_info()['id']
    assert local.get_sync(peer.get_info()['id']) == 2
    assert not os.path.exists(os.path.join(devices, 'sda', 'tmp', tmp_name))
    # A second copy finds the DB there.
    shutil.copy(peer.db_file, os.path.join(devices, 'sda', 'tmp', tmp_name))
    status, _ = call(server, 'complete_rsync', tmp_name=tmp_name,
                     source_id='x')
    assert status == 409


def test_complete_rsync_drops_a_stale_wal(server, devices, tmp_path):
    stale = local_broker(devices)
    stale.put_object('ghost', ts(1), 1, 'x', 'e')
    stale.get_info()
    db_file = stale.db_file
    stale.close()
    writer = sqlite3.connect(db_file)
    writer.execute('PRAGMA wal_autocheckpoint = 0')
    writer.execute('CREATE TABLE junk (x)')
    writer.execute('INSERT INTO junk VALUES (1)')
    writer.commit()
    shutil.copy(db_file + '-wal', str(tmp_path / 'saved-wal'))
    writer.close()
    os.unlink(db_file)
    shutil.copy(str(tmp_path / 'saved-wal'), db_file + '-wal')
    peer = peer_broker(tmp_path, [('a', 1)])
    peer.close()
    shutil.copy(peer.db_file, os.path.join(devices, 'sda', 'tmp', 'in.db'))
    status, _ = call(server, 'complete_rsync', tmp_name='in.db',
                     source_id=peer.get_info()['id'])
    assert status == 204
    assert not os.path.exists(db_file + '-wal')
    local = ContainerBroker(db_file)
    assert local.get_object_row('a') is not None
    assert local.get_info()['object_count'] == 1


def test_complete_rsync_missing_tmp(server):
    status, _ = call(server, 'complete_rsync', tmp_name='nothing.db',
                     source_id='x')
    assert status == 404


def test_rsync_then_merge(server, devices, tmp_path):
    local = local_broker(devices)
    local.put_object('local-only', ts(4), 4, 'x', 'e')
    local.put_object('shared', ts(9), 9, 'x', 'local-newer')
    local.update_metadata({'X-Container-Meta-L': ('1', ts(1))})
    local.merge_syncs([{'remote_id': 'third', 'sync_point': 7}])
    peer = peer_broker(tmp_path, [('peer-only', 1), ('shared', 2)])
    peer.close()
    shutil.copy(peer.db_file, os.path.join(devices, 'sda', 'tmp', 'm.db'))
    status, _ = call(server, 'rsync_then_merge', tmp_name='m.db',
                     source_id=peer.get_info()['id'])
    assert status == 204
    merged = ContainerBroker(local_file(devices))
    names = {r['name']: r['etag'] for r in merged.get_items_since(-1, 10)}
    assert names == {'local-only': 'e', 'shared': 'local-newer',
                     'peer-only': 'e'}
    assert merged.get_sync('third') == 7
    assert merged.metadata['X-Container-Meta-L'] == ['1', ts(1)]
    assert merged.get_info()['object_count'] == 3
    merged.check_integrity()


def test_rsync_then_merge_missing_files(server, devices):
    assert call(server, 'rsync_then_merge', tmp_name='m.db',
                source_id='x')[0] == 404


# -- the rsync ops against live writers --------------------------------------
#
# A server never renames a file over a live DB: other connections (a cached
# broker, another server process) would go on with the old file and WAL and
# rows they commit would be lost. These tests commit rows from a writer with
# its own long-lived broker while the op runs, and then check that every
# acknowledged row, and every row of the pushed copy, is in the DB.

COPY_ROWS = 6000
# Fat rows make the copy big enough that checking it takes a while, which
# gives a racing writer time to act while the op works on it.
FAT_TYPE = 'text/' + 'x' * 3000


def object_row(name, offset, etag='e', content_type='text/plain'):
    return {'name': name, 'created_at': ts(offset), 'size': offset,
            'content_type': content_type, 'etag': etag, 'deleted': 0,
            'storage_policy_index': 0}


@pytest.fixture(scope='module')
def big_copy(tmp_path_factory):
    """(path, id) of a closed peer DB of COPY_ROWS rows named copy-NNNNN."""
    path = str(tmp_path_factory.mktemp('big-peer') / 'peer.db')
    broker = ContainerBroker(path, account='a', container='c')
    broker.initialize(ts(0))
    broker.merge_items([object_row('copy-%05d' % i, 1,
                                   content_type=FAT_TYPE)
                        for i in range(COPY_ROWS)])
    db_id = broker.get_info()['id']
    broker.close()
    return path, db_id


def push_copy(devices, big_copy, tmp_name):
    """What the sender's rsync leaves in our tmp dir; its path."""
    tmp_path = os.path.join(devices, 'sda', 'tmp', tmp_name)
    shutil.copy(big_copy[0], tmp_path)
    return tmp_path


class RowWriter(threading.Thread):
    """Commits object rows one at a time through one long-lived broker
    (pending_cap=0: each put is merged into SQLite before it returns), as
    a busy container server does, until ``finish``. ``acked`` holds the
    names whose put returned. With ``create`` it first creates the DB,
    once ``ready()`` says so."""

    def __init__(self, db_file, create=False, ready=lambda: True):
        super().__init__(daemon=True)
        self.db_file = db_file
        self.create = create
        self.ready = ready
        self.acked = []
        self.error = None
        self.inodes = None
        self.broker = ContainerBroker(db_file, account='a', container='c',
                                      pending_cap=0)
        self._stop_event = threading.Event()

    def run(self):
        try:
            deadline = time.monotonic() + 30
            while not self.ready() and time.monotonic() < deadline:
                time.sleep(0.0005)
            if self.create:
                self.broker.initialize_if_missing(ts(0))
            while not self._stop_event.is_set():
                name = 'live-%05d' % len(self.acked)
                self.broker.put_object(name, ts(3), 3, 'text/plain', 'w')
                if self.inodes is None:
                    self.inodes = file_inodes(self.db_file)
                self.acked.append(name)
                # A steady stream, not a flood that starves the op.
                time.sleep(0.002)
        except Exception as err:
            self.error = err

    def wait_for_rows(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        while len(self.acked) < count and self.is_alive():
            assert time.monotonic() < deadline, 'writer is stuck'
            time.sleep(0.001)

    def begin(self, rows=3):
        """Start, and return once it committed ``rows`` rows."""
        self.start()
        self.wait_for_rows(rows)

    def finish(self, more_rows=5):
        """Let it commit ``more_rows`` more, stop it; what it saw: acked
        names, the inodes of the DB and WAL at its first and last row,
        whether its still open broker sees a row of the pushed copy, and
        its error if it failed."""
        self.wait_for_rows(len(self.acked) + more_rows)
        self._stop_event.set()
        self.join(30)
        try:
            inodes_now = file_inodes(self.db_file)
            sees_copy = self.broker.get_object_row('copy-00003') is not None
        except Exception as err:
            inodes_now = sees_copy = repr(err)
        finally:
            self.broker.close()
        return {'acked': self.acked, 'inodes': self.inodes,
                'inodes_now': inodes_now, 'sees_copy': sees_copy,
                'error': None if self.error is None else repr(self.error)}


def run_writer_process(db_file, ready, stop, report):
    """Body of a WriterProcess."""
    writer = RowWriter(db_file)
    writer.begin()
    ready.set()
    stop.wait(60)
    report.put(writer.finish())


class WriterProcess:
    """A RowWriter in a process of its own, as another server worker: SQLite
    shares locks and the WAL index between connections of one process, so
    a second process meets the op differently. Spawned, not forked: SQLite
    connections must not cross a fork."""

    def __init__(self, db_file):
        context = multiprocessing.get_context('spawn')
        self.ready = context.Event()
        self.stop = context.Event()
        self.report = context.Queue()
        self.process = context.Process(
            target=run_writer_process,
            args=(db_file, self.ready, self.stop, self.report), daemon=True)

    def begin(self):
        self.process.start()
        assert self.ready.wait(60), 'writer process did not start'

    def finish(self):
        self.stop.set()
        try:
            return self.report.get(timeout=60)
        finally:
            self.process.join(10)
            if self.process.is_alive():
                self.process.kill()


def file_inodes(db_file):
    """Inodes of the DB and its WAL: who is using which file."""
    return (os.stat(db_file).st_ino, os.stat(db_file + '-wal').st_ino)


def stored_rows(db_file):
    """{name: row} read through a fresh connection, after an integrity
    check."""
    fresh = ContainerBroker(db_file)
    try:
        fresh.check_integrity()
        return {row['name']: row
                for row in fresh.get_items_since(-1, 10 * COPY_ROWS)}
    finally:
        fresh.close()


@pytest.mark.parametrize('writer_class', [RowWriter, WriterProcess],
                         ids=['thread', 'process'])
def test_rsync_then_merge_keeps_rows_of_live_writers(server, devices,
                                                     big_copy, writer_class):
    local = local_broker(devices)
    # One row newer than the copy's, one older: newest wins either way.
    local.merge_items([object_row('copy-00001', 9, etag='local-newer'),
                       object_row('copy-00002', 0, etag='local-older')])
    writer = writer_class(local.db_file)
    writer.begin()
    tmp_path = push_copy(devices, big_copy, 'merge.db')
    status, _ = call(server, 'rsync_then_merge', tmp_name='merge.db',
                     source_id=big_copy[1])
    seen = writer.finish()
    assert status == 204
    assert seen['error'] is None
    rows = stored_rows(local.db_file)
    assert not set(seen['acked']) - set(rows)
    assert {'copy-%05d' % i for i in range(COPY_ROWS)} <= set(rows)
    assert rows['copy-00001']['etag'] == 'local-newer'
    assert rows['copy-00002']['etag'] == 'e'
    # Same DB file and WAL as the writer began with; its open broker
    # sees the copy's rows.
    assert seen['inodes_now'] == seen['inodes']
    assert seen['sees_copy'] is True
    assert local.get_info()['object_count'] == len(rows)
    assert local.get_sync(big_copy[1]) == COPY_ROWS
    assert not os.path.exists(tmp_path)


def test_complete_rsync_racing_a_create_keeps_both(server, devices,
                                                  big_copy):
    tmp_path = push_copy(devices, big_copy, 'race.db')
    db_file = local_file(devices)
    # The server opens the copy only once it found no DB; the DB is
    # created (by a PUT, say) right then (or, should the writer miss that
    # moment, once the op is over and the copy gone).
    writer = RowWriter(db_file, create=True,
                       ready=lambda: os.path.exists(tmp_path + '-shm') or
                       not os.path.exists(tmp_path))
    writer.start()
    status, _ = call(server, 'complete_rsync', tmp_name='race.db',
                     source_id=big_copy[1])
    seen = writer.finish()
    assert status == 204
    assert seen['error'] is None
    rows = stored_rows(db_file)
    assert not set(seen['acked']) - set(rows)
    assert {'copy-%05d' % i for i in range(COPY_ROWS)} <= set(rows)
    assert seen['inodes_now'] == seen['inodes']
    assert seen['sees_copy'] is True
    assert not os.path.exists(tmp_path)


@pytest.mark.parametrize('body', [
    b'not json', b'[]', b'{"op": "explode"}', b'{"op": "merge_items"}',
    b'{"op": "merge_items", "items": [{"nope": 1}]}',
    b'{"op": "merge_items", "items": [{"name": "a\\u0000b"}]}',
    b'{"op": "merge_syncs", "sync_points": [{"remote_id": "x"}]}',
    b'{"op": "complete_rsync", "tmp_name": "../x", "source_id": "s"}',
    b'{"op": "sync", "info": {}}'])
def test_bad_replicate_bodies_are_400(server, devices, body):
    local_broker(devices)
    status, _, text = server.request('REPLICATE', PATH, {}, body)
    assert status == 400
    assert text and b'\n' not in text


@pytest.mark.parametrize('path', ['/sda/1', '/sda/x/' + NAME_HASH,
                                  '/sda/1/nothex', '/sda/1/%s/extra'
                                  % NAME_HASH])
def test_bad_replicate_paths(server, path):
    status, _ = call(server, 'merge_syncs', path=path, sync_points=[])
    assert status == 400


def test_replicate_missing_device(server):
    status, _ = call(server, 'merge_syncs', path='/sdz/1/' + NAME_HASH,
                     sync_points=[])
    assert status == 507


# -- request helpers ----------------------------------------------------------

def test_header_int():
    assert db_request.header_int({'N': '7'}, 'N') == 7
    assert db_request.header_int({}, 'N', 3) == 3
    for value in ('-1', 'x', '1.5'):
        with pytest.raises(InvalidInput):
            db_request.header_int({'N': value}, 'N')
    with pytest.raises(InvalidInput):
        db_request.header_int({}, 'N')


def test_decode_query_keeps_bad_utf8_visible():
    query = db_request.decode_query('prefix=caf%C3%A9&marker=%FF&limit=')
    assert query['prefix'] == 'caf\u00e9'
    assert query['marker'] == '\udcff'
    assert query['limit'] == ''


def test_metadata_from_headers_keeps_sysmeta_apart():
    updates = db_request.metadata_from_headers([
        ('X-Container-Meta-Color', 'red'),
        ('X-Container-Sysmeta-Owner', 'me'),
        ('X-Remove-Container-Meta-Size', 'yes'),
        ('X-Container-Read', '.r:*'),
        ('X-Remove-Container-Write', 'x'),
        ('X-Account-Meta-Wrong-Type', 'no'),
        ('Content-Type', 'text/plain')], 'container', ts(1))
    assert updates == {
        'X-Container-Meta-Color': ('red', ts(1)),
        'X-Container-Sysmeta-Owner': ('me', ts(1)),
        'X-Container-Meta-Size': ('', ts(1)),
        'X-Container-Read': ('.r:*', ts(1)),
        'X-Container-Write': ('', ts(1))}
    account = db_request.metadata_from_headers([('X-Account-Meta-A', '1'),
                                     ('X-Container-Read', 'x'),
                                     ('X-Remove-Account-Sysmeta-B', '1')],
                                    'account', ts(1))
    assert account == {'X-Account-Meta-A': ('1', ts(1)),
                       'X-Account-Sysmeta-B': ('', ts(1))}


# -- group commit of pending appends -----------------------------------------

class SyncCounter:
    def __init__(self):
        self.syncs = 0

    def sync(self, path):
        self.syncs += 1


def test_coalescing_fsync_shares_one_sync():
    world = SyncCounter()
    pending_writers = []

    def pause():
        # While the first caller yields, three more append and then yield
        # themselves; the scheduler then resumes them all after one sync.
        while pending_writers:
            pending_writers.pop()()

    coalescer = CoalescingFsync(pause=pause, sync=world.sync)
    pending_writers.extend(lambda: coalescer('/p') for _ in range(3))
    coalescer('/p')
    assert world.syncs == 1
    coalescer('/p')
    assert world.syncs == 2
    coalescer('/q')
    assert world.syncs == 3


def test_coalescing_fsync_later_append_waits_for_next_sync():
    syncs = []

    def sync(path):
        syncs.append(path)

    coalescer = CoalescingFsync(pause=lambda: None, sync=sync)
    coalescer('/p')
    coalescer('/p')
    assert syncs == ['/p', '/p']


def test_coalescing_fsync_covers_every_append_of_green_threads():
    """Green threads append at staggered times: each returns only after a
    sync that started after its own append."""
    appends = [0]
    durable = [0]

    def sync(path):
        durable[0] = max(durable[0], appends[0])

    coalescer = CoalescingFsync(pause=green.sleep, sync=sync)
    failures = []

    def writer(delay):
        green.sleep(delay)
        appends[0] += 1
        mine = appends[0]
        coalescer('/p')
        if durable[0] < mine:
            failures.append(mine)

    pool = green.GreenPool(64)
    for index in range(60):
        pool.spawn_n(writer, (index % 6) * 0.002)
    pool.waitall()
    assert failures == []
    assert durable[0] == 60
    assert coalescer._state == {}


def test_coalescing_fsync_shares_one_sync_among_ready_appenders():
    syncs = []
    coalescer = CoalescingFsync(pause=green.sleep, sync=syncs.append)
    pool = green.GreenPool(64)
    for _ in range(60):
        pool.spawn_n(coalescer, '/p')
    pool.waitall()
    assert syncs == ['/p']


def test_coalescing_fsync_failure_is_retried_by_the_next_caller():
    """The caller whose sync failed gets the error; a caller whose append
    that sync was to cover syncs again instead of returning unsynced."""
    calls = []

    def flaky_sync(path):
        calls.append(path)
        if len(calls) == 1:
            raise OSError('disk hiccup')

    coalescer = CoalescingFsync(pause=green.sleep, sync=flaky_sync)
    outcomes = []

    def writer():
        try:
            coalescer('/p')
            outcomes.append('ok')
        except OSError:
            outcomes.append('error')

    pool = green.GreenPool(8)
    for _ in range(5):
        pool.spawn_n(writer)
    pool.waitall()
    assert sorted(outcomes) == ['error'] + ['ok'] * 4
    assert len(calls) == 2


def test_pending_syncer_syncs_in_the_hub_thread(monkeypatch, tmp_path):
    """Even in a monkey-patched server the pending file's fdatasync makes
    no trip to the native thread pool, which costs more than the sync."""
    pending = tmp_path / 'db.pending'
    pending.write_bytes(b'\n{"name":"o"}\n')
    trips, synced = [], []
    real_fdatasync = os.fdatasync

    def fdatasync(fd):
        synced.append(os.fstat(fd).st_ino)
        real_fdatasync(fd)

    monkeypatch.setattr(green, 'is_monkey_patched', lambda: True)
    monkeypatch.setattr(green, 'tpool_execute',
                        lambda func, *args: trips.append(func) or func(*args))
    monkeypatch.setattr(os, 'fdatasync', fdatasync)
    pending_syncer()(str(pending))
    assert synced == [pending.stat().st_ino]
    assert trips == []
