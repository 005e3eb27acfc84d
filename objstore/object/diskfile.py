"""DiskFile: the object server's narrow interface to objects on local disks.

Owns the file operations of one object (open, read, write, POST metadata,
delete) over the layout of ``ondisk`` and the metadata format of
``metadata``. It raises ``objstore.common.exceptions`` types and never
builds HTTP responses; the server maps them. ``memdiskfile`` is its
in-memory twin with the same API.

API::

    mgr = DiskFileManager(DiskFileSettings(devices='/srv/node'), logger)
    df = mgr.get_diskfile(device, partition, account, container, obj,
                          policy_index)   # DiskFileDeviceUnavailable here,
                                          # or (mount_check off) from open()
                                          # and writes
    metadata = df.open(now=None)   # or DiskFileNotExist / DiskFileDeleted /
                                   # DiskFileExpired / DiskFileQuarantined /
                                   # DiskFileCollision
    for chunk in df.reader(): ...             # whole body, verified
    df.reader().iter_range(start, stop)       # one byte range
    df.reader().spans()                       # as iteration, and
    df.reader().range_spans(start, stop)      # iter_range, in FileSpans
                                              # (green) for sendfile
    with df.create(size) as writer:           # size None when unknown
        writer.write(chunk)
        writer.put(metadata)                  # durable when it returns
        writer.commit(timestamp)              # the write is complete
    df.write_metadata(metadata)               # a .meta (POST)
    df.delete(timestamp)                      # a .ts (DELETE)

For the replicator and auditor::

    mgr.device_path(device)                   # or DiskFileDeviceUnavailable
    mgr.get_hashes(device, partition, recalculate, policy_index)
    mgr.write_async_pending(device, obj_hash, update)  # for the server
    mgr.add_expiring_entry(device, obj_hash, entry)    # for the server
    mgr.iter_audit_locations(device, policy_index) -> AuditLocation...
    mgr.get_diskfile_from_audit_location(location) -> DiskFile (name unknown
        until open(), which reads it from the metadata)
    plus hashes.get_hashes / invalidate_hash / quarantine_files and
    hashdir.cleanup_ondisk_files / iter_hash_dirs.

Write order (the crash-safety invariant): the body goes to a temp file in
``<device>/tmp/<hash[0]>/``, missing dirs of the hash dir are created,
then metadata (xattrs or a sidecar also written there), fsync, rename the
sidecar and then the file into the hash dir, fsync the hash dir (and the
parent of any dir just created), and only then are older files of the hash
removed and the suffix hash invalidated. A crash at any point leaves the
old state or the new one visible, never a partial file: a partial body is
only ever in tmp/ (an empty new hash dir is all a crash before the rename
can leave there).

Two phases, ``put()`` then ``commit()``: for a replicated object the
.data is complete and durable once ``put()`` returns (any one replica is
the whole object), so ``commit()`` only checks that ``put()`` happened.
It is the step where an erasure-coded fragment archive will be marked
durable (``#d``) once the proxy knows enough fragments landed; the server
calls it for every policy type before acknowledging a PUT.

The body's bytes go in and out through ``diskfile_writer.DiskFileWriter``
(the write order above) and ``diskfile_reader.DiskFileReader``. Body
checksums: the writer computes the body's MD5 (the ETag) and its CRC32C,
and stores the CRC32C in the metadata (``body_checksum``, internal: never
sent to a client). A reader that reads the whole body checks it against
that CRC32C, which costs ~0.03 ms per MB where MD5 costs ~1.2, and
against the ETag (MD5) when the file has none: one written before
CRC32Cs were stored.
"""

import os
import shutil
import time
from dataclasses import dataclass

from objstore.common.exceptions import (
    DiskFileBadMetadata, DiskFileCollision, DiskFileDeleted,
    DiskFileDeviceUnavailable, DiskFileExpired, DiskFileNoSpace,
    DiskFileNotExist, DiskFileQuarantined)
from objstore.common import green
from objstore.common.offload import BatchedOffload
from objstore.common.durable import (
    fsync_dir, makedirs_durable, spread_subdirs)
from objstore.common.hashing import HashConf, hash_path
from objstore.common.timestamp import Timestamp
from objstore.object import (asyncpending, expiring, hashdir, hashes,
                             metadata as md, ondisk)
