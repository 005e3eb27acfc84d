"""The object replicator: makes every partition's replicas hold the same files.

Owns one pass over this node's devices: for each local partition (per
storage policy dir ``objects[-N]``) it compares suffix hashes with the
partition's other primaries (``REPLICATE /<dev>/<part>``), rsyncs the
suffix dirs that differ into the peer's device, then asks the peer to
rehash those suffixes (``REPLICATE /<dev>/<part>/<suf>-<suf>``).
A partition this node holds without being one of its primaries (a handoff
copy) is pushed to every primary and removed here only after all of them
took it. It must not read or write object files itself beyond removing a
handoff copy and stale temp files (``<device>/tmp/``, each pass); the
DiskFile layer (``objstore.object.hashes``/``hashdir``) owns the format,
and ``objstore.replicator.rsync`` owns the transfer.

Invariants:

- Push only. A replica that lacks files is repaired by the replicators of
  the nodes that have them; this one never pulls and never deletes on a
  peer (see rsync.py for why no ``--delete``), so an older state can not
  replace a newer one: the newest file name wins wherever both meet.
- Tombstones are files like any other and replicate the same way; the
  peer's rehash runs ``cleanup_ondisk_files``, which removes what they
  supersede and, after ``reclaim_age``, the tombstones themselves.
- A handoff copy is removed file by file, only the files that were hashed
  into the suffix hash every primary accepted, and only if that hash is
  unchanged since; a write landing meanwhile keeps its file (and the dir).
- A peer whose device answers 507 (unmounted or full) is replaced by the
  next handoff node so the partition keeps its replica count.

Quiet when idle: a primary partition that every peer took in full is
remembered with a fingerprint of its local hashes; while they stay the
same, later passes skip its peers (counted ``unchanged``) until
``full_sweep_interval`` has passed (each partition's deadline is drawn
between half and all of it, so the sweeps spread over time rather than
falling in one pass). A change here (a write, a rehash) syncs the
partition on the next pass; a change on a peer is that peer's
replicator's to push; a peer that lost files is found at the latest by
the sweep. The memory is the process's: a ``--once`` run, or a restarted
daemon, compares everything.
"""

import dataclasses
import hashlib
import json
import os
import random
import time

from objstore.common import green
from objstore.common.backend_client import direct_request
from objstore.common.daemon import (
    Daemon, DaemonConf, DaemonStats, local_devices, run_concurrently,
    run_daemon, usable_device_path)
from objstore.common.exceptions import ConfigError, LockTimeout
from objstore.common.http_basics import (
    HTTP_INSUFFICIENT_STORAGE, POLICY_HEADER, is_success)
from objstore.common.storage_policy import (
    REPLICATION, load_policies, policy_ring_name)
from objstore.object import hashdir, hashes, ondisk
from objstore.object.diskfile import remove_tmp_older_than
from objstore.replicator.rsync import (
    RsyncSettings, build_rsync_command, rsync_destination, run_rsync)
from objstore.ring.ring import Ring

SUMMARY_COUNTS = ('partitions', 'unchanged', 'suffixes_synced', 'rsyncs',
                  'files_sent', 'failures', 'handoffs_removed',
                  'tmp_files_removed')


@dataclasses.dataclass(frozen=True)
class ObjectReplicatorConf(DaemonConf):
    """Options of [object-replicator] (DaemonConf's come from [DEFAULT])."""

    concurrency: int = 4
    conn_timeout: float = 0.5
    http_timeout: float = 60.0
    rsync_module: str = '{replication_ip}::object'
    rsync_port: int = 873
    rsync_timeout: int = 900
    rsync_contimeout: int = 60
    rsync_bwlimit: str = '0'
    rsync_compress: bool = False
    reclaim_age: int = ondisk.DEFAULT_RECLAIM_AGE
    stats_interval: float = 300.0
    full_sweep_interval: float = 3600.0

    def validate(self):
        super().validate()
        if self.concurrency < 1:
            raise ConfigError('concurrency must be >= 1')
        if self.conn_timeout <= 0 or self.http_timeout <= 0:
            raise ConfigError('conn_timeout and http_timeout must be > 0')
        if self.reclaim_age < 0:
            raise ConfigError('reclaim_age must be >= 0')
        if self.full_sweep_interval < 0:
            raise ConfigError('full_sweep_interval must be >= 0')
        self.rsync_settings()

    def rsync_settings(self):
        return RsyncSettings(
            module=self.rsync_module, port=self.rsync_port,
            io_timeout=self.rsync_timeout, conn_timeout=self.rsync_contimeout,
            bwlimit=self.rsync_bwlimit, compress=self.rsync_compress)


