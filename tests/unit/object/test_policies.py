"""The object server and storage policies: per-policy dirs, unknown
policies refused, and the writer's put() -> commit() steps."""

import os
import time

import pytest

from objstore.common.exceptions import DiskFileError, DiskFileNoSpace
from objstore.common.timestamp import Timestamp
from objstore.object.diskfile import DiskFileManager, DiskFileSettings
from objstore.object.memdiskfile import InMemoryDiskFileManager, \
    InMemoryWriter
from tests.unit.object.conftest import HASH_CONF, ObjectServerHarness, opath

T1 = Timestamp(time.time()).internal
POLICIES_CONF = (
    '[objstore-hash]\npath_hash_suffix = objtest\n'
    '[storage-policy:0]\nname = gold\ndefault = yes\n'
    '[storage-policy:1]\nname = silver\n'
    '[storage-policy:2]\nname = ec\npolicy_type = erasure_coding\n'
    'ec_type = liberasurecode_rs_vand\nec_num_data_fragments = 4\n'
    'ec_num_parity_fragments = 2\n')


@pytest.fixture
def policy_server(devices, tmp_path):
    (tmp_path / 'objstore.conf').write_text(POLICIES_CONF)
    harness = ObjectServerHarness(devices, conf_dir=str(tmp_path))
    yield harness
    harness.stop()


def put(server, policy_index, obj='o'):
    return server.request('PUT', opath(obj), {
        'X-Timestamp': T1, 'Content-Type': 'text/plain',
        'X-Backend-Storage-Policy-Index': str(policy_index)}, b'abc')


def test_object_lands_in_its_policy_dir(policy_server, devices):
    assert put(policy_server, 1)[0] == 201
    device = os.path.join(devices, 'sda')
    assert os.listdir(os.path.join(device, 'objects-1', '0'))
    assert not os.path.exists(os.path.join(device, 'objects'))
    status, _, body = policy_server.request(
        'GET', opath(), {'X-Backend-Storage-Policy-Index': '1'})
    assert (status, body) == (200, b'abc')
    assert policy_server.request('GET', opath())[0] == 404


def test_unknown_policy_index_is_503(policy_server):
    status, _, body = put(policy_server, 7)
    assert (status, body) == (503, b'No policy with index 7')
    status, _, _ = policy_server.request(
        'REPLICATE', '/sda/0', {'X-Backend-Storage-Policy-Index': '9'})
    assert status == 503


@pytest.fixture(params=['disk', 'memory'])
def any_mgr(request, devices):
    if request.param == 'disk':
        return DiskFileManager(DiskFileSettings(devices=devices,
                                                hash_conf=HASH_CONF))
    return InMemoryDiskFileManager(('sda',), HASH_CONF)


def test_commit_after_put(any_mgr):
    df = any_mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    with df.create(3) as writer:
        writer.write(b'abc')
        with pytest.raises(DiskFileError, match='without a put'):
            writer.commit(T1)
        writer.put({'X-Timestamp': T1})
        with pytest.raises(DiskFileError, match='after a put'):
            writer.commit(Timestamp(float(T1) + 1))
        writer.commit(T1)
    assert df.open()['X-Timestamp'] == T1


def test_put_not_acknowledged_when_commit_fails(devices, monkeypatch):
    memory = InMemoryDiskFileManager(('sda',), HASH_CONF)
    harness = ObjectServerHarness(devices)
    harness.app.managers['replication'] = memory

    def failing_commit(writer, timestamp):
        raise DiskFileNoSpace('commit failed')

    monkeypatch.setattr(InMemoryWriter, 'commit', failing_commit)
    try:
        status, _, _ = harness.request('PUT', opath(), {
            'X-Timestamp': T1, 'Content-Type': 'text/plain'}, b'abc')
        assert status == 507
    finally:
        harness.stop()