from objstore.object.body_checksum import CRC32C_KEY
from objstore.object.diskfile_reader import DiskFileReader
from objstore.object.diskfile_writer import DiskFileWriter

# Each retry follows a concurrent write or a file passed over as
# incomplete; a hash dir changing this often is answered as not found.
OPEN_RETRIES = 4
# rsync renames an owner into place before its sidecar (names sort that
# way) and a cut transfer sends the sidecar only in a later pass. An owner
# without its sidecar that changed this recently is such a transfer in
# flight, passed over by readers; an older one has lost its sidecar and is
# quarantined. Longer than one rsync run may stall (rsync_timeout).
SIDECAR_ARRIVAL_GRACE = 3600


@dataclass(frozen=True)
class DiskFileSettings:
    """What the DiskFile layer needs from the object server's config."""

    devices: str
    mount_check: bool = False
    disk_chunk_size: int = 262144
    reclaim_age: int = ondisk.DEFAULT_RECLAIM_AGE
    fallocate_reserve: int = 0
    hash_conf: HashConf = HashConf()
    sync_in_threads: bool = False


@dataclass(frozen=True)
class AuditLocation:
    """One hash dir found by walking a device."""

    device: str
    partition: str
    policy_index: int
    obj_hash: str
    path: str


class _FileReplaced(Exception):
    """A file opened was removed or replaced meanwhile: list again."""


class _SidecarNotArrived(Exception):
    """``name`` is an owner whose sidecar is still on its way."""

    def __init__(self, name):
        super().__init__(name)
        self.name = name


def _changed_since(fd, when):
    """True when the open file was written or renamed after ``when``."""
    stat = os.fstat(fd)
    return max(stat.st_mtime, stat.st_ctime) > when


