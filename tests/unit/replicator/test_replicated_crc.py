"""A replica the object replicator pushed (rsync, xattrs and all) carries
the body's CRC32C and is verified by it: real object servers, a real rsync
daemon, real tmp devices (the Cluster of test_object_replicator)."""

import hashlib
import os

import crc32c
import pytest

from objstore.common.exceptions import DiskFileNotExist, DiskFileQuarantined
from objstore.object import metadata as md
from objstore.object.body_checksum import CRC32C_KEY
from tests.unit.replicator.test_object_replicator import T1, Cluster

BODY = os.urandom(300000)


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    c.stop()


def opened(cluster, n, part, obj='obj'):
    df = cluster.mgrs[n].get_diskfile('d%d' % n, part, 'a', 'c', obj)
    df.open()
    return df


def test_pushed_copy_keeps_its_crc32c_and_is_verified_by_it(cluster):
    part, (a, b, c), _ = cluster.placement('obj')
    cluster.put(a, 'obj', BODY, T1)
    cluster.put(b, 'obj', BODY, T1)
    assert cluster.read(c, 'obj') is DiskFileNotExist
    assert cluster.replicator(a).run_once(once=True).get('rsyncs') == 1
    copy = opened(cluster, c, part)
    assert copy.data_metadata[CRC32C_KEY] == '%08x' % crc32c.crc32c(BODY)
    reader = copy.reader()
    assert reader.checked_with == 'crc32c'
    assert b''.join(reader) == BODY
    # The copy's CRC32C is what catches a flipped byte even when its MD5
    # was made to match.
    path = os.path.join(copy.hash_dir, os.listdir(copy.hash_dir)[0])
    with open(path, 'r+b') as data:
        data.seek(1234)
        data.write(bytes([BODY[1234] ^ 1]))
        data.seek(0)
        fixed_up = hashlib.md5(data.read()).hexdigest()
    meta = md.read_metadata(path)
    fd = os.open(path, os.O_RDWR)
    try:
        md.write_metadata(fd, dict(meta, ETag=fixed_up), copy.hash_dir)
    finally:
        os.close(fd)
    with pytest.raises(DiskFileQuarantined):
        list(opened(cluster, c, part).reader())
