"""The container-updater against three real account servers on loopback."""

import os

import pytest

from objstore.account.server import app_factory as account_app
from objstore.common.backend_client import direct_request
from objstore.common.daemon import read_status_file
from objstore.common.db_layout import db_path
from objstore.common.exceptions import ConfigError
from objstore.common.hashing import hash_path, load_hash_conf
from objstore.common.timestamp import Timestamp
from objstore.common.wsgi import serve_in_thread
from objstore.container.backend import ContainerBroker
from objstore.container.updater import (
    ContainerUpdater, ContainerUpdaterConf, quorum_size)
from objstore.ring.ring import Ring
from objstore.ring.ringdata import RingData
from tests.helpers import assert_db_daemon_sample_matches

CONTAINER_PORT = 6201


def dev(n, port):
    return {'id': n, 'region': 1, 'zone': n + 1, 'ip': '127.0.0.1',
            'port': port, 'replication_ip': '127.0.0.1',
            'replication_port': port, 'device': 'd%d' % n, 'weight': 1.0,
            'meta': ''}


class AccountCluster:
    """Three account servers (one partition, 3 replicas) and a container
    device served, as far as the ring says, on CONTAINER_PORT."""

    def __init__(self, base):
        self.base = str(base)
        self.conf_dir = os.path.join(self.base, 'etc')
        os.makedirs(self.conf_dir)
        with open(os.path.join(self.conf_dir, 'objstore.conf'), 'w') as out:
            out.write('[objstore-hash]\npath_hash_prefix = a\n'
                      'path_hash_suffix = b\n')
        self.hash_conf = load_hash_conf(self.conf_dir)
        self.account_devices = []
        self.servers = []
        for n in range(3):
            devices = os.path.join(self.base, 'accounts', str(n))
            os.makedirs(os.path.join(devices, 'd%d' % n))
            self.account_devices.append(devices)
            self.servers.append(self._serve(n))
        self.ports = [server.port for server in self.servers]
        RingData([[0], [1], [2]], [dev(n, p) for n, p in
                                   enumerate(self.ports)], 32).save(
            os.path.join(self.conf_dir, 'account.ring.gz'))
        RingData([[0]], [dev(0, CONTAINER_PORT)], 32).save(
            os.path.join(self.conf_dir, 'container.ring.gz'))
        self.container_devices = os.path.join(self.base, 'containers')
        self.container_device = os.path.join(self.container_devices, 'd0')
        os.makedirs(self.container_device)

    def _serve(self, n, port=0):
        app = account_app({}, devices=self.account_devices[n],
                          mount_check='false', conf_dir=self.conf_dir,
                          log_level='WARNING')
        return serve_in_thread(app, port=port)

    def stop(self, n):
        self.servers[n].stop()

    def start(self, n):
        self.servers[n] = self._serve(n, self.ports[n])

    def close(self):
        for server in self.servers:
            server.stop()

    def account_request(self, n, method, account, headers=None):
        return direct_request('127.0.0.1', self.ports[n], method,
                              '/d%d/0/%s' % (n, account),
                              headers=headers or {}, conn_timeout=5,
                              node_timeout=20)

    def create_account(self, account):
        for n in range(3):
            status, _h, _b = self.account_request(
                n, 'PUT', account, {'X-Timestamp': Timestamp.now().internal})
            assert status == 201

    def container_db(self, account, container, objects=()):
        name_hash = hash_path(account, container, hash_conf=self.hash_conf)
        broker = ContainerBroker(db_path(self.container_device, 'container',
                                         0, name_hash),
                                 account=account, container=container)
        broker.initialize(Timestamp.now().internal)
        for name, size in objects:
            broker.put_object(name, Timestamp.now().internal, size,
                              'text/plain', 'e')
        return broker

    def updater(self, **overrides):
        conf = {'devices': self.container_devices, 'mount_check': 'false',
                'bind_ip': '127.0.0.1', 'bind_port': str(CONTAINER_PORT),
                'conf_dir': self.conf_dir,
                'recon_cache_path': os.path.join(self.base, 'recon'),
                'containers_per_second': '0', 'conn_timeout': '5',
                'log_level': 'ERROR'}
        conf.update(overrides)
        return ContainerUpdater(conf)


@pytest.fixture
def cluster(tmp_path):
    made = AccountCluster(tmp_path)
    yield made
    made.close()


def account_stats(cluster, n, account):
    status, headers, _b = cluster.account_request(n, 'HEAD', account)
    assert status == 204
    return (int(headers['x-account-container-count']),
            int(headers['x-account-object-count']),
            int(headers['x-account-bytes-used']))


def test_quorum_size():
    assert [quorum_size(n) for n in (1, 3, 5)] == [1, 2, 3]


