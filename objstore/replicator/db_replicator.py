"""The account and container replicators.

Entry points ``objstore-container-replicator`` and
``objstore-account-replicator``.

Owns the pass over a node's DBs: find every local DB, reclaim its old
deleted rows, remove it when it is a tombstone older than ``reclaim_age``,
push it to the other primaries of its partition (``db_sync.DBSyncer`` does
one peer; a primary whose device answers 507 is replaced by the next
handoff), and remove a handoff copy once every primary has it. Counts per
pass go to the per-device status files ``objstore-recon`` reads.

Must not: change rows itself (the broker merges, newest timestamp wins),
or answer REPLICATE (the server side is ``objstore.common.db_replicate``).

Quiet when idle: a primary DB that every peer took in full is remembered
with a digest of its stat row (which holds the hash of its rows) and its
highest ROWID; while they stay the same, later passes skip it (counted
``unchanged``) without a REPLICATE, a reclaim or a row count, until
``full_sweep_interval`` has passed (each DB's deadline drawn between half
and all of it, so the sweeps spread out). A change here (a write, rows a
peer pushed) replicates the DB on the next pass; a change on a peer is
that peer's replicator's to push; a peer that lost its copy, and old
deleted rows due for reclaim, wait for the sweep at most. The memory is
the process's: a ``--once`` run, or a restarted daemon, compares
everything.

On disk a DB lives at
``<device>/<accounts|containers>/<partition>/<suffix>/<hash>/<hash>.db``;
the partition in the path is the one its primaries are looked up by.
"""

import dataclasses
import hashlib
import json
import os
import random
import re
import sqlite3
import time

from objstore.account.backend import AccountBroker
from objstore.common.daemon import (
    Daemon, DaemonConf, DaemonStats, RateLimiter, run_concurrently, run_daemon)
from objstore.common.db_layout import iter_db_files, listdir_sorted
from objstore.common.exceptions import (
    ConfigError, DatabaseError, LockTimeout)
from objstore.common.timestamp import Timestamp
from objstore.container.backend import ContainerBroker
from objstore.replicator.db_sync import (
    DIFF, DIFF_CAPPED, FAILURES, HASH_MATCH, IN_SYNC, REMOTE_MERGE, RSYNC,
    UNMOUNTED, DBSyncer, SyncSettings, run_rsync)
from objstore.replicator.rsync import rsync_destination
from objstore.ring.ring import Ring

# A DB snapshot pushed into a peer's tmp dir is used and removed by the
# complete_rsync/rsync_then_merge call that follows. One older than this
# was orphaned by a sender that died in between (or a cut rsync left its
# hidden temp file, or a server died while it had the copy open and left
# its -wal/-shm); no transfer takes a day, so it is safe to remove.
STALE_SNAPSHOT_AGE = 86400
# A long pass logs how far it got this often (seconds).
PROGRESS_INTERVAL = 300
SNAPSHOT_NAME = re.compile(
    r'^\.?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
    r'-[0-9a-f]{12}\.db(\.[A-Za-z0-9]{6}|-wal|-shm)?$')

SUMMARY_COUNTS = ('attempted', 'unchanged', 'successes', 'failures',
                  IN_SYNC, HASH_MATCH, DIFF, DIFF_CAPPED, RSYNC,
                  REMOTE_MERGE, UNMOUNTED, 'handoffs_removed',
                  'reclaimed_dbs', 'errors')


@dataclasses.dataclass(frozen=True)
class DBReplicatorConf(DaemonConf):
    """Options of [container-replicator] and [account-replicator]."""

    concurrency: int = 8
    per_diff: int = 1000
    max_diffs: int = 100
    node_timeout: float = 10.0
    conn_timeout: float = 0.5
    reclaim_age: float = 604800.0
    rsync_module: str = '{replication_ip}::container'
    rsync_port: int = 873
    rsync_timeout: float = 900.0
    rsync_compress: bool = False
    databases_per_second: float = 50.0
    full_sweep_interval: float = 3600.0

    def validate(self):
        DaemonConf.validate(self)
        if self.full_sweep_interval < 0:
            raise ConfigError('full_sweep_interval must be >= 0')
        for name in ('concurrency', 'per_diff', 'max_diffs'):
            if getattr(self, name) < 1:
                raise ConfigError('%s must be >= 1' % name)
        for name in ('node_timeout', 'conn_timeout', 'rsync_timeout'):
            if getattr(self, name) <= 0:
                raise ConfigError('%s must be > 0' % name)
        if self.reclaim_age < 0 or self.databases_per_second < 0:
            raise ConfigError('reclaim_age and databases_per_second '
                              'must be >= 0')
        # A bad template fails here, at start-up, not on the first peer.
        rsync_destination(self.rsync_module, {
            'ip': '127.0.0.1', 'port': 1, 'device': 'd'})

    def sync_settings(self):
        return SyncSettings(
            per_diff=self.per_diff, max_diffs=self.max_diffs,
            rsync_module=self.rsync_module, rsync_port=self.rsync_port,
            rsync_timeout=self.rsync_timeout,
            rsync_compress=self.rsync_compress,
            conn_timeout=self.conn_timeout, node_timeout=self.node_timeout)


