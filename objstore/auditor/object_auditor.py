"""The object auditor: finds corrupt object files and quarantines them.

Owns the walk over every object of this node's devices, in two passes:

- fast pass (``zero_byte_files_per_second``): open each object: its
  metadata must be readable, name it, and agree with the file size. This
  catches the usual crash damage (zero-byte or truncated ``.data``,
  missing or garbled metadata) quickly, without reading bodies.
- full pass (``files_per_second``, ``bytes_per_second``): re-read every
  body and compare its size and checksum with the metadata: the CRC32C
  stored at PUT (a tenth of the CPU of MD5 per pass), or the MD5 (ETag)
  of an object stored before CRC32Cs were (DiskFileReader decides).

A bad object is moved to ``<device>/quarantined/objects[-N]/<hash>/`` by
the DiskFile layer, which also invalidates the suffix hash, so the next
replication pass sees the suffix differ and a good replica is pushed back
(DESIGN.md, "Consistency machinery"). The auditor never repairs data
itself and never talks to other nodes. It walks while the server writes
and rsync delivers: a file a newer write replaced under it, or one whose
sidecar rsync has not delivered yet, is not damage, and DiskFile.open()
passes it over (DiskFileNotExist) instead of quarantining.

Two chores ride on the walk because it already opens every object:

- a tombstone older than ``reclaim_age`` sits in a suffix whose cached
  hash never changes, so nothing would rehash (and reclaim) it; the
  auditor cleans the hash dir and invalidates the suffix.
- an object carrying ``X-Delete-At`` gets an expirer queue entry on this
  device if it lacks one (replicas that arrived by rsync, not by PUT, have
  none), so the object-expirer of every node that holds it can act.
"""

import dataclasses
import os
import time

from objstore.common.daemon import (
    Daemon, DaemonConf, DaemonStats, RateLimiter, run_concurrently, run_daemon)
from objstore.common.exceptions import (
    ConfigError, DiskFileDeleted, DiskFileError, DiskFileExpired,
    DiskFileNotExist, DiskFileQuarantined, LockTimeout)
from objstore.common.timestamp import Timestamp
from objstore.object import expiring, hashdir, hashes, ondisk
from objstore.object.diskfile import DiskFileManager, DiskFileSettings

FAST = 'fast'
FULL = 'full'
SUMMARY_COUNTS = ('fast_audited', 'full_audited', 'quarantines', 'errors',
                  'bytes', 'reclaimed', 'expirer_entries_added')


@dataclasses.dataclass(frozen=True)
class ObjectAuditorConf(DaemonConf):
    """Options of [object-auditor] (DaemonConf's come from [DEFAULT])."""

    files_per_second: float = 20.0
    bytes_per_second: float = 10000000.0
    zero_byte_files_per_second: float = 50.0
    concurrency: int = 1
    disk_chunk_size: int = 65536
    reclaim_age: int = ondisk.DEFAULT_RECLAIM_AGE
    stats_interval: float = 3600.0

    def validate(self):
        super().validate()
        for name in ('files_per_second', 'bytes_per_second',
                     'zero_byte_files_per_second'):
            if getattr(self, name) < 0:
                raise ConfigError('%s must be >= 0 (0 = unlimited)' % name)
        if self.concurrency < 1 or self.disk_chunk_size < 1:
            raise ConfigError('concurrency and disk_chunk_size must be >= 1')


def split_name(name):
    """'/a/c/o/with/slashes' -> ('a', 'c', 'o/with/slashes')."""
    parts = name.split('/', 3)
    if len(parts) != 4 or parts[0] or not all(parts[1:]):
        raise ValueError('not an object name: %r' % name)
    return parts[1], parts[2], parts[3]


