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

Body checksums: the writer computes the body's MD5 (the ETag) and its
CRC32C, and stores the CRC32C in the metadata (``CRC32C_KEY``, internal:
never sent to a client). A reader that reads the whole body checks it
against that CRC32C, which costs ~0.03 ms per MB where MD5 costs ~1.2,
and against the ETag (MD5) when the file has none: one written before
CRC32Cs were stored.
"""

import errno
import functools
import hashlib
import importlib
import os
import shutil
import time
from dataclasses import dataclass

from objstore.common.exceptions import (
    DiskFileBadMetadata, DiskFileCollision, DiskFileDeleted,
    DiskFileDeviceUnavailable, DiskFileError, DiskFileExpired,
    DiskFileNoSpace, DiskFileNotExist, DiskFileQuarantined)
from objstore.common import green
from objstore.common.green import FileSpan
from objstore.common.offload import BatchedOffload
from objstore.common.durable import (
    create_temp_file, fsync_dir, fsync_new_dirs, make_dirs, makedirs_durable,
    spread_subdirs, start_writeback)
from objstore.common.hashing import HashConf, hash_path
from objstore.common.timestamp import Timestamp
from objstore.object import (asyncpending, expiring, hashdir, hashes,
                             metadata as md, ondisk)

NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# Each retry follows a concurrent write or a file passed over as
# incomplete; a hash dir changing this often is answered as not found.
OPEN_RETRIES = 4
# rsync renames an owner into place before its sidecar (names sort that
# way) and a cut transfer sends the sidecar only in a later pass. An owner
# without its sidecar that changed this recently is such a transfer in
# flight, passed over by readers; an older one has lost its sidecar and is
# quarantined. Longer than one rsync run may stall (rsync_timeout).
SIDECAR_ARRIVAL_GRACE = 3600
# A writer asks the kernel to start writing its file out every this many
# bytes (durable.start_writeback), so that the disk works while a large
# body still streams in and the final fsync finds little left to do.
WRITEBACK_BYTES = 4 * 1024 * 1024
# A GET sent with sendfile verifies the file's checksum reading this much
# at a time into one reused buffer (small enough to stay in the CPU's
# cache between the read and the hash), and this much per native-thread
# trip: a trip costs about a dozen syscalls and two GIL hand-offs, while a
# pool thread held for a few ms more delays no fsync (the pool has threads
# to spare; see _digest_all).
VERIFY_READ_BYTES = 1024 * 1024
VERIFY_TRIP_BYTES = 8 * VERIFY_READ_BYTES
# The metadata key of the body's CRC32C (8 lowercase hex digits), stored
# by the writer of a .data whose ETag is the MD5 of the same bytes.
# Lowercase like 'name': no request header can be stored under it.
CRC32C_KEY = 'crc32c'


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


@functools.cache
def crc32c_module():
    """The crc32c package, imported on first use: its import loads
    importlib.metadata, ~1 MiB of RSS, and of the daemons that import
    this module only the auditor reads bodies (the replicator, expirer
    and reconstructor never do). Cached: import_module costs a 4 KiB
    GET or PUT more instructions than the CRC itself.
    """
    return importlib.import_module('crc32c')


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


def _no_space_or_raise(err, what):
    if err.errno in NO_SPACE_ERRNOS:
        raise DiskFileNoSpace('%s: %s' % (what, err)) from err
    raise err


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


class DiskFileReader:
    """Iterates an object's bytes in ``disk_chunk_size`` chunks.

    Full iteration checks the size and the checksum against the metadata:
    the CRC32C when the metadata has one (``crc``), else the MD5 (the
    ETag). On a mismatch it quarantines the object and raises
    DiskFileQuarantined *instead of yielding the last chunk*: the server
    then drops the connection, and the client sees fewer bytes than
    Content-Length, so it cannot take corrupt data for good data.

    ``spans()`` and ``range_spans()`` give the same bodies as green.FileSpans
    where they can, for a server that sends them with sendfile; ``spans()``
    checks the checksum in a native thread meanwhile and holds back the
    last chunk the same way.
    """

    def __init__(self, diskfile, fd, size, etag, chunk_size, crc=None):
        self.diskfile = diskfile
        self._fd = fd
        self.size = size
        self.etag = etag
        self.crc = crc
        self.chunk_size = chunk_size
        self._verifier = None
        self._stop_verifying = False

    def _read_at(self, offset, length):
        return os.pread(self._fd, length, offset)

    @property
    def checked_with(self):
        """The name of the checksum a full read is checked with."""
        return 'md5' if self.crc is None else 'crc32c'

    def _new_digest(self, in_hub):
        """A digest of the kind ``checked_with`` names.

        ``in_hub``: it hashes in the server's green thread, where giving
        up the GIL around a chunk's CRC (µs) gains nothing and getting it
        back can wait behind another thread; a native thread gives it up
        on large buffers (the library's default) so the hub runs on.
        """
        if self.crc is None:
            return hashlib.md5(usedforsecurity=False)
        return crc32c_module().CRC32CHash(
            gil_release_mode=0 if in_hub else -1)

    def __iter__(self):
        digest = self._new_digest(in_hub=True)
        offset, held = 0, None
        try:
            while True:
                chunk = self._read_at(offset, self.chunk_size)
                if not chunk:
                    break
                offset += len(chunk)
                digest.update(chunk)
                if held is not None:
                    yield held
                held = chunk
                if len(chunk) < self.chunk_size:
                    # A short read of a regular file is its end: a small
                    # object needs no second read to find it.
                    break
            self._check(offset, digest.hexdigest())
            if held is not None:
                yield held
        finally:
            self.close()

    def _check(self, size, checksum):
        """Quarantine (DiskFileQuarantined) unless what was read is what
        the metadata promised (``checksum``: of the ``checked_with`` kind).
        """
        expected = self.etag if self.crc is None else self.crc
        if size != self.size or checksum != expected:
            self.diskfile.quarantine_read(
                self._fd, 'read %d bytes with %s %s, expected %d bytes '
                'with %s' % (size, self.checked_with, checksum, self.size,
                             expected))

    def spans(self):
        """The whole body as __iter__ gives it: all but the last chunk as
        one FileSpan, the last chunk as bytes once the checksum matched.

        A small object gains nothing from sendfile, and a file whose size
        is not the metadata's is read as __iter__ reads it, which
        quarantines it as always (sendfile would only stop at its end).
        """
        if self.size <= self.chunk_size or \
                os.fstat(self._fd).st_size != self.size:
            yield from self
            return
        try:
            # Reading the file again costs ~0.1 ms per MB (and MD5 1.2,
            # CRC32C 0.03): in native threads it keeps pace with sendfile
            # instead of adding to it (pread and both hashes release the
            # GIL).
            self._verifier = green.spawn(self._digest_all)
            tail = self.size - self.chunk_size
            yield FileSpan(self._fd, 0, tail)
            verifier, self._verifier = self._verifier, None
            self._check(*verifier.wait())
            last = self._read_at(tail, self.chunk_size)
            if len(last) != self.chunk_size:
                raise DiskFileError('%s ended at %d, before %d' % (
                    self.diskfile.hash_dir, tail + len(last), self.size))
            yield last
        finally:
            self.close()

    def _digest_all(self):
        """(bytes read, checksum) of the whole file, in a green thread.
        Stops early when close() asks it to (the answer was abandoned).

        Each VERIFY_TRIP_BYTES go to a native thread on their own: the
        thread pool is shared with the fsyncs of writes, which must not
        wait behind the whole of a large object's checksum.
        """
        digest = self._new_digest(in_hub=False)
        buffer = bytearray(VERIFY_READ_BYTES)
        offset = 0
        while not self._stop_verifying:
            got = green.tpool_execute(self._digest_trip, digest, buffer,
                                      offset)
            if not got:
                break
            offset += got
        return offset, digest.hexdigest()

    def _digest_trip(self, digest, buffer, offset):
        """Add up to VERIFY_TRIP_BYTES from ``offset`` to ``digest``, read
        into ``buffer`` a piece at a time; the bytes read (0 at the end)."""
        done = 0
        while done < VERIFY_TRIP_BYTES:
            got = os.preadv(self._fd, [buffer], offset + done)
            if not got:
                break
            digest.update(memoryview(buffer)[:got])
            done += got
        return done

    def iter_range(self, start, stop):
        """The bytes [start, stop) (not verified: a range cannot be)."""
        offset = start
        while offset < stop:
            chunk = self._read_at(offset, min(self.chunk_size, stop - offset))
            if not chunk:
                raise DiskFileError('%s ended at %d, before %d'
                                    % (self.diskfile.hash_dir, offset, stop))
            offset += len(chunk)
            yield chunk

    def range_spans(self, start, stop):
        """The bytes [start, stop) as one FileSpan (a file that ends early
        cuts the answer short, as iter_range does)."""
        yield FileSpan(self._fd, start, stop - start)

    def close(self):
        if self._verifier is not None:
            # The native thread reads self._fd: let it stop before the fd
            # number can be closed and reused.
            self._stop_verifying = True
            try:
                self._verifier.wait()
            except Exception:  # noqa: B902 -- its answer is not wanted
                pass
            self._verifier = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class DiskFileWriter:
    """Streams one new file into ``<device>/tmp/`` and renames it in place.

    Leaving the ``with`` block without ``put()`` (an error, a client gone
    mid-body) removes the temp file: nothing is left behind.
    """

    def __init__(self, diskfile, size, ext=ondisk.DATA_EXT):
        self.diskfile = diskfile
        self.size = size
        self.ext = ext
        self.bytes_written = 0
        self._unflushed_from = 0
        self._digest = hashlib.md5(usedforsecurity=False)
        # The CRC32C so far, kept as a number: a CRC32CHash object would
        # double the CRC's cost to a small PUT (a Python __init__).
        self._crc = 0
        self._extend_crc = crc32c_module().crc32c
        self._fd = None
        self._tmp_path = None
        self._sidecar_tmp = None
        self._put_timestamp = None

    def __enter__(self):
        df = self.diskfile
        df.require_device()
        df.manager.check_free_space(df.device_path, self.size)
        try:
            df.manager.spread_object_dirs(df.device_path, df.policy_index)
            self._create_tmp()
        except OSError as err:
            self._discard()
            _no_space_or_raise(err, 'creating a temp file in %s' % df.tmp_dir)
        return self

    def _create_tmp(self):
        # In the server's green thread: creating a file and reserving its
        # blocks touch only metadata, they do not wait on the disk.
        tmp_dir = self.diskfile.tmp_dir
        try:
            self._fd, self._tmp_path = create_temp_file(tmp_dir, '.obj-')
        except FileNotFoundError:
            os.makedirs(tmp_dir, exist_ok=True)
            self._fd, self._tmp_path = create_temp_file(tmp_dir, '.obj-')
        if self.size:
            os.posix_fallocate(self._fd, 0, self.size)

    def __exit__(self, *exc_info):
        self._discard()
        return False

    def write(self, chunk):
        """Append ``chunk``; returns the number of bytes written so far."""
        view = memoryview(chunk)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as err:
            _no_space_or_raise(err, 'writing %s' % self._tmp_path)
        self._digest.update(chunk)
        # gil_release_mode 0: in the server's green thread a chunk's CRC
        # takes µs, not worth giving up the GIL for (see
        # DiskFileReader._new_digest).
        self._crc = self._extend_crc(chunk, self._crc, 0)
        self.bytes_written += len(chunk)
        if self.bytes_written - self._unflushed_from >= WRITEBACK_BYTES:
            self.diskfile.manager.run_blocking(
                start_writeback, self._fd, self._unflushed_from,
                self.bytes_written - self._unflushed_from,
                device_path=self.diskfile.device_path)
            self._unflushed_from = self.bytes_written
        return self.bytes_written

    @property
    def etag(self):
        return self._digest.hexdigest()

    def put(self, metadata, check=None):
        """Make the file durable and visible at ``metadata['X-Timestamp']``.

        For a .data, name/Content-Length/ETag are filled in from what was
        written when the caller left them out, and the CRC32C is recorded
        (``record_crc``). ``check``: a conditional
        write's test of what the node holds, run under the partition lock
        just before the rename; it raises (WriteConditionFailed) to leave
        nothing written. Two conditional writers of one object are thus
        ordered on each node: the second sees the first's file.
        """
        df = self.diskfile
        meta = dict(metadata)
        meta['name'] = df.name
        if self.ext == ondisk.DATA_EXT:
            meta.setdefault('Content-Length', str(self.bytes_written))
            meta.setdefault('ETag', self.etag)
            record_crc(meta, self.etag, '%08x' % self._crc,
                       self.bytes_written)
        stamp = Timestamp(meta['X-Timestamp'])
        filename = self._filename(meta, stamp)
        planned = df.plan_cleanup(filename)
        try:
            if check is None:
                self._make_durable(meta, filename, planned)
            else:
                with hashes.lock_partition(os.path.dirname(
                        os.path.dirname(df.hash_dir))):
                    check()
                    self._make_durable(meta, filename, planned)
        except OSError as err:
            _no_space_or_raise(err, 'finishing %s' % self._tmp_path)
        # (In the server's green thread: the partition lock waits with a
        # green sleep.)
        df.cleanup_after_write(planned)
        self._put_timestamp = stamp

    def _filename(self, meta, timestamp):
        """The name put() gives the file in the hash dir (``timestamp``:
        its metadata's X-Timestamp, parsed)."""
        return ondisk.make_filename(timestamp, self.ext)

    def commit(self, timestamp):
        """Complete the write put() made durable at ``timestamp``.

        Nothing is left to do for a replicated .data (see the module
        docstring); DiskFileError when put() did not happen or was for
        another timestamp, a caller's bug that must not be acknowledged.
        """
        check_commit(self._put_timestamp, timestamp)

    def _make_durable(self, meta, filename, planned):
        # One trip to a native thread per write, for the steps that wait on
        # the disk and the renames that must follow them. Making the dirs
        # does not wait on the disk and stays in the green thread: every
        # syscall in the native thread must first win the GIL back from
        # the busy hub, and each trip costs more CPU than its fsyncs.
        df = self.diskfile
        if self.size and self.bytes_written < self.size:
            # fallocate reserved more than was written.
            os.ftruncate(self._fd, self.bytes_written)
        created = make_dirs(df.hash_dir)
        df.manager.run_blocking(self._sync_and_rename, meta, filename,
                                created, planned, device_path=df.device_path)

    def _sync_and_rename(self, meta, filename, created, planned):
        """Metadata (a fsynced sidecar when it does not fit in xattrs),
        the file's fsync, the renames into the hash dir, the dirs' fsyncs:
        the write order of the module docstring. Then, the new file being
        durable, the removal of what the ``planned`` verdict found
        obsolete: unlinking a large .data can take the disk milliseconds,
        which in the server's green thread would stall every request."""
        df = self.diskfile
        self._sidecar_tmp = md.write_metadata(self._fd, meta, df.tmp_dir)
        os.fsync(self._fd)
        target = os.path.join(df.hash_dir, filename)
        if self._sidecar_tmp:
            os.rename(self._sidecar_tmp, ondisk.sidecar_name(target))
            self._sidecar_tmp = None
        os.rename(self._tmp_path, target)
        self._tmp_path = None
        fsync_dir(df.hash_dir)
        fsync_new_dirs(created)
        if planned is not None:
            hashdir.remove_obsolete(df.hash_dir, planned)

    def _discard(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        for path in (self._tmp_path, self._sidecar_tmp):
            if path:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        self._tmp_path = self._sidecar_tmp = None


def record_crc(meta, md5, crc, size):
    """Store ``crc`` (the CRC32C of a body of ``size`` bytes whose MD5 is
    ``md5``) in the .data metadata ``meta`` when its ETag and length are
    that body's; else drop any there.

    A reader that checks the CRC32C instead of the MD5 must reach the
    verdict the MD5 would: a CRC32C is stored only for a body the ETag
    describes (one the caller gave another ETag keeps the MD5 check).

    >>> meta = {'ETag': 'e', 'Content-Length': '3', CRC32C_KEY: 'stale'}
    >>> record_crc(meta, 'e', '0a0b0c0d', 3); meta[CRC32C_KEY]
    '0a0b0c0d'
    >>> record_crc(meta, 'other', '0a0b0c0d', 3); CRC32C_KEY in meta
    False
    """
    if meta.get('ETag') == md5 and meta.get('Content-Length') == str(size):
        meta[CRC32C_KEY] = crc
    else:
        meta.pop(CRC32C_KEY, None)


def check_commit(put_timestamp, timestamp):
    """DiskFileError unless a put() at ``timestamp`` precedes a commit().

    >>> check_commit(Timestamp(1), '1.00000')
    >>> check_commit(None, 1)
    Traceback (most recent call last):
    ...
    objstore.common.exceptions.DiskFileError: commit() at 0000000001.00000 \
without a put()
    """
    if put_timestamp is None:
        raise DiskFileError('commit() at %s without a put()'
                            % Timestamp(timestamp).internal)
    if put_timestamp != Timestamp(timestamp):
        raise DiskFileError('commit() at %s after a put() at %s'
                            % (Timestamp(timestamp).internal,
                               put_timestamp.internal))


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
