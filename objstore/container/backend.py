"""ContainerBroker: one container's SQLite DB of object rows.

Owns the ``object`` table (name, created_at, size, content_type, etag,
deleted, storage_policy_index), the ``container_stat`` row kept current by
triggers, and the rules: an object row merges field by field, each from
the newest of its data, content-type and metadata timestamps, which
``created_at`` holds together (object_rows), a container is deleted when
its delete timestamp is newer than its put timestamp and it holds no
objects. Replicas that disagree on the container's storage policy (two
primaries created it with different policies during a partition) converge
on one (``policy_winner``); object rows whose policy differs from the
container's are *misplaced* until the container-reconciler moves them.
The ``reported_*`` columns remember what the account last heard, so the
container-updater can find DBs whose stats changed since.

Must not: know HTTP or paths; ``server.py`` finds the file.
"""

from objstore.common.db import DatabaseBroker
from objstore.common.db_sqlite import (
    execute_script, existing_rows, replace_rows, transaction)
from objstore.common.listing import ObjectEntry, Subdir
from objstore.common.timestamp import Timestamp
from objstore.container.object_rows import (
    decode_timestamps, listed_values, merge_rows)

OBJECT_COLUMNS = ('name', 'created_at', 'size', 'content_type', 'etag',
                  'deleted', 'storage_policy_index')

OBJECT_TABLE_SQL = '''
    CREATE TABLE object (
        ROWID INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        size INTEGER NOT NULL DEFAULT 0,
        content_type TEXT NOT NULL DEFAULT '',
        etag TEXT NOT NULL DEFAULT '',
        deleted INTEGER NOT NULL DEFAULT 0,
        storage_policy_index INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX ix_object_deleted_name ON object (deleted, name);
    CREATE TRIGGER object_insert AFTER INSERT ON object BEGIN
        UPDATE container_stat
        SET object_count = object_count + (1 - new.deleted),
            bytes_used = bytes_used + (1 - new.deleted) * new.size,
            hash = chexor(hash, new.name, new.created_at);
    END;
    CREATE TRIGGER object_delete AFTER DELETE ON object BEGIN
        UPDATE container_stat
        SET object_count = object_count - (1 - old.deleted),
            bytes_used = bytes_used - (1 - old.deleted) * old.size,
            hash = chexor(hash, old.name, old.created_at);
    END;
    CREATE TRIGGER object_update BEFORE UPDATE ON object BEGIN
        SELECT RAISE(FAIL, 'object rows are replaced, never updated');
    END;
'''

STAT_TABLE_SQL = '''
    CREATE TABLE container_stat (
        account TEXT,
        container TEXT,
        created_at TEXT,
        put_timestamp TEXT DEFAULT '0',
        delete_timestamp TEXT DEFAULT '0',
        status_changed_at TEXT DEFAULT '0',
        status TEXT DEFAULT '',
        object_count INTEGER DEFAULT 0,
        bytes_used INTEGER DEFAULT 0,
        reported_put_timestamp TEXT DEFAULT '0',
        reported_delete_timestamp TEXT DEFAULT '0',
        reported_object_count INTEGER DEFAULT 0,
        reported_bytes_used INTEGER DEFAULT 0,
        hash TEXT DEFAULT '00000000000000000000000000000000',
        id TEXT,
        metadata TEXT DEFAULT '{}',
        storage_policy_index INTEGER DEFAULT 0
    );
'''


