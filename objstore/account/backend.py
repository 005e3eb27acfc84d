"""AccountBroker: one account's SQLite DB of container rows.

Owns the ``container`` table (name, put_timestamp, delete_timestamp,
object_count, bytes_used, deleted, storage_policy_index), the
``account_stat`` row and the per-policy ``policy_stat`` rows kept current
by triggers (an older DB gains ``policy_stat`` the first time its policy
stats are read, see ``policy_stats``), and the merge rule for a
container row: put and delete timestamps each keep their newest value; the
object count and bytes come from the report whose newest timestamp is not
older than the stored one (an out-of-date report never overwrites a newer
one); the row is deleted when its delete timestamp is newer than its put
timestamp and it holds no objects.

Must not: know HTTP or paths; ``server.py`` finds the file.
"""

import sqlite3

from objstore.common.db import DatabaseBroker
from objstore.common.db_sqlite import (
    execute_script, existing_rows, newest_per_name, replace_rows,
    transaction)
from objstore.common.listing import ContainerEntry, Subdir
from objstore.common.timestamp import Timestamp

CONTAINER_COLUMNS = ('name', 'put_timestamp', 'delete_timestamp',
                     'object_count', 'bytes_used', 'deleted',
                     'storage_policy_index')

CONTAINER_TABLE_SQL = '''
    CREATE TABLE container (
        ROWID INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        put_timestamp TEXT NOT NULL DEFAULT '0',
        delete_timestamp TEXT NOT NULL DEFAULT '0',
        object_count INTEGER NOT NULL DEFAULT 0,
        bytes_used INTEGER NOT NULL DEFAULT 0,
        deleted INTEGER NOT NULL DEFAULT 0,
        storage_policy_index INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX ix_container_deleted_name ON container (deleted, name);
    CREATE TRIGGER container_insert AFTER INSERT ON container BEGIN
        UPDATE account_stat
        SET container_count = container_count + (1 - new.deleted),
            object_count = object_count + new.object_count,
            bytes_used = bytes_used + new.bytes_used,
            hash = chexor(hash, new.name,
                          new.put_timestamp || '-' || new.delete_timestamp
                          || '-' || new.object_count || '-'
                          || new.bytes_used);
    END;
    CREATE TRIGGER container_delete AFTER DELETE ON container BEGIN
        UPDATE account_stat
        SET container_count = container_count - (1 - old.deleted),
            object_count = object_count - old.object_count,
            bytes_used = bytes_used - old.bytes_used,
            hash = chexor(hash, old.name,
                          old.put_timestamp || '-' || old.delete_timestamp
                          || '-' || old.object_count || '-'
                          || old.bytes_used);
    END;
    CREATE TRIGGER container_update BEFORE UPDATE ON container BEGIN
        SELECT RAISE(FAIL, 'container rows are replaced, never updated');
    END;
'''

# Per-policy totals (Swift's policy_stat): a row appears with the first
# container of a policy and stays, with zero counts, after the last goes.
POLICY_STAT_SQL = '''
    CREATE TABLE policy_stat (
        storage_policy_index INTEGER PRIMARY KEY,
        container_count INTEGER NOT NULL DEFAULT 0,
        object_count INTEGER NOT NULL DEFAULT 0,
        bytes_used INTEGER NOT NULL DEFAULT 0
    );
    CREATE TRIGGER container_insert_policy_stat AFTER INSERT ON container
    BEGIN
        INSERT OR IGNORE INTO policy_stat (storage_policy_index)
        VALUES (new.storage_policy_index);
        UPDATE policy_stat
        SET container_count = container_count + (1 - new.deleted),
            object_count = object_count + new.object_count,
            bytes_used = bytes_used + new.bytes_used
        WHERE storage_policy_index = new.storage_policy_index;
    END;
    CREATE TRIGGER container_delete_policy_stat AFTER DELETE ON container
    BEGIN
        UPDATE policy_stat
        SET container_count = container_count - (1 - old.deleted),
            object_count = object_count - old.object_count,
            bytes_used = bytes_used - old.bytes_used
        WHERE storage_policy_index = old.storage_policy_index;
    END;
'''

