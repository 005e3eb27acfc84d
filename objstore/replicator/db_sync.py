"""Bringing one peer's copy of an account/container DB up to date.

Owns the client side of DB replication for one (local DB, remote node)
pair: the REPLICATE calls, the choice between "nothing to do", "send the
rows it lacks", "rsync the whole DB" and "rsync it, then let the peer merge
from the copy", and the sync-point bookkeeping that makes the next pass
send only newer rows.

Must not: walk devices, decide which nodes are primaries, or delete local
DBs; ``db_replicator.py`` does that. It never writes rows into the local
DB: replication is push-only, each node pushes to the others, so both
directions converge once every node has run a pass.

Sync points. Every DB has a random id. ``outgoing_sync[peer_id]`` is the
highest local ROWID known to be merged on that peer; the peer's
``incoming_sync[our_id]`` says the same from its side and comes back in the
``sync`` answer as ``point``. Rows merged on the peer get new ROWIDs there,
so sync points are only ever compared with the DB they number.
"""

import json
import math
import os
import sqlite3
import uuid
from dataclasses import dataclass

from objstore.common.backend_client import BACKEND_ERRORS, direct_request
from objstore.common.durable import fsync_dir
from objstore.common.http_basics import is_success
from objstore.replicator.rsync import (
    RsyncSettings, build_rsync_command, rsync_destination, run_rsync)

# What one peer needed; the replicator counts these per pass.
IN_SYNC = 'no_change'
HASH_MATCH = 'hashmatch'
RSYNC = 'rsync'
REMOTE_MERGE = 'remote_merge'
DIFF = 'diff'
DIFF_CAPPED = 'diff_capped'
FAILURE = 'failure'
# The peer's device is unmounted or failed (507): the replicator tries a
# handoff in its place.
UNMOUNTED = 'unmounted'
FAILURES = (FAILURE, UNMOUNTED)

# A peer holding less than this share of our rows (and more than per_diff
# behind) gets the whole DB by rsync and merges from it locally: cheaper
# than thousands of merge_items round trips.
SMALL_SHARE = 0.5


@dataclass(frozen=True)
class SyncSettings:
    """The knobs of one replicator that the per-peer logic uses."""

    per_diff: int = 1000
    max_diffs: int = 100
    rsync_module: str = '{replication_ip}::container'
    rsync_port: int = 873
    rsync_timeout: float = 900.0
    rsync_compress: bool = False
    conn_timeout: float = 0.5
    node_timeout: float = 10.0


def choose_strategy(local, remote, outgoing_point, per_diff):
    """How to bring ``remote`` up to date with ``local`` (pure).

    ``local`` and ``remote`` are replication infos (max_row, hash; the
    remote's also ``point``, its incoming sync point for us); ``remote`` is
    None when the peer has no DB. ``outgoing_point`` is our own record.

    >>> choose_strategy({'max_row': 10, 'hash': 'a'}, None, -1, 1000)
    'rsync'
    >>> choose_strategy({'max_row': 10, 'hash': 'a'},
    ...                 {'max_row': 3, 'hash': 'b', 'point': 10}, -1, 1000)
    'no_change'
    >>> choose_strategy({'max_row': 5000, 'hash': 'a'},
    ...                 {'max_row': 10, 'hash': 'b', 'point': -1}, -1, 1000)
    'remote_merge'
    >>> choose_strategy({'max_row': 50, 'hash': 'a'},
    ...                 {'max_row': 10, 'hash': 'b', 'point': 20}, -1, 1000)
    'diff'
    """
    if remote is None:
        return RSYNC
    point = max(int(remote.get('point', -1)), outgoing_point)
    if point >= local['max_row']:
        return IN_SYNC
    if remote.get('hash') == local['hash']:
        return HASH_MATCH
    behind = local['max_row'] - int(remote.get('max_row', -1))
    if local['max_row'] > 0 and behind > per_diff and \
            int(remote.get('max_row', -1)) / local['max_row'] < SMALL_SHARE:
        return REMOTE_MERGE
    return DIFF


class ReplicateError(Exception):
    """A REPLICATE call failed (connection, timeout or non-2xx).

    ``status`` is the peer's answer, None when there was none.
    """

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class ReplicateClient:
    """REPLICATE calls to one DB on one node.

    Bodies are JSON objects ``{"op": name, ...arguments}``; the wire format
    is documented with its server side in ``objstore.common.db_replicate``.
    """

    def __init__(self, node, partition, db_hash, settings):
        self.node = node
        self.path = '/%s/%s/%s' % (node['device'], partition, db_hash)
        self.settings = settings

    @property
    def address(self):
        return (self.node.get('replication_ip') or self.node['ip'],
                self.node.get('replication_port') or self.node['port'])

    def call(self, op, **args):
        """(status, decoded JSON body or None); ReplicateError on failure.

        A 404 answer to ``sync`` is not an error: the peer has no DB.
        """
        ip, port = self.address
        body = json.dumps(dict(args, op=op)).encode('utf-8')
        try:
            status, _headers, payload = direct_request(
                ip, port, 'REPLICATE', self.path,
                headers={'Content-Type': 'application/json'}, body=body,
                conn_timeout=self.settings.conn_timeout,
                node_timeout=self.settings.node_timeout)
        except BACKEND_ERRORS as err:
            raise ReplicateError('%s %s:%s%s: %s' % (op, ip, port, self.path,
                                                     err))
        if status == 404 and op == 'sync':
            return status, None
        if not is_success(status):
            raise ReplicateError('%s %s:%s%s: status %s %s' % (
                op, ip, port, self.path, status, payload[:200]), status)
        try:
            return status, json.loads(payload) if payload else None
        except ValueError:
            raise ReplicateError('%s %s:%s%s: answer is not JSON'
                                 % (op, ip, port, self.path))