class DiskFileManager:
    """Hands out DiskFiles for the devices under ``settings.devices``."""

    def __init__(self, settings, logger=None):
        self.settings = settings
        self.logger = logger
        self._offload = BatchedOffload()
        # (device path, policy index) pairs spread_object_dirs has done.
        self._spread = set()

    def device_path(self, device):
        """The device's root, or DiskFileDeviceUnavailable (-> 507)."""
        path = self._device_root(device)
        if self.settings.mount_check and not os.path.ismount(path):
            raise DiskFileDeviceUnavailable('%s is not mounted' % path)
        if not os.path.isdir(path):
            raise DiskFileDeviceUnavailable('%s is not a directory' % path)
        return path

    def request_device_path(self, device):
        """The device root of a request's DiskFile: checked as
        ``device_path`` checks it when mount_check is on (Swift's
        behaviour); else only its name is, here, and the DiskFile looks
        for the directory when its hash dir is missing or it writes
        (``DiskFile.require_device``): a request that finds its hash dir
        has seen the device, and a stat per request is saved."""
        if self.settings.mount_check:
            return self.device_path(device)
        return self._device_root(device)

    def _device_root(self, device):
        """Where ``device`` lives; DiskFileDeviceUnavailable for a name
        that is no device's."""
        if not device or '/' in device or device in ('.', '..'):
            raise DiskFileDeviceUnavailable('bad device name %r' % device)
        return os.path.join(self.settings.devices, device)

    def get_diskfile(self, device, partition, account, container, obj,
                     policy_index=0):
        name = '/%s/%s/%s' % (account, container, obj)
        obj_hash = hash_path(account, container, obj,
                             hash_conf=self.settings.hash_conf)
        return DiskFile(self, self.request_device_path(device), partition,
                        obj_hash, int(policy_index), name)

    def spread_object_dirs(self, device_path, policy_index):
        """Have the filesystem place the partition dirs of ``objects[-N]``
        and the temp subdirs (``ondisk.temp_dir_relpath``) apart from each
        other (``durable.spread_subdirs``); once per device and process.

        Each new dir, and each file made in it, then takes its inode from
        its own part of the disk, and each deletion frees one there: no
        part holds so many recently freed inodes that every creation has
        to pass them over. Creates the two dirs when missing.
        """
        if (device_path, policy_index) in self._spread:
            return
        for relpath in (ondisk.policy_dir(ondisk.OBJECTS, policy_index),
                        ondisk.TMP_DIR):
            path = os.path.join(device_path, relpath)
            makedirs_durable(path)
            spread_subdirs(path)
        self._spread.add((device_path, policy_index))

    def iter_audit_locations(self, device, policy_index=0):
        device_path = self.device_path(device)
        for partition, _suffix, obj_hash, path in hashdir.iter_hash_dirs(
                device_path, policy_index):
            yield AuditLocation(device, partition, int(policy_index),
                                obj_hash, path)

    def get_diskfile_from_audit_location(self, location):
        return DiskFile(self, self.device_path(location.device),
                        location.partition, location.obj_hash,
                        location.policy_index, name=None)

    def get_hashes(self, device, partition, recalculate=(), policy_index=0):
        return hashes.get_hashes(self.device_path(device), partition,
                                 recalculate, policy_index,
                                 self.settings.reclaim_age)

    def run_blocking(self, func, *args, device_path=None):
        """Call ``func`` (fsyncs) in a native thread when configured;
        ``device_path``: the disk it waits on (calls for one disk share
        trips, and a hung disk holds up only its own).

        A blocking fsync stalls every request of an eventlet worker; in a
        thread the others run on and concurrent fsyncs share journal
        commits; calls made meanwhile share one trip to the thread
        (``BatchedOffload``). Only in a monkey-patched server process:
        in-process test servers run one hub per OS thread, which
        eventlet's thread pool cannot wake.
        """
        if self.settings.sync_in_threads and green.is_monkey_patched():
            return self._offload(device_path, func, *args)
        return func(*args)

    def write_async_pending(self, device, obj_hash, update):
        """Store a container update for the updater (asyncpending format)."""
        device_path = self.device_path(device)
        return self.run_blocking(asyncpending.write_async_pending,
                                 device_path, obj_hash, update,
                                 device_path=device_path)

    def read_pending_update(self, device, obj_hash, timestamp,
                            policy_index=0):
        """The async pending of the write at ``timestamp``, or None."""
        path = asyncpending.pending_path(self.device_path(device), obj_hash,
                                         timestamp, policy_index)
        try:
            return asyncpending.read_async_pending(path)
        except (FileNotFoundError, ValueError):
            return None

    def remove_pending_update(self, device, obj_hash, timestamp,
                              policy_index=0):
        asyncpending.remove_async_pending(asyncpending.pending_path(
            self.device_path(device), obj_hash, timestamp, policy_index))

    def add_expiring_entry(self, device, obj_hash, entry):
        """Queue an object for the expirer (expiring format)."""
        device_path = self.device_path(device)
        return self.run_blocking(expiring.add_entry, device_path, obj_hash,
                                 entry, device_path=device_path)

    def check_free_space(self, device_path, size):
        """DiskFileNoSpace when writing ``size`` bytes would eat into the
        operator's ``fallocate_reserve``.

        Without a reserve there is nothing to ask the disk (one statfs a
        write, as Swift): a body larger than the free space is refused by
        the writer's fallocate, a chunked one by its writes, with the same
        DiskFileNoSpace.
        """
        if self.settings.fallocate_reserve <= 0:
            return
        stats = os.statvfs(device_path)
        free = stats.f_bavail * stats.f_frsize
        if free - (size or 0) < self.settings.fallocate_reserve:
            raise DiskFileNoSpace('%s: %d bytes free, %s wanted, %d reserved'
                                  % (device_path, free, size,
                                     self.settings.fallocate_reserve))


class BaseDiskFile:
    """The metadata accessors DiskFile and its in-memory twin share.

    A subclass's ``open()`` sets ``_metadata`` (data merged with POST
    metadata) and ``_data_metadata`` (the data file's own).
    """

    @property
    def metadata(self):
        if self._metadata is None:
            raise DiskFileNotExist('open() the DiskFile first')
        return self._metadata

    # X-Timestamp text -> Timestamp, made on first use per instance: one
    # answer reads these timestamps several times (ordering, Last-Modified,
    # X-Timestamp, X-Backend-*), and each parse is a regex and a float.
    _parsed_timestamps = None

    @property
    def timestamp(self):
        """Newest of data and POST timestamps."""
        return self._timestamp_of(self.metadata)

    @property
    def data_timestamp(self):
        return self._timestamp_of(self._data_metadata)

    def _timestamp_of(self, metadata):
        text = metadata['X-Timestamp']
        if self._parsed_timestamps is None:
            self._parsed_timestamps = {}
        stamp = self._parsed_timestamps.get(text)
        if stamp is None:
            stamp = self._parsed_timestamps[text] = Timestamp(text)
        return stamp

    @property
    def data_metadata(self):
        """The data file's own metadata (no POST applied)."""
        if self._data_metadata is None:
            raise DiskFileNotExist('open() the DiskFile first')
        return self._data_metadata

    @property
    def content_length(self):
        return int(self.metadata['Content-Length'])

    @property
    def etag(self):
        return self.metadata['ETag']


