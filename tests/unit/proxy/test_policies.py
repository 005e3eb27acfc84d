"""Storage policies through the proxy pipeline over the real servers of an
in-process cluster with three policies (gold: default, 3 replicas;
silver alias reduced: 2 replicas; old: deprecated)."""

import json
import os

import pytest

from objstore.common.exceptions import ConfigError
from objstore.common.hashing import HashConf, hash_path
from objstore.common.storage_policy import StoragePolicies
from objstore.common.wsgi import serve_in_thread
from objstore.proxy.server import Application
from tests.helpers import direct_to
from tests.unit.proxy.cluster import InProcessCluster
from tests.unit.proxy.conftest import make_logger
from tests.unit.proxy.test_cluster import Client

HASH_CONF = HashConf(b'p', b's')


@pytest.fixture
def cluster(tmp_path):
    handle = InProcessCluster(tmp_path, logger=make_logger('policies'),
                              policies=True)
    yield handle
    handle.stop()


@pytest.fixture
def tester(cluster):
    return Client(cluster, 'test:tester')


def policy_of(tester, container):
    status, headers, _ = tester('HEAD', container)
    assert status == 204
    return headers.get('x-storage-policy')


def test_container_put_binds_policy_by_name_or_alias(tester):
    assert tester('PUT', '/plain')[0] == 201
    assert policy_of(tester, '/plain') == 'gold'
    assert tester('PUT', '/named', {'X-Storage-Policy': 'silver'})[0] == 201
    assert policy_of(tester, '/named') == 'silver'
    assert tester('PUT', '/aliased', {'X-Storage-Policy': 'REDUCED'})[0] \
        == 201
    assert policy_of(tester, '/aliased') == 'silver'
    status, headers, _ = tester('GET', '/aliased')
    assert headers['x-storage-policy'] == 'silver'
    assert 'x-backend-storage-policy-index' not in headers


def test_unknown_or_deprecated_policy_is_400(tester):
    status, _, body = tester('PUT', '/c', {'X-Storage-Policy': 'bronze'})
    assert (status, body) == (400, b"Invalid X-Storage-Policy 'bronze'")
    status, _, body = tester('PUT', '/c', {'X-Storage-Policy': 'old'})
    assert (status, body) == (400, b"Storage Policy 'old' is deprecated")
    assert tester('HEAD', '/c')[0] == 404


def test_changing_the_policy_is_409_and_keeps_it(tester):
    tester('PUT', '/c', {'X-Storage-Policy': 'silver'})
    assert tester('PUT', '/c', {'X-Storage-Policy': 'gold'})[0] == 409
    assert tester('PUT', '/c', {'X-Storage-Policy': 'reduced'})[0] == 202
    assert tester('PUT', '/c', {'X-Container-Meta-A': 'b'})[0] == 202
    assert policy_of(tester, '/c') == 'silver'


def test_object_lands_on_its_policy_ring_and_dirs(cluster, tester):
    tester('PUT', '/c', {'X-Storage-Policy': 'silver'})
    assert tester('PUT', '/c/o', body=b'silver body')[0] == 201
    assert tester('GET', '/c/o')[2] == b'silver body'
    account = tester.storage_path.rsplit('/', 1)[1]
    ring = cluster.rings['object-1']
    part, primaries = ring.get_nodes(account, 'c', 'o')
    assert len(primaries) == 2
    obj_hash = hash_path(account, 'c', 'o', hash_conf=HASH_CONF)
    holders = []
    for index in range(len(cluster.servers['object'])):
        device = os.path.join(cluster.root, 'object', 'node%d' % index,
                              'd%d' % index)
        assert not os.path.exists(os.path.join(device, 'objects'))
        hash_dir = os.path.join(device, 'objects-1', str(part),
                                obj_hash[-3:], obj_hash)
        if os.path.isdir(hash_dir):
            holders.append(index)
    assert holders == sorted(cluster.node_index('object', node)
                             for node in primaries)
    status, _, body = tester('GET', '/c?format=json')
    assert [e['name'] for e in json.loads(body)] == ['o']


