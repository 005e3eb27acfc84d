"""DiskFile for erasure-coded policies: fragment archives and their commit.

Owns the file operations that differ from replication: a PUT stores this
node's fragment archive as ``<ts>#<frag_index>.data`` (not durable, never
served: ``ondisk`` rules), and the commit renames it to
``<ts>#<frag_index>#d.data`` once the proxy knows enough archives landed.
Reading, POST metadata, tombstones and quarantine are DiskFile's own: the
on-disk rules in ``ondisk`` tell which archive is current. Must not build
HTTP responses (the server maps the exceptions).

The fragment index comes from the archive's metadata,
``X-Object-Sysmeta-Ec-Frag-Index``, as in Swift.

Two phases. ``writer.put(meta)`` makes the non-durable archive durable on
disk (fsync) under its non-durable name. The commit, in the same request
(``writer.commit``) or in a later one (``ECDiskFile.commit_fragment``, for
the proxy's commit request), first merges the *footer* (the whole object's
ETag and length, known to the proxy only after the last byte) into the
archive's metadata and fsyncs it, then renames the archive to its durable
name and fsyncs the hash dir: the server acknowledges the commit only
then. A crash before the rename leaves a non-durable archive, which is
never served and is removed after ``reclaim_age``; after it, the durable
archive with its complete metadata.
"""

import os

from objstore.common.durable import fsync_dir
from objstore.common.exceptions import DiskFileError, DiskFileNotExist
from objstore.common.hashing import hash_path
from objstore.common.timestamp import Timestamp
from objstore.object import hashdir, hashes, metadata as md, ondisk
from objstore.object.diskfile import DiskFile, DiskFileManager
from objstore.object.diskfile_writer import DiskFileWriter, check_commit

FRAG_INDEX_HEADER = 'X-Object-Sysmeta-Ec-Frag-Index'


def frag_index_of(metadata):
    """The fragment index an archive's metadata names; DiskFileError if
    it names none or a bad one.

    >>> frag_index_of({'X-Object-Sysmeta-Ec-Frag-Index': '3'})
    3
    """
    value = metadata.get(FRAG_INDEX_HEADER, '')
    if not value.isdigit():
        raise DiskFileError('fragment archive without a valid %s: %r'
                            % (FRAG_INDEX_HEADER, value))
    return int(value)


class ECDiskFileManager(DiskFileManager):
    """Hands out ECDiskFiles (the policy's objects-N dirs hold archives)."""

    def get_diskfile(self, device, partition, account, container, obj,
                     policy_index=0):
        name = '/%s/%s/%s' % (account, container, obj)
        obj_hash = hash_path(account, container, obj,
                             hash_conf=self.settings.hash_conf)
        return ECDiskFile(self, self.request_device_path(device), partition,
                          obj_hash, int(policy_index), name)

    def get_diskfile_from_audit_location(self, location):
        return ECDiskFile(self, self.device_path(location.device),
                          location.partition, location.obj_hash,
                          location.policy_index, name=None)


class ECDiskFile(DiskFile):
    """One object's fragment archive(s) on one device."""

    cleans_from_listing = False

    def create(self, size=None):
        return ECDiskFileWriter(self, size)

    @property
    def frag_index(self):
        return frag_index_of(self.metadata)

    def commit_fragment(self, timestamp, frag_index, footer):
        """Make the archive ``frag_index`` put at ``timestamp`` durable,
        with ``footer`` merged into its metadata.

        Idempotent: an archive already durable is left as it is (its
        commit carried the footer). DiskFileNotExist when no archive of
        that timestamp and index is here.
        """
        stamp = Timestamp(timestamp)
        pending = ondisk.make_fragment_filename(stamp, frag_index, False)
        durable = ondisk.make_fragment_filename(stamp, frag_index, True)
        self.require_device()
        names = hashdir.listdir(self.hash_dir)
        if durable in names:
            return
        if pending not in names:
            raise DiskFileNotExist('%s has no %s to commit'
                                   % (self.hash_dir, pending))
        self.manager.run_blocking(self._make_durable, pending, durable,
                                  footer, device_path=self.device_path)
        # Only now: the older archives this one supersedes can go.
        hashdir.cleanup_ondisk_files(self.hash_dir,
                                     self.manager.settings.reclaim_age)
        hashes.invalidate_hash(os.path.dirname(self.hash_dir))

    def _make_durable(self, pending, durable, footer):
        path = os.path.join(self.hash_dir, pending)
        fd = os.open(path, os.O_RDWR)
        try:
            meta = md.read_metadata(path, fd)
            meta.update(footer)
            sidecar_tmp = md.write_metadata(fd, meta, self.tmp_dir)
            os.fsync(fd)
        finally:
            os.close(fd)
        target = os.path.join(self.hash_dir, durable)
        if sidecar_tmp:
            os.rename(sidecar_tmp, ondisk.sidecar_name(target))
        # The pending name's old sidecar, if any, is now an orphan older
        # than the winner: the cleanup after the rename removes it.
        os.rename(path, target)
        fsync_dir(self.hash_dir)


class ECDiskFileWriter(DiskFileWriter):
    """Writes a non-durable archive; ``commit()`` makes it durable."""

    def __init__(self, diskfile, size):
        super().__init__(diskfile, size)
        self._frag_index = None

    def _filename(self, meta, timestamp):
        self._frag_index = frag_index_of(meta)
        return ondisk.make_fragment_filename(
            timestamp, self._frag_index, durable=False)

    def commit(self, timestamp, footer=None):
        """Rename the archive put() wrote to its durable name."""
        check_commit(self._put_timestamp, timestamp)
        self.diskfile.commit_fragment(timestamp, self._frag_index,
                                      footer or {})
