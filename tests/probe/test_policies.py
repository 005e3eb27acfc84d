"""The object daemons walk every storage policy's dirs, on a real aio
cluster (Policy-0: 3 replicas on object.ring.gz; silver: 2 replicas on
object-1.ring.gz), with objects in both policies put through the proxy
and each daemon run ``--once`` as a process:

- auditor + replicator: a flipped byte in each policy is quarantined
  (``quarantined/objects[-1]/``) and restored from the other replicas;
- updater: container updates a stopped container server missed are left
  in ``async_pending[-1]/`` and delivered once it is back;
- expirer: X-Delete-After objects of both policies are gone.
"""

import json
import os
import time
from urllib.parse import urlparse

import pytest

from objstore.common.hashing import hash_path
from objstore.object import ondisk
from tests.helpers import direct_to, node_of
from tests.probe.test_object_consistency import (
    proxy_request, run_object_daemon)

# policy index -> (X-Storage-Policy of its container, object ring name)
POLICIES = {0: ('Policy-0', 'object'), 1: ('silver', 'object-1')}


def account_of(cluster):
    return urlparse(cluster.get_token()[0]).path.rsplit('/', 1)[-1]


def make_container(cluster, name, index):
    status, _h, _b = proxy_request(
        cluster, 'PUT', '/' + name,
        headers={'X-Storage-Policy': POLICIES[index][0]})
    assert status in (201, 202)


def placement(cluster, index, account, container, obj):
    """(partition, primaries, hash) of an object in policy ``index``."""
    ring = cluster.ring(POLICIES[index][1])
    part, primaries = ring.get_nodes(account, container, obj)
    return part, primaries, hash_path(account, container, obj,
                                      hash_conf=cluster.hash_conf)


def hash_dir(cluster, node, index, part, obj_hash):
    return os.path.join(cluster.device_path(node),
                        ondisk.hash_dir_relpath(index, part, obj_hash))


def direct_get(dev, index, part, path):
    return direct_to(dev, 'GET', '/%s/%d%s' % (dev['device'], part, path),
                     {'X-Backend-Storage-Policy-Index': str(index)})


def flip_a_byte(path):
    with open(path, 'r+b') as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0x01]))


@pytest.mark.parametrize('index', sorted(POLICIES))
def test_auditor_and_replicator_repair_each_policy(cluster, index):
    account = account_of(cluster)
    container = 'audit%d' % index
    make_container(cluster, container, index)
    body = os.urandom(20000)
    assert proxy_request(cluster, 'PUT', '/%s/o' % container,
                         body=body)[0] == 201
    part, primaries, obj_hash = placement(cluster, index, account,
                                          container, 'o')
    assert len(primaries) == (3 if index == 0 else 2)
    victim = node_of(primaries[0])
    victim_dir = hash_dir(cluster, victim, index, part, obj_hash)
    data = [n for n in os.listdir(victim_dir) if n.endswith('.data')]
    flip_a_byte(os.path.join(victim_dir, data[0]))

    run_object_daemon(cluster, 'object-auditor', nodes=[victim])
    quarantined = os.path.join(cluster.device_path(victim), 'quarantined',
                               ondisk.policy_dir(ondisk.OBJECTS, index),
                               obj_hash)
    assert os.path.isdir(quarantined)
    assert not os.path.exists(victim_dir)

    cluster.run_daemon('object-replicator')
    for dev in primaries:
        status, _h, got = direct_get(dev, index, part,
                                     '/%s/%s/o' % (account, container))
        assert (status, got) == (200, body), dev['device']


def listed_by(dev, part, account, container):
    status, _h, body = direct_to(
        dev, 'GET', '/%s/%d/%s/%s' % (dev['device'], part, account,
                                      container), query='format=json')
    assert status == 200
    return [item['name'] for item in json.loads(body)]


def test_updater_delivers_async_pendings_of_both_policies(cluster):
    account = account_of(cluster)
    for index in POLICIES:
        make_container(cluster, 'upd%d' % index, index)
    container_ring = cluster.ring('container')
    parts = {}
    primaries = {}
    for index in POLICIES:
        parts[index], primaries[index] = container_ring.get_nodes(
            account, 'upd%d' % index)
    # A container node holding both containers (3 of the 4 nodes each).
    down = next(dev for dev in primaries[1]
                if dev['id'] in {d['id'] for d in primaries[0]})
    cluster.stop_node('container', node_of(down))
    try:
        for index in POLICIES:
            assert proxy_request(cluster, 'PUT', '/upd%d/late' % index,
                                 body=b'x')[0] == 201
    finally:
        cluster.start_node('container', node_of(down))
    pending_dirs = {
        index: [os.path.join(cluster.device_path(node),
                             ondisk.policy_dir(ondisk.ASYNC_PENDING, index))
                for node in range(cluster.nodes)]
        for index in POLICIES}
    for index in POLICIES:
        assert any(os.path.isdir(d) and os.listdir(d)
                   for d in pending_dirs[index]), index
        assert listed_by(down, parts[index], account,
                         'upd%d' % index) == []

    cluster.run_daemon('object-updater')
    for index in POLICIES:
        assert listed_by(down, parts[index], account,
                         'upd%d' % index) == ['late']
        for directory in pending_dirs[index]:
            assert not os.path.isdir(directory) or not any(
                files for _d, _s, files in os.walk(directory))


def test_expirer_removes_expired_objects_of_both_policies(cluster):
    for index in POLICIES:
        make_container(cluster, 'exp%d' % index, index)
        assert proxy_request(cluster, 'PUT', '/exp%d/short' % index,
                             body=b's', headers={'X-Delete-After': '1'}
                             )[0] == 201
        assert proxy_request(cluster, 'PUT', '/exp%d/keep' % index,
                             body=b'k')[0] == 201
    time.sleep(1.2)
    cluster.run_daemon('object-expirer')
    for index in POLICIES:
        assert proxy_request(cluster, 'GET', '/exp%d/short' % index)[0] \
            == 404
        assert proxy_request(cluster, 'GET', '/exp%d/keep' % index)[0] \
            == 200
        status, _h, body = proxy_request(cluster, 'GET',
                                         '/exp%d?format=json' % index)
        assert [item['name'] for item in json.loads(body)] == ['keep']
