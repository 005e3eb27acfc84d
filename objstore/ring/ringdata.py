"""The ring file format: what a builder hands to every process.

A ring file is one gzip stream holding, in order:

1. ``MAGIC`` (13 bytes), then ``!HI``: format version and length of the
   JSON metadata that follows;
2. the JSON metadata: ``devs`` (list, ``null`` holes for removed ids),
   ``part_shift``, ``replica_count``, ``part_count``, ``dev_id_type``
   (``'H'`` or ``'I'``), ``byteorder`` (always ``'little'``) and the
   builder's ``build_version``;
3. ``replica_count`` packed arrays of ``part_count`` device ids each
   (the replica -> partition -> device table).

Arrays are written little-endian whatever the host, and read with
``array.frombytes`` plus a byteswap on big-endian hosts, which is what keeps
a part_power 18 ring loading in milliseconds. The gzip header carries no
mtime so the same ring always gives the same bytes.

This module owns (de)serialisation and the atomic write only; lookups live
in ring.py and placement in the builder.
"""

import gzip
import json
import struct
import sys
import zlib
from array import array

from objstore.common.durable import write_atomic
from objstore.common.exceptions import RingLoadError

MAGIC = b'OBJSTORE-RING'
FORMAT_VERSION = 1
_HEADER = struct.Struct('!HI')
_MAX_DEV_ID_FOR_SHORT = 0xFFFF - 1


def dev_id_type(devs):
    """'H' when every device id fits in 16 bits, else 'I'."""
    return 'H' if len(devs) <= _MAX_DEV_ID_FOR_SHORT else 'I'


def _to_little(arr):
    if sys.byteorder == 'little':
        return arr.tobytes()
    swapped = array(arr.typecode, arr)
    swapped.byteswap()
    return swapped.tobytes()


def _from_little(typecode, data):
    arr = array(typecode)
    arr.frombytes(data)
    if sys.byteorder != 'little':
        arr.byteswap()
    return arr


class RingData:
    """The device list and replica -> partition -> device table of a ring.

    ``replica2part2dev`` is a list of ``array`` objects, one per replica,
    each ``partition_count`` long.
    """

    def __init__(self, replica2part2dev, devs, part_shift, build_version=0):
        self.replica2part2dev = replica2part2dev
        self.devs = devs
        self.part_shift = part_shift
        self.build_version = build_version

    @property
    def replica_count(self):
        return len(self.replica2part2dev)

    @property
    def partition_count(self):
        return len(self.replica2part2dev[0]) if self.replica2part2dev else 0

    def to_bytes(self):
        """The gzip-compressed file contents."""
        typecode = dev_id_type(self.devs)
        meta = {
            'devs': self.devs,
            'part_shift': self.part_shift,
            'replica_count': self.replica_count,
            'part_count': self.partition_count,
            'dev_id_type': typecode,
            'byteorder': 'little',
            'build_version': self.build_version,
        }
        meta_bytes = json.dumps(meta, sort_keys=True).encode('utf-8')
        chunks = [MAGIC, _HEADER.pack(FORMAT_VERSION, len(meta_bytes)),
                  meta_bytes]
        for part2dev in self.replica2part2dev:
            chunks.append(_to_little(array(typecode, part2dev)))
        return gzip.compress(b''.join(chunks), compresslevel=6, mtime=0)

    def save(self, path):
        """Write the ring file atomically."""
        write_atomic(path, self.to_bytes())

    @classmethod
    def load(cls, path):
        """Read a ring file; RingLoadError when missing, corrupt or unknown."""
        try:
            with open(path, 'rb') as fp:
                compressed = fp.read()
        except OSError as err:
            raise RingLoadError('cannot read ring %s: %s'
                                % (path, err.strerror)) from err
        try:
            raw = gzip.decompress(compressed)
        except (OSError, EOFError, zlib.error) as err:
            raise RingLoadError('ring %s is not a valid gzip file: %s'
                                % (path, err)) from err
        return cls.from_bytes(raw, path)

    @classmethod
    def from_bytes(cls, raw, path='<bytes>'):
        """Parse decompressed ring contents (see the module docstring)."""
        if not raw.startswith(MAGIC):
            raise RingLoadError('%s is not an objstore ring file' % path)
        offset = len(MAGIC)
        try:
            version, meta_len = _HEADER.unpack_from(raw, offset)
        except struct.error as err:
            raise RingLoadError('ring %s: truncated header' % path) from err
        if version != FORMAT_VERSION:
            raise RingLoadError('ring %s has format version %s; this code '
                                'reads version %s'
                                % (path, version, FORMAT_VERSION))
        offset += _HEADER.size
        try:
            meta = json.loads(raw[offset:offset + meta_len])
            devs = meta['devs']
            part_shift = int(meta['part_shift'])
            replica_count = int(meta['replica_count'])
            part_count = int(meta['part_count'])
            typecode = meta['dev_id_type']
            build_version = int(meta.get('build_version', 0))
        except (ValueError, KeyError, TypeError) as err:
            raise RingLoadError('ring %s: bad metadata: %s'
                                % (path, err)) from err
        if typecode not in ('H', 'I') or not isinstance(devs, list):
            raise RingLoadError('ring %s: bad metadata' % path)
        offset += meta_len
        table = cls._read_table(raw, offset, typecode, replica_count,
                                part_count, path)
        _check_table(table, devs, path)
        return cls(table, devs, part_shift, build_version)

    @staticmethod
    def _read_table(raw, offset, typecode, replica_count, part_count, path):
        width = array(typecode).itemsize * part_count
        if len(raw) != offset + width * replica_count:
            raise RingLoadError('ring %s: table size does not match its '
                                'header (truncated or padded file)' % path)
        return [_from_little(typecode,
                             raw[offset + i * width:offset + (i + 1) * width])
                for i in range(replica_count)]


def _check_table(table, devs, path):
    """Every id in the table must name a device that exists."""
    used = set()
    for part2dev in table:
        used.update(part2dev)
    for dev_id in used:
        if dev_id >= len(devs) or not isinstance(devs[dev_id], dict):
            raise RingLoadError('ring %s refers to missing device %s'
                                % (path, dev_id))
