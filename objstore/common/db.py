"""The SQLite broker base shared by account and container DBs.

Owns: creating a DB file (WAL mode, created under a temporary name and
linked into place so a half-made DB is never seen), the ``.pending`` file
that batches small row updates, metadata (JSON: header name -> [value,
timestamp]), merge-by-timestamp plumbing, reclaim of old deleted rows, the
auditor's integrity check and the replication primitives (a stable DB id,
sync-point tables, rows since a ROWID, merging rows from a peer). SQL
primitives (connections, transactions, row merging, listing pages) are in
common.db_sqlite; where DBs live on a device in common.db_layout.

Must not: know HTTP, or what an item row means. ``AccountBroker`` and
``ContainerBroker`` define their tables, how two rows of one name merge and
when the DB counts as deleted.

Durability of the pending file. Row updates (object rows in a container,
container rows in an account) are appended to ``<db>.pending`` under a
short ``flock`` and merged into SQLite later, when the file grows past
``pending_cap`` or before any read. An update is acknowledged only after
its record is on stable storage: the append is followed by ``fdatasync``
of the pending file (``pending_sync``, injectable so a green-thread server
can share one fdatasync among all requests that appended meanwhile, see
``group_fsync.CoalescingFsync``). Records are framed by newlines on both
sides so a record torn by a power cut is skipped without swallowing the
next one. Merging is idempotent (newest timestamp wins), so replaying a pending file
whose truncation was lost is harmless. The pending file is created with the
DB and, while the DB lives, never unlinked, only truncated: the lock lives
on its inode.

SQLite runs with ``synchronous=FULL`` so every commit (including a pending
flush) is fsynced before it returns.

Removal never loses an acknowledged write. A DB is removed (a handoff
pushed home, a tombstone past reclaim_age) by ``remove_if_unchanged``,
which takes three locks in this order, the one order any path that holds
more than one of them may use:

1. the pending file's flock: ``put_record`` appends under it;
2. SQLite's write lock (``BEGIN IMMEDIATE``): every write holds it, see
   ``transaction``;
3. the DB directory's flock: creators link a new DB in under it.

Under the first two it merges the pending file and checks that the DB is
as the caller last saw it (``info``); only then it unlinks the files. A
write that got its lock before the removal is in the DB the check saw (and
the removal backs off); one that gets it after finds its file unlinked and
raises DatabaseRemoved instead of acknowledging (the server answers 503,
so the sender retries).
"""

import errno
import fcntl
import json
import os
import shutil
import sqlite3
import time
import uuid
from contextlib import contextmanager

from objstore.common.constraints import check_db_metadata
from objstore.common.db_sqlite import (
    EMPTY_HASH, connect, file_identity, list_page, transaction)
from objstore.common.durable import fsync_dir, makedirs_durable
from objstore.common.exceptions import (
    DatabaseAlreadyExists, DatabaseCorrupt, DatabaseNotFound,
    DatabaseRemoved, LockTimeout)
from objstore.common.timestamp import Timestamp

PENDING_CAP = 131072
PENDING_LOCK_TIMEOUT = 10
# Rows of a replicated DB copy merged per transaction (see merge_copy).
MERGE_COPY_BATCH = 1000


