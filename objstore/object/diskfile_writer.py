"""DiskFileWriter: one new object file, streamed into a temp file and
made durable and visible in its hash dir (the write order of
``diskfile``'s docstring). ``DiskFile.create()`` makes one.
"""

import errno
import hashlib
import os

from objstore.common.durable import (
    create_temp_file, fsync_dir, fsync_new_dirs, make_dirs, start_writeback)
from objstore.common.exceptions import DiskFileError, DiskFileNoSpace
from objstore.common.timestamp import Timestamp
from objstore.object import hashdir, hashes, metadata as md, ondisk
from objstore.object.body_checksum import crc32c_module, record_crc

NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# A writer asks the kernel to start writing its file out every this many
# bytes (durable.start_writeback), so that the disk works while a large
# body still streams in and the final fsync finds little left to do.
WRITEBACK_BYTES = 4 * 1024 * 1024


def no_space_or_raise(err, what):
    if err.errno in NO_SPACE_ERRNOS:
        raise DiskFileNoSpace('%s: %s' % (what, err)) from err
    raise err


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
            no_space_or_raise(err, 'creating a temp file in %s' % df.tmp_dir)
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
            no_space_or_raise(err, 'writing %s' % self._tmp_path)
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
            no_space_or_raise(err, 'finishing %s' % self._tmp_path)
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
