"""The in-memory twin of ``diskfile``: the same API, no disk.

For tests of code above the DiskFile layer (the object server, and later
the proxy's in-process cluster) that want speed or to inspect state
without files. It keeps each object's "files" as a dict of
``ondisk`` names -> (body bytes, metadata), and reuses ``ondisk`` to decide
which files win, so ordering behaves exactly as on disk. Not durable, not
shared between processes; must never be used by a real server.

Differences from disk: no quarantine on read (memory does not rot; call
``corrupt()`` to simulate it), no fallocate_reserve (``full = True``
simulates a full device), and async pendings / expirer entries are kept
in lists (``async_pendings``, ``expiring_entries``).
"""

import hashlib
import time

import crc32c

from objstore.common.exceptions import (
    DiskFileCollision, DiskFileDeleted, DiskFileDeviceUnavailable,
    DiskFileExpired, DiskFileNoSpace, DiskFileNotExist, DiskFileQuarantined)
from objstore.common.hashing import HashConf, hash_path
from objstore.common.timestamp import Timestamp
from objstore.object import hashes, metadata as md, ondisk
from objstore.object.body_checksum import CRC32C_KEY, record_crc
from objstore.object.diskfile import BaseDiskFile
from objstore.object.diskfile_writer import check_commit


class InMemoryDiskFileManager:
    """Hands out InMemoryDiskFiles for a fixed set of device names."""

    def __init__(self, devices=('sda',), hash_conf=HashConf(),
                 chunk_size=65536, reclaim_age=ondisk.DEFAULT_RECLAIM_AGE):
        self.devices = set(devices)
        self.hash_conf = hash_conf
        self.chunk_size = chunk_size
        self.reclaim_age = reclaim_age
        self.full = False
        # (device, policy, partition, hash) -> {file name: (bytes, meta)}
        self.objects = {}
        self.async_pendings = []
        self.expiring_entries = []
        self.quarantined = []

    def device_path(self, device):
        if device not in self.devices:
            raise DiskFileDeviceUnavailable('no device %r' % device)
        return device

    def get_diskfile(self, device, partition, account, container, obj,
                     policy_index=0):
        self.device_path(device)
        obj_hash = hash_path(account, container, obj,
                             hash_conf=self.hash_conf)
        key = (device, int(policy_index), str(partition), obj_hash)
        return InMemoryDiskFile(self, key, '/%s/%s/%s'
                                % (account, container, obj))

    def get_hashes(self, device, partition, recalculate=(), policy_index=0):
        """Suffix hashes computed as ``hashes.hash_suffix`` does."""
        self.device_path(device)
        by_suffix = {}
        for (dev, policy, part, obj_hash), files in sorted(
                self.objects.items()):
            if (dev, policy, part) != (device, int(policy_index),
                                       str(partition)):
                continue
            kept = ondisk.classify_files(files, self.reclaim_age,
                                         time.time()).kept
            by_suffix.setdefault(ondisk.suffix_of(obj_hash), []).append(
                (obj_hash, kept))
        digests = {suffix: hashes.suffix_digest(kept_files)
                   for suffix, kept_files in by_suffix.items()}
        return {suffix: d for suffix, d in digests.items() if d is not None}

    def write_async_pending(self, device, obj_hash, update):
        self.device_path(device)
        self.async_pendings.append((device, obj_hash, update))

    def _pending_index(self, device, obj_hash, timestamp, policy_index):
        wanted = Timestamp(timestamp)
        for index, (dev, found_hash, update) in enumerate(
                self.async_pendings):
            if (dev, found_hash, update['policy_index']) == (
                    device, obj_hash, int(policy_index)) and Timestamp(
                    update['headers']['X-Timestamp']) == wanted:
                return index
        return None

    def read_pending_update(self, device, obj_hash, timestamp,
                            policy_index=0):
        index = self._pending_index(device, obj_hash, timestamp,
                                    policy_index)
        return None if index is None else self.async_pendings[index][2]

    def remove_pending_update(self, device, obj_hash, timestamp,
                              policy_index=0):
        index = self._pending_index(device, obj_hash, timestamp,
                                    policy_index)
        if index is not None:
            del self.async_pendings[index]

    def add_expiring_entry(self, device, obj_hash, entry):
        self.device_path(device)
        self.expiring_entries.append((device, obj_hash, entry))