def test_changed_stats_reach_every_account_replica_once(cluster):
    cluster.create_account('AUTH_a')
    broker = cluster.container_db('AUTH_a', 'c1', [('o1', 10), ('o2', 5)])
    stats = cluster.updater().run_once(once=True)
    assert stats.get('successes') == 1 and stats.get('failures') == 0
    for n in range(3):
        assert account_stats(cluster, n, 'AUTH_a') == (1, 2, 15)
    info = broker.get_info()
    assert info['reported_object_count'] == 2
    assert info['reported_bytes_used'] == 15
    # Nothing changed: nothing is sent.
    again = cluster.updater().run_once()
    assert again.get('no_changes') == 1 and again.get('successes') == 0
    record = read_status_file(os.path.join(cluster.base, 'recon'),
                              'container-updater', 'd0')
    assert record['counts']['no_changes'] == 1
    # A new object is reported on the next pass.
    broker.put_object('o3', Timestamp.now().internal, 100, 'x', 'e')
    assert cluster.updater().run_once().get('successes') == 1
    assert account_stats(cluster, 2, 'AUTH_a') == (1, 3, 115)


def test_quorum_is_enough_and_less_is_retried(cluster):
    cluster.create_account('AUTH_a')
    broker = cluster.container_db('AUTH_a', 'c1', [('o1', 1)])
    cluster.stop(2)
    try:
        assert cluster.updater().run_once().get('successes') == 1
        assert broker.get_info()['reported_object_count'] == 1
        assert account_stats(cluster, 0, 'AUTH_a') == (1, 1, 1)
        broker.put_object('o2', Timestamp.now().internal, 1, 'x', 'e')
        cluster.stop(1)
        stats = cluster.updater().run_once()
        assert stats.get('failures') == 1
        assert account_stats(cluster, 0, 'AUTH_a') == (1, 2, 2)
        # Not recorded as reported: the next pass tries again.
        assert broker.get_info()['reported_object_count'] == 1
    finally:
        for n in (1, 2):
            cluster.start(n)
    assert cluster.updater().run_once().get('successes') == 1
    # Node 1 holds two reports with the same put timestamp: the later
    # one wins; node 2 missed both earlier ones.
    for n in (1, 2):
        assert account_stats(cluster, n, 'AUTH_a') == (1, 2, 2)


def test_missing_account_is_counted_not_created(cluster):
    broker = cluster.container_db('AUTH_none', 'c1', [('o1', 1)])
    stats = cluster.updater().run_once()
    assert stats.get('account_missing') == 3 and stats.get('failures') == 1
    assert broker.get_info()['reported_object_count'] == 0
    status, _h, _b = cluster.account_request(0, 'HEAD', 'AUTH_none')
    assert status == 404


def test_deleted_container_is_reported_as_deleted(cluster):
    cluster.create_account('AUTH_a')
    broker = cluster.container_db('AUTH_a', 'gone')
    cluster.updater().run_once()
    assert account_stats(cluster, 0, 'AUTH_a')[0] == 1
    broker.delete_db(Timestamp.now().internal)
    assert cluster.updater().run_once().get('successes') == 1
    for n in range(3):
        assert account_stats(cluster, n, 'AUTH_a') == (0, 0, 0)


@pytest.mark.parametrize('option, value', [
    ('concurrency', '0'), ('node_timeout', '0'),
    ('containers_per_second', '-2'), ('interval', 'soon')])
def test_bad_config_is_refused(option, value):
    with pytest.raises(ConfigError):
        ContainerUpdaterConf.from_conf({option: value})


def test_rings_are_injectable(cluster):
    ring = Ring(cluster.conf_dir, 'container')
    updater = ContainerUpdater(
        {'devices': cluster.container_devices, 'mount_check': 'false',
         'bind_ip': '127.0.0.1', 'bind_port': str(CONTAINER_PORT),
         'conf_dir': '/nonexistent', 'log_level': 'ERROR',
         'recon_cache_path': os.path.join(cluster.base, 'recon')},
        container_ring=ring, account_ring=Ring(cluster.conf_dir, 'account'))
    assert updater.run_once().get('errors') == 0


# -- the sample config agrees with the dataclass ----------------------

@pytest.mark.parametrize('conf_class, sample, section', [
    (ContainerUpdaterConf, 'container-daemons.conf-sample',
     'container-updater')])
def test_sample_config_matches_the_dataclass(conf_class, sample, section):
    assert_db_daemon_sample_matches(conf_class, sample, section)


def test_partitions_option_limits_the_pass(cluster):
    cluster.create_account('AUTH_a')
    cluster.container_db('AUTH_a', 'c1', [('o1', 1)])
    assert cluster.updater().run_once(partitions=[5]).get('successes') == 0
    assert cluster.updater().run_once(partitions=[0]).get('successes') == 1
