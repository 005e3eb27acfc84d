"""The object updater against real recording container backends on
loopback ports, with async pendings on real tmp devices."""

import os
import time

import pytest

from objstore.common.daemon import DaemonConf, read_status_file
from objstore.common.exceptions import ConfigError
from objstore.common.timestamp import Timestamp
from objstore.object import asyncpending
from objstore.common.row_update import parse_host
from objstore.object.updater import (
    ObjectUpdater, ObjectUpdaterConf, group_superseded)
from tests.helpers import FakeClock, assert_sample_matches, free_port
from tests.unit.object.conftest import RecordingBackend

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'object-daemons.conf-sample')
HASH_A = 'a' * 29 + '123'
HASH_B = 'b' * 29 + '123'


@pytest.fixture
def backends():
    made = [RecordingBackend(), RecordingBackend()]
    yield made
    for backend in made:
        backend.stop()


@pytest.fixture
def device(tmp_path):
    path = tmp_path / 'devices' / 'd1'
    path.mkdir(parents=True)
    return str(path)


def updater(device, clock=None, **extra):
    conf = {'devices': os.path.dirname(device), 'mount_check': 'false',
            'recon_cache_path': os.path.join(os.path.dirname(device),
                                             '..', 'recon'),
            'log_level': 'ERROR', 'objects_per_second': '0',
            'node_timeout': '2'}
    conf.update({k: str(v) for k, v in extra.items()})
    if clock is None:
        return ObjectUpdater(conf)
    return ObjectUpdater(conf, clock=clock, sleep=clock.sleep)


def pending(device, hosts, obj='o', obj_hash=HASH_A, ts=None, op='PUT',
            policy_index=0):
    ts = Timestamp(ts or time.time()).internal
    headers = {'X-Timestamp': ts, 'X-Trans-Id': 'tx1',
               'X-Backend-Storage-Policy-Index': str(policy_index)}
    if op == 'PUT':
        headers.update({'X-Size': '3', 'X-Content-Type': 'text/plain',
                        'X-Etag': 'e' * 32})
    nodes = [{'host': host, 'partition': '7', 'device': 'cd%d' % i}
             for i, host in enumerate(hosts)]
    update = asyncpending.make_update(op, 'AUTH_a', 'c', obj, headers,
                                      policy_index, nodes)
    return asyncpending.write_async_pending(device, obj_hash, update)


def test_split_host_and_grouping():
    assert parse_host('127.0.0.1:6201') == ('127.0.0.1', 6201)
    for bad in ('nohost', ':80', 'h:x'):
        with pytest.raises(ValueError):
            parse_host(bad)
    items = [('/p/%s-1' % HASH_A, 1), ('/p/%s-2' % HASH_A, 2),
             ('/p/%s-1' % HASH_B, 3)]
    assert [s for _p, _u, s in group_superseded(items)] == [True, False,
                                                           False]
    assert list(group_superseded([])) == []


def test_conf_validation_and_sample():
    with pytest.raises(ConfigError):
        ObjectUpdaterConf.from_conf({'concurrency': '0'})
    with pytest.raises(ConfigError):
        ObjectUpdaterConf.from_conf({'node_timeout': '0'})
    assert_sample_matches(ObjectUpdaterConf, SAMPLE, 'object-updater',
                          ignore=tuple(DaemonConf.option_defaults())[:-1])


def test_delivered_update_is_removed(device, backends):
    path = pending(device, [b.host for b in backends], obj='o/x y')
    stats = updater(device).run_once(once=True)
    assert stats.get('successes') == 1 and not os.path.exists(path)
    for i, backend in enumerate(backends):
        (method, req_path, headers), = backend.requests
        assert method == 'PUT'
        assert req_path == '/cd%d/7/AUTH_a/c/o/x y' % i
        assert headers['X-Size'] == '3' and headers['X-Etag'] == 'e' * 32
    status = read_status_file(os.path.join(device, '..', '..', 'recon'),
                              'object-updater', 'd1')
    assert status['counts']['successes'] == 1