class InMemoryDiskFile(BaseDiskFile):
    """One object in memory; the API of diskfile.DiskFile."""

    def __init__(self, manager, key, name):
        self.manager = manager
        self.key = key
        self.hash = key[3]
        self.name = name
        self._metadata = None
        self._data_metadata = None
        self._body = None

    @property
    def _files(self):
        return self.manager.objects.setdefault(self.key, {})

    def open(self, now=None):
        now = time.time() if now is None else now
        file_set = ondisk.classify_files(list(self._files))
        if file_set.tombstone:
            raise DiskFileDeleted(
                ondisk.parse_filename(file_set.tombstone).timestamp,
                dict(self._files[file_set.tombstone][1]))
        if not file_set.data:
            raise DiskFileNotExist(self.name)
        self._body, data_meta = self._files[file_set.data]
        if data_meta.get('name') != self.name:
            raise DiskFileCollision('%r holds %r' % (self.hash,
                                                     data_meta.get('name')))
        self._data_metadata = dict(data_meta)
        merged = dict(data_meta)
        if file_set.meta:
            merged = md.merge_post_metadata(data_meta,
                                            self._files[file_set.meta][1])
        self._metadata = merged
        if md.is_expired(merged, now):
            raise DiskFileExpired(merged)
        return merged

    def reader(self):
        if self._body is None:
            raise DiskFileNotExist('open() the DiskFile first')
        return InMemoryReader(self, self._body, self.etag,
                              self.manager.chunk_size,
                              crc=self.metadata.get(CRC32C_KEY))

    def close(self):
        """Nothing to release; the body stays readable by an open reader."""

    def create(self, size=None):
        return InMemoryWriter(self, ondisk.DATA_EXT)

    def write_metadata(self, metadata):
        with InMemoryWriter(self, ondisk.META_EXT) as writer:
            writer.put(metadata)

    def delete(self, timestamp):
        with InMemoryWriter(self, ondisk.TOMBSTONE_EXT) as writer:
            writer.put({'X-Timestamp': Timestamp(timestamp).internal})

    def withdraw(self, timestamp):
        """As DiskFile.withdraw."""
        name = ondisk.make_filename(Timestamp(timestamp), ondisk.DATA_EXT)
        if ondisk.classify_files(list(self._files)).data != name:
            return False
        del self._files[name]
        return True

    def corrupt(self):
        """Flip the first byte of the current data (test helper)."""
        file_set = ondisk.classify_files(list(self._files))
        body, meta = self._files[file_set.data]
        self._files[file_set.data] = (bytes([body[0] ^ 1]) + body[1:], meta)

    def quarantine(self, reason):
        self.manager.quarantined.append((self.key, reason,
                                         self.manager.objects.pop(self.key)))
        raise DiskFileQuarantined(reason)


class InMemoryReader:
    """Chunks of an in-memory body; full reads are checked like disk: by
    the CRC32C when the metadata has one, else by the MD5."""

    def __init__(self, diskfile, body, etag, chunk_size, crc=None):
        self.diskfile = diskfile
        self.body = body
        self.etag = etag
        self.crc = crc
        self.chunk_size = chunk_size

    def __iter__(self):
        chunks = [self.body[i:i + self.chunk_size]
                  for i in range(0, len(self.body), self.chunk_size)]
        yield from chunks[:-1]
        if self.crc is not None:
            if crc32c.CRC32CHash(self.body).hexdigest() != self.crc:
                self.diskfile.quarantine('crc32c mismatch')
        elif hashlib.md5(self.body, usedforsecurity=False).hexdigest() \
                != self.etag:
            self.diskfile.quarantine('md5 mismatch')
        yield from chunks[-1:]

    def iter_range(self, start, stop):
        for offset in range(start, stop, self.chunk_size):
            yield self.body[offset:min(stop, offset + self.chunk_size)]

    # No file to send from: the "spans" are the bytes themselves.
    spans = __iter__
    range_spans = iter_range

    def close(self):
        """Nothing to release."""


class InMemoryWriter:
    """Buffers a new file; it becomes visible only on put()."""

    def __init__(self, diskfile, ext):
        self.diskfile = diskfile
        self.ext = ext
        self._chunks = []
        self.bytes_written = 0
        self._digest = hashlib.md5(usedforsecurity=False)
        self._crc = crc32c.CRC32CHash()
        self._put_timestamp = None

    def __enter__(self):
        if self.diskfile.manager.full:
            raise DiskFileNoSpace('in-memory device marked full')
        return self

    def __exit__(self, *exc_info):
        self._chunks = []
        return False

    def write(self, chunk):
        self._chunks.append(bytes(chunk))
        self._digest.update(chunk)
        self._crc.update(chunk)
        self.bytes_written += len(chunk)
        return self.bytes_written

    @property
    def etag(self):
        return self._digest.hexdigest()

    def put(self, metadata, check=None):
        """As DiskFileWriter.put (one green thread: no lock needed)."""
        if check is not None:
            check()
        meta = dict(metadata)
        meta['name'] = self.diskfile.name
        if self.ext == ondisk.DATA_EXT:
            meta.setdefault('Content-Length', str(self.bytes_written))
            meta.setdefault('ETag', self.etag)
            record_crc(meta, self.etag, self._crc.hexdigest(),
                       self.bytes_written)
        md.encode_metadata(meta)  # the same type rules as on disk
        name = ondisk.make_filename(Timestamp(meta['X-Timestamp']), self.ext)
        files = self.diskfile._files
        files[name] = (b''.join(self._chunks), meta)
        file_set = ondisk.classify_files(list(files),
                                         self.diskfile.manager.reclaim_age,
                                         time.time())
        for obsolete in file_set.obsolete:
            files.pop(obsolete, None)
        self._put_timestamp = Timestamp(meta['X-Timestamp'])

    def commit(self, timestamp):
        """As DiskFileWriter.commit: put() already made it visible."""
        check_commit(self._put_timestamp, timestamp)
