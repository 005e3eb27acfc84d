"""The account-reaper against real account, container and object servers.

Three nodes of each kind on loopback ports, one partition per ring and
three replicas, so every node holds every DB and every object.
"""

import json
import os

import pytest

from objstore.account import reaper as reaper_module
from objstore.account.backend import AccountBroker
from objstore.account.reaper import (
    REAPED_KEY, AccountReaper, AccountReaperConf, container_shard)
from objstore.account.server import app_factory as account_app
from objstore.common.backend_client import direct_request
from objstore.common.db_layout import db_path
from objstore.common.exceptions import ConfigError
from objstore.common.hashing import hash_path, load_hash_conf
from objstore.common.timestamp import Timestamp
from objstore.common.wsgi import serve_in_thread
from objstore.container.server import app_factory as container_app
from objstore.object.server import app_factory as object_app
from objstore.common.storage_policy import policy_ring_name
from objstore.ring.ringdata import RingData
from tests.helpers import assert_db_daemon_sample_matches

KINDS = {'account': account_app, 'container': container_app,
         'object': object_app}
ACCOUNT = 'AUTH_gone'


def ring_dev(n, port):
    return {'id': n, 'region': 1, 'zone': n + 1, 'ip': '127.0.0.1',
            'port': port, 'replication_ip': '127.0.0.1',
            'replication_port': port, 'device': 'd%d' % n, 'weight': 1.0,
            'meta': ''}


class Cluster:
    def __init__(self, base):
        self.base = str(base)
        self.conf_dir = os.path.join(self.base, 'etc')
        os.makedirs(self.conf_dir)
        with open(os.path.join(self.conf_dir, 'objstore.conf'), 'w') as out:
            out.write('[objstore-hash]\npath_hash_prefix = x\n'
                      'path_hash_suffix = y\n')
        self.hash_conf = load_hash_conf(self.conf_dir)
        self.servers = {}
        self.ports = {}
        for kind in KINDS:
            for n in range(3):
                os.makedirs(os.path.join(self.devices(kind, n), 'd%d' % n))
                self.start(kind, n)
            self.ports[kind] = [self.servers[kind, n].port for n in range(3)]
            RingData([[0], [1], [2]],
                     [ring_dev(n, p) for n, p in enumerate(self.ports[kind])],
                     32).save(os.path.join(self.conf_dir,
                                           '%s.ring.gz' % kind))

    def devices(self, kind, n):
        return os.path.join(self.base, kind, str(n))

    def start(self, kind, n):
        app = KINDS[kind]({}, devices=self.devices(kind, n),
                          mount_check='false', conf_dir=self.conf_dir,
                          log_level='ERROR', conn_timeout='5',
                          node_timeout='20', container_update_timeout='20')
        port = self.ports[kind][n] if kind in self.ports else 0
        self.servers[kind, n] = serve_in_thread(app, port=port)

    def stop(self, kind, n):
        self.servers[kind, n].stop()

    def close(self):
        for server in self.servers.values():
            server.stop()

    def call(self, kind, n, method, path, headers=None, body=b''):
        headers = dict(headers or {})
        headers.setdefault('X-Timestamp', Timestamp.now().internal)
        # Generous timeouts: a loaded test machine is slow, not broken.
        return direct_request('127.0.0.1', self.ports[kind][n], method,
                              '/d%d/0/%s' % (n, path), headers=headers,
                              body=body, conn_timeout=5, node_timeout=20)

    def populate(self, containers):
        """The account, its containers (reported to the account) and
        objects {container: [names]}."""
        for n in range(3):
            assert self.call('account', n, 'PUT', ACCOUNT)[0] == 201
        for container, objects in containers.items():
            for n in range(3):
                status = self.call('container', n, 'PUT', '%s/%s' % (
                    ACCOUNT, container), {
                        'X-Account-Host': '127.0.0.1:%d'
                                          % self.ports['account'][n],
                        'X-Account-Partition': '0',
                        'X-Account-Device': 'd%d' % n})[0]
                assert status == 201
            for name in objects:
                for n in range(3):
                    status = self.call('object', n, 'PUT', '%s/%s/%s' % (
                        ACCOUNT, container, name), {
                            'Content-Type': 'text/plain',
                            'X-Container-Host': '127.0.0.1:%d'
                                                % self.ports['container'][n],
                            'X-Container-Partition': '0',
                            'X-Container-Device': 'd%d' % n},
                        body=b'data of ' + name.encode())[0]
                    assert status == 201

    def delete_account(self):
        for n in range(3):
            assert self.call('account', n, 'DELETE', ACCOUNT)[0] == 204

    def account_broker(self, n):
        name_hash = hash_path(ACCOUNT, hash_conf=self.hash_conf)
        return AccountBroker(db_path(os.path.join(self.devices('account', n),
                                                  'd%d' % n),
                                     'account', 0, name_hash))

    def reaper(self, n, **overrides):
        conf = {'devices': self.devices('account', n),
                'mount_check': 'false', 'bind_ip': '127.0.0.1',
                'bind_port': str(self.ports['account'][n]),
                'conf_dir': self.conf_dir,
                'recon_cache_path': os.path.join(self.base, 'recon', str(n)),
                'deletes_per_second': '0', 'conn_timeout': '5',
                'node_timeout': '20', 'log_level': 'ERROR'}
        conf.update(overrides)
        return AccountReaper(conf)

    def reap_everywhere(self):
        totals = {}
        for n in range(3):
            for name, count in self.reaper(n).run_once().counts.items():
                totals[name] = totals.get(name, 0) + count
        return totals

    def share_account_rows(self):
        """What account replication would do: every DB gets every row."""
        brokers = [self.account_broker(n) for n in range(3)]
        rows = [row for b in brokers for row in b.get_items_since(-1, 1000)]
        for broker in brokers:
            broker.merge_items(rows)
            broker.close()


