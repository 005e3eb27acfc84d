"""Fixtures shared by the object tests: tmp devices with real xattrs."""

import os

import pytest

from objstore.common.hashing import HashConf
from objstore.object.diskfile import DiskFileManager, DiskFileSettings

HASH_CONF = HashConf(b'', b'objtest')


@pytest.fixture
def devices(tmp_path):
    """A devices root on the real filesystem holding one device, ``sda``."""
    root = tmp_path / 'devices'
    os.makedirs(root / 'sda')
    return str(root)


@pytest.fixture
def device_path(devices):
    return os.path.join(devices, 'sda')


@pytest.fixture
def mgr(devices):
    return DiskFileManager(DiskFileSettings(devices=devices,
                                            disk_chunk_size=4096,
                                            hash_conf=HASH_CONF))


def put_object(mgr, obj, body, timestamp, extra=None, device='sda',
               partition='0', policy_index=0):
    """Write one object through the DiskFile API; returns the DiskFile."""
    df = mgr.get_diskfile(device, partition, 'a', 'c', obj, policy_index)
    with df.create(len(body)) as writer:
        writer.write(body)
        meta = {'X-Timestamp': str(timestamp),
                'Content-Type': 'application/octet-stream'}
        meta.update(extra or {})
        writer.put(meta)
    return df