class ContainerBroker(DatabaseBroker):
    """A container DB: object rows, container stats and metadata."""

    db_type = 'container'
    item_table = 'object'
    item_columns = OBJECT_COLUMNS

    def _create_tables(self, conn, put_timestamp, stat_fields):
        execute_script(conn, STAT_TABLE_SQL)
        execute_script(conn, OBJECT_TABLE_SQL)
        values = self._new_stat_values(put_timestamp)
        values.update(account=self.account, container=self.container,
                      storage_policy_index=int(
                          stat_fields.get('storage_policy_index', 0)))
        self._insert_stat_row(conn, values)

    def put_object(self, name, timestamp, size, content_type, etag,
                   deleted=0, storage_policy_index=0, ctype_timestamp=None,
                   meta_timestamp=None):
        """Durably queue an object row (see DatabaseBroker.put_record).

        ``timestamp`` is the data's; an object POST's update names the
        content type's and the metadata's apart (object_rows).
        """
        self.put_record(object_record(
            name, timestamp, size, content_type, etag, deleted,
            storage_policy_index, ctype_timestamp, meta_timestamp))

    def put_objects(self, rows):
        """Durably queue object rows, each the arguments of ``put_object``
        as a dict, with one append and one sync."""
        self.put_records([object_record(**row) for row in rows])

    def delete_object(self, name, timestamp, storage_policy_index=0):
        self.put_object(name, timestamp, 0, '', '', deleted=1,
                        storage_policy_index=storage_policy_index)

    def _merge_rows(self, conn, items):
        container_policy = conn.execute(
            'SELECT storage_policy_index FROM container_stat').fetchone()[0]
        batch = {}
        for item in items:
            earlier = batch.get(item['name'])
            # Merged only when a name repeats: parsing is the cost here.
            batch[item['name']] = item if earlier is None else merge_rows(
                item, merge_rows(earlier, None, container_policy),
                container_policy)
        stored = existing_rows(conn, 'object', list(batch),
                               OBJECT_COLUMNS[1:])
        stale, fresh = [], []
        for name, item in batch.items():
            old = stored.get(name)
            old_row = None
            if old is not None:
                old_row = dict(zip(OBJECT_COLUMNS, (name,) + old[1:]))
            row = merge_rows(item, old_row, container_policy)
            if old_row is not None:
                if row == old_row:
                    continue
                stale.append(old[0])
            fresh.append(tuple(row[column] for column in OBJECT_COLUMNS))
        replace_rows(conn, 'object', OBJECT_COLUMNS, stale, fresh)

    def _reclaim_rows(self, conn, age):
        conn.execute('DELETE FROM object WHERE deleted = 1 '
                     'AND created_at < ?', (age,))

    def info_is_deleted(self, info):
        return (info['object_count'] == 0 and
                Timestamp(info['delete_timestamp']) >
                Timestamp(info['put_timestamp']))

    def reconcile_with_peer(self, remote_info):
        """Adopt a replica's storage policy if it wins (``policy_winner``).

        The winner's ``status_changed_at`` comes along, so every replica
        ends with the same (policy, status_changed_at) and later
        comparisons between them agree: the replicas converge.
        """
        if 'storage_policy_index' not in remote_info:
            return
        local = self.get_info()
        winner = policy_winner(local, remote_info)
        if winner is local:
            return
        with transaction(self.conn) as conn:
            conn.execute(
                'UPDATE container_stat SET storage_policy_index = ?, '
                'status_changed_at = ? WHERE storage_policy_index != ?',
                (int(winner['storage_policy_index']),
                 Timestamp(winner['status_changed_at']).internal,
                 int(winner['storage_policy_index'])))

    def get_misplaced_rows(self, limit=1000):
        """Object rows (deleted ones too) whose policy is not the
        container's, oldest first: what the reconciler must move."""
        self._commit_puts_stale_ok()
        rows = self.conn.execute(
            'SELECT %s FROM object WHERE deleted IN (0, 1) AND '
            'storage_policy_index != (SELECT storage_policy_index FROM '
            'container_stat) ORDER BY ROWID LIMIT ?'
            % ', '.join(OBJECT_COLUMNS), (int(limit),))
        # The object to move is the data's; a POST's times stay in the row.
        return [dict(row, created_at=decode_timestamps(
            row['created_at'])[0].internal) for row in rows]

    def set_storage_policy_index(self, index):
        """Rebind a deleted container to a new policy before its revival."""
        with transaction(self.conn) as conn:
            conn.execute('UPDATE container_stat SET storage_policy_index = ?',
                         (int(index),))

    def is_empty(self):
        return self.get_info()['object_count'] == 0

    def list_objects(self, params):
        """ObjectEntry/Subdir entries of one listing page."""
        rows = self._list_rows(OBJECT_COLUMNS[:5], params)
        return [Subdir(row) if is_subdir else ObjectEntry(*listed_values(*row))
                for is_subdir, row in rows]

    def get_object_row(self, name):
        """The stored row of ``name`` (deleted or not) as a dict, or None."""
        self._commit_puts_stale_ok()
        row = self.conn.execute(
            'SELECT %s FROM object WHERE deleted IN (0, 1) AND name = ?'
            % ', '.join(OBJECT_COLUMNS), (name,)).fetchone()
        return dict(row) if row else None