def snapshot_db(broker, tmp_dir, name):
    """A consistent single-file copy of the DB, ``tmp_dir/name``.

    The live DB runs in WAL mode, so its main file alone may miss committed
    rows; SQLite's online backup copies a consistent state while writers
    go on. The copy is put back in WAL mode and fsynced before it leaves.
    """
    os.makedirs(tmp_dir, exist_ok=True)
    path = os.path.join(tmp_dir, name)
    target = sqlite3.connect(path)
    try:
        broker.conn.backup(target)
        target.execute('PRAGMA journal_mode = WAL')
        target.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    finally:
        target.close()
    with open(path, 'rb') as made:
        os.fsync(made.fileno())
    fsync_dir(tmp_dir)
    return path


def rsync_settings(settings):
    """The object replicator's RsyncSettings for our options."""
    return RsyncSettings(module=settings.rsync_module,
                         port=settings.rsync_port,
                         io_timeout=max(1, math.ceil(settings.rsync_timeout)),
                         conn_timeout=max(1, math.ceil(settings.conn_timeout)),
                         compress=settings.rsync_compress)


class DBSyncer:
    """Replicates one local DB to one peer at a time (see module doc)."""

    def __init__(self, settings, logger, rsync=run_rsync):
        self.settings = settings
        self.rsync_settings = rsync_settings(settings)
        self.logger = logger
        self.rsync = rsync

    def replicate(self, broker, info, node, partition, db_hash,
                  device_path):
        """Bring ``node``'s copy up to date; the outcome name.

        ``info`` is ``broker.get_replication_info()``. Raises nothing:
        every failure is logged and returned as FAILURE, or UNMOUNTED when
        the peer said its device is unavailable (507).
        """
        client = ReplicateClient(node, partition, db_hash, self.settings)
        try:
            return self._replicate(client, broker, info, node, device_path)
        except (ReplicateError, OSError, sqlite3.DatabaseError) as err:
            self.logger.warning('replication of %s to %s:%s/%s failed: %s',
                                broker.db_file, node['ip'], node['port'],
                                node['device'], err)
            if getattr(err, 'status', None) == 507:
                return UNMOUNTED
            return FAILURE

    def _replicate(self, client, broker, info, node, device_path):
        _status, remote = client.call('sync', info=info)
        outgoing = -1
        if remote is not None:
            # Both ends decide the policy with the same rule, so one
            # exchange leaves them agreeing whichever side won.
            broker.reconcile_with_peer(remote)
            outgoing = broker.get_sync(remote['id'], incoming=False)
        strategy = choose_strategy(info, remote, outgoing,
                                   self.settings.per_diff)
        if strategy == RSYNC:
            self._push_whole_db(client, broker, info, node, device_path,
                                'complete_rsync')
        elif strategy == REMOTE_MERGE:
            self._push_whole_db(client, broker, info, node, device_path,
                                'rsync_then_merge')
        elif strategy == HASH_MATCH:
            # Same rows: everything we have up to max_row is there.
            broker.merge_syncs([{'remote_id': remote['id'],
                                 'sync_point': info['max_row']}],
                               incoming=False)
        elif strategy == DIFF:
            point = max(int(remote.get('point', -1)), outgoing)
            if not self._send_rows(client, broker, info, remote['id'], point):
                strategy = DIFF_CAPPED
        return strategy

    def _push_whole_db(self, client, broker, info, node, device_path, op):
        """Snapshot to our ``<device>/tmp/``, rsync it to the peer's.

        The snapshot's path below the device is kept on the peer (the
        object replicator's ``--relative`` command), so it lands in the
        peer's ``<device>/tmp/`` where ``op`` looks for it. The name is
        unique per push: two replicators may push one DB to a peer at once.
        """
        tmp_name = '%s-%s.db' % (info['id'], uuid.uuid4().hex[:12])
        snapshot = snapshot_db(broker, os.path.join(device_path, 'tmp'),
                               tmp_name)
        try:
            argv = build_rsync_command(
                device_path, ['tmp/' + tmp_name],
                rsync_destination(self.settings.rsync_module, node),
                self.rsync_settings)
            result = self.rsync(argv, self.rsync_settings.deadline)
            if not result.ok:
                raise ReplicateError('rsync of %s failed (%s): %s' % (
                    broker.db_file, result.meaning, result.output.strip()))
        finally:
            os.unlink(snapshot)
        client.call(op, tmp_name=tmp_name, source_id=info['id'])

    def _send_rows(self, client, broker, info, remote_id, point):
        """Send rows after ``point`` in batches; False if capped.

        Capped at ``max_diffs`` batches per pass so one huge DB cannot
        starve the others; the sync point records the progress made, so
        the next pass goes on from there.
        """
        per_diff = self.settings.per_diff
        # Taken first: rows a third DB sends us while we work are not in
        # what we are about to send.
        known_peers = broker.get_syncs(incoming=True)
        sent_to = point
        batches = 0
        rows = broker.get_items_since(point, per_diff)
        while rows and batches < self.settings.max_diffs:
            client.call('merge_items', items=rows, source_id=info['id'])
            sent_to = rows[-1]['ROWID']
            batches += 1
            rows = broker.get_items_since(sent_to, per_diff)
        broker.merge_syncs([{'remote_id': remote_id,
                             'sync_point': sent_to}], incoming=False)
        if rows:
            return False
        # Every row we hold went over, so the peer now holds what our own
        # peers sent us too: it need not get those rows again from them.
        client.call('merge_syncs', sync_points=known_peers)
        return True
