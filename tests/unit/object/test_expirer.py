"""The object expirer on real tmp devices, with recording container
backends on loopback ports placed by a real container ring."""

import os
import time

import pytest

from objstore.common.daemon import DaemonConf, read_status_file
from objstore.common.exceptions import ConfigError, DiskFileDeleted
from objstore.common.timestamp import Timestamp
from objstore.object import asyncpending, expiring
from objstore.object.diskfile import DiskFileManager, DiskFileSettings
from objstore.object.expirer import (
    ObjectExpirer, ObjectExpirerConf, tombstone_timestamp)
from objstore.ring.builder import RingBuilder
from objstore.ring.ring import Ring
from tests.helpers import assert_sample_matches
from tests.unit.object.conftest import HASH_CONF, RecordingBackend

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'object-daemons.conf-sample')
PART = 5


class Node:
    def __init__(self, tmp_path, ports):
        self.tmp = tmp_path
        self.devices = tmp_path / 'devices'
        (self.devices / 'd1').mkdir(parents=True)
        self.device_path = str(self.devices / 'd1')
        self.mgr = DiskFileManager(DiskFileSettings(
            devices=str(self.devices), hash_conf=HASH_CONF))
        etc = tmp_path / 'etc'
        etc.mkdir()
        builder = RingBuilder(1, len(ports), 0)
        for i, port in enumerate(ports):
            builder.add_dev({'region': 1, 'zone': i, 'ip': '127.0.0.1',
                             'port': port, 'device': 'cd%d' % i,
                             'weight': 1})
        builder.rebalance(seed=3)
        builder.get_ring().save(str(etc / 'container.ring.gz'))
        self.ring = Ring(str(etc), 'container', hash_conf=HASH_CONF)

    def put(self, obj, delete_at, ts=None, queue=True):
        ts = Timestamp(ts or time.time() - 50)
        df = self.mgr.get_diskfile('d1', PART, 'AUTH_a', 'c', obj)
        with df.create(2) as writer:
            writer.write(b'hi')
            writer.put({'X-Timestamp': ts.internal,
                        'Content-Type': 'text/plain',
                        'X-Delete-At': str(delete_at)})
        if queue:
            expiring.add_entry(self.device_path, df.hash, expiring.make_entry(
                'AUTH_a', 'c', obj, PART, delete_at, ts.internal))
        return df

    def expirer(self, **extra):
        conf = {'devices': str(self.devices), 'mount_check': 'false',
                'recon_cache_path': str(self.tmp / 'recon'),
                'log_level': 'ERROR', 'node_timeout': '2',
                'tasks_per_second': '0'}
        conf.update({k: str(v) for k, v in extra.items()})
        return ObjectExpirer(conf, container_ring=self.ring,
                             hash_conf=HASH_CONF)

    def state(self, obj):
        df = self.mgr.get_diskfile('d1', PART, 'AUTH_a', 'c', obj)
        try:
            df.open(now=0)
        except DiskFileDeleted as err:
            return err.timestamp
        df.close()
        return 'present'

    def queue(self):
        return sorted(entry['obj'] for _p, entry in expiring.iter_expired(
            self.device_path, 0, 10 ** 10))


@pytest.fixture
def backends():
    made = [RecordingBackend(status=204), RecordingBackend(status=204)]
    yield made
    for backend in made:
        backend.stop()


@pytest.fixture
def node(tmp_path, backends):
    return Node(tmp_path, [b.server.port for b in backends])


def test_tombstone_timestamp():
    assert tombstone_timestamp(100, None) == Timestamp(100)
    assert tombstone_timestamp(100, Timestamp(99)) == Timestamp(100)
    assert tombstone_timestamp(100, Timestamp(100)) > Timestamp(100)


def test_conf_validation_and_sample():
    with pytest.raises(ConfigError):
        ObjectExpirerConf.from_conf({'tasks_per_second': '-2'})
    assert_sample_matches(ObjectExpirerConf, SAMPLE, 'object-expirer',
                          ignore=tuple(DaemonConf.option_defaults())[:-1])


def test_due_object_gets_delete_at_tombstone_and_listing_row(node, backends):
    delete_at = int(time.time()) - 5
    node.put('gone', delete_at)
    node.put('later', int(time.time()) + 3600)
    stats = node.expirer().run_once(once=True)
    assert stats.get('expired') == 1 and stats.get('due') == 1
    assert node.state('gone') == Timestamp(delete_at)
    assert node.state('later') == 'present'
    assert node.queue() == ['later']
    for backend in backends:
        (method, path, headers), = backend.requests
        assert method == 'DELETE' and path.endswith('/AUTH_a/c/gone')
        assert headers['X-Timestamp'] == Timestamp(delete_at).internal
    status = read_status_file(str(node.tmp / 'recon'), 'object-expirer',
                              'd1')
    assert status['counts']['expired'] == 1


def test_stale_entries_leave_objects_alone(node, backends):
    now = int(time.time())
    moved = node.put('moved', now - 5)
    moved.write_metadata({'X-Timestamp': Timestamp(time.time() - 1).internal,
                          'X-Delete-At': str(now + 3600)})
    expiring.add_entry(node.device_path, node.put('missing', now - 5,
                                                  queue=False).hash,
                       expiring.make_entry('AUTH_a', 'c', 'missing', PART,
                                           now - 5, '1.00000'))
    node.mgr.get_diskfile('d1', PART, 'AUTH_a', 'c', 'missing').delete(
        Timestamp(time.time()))
    stats = node.expirer().run_once()
    assert stats.get('stale') == 2 and stats.get('expired') == 0
    assert node.state('moved') == 'present'
    assert node.queue() == []
    assert all(b.requests == [] for b in backends)


def test_down_container_node_gets_an_async_pending(node, backends):
    backends[1].stop()
    delete_at = int(time.time()) - 1
    node.put('o', delete_at)
    stats = node.expirer().run_once()
    assert stats.get('expired') == 1
    assert stats.get('container_failures') == 1
    (_path, update), = asyncpending.iter_async_pendings(node.device_path, 0)
    assert update['op'] == 'DELETE'
    assert update['headers']['X-Timestamp'] == Timestamp(delete_at).internal
    assert [n['device'] for n in update['container_nodes']] == ['cd1']
    assert update['container_nodes'][0]['host'].endswith(
        ':%d' % backends[1].server.port)
    assert node.queue() == []


def test_unreadable_entry_is_dropped(node):
    path = expiring.entry_path(node.device_path, 0, int(time.time()) - 1,
                               'f' * 32)
    os.makedirs(os.path.dirname(path))
    with open(path, 'wb') as f:
        f.write(b'garbage')
    stats = node.expirer().run_once()
    assert stats.get('stale') == 1 and not os.path.exists(path)
