"""Object file metadata: versioned JSON in xattrs, or a sidecar file.

Owns the byte format of an object file's metadata and how it is attached to
the file. Must not decide which files win or where they live (``ondisk``),
nor rename anything into the object tree (``diskfile``). Never unpickles.

Format: ``{"v": 1, "meta": {name: value, ...}}`` as compact UTF-8 JSON,
names and values strings. It is stored in the xattr
``user.objstore.metadata``, continued in ``user.objstore.metadata1``,
``...2`` when longer than ``XATTR_CHUNK_SIZE``.

ext4 keeps all xattrs of a file in one ~4 KiB block, so the largest
metadata the API allows does not fit and setxattr fails (ENOSPC, E2BIG or
ERANGE). Then the JSON goes to a sidecar file, named like its owner plus
``ondisk.SIDECAR_SUFFIX``, and the owner gets a small marker instead:
``{"v": 1, "sidecar": {"length": n, "md5": hex}}`` so a reader can tell a
truncated or foreign sidecar from the real one. The sidecar is written in the
device's ``tmp/`` and fsynced here; ``diskfile`` renames it beside the owner
*before* renaming the owner, so a visible owner always has its sidecar.
"""

import errno
import hashlib
import itertools
import json
import os
import tempfile

from objstore.common.exceptions import (DiskFileBadMetadata,
                                        DiskFileXattrNotSupported)
from objstore.object.ondisk import sidecar_name

METADATA_VERSION = 1
XATTR_KEY = 'user.objstore.metadata'
# Small enough that most filesystems accept each piece, large enough that
# the per-key overhead (ext4 spends ~40 bytes per entry) stays small.
XATTR_CHUNK_SIZE = 1024
# Errors that mean "these xattrs do not fit", not "the disk is broken".
TOO_BIG_ERRNOS = (errno.ENOSPC, errno.E2BIG, errno.ERANGE)
NOT_SUPPORTED_ERRNOS = (errno.ENOTSUP, errno.EOPNOTSUPP)


class SidecarMissing(DiskFileBadMetadata):
    """The owner's marker names a sidecar that is not there.

    Not always damage: an owner replicated by rsync may arrive before its
    sidecar, and a reader racing a newer write may find the sidecar already
    removed with its obsolete owner. ``diskfile`` tells these apart.
    """


def encode_metadata(metadata):
    """The versioned JSON bytes of a {str: str} dict.

    >>> encode_metadata({'name': '/a/c/o'})
    b'{"meta":{"name":"/a/c/o"},"v":1}'
    """
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError('metadata must map str to str, got %r: %r'
                            % (key, value))
    return _dump({'v': METADATA_VERSION, 'meta': metadata})


def _dump(document):
    return json.dumps(document, ensure_ascii=False, sort_keys=True,
                      separators=(',', ':')).encode('utf-8')


def _load(blob):
    try:
        document = json.loads(blob.decode('utf-8'))
    except (UnicodeDecodeError, ValueError) as err:
        raise DiskFileBadMetadata('metadata is not JSON: %s' % err)
    if not isinstance(document, dict):
        raise DiskFileBadMetadata('metadata is not a JSON object')
    if document.get('v') != METADATA_VERSION:
        raise DiskFileBadMetadata('unknown metadata version %r'
                                  % document.get('v'))
    return document


def decode_metadata(blob):
    """The dict of ``encode_metadata`` bytes; DiskFileBadMetadata if not."""
    return _meta_of(_load(blob))


def _meta_of(document):
    meta = document.get('meta')
    if not isinstance(meta, dict) or not all(
            isinstance(k, str) and isinstance(v, str)
            for k, v in meta.items()):
        raise DiskFileBadMetadata('metadata is not a map of strings')
    return meta


def xattr_keys(count):
    """Names of the first ``count`` xattr keys, in order.

    >>> xattr_keys(3)[1:]
    ['user.objstore.metadata1', 'user.objstore.metadata2']
    """
    return [XATTR_KEY] + ['%s%d' % (XATTR_KEY, i) for i in range(1, count)]


def split_blob(blob, size=XATTR_CHUNK_SIZE):
    """The pieces of ``blob`` stored one per key (at least one piece)."""
    return [blob[i:i + size] for i in range(0, len(blob), size)] or [b'']


def _set_chunks(fd, blob):
    chunks = split_blob(blob)
    keys = xattr_keys(len(chunks))
    for key, chunk in zip(keys, chunks):
        os.setxattr(fd, key, chunk)


def _remove_our_xattrs(fd):
    for key in os.listxattr(fd):
        if key.startswith(XATTR_KEY):
            os.removexattr(fd, key)


def write_metadata(fd, metadata, tmp_dir):
    """Attach metadata to the open file ``fd``.

    Returns None when it went into xattrs, else the path of a fsynced sidecar
    temp file in ``tmp_dir`` that the caller must rename to
    ``<owner>`` + SIDECAR_SUFFIX before renaming the owner (or unlink).
    OSError other than "does not fit" propagates (ENOSPC of the data disk
    itself cannot be told apart here, so the sidecar write surfaces it).
    """
    blob = encode_metadata(metadata)
    try:
        _set_chunks(fd, blob)
        return None
    except OSError as err:
        if err.errno in NOT_SUPPORTED_ERRNOS:
            raise DiskFileXattrNotSupported(str(err))
        if err.errno not in TOO_BIG_ERRNOS:
            raise
    _remove_our_xattrs(fd)
    sidecar_tmp = _write_sidecar_tmp(blob, tmp_dir)
    marker = {'length': len(blob),
              'md5': hashlib.md5(blob, usedforsecurity=False).hexdigest()}
    try:
        os.setxattr(fd, XATTR_KEY, _dump({'v': METADATA_VERSION,
                                          'sidecar': marker}))
    except OSError:
        os.unlink(sidecar_tmp)
        raise
    return sidecar_tmp