@dataclasses.dataclass
class PartitionJob:
    """One partition of one local device, and where it must go."""

    device: str
    device_path: str
    local_dev: dict
    policy_index: int
    partition: int
    ring: object
    peers: list
    handoff: bool

    @property
    def partition_dir(self):
        return hashdir.partition_path(self.device_path, self.policy_index,
                                      self.partition)

    def suffix_relpath(self, suffix):
        return '%s/%d/%s' % (ondisk.policy_dir(ondisk.OBJECTS,
                                               self.policy_index),
                             self.partition, suffix)


def differing_suffixes(local, remote):
    """Suffixes we hold whose hash the peer lacks or disagrees with.

    >>> differing_suffixes({'abc': '1', 'def': '2', 'fed': '3'},
    ...                    {'abc': '1', 'def': 'x', '999': '4'})
    ['def', 'fed']
    """
    return sorted(suffix for suffix, value in local.items()
                  if value is not None and remote.get(suffix) != value)


def hashes_fingerprint(local):
    """A digest standing for a partition's {suffix: hash} in ``_in_sync``.

    The dict itself held ~150 bytes per suffix for every remembered
    partition: megabytes of an idle replicator's memory at 10,000 objects,
    growing with them. Equal hashes give equal digests; a change of any
    suffix (or of its presence) gives another one.

    >>> before = hashes_fingerprint({'abc': '1', 'def': None})
    >>> before == hashes_fingerprint({'def': None, 'abc': '1'})
    True
    >>> hashes_fingerprint({'abc': '1'}) == hashes_fingerprint({'abc': '2'})
    False
    """
    digest = hashlib.sha256()
    for suffix, value in sorted(local.items()):
        digest.update(('%s %s\n' % (suffix, value)).encode())
    return digest.digest()


