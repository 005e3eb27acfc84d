"""The object reconstructor on a real 7-device aio with the ``ec42``
policy: a wiped device gets back exactly its archives, a quarantined
archive is rebuilt, a handoff archive goes back to its primary, a delete
a node missed reaches it. Daemons run ``--once`` as processes.
"""

import os
import shutil

import pytest

from objstore.object import ondisk
from tests.probe.test_ec_data_path import (
    EC_INDEX, SEGMENT, archive_path, archives_on, body_of, get, put)
from tests.probe.test_object_consistency import (
    proxy_request, run_object_daemon)
from tests.helpers import RunningCluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def cluster():
    test_cluster = RunningCluster(devices=7, replicas=3, daemons=False)
    yield test_cluster
    test_cluster.close()


@pytest.fixture(scope='module')
def container(cluster):
    status, _h, _b = proxy_request(cluster, 'PUT', '/ec',
                                   headers={'X-Storage-Policy': 'ec42'})
    assert status in (201, 202)
    return 'ec'


def reconstruct(cluster):
    cluster.run_daemon('object-reconstructor')


def archive_bytes(cluster, obj, node):
    with open(archive_path(cluster, obj, node), 'rb') as f:
        return f.read()


def test_wiped_device_gets_back_exactly_its_archives(cluster, container):
    names = ['wiped-%d' % size for size in (0, 1, SEGMENT + 1)]
    for name in names:
        assert put(cluster, name, body_of(len(name), name.encode()))[0] == 201
    node = archives_on(cluster, names[-1])[1][2]
    before = {}
    for name in names:
        found, primaries = archives_on(cluster, name)
        if node in primaries:
            before[name] = (found[node], archive_bytes(cluster, name, node))
    shutil.rmtree(os.path.join(cluster.device_path(node),
                               ondisk.policy_dir(ondisk.OBJECTS, EC_INDEX)))
    reconstruct(cluster)
    for name, (files, data) in before.items():
        assert archives_on(cluster, name)[0][node] == files
        assert archive_bytes(cluster, name, node) == data
        assert get(cluster, name)[2] == body_of(len(name), name.encode())


def test_quarantined_archive_is_rebuilt(cluster, container):
    body = body_of(2 * SEGMENT + 3, b'rot')
    put(cluster, 'rot', body)
    node = archives_on(cluster, 'rot')[1][3]
    good = archive_bytes(cluster, 'rot', node)
    with open(archive_path(cluster, 'rot', node), 'r+b') as f:
        f.seek(10)
        f.write(b'\0\0\0\0' if good[10:14] != b'\0\0\0\0' else b'\1\1\1\1')
    run_object_daemon(cluster, 'object-auditor', {'files_per_second': 0},
                      nodes=[node])
    assert archives_on(cluster, 'rot')[0].get(node, []) == []
    reconstruct(cluster)
    assert archive_bytes(cluster, 'rot', node) == good


def test_handoff_archive_is_reverted(cluster, container):
    body = body_of(SEGMENT + 5, b'revert')
    _found, primaries = archives_on(cluster, 'revert')
    down = primaries[4]
    cluster.stop_node('object', down)
    try:
        assert put(cluster, 'revert', body)[0] == 201
    finally:
        cluster.start_node('object', down)
    found, _ = archives_on(cluster, 'revert')
    (handoff,) = set(found) - set(primaries)
    reconstruct(cluster)
    found, _ = archives_on(cluster, 'revert')
    assert handoff not in found
    (name,) = found[down]
    parsed = ondisk.parse_filename(name)
    assert (parsed.frag_index, parsed.durable) == (4, True)
    assert get(cluster, 'revert')[2] == body


def test_missed_delete_reaches_the_node(cluster, container):
    put(cluster, 'gone', b'bytes')
    _found, primaries = archives_on(cluster, 'gone')
    down = primaries[1]
    cluster.stop_node('object', down)
    try:
        assert proxy_request(cluster, 'DELETE', '/ec/gone')[0] == 204
    finally:
        cluster.start_node('object', down)
    assert archives_on(cluster, 'gone')[0][down][0].endswith('.data')
    reconstruct(cluster)
    found, _ = archives_on(cluster, 'gone')
    for node in primaries:
        assert [n.endswith('.ts') for n in found[node]] == [True]
