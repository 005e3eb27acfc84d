"""File operations on the object tree: hash dirs, their cleanup, and walks.

Owns removing obsolete files of a hash dir (``cleanup_ondisk_files``),
small durable writes (the fsync steps are ``objstore.common.durable``'s),
and listing what a device holds (partitions, suffixes, hash dirs) for the
replicator and the auditor. It
applies the rules of ``ondisk.classify_files`` and must not decide them;
it knows nothing of metadata contents or of hashes.json (``hashes``).

Public API (used by diskfile, the replicator and the auditor)::

    cleanup_ondisk_files(hash_dir, reclaim_age, now, names) -> FileSet
    remove_obsolete(hash_dir, file_set)   # the removal part of it
    write_file_durably(path, data, tmp_dir)
    list_partitions(device_path, policy_index) -> [partition str]
    list_suffixes(partition_path) -> [suffix]
    list_hash_dirs(suffix_path) -> [hash]
    iter_hash_dirs(device_path, policy_index)
        -> (partition, suffix, hash, hash_dir path) for every hash dir
"""

import errno
import os
import tempfile
import time

from objstore.common.durable import fsync_dir, fsync_new_dirs, make_dirs
from objstore.object import ondisk


def write_file_durably(path, data, tmp_dir):
    """Write ``data`` to ``path`` atomically and durably.

    tmp file in ``tmp_dir`` (same filesystem) -> fsync -> rename -> fsync
    the dir (and any parent dir just created): a reader sees the old file
    or the whole new one, and a crash after return cannot lose it. Small
    files only (async pendings, queue entries); object bodies stream
    through DiskFileWriter.
    """
    os.makedirs(tmp_dir, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(dir=tmp_dir, prefix='.small-')
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
        os.close(fd)
        fd = None
        created = make_dirs(os.path.dirname(path))
        os.rename(tmp_path, path)
        tmp_path = None
        fsync_dir(os.path.dirname(path))
        fsync_new_dirs(created)
    finally:
        if fd is not None:
            os.close(fd)
        if tmp_path is not None:
            _unlink_quietly(tmp_path)


def listdir(path):
    """Names in ``path``; [] when it does not exist or is not a dir."""
    try:
        return os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []


def policy_indexes(device_path, base):
    """Sorted policy indexes of the ``base`` dirs (``async_pending``,
    ``expiring``...) present on a device: 0 for ``base``, N for
    ``base-N``."""
    return sorted(index for index in (
        ondisk.policy_index_of(name, base) for name in listdir(device_path))
        if index is not None)


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def remove_dir_if_empty(path):
    """rmdir that tolerates a dir that is gone or was refilled meanwhile."""
    try:
        os.rmdir(path)
        return True
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST):
            return False
        raise


def remove_partition_if_empty(part_dir):
    """Remove a partition dir that holds no suffix any more, with its
    bookkeeping files (hashes, lock); True when it is gone."""
    if list_suffixes(part_dir):
        return False
    for name in (ondisk.HASHES_FILE, ondisk.HASHES_INVALID_FILE,
                 ondisk.PARTITION_LOCK_FILE):
        try:
            os.unlink(os.path.join(part_dir, name))
        except FileNotFoundError:
            pass
    return remove_dir_if_empty(part_dir)


def cleanup_ondisk_files(hash_dir, reclaim_age=ondisk.DEFAULT_RECLAIM_AGE,
                         now=None, names=None):
    """Remove the obsolete files of one hash dir and return its FileSet.

    Removes older data/tombstones/metas, orphaned sidecars, and a winning
    tombstone older than ``reclaim_age`` (by then every replica has had the
    time to learn of the delete). An emptied hash dir is removed too.
    ``names``: the dir's names when the caller knows them (else listed).
    """
    now = time.time() if now is None else now
    if names is None:
        names = listdir(hash_dir)
    file_set = ondisk.classify_files(names, reclaim_age, now)
    remove_obsolete(hash_dir, file_set)
    return file_set


def remove_obsolete(hash_dir, file_set):
    """Remove what ``file_set`` (the hash dir's classify_files verdict)
    found obsolete, and the hash dir once it keeps nothing."""
    for name in file_set.obsolete:
        _unlink_quietly(os.path.join(hash_dir, name))
    if not file_set.kept and not file_set.unknown:
        remove_dir_if_empty(hash_dir)


def partition_path(device_path, policy_index, partition):
    return os.path.join(device_path,
                        ondisk.policy_dir(ondisk.OBJECTS, policy_index),
                        str(partition))


def list_partitions(device_path, policy_index=0):
    """Partition dir names (numeric) of a device for one policy, sorted."""
    objects = os.path.join(device_path,
                           ondisk.policy_dir(ondisk.OBJECTS, policy_index))
    return sorted((name for name in listdir(objects) if name.isdigit()),
                  key=int)


def list_suffixes(partition_dir):
    return sorted(name for name in listdir(partition_dir)
                  if ondisk.is_suffix_name(name))


def list_hash_dirs(suffix_dir):
    return sorted(name for name in listdir(suffix_dir)
                  if ondisk.is_hash_name(name))


def iter_hash_dirs(device_path, policy_index=0):
    """(partition, suffix, hash, path) for every hash dir of the device.

    Lists lazily, one directory at a time, so it can walk a full disk; what
    appears or vanishes during the walk may or may not be seen.
    """
    for partition in list_partitions(device_path, policy_index):
        part_dir = partition_path(device_path, policy_index, partition)
        for suffix in list_suffixes(part_dir):
            suffix_dir = os.path.join(part_dir, suffix)
            for obj_hash in list_hash_dirs(suffix_dir):
                yield (partition, suffix, obj_hash,
                       os.path.join(suffix_dir, obj_hash))