class DiskFile(BaseDiskFile):
    """One object (one hash dir) on one device. Not thread-safe."""

    def __init__(self, manager, device_path, partition, obj_hash,
                 policy_index, name):
        self.manager = manager
        self.device_path = device_path
        self.partition = str(partition)
        self.policy_index = policy_index
        self.hash = obj_hash
        self.name = name
        self.hash_dir = os.path.join(device_path, ondisk.hash_dir_relpath(
            policy_index, partition, obj_hash))
        self._metadata = None
        self._data_metadata = None
        self._data_path = None
        self._fd = None
        # The hash dir's names as open() last listed them, for the cleanup
        # after this DiskFile's next write (``_names_after_write``).
        self._listed = None
        # Whether the device dir is known to be there (require_device).
        self._device_seen = manager.settings.mount_check

    @property
    def tmp_dir(self):
        """Where writes of this object make their temp files (a read
        does not need it: made on use)."""
        return os.path.join(self.device_path,
                            ondisk.temp_dir_relpath(self.hash))

    # -- reading ---------------------------------------------------------

    def open(self, now=None):
        """Load the current state; return its metadata dict.

        Keeps the data file open, so a reader started later reads these
        bytes even if a newer PUT or a DELETE lands meanwhile. A reader
        must never quarantine what a concurrent writer just made: when a
        file turns out bad, it is quarantined only if it is still the very
        file that was opened (else the hash dir is listed again), and a
        file whose sidecar has not arrived yet is passed over, not judged.
        """
        now = time.time() if now is None else now
        self.close()
        incomplete = set()
        for _attempt in range(OPEN_RETRIES):
            self._listed = hashdir.listdir(self.hash_dir)
            if self._listed:
                self._device_seen = True
            else:
                # Not here, or no device: a 404 or a 507.
                self.require_device()
            names = [name for name in self._listed if name not in incomplete]
            try:
                return self._open_file_set(ondisk.classify_files(names), now)
            except (FileNotFoundError, _FileReplaced):
                self.close()
            except _SidecarNotArrived as err:
                self.close()
                incomplete.add(err.name)
        raise DiskFileNotExist('%s kept changing while opened' % self.hash_dir)

    def require_device(self):
        """DiskFileDeviceUnavailable (-> 507) unless the device dir is
        there: before a write creates anything under it (never a missing
        device's dir anew), and for a hash dir not found. Once per
        DiskFile, and never after a listing found the hash dir."""
        if self._device_seen:
            return
        if not os.path.isdir(self.device_path):
            raise DiskFileDeviceUnavailable('%s is not a directory'
                                            % self.device_path)
        self._device_seen = True

    def _open_file_set(self, file_set, now):
        if file_set.tombstone:
            raise DiskFileDeleted(*self._tombstone_info(file_set.tombstone))
        if not file_set.data:
            raise DiskFileNotExist(self.hash_dir)
        self._data_path = os.path.join(self.hash_dir, file_set.data)
        self._fd = os.open(self._data_path, os.O_RDONLY)
        self._data_metadata = self._read_owner(file_set.data, self._fd, now)
        self._check_name(self._data_metadata)
        self._check_size(self._data_metadata)
        merged = dict(self._data_metadata)
        if file_set.meta:
            merged = md.merge_post_metadata(
                self._data_metadata, self._read_meta_file(file_set.meta, now))
        self._metadata = merged
        if md.is_expired(merged, now):
            self.close()
            raise DiskFileExpired(merged)
        return merged

    def _tombstone_info(self, name):
        stamp = ondisk.parse_filename(name).timestamp
        try:
            meta = md.read_metadata(os.path.join(self.hash_dir, name))
        except (DiskFileBadMetadata, OSError):
            meta = {}
        return stamp, meta

    def _read_meta_file(self, name, now):
        fd = os.open(os.path.join(self.hash_dir, name), os.O_RDONLY)
        try:
            return self._read_owner(name, fd, now)
        finally:
            os.close(fd)

    def _read_owner(self, name, fd, now):
        """The metadata of ``name``, open as ``fd``; bad metadata is
        believed only once ``name`` is seen to still be that file."""
        path = os.path.join(self.hash_dir, name)
        try:
            return md.read_metadata(path, fd)
        except DiskFileBadMetadata as err:
            self._require_same_file(name, fd)
            if isinstance(err, md.SidecarMissing) and _changed_since(
                    fd, now - SIDECAR_ARRIVAL_GRACE):
                raise _SidecarNotArrived(name)
            self._quarantine(name, 'bad metadata in %s: %s' % (path, err))

    def _same_file(self, name, fd):
        """True when ``name`` in the hash dir is still the file of ``fd``."""
        try:
            on_disk = os.stat(os.path.join(self.hash_dir, name))
        except FileNotFoundError:
            return False
        opened = os.fstat(fd)
        return ((on_disk.st_dev, on_disk.st_ino) ==
                (opened.st_dev, opened.st_ino))

    def _require_same_file(self, name, fd):
        if not self._same_file(name, fd):
            raise _FileReplaced(name)

    def _check_name(self, meta):
        stored = meta.get('name')
        if not stored or 'X-Timestamp' not in meta:
            self._quarantine_opened('metadata of %s lacks name or '
                                    'X-Timestamp' % self._data_path)
        if self.name is None:
            self.name = stored
        elif stored != self.name:
            self.close()
            raise DiskFileCollision('%s holds %r, not %r'
                                    % (self.hash_dir, stored, self.name))

    def _check_size(self, meta):
        size = os.fstat(self._fd).st_size
        if str(size) != meta.get('Content-Length'):
            self._quarantine_opened('%s is %d bytes, metadata says %s'
                                    % (self._data_path, size,
                                       meta.get('Content-Length')))

    def _quarantine_opened(self, reason):
        """In open(): quarantine the data file, unless a newer write
        replaced it meanwhile (then the hash dir is listed again)."""
        name = os.path.basename(self._data_path)
        self._require_same_file(name, self._fd)
        self._quarantine(name, reason)

    def quarantine_read(self, fd, reason):
        """The body read through ``fd`` is corrupt: quarantine that data
        file and raise DiskFileQuarantined; DiskFileNotExist instead when a
        newer write has already replaced it (there is nothing to move)."""
        name = os.path.basename(self._data_path)
        if not self._same_file(name, fd):
            raise DiskFileNotExist('%s was replaced while read; the copy '
                                   'read was bad: %s' % (self._data_path,
                                                         reason))
        self._quarantine(name, reason)

    def _quarantine(self, name, reason):
        """Move ``name`` (and what goes with it, ``ondisk.quarantine_names``)
        to quarantine and raise DiskFileQuarantined."""
        self.close()
        names = ondisk.quarantine_names(hashdir.listdir(self.hash_dir), name)
        target = hashes.quarantine_files(self.device_path, self.hash_dir,
                                         names, self.policy_index)
        if self.manager.logger:
            self.manager.logger.warning('Quarantined %s of %s to %s: %s',
                                        ', '.join(names), self.hash_dir,
                                        target, reason)
        raise DiskFileQuarantined(reason)

    def reader(self):
        """A DiskFileReader over the opened data file (takes the fd)."""
        if self._fd is None:
            raise DiskFileNotExist('open() the DiskFile first')
        fd, self._fd = self._fd, None
        return DiskFileReader(self, fd, self.content_length, self.etag,
                              self.manager.settings.disk_chunk_size,
                              crc=self.metadata.get(CRC32C_KEY))

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- writing ---------------------------------------------------------

    # EC archives are judged by their durable marks too: their cleanup
    # always lists the hash dir afresh.
    cleans_from_listing = True

    def _names_after_write(self, filename):
        """The hash dir's names once ``filename`` was renamed in, as the
        open() before the write listed them (None: list them again); for
        the cleanup that follows each write, and forgotten by it.

        A write follows an open() (the server orders it against what the
        node holds), and listing the dir again would cost a DELETE or PUT
        seven syscalls. A listing that is stale (a concurrent write landed
        meanwhile) is safe: it can only lack names, so the cleanup leaves
        some obsolete file to the next cleanup or the replicator's; a
        name it judges obsolete is older than a file it saw, which no
        write removes but a newer one (a file gone already is skipped).
        """
        listed, self._listed = self._listed, None
        if listed is None or not self.cleans_from_listing:
            return None
        return listed + [filename]

    def create(self, size=None):
        """A DiskFileWriter; use it as a context manager."""
        return DiskFileWriter(self, size)

    def write_metadata(self, metadata):
        """Write a .meta holding ``metadata`` (POST), durably."""
        meta = dict(metadata)
        meta['name'] = self.name
        self._write_empty_file(ondisk.META_EXT, meta)

    def delete(self, timestamp):
        """Write a .ts tombstone at ``timestamp``, durably."""
        meta = {'name': self.name,
                'X-Timestamp': Timestamp(timestamp).internal}
        self._write_empty_file(ondisk.TOMBSTONE_EXT, meta)

    def plan_cleanup(self, filename):
        """The verdict (ondisk.FileSet) on the hash dir once the write of
        ``filename`` is renamed in, judged from the names open() listed
        (``_names_after_write``); None when the dir must be listed again
        after the rename. For the writer, which removes the obsolete
        files in the native-thread trip of its fsyncs."""
        names = self._names_after_write(filename)
        if names is None:
            return None
        return ondisk.classify_files(
            names, self.manager.settings.reclaim_age, time.time())

    def cleanup_after_write(self, planned):
        """Mark the suffix of a write for rehashing, once what the write
        made obsolete is gone: removed by the writer already when it had a
        ``planned`` verdict (``plan_cleanup``), else removed here from a
        fresh listing."""
        if planned is None:
            hashdir.cleanup_ondisk_files(self.hash_dir,
                                         self.manager.settings.reclaim_age)
        hashes.invalidate_hash(os.path.dirname(self.hash_dir))

    def withdraw(self, timestamp):
        """Remove the .data written at ``timestamp`` while it is still the
        object's newest data or tombstone; whether it was removed.

        A conditional PUT that failed its quorum takes back what the few
        nodes that accepted it stored (the proxy's rollback): left there,
        a newer timestamp would let it replace, through replication, the
        write that did succeed. Under the partition lock, as conditional
        writes commit, so no such write lands between test and removal.
        """
        name = ondisk.make_filename(Timestamp(timestamp), ondisk.DATA_EXT)
        self.require_device()
        with hashes.lock_partition(os.path.dirname(
                os.path.dirname(self.hash_dir))):
            if ondisk.classify_files(
                    hashdir.listdir(self.hash_dir)).data != name:
                return False
            self.manager.run_blocking(self._remove_data, name)
        hashdir.cleanup_ondisk_files(self.hash_dir,
                                     self.manager.settings.reclaim_age)
        hashes.invalidate_hash(os.path.dirname(self.hash_dir))
        return True

    def _remove_data(self, name):
        path = os.path.join(self.hash_dir, name)
        for doomed in (ondisk.sidecar_name(path), path):
            try:
                os.unlink(doomed)
            except FileNotFoundError:
                pass
        fsync_dir(self.hash_dir)

    def _write_empty_file(self, ext, meta):
        with DiskFileWriter(self, 0, ext=ext) as writer:
            writer.put(meta)


def remove_tmp_older_than(device_path, age, now=None):
    """Remove temp files a crashed server left in ``<device>/tmp/`` and
    in the temp subdirs of object writes, which stay.

    For the replicator's housekeeping; a live write's temp file is young.
    """
    now = time.time() if now is None else now
    tmp_dir = os.path.join(device_path, ondisk.TMP_DIR)
    removed = 0
    for name in hashdir.listdir(tmp_dir):
        path = os.path.join(tmp_dir, name)
        if name in ondisk.TMP_SUBDIRS:
            removed += _remove_older_than(path, hashdir.listdir(path),
                                          now - age)
        else:
            removed += _remove_older_than(tmp_dir, [name], now - age)
    return removed


def _remove_older_than(directory, names, cutoff):
    """Remove the ``names`` of ``directory`` (files or trees) last
    changed before ``cutoff``; how many went."""
    removed = 0
    for name in names:
        path = os.path.join(directory, name)
        try:
            if os.stat(path).st_mtime < cutoff:
                if os.path.isdir(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
                removed += 1
        except FileNotFoundError:
            continue
    return removed