def object_record(name, timestamp, size, content_type, etag, deleted=0,
                  storage_policy_index=0, ctype_timestamp=None,
                  meta_timestamp=None):
    """The pending record of one object row (pure). ``timestamp`` is the
    data's; a POST's update names the content type's and the metadata's
    apart (object_rows).

    >>> object_record('o', '1', 5, 'a/b', 'e')['created_at']
    '0000000001.00000'
    >>> object_record('o', '1', 5, 'a/b', 'e', meta_timestamp='2')[
    ...     'meta_timestamp']
    '0000000002.00000'
    """
    record = {'name': name, 'created_at': Timestamp(timestamp).internal,
              'size': int(size), 'content_type': content_type, 'etag': etag,
              'deleted': 1 if deleted else 0,
              'storage_policy_index': int(storage_policy_index)}
    for key, value in (('ctype_timestamp', ctype_timestamp),
                       ('meta_timestamp', meta_timestamp)):
        if value is not None:
            record[key] = Timestamp(value).internal
    return record


def _policy_rank(info):
    """Sort key of a replica's claim to the container's policy: smallest
    wins. As Swift: a live container beats a deleted one; a live one that
    was deleted and recreated beats one never deleted, and between those
    the newest status change wins; between never-deleted ones the oldest
    (the first created) wins; between deleted ones the newest."""
    put = Timestamp(info['put_timestamp'])
    delete = Timestamp(info.get('delete_timestamp') or 0)
    changed = Timestamp(info['status_changed_at'])
    objects = int(info.get('object_count') or 0)
    if delete > put and objects == 0:
        rank, newest_first = 2, True
    elif put > delete > Timestamp(0):
        rank, newest_first = 0, True
    else:
        rank, newest_first = 1, False
    when = (changed.ticks, changed.offset)
    if newest_first:
        when = (-when[0], -when[1])
    # The lower index breaks a full tie, so both sides still agree.
    return (rank, when, int(info['storage_policy_index']))


def policy_winner(local, remote):
    """The info (``local`` or ``remote``) whose storage policy every
    replica of the container should hold (pure); ``local`` on agreement.

    >>> a = {'put_timestamp': '1', 'delete_timestamp': '0',
    ...      'status_changed_at': '1', 'storage_policy_index': 1}
    >>> b = dict(a, put_timestamp='2', status_changed_at='2',
    ...          storage_policy_index=0)
    >>> policy_winner(b, a) is a
    True
    """
    if int(local['storage_policy_index']) == \
            int(remote['storage_policy_index']):
        return local
    return min((local, remote), key=_policy_rank)


def stats_need_report(info):
    """True if the account has not heard the container's current state."""
    return (info['put_timestamp'] != info['reported_put_timestamp'] or
            info['delete_timestamp'] != info['reported_delete_timestamp'] or
            info['object_count'] != info['reported_object_count'] or
            info['bytes_used'] != info['reported_bytes_used'])