def _write_sidecar_tmp(blob, tmp_dir):
    fd, path = tempfile.mkstemp(dir=tmp_dir, prefix='.sidecar-')
    try:
        view = memoryview(blob)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(path)
        raise
    os.close(fd)
    return path


def _read_chunks(target):
    pieces = []
    for index in itertools.count():
        key = '%s%d' % (XATTR_KEY, index) if index else XATTR_KEY
        try:
            piece = os.getxattr(target, key)
        except OSError as err:
            if err.errno in NOT_SUPPORTED_ERRNOS:
                raise DiskFileXattrNotSupported(str(err))
            if err.errno != errno.ENODATA:
                raise
            break
        pieces.append(piece)
        if len(piece) < XATTR_CHUNK_SIZE:
            # split_blob fills every piece but the last: no next key to
            # look for (a syscall and an exception saved on every open).
            break
    if not pieces:
        raise DiskFileBadMetadata('no metadata xattr')
    return b''.join(pieces)


def read_metadata(path, fd=None):
    """The metadata dict of the object file at ``path``.

    ``fd``, when given, is an open descriptor of that file (xattrs are read
    from it, so a concurrent unlink does not matter); the sidecar, if any,
    is read by path. DiskFileBadMetadata when missing or corrupt,
    SidecarMissing (a subclass) when only the sidecar is missing.
    """
    document = _load(_read_chunks(path if fd is None else fd))
    if 'sidecar' not in document:
        return _meta_of(document)
    return _read_sidecar(sidecar_name(path), document['sidecar'])


def _read_sidecar(sidecar_path, marker):
    try:
        with open(sidecar_path, 'rb') as sidecar:
            blob = sidecar.read()
    except FileNotFoundError:
        raise SidecarMissing('sidecar %s is missing' % sidecar_path)
    if (not isinstance(marker, dict) or len(blob) != marker.get('length') or
            hashlib.md5(blob, usedforsecurity=False).hexdigest()
            != marker.get('md5')):
        raise DiskFileBadMetadata('sidecar %s does not match its marker'
                                  % sidecar_path)
    return decode_metadata(blob)


# Headers a POST may set on an object: they live in the newest .meta and
# replace those of the .data. Everything else (name, length, etag, system
# metadata) belongs to the data file and survives any number of POSTs.
# The list is Swift's default allowed_headers, and Content-Type.
POST_HEADERS = ('Content-Type', 'Content-Disposition', 'Content-Encoding',
                'X-Delete-At', 'X-Object-Manifest', 'Cache-Control',
                'Content-Language', 'Expires', 'X-Robots-Tag')
USER_META_PREFIX = 'X-Object-Meta-'
# Set by a PUT only: a POST cannot change it (middlewares' durable state).
SYSMETA_PREFIX = 'X-Object-Sysmeta-'
# Middlewares' state that, like user metadata, a POST replaces.
TRANSIENT_SYSMETA_PREFIX = 'X-Object-Transient-Sysmeta-'
POST_PREFIXES = (USER_META_PREFIX.lower(), TRANSIENT_SYSMETA_PREFIX.lower())


def is_post_settable(key):
    """True for metadata a POST replaces (user metadata, transient system
    metadata and POST_HEADERS).

    >>> is_post_settable('X-Object-Meta-Color'), is_post_settable('ETag')
    (True, False)
    """
    return (key.lower().startswith(POST_PREFIXES) or
            key.lower() in {h.lower() for h in POST_HEADERS})


def merge_post_metadata(data_meta, meta_meta):
    """The object's metadata: its data file's, overlaid by a newer .meta.

    User metadata and POST headers come only from the .meta (a POST
    replaces, it does not add), except Content-Type, which a POST may
    leave out and then keeps; X-Timestamp is the .meta's.

    >>> sorted(merge_post_metadata(
    ...     {'ETag': 'e', 'X-Object-Meta-A': '1', 'Content-Type': 't',
    ...      'X-Timestamp': '1'},
    ...     {'X-Object-Meta-B': '2', 'X-Timestamp': '2'}).items())
    ... # doctest: +NORMALIZE_WHITESPACE
    [('Content-Type', 't'), ('ETag', 'e'), ('X-Object-Meta-B', '2'),
     ('X-Timestamp', '2')]
    """
    keep_type = 'Content-Type' not in meta_meta
    merged = {k: v for k, v in data_meta.items()
              if not is_post_settable(k) or
              (keep_type and k.lower() == 'content-type')}
    merged.update((k, v) for k, v in meta_meta.items()
                  if is_post_settable(k))
    merged['X-Timestamp'] = meta_meta.get('X-Timestamp',
                                          data_meta.get('X-Timestamp'))
    return merged


def is_expired(metadata, now):
    """True when the object's X-Delete-At (an integer time) is not after now.

    >>> is_expired({'X-Delete-At': '100'}, 100), is_expired({}, 100)
    (True, False)
    """
    delete_at = metadata.get('X-Delete-At')
    return bool(delete_at and delete_at.isdigit() and int(delete_at) <= now)
