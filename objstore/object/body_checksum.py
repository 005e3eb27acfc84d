"""The CRC32C an object body carries beside its MD5 (the ETag).

Owns the metadata key the CRC32C is stored under, the library that
computes it, and the rule for when a written body gets one. The writer
(``diskfile_writer``) computes it at PUT; whole-body readers
(``diskfile_reader``, the auditor through it) check it instead of the MD5,
~0.03 ms per MB where MD5 costs ~1.2; a body stored without one is
checked by its MD5.
"""

import functools
import importlib

# The metadata key of the body's CRC32C (8 lowercase hex digits), stored
# by the writer of a .data whose ETag is the MD5 of the same bytes.
# Lowercase like 'name': no request header can be stored under it.
CRC32C_KEY = 'crc32c'


@functools.cache
def crc32c_module():
    """The crc32c package, imported on first use: its import loads
    importlib.metadata, ~1 MiB of RSS, and of the daemons that import
    this module only the auditor reads bodies (the replicator, expirer
    and reconstructor never do). Cached: import_module costs a 4 KiB
    GET or PUT more instructions than the CRC itself.
    """
    return importlib.import_module('crc32c')


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