@pytest.fixture
def cluster(tmp_path):
    made = Cluster(tmp_path)
    yield made
    made.close()


CONTENTS = {'c%d' % i: ['o%d-%d' % (i, j) for j in range(3)]
            for i in range(4)}


def test_deleted_account_is_emptied_then_marked_reaped(cluster):
    cluster.populate(CONTENTS)
    cluster.delete_account()
    totals = cluster.reap_everywhere()
    assert totals['containers_deleted'] == 4
    assert totals['objects_deleted'] == 12
    assert totals.get('objects_remaining', 0) == 0
    for container, objects in CONTENTS.items():
        for n in range(3):
            for name in objects:
                status = cluster.call('object', n, 'GET', '%s/%s/%s' % (
                    ACCOUNT, container, name))[0]
                assert status == 404
            assert cluster.call('container', n, 'GET', '%s/%s' % (
                ACCOUNT, container))[0] == 404
    # Once replication shares the deleted rows, each node sees an empty
    # account and marks it reaped.
    cluster.share_account_rows()
    totals = cluster.reap_everywhere()
    assert totals['accounts_reaped'] == 3
    assert totals.get('containers_deleted', 0) == 0
    for n in range(3):
        broker = cluster.account_broker(n)
        assert REAPED_KEY in broker.metadata
        assert broker.get_info()['container_count'] == 0
    # Marked once: a later pass does not count it again.
    assert cluster.reap_everywhere().get('accounts_reaped', 0) == 0


def test_each_node_reaps_only_its_share(cluster):
    cluster.populate(CONTENTS)
    cluster.delete_account()
    stats = cluster.reaper(1).run_once()
    mine = [c for c in CONTENTS if container_shard(c, 3) == 1]
    assert stats.get('containers_deleted') == len(mine)
    for container in CONTENTS:
        status = cluster.call('container', 0, 'HEAD', '%s/%s' % (
            ACCOUNT, container))[0]
        assert (status == 404) == (container in mine)


def test_live_account_is_left_alone(cluster):
    cluster.populate({'keep': ['a']})
    totals = cluster.reap_everywhere()
    assert totals.get('containers_deleted', 0) == 0
    assert cluster.call('object', 0, 'GET', '%s/keep/a' % ACCOUNT)[0] == 200