class ObjectAuditor(Daemon):
    """``objstore-object-auditor``; ``mgr`` (a DiskFileManager) and
    ``clock`` may be injected by tests."""

    name = 'object-auditor'
    conf_class = ObjectAuditorConf

    def __init__(self, conf, logger=None, mgr=None, clock=time.monotonic,
                 sleep=None):
        super().__init__(conf, logger)
        dconf = self.daemon_conf
        self.mgr = mgr or DiskFileManager(DiskFileSettings(
            devices=dconf.devices, mount_check=dconf.mount_check,
            disk_chunk_size=dconf.disk_chunk_size,
            reclaim_age=dconf.reclaim_age), self.logger)
        self._clock = clock
        self._sleep = sleep

    def _limiter(self, files_per_second, bytes_per_second=0.0):
        kwargs = {'clock': self._clock}
        if self._sleep is not None:
            kwargs['sleep'] = self._sleep
        return RateLimiter(files_per_second, bytes_per_second, **kwargs)

    def run_once(self, devices=None, partitions=None, once=False, mode=None,
                 **_kw):
        """A fast pass then a full pass (or only ``mode``) over devices."""
        modes = (mode,) if mode else (FAST, FULL)
        total = DaemonStats()
        names = self.local_device_names(devices)
        results = run_concurrently(
            lambda name: self.audit_device(name, modes, partitions, once),
            names, self.daemon_conf.concurrency,
            should_stop=lambda: self.stopping, on_error=self._device_failed)
        for stats in results:
            total.merge(stats)
        total.finish()
        self.log_pass_summary(total, SUMMARY_COUNTS, len(names))
        return total

    def _device_failed(self, name, exc):
        self.logger.error('auditing %s failed: %s', name, exc, exc_info=exc)

    def audit_device(self, device, modes=(FAST, FULL), partitions=None,
                     once=False):
        """Run the passes over one device; write its status file."""
        stats = DaemonStats()
        for mode in modes:
            if self.stopping:
                break
            self._audit_pass(device, mode, partitions, stats)
            stats.incr('%s_passes' % mode)
        stats.finish()
        self.write_device_status(device, stats, once)
        return stats

    def _audit_pass(self, device, mode, partitions, stats):
        dconf = self.daemon_conf
        if mode == FAST:
            limiter = self._limiter(dconf.zero_byte_files_per_second)
        else:
            limiter = self._limiter(dconf.files_per_second,
                                    dconf.bytes_per_second)
        wanted = {str(p) for p in partitions} if partitions else None
        device_path = os.path.join(dconf.devices, device)
        last_progress = time.monotonic()
        for policy_index in hashdir.policy_indexes(device_path,
                                                   ondisk.OBJECTS):
            for location in self.mgr.iter_audit_locations(device,
                                                          policy_index):
                if self.stopping:
                    return
                if wanted is not None and location.partition not in wanted:
                    continue
                self.audit_location(location, mode, limiter, stats)
                if time.monotonic() - last_progress > dconf.stats_interval:
                    last_progress = time.monotonic()
                    self.logger.info('%s %s pass on %s: %s', self.name, mode,
                                     device, stats.summary(SUMMARY_COUNTS))

    def audit_location(self, location, mode, limiter, stats):
        """Check one hash dir; quarantine it when bad."""
        limiter.wait(items=1)
        df = self.mgr.get_diskfile_from_audit_location(location)
        try:
            metadata = df.open()
            self._ensure_expirer_entry(location, metadata, stats)
            if mode == FULL:
                self._read_all(df, limiter, stats)
            else:
                df.close()
            stats.incr('%s_audited' % mode)
        except DiskFileQuarantined as err:
            stats.incr('quarantines')
            self.logger.warning('quarantined %s: %s', location.path, err)
        except DiskFileExpired as err:
            self._ensure_expirer_entry(location, err.metadata, stats)
            stats.incr('%s_audited' % mode)
        except DiskFileDeleted as err:
            self._maybe_reclaim(location, err.timestamp, stats)
            stats.incr('%s_audited' % mode)
        except DiskFileNotExist:
            pass  # removed (or only a .meta) while we walked
        except (DiskFileError, OSError, LockTimeout) as err:
            stats.incr('errors')
            self.logger.error('cannot audit %s: %s', location.path, err)
        finally:
            df.close()

    def _read_all(self, df, limiter, stats):
        for chunk in df.reader():
            stats.incr('bytes', len(chunk))
            limiter.wait(items=0, nbytes=len(chunk))

    def _maybe_reclaim(self, location, timestamp, stats):
        reclaim_age = self.daemon_conf.reclaim_age
        if timestamp is None or float(timestamp) >= time.time() - reclaim_age:
            return
        hashdir.cleanup_ondisk_files(location.path, reclaim_age)
        hashes.invalidate_hash(os.path.dirname(location.path))
        stats.incr('reclaimed')

    def _ensure_expirer_entry(self, location, metadata, stats):
        delete_at = metadata.get('X-Delete-At')
        if not delete_at or not str(delete_at).isdigit():
            return
        device_path = self.mgr.device_path(location.device)
        path = expiring.entry_path(device_path, location.policy_index,
                                   int(delete_at), location.obj_hash)
        if os.path.exists(path):
            return
        try:
            account, container, obj = split_name(metadata.get('name', ''))
        except ValueError:
            return
        entry = expiring.make_entry(
            account, container, obj, location.partition, int(delete_at),
            Timestamp(metadata['X-Timestamp']).internal,
            location.policy_index)
        expiring.add_entry(device_path, location.obj_hash, entry)
        stats.incr('expirer_entries_added')


def main(argv=None):
    return run_daemon(ObjectAuditor, argv)


if __name__ == '__main__':
    raise SystemExit(main())
