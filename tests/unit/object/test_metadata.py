"""Metadata in real xattrs on ext4, numbered keys, and the sidecar path."""

import json
import os

import pytest

from objstore.common.exceptions import DiskFileBadMetadata
from objstore.object import metadata as md


@pytest.fixture
def tmp_file(tmp_path):
    path = tmp_path / 'f.data'
    path.write_bytes(b'body')
    fd = os.open(path, os.O_RDWR)
    yield str(path), fd
    os.close(fd)


def largest_allowed_metadata():
    """90 user items totalling 4,096 bytes plus a 1,024-byte name."""
    meta = {'name': '/a/c/' + 'n' * 1019, 'X-Timestamp': '1700000000.00000',
            'Content-Length': '4', 'ETag': 'e' * 32,
            'Content-Type': 'application/octet-stream'}
    for i in range(90):
        # 3-byte names, values of 42 or 43 bytes: 4,096 bytes in all.
        meta['X-Object-Meta-K%02d' % i] = 'v' * (43 if i < 46 else 42)
    return meta


def test_user_metadata_is_as_large_as_swift_allows():
    meta = largest_allowed_metadata()
    user = {k[len('X-Object-Meta-'):]: v for k, v in meta.items()
            if k.startswith('X-Object-Meta-')}
    assert len(user) == 90
    assert sum(len(k) + len(v) for k, v in user.items()) == 4096
    assert len(meta['name'].encode()) == 1024


def test_small_metadata_stays_in_one_xattr(tmp_file, tmp_path):
    path, fd = tmp_file
    meta = {'name': '/a/c/o', 'X-Timestamp': '1.00000', 'Ünïcode': 'välue'}
    assert md.write_metadata(fd, meta, str(tmp_path)) is None
    assert os.listxattr(path) == [md.XATTR_KEY]
    assert md.read_metadata(path) == meta
    assert md.read_metadata(path, fd) == meta


def test_long_metadata_is_split_into_numbered_keys(tmp_file, tmp_path):
    path, fd = tmp_file
    meta = {'name': '/a/c/o', 'X-Object-Meta-Big': 'x' * 2500}
    assert md.write_metadata(fd, meta, str(tmp_path)) is None
    assert sorted(os.listxattr(path)) == sorted(md.xattr_keys(3))
    assert md.read_metadata(path) == meta


def test_largest_metadata_takes_sidecar_path_and_roundtrips(tmp_file,
                                                             tmp_path):
    path, fd = tmp_file
    meta = largest_allowed_metadata()
    # ext4 refuses this much as xattrs: prove it, so the test means something.
    with pytest.raises(OSError):
        for key, chunk in zip(md.xattr_keys(20),
                              md.split_blob(md.encode_metadata(meta))):
            os.setxattr(fd, key, chunk)
    for key in os.listxattr(fd):
        os.removexattr(fd, key)
    sidecar_tmp = md.write_metadata(fd, meta, str(tmp_path))
    assert sidecar_tmp and os.path.dirname(sidecar_tmp) == str(tmp_path)
    assert os.listxattr(path) == [md.XATTR_KEY]
    marker = json.loads(os.getxattr(path, md.XATTR_KEY))
    assert set(marker) == {'v', 'sidecar'}
    os.rename(sidecar_tmp, path + '.mdjson')
    assert md.read_metadata(path) == meta


def test_missing_or_corrupt_sidecar_is_bad_metadata(tmp_file, tmp_path):
    path, fd = tmp_file
    os.rename(md.write_metadata(fd, largest_allowed_metadata(),
                                str(tmp_path)), path + '.mdjson')
    with open(path + '.mdjson', 'r+b') as sidecar:
        sidecar.write(b'X')
    with pytest.raises(DiskFileBadMetadata):
        md.read_metadata(path)
    os.unlink(path + '.mdjson')
    with pytest.raises(DiskFileBadMetadata):
        md.read_metadata(path)


@pytest.mark.parametrize('blob', [
    b'not json', b'[1]', b'{"v": 2, "meta": {}}', b'{"meta": {}}',
    b'{"v": 1, "meta": {"a": 1}}', b'{"v": 1, "meta": []}', b'\xff\xfe',
    # A pickle must never be loaded.
    b'\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94s.',
])
def test_bad_xattr_contents(tmp_file, blob):
    path, fd = tmp_file
    os.setxattr(fd, md.XATTR_KEY, blob)
    with pytest.raises(DiskFileBadMetadata):
        md.read_metadata(path)


def test_no_xattr_is_bad_metadata(tmp_file):
    with pytest.raises(DiskFileBadMetadata):
        md.read_metadata(tmp_file[0])


def test_non_string_metadata_rejected():
    with pytest.raises(TypeError):
        md.encode_metadata({'Content-Length': 5})


def test_merge_post_metadata_replaces_user_keeps_system():
    data = {'name': '/a/c/o', 'X-Timestamp': '1.00000', 'ETag': 'e',
            'Content-Length': '3', 'Content-Type': 'text/plain',
            'X-Object-Meta-Old': 'x', 'X-Object-Sysmeta-S': 's',
            'Content-Encoding': 'gzip'}
    meta = {'X-Timestamp': '2.00000', 'X-Object-Meta-New': 'y',
            'Content-Type': 'image/png'}
    merged = md.merge_post_metadata(data, meta)
    assert merged == {'name': '/a/c/o', 'X-Timestamp': '2.00000',
                      'ETag': 'e', 'Content-Length': '3',
                      'Content-Type': 'image/png', 'X-Object-Meta-New': 'y',
                      'X-Object-Sysmeta-S': 's'}


@pytest.mark.parametrize('value_size, keys_read', [
    (10, ['user.objstore.metadata']),
    # Three pieces, the last one short: no probe for a fourth key.
    (2500, ['user.objstore.metadata', 'user.objstore.metadata1',
            'user.objstore.metadata2']),
])
def test_reading_stops_at_the_short_last_piece(tmp_file, tmp_path,
                                               monkeypatch, value_size,
                                               keys_read):
    path, fd = tmp_file
    meta = {'name': '/a/c/o', 'X-Object-Meta-Big': 'v' * value_size}
    assert md.write_metadata(fd, meta, str(tmp_path)) is None
    asked = []
    real_getxattr = os.getxattr

    def counting_getxattr(target, key):
        asked.append(key)
        return real_getxattr(target, key)
    monkeypatch.setattr(md.os, 'getxattr', counting_getxattr)
    assert md.read_metadata(path) == meta
    assert asked == keys_read


def test_a_full_last_piece_is_followed_by_a_probe(tmp_file, tmp_path):
    path, fd = tmp_file
    meta = {'name': '/a/c/o', 'X-Object-Meta-A': ''}
    padding = md.XATTR_CHUNK_SIZE - len(md.encode_metadata(meta))
    meta['X-Object-Meta-A'] = 'v' * padding
    assert len(md.encode_metadata(meta)) == md.XATTR_CHUNK_SIZE
    assert md.write_metadata(fd, meta, str(tmp_path)) is None
    assert os.listxattr(path) == [md.XATTR_KEY]
    assert md.read_metadata(path) == meta
