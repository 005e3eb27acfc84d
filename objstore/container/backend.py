"""ContainerBroker: one container's SQLite DB of object rows.

Owns the ``object`` table (name, created_at, size, content_type, etag,
deleted, storage_policy_index), the ``container_stat`` row kept current by
triggers, and the rules: an object row merges by ``created_at`` (newest
wins, an older row never replaces a newer one), a container is deleted when
its delete timestamp is newer than its put timestamp and it holds no
objects. The ``reported_*`` columns remember what the account last heard,
so the container-updater can find DBs whose stats changed since.

Must not: know HTTP or paths; ``server.py`` finds the file.
"""

from objstore.common.db import (
    DatabaseBroker, execute_script, existing_rows, newest_per_name,
    replace_rows, transaction)
from objstore.common.listing import ObjectEntry, Subdir
from objstore.common.timestamp import Timestamp

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
                   deleted=0, storage_policy_index=0):
        """Durably queue an object row (see DatabaseBroker.put_record)."""
        self.put_record({
            'name': name, 'created_at': Timestamp(timestamp).internal,
            'size': int(size), 'content_type': content_type, 'etag': etag,
            'deleted': 1 if deleted else 0,
            'storage_policy_index': int(storage_policy_index)})

    def delete_object(self, name, timestamp, storage_policy_index=0):
        self.put_object(name, timestamp, 0, '', '', deleted=1,
                        storage_policy_index=storage_policy_index)

    def _merge_rows(self, conn, items):
        best = newest_per_name(items, 'created_at')
        stored = existing_rows(conn, 'object', list(best), ('created_at',))
        stale, fresh = [], []
        for name, item in best.items():
            old = stored.get(name)
            if old is not None:
                if old[1] >= item['created_at']:
                    continue
                stale.append(old[0])
            deleted = 1 if item.get('deleted') else 0
            fresh.append((
                name, item['created_at'],
                0 if deleted else int(item.get('size') or 0),
                item.get('content_type') or '', item.get('etag') or '',
                deleted, int(item.get('storage_policy_index') or 0)))
        replace_rows(conn, 'object', OBJECT_COLUMNS, stale, fresh)

    def _reclaim_rows(self, conn, age):
        conn.execute('DELETE FROM object WHERE deleted = 1 '
                     'AND created_at < ?', (age,))

    def info_is_deleted(self, info):
        return (info['object_count'] == 0 and
                Timestamp(info['delete_timestamp']) >
                Timestamp(info['put_timestamp']))

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
        return [Subdir(row) if is_subdir else ObjectEntry(*row)
                for is_subdir, row in rows]

    def get_object_row(self, name):
        """The stored row of ``name`` (deleted or not) as a dict, or None."""
        self._commit_puts_stale_ok()
        row = self.conn.execute(
            'SELECT %s FROM object WHERE deleted IN (0, 1) AND name = ?'
            % ', '.join(OBJECT_COLUMNS), (name,)).fetchone()
        return dict(row) if row else None


def stats_need_report(info):
    """True if the account has not heard the container's current state."""
    return (info['put_timestamp'] != info['reported_put_timestamp'] or
            info['delete_timestamp'] != info['reported_delete_timestamp'] or
            info['object_count'] != info['reported_object_count'] or
            info['bytes_used'] != info['reported_bytes_used'])