@dataclasses.dataclass(frozen=True)
class ContainerReplicatorConf(DBReplicatorConf):
    bind_port: int = 6201


@dataclasses.dataclass(frozen=True)
class AccountReplicatorConf(DBReplicatorConf):
    bind_port: int = 6202
    rsync_module: str = '{replication_ip}::account'


def remove_stale_snapshots(device_path, now, max_age=STALE_SNAPSHOT_AGE):
    """Remove orphaned DB snapshots from ``<device>/tmp/``; how many.

    Only names this replicator makes are touched: the object server keeps
    its own temp files in the same dir.
    """
    tmp_dir = os.path.join(device_path, 'tmp')
    removed = 0
    for name in listdir_sorted(tmp_dir):
        if not SNAPSHOT_NAME.match(name):
            continue
        path = os.path.join(tmp_dir, name)
        try:
            if now - os.stat(path).st_mtime > max_age:
                os.unlink(path)
                removed += 1
        except FileNotFoundError:
            pass
    return removed


def db_fingerprint(broker):
    """A digest that changes whenever the DB's rows, timestamps or
    metadata do: its stat row (the rows' hash among it) and highest
    ROWID. Cheap: no COUNT over the rows, no write."""
    info = broker.get_info()
    info['max_row'] = broker.get_max_row()
    return _digest(info)


def _digest(info):
    # A digest rather than the dict: one entry per DB stays small.
    return hashlib.md5(json.dumps(info, sort_keys=True).encode('utf-8'),
                       usedforsecurity=False).digest()


def remove_empty_parents(db_file):
    """After a DB's removal, its suffix and partition dirs if empty."""
    suffix_dir = os.path.dirname(os.path.dirname(db_file))
    for parent in (suffix_dir, os.path.dirname(suffix_dir)):
        try:
            os.rmdir(parent)
        except OSError:
            break


