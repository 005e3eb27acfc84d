"""The object expirer: deletes objects whose X-Delete-At has passed.

Owns working through the per-device expirer queue
(``<device>/expiring[-N]/<delete_at>/<hash>``, format and invariants in
``objstore.object.expiring``): for each entry that is due, if the local
object's current metadata still carries that ``X-Delete-At``, it writes a
tombstone whose timestamp is the delete-at time, tells the container
replicas (``DELETE`` row with that timestamp; an async pending for the
object-updater when one is down), then removes the queue entry. It must
not touch other nodes' disks and does not decide what "expired" means for
reads: the DiskFile layer already hides an expired object (404).

Why a local queue is sound (instead of Swift's hidden expiring-objects
account, which needs its own container DBs, their replication, and
cross-node DELETEs):

- Same outcome everywhere without coordination. Every replica that took
  the PUT/POST through the object server has its own entry on the same
  device; each node's expirer deletes its own copy with the same tombstone
  timestamp (``delete_at``), so replicas converge on byte-identical state
  (same file names, same suffix hashes) and replication has nothing to do.
- Copies that arrived by replication (handoff pushed home, repair of a
  missed write) have no entry; the object auditor adds one when it finds
  an object with ``X-Delete-At`` and no entry. Until then such a copy is
  still hidden from reads, and the tombstone of any queued replica reaches
  it by replication anyway (newest wins).
- Stale entries are harmless: the metadata is re-read and only an object
  whose ``X-Delete-At`` equals the entry's is deleted. A later POST that
  moved or removed ``X-Delete-At``, or an overwrite, leaves it alone. A
  handoff copy that was moved away finds nothing and drops its entry.
- The listing converges by timestamp: the container DELETE row carries
  ``delete_at``, older than any later re-PUT of the name, so a newer row
  wins the container's merge whichever arrives first.
- No hidden account means no hot container DBs and no traffic between
  expirers; the cost is one small file per expiring object per replica.
"""

import dataclasses
import os
import time
import uuid

from objstore.common import green
from objstore.common.backend_client import direct_request
from objstore.common.daemon import (
    Daemon, DaemonStats, RateLimiter, run_concurrently, run_daemon)
from objstore.common.exceptions import (
    ConfigError, DiskFileDeleted, DiskFileError, DiskFileExpired,
    DiskFileNotExist, LockTimeout)
from objstore.common.hashing import load_hash_conf
from objstore.common.http_basics import POLICY_HEADER, is_success
from objstore.common.row_update import RowUpdateClient, make_host
from objstore.common.timestamp import Timestamp
from objstore.object import asyncpending, expiring, hashdir, ondisk
from objstore.object.diskfile import DiskFileManager, DiskFileSettings
from objstore.object.updater import ContainerUpdateDaemonConf
from objstore.ring.ring import Ring

SUMMARY_COUNTS = ('due', 'expired', 'stale', 'failures',
                  'container_failures')


@dataclasses.dataclass(frozen=True)
class ObjectExpirerConf(ContainerUpdateDaemonConf):
    """Options of [object-expirer] (DaemonConf's come from [DEFAULT])."""

    concurrency: int = 4
    tasks_per_second: float = 50.0

    def validate(self):
        super().validate()
        if self.tasks_per_second < 0:
            raise ConfigError('tasks_per_second must be >= 0')


def tombstone_timestamp(delete_at, data_timestamp):
    """The timestamp of the expiry tombstone.

    ``delete_at`` itself, so every replica writes the same file name. Only
    if the data is not older than that (a clock-skewed write) does the
    tombstone take the data's time plus one offset tick, which every
    replica of that data also computes alike.

    >>> tombstone_timestamp(1700000100, Timestamp('1700000000')).internal
    '1700000100.00000'
    >>> tombstone_timestamp(1700000000, Timestamp('1700000000')).internal
    '1700000000.00000_0000000000000001'
    """
    stamp = Timestamp(delete_at)
    if data_timestamp is not None and data_timestamp >= stamp:
        return Timestamp(data_timestamp, offset=1)
    return stamp