# Fills a policy_stat table added to a DB that already has rows.
POLICY_STAT_BACKFILL_SQL = '''
    INSERT INTO policy_stat (storage_policy_index, container_count,
                             object_count, bytes_used)
    SELECT storage_policy_index, SUM(1 - deleted), SUM(object_count),
           SUM(bytes_used)
    FROM container WHERE deleted IN (0, 1) GROUP BY storage_policy_index
'''

STAT_TABLE_SQL = '''
    CREATE TABLE account_stat (
        account TEXT,
        created_at TEXT,
        put_timestamp TEXT DEFAULT '0',
        delete_timestamp TEXT DEFAULT '0',
        status_changed_at TEXT DEFAULT '0',
        status TEXT DEFAULT '',
        container_count INTEGER DEFAULT 0,
        object_count INTEGER DEFAULT 0,
        bytes_used INTEGER DEFAULT 0,
        hash TEXT DEFAULT '00000000000000000000000000000000',
        id TEXT,
        metadata TEXT DEFAULT '{}'
    );
'''


def _newest(*timestamps):
    return max(timestamps, key=Timestamp)


def merge_container_row(stored, incoming):
    """The row to keep for one container name (None: keep ``stored``).

    Both are dicts with CONTAINER_COLUMNS; ``stored`` may be None.

    >>> old = {'name': 'c', 'put_timestamp': '0000000002.00000',
    ...        'delete_timestamp': '0000000000.00000', 'object_count': 5,
    ...        'bytes_used': 50, 'deleted': 0, 'storage_policy_index': 0}
    >>> new = dict(old, put_timestamp='0000000001.00000', object_count=0)
    >>> merge_container_row(old, new) is None
    True
    """
    row = dict(incoming)
    row['put_timestamp'] = Timestamp(row.get('put_timestamp') or 0).internal
    row['delete_timestamp'] = Timestamp(
        row.get('delete_timestamp') or 0).internal
    row['object_count'] = int(row.get('object_count') or 0)
    row['bytes_used'] = int(row.get('bytes_used') or 0)
    row['storage_policy_index'] = int(row.get('storage_policy_index') or 0)
    if stored is not None:
        stored_latest = _newest(stored['put_timestamp'],
                                stored['delete_timestamp'])
        incoming_latest = _newest(row['put_timestamp'],
                                  row['delete_timestamp'])
        if Timestamp(incoming_latest) < Timestamp(stored_latest):
            # An older report: keep the stored counts, but still learn any
            # newer put/delete time it may carry.
            row['object_count'] = stored['object_count']
            row['bytes_used'] = stored['bytes_used']
            row['storage_policy_index'] = stored['storage_policy_index']
        row['put_timestamp'] = _newest(stored['put_timestamp'],
                                       row['put_timestamp'])
        row['delete_timestamp'] = _newest(stored['delete_timestamp'],
                                          row['delete_timestamp'])
    row['deleted'] = int(
        Timestamp(row['delete_timestamp']) > Timestamp(row['put_timestamp'])
        and row['object_count'] == 0)
    if stored is not None and all(
            row[col] == stored[col] for col in CONTAINER_COLUMNS[1:]):
        return None
    return row