class DBReplicator(Daemon):
    """A pass over every local DB of one kind; see the module doc."""

    name = None
    first_pass_jitter = True
    conf_class = DBReplicatorConf
    broker_class = None
    datadir = None
    ring_name = None

    def __init__(self, conf, logger=None, ring=None, rsync=run_rsync,
                 clock=time.monotonic):
        super().__init__(conf, logger)
        dconf = self.daemon_conf
        self.ring = ring or Ring(dconf.conf_dir, self.ring_name)
        self.syncer = DBSyncer(dconf.sync_settings(), self.logger, rsync)
        self.limiter = RateLimiter(items_per_second=dconf.databases_per_second)
        self.clock = clock
        # db_file -> (peer ids, fingerprint, sweep deadline): see the
        # module doc ("Quiet when idle").
        self._in_sync = {}

    def run_once(self, devices=None, partitions=None, once=False):
        """One pass over the local devices; the pass total DaemonStats."""
        return self.run_device_pass(
            self.ring, devices,
            lambda dev, device_path: self.replicate_device(
                dev, device_path, partitions),
            SUMMARY_COUNTS, once)

    def replicate_device(self, dev, device_path, partitions=None):
        stats = DaemonStats()
        stale = remove_stale_snapshots(device_path, time.time())
        if stale:
            stats.incr('stale_snapshots_removed', stale)
        next_progress = [time.monotonic() + PROGRESS_INTERVAL]
        seen = set()

        def one(entry):
            seen.add(entry[2])
            self.limiter.wait()
            self.replicate_db(dev, device_path, entry, stats)
            if time.monotonic() >= next_progress[0]:
                next_progress[0] = time.monotonic() + PROGRESS_INTERVAL
                self.logger.info('%s: %s in progress: %s, %.0fs so far',
                                 self.name, dev['device'],
                                 stats.summary(SUMMARY_COUNTS),
                                 stats.duration)

        def failed(entry, exc):
            stats.incr('errors')
            self.logger.exception('%s: unexpected error on %s: %s',
                                  self.name, entry[2], exc)

        run_concurrently(one, iter_db_files(device_path, self.datadir,
                                            partitions),
                         self.daemon_conf.concurrency,
                         should_stop=lambda: self.stopping, on_error=failed)
        if partitions is None and not self.stopping:
            self._forget_gone(device_path, seen)
        return stats

    def _forget_gone(self, device_path, seen):
        """Drop what is remembered of DBs a whole pass no longer found."""
        prefix = os.path.join(device_path, '')
        for db_file in [db_file for db_file in self._in_sync
                        if db_file.startswith(prefix)
                        and db_file not in seen]:
            del self._in_sync[db_file]

    def replicate_db(self, dev, device_path, entry, stats):
        """Replicate one DB file; counts go to ``stats``."""
        partition, db_hash, db_file = entry
        stats.incr('attempted')
        broker = self.broker_class(db_file, logger=self.logger)
        try:
            self._replicate_broker(broker, dev, device_path, partition,
                                   db_hash, stats)
        except (DatabaseError, sqlite3.DatabaseError) as err:
            stats.incr('failures')
            self.logger.error('%s: cannot replicate %s: %s (the auditor '
                              'quarantines corrupt DBs)', self.name,
                              db_file, err)
        finally:
            broker.close()

    def _replicate_broker(self, broker, dev, device_path, partition,
                          db_hash, stats):
        nodes = self.ring.get_part_nodes(partition)
        is_primary = any(node['id'] == dev['id'] for node in nodes)
        peers = [node for node in nodes if node['id'] != dev['id']]
        peer_ids = tuple(node['id'] for node in peers)
        if is_primary and self._still_in_sync(broker, peer_ids):
            stats.incr('unchanged')
            return
        now = time.time()
        reclaim_before = Timestamp(
            max(0.0, now - self.daemon_conf.reclaim_age))
        broker.reclaim(reclaim_before)
        info = broker.get_replication_info()
        if self.is_reclaimable(broker, info, reclaim_before):
            self._in_sync.pop(broker.db_file, None)
            self._reclaim_db(broker, info, stats)
            return
        handoffs = self._handoffs(partition, dev)
        outcomes = []
        while peers:
            node = peers.pop(0)
            outcome = self.syncer.replicate(broker, info, node, partition,
                                            db_hash, device_path)
            stats.incr(outcome)
            outcomes.append(outcome)
            if outcome == UNMOUNTED:
                # A failed disk will not come back soon: keep the replica
                # count up on the next handoff meanwhile.
                substitute = next(handoffs, None)
                if substitute is not None:
                    peers.append(substitute)
        all_ok = not any(outcome in FAILURES for outcome in outcomes)
        stats.incr('successes' if all_ok else 'failures')
        complete = all_ok and DIFF_CAPPED not in outcomes
        self._remember_sync(broker.db_file, peer_ids, info,
                            is_primary and complete)
        if not is_primary and complete:
            self._remove_handoff(broker, info, stats)

    def _still_in_sync(self, broker, peer_ids):
        """True when every peer took this DB as it is now, and its sweep
        is not due."""
        entry = self._in_sync.get(broker.db_file)
        if entry is None:
            return False
        peers_then, fingerprint_then, until = entry
        return (peers_then == peer_ids and self.clock() < until and
                db_fingerprint(broker) == fingerprint_then)

    def _remember_sync(self, db_file, peer_ids, info, in_sync):
        sweep = self.daemon_conf.full_sweep_interval
        if not in_sync or sweep <= 0:
            self._in_sync.pop(db_file, None)
            return
        # The info the peers were sent, less the row count that
        # db_fingerprint leaves out: a write since then changes one.
        sent = {key: value for key, value in info.items() if key != 'count'}
        until = self.clock() + random.uniform(0.5, 1.0) * sweep
        self._in_sync[db_file] = (peer_ids, _digest(sent), until)

    def _handoffs(self, partition, dev):
        return (node for node in self.ring.get_more_nodes(partition)
                if node['id'] != dev['id'])

    def is_reclaimable(self, broker, info, reclaim_before):
        """A tombstone DB older than reclaim_age, safe to forget."""
        return (broker.is_deleted() and
                Timestamp(info['delete_timestamp']) < reclaim_before and
                Timestamp(info['status_changed_at']) < reclaim_before)

    @staticmethod
    def _remove(broker, info):
        """Remove the DB unless it changed since ``info``; True if removed.
        A DB whose pending lock stays busy is also kept for the next pass."""
        try:
            return broker.remove_if_unchanged(info)
        except LockTimeout:
            return False

    def _reclaim_db(self, broker, info, stats):
        # A write since ``info`` may have revived the DB: look next pass.
        if not self._remove(broker, info):
            self.logger.info('%s: tombstone %s written to meanwhile; kept',
                             self.name, broker.db_file)
            return
        remove_empty_parents(broker.db_file)
        stats.incr('reclaimed_dbs')
        self.logger.info('%s: removed %s, deleted at %s', self.name,
                         broker.db_file, info['delete_timestamp'])

    def _remove_handoff(self, broker, info, stats):
        # A write that landed here during the pushes is not on the
        # primaries yet: keep the DB for the next pass in that case.
        if not self._remove(broker, info):
            self.logger.info('%s: handoff %s changed while replicating; kept',
                             self.name, broker.db_file)
            return
        remove_empty_parents(broker.db_file)
        stats.incr('handoffs_removed')
        self.logger.info('%s: handoff %s pushed to every primary, removed',
                         self.name, broker.db_file)


class ContainerReplicator(DBReplicator):
    name = 'container-replicator'
    conf_class = ContainerReplicatorConf
    broker_class = ContainerBroker
    datadir = 'containers'
    ring_name = 'container'


class AccountReplicator(DBReplicator):
    name = 'account-replicator'
    conf_class = AccountReplicatorConf
    broker_class = AccountBroker
    datadir = 'accounts'
    ring_name = 'account'

    def is_reclaimable(self, broker, info, reclaim_before):
        # A deleted account keeps its DB until the reaper emptied it.
        return (info['container_count'] == 0 and
                super().is_reclaimable(broker, info, reclaim_before))


def container_main(argv=None):
    return run_daemon(ContainerReplicator, argv)


def account_main(argv=None):
    return run_daemon(AccountReplicator, argv)
