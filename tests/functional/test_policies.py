"""Storage policies end to end on the aio cluster, which has two
replication policies: Policy-0 (the default, 3 replicas, object.ring.gz)
and silver, alias reduced (2 replicas, object-1.ring.gz)."""

import json
import os
import uuid

import pytest

from objstore.common.hashing import hash_path
from tests.functional.test_api import connect, raw, status_of
from tests.helpers import direct_to, node_of

POLICY_INDEX = 'X-Backend-Storage-Policy-Index'


def new_name():
    return 'pol-' + uuid.uuid4().hex[:8]


@pytest.fixture(scope='module')
def conn(cluster):
    return connect(cluster)


@pytest.mark.parametrize('asked,bound', [
    (None, 'Policy-0'), ('silver', 'silver'), ('REDUCED', 'silver'),
    ('policy-0', 'Policy-0')])
def test_container_binds_policy(conn, asked, bound):
    name = new_name()
    headers = {'X-Storage-Policy': asked} if asked else {}
    conn.put_container(name, headers=headers)
    assert conn.head_container(name)['x-storage-policy'] == bound
    headers, _listing = conn.get_container(name)
    assert headers['x-storage-policy'] == bound


def test_unknown_policy_is_400_with_swift_text(conn):
    name = new_name()
    status, _, body = raw(conn, 'PUT', '/' + name,
                          {'X-Storage-Policy': 'bronze'})
    assert (status, body) == (400, b"Invalid X-Storage-Policy 'bronze'")
    assert status_of(conn.head_container, name) == 404


def test_changing_policy_is_409(conn):
    name = new_name()
    conn.put_container(name, headers={'X-Storage-Policy': 'silver'})
    assert status_of(conn.put_container, name,
                     headers={'X-Storage-Policy': 'Policy-0'}) == 409
    conn.put_container(name)
    assert conn.head_container(name)['x-storage-policy'] == 'silver'


def test_object_in_silver_lives_on_object_1_ring(cluster, conn):
    name = new_name()
    conn.put_container(name, headers={'X-Storage-Policy': 'silver'})
    conn.put_object(name, 'o', b'two copies')
    account = conn.get_auth()[0].rstrip('/').rsplit('/', 1)[1]
    ring = cluster.ring('object-1')
    part, primaries = ring.get_nodes(account, name, 'o')
    assert len(primaries) == 2
    path = '/%s/%d/%s/%s/o' % ('%s', part, account, name)
    obj_hash = hash_path(account, name, 'o', hash_conf=cluster.hash_conf)
    holders = set()
    for node in range(cluster.nodes):
        device = cluster.device_path(node)
        hash_dir = os.path.join(device, 'objects-1', str(part),
                                obj_hash[-3:], obj_hash)
        if os.path.isdir(hash_dir) and os.listdir(hash_dir):
            holders.add(node)
        assert not os.path.isdir(os.path.join(
            device, 'objects', str(part), obj_hash[-3:], obj_hash))
    assert holders == {node_of(dev) for dev in primaries}
    for dev in primaries:
        status, _, body = direct_to(dev, 'GET', path % dev['device'],
                                    {POLICY_INDEX: '1'})
        assert (status, body) == (200, b'two copies')
        assert direct_to(dev, 'GET', path % dev['device'])[0] == 404
    assert conn.get_object(name, 'o')[1] == b'two copies'
    assert [o['name'] for o in conn.get_container(name)[1]] == ['o']


def test_info_lists_both_policies(conn):
    status, _, body = raw(conn, 'GET', '', url=conn.get_auth()[0].split(
        '/v1/')[0] + '/info')
    assert status == 200
    assert json.loads(body)['swift']['policies'] == [
        {'name': 'Policy-0', 'aliases': 'Policy-0', 'default': True},
        {'name': 'silver', 'aliases': 'silver, reduced'}]


def test_account_reports_each_policys_containers(cluster):
    # A fresh account (the reseller admin may create any), so the counts
    # are this test's alone.
    admin = connect(cluster, 'admin:admin')
    storage_url = admin.get_auth()[0].rsplit('/', 1)[0] + '/AUTH_' + \
        new_name().replace('-', '')
    for name, policy in (('gold', None), ('silver', 'silver'),
                         ('silver2', 'reduced')):
        headers = {'X-Storage-Policy': policy} if policy else {}
        status, _, _ = raw(admin, 'PUT', '/' + name, headers, url=storage_url)
        assert status == 201
    status, headers, _ = raw(admin, 'HEAD', url=storage_url)
    assert status == 204
    assert headers['x-account-storage-policy-silver-container-count'] == '2'
    assert headers['x-account-storage-policy-policy-0-container-count'] == \
        '1'
    assert headers['x-account-storage-policy-silver-object-count'] == '0'
    assert headers['x-account-storage-policy-silver-bytes-used'] == '0'