class ObjectExpirer(Daemon):
    """``objstore-object-expirer``.

    ``container_ring``, ``hash_conf``, ``http`` and ``clock``/``sleep``
    may be injected by tests; otherwise they come from ``conf_dir``.
    """

    name = 'object-expirer'
    first_pass_jitter = True
    conf_class = ObjectExpirerConf

    def __init__(self, conf, logger=None, container_ring=None,
                 hash_conf=None, http=direct_request, clock=time.monotonic,
                 sleep=green.sleep, now=time.time):
        super().__init__(conf, logger)
        dconf = self.daemon_conf
        self.container_ring = container_ring or Ring(dconf.conf_dir,
                                                     'container')
        self.mgr = DiskFileManager(DiskFileSettings(
            devices=dconf.devices, mount_check=dconf.mount_check,
            hash_conf=hash_conf or load_hash_conf(dconf.conf_dir)),
            self.logger)
        self.row_updates = RowUpdateClient(
            self.logger, dconf.conn_timeout, dconf.node_timeout,
            request=http)
        self._clock = clock
        self._sleep = sleep
        self._now = now

    def run_once(self, devices=None, once=False, **_kw):
        return self.run_local_device_pass(devices, self.expire_device,
                                          SUMMARY_COUNTS, once)

    def expire_device(self, device, once=False):
        """Handle every due entry of one device; write its status."""
        stats = DaemonStats()
        device_path = os.path.join(self.daemon_conf.devices, device)
        limiter = RateLimiter(self.daemon_conf.tasks_per_second,
                              clock=self._clock, sleep=self._sleep)
        now = self._now()
        for policy_index in hashdir.policy_indexes(device_path,
                                                   ondisk.EXPIRING):
            run_concurrently(
                lambda item: self.handle_entry(device, device_path,
                                               policy_index, item, limiter,
                                               stats),
                expiring.iter_expired(device_path, policy_index, now),
                self.daemon_conf.concurrency,
                should_stop=lambda: self.stopping,
                on_error=lambda item, exc: self._failed(item, exc, stats))
        stats.finish()
        self.write_device_status(device, stats, once)
        return stats

    def _failed(self, item, exc, stats):
        stats.incr('failures')
        self.logger.error('expiring %s failed: %s', item[0], exc,
                          exc_info=exc)

    def handle_entry(self, device, device_path, policy_index, item, limiter,
                     stats):
        path, entry = item
        stats.incr('due')
        if entry is None:
            self.logger.warning('removing unreadable expirer entry %s', path)
            expiring.remove_entry(path)
            stats.incr('stale')
            return
        limiter.wait()
        obj_hash = os.path.basename(path)
        try:
            expired = self.expire_object(device, entry, obj_hash)
        except (DiskFileError, OSError, LockTimeout) as err:
            stats.incr('failures')
            self.logger.error('cannot expire /%s/%s/%s: %s',
                              entry['account'], entry['container'],
                              entry['obj'], err)
            return
        if expired is None:
            stats.incr('stale')
        else:
            stats.incr('expired')
            if not self.update_containers(device_path, obj_hash, entry,
                                          expired):
                stats.incr('container_failures')
        expiring.remove_entry(path)

    def expire_object(self, device, entry, obj_hash):
        """Tombstone the local object if the entry still applies.

        Returns the tombstone Timestamp, or None for a stale entry.
        """
        df = self.mgr.get_diskfile(device, entry['partition'],
                                   entry['account'], entry['container'],
                                   entry['obj'], entry['policy_index'])
        if df.hash != obj_hash:
            raise DiskFileError('entry %s names an object hashing to %s; '
                                'wrong hash prefix/suffix?'
                                % (obj_hash, df.hash))
        try:
            metadata = df.open()
        except DiskFileExpired as err:
            metadata = err.metadata
        except (DiskFileDeleted, DiskFileNotExist):
            return None
        finally:
            df.close()
        if metadata.get('X-Delete-At') != str(entry['delete_at']):
            return None
        stamp = tombstone_timestamp(entry['delete_at'], df.data_timestamp)
        df.delete(stamp)
        return stamp

    def update_containers(self, device_path, obj_hash, entry, stamp):
        """DELETE the listing row on every container replica; an async
        pending for those that fail. True when all took it.

        ``obj_hash`` is the entry's, which ``expire_object`` checked."""
        part, nodes = self.container_ring.get_nodes(entry['account'],
                                                    entry['container'])
        headers = {'X-Timestamp': stamp.internal,
                   'X-Trans-Id': 'tx' + uuid.uuid4().hex,
                   POLICY_HEADER: str(entry['policy_index'])}
        path_tail = '/%s/%s/%s' % (entry['account'], entry['container'],
                                   entry['obj'])
        failed = [node for node in nodes
                  if not self._delete_row(node, part, path_tail, headers)]
        if not failed:
            return True
        update = asyncpending.make_update(
            'DELETE', entry['account'], entry['container'], entry['obj'],
            headers, entry['policy_index'],
            [{'host': make_host(node['ip'], node['port']),
              'partition': str(part), 'device': node['device']}
             for node in failed])
        asyncpending.write_async_pending(device_path, obj_hash, update)
        return False

    def _delete_row(self, node, part, path_tail, headers):
        path = '/%s/%s%s' % (node['device'], part, path_tail)
        status = self.row_updates.send(node['ip'], node['port'], 'DELETE',
                                       path, headers)
        return status is not None and is_success(status)


def main(argv=None):
    return run_daemon(ObjectExpirer, argv)


if __name__ == '__main__':
    raise SystemExit(main())