def fdatasync_path(path):
    """Make appended bytes of ``path`` durable (any fd flushes the inode)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


@contextmanager
def locked_file(path, timeout, flags=os.O_RDWR | os.O_CREAT | os.O_APPEND,
                sleep=time.sleep):
    """Open ``path`` and hold an exclusive flock on it, waiting <= timeout.

    Polls with LOCK_NB, waiting with ``sleep`` in between: a green server
    passes green.sleep so that its hub keeps serving while another process
    holds the lock.
    """
    fd = os.open(path, flags, 0o644)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise LockTimeout('lock on %s not taken in %ss'
                                      % (path, timeout))
                sleep(delay)
                delay = min(delay * 2, 0.005)
        yield fd
    finally:
        os.close(fd)


def parse_pending(data):
    """(records, number of unreadable fragments) of pending file bytes.

    >>> parse_pending(b'\\n{"a": 1}\\n\\n{"a"\\n{"b": 2}\\n')
    ([{'a': 1}, {'b': 2}], 1)
    """
    records, bad = [], 0
    for line in data.split(b'\n'):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            bad += 1
    return records, bad


def merge_metadata(current, updates):
    """Metadata after applying ``updates``; newest timestamp wins per key.

    Both map a header name to [value, timestamp]; an empty value is a
    deletion that is kept (with its timestamp) until reclaimed, so an older
    set cannot bring the key back.

    >>> merge_metadata({'X-A': ['1', '0000000002.00000']},
    ...                {'X-A': ['2', '0000000001.00000']})
    {'X-A': ['1', '0000000002.00000']}
    """
    merged = dict(current)
    for key, (value, timestamp) in updates.items():
        old = merged.get(key)
        if old is None or Timestamp(timestamp) > Timestamp(old[1]):
            merged[key] = [value, Timestamp(timestamp).internal]
    return merged


class DatabaseBroker:
    """One account or container DB file and its pending file.

    Subclasses set ``db_type``, ``item_table``, ``item_columns`` and
    implement ``_create_tables``, ``_merge_rows``, ``_reclaim_rows`` and
    ``info_is_deleted``.
    """

    db_type = None
    item_table = None
    item_columns = ()

    def __init__(self, db_file, *, account=None, container=None,
                 logger=None, pending_cap=PENDING_CAP,
                 pending_timeout=PENDING_LOCK_TIMEOUT, pending_sync=None,
                 stale_reads_ok=False, sleep=time.sleep):
        self.db_file = db_file
        self.db_dir = os.path.dirname(db_file)
        self.pending_file = db_file + '.pending'
        self.account = account
        self.container = container
        self.logger = logger
        self.pending_cap = pending_cap
        self.pending_timeout = pending_timeout
        self.pending_sync = pending_sync or fdatasync_path
        self.stale_reads_ok = stale_reads_ok
        self.sleep = sleep
        self._conn = None

    # -- connection and creation ------------------------------------------

    def exists(self):
        return os.path.exists(self.db_file)

    @property
    def conn(self):
        if self._conn is None:
            if not self.exists():
                raise DatabaseNotFound(self.db_file)
            try:
                self._conn = connect(self.db_file, create=False)
            except sqlite3.DatabaseError as err:
                if not self.exists():
                    raise DatabaseNotFound(self.db_file)
                raise DatabaseCorrupt('%s: %s' % (self.db_file, err))
        return self._conn

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def initialize(self, put_timestamp, **stat_fields):
        """Create the DB (and its pending file) at ``db_file``.

        Built under a temporary name, fsynced, then hard-linked into place
        so that a concurrent creator or a crash never exposes a partial DB.
        Raises DatabaseAlreadyExists if the DB is already there.
        """
        if self.exists():
            raise DatabaseAlreadyExists(self.db_file)
        makedirs_durable(self.db_dir)
        tmp_path = '%s.%s.tmp' % (self.db_file, uuid.uuid4().hex)
        try:
            conn = connect(tmp_path)
            try:
                conn.execute('PRAGMA journal_mode = WAL')
                with transaction(conn):
                    self._create_sync_tables(conn)
                    self._create_tables(
                        conn, Timestamp(put_timestamp).internal, stat_fields)
                # Fold the WAL into the main file before it is linked, so the
                # single file we fsync holds everything.
                conn.execute('PRAGMA wal_checkpoint(TRUNCATE)')
            finally:
                conn.close()
            with open(tmp_path, 'rb') as made:
                os.fsync(made.fileno())
            self._create_pending_file()
            self._link_into_place(tmp_path)
        finally:
            for leftover in (tmp_path, tmp_path + '-wal', tmp_path + '-shm'):
                if os.path.exists(leftover):
                    os.unlink(leftover)

    def initialize_if_missing(self, put_timestamp, **stat_fields):
        """``initialize`` unless the DB exists; True if this call made it."""
        try:
            self.initialize(put_timestamp, **stat_fields)
        except DatabaseAlreadyExists:
            return False
        return True

    def _link_into_place(self, made_path):
        """Hard-link the finished DB file ``made_path`` in as ``db_file``.

        Every creator links under an flock on the DB's directory, so a
        ``-wal``/``-shm`` found there without a DB is an orphan (its DB was
        removed or moved away and the removal was cut short) that SQLite
        would replay onto the new file: it goes first. A live DB and its
        WAL are never touched: then this raises DatabaseAlreadyExists.
        """
        with locked_file(self.db_dir, self.pending_timeout,
                         flags=os.O_RDONLY | os.O_DIRECTORY,
                         sleep=self.sleep):
            if self.exists():
                raise DatabaseAlreadyExists(self.db_file)
            for orphan in (self.db_file + '-wal', self.db_file + '-shm'):
                try:
                    os.unlink(orphan)
                except FileNotFoundError:
                    pass
            try:
                os.link(made_path, self.db_file)
            except FileExistsError:
                raise DatabaseAlreadyExists(self.db_file)
        fsync_dir(self.db_dir)

    def _create_pending_file(self):
        if not os.path.exists(self.pending_file):
            os.close(os.open(self.pending_file, os.O_WRONLY | os.O_CREAT,
                             0o644))
            fsync_dir(self.db_dir)

    @staticmethod
    def _create_sync_tables(conn):
        for table in ('incoming_sync', 'outgoing_sync'):
            conn.execute(
                'CREATE TABLE %s (remote_id TEXT PRIMARY KEY, '
                'sync_point INTEGER, updated_at TEXT DEFAULT 0)' % table)

    def _create_tables(self, conn, put_timestamp, stat_fields):
        raise NotImplementedError

    @property
    def stat_table(self):
        return '%s_stat' % self.db_type

    def _new_stat_values(self, put_timestamp):
        """The stat columns every DB starts with."""
        return {'created_at': Timestamp.now().internal,
                'put_timestamp': put_timestamp, 'delete_timestamp': '0',
                'status_changed_at': put_timestamp, 'status': '',
                'hash': EMPTY_HASH, 'id': str(uuid.uuid4()),
                'metadata': '{}'}

    def _insert_stat_row(self, conn, values):
        names = sorted(values)
        conn.execute('INSERT INTO %s (%s) VALUES (%s)' % (
            self.stat_table, ', '.join(names), ', '.join('?' * len(names))),
            [values[n] for n in names])

    # -- pending file -------------------------------------------------------

    def put_record(self, record):
        """Durably queue one row update; merged into SQLite later.

        Returns once the record survives a crash (see the module doc).
        """
        self.put_records([record])

    def put_records(self, records):
        """Durably queue row updates with one append and one sync (a
        batch from one sender); returns once all of them survive a crash.
        """
        lines = ''.join('\n' + json.dumps(record, separators=(',', ':')) +
                        '\n' for record in records).encode('utf-8')
        size = self._append_pending(lines)
        if size > self.pending_cap:
            # The flush commits to SQLite with synchronous=FULL: durable.
            self._commit_puts()
        else:
            self.pending_sync(self.pending_file)

    def _append_pending(self, line):
        """Append under the lock; the pending file's size afterwards.

        A DB's pending file is made with it, so the DB is not looked up
        first (a path lookup per update): only a missing pending file
        asks whether there is a DB at all.
        """
        try:
            return self._append_locked(line)
        except FileNotFoundError:
            pass
        # No DB: the sender's row has nowhere to go. A DB that arrived by
        # rsync has no pending file yet; a removed DB must not get one.
        if not self.exists():
            raise DatabaseNotFound(self.db_file)
        try:
            self._create_pending_file()
            return self._append_locked(line)
        except FileNotFoundError:
            raise DatabaseRemoved('%s was removed' % self.db_file)

    def _append_locked(self, line):
        with self._pending_locked(os.O_RDWR | os.O_APPEND) as fd:
            os.write(fd, line)
            return os.fstat(fd).st_size

    @contextmanager
    def _pending_locked(self, flags):
        """The pending file open (``flags``) and flocked, while it and the
        DB are in place: a removal unlinks them under this lock, and a
        record appended to the unlinked file would be lost."""
        with locked_file(self.pending_file, self.pending_timeout,
                         flags=flags, sleep=self.sleep) as fd:
            held = os.fstat(fd)
            if file_identity(self.pending_file) != (held.st_dev,
                                                    held.st_ino):
                raise DatabaseRemoved('%s was removed' % self.db_file)
            if not self.exists():
                # A pending file a removal cut short left behind: no DB.
                raise DatabaseNotFound(self.db_file)
            yield fd

    def _commit_puts(self):
        """Merge the pending file into SQLite and truncate it."""
        try:
            if os.path.getsize(self.pending_file) == 0:
                return
            with self._pending_locked(os.O_RDWR) as fd:
                self._merge_pending_locked(fd)
        except FileNotFoundError:
            return

    def _merge_pending_locked(self, fd):
        """Merge the records of the pending file ``fd`` (flocked by the
        caller) into SQLite, then truncate it."""
        data = b''
        while True:
            chunk = os.pread(fd, 1 << 20, len(data))
            if not chunk:
                break
            data += chunk
        if not data:
            return
        records, bad = parse_pending(data)
        if bad and self.logger:
            self.logger.warning('%s: skipped %d torn pending record(s)',
                                self.pending_file, bad)
        if records:
            self.merge_items(records)
        os.ftruncate(fd, 0)

    def _commit_puts_stale_ok(self):
        """Flush before a read; a busy lock gives a stale read if allowed."""
        try:
            self._commit_puts()
        except LockTimeout:
            if not self.stale_reads_ok:
                raise

    # -- rows ---------------------------------------------------------------

    def merge_items(self, items, source_id=None):
        """Merge row dicts (newest timestamp wins) in one transaction.

        With ``source_id`` (a peer DB id), also advance that peer's incoming
        sync point to the highest ROWID among the items.
        """
        with transaction(self.conn) as conn:
            self._merge_rows(conn, items)
            if source_id:
                point = max((item.get('ROWID', -1) for item in items),
                            default=-1)
                if point >= 0:
                    self._merge_sync(conn, source_id, point, incoming=True)

    def _merge_rows(self, conn, items):
        raise NotImplementedError

    def get_items_since(self, start, count):
        """Up to ``count`` rows with ROWID > ``start``, as dicts with ROWID."""
        self._commit_puts_stale_ok()
        rows = self.conn.execute(
            'SELECT ROWID, %s FROM %s WHERE ROWID > ? ORDER BY ROWID LIMIT ?'
            % (', '.join(self.item_columns), self.item_table),
            (start, count)).fetchall()
        return [dict(row) for row in rows]

    def get_max_row(self):
        row = self.conn.execute('SELECT MAX(ROWID) FROM %s'
                                % self.item_table).fetchone()
        return row[0] if row[0] is not None else -1

    def reclaim(self, age_timestamp):
        """Drop deleted rows and deleted metadata older than the timestamp.

        Tombstone rows are kept until then so that replication can carry
        a deletion to a peer that still has the row.
        """
        self._commit_puts_stale_ok()
        age = Timestamp(age_timestamp).internal
        with transaction(self.conn) as conn:
            self._reclaim_rows(conn, age)
            metadata = self._read_metadata(conn)
            kept = {key: entry for key, entry in metadata.items()
                    if entry[0] != '' or Timestamp(entry[1]) >= Timestamp(age)}
            if kept != metadata:
                self._write_metadata(conn, kept)

    def _reclaim_rows(self, conn, age):
        raise NotImplementedError

    # -- stat row, metadata, deletion -------------------------------------

    def _stat_row(self):
        row = self.conn.execute('SELECT * FROM %s' % self.stat_table)
        found = row.fetchone()
        if found is None:
            raise DatabaseCorrupt('%s has no stat row' % self.db_file)
        return dict(found)

    def get_info(self):
        """The stat row as a dict (metadata decoded), after a pending flush."""
        self._commit_puts_stale_ok()
        return self.stat_info()

    def stat_info(self):
        """The stat row without flushing pending rows: counts may lag, the
        timestamps, status and metadata are current."""
        info = self._stat_row()
        info['metadata'] = json.loads(info['metadata'] or '{}')
        return info

    def _read_metadata(self, conn):
        row = conn.execute('SELECT metadata FROM %s'
                           % self.stat_table).fetchone()
        return json.loads(row[0] or '{}')

    def _write_metadata(self, conn, metadata):
        conn.execute('UPDATE %s SET metadata = ?' % self.stat_table,
                     (json.dumps(metadata, sort_keys=True),))

    @property
    def metadata(self):
        """{header name: [value, timestamp]}, deleted keys included."""
        return self._read_metadata(self.conn)

    def update_metadata(self, updates, validate=False):
        """Merge {name: (value, timestamp)} into the DB's metadata.

        With ``validate`` (a client's PUT or POST, not replication), raise
        InvalidInput and change nothing when the merged metadata would be
        over the limits (``constraints.check_db_metadata``).
        """
        if not updates:
            return
        with transaction(self.conn) as conn:
            current = self._read_metadata(conn)
            merged = merge_metadata(current, updates)
            if validate:
                check_db_metadata(merged)
            if merged != current:
                self._write_metadata(conn, merged)

    def update_put_timestamp(self, timestamp):
        """Move put_timestamp forward (never back)."""
        ts = Timestamp(timestamp).internal
        with transaction(self.conn) as conn:
            conn.execute('UPDATE %s SET put_timestamp = ? '
                         'WHERE put_timestamp < ?' % self.stat_table,
                         (ts, ts))
            self._refresh_status(conn, ts)

    def merge_timestamps(self, created_at, put_timestamp, delete_timestamp):
        """Fold a peer's timestamps in: earliest created, newest put/delete."""
        created = Timestamp(created_at).internal
        put = Timestamp(put_timestamp).internal
        delete = Timestamp(delete_timestamp or 0).internal
        with transaction(self.conn) as conn:
            conn.execute(
                'UPDATE %s SET created_at = MIN(?, created_at), '
                'put_timestamp = MAX(?, put_timestamp), '
                'delete_timestamp = MAX(?, delete_timestamp)'
                % self.stat_table, (created, put, delete))
            # A deletion learnt from a peer marks the DB as delete_db does.
            conn.execute(
                "UPDATE %s SET status = 'DELETED', status_changed_at = "
                "delete_timestamp WHERE delete_timestamp > put_timestamp "
                "AND status != 'DELETED'" % self.stat_table)
            self._refresh_status(conn, put)

    def _refresh_status(self, conn, timestamp):
        """After a put: a DB whose put is newer than its delete is live."""
        conn.execute(
            "UPDATE %s SET status = '', status_changed_at = ? "
            "WHERE status = 'DELETED' AND put_timestamp > delete_timestamp"
            % self.stat_table, (timestamp,))

    def delete_db(self, timestamp):
        """Mark the DB deleted at ``timestamp`` and clear its metadata.

        The file stays (a tombstone) so that a late or replicated older
        write cannot resurrect it; the reaper/reclaim removes it later.
        """
        self._commit_puts_stale_ok()
        ts = Timestamp(timestamp).internal
        with transaction(self.conn) as conn:
            metadata = self._read_metadata(conn)
            cleared = merge_metadata(
                metadata, {key: ('', ts) for key in metadata})
            if cleared != metadata:
                self._write_metadata(conn, cleared)
            conn.execute(
                "UPDATE %s SET delete_timestamp = ?, status = 'DELETED', "
                "status_changed_at = ? WHERE delete_timestamp < ?"
                % self.stat_table, (ts, ts, ts))

    def is_deleted(self):
        """True if the DB is a tombstone (see the subclass's rule)."""
        if not self.exists():
            return True
        return self.info_is_deleted(self.get_info())

    def info_is_deleted(self, info):
        raise NotImplementedError

    def set_reported(self, **values):
        """Record what was last reported upstream (reported_* columns)."""
        names = sorted(values)
        with transaction(self.conn) as conn:
            conn.execute('UPDATE %s SET %s' % (
                self.stat_table,
                ', '.join('reported_%s = ?' % n for n in names)),
                [values[n] for n in names])

    # -- replication -------------------------------------------------------

    def reconcile_with_peer(self, remote_info):
        """Adopt what a peer's replication info decides beyond timestamps
        and metadata (a container's storage policy); nothing here."""

    def get_replication_info(self):
        """Info plus what a replicator compares: max_row, hash, id, count."""
        info = self.get_info()
        info['max_row'] = self.get_max_row()
        info['count'] = self.conn.execute(
            'SELECT COUNT(*) FROM %s' % self.item_table).fetchone()[0]
        return info

    def get_sync(self, remote_id, incoming=True):
        """Highest ROWID of ``remote_id`` known merged (-1 if none)."""
        row = self.conn.execute(
            'SELECT sync_point FROM %s WHERE remote_id = ?'
            % self._sync_table(incoming), (remote_id,)).fetchone()
        return row[0] if row else -1

    def get_syncs(self, incoming=True):
        rows = self.conn.execute('SELECT remote_id, sync_point FROM %s'
                                 % self._sync_table(incoming)).fetchall()
        return [{'remote_id': r[0], 'sync_point': r[1]} for r in rows]

    def merge_syncs(self, sync_points, incoming=True):
        """Merge [{'remote_id', 'sync_point'}]; a point never goes back."""
        with transaction(self.conn) as conn:
            for point in sync_points:
                self._merge_sync(conn, point['remote_id'],
                                 int(point['sync_point']), incoming)

    def _merge_sync(self, conn, remote_id, point, incoming):
        table = self._sync_table(incoming)
        conn.execute(
            'INSERT INTO %s (remote_id, sync_point, updated_at) '
            'VALUES (?, ?, ?) ON CONFLICT(remote_id) DO UPDATE SET '
            'sync_point = excluded.sync_point, updated_at = '
            'excluded.updated_at WHERE excluded.sync_point > sync_point'
            % table, (remote_id, point, Timestamp.now().internal))

    @staticmethod
    def _sync_table(incoming):
        return 'incoming_sync' if incoming else 'outgoing_sync'

    def new_id(self, remote_id):
        """Give a DB copied from ``remote_id`` its own id.

        Called on the receiving side after an rsync: the copy has every row
        of the source up to its max ROWID, recorded as the incoming sync
        point so the next replication pass sends only newer rows.
        """
        with transaction(self.conn) as conn:
            row = conn.execute('SELECT MAX(ROWID) FROM %s'
                               % self.item_table).fetchone()
            point = row[0] if row[0] is not None else -1
            self._merge_sync(conn, remote_id, point, incoming=True)
            conn.execute('UPDATE %s SET id = ?' % self.stat_table,
                         (str(uuid.uuid4()),))

    def merge_copy(self, copy, source_id, batch=MERGE_COPY_BATCH):
        """Merge ``copy``, a broker on a copy of peer DB ``source_id``, into
        this live DB: rows, incoming sync points, metadata, timestamps.

        Replication by rsync lands here. The file is never replaced, since
        other connections (another server process, a cached broker) would
        go on with the old file and WAL and lose what they commit. Rows go
        through ``merge_items`` (newest timestamp wins) in transactions of
        ``batch`` rows in the copy's ROWID order, each advancing
        ``source_id``'s incoming sync point: writers run between batches,
        and a merge cut short resumes where it stopped. The copy's incoming
        sync points become ours, as we now hold every row it held.
        """
        point = self.get_sync(source_id)
        while True:
            rows = copy.get_items_since(point, batch)
            if not rows:
                break
            self.merge_items(rows, source_id=source_id)
            point = rows[-1]['ROWID']
            # A green server serves its other requests between batches.
            self.sleep(0)
        self.merge_syncs(copy.get_syncs(incoming=True))
        self.update_metadata({key: tuple(entry)
                              for key, entry in copy.metadata.items()})
        info = copy.get_info()
        self.merge_timestamps(info['created_at'], info['put_timestamp'],
                              info['delete_timestamp'])

    def adopt_copy(self, copy, source_id):
        """Make ``copy`` (see ``merge_copy``; a file on this filesystem)
        this DB, which did not exist; True if it did, False if a DB was
        created meanwhile and the copy was merged into it instead.

        The copy gets its own id (``new_id``), its WAL is folded into its
        file, which is fsynced and then hard-linked in by
        ``_link_into_place``: a concurrent creator either wins (and the
        copy is merged into its DB) or finds this one. Once linked, the
        copy must not be opened under its own name again: SQLite would
        give the one file a second WAL, named after that path.
        """
        copy.new_id(source_id)
        copy.fold_wal()
        makedirs_durable(self.db_dir)
        self._create_pending_file()
        try:
            self._link_into_place(copy.db_file)
        except DatabaseAlreadyExists:
            self.merge_copy(copy, source_id)
            return False
        return True

    def fold_wal(self):
        """Checkpoint the WAL into the main file, fsync it and close, so
        that the file alone holds the whole DB."""
        self.conn.execute('PRAGMA wal_checkpoint(TRUNCATE)')
        self.close()
        with open(self.db_file, 'rb') as made:
            os.fsync(made.fileno())

    # -- removal -------------------------------------------------------------

    def remove_if_unchanged(self, info):
        """Remove this DB's directory unless the DB changed since ``info``
        (a ``get_replication_info()``); True if removed.

        Takes the locks in the order the module doc gives. Pending records
        are merged first, so a row acknowledged before the pending lock was
        taken shows up as a change; the DB then stays for the next pass.
        """
        with self._pending_locked(os.O_RDWR | os.O_CREAT) as fd:
            self._merge_pending_locked(fd)
            with transaction(self.conn):
                current = self.stat_info()
                current['max_row'] = self.get_max_row()
                if removal_state(current) != removal_state(info):
                    return False
                with locked_file(self.db_dir, self.pending_timeout,
                                 flags=os.O_RDONLY | os.O_DIRECTORY,
                                 sleep=self.sleep):
                    self._unlink_db_dir()
        self.close()
        return True

    def _unlink_db_dir(self):
        """The DB file first, durably: a crash part way through then leaves
        no DB (its leftovers are orphans ``_link_into_place`` clears), never
        a DB cut off from its WAL."""
        os.unlink(self.db_file)
        fsync_dir(self.db_dir)
        shutil.rmtree(self.db_dir, ignore_errors=True)

    def check_integrity(self):
        """Raise DatabaseCorrupt unless SQLite's integrity check passes."""
        try:
            conn = self.conn
            rows = conn.execute('PRAGMA integrity_check').fetchall()
            self._stat_row()
        except sqlite3.DatabaseError as err:
            raise DatabaseCorrupt('%s: %s' % (self.db_file, err))
        messages = [row[0] for row in rows]
        if messages != ['ok']:
            raise DatabaseCorrupt('%s: %s' % (self.db_file,
                                              '; '.join(messages[:5])))

    # -- listing helper -----------------------------------------------------

    def _list_rows(self, columns, params):
        """Rows and Subdir names of one listing page (see ``list_page``)."""
        self._commit_puts_stale_ok()
        return list_page(self.conn, self.item_table, columns, params)


def removal_state(info):
    """What must not have changed for a DB to be removed: its rows (ROWIDs
    only grow, AUTOINCREMENT), timestamps, status and metadata."""
    return (info['max_row'], info['put_timestamp'], info['delete_timestamp'],
            info['status'], info['metadata'])