class AccountBroker(DatabaseBroker):
    """An account DB: container rows, account stats and metadata."""

    db_type = 'account'
    item_table = 'container'
    item_columns = CONTAINER_COLUMNS

    def _create_tables(self, conn, put_timestamp, stat_fields):
        execute_script(conn, STAT_TABLE_SQL)
        execute_script(conn, CONTAINER_TABLE_SQL)
        execute_script(conn, POLICY_STAT_SQL)
        values = self._new_stat_values(put_timestamp)
        values['account'] = self.account
        self._insert_stat_row(conn, values)

    def put_container(self, name, put_timestamp, delete_timestamp,
                      object_count, bytes_used, storage_policy_index=0):
        """Durably queue a container report (see put_record)."""
        self.put_record({
            'name': name,
            'put_timestamp': Timestamp(put_timestamp or 0).internal,
            'delete_timestamp': Timestamp(delete_timestamp or 0).internal,
            'object_count': int(object_count),
            'bytes_used': int(bytes_used),
            'storage_policy_index': int(storage_policy_index)})

    def _merge_rows(self, conn, items):
        # The newest report per name is the one with the newest of its two
        # timestamps; merge_container_row still folds in the stored row.
        items = [dict(item, latest=_newest(
            item.get('put_timestamp') or '0',
            item.get('delete_timestamp') or '0')) for item in items]
        best = newest_per_name(items, 'latest')
        columns = CONTAINER_COLUMNS[1:]
        stored_rows = existing_rows(conn, 'container', list(best), columns)
        stale, fresh = [], []
        for name, item in best.items():
            stored = stored_rows.get(name)
            stored_dict = None
            if stored is not None:
                stored_dict = dict(zip(CONTAINER_COLUMNS,
                                       (name,) + tuple(stored[1:])))
            row = merge_container_row(stored_dict, item)
            if row is None:
                continue
            if stored is not None:
                stale.append(stored[0])
            fresh.append(tuple(row[col] for col in CONTAINER_COLUMNS))
        replace_rows(conn, 'container', CONTAINER_COLUMNS, stale, fresh)

    def _reclaim_rows(self, conn, age):
        conn.execute('DELETE FROM container WHERE deleted = 1 '
                     'AND delete_timestamp < ?', (age,))

    def info_is_deleted(self, info):
        return info['status'] == 'DELETED' or (
            info['container_count'] == 0 and
            Timestamp(info['delete_timestamp']) >
            Timestamp(info['put_timestamp']))

    def is_status_deleted(self):
        return self.get_info()['status'] == 'DELETED'

    def list_containers(self, params):
        """ContainerEntry/Subdir entries of one listing page."""
        rows = self._list_rows(
            ('name', 'object_count', 'bytes_used', 'put_timestamp',
             'storage_policy_index'), params)
        return [Subdir(row) if is_subdir else ContainerEntry(*row)
                for is_subdir, row in rows]

    def get_container_row(self, name):
        """The stored row of ``name`` (deleted or not) as a dict, or None."""
        self._commit_puts_stale_ok()
        row = self.conn.execute(
            'SELECT %s FROM container WHERE deleted IN (0, 1) AND name = ?'
            % ', '.join(CONTAINER_COLUMNS), (name,)).fetchone()
        return dict(row) if row else None

    def policy_stats(self):
        """{policy index: {'container_count', 'object_count',
        'bytes_used'}} of every policy this account has had containers in.
        """
        self._commit_puts_stale_ok()
        query = ('SELECT storage_policy_index, container_count, '
                 'object_count, bytes_used FROM policy_stat')
        try:
            rows = self.conn.execute(query).fetchall()
        except sqlite3.OperationalError as err:
            if 'no such table: policy_stat' not in str(err):
                raise
            self._add_policy_stat_table()
            rows = self.conn.execute(query).fetchall()
        return {row[0]: {'container_count': row[1], 'object_count': row[2],
                         'bytes_used': row[3]} for row in rows}

    def _add_policy_stat_table(self):
        """Give a DB made before policy_stat existed its table, triggers
        and totals, in one transaction (a concurrent reader that lost the
        race finds the table made)."""
        with transaction(self.conn) as conn:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                "AND name = 'policy_stat'").fetchone()
            if not exists:
                execute_script(conn, POLICY_STAT_SQL)
                conn.execute(POLICY_STAT_BACKFILL_SQL)