def test_kept_until_every_listed_node_took_it(device, backends):
    backends[1].status = 503
    dead_host = '127.0.0.1:%d' % free_port()
    path = pending(device, [backends[0].host, backends[1].host])
    other = pending(device, [dead_host], obj='p', obj_hash=HASH_B)
    stats = updater(device).run_once()
    assert stats.get('failures') == 2 and stats.get('successes') == 0
    assert os.path.exists(path) and os.path.exists(other)
    backends[1].status = 204
    stats = updater(device).run_once()
    assert stats.get('successes') == 1 and not os.path.exists(path)
    assert os.path.exists(other)


def test_older_update_of_same_object_is_superseded(device, backends):
    now = time.time()
    old = pending(device, [backends[0].host], ts=now - 10)
    new = pending(device, [backends[0].host], ts=now, op='DELETE')
    stats = updater(device).run_once()
    assert stats.get('superseded') == 1 and stats.get('successes') == 1
    assert not os.path.exists(old) and not os.path.exists(new)
    (method, _path, headers), = backends[0].requests
    assert method == 'DELETE'
    assert headers['X-Timestamp'] == Timestamp(now).internal


def test_unreadable_pending_is_quarantined(device, backends):
    path = pending(device, [backends[0].host])
    with open(path, 'wb') as f:
        f.write(b'{not json')
    stats = updater(device).run_once()
    assert stats.get('quarantines') == 1 and not os.path.exists(path)
    assert os.listdir(os.path.join(device, 'quarantined',
                                   'async_pending')) == [
        os.path.basename(path)]
    assert backends[0].requests == []


def test_pendings_for_one_container_go_as_batches(device, backends):
    names = ['o%d' % i for i in range(6)]
    for i, name in enumerate(names):
        pending(device, [backends[0].host, backends[1].host], obj=name,
                obj_hash='%032x' % i, op='DELETE' if i % 2 else 'PUT')
    stats = updater(device, concurrency=8).run_once()
    assert stats.get('successes') == 6
    assert not os.listdir(os.path.join(device, 'async_pending'))
    for backend in backends:
        assert sorted(path.rsplit('/', 1)[1] for _m, path, _h
                      in backend.requests) == names
        assert backend.batch_sizes and sum(backend.batch_sizes) > 1
    puts = [headers for method, _path, headers in backends[0].requests
            if method == 'PUT']
    assert len(puts) == 3 and all(h['X-Size'] == '3' for h in puts)


def test_policy_dirs_and_rate_limit(device, backends):
    for i in range(10):
        pending(device, [backends[0].host], obj='o%d' % i,
                obj_hash='%032x' % i, policy_index=i % 2)
    clock = FakeClock(now=50.0)
    stats = updater(device, clock, objects_per_second=5).run_once()
    assert stats.get('successes') == 10
    assert len(backends[0].requests) == 10
    assert clock.slept == pytest.approx(1.0, abs=0.21)
    assert not os.listdir(os.path.join(device, 'async_pending-1'))


def test_device_filter(tmp_path, backends):
    paths = {}
    for name in ('d1', 'd2'):
        device = tmp_path / 'devices' / name
        device.mkdir(parents=True)
        paths[name] = pending(str(device), [backends[0].host])
    updater(str(tmp_path / 'devices' / 'd1')).run_once(devices=['d2'])
    assert os.path.exists(paths['d1']) and not os.path.exists(paths['d2'])


def test_update_naming_no_node_or_a_bad_host_is_kept(device, backends):
    empty = pending(device, [])
    bad = pending(device, ['no-port-here'], obj='p', obj_hash=HASH_B)
    stats = updater(device).run_once()
    assert stats.get('failures') == 2
    assert os.path.exists(empty) and os.path.exists(bad)
