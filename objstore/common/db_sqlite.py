"""SQLite primitives the account and container brokers share.

Owns: opening a broker's connection (``connect``: synchronous=FULL, the
``chexor`` SQL function, and the file identity that lets a write notice
its DB was removed), transactions that refuse to commit to an unlinked
file, scripts run inside a transaction, the row merge helpers (newest per
name, the stored rows of a batch, replace with new ROWIDs) and the listing
page query on the ``(deleted, name)`` index.

Must not: know a schema or what a row means (the brokers do), or the
pending file and removal protocol (common.db).
"""

import hashlib
import os
import sqlite3
from contextlib import contextmanager
from urllib.parse import quote

from objstore.common.exceptions import DatabaseRemoved
from objstore.common.listing import NameRange, delimited_entries
from objstore.common.timestamp import Timestamp

SQLITE_TIMEOUT = 25
EMPTY_HASH = '0' * 32
# Rows looked up per "name IN (...)" query while merging; below SQLite's
# default limit on bound parameters.
MERGE_CHUNK = 500

def chexor(old_hex, name, timestamp):
    """Order-independent hash of a DB's rows: XOR of md5(name-timestamp).

    Adding and then removing a row leaves the hash as it was, so two DBs
    with the same rows have the same hash whatever order they got them in.

    >>> h = chexor(EMPTY_HASH, 'o', '1700000000.00000')
    >>> chexor(h, 'o', '1700000000.00000') == EMPTY_HASH
    True
    """
    digest = hashlib.md5(('%s-%s' % (name, timestamp)).encode('utf-8'),
                         usedforsecurity=False).hexdigest()
    return '%032x' % (int(old_hex, 16) ^ int(digest, 16))


def file_identity(path):
    """(st_dev, st_ino) of ``path``; None if it does not exist."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


class BrokerConnection(sqlite3.Connection):
    """A connection that remembers which file it opened (``path`` and
    ``identity``, set by ``_connect``), so that a write can find out that
    the file was removed or replaced since (see ``transaction``)."""

    path = None
    identity = None

    def check_in_place(self):
        """Raise DatabaseRemoved unless ``path`` is still our file."""
        if file_identity(self.path) != self.identity:
            raise DatabaseRemoved('%s was removed' % self.path)


def connect(path, create=True):
    """A connection to ``path``; with ``create=False`` a missing file is
    an error rather than a new, empty DB (a removal won the race)."""
    # Looked at before opening: a file replaced in between makes a later
    # check refuse a write needlessly, never accept one that is lost.
    before = file_identity(path)
    target = path if create else 'file:%s?mode=rw' % quote(path)
    conn = sqlite3.connect(target, timeout=SQLITE_TIMEOUT, uri=not create,
                           isolation_level=None, check_same_thread=False,
                           factory=BrokerConnection)
    conn.path = path
    conn.identity = before or file_identity(path)
    conn.row_factory = sqlite3.Row
    conn.create_function('chexor', 3, chexor, deterministic=True)
    conn.execute('PRAGMA synchronous = FULL')
    conn.execute('PRAGMA temp_store = MEMORY')
    return conn


def execute_script(conn, script):
    """Run several statements inside the caller's transaction.

    ``sqlite3.executescript`` would COMMIT first; this splits the script at
    statement boundaries (triggers hold ';' inside BEGIN ... END) instead.
    """
    statement = ''
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ''
    if statement.strip():
        raise ValueError('incomplete SQL statement: %r' % statement)


@contextmanager
def transaction(conn):
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error.

    With the write lock held, the file must still be the one ``conn``
    opened: a removal unlinks it under that lock, and what we committed to
    the unlinked file would be acknowledged and lost (see the module doc).
    """
    conn.execute('BEGIN IMMEDIATE')
    try:
        conn.check_in_place()
        yield conn
    except BaseException:
        conn.execute('ROLLBACK')
        raise
    conn.execute('COMMIT')


def chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def newest_per_name(items, time_key):
    """{name: item} keeping, per name, the item with the newest timestamp.

    Timestamps are normalized to their internal form, which orders the
    same as Timestamp comparison, so rows can then be compared as strings.
    """
    best = {}
    for item in items:
        item = dict(item)
        item[time_key] = Timestamp(item[time_key]).internal
        current = best.get(item['name'])
        # On a tie the later item wins: within a batch, later means it
        # arrived later (an account report with fresher counts).
        if current is None or item[time_key] >= current[time_key]:
            best[item['name']] = item
    return best


def existing_rows(conn, table, names, time_columns):
    """{name: (ROWID, *time_columns)} of the stored rows for ``names``."""
    found = {}
    for chunk in chunks(names, MERGE_CHUNK):
        rows = conn.execute(
            'SELECT ROWID, name, %s FROM %s WHERE deleted IN (0, 1) '
            'AND name IN (%s)' % (', '.join(time_columns), table,
                                  ', '.join('?' * len(chunk))), chunk)
        for row in rows:
            found[row[1]] = (row[0],) + tuple(row[2:])
    return found


def replace_rows(conn, table, columns, stale_rowids, new_rows):
    """Delete replaced rows, insert their successors (new ROWIDs).

    A changed row gets a new ROWID so that replication's "rows since
    ROWID n" carries the change to peers.
    """
    if stale_rowids:
        conn.executemany('DELETE FROM %s WHERE ROWID = ?' % table,
                         [(rowid,) for rowid in stale_rowids])
    if new_rows:
        conn.executemany('INSERT INTO %s (%s) VALUES (%s)' % (
            table, ', '.join(columns), ', '.join('?' * len(columns))),
            new_rows)


def _range_query(name_range, table, columns, limit=None):
    """SQL and arguments listing ``name_range`` on the name index."""
    where = ['deleted = 0']
    args = []
    if name_range.lower is not None:
        where.append('name >= ?' if name_range.lower_inclusive
                     else 'name > ?')
        args.append(name_range.lower)
    if name_range.upper is not None:
        where.append('name < ?')
        args.append(name_range.upper)
    sql = 'SELECT %s FROM %s WHERE %s ORDER BY name %s' % (
        ', '.join(columns), table, ' AND '.join(where),
        'DESC' if name_range.reverse else 'ASC')
    if limit is not None:
        sql += ' LIMIT %d' % limit
    return sql, args


def _tuple_cursor(conn, sql, args):
    """A cursor yielding plain tuples: sqlite3.Row costs more than the
    query itself on a 10,000-row page."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, args)


def list_page(conn, table, columns, params):
    """One listing page as a list of ``(is_subdir, row_tuple_or_name)``.

    Rows are tuples of ``columns`` (name first). Without a delimiter a
    page is one range query on the ``(deleted, name)`` index. With one,
    ``listing.delimited_entries`` walks names and ROWIDs, which the index
    alone answers (no table lookups), and the leaf rows are then fetched
    by ROWID. The page is read in one transaction: one consistent snapshot.
    """
    name_range = NameRange(params)
    conn.execute('BEGIN')
    try:
        if not params.delimiter:
            sql, args = _range_query(name_range, table, columns, params.limit)
            return [(False, row) for row in _tuple_cursor(conn, sql, args)]

        def scan(current):
            sql, args = _range_query(current, table, ('name', 'ROWID'))
            return _tuple_cursor(conn, sql, args)

        entries = delimited_entries(scan, params, name_range)
        return _with_leaf_rows(conn, table, columns, entries)
    finally:
        conn.execute('COMMIT')


def _with_leaf_rows(conn, table, columns, entries):
    rowids = [rowid for is_subdir, rowid in entries if not is_subdir]
    rows = {}
    for chunk in chunks(rowids, MERGE_CHUNK):
        sql = 'SELECT ROWID, %s FROM %s WHERE ROWID IN (%s)' % (
            ', '.join(columns), table, ', '.join('?' * len(chunk)))
        for row in _tuple_cursor(conn, sql, chunk):
            rows[row[0]] = row[1:]
    return [(True, value) if is_subdir else (False, rows[value])
            for is_subdir, value in entries]