class ObjectReplicator(Daemon):
    """``objstore-object-replicator``.

    ``policies`` (StoragePolicies, else objstore.conf's), ``rings``
    ({policy index: Ring}) and ``rsync`` (a ``run_rsync``-like callable)
    and ``http`` (a ``direct_request``-like callable) may be injected by
    tests.
    """

    name = 'object-replicator'
    conf_class = ObjectReplicatorConf

    def __init__(self, conf, logger=None, rings=None, rsync=run_rsync,
                 http=direct_request, policies=None, clock=time.monotonic):
        super().__init__(conf, logger)
        self.clock = clock
        # (device, policy, partition) -> (peer ids, fingerprint of the
        # local hashes, until):
        # partitions every peer took as they are now (see the module doc).
        self._in_sync = {}
        self.policies = policies or load_policies(self.daemon_conf.conf_dir)
        self.rsync_settings = self.daemon_conf.rsync_settings()
        self._rings = dict(rings) if rings else {}
        self._rsync = rsync
        self._http = http
        self._last_progress = time.monotonic()

    # -- rings and jobs --------------------------------------------------

    def ring_for(self, policy_index):
        """The object ring of a policy, loaded from conf_dir once."""
        if policy_index not in self._rings:
            self._rings[policy_index] = Ring(self.daemon_conf.conf_dir,
                                             policy_ring_name(policy_index))
        return self._rings[policy_index]

    def _local_devices(self, ring, only_devices):
        return local_devices(ring, self.daemon_conf.bind_ip,
                             self.daemon_conf.bind_port, only_devices)

    def build_jobs(self, device_path, dev, policy_index, ring,
                   partitions=None):
        """PartitionJobs for one device and policy, handoffs first."""
        wanted = set(partitions) if partitions else None
        jobs = []
        for name in hashdir.list_partitions(device_path, policy_index):
            part = int(name)
            if wanted is not None and part not in wanted:
                continue
            if part >= ring.partition_count:
                self.logger.warning('%s: partition %d is outside the ring',
                                    device_path, part)
                continue
            primaries = ring.get_part_nodes(part)
            handoff = all(node['id'] != dev['id'] for node in primaries)
            peers = [node for node in primaries if node['id'] != dev['id']]
            jobs.append(PartitionJob(dev['device'], device_path, dev,
                                     policy_index, part, ring, peers,
                                     handoff))
        jobs.sort(key=lambda job: not job.handoff)
        return jobs

    # -- the pass --------------------------------------------------------

    def run_once(self, devices=None, partitions=None, once=False, **_kw):
        total = DaemonStats()
        work = self._device_work(devices)
        results = run_concurrently(
            lambda item: self.replicate_device(*item, partitions=partitions,
                                               once=once),
            work, max(1, len(work)), should_stop=lambda: self.stopping,
            on_error=self._device_failed)
        for stats in results:
            total.merge(stats)
        total.finish()
        self.log_pass_summary(total, SUMMARY_COUNTS, len(work))
        return total

    def _device_work(self, only_devices):
        """[(dev, device_path, [(policy_index, ring, ring dev)])] of the
        local devices (a device may have another id in each policy's ring)."""
        by_device = {}
        for policy_index in self._known_policies():
            ring = self.ring_for(policy_index)
            for dev in self._local_devices(ring, only_devices):
                path = usable_device_path(self.daemon_conf.devices,
                                          dev['device'],
                                          self.daemon_conf.mount_check)
                if path is None:
                    self.logger.warning('skipping %s: not mounted or not a '
                                        'directory', dev['device'])
                    continue
                entry = by_device.setdefault(dev['device'], (dev, path, []))
                entry[2].append((policy_index, ring, dev))
        return [by_device[name] for name in sorted(by_device)]

    def _known_policies(self):
        """The replication policies of objstore.conf, deprecated ones
        too: their containers still hold objects."""
        return [p.index for p in self.policies
                if p.policy_type == REPLICATION]

    def _device_failed(self, item, exc):
        self.logger.error('replication of %s failed: %s', item[0]['device'],
                          exc, exc_info=exc)

    def replicate_device(self, dev, device_path, policy_rings,
                         partitions=None, once=False):
        """Replicate every partition of one device; write its status."""
        stats = DaemonStats()
        self.remove_stale_tmp(device_path, stats)
        jobs = []
        present = hashdir.policy_indexes(device_path, ondisk.OBJECTS)
        for policy_index, ring, ring_dev in policy_rings:
            if policy_index in present:
                jobs.extend(self.build_jobs(device_path, ring_dev,
                                            policy_index, ring, partitions))
        run_concurrently(lambda job: self.replicate_partition(job, stats),
                         jobs, self.daemon_conf.concurrency,
                         should_stop=lambda: self.stopping,
                         on_error=lambda job, exc: self._job_failed(
                             job, exc, stats))
        stats.finish()
        self.write_device_status(dev['device'], stats, once=once)
        return stats

    def remove_stale_tmp(self, device_path, stats):
        """Remove what a server killed mid-write left in ``<device>/tmp/``.

        Nothing else ever removes it. Older than ``reclaim_age`` (as Swift
        does), it is no live write's temp file.
        """
        removed = remove_tmp_older_than(device_path,
                                        self.daemon_conf.reclaim_age)
        if removed:
            stats.incr('tmp_files_removed', removed)
            self.logger.info('removed %d stale temp files from %s/%s',
                             removed, device_path, ondisk.TMP_DIR)

    def _job_failed(self, job, exc, stats):
        stats.incr('failures')
        self.logger.error('partition %s/%d (policy %d) failed: %s',
                          job.device, job.partition, job.policy_index, exc,
                          exc_info=exc)

    def _maybe_log_progress(self, stats):
        now = time.monotonic()
        if now - self._last_progress >= self.daemon_conf.stats_interval:
            self._last_progress = now
            self.logger.info('%s progress: %s', self.name,
                             stats.summary(SUMMARY_COUNTS))

    # -- one partition ---------------------------------------------------

    def local_hashes(self, job, recalculate=()):
        return hashes.get_hashes(job.device_path, job.partition, recalculate,
                                 job.policy_index,
                                 self.daemon_conf.reclaim_age)

    def replicate_partition(self, job, stats):
        """Sync one partition with its peers; True when all are in sync."""
        stats.incr('partitions')
        begin = time.monotonic()
        try:
            local = self.local_hashes(job)
        except LockTimeout as err:
            stats.incr('failures')
            self.logger.warning('%s: %s', job.partition_dir, err)
            return False
        if job.handoff and not local:
            self.remove_empty_partition(job, stats)
            return True
        if self._still_in_sync(job, local):
            stats.incr('unchanged')
            return True
        all_ok, confirmed, local = self._sync_with_peers(job, local, stats)
        self._remember_sync(job, local, all_ok)
        if job.handoff:
            if all_ok:
                self.remove_handoff(job, confirmed, local, stats)
            else:
                stats.incr('handoffs_kept')
        stats.add_time('partition', time.monotonic() - begin)
        self._maybe_log_progress(stats)
        return all_ok

    @staticmethod
    def _sync_key(job):
        return job.device, job.policy_index, job.partition

    def _still_in_sync(self, job, local):
        """True when every peer took this primary partition as it is now,
        and its sweep is not due."""
        entry = self._in_sync.get(self._sync_key(job))
        if entry is None or job.handoff:
            return False
        peers, fingerprint_then, until = entry
        return (peers == tuple(node['id'] for node in job.peers) and
                self.clock() < until and
                hashes_fingerprint(local) == fingerprint_then)

    def _remember_sync(self, job, local, all_ok):
        sweep = self.daemon_conf.full_sweep_interval
        key = self._sync_key(job)
        if job.handoff or not all_ok or sweep <= 0:
            self._in_sync.pop(key, None)
            return
        until = self.clock() + random.uniform(0.5, 1.0) * sweep
        self._in_sync[key] = (tuple(node['id'] for node in job.peers),
                              hashes_fingerprint(local), until)

    def _sync_with_peers(self, job, local, stats):
        """Push to every peer.

        Returns (all peers took it, {suffix: hash} that every peer took,
        the final local hashes). A suffix whose local hash changed between
        two peers is in no peer's confirmed set.
        """
        peers = list(job.peers)
        handoffs = None
        all_ok = True
        used = []
        while peers:
            peer = peers.pop(0)
            outcome, local = self.sync_peer(job, peer, local, stats)
            if outcome == HTTP_INSUFFICIENT_STORAGE and not job.handoff:
                handoffs = handoffs or self._handoff_candidates(job)
                substitute = next(handoffs, None)
                if substitute is not None:
                    peers.append(substitute)
            if outcome is True:
                used.append(dict(local))
            else:
                all_ok = False
        stats.incr('successes' if all_ok else 'failures')
        confirmed = {suffix: value for suffix, value in local.items()
                     if all(u.get(suffix) == value for u in used)}
        return all_ok, confirmed, local

    def _handoff_candidates(self, job):
        taken = {node['id'] for node in job.peers} | {job.local_dev['id']}
        return (node for node in job.ring.get_more_nodes(job.partition)
                if node['id'] not in taken)

    def _replicate_request(self, job, peer, suffixes=()):
        """(status, hashes or None) of a REPLICATE to ``peer``."""
        path = '/%s/%d' % (peer['device'], job.partition)
        if suffixes:
            path += '/' + '-'.join(suffixes)
        ip = peer.get('replication_ip') or peer['ip']
        port = peer.get('replication_port') or peer['port']
        conf = self.daemon_conf
        try:
            with green.Timeout(conf.conn_timeout + conf.http_timeout):
                status, _headers, body = self._http(
                    ip, port, 'REPLICATE', path,
                    {POLICY_HEADER: str(job.policy_index)},
                    conn_timeout=conf.conn_timeout,
                    node_timeout=conf.http_timeout)
        except (Exception, green.Timeout) as err:  # noqa: BLE001 - any
            # network or protocol failure means "this peer, not now".
            self.logger.warning('REPLICATE %s:%s%s failed: %s', ip, port,
                                path, err)
            return None, None
        if not is_success(status):
            self.logger.warning('REPLICATE %s:%s%s answered %s', ip, port,
                                path, status)
            return status, None
        try:
            remote = json.loads(body.decode('utf-8'))
        except (UnicodeDecodeError, ValueError):
            self.logger.warning('REPLICATE %s:%s%s: unreadable hashes', ip,
                                port, path)
            return status, None
        if not isinstance(remote, dict):
            return status, None
        return status, remote

    def sync_peer(self, job, peer, local, stats):
        """Bring one peer up to date with ``local``.

        Returns (outcome, local hashes): outcome True when the peer has
        everything we have, else the failing status (507, None...).
        """
        status, remote = self._replicate_request(job, peer)
        if remote is None:
            return status, local
        suffixes = differing_suffixes(local, remote)
        if suffixes:
            # Our cached hashes may be stale; rehash just these before
            # paying for an rsync.
            local = self.local_hashes(job, recalculate=suffixes)
            suffixes = differing_suffixes(local, remote)
        if not suffixes:
            stats.incr('hashmatches')
            return True, local
        if not self._rsync_suffixes(job, peer, suffixes, stats):
            return 'rsync', local
        status, _rehashed = self._replicate_request(job, peer, suffixes)
        if not status or not is_success(status):
            return status, local
        stats.incr('suffixes_synced', len(suffixes))
        return True, local

    def _rsync_suffixes(self, job, peer, suffixes, stats):
        settings = self.rsync_settings
        argv = build_rsync_command(
            job.device_path, [job.suffix_relpath(s) for s in suffixes],
            rsync_destination(settings.module, peer), settings)
        result = self._rsync(argv, settings.deadline)
        stats.incr('rsyncs')
        stats.add_time('rsync', result.duration)
        if not result.ok:
            self.logger.error('rsync of %s/%d to %s:%s failed (%s): %s',
                              job.device, job.partition, peer['ip'],
                              peer['device'], result.meaning,
                              result.output.strip()[-500:])
            return False
        stats.incr('files_sent', result.files_sent)
        self.logger.debug('rsynced %d suffixes (%d files) of %s/%d to %s/%s',
                          len(suffixes), result.files_sent, job.device,
                          job.partition, peer['ip'], peer['device'])
        return True

    # -- handoff removal -------------------------------------------------

    def remove_handoff(self, job, confirmed, local, stats):
        """Remove the handoff copy every primary took (see invariants)."""
        kept = 0
        for suffix, value in sorted(local.items()):
            if confirmed.get(suffix) != value or \
                    not self._remove_suffix_if_unchanged(job, suffix, value):
                kept += 1
        if kept:
            stats.incr('handoffs_kept')
            self.logger.info('%s/%d: %d suffixes changed during sync; kept '
                             'for the next pass', job.device, job.partition,
                             kept)
            return
        if self.remove_empty_partition(job, stats):
            self.logger.info('removed handoff partition %s/%d (policy %d)',
                             job.device, job.partition, job.policy_index)

    def _remove_suffix_if_unchanged(self, job, suffix, confirmed):
        suffix_dir = os.path.join(job.partition_dir, suffix)
        reclaim_age = self.daemon_conf.reclaim_age
        before = hashes.hash_suffix(suffix_dir, reclaim_age)
        listing = {obj_hash: ondisk.classify_files(
            hashdir.listdir(os.path.join(suffix_dir, obj_hash))).kept
            for obj_hash in hashdir.list_hash_dirs(suffix_dir)}
        after = hashes.hash_suffix(suffix_dir, reclaim_age)
        if not before == after == confirmed:
            return False
        for obj_hash, names in listing.items():
            hash_dir = os.path.join(suffix_dir, obj_hash)
            for name in names:
                try:
                    os.unlink(os.path.join(hash_dir, name))
                except FileNotFoundError:
                    pass
            hashdir.remove_dir_if_empty(hash_dir)
        hashdir.remove_dir_if_empty(suffix_dir)
        if os.path.isdir(suffix_dir):
            hashes.invalidate_hash(suffix_dir)
            return False
        return True

    def remove_empty_partition(self, job, stats):
        """Remove a handoff partition dir that holds no suffix any more."""
        if hashdir.remove_partition_if_empty(job.partition_dir):
            stats.incr('handoffs_removed')
            return True
        return False


def main(argv=None):
    return run_daemon(ObjectReplicator, argv)


if __name__ == '__main__':
    raise SystemExit(main())