def test_two_replicas_update_all_three_container_replicas(cluster, tester):
    tester('PUT', '/c', {'X-Storage-Policy': 'silver'})
    assert tester('PUT', '/c/o', body=b'x')[0] == 201
    account = tester.storage_path.rsplit('/', 1)[1]
    part, nodes = cluster.rings['container'].get_nodes(account, 'c')
    for node in nodes:
        status, _, body = direct_to(
            node, 'GET', '/%s/%d/%s/c' % (node['device'], part, account),
            query='format=json')
        assert (status, [e['name'] for e in json.loads(body)]) == \
            (200, ['o']), node['device']


def test_info_lists_policies_not_deprecated(tester):
    status, _, body = tester.raw('GET', '/info')
    assert status == 200
    assert json.loads(body)['swift']['policies'] == [
        {'name': 'gold', 'aliases': 'gold, yellow', 'default': True},
        {'name': 'silver', 'aliases': 'silver, reduced'}]


def test_deprecated_policy_still_serves_its_containers(cluster, tester):
    tester('PUT', '/c', {'X-Storage-Policy': 'silver'})
    tester('PUT', '/c/o', body=b'kept')
    # The operator deprecates silver: its container keeps working.
    deprecated = StoragePolicies.from_sections({
        'storage-policy:0': {'name': 'gold', 'default': 'yes'},
        'storage-policy:1': {'name': 'silver', 'deprecated': 'yes'}})
    old_app = cluster.proxy_app
    cluster.proxy.stop()
    old_app.client.pool.close_all()
    cluster.proxy_app = Application(
        {'conf_dir': cluster.root, 'log_level': 'WARNING'},
        account_ring=old_app.account_ring,
        container_ring=old_app.container_ring,
        object_rings=old_app.object_rings, policies=deprecated)
    cluster.proxy = serve_in_thread(cluster._pipeline(cluster.proxy_app))
    tester = Client(cluster, 'test:tester')
    assert tester('GET', '/c/o')[2] == b'kept'
    assert tester('PUT', '/c/o2', body=b'new')[0] == 201
    assert policy_of(tester, '/c') == 'silver'
    status, _, body = tester('PUT', '/d', {'X-Storage-Policy': 'silver'})
    assert (status, body) == (400, b"Storage Policy 'silver' is deprecated")


def ec_policies(ec_type='liberasurecode_rs_vand'):
    return StoragePolicies.from_sections({
        'storage-policy:0': {'name': 'gold', 'default': 'yes'},
        'storage-policy:1': {'name': 'silver'},
        'storage-policy:2': {
            'name': 'cold', 'policy_type': 'erasure_coding',
            'ec_type': ec_type, 'ec_num_data_fragments': '2',
            'ec_num_parity_fragments': '1'}})


def start_proxy(cluster, policies, ec_ring):
    rings = dict(cluster.proxy_app.object_rings)
    rings[2] = ec_ring
    return Application({'conf_dir': cluster.root, 'log_level': 'WARNING'},
                       account_ring=cluster.proxy_app.account_ring,
                       container_ring=cluster.proxy_app.container_ring,
                       object_rings=rings, policies=policies)


def test_ec_policy_needs_a_ring_of_k_plus_m_replicas(cluster):
    three = cluster.proxy_app.object_rings[0]
    assert three.replica_count == 3
    app = start_proxy(cluster, ec_policies(), three)
    assert app.ec_schemes[2].node_count == 3
    two = cluster.proxy_app.object_rings[1]
    with pytest.raises(ConfigError, match='needs a ring of 3 replicas, '
                                          'not 2'):
        start_proxy(cluster, ec_policies(), two)


def test_ec_backend_missing_here_stops_the_proxy(cluster):
    three = cluster.proxy_app.object_rings[0]
    with pytest.raises(ConfigError, match='not available on this machine'):
        start_proxy(cluster, ec_policies('jerasure_rs_vand'), three)
