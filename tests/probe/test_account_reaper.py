"""Deleting an account on a real aio cluster: the reaper removes its
objects and containers from every primary, and marks it reaped once the
account replicas share the deleted container rows.

The aio proxy runs without ``allow_account_management``, so the account
is deleted the way a reseller's tooling does it on such a cluster:
``DELETE`` with an ``X-Timestamp`` straight on every account server
primary.
"""

import concurrent.futures
import json
from urllib.parse import quote, urlparse

from objstore.account.backend import AccountBroker
from objstore.account.reaper import REAPED_KEY
from objstore.common.db_layout import db_path
from objstore.common.hashing import hash_path
from objstore.common.timestamp import Timestamp
from tests.helpers import direct_to, node_of, proxy_request

USER = 'test2:tester2'
CONTAINERS = ['alpha', 'beta', 'gamma', 'delta']
OBJECTS_PER_CONTAINER = 10


def proxy(cluster, method, path, body=None):
    return proxy_request(cluster, USER, method, path, body)


def populate(cluster):
    names = [(c, 'obj-%02d' % i) for c in CONTAINERS
             for i in range(OBJECTS_PER_CONTAINER)]
    for container in CONTAINERS:
        assert proxy(cluster, 'PUT', '/' + container)[0] in (201, 202)

    def put(item):
        container, name = item
        return proxy(cluster, 'PUT', '/%s/%s' % (container, quote(name)),
                     b'body of ' + name.encode())[0]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert set(pool.map(put, names)) == {201}
    return names


def account_broker(cluster, dev, part, account):
    name_hash = hash_path(account, hash_conf=cluster.hash_conf)
    return AccountBroker(db_path(cluster.device_path(node_of(dev)),
                                 'account', part, name_hash))


def test_reaper_empties_a_deleted_account(cluster):
    account = urlparse(cluster.get_token(USER)[0]).path.rsplit('/', 1)[-1]
    names = populate(cluster)
    status, body = proxy(cluster, 'GET', '?format=json')
    assert status == 200
    assert sorted(c['name'] for c in json.loads(body)) == sorted(CONTAINERS)

    apart, anodes = cluster.ring('account').get_nodes(account)
    timestamp = Timestamp.now().internal
    for dev in anodes:
        status, _h, _b = direct_to(dev, 'DELETE', '/%s/%d/%s' % (
            dev['device'], apart, account), {'X-Timestamp': timestamp})
        assert status == 204, dev['device']

    cluster.run_daemon('account-reaper')

    object_ring = cluster.ring('object')
    for container, name in names:
        part, nodes = object_ring.get_nodes(account, container, name)
        for dev in nodes:
            status, _h, _b = direct_to(dev, 'HEAD', '/%s/%d/%s/%s/%s' % (
                dev['device'], part, account, container, name),
                {'X-Backend-Storage-Policy-Index': '0'})
            assert status == 404, (container, name, dev['device'])
    container_ring = cluster.ring('container')
    for container in CONTAINERS:
        part, nodes = container_ring.get_nodes(account, container)
        for dev in nodes:
            status, _h, _b = direct_to(dev, 'HEAD', '/%s/%d/%s/%s' % (
                dev['device'], part, account, container))
            assert status == 404, (container, dev['device'])

    # Each account replica deleted its share of the containers; account
    # replication shares the deleted rows, then every replica is empty and
    # the next reaper pass marks it reaped.
    cluster.run_daemon('account-replicator')
    cluster.run_daemon('account-reaper')
    for dev in anodes:
        broker = account_broker(cluster, dev, apart, account)
        try:
            info = broker.get_info()
            assert info['container_count'] == 0, dev['device']
            assert info['status'] == 'DELETED'
            assert REAPED_KEY in broker.metadata, dev['device']
        finally:
            broker.close()
    assert proxy(cluster, 'GET', '/alpha')[0] == 404
