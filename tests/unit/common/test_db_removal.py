"""Removing a DB (``DatabaseBroker.remove_if_unchanged``) against writers
racing it: a write is either in the DB the removal looked at (and the
removal backs off) or refused with DatabaseRemoved, never acknowledged and
lost.

Real SQLite files, real flocks, a writer in another thread with its own
broker (its own file descriptors and connection, as another server process
has).
"""

import os
import threading

import pytest

from objstore.common.db import locked_file, removal_state
from objstore.common.exceptions import DatabaseNotFound, DatabaseRemoved
from objstore.common.timestamp import Timestamp
from objstore.container.backend import ContainerBroker

T0 = 1700000000


def ts(offset):
    return Timestamp(T0 + offset).internal


def db_file(tmp_path):
    return str(tmp_path / 'containers' / '1' / 'abc' / 'h' / 'h.db')


def make_broker(tmp_path, **kwargs):
    broker = ContainerBroker(db_file(tmp_path), account='a', container='c',
                             **kwargs)
    if not broker.exists():
        broker.initialize(ts(0))
    return broker


def put(broker, name, offset=1):
    broker.put_object(name, ts(offset), 1, 'text/plain', 'etag-' + name)


def names(broker):
    return sorted(row['name'] for row in broker.get_items_since(-1, 1000))


class Outcome:
    """What a writer thread's call did: returned or raised."""

    def __init__(self, call):
        self.returned = False
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(call,))

    def _run(self, call):
        try:
            call()
            self.returned = True
        except Exception as err:
            self.error = err

    def start(self):
        self.thread.start()
        return self

    def join(self):
        self.thread.join(30)
        assert not self.thread.is_alive()
        return self


def waiting_broker(tmp_path, **kwargs):
    """A writer's broker and an Event set once it waits for the pending
    lock (``locked_file`` sleeps only while the lock is held elsewhere)."""
    waiting = threading.Event()

    def sleep(seconds):
        waiting.set()
        threading.Event().wait(seconds)

    return make_broker(tmp_path, sleep=sleep, **kwargs), waiting


def remove_files(db_dir):
    for name in os.listdir(db_dir):
        os.unlink(os.path.join(db_dir, name))
    os.rmdir(db_dir)


# -- the writers' side ----------------------------------------------------------

@pytest.mark.parametrize('pending_cap', [1, 1 << 20])
def test_append_waiting_on_a_removed_dbs_pending_lock_is_refused(
        tmp_path, pending_cap):
    """The writer opened the pending file and waits for its lock while the
    DB is removed under that lock: appending to the unlinked file would be
    acknowledged (at once, or after a flush of it) and lost."""
    make_broker(tmp_path)
    writer, waiting = waiting_broker(tmp_path, pending_cap=pending_cap)
    with locked_file(writer.pending_file, 5) as _held:
        outcome = Outcome(lambda: put(writer, 'late')).start()
        assert waiting.wait(10)
        remove_files(writer.db_dir)
    outcome.join()
    assert not outcome.returned
    assert isinstance(outcome.error, DatabaseRemoved)


def test_sqlite_write_waiting_on_a_removed_dbs_write_lock_is_refused(
        tmp_path):
    """Rows from a peer (REPLICATE merge_items) on a connection opened
    before the removal, waiting for SQLite's write lock meanwhile."""
    remover = make_broker(tmp_path)
    writer = make_broker(tmp_path)
    writer.get_info()
    remover.conn.execute('BEGIN IMMEDIATE')
    row = {'name': 'peer-row', 'created_at': ts(1), 'size': 1,
           'content_type': 'text/plain', 'etag': 'e', 'deleted': 0,
           'storage_policy_index': 0, 'ROWID': 7}
    outcome = Outcome(
        lambda: writer.merge_items([row], source_id='peer')).start()
    remove_files(remover.db_dir)
    remover.conn.execute('ROLLBACK')
    outcome.join()
    assert not outcome.returned
    assert isinstance(outcome.error, DatabaseRemoved)


# -- the removal's side -----------------------------------------------------------

def test_unchanged_db_is_removed_with_its_directory(tmp_path):
    broker = make_broker(tmp_path)
    put(broker, 'a')
    info = broker.get_replication_info()
    assert broker.remove_if_unchanged(info)
    assert not os.path.exists(broker.db_dir)


@pytest.mark.parametrize('change', [
    lambda broker: put(broker, 'pending-only'),
    lambda broker: broker.update_metadata({'X-Container-Meta-K':
                                           ('v', ts(5))}),
    lambda broker: broker.delete_db(ts(6)),
])
def test_db_changed_since_info_is_kept(tmp_path, change):
    broker = make_broker(tmp_path)
    put(broker, 'a')
    info = broker.get_replication_info()
    change(make_broker(tmp_path))
    assert not broker.remove_if_unchanged(info)
    assert broker.exists()
    assert 'a' in names(broker)
    # Seen now: the next pass may remove it.
    assert broker.remove_if_unchanged(broker.get_replication_info())


def test_removal_sees_a_write_committed_under_sqlites_lock(tmp_path):
    """A writer holds SQLite's write lock as the removal starts: the
    removal (pending lock held) waits for it, then sees the new row."""
    broker = make_broker(tmp_path)
    info = broker.get_replication_info()
    writer = make_broker(tmp_path)
    writer.conn.execute('BEGIN IMMEDIATE')
    removed = []
    outcome = Outcome(
        lambda: removed.append(broker.remove_if_unchanged(info))).start()
    writer.conn.execute(
        "INSERT INTO object (name, created_at, size, content_type, etag, "
        "deleted, storage_policy_index) "
        "VALUES ('direct', ?, 0, 'x', 'e', 0, 0)", (ts(2),))
    writer.conn.execute('COMMIT')
    outcome.join()
    assert outcome.returned and removed == [False]
    assert names(broker) == ['direct']


def test_concurrent_writer_loses_nothing_to_removal(tmp_path):
    """A writer thread puts rows as fast as it can while removals are tried
    until one succeeds: every put that returned is in the state the
    successful removal checked, or the writer was refused."""
    broker = make_broker(tmp_path)
    acknowledged = []
    stop = threading.Event()

    def write():
        writer = make_broker(tmp_path)
        for index in range(100000):
            if stop.is_set():
                return
            try:
                put(writer, 'o%05d' % index)
            except (DatabaseRemoved, DatabaseNotFound):
                return
            acknowledged.append('o%05d' % index)

    outcome = Outcome(write).start()
    while len(acknowledged) < 20 and outcome.thread.is_alive():
        threading.Event().wait(0.005)
    removed = False
    for _attempt in range(2000):
        info = broker.get_replication_info()
        seen = set(names(broker))
        removed = broker.remove_if_unchanged(info)
        if removed:
            break
        if len(acknowledged) > 300:
            stop.set()
    stop.set()
    outcome.join()
    assert removed
    assert acknowledged and set(acknowledged) <= seen


def test_removal_state_names_rows_timestamps_status_and_metadata():
    info = {'max_row': 3, 'put_timestamp': ts(1), 'delete_timestamp': '0',
            'status': '', 'metadata': {}, 'object_count': 9}
    assert removal_state(info) == (3, ts(1), '0', '', {})