def test_delay_reaping_holds_the_reaper_back(cluster):
    cluster.populate({'c': ['a']})
    cluster.delete_account()
    stats = cluster.reaper(0, delay_reaping='3600').run_once()
    assert stats.get('accounts_delayed') == 1
    assert stats.get('objects_deleted') == 0
    assert cluster.call('object', 0, 'GET', '%s/c/a' % ACCOUNT)[0] == 200


def test_unreachable_object_nodes_leave_work_for_the_next_pass(cluster):
    contents = {'c0': ['a', 'b']}
    cluster.populate(contents)
    cluster.delete_account()
    shard_node = container_shard('c0', 3)
    cluster.stop('object', 0)
    cluster.stop('object', 1)
    try:
        stats = cluster.reaper(shard_node).run_once()
    finally:
        cluster.start('object', 0)
        cluster.start('object', 1)
    assert stats.get('objects_remaining') == 2
    assert stats.get('containers_remaining') == 1
    assert stats.get('containers_deleted') == 0
    live = [row['name'] for row in
            cluster.account_broker(shard_node).get_items_since(-1, 10)
            if not row['deleted']]
    assert live == ['c0']
    stats = cluster.reaper(shard_node).run_once()
    assert stats.get('objects_deleted') == 2
    assert stats.get('containers_deleted') == 1


def test_listing_is_paged_through(cluster, monkeypatch):
    cluster.populate({'many': ['o%03d' % i for i in range(7)]})
    cluster.delete_account()
    reaper = cluster.reaper(container_shard('many', 3))
    pages = []
    real = reaper.request

    def spy(ip, port, method, path, **kwargs):
        if method == 'GET':
            pages.append(kwargs.get('query'))
        return real(ip, port, method, path, **kwargs)

    reaper.request = spy
    monkeypatch.setattr(reaper_module, 'LISTING_BATCH', 3)
    stats = reaper.run_once()
    assert stats.get('objects_deleted') == 7
    assert any('marker=o002' in page for page in pages)


def test_status_file_counts(cluster):
    cluster.populate({'c': ['a']})
    cluster.delete_account()
    cluster.reaper(container_shard('c', 3)).run_once(once=True)
    path = os.path.join(cluster.base, 'recon', str(container_shard('c', 3)),
                        'account-reaper', 'd%d.json'
                        % container_shard('c', 3))
    with open(path) as status:
        record = json.load(status)
    assert record['counts']['objects_deleted'] == 1
    assert record['counts']['containers_deleted'] == 1


def test_helpers_and_config():
    assert policy_ring_name(0) == 'object'
    assert policy_ring_name(2) == 'object-2'
    assert {container_shard('c%d' % i, 3) for i in range(40)} == {0, 1, 2}
    for option, value in (('delay_reaping', '-1'), ('node_timeout', '0'),
                          ('deletes_per_second', 'x')):
        with pytest.raises(ConfigError):
            AccountReaperConf.from_conf({option: value})


# -- the sample config agrees with the dataclass ----------------------

@pytest.mark.parametrize('conf_class, sample, section', [
    (AccountReaperConf, 'account-daemons.conf-sample', 'account-reaper')])
def test_sample_config_matches_the_dataclass(conf_class, sample, section):
    assert_db_daemon_sample_matches(conf_class, sample, section)


def test_replica_that_missed_the_delete_reaps_its_share_too(cluster):
    cluster.populate(CONTENTS)
    timestamp = Timestamp.now().internal
    for n in (0, 1):
        assert cluster.call('account', n, 'DELETE', ACCOUNT,
                            {'X-Timestamp': timestamp})[0] == 204
    # What the account replicator's sync tells node 2: the delete time.
    late = cluster.account_broker(2)
    info = late.get_info()
    late.merge_timestamps(info['created_at'], info['put_timestamp'],
                          timestamp)
    late.close()
    totals = cluster.reap_everywhere()
    assert totals['containers_deleted'] == len(CONTENTS)
    assert totals.get('containers_remaining', 0) == 0
