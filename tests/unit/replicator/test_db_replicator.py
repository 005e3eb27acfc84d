"""Container/account DB replication against real servers and rsync.

Four container servers on loopback ports, each with its own devices dir,
a real ``rsync --daemon`` with one module per server, a 4-device ring with
3 replicas (for partition p the primaries are devices p, p+1, p+2 mod 4
and device p+3 is a handoff), and real SQLite DBs made with the brokers.
"""

import functools
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from objstore.account.backend import AccountBroker
from objstore.account.server import app_factory as account_app
from objstore.common.daemon import DaemonStats, read_status_file
from objstore.common.db_layout import db_path, iter_db_files
from objstore.common.exceptions import ConfigError, DatabaseError
from objstore.common.hashing import hash_path, load_hash_conf
from objstore.common.timestamp import Timestamp
from objstore.common.wsgi import serve_in_thread
from objstore.container.backend import ContainerBroker
from objstore.container.server import app_factory as container_app
from objstore.replicator import db_sync
from objstore.replicator.db_replicator import (
    STALE_SNAPSHOT_AGE, AccountReplicator, AccountReplicatorConf,
    ContainerReplicator, ContainerReplicatorConf, remove_stale_snapshots)
from objstore.replicator.rsync import RsyncDaemon, render_rsyncd_conf
from objstore.ring.ring import Ring
from objstore.ring.ringdata import RingData
from tests.helpers import (
    FakeClock, assert_db_daemon_sample_matches, free_port, ts as ts_after)

NODES = 4
PART_POWER = 2
ACCOUNT = 'AUTH_test'


def start_rsyncd(base, modules):
    """A real rsync daemon serving ``modules`` {name: path}; (daemon, port)."""
    port = free_port()
    conf = os.path.join(base, 'rsyncd.conf')
    with open(conf, 'w') as out:
        out.write(render_rsyncd_conf(
            sorted(modules.items()), port,
            os.path.join(base, 'rsyncd.pid'),
            os.path.join(base, 'rsyncd.log')))
    return RsyncDaemon(conf, port).start(), port


def write_ring(conf_dir, name, ports, replicas=3):
    devs = [{'id': n, 'region': 1, 'zone': n + 1, 'ip': '127.0.0.1',
             'port': port, 'replication_ip': '127.0.0.1',
             'replication_port': port, 'device': 'd%d' % n, 'weight': 1.0,
             'meta': ''} for n, port in enumerate(ports)]
    parts = 2 ** PART_POWER
    table = [[(part + replica) % len(ports) for part in range(parts)]
             for replica in range(replicas)]
    RingData(table, devs, 32 - PART_POWER).save(
        os.path.join(conf_dir, '%s.ring.gz' % name))


class DBCluster:
    """Servers, rsync daemon and ring of one test; see the module doc."""

    def __init__(self, base, kind='container', app_factory=container_app):
        self.base = str(base)
        self.kind = kind
        self.conf_dir = os.path.join(self.base, 'etc')
        os.makedirs(self.conf_dir)
        with open(os.path.join(self.conf_dir, 'objstore.conf'), 'w') as out:
            out.write('[objstore-hash]\npath_hash_prefix = pre\n'
                      'path_hash_suffix = suf\n')
        self.hash_conf = load_hash_conf(self.conf_dir)
        self.devices = []
        for n in range(NODES):
            devices = os.path.join(self.base, 'nodes', str(n))
            os.makedirs(os.path.join(devices, 'd%d' % n))
            self.devices.append(devices)
        self.servers = [None] * NODES
        self.ports = []
        self._app_factory = app_factory
        for n in range(NODES):
            self.start(n)
            self.ports.append(self.servers[n].port)
        self.rsyncd, self.rsync_port = start_rsyncd(self.base, {
            '%s%d' % (kind, port): self.devices[n]
            for n, port in enumerate(self.ports)})
        write_ring(self.conf_dir, kind, self.ports)
        self.ring = Ring(self.conf_dir, kind)

    def start(self, n, port=0):
        app = self._app_factory({}, devices=self.devices[n],
                                mount_check='false', conf_dir=self.conf_dir,
                                log_level='WARNING')
        port = port or (self.ports[n] if len(self.ports) > n else 0)
        self.servers[n] = serve_in_thread(app, port=port)

    def stop(self, n):
        self.servers[n].stop()

    def close(self):
        for server in self.servers:
            if server is not None:
                server.stop()
        self.rsyncd.stop()

    def device_path(self, n):
        return os.path.join(self.devices[n], 'd%d' % n)

    def replicator_conf(self, n, **overrides):
        conf = {'devices': self.devices[n], 'mount_check': 'false',
                'bind_ip': '127.0.0.1', 'bind_port': str(self.ports[n]),
                'conf_dir': self.conf_dir,
                'recon_cache_path': os.path.join(self.base, 'recon', str(n)),
                'rsync_module': '{replication_ip}::%s{replication_port}'
                                % self.kind,
                'rsync_port': str(self.rsync_port), 'rsync_timeout': '20',
                'node_timeout': '20', 'conn_timeout': '5',
                'concurrency': '1',
                'databases_per_second': '0', 'log_level': 'WARNING'}
        conf.update(overrides)
        return conf

    def replicator(self, n, **overrides):
        return ContainerReplicator(self.replicator_conf(n, **overrides),
                                   ring=self.ring)

    def placement(self, container):
        """(partition, hash, [primary node numbers], handoff node number)."""
        part, nodes = self.ring.get_nodes(ACCOUNT, container)
        primaries = [node['id'] for node in nodes]
        handoff = next(iter(set(range(NODES)) - set(primaries)))
        return (part, hash_path(ACCOUNT, container, hash_conf=self.hash_conf),
                primaries, handoff)

    def broker(self, n, container):
        part, name_hash, _p, _h = self.placement(container)
        return ContainerBroker(db_path(self.device_path(n), 'container',
                                       part, name_hash),
                               account=ACCOUNT, container=container)

    def make_db(self, n, container, put_timestamp=None):
        broker = self.broker(n, container)
        broker.initialize(put_timestamp or Timestamp.now().internal)
        return broker


@pytest.fixture
def cluster(tmp_path):
    made = DBCluster(tmp_path)
    yield made
    made.close()


# Timestamps here are absolute seconds.
ts = functools.partial(ts_after, base=0)


def put_objects(broker, names, when=1700000000.0, size=10):
    for offset, name in enumerate(names):
        broker.put_object(name, ts(when + offset), size, 'text/plain',
                          'etag-%s' % name)


def rows_by_name(broker):
    broker._commit_puts()
    rows = broker.conn.execute(
        'SELECT name, created_at, size, deleted FROM object').fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


def live_names(broker):
    return sorted(name for name, row in rows_by_name(broker).items()
                  if not row[2])


# -- pure decisions ----------------------------------------------------------

@pytest.mark.parametrize('remote, outgoing, expected', [
    (None, -1, db_sync.RSYNC),
    ({'max_row': 0, 'hash': 'b', 'point': 100}, -1, db_sync.IN_SYNC),
    ({'max_row': 0, 'hash': 'b', 'point': -1}, 100, db_sync.IN_SYNC),
    ({'max_row': 90, 'hash': 'a', 'point': -1}, -1, db_sync.HASH_MATCH),
    ({'max_row': 90, 'hash': 'b', 'point': 50}, -1, db_sync.DIFF),
    # Far behind, but within per_diff rows: rows are cheaper than a copy.
    ({'max_row': 5, 'hash': 'b', 'point': -1}, -1, db_sync.DIFF),
])
def test_choose_strategy(remote, outgoing, expected):
    local = {'max_row': 100, 'hash': 'a'}
    assert db_sync.choose_strategy(local, remote, outgoing, 1000) == expected


def test_choose_strategy_far_behind_means_remote_merge():
    local = {'max_row': 5000, 'hash': 'a'}
    remote = {'max_row': 100, 'hash': 'b', 'point': 10}
    assert db_sync.choose_strategy(local, remote, -1, 1000) == \
        db_sync.REMOTE_MERGE


def test_rsync_settings_follow_the_replicator_options():
    settings = db_sync.rsync_settings(db_sync.SyncSettings(
        rsync_port=6203, rsync_timeout=30.5, rsync_compress=True,
        rsync_module='{replication_ip}::c', conn_timeout=0.5))
    assert (settings.port, settings.io_timeout, settings.conn_timeout,
            settings.compress, settings.module) == (
                6203, 31, 1, True, '{replication_ip}::c')


@pytest.mark.parametrize('option, value', [
    ('concurrency', '0'), ('per_diff', '0'), ('rsync_timeout', '0'),
    ('reclaim_age', '-1'), ('per_diff', 'many'),
    ('rsync_module', '{nonsense}::x')])
def test_bad_config_is_refused(option, value):
    with pytest.raises(ConfigError):
        ContainerReplicatorConf.from_conf({option: value})


# -- replication through real servers --------------------------------------

def test_missing_peer_gets_the_whole_db_by_rsync(cluster):
    part, _hash, primaries, handoff = cluster.placement('c1')
    source = cluster.make_db(primaries[0], 'c1')
    put_objects(source, ['a', 'b', 'c'])
    source.update_metadata({'X-Container-Meta-Color': ('blue', ts(1.0))})
    stats = cluster.replicator(primaries[0]).run_once(once=True)
    assert stats.get(db_sync.RSYNC) == 2
    assert stats.get('successes') == 1 and stats.get('failures') == 0
    source_id = source.get_info()['id']
    for n in primaries[1:]:
        copy = cluster.broker(n, 'c1')
        assert copy.exists()
        info = copy.get_info()
        assert live_names(copy) == ['a', 'b', 'c']
        assert info['object_count'] == 3 and info['bytes_used'] == 30
        assert info['metadata']['X-Container-Meta-Color'][0] == 'blue'
        # The copy has an id of its own and knows what it got from us.
        assert info['id'] != source_id
        assert copy.get_sync(source_id) == source.get_max_row()
    assert not cluster.broker(handoff, 'c1').exists()
    # No snapshot is left behind on either side.
    for n in primaries:
        tmp = os.path.join(cluster.device_path(n), 'tmp')
        assert not os.path.isdir(tmp) or os.listdir(tmp) == []


def test_second_pass_finds_nothing_to_do(cluster):
    _part, _hash, primaries, _h = cluster.placement('c1')
    put_objects(cluster.make_db(primaries[0], 'c1'), ['a', 'b'])
    cluster.replicator(primaries[0]).run_once()
    stats = cluster.replicator(primaries[0]).run_once()
    assert stats.get(db_sync.IN_SYNC) == 2
    assert stats.get(db_sync.RSYNC) == 0 and stats.get(db_sync.DIFF) == 0


def test_rows_each_side_lacks_are_exchanged(cluster):
    _part, _hash, primaries, _h = cluster.placement('c1')
    dbs = [cluster.make_db(n, 'c1', ts(1000.0)) for n in primaries]
    put_objects(dbs[0], ['from-0-a', 'from-0-b'])
    put_objects(dbs[1], ['from-1'])
    for n in primaries:
        stats = cluster.replicator(n).run_once()
        assert stats.get('failures') == 0
    expected = ['from-0-a', 'from-0-b', 'from-1']
    for n in primaries:
        assert live_names(cluster.broker(n, 'c1')) == expected
    hashes = {cluster.broker(n, 'c1').get_info()['hash'] for n in primaries}
    assert len(hashes) == 1


def test_an_older_row_never_wins(cluster):
    _part, _hash, primaries, _h = cluster.placement('c1')
    # Recent times: tombstones older than reclaim_age would be reclaimed.
    base = time.time() - 1000
    newer, older, tomb = [cluster.make_db(n, 'c1', ts(base))
                          for n in primaries]
    newer.put_object('o', ts(base + 20), 20, 'text/new', 'new')
    older.put_object('o', ts(base + 15), 10, 'text/old', 'old')
    # A delete older than the newest PUT must not remove it either ...
    tomb.delete_object('o', ts(base + 18))
    # ... but a delete newer than every PUT wins for 'gone'.
    newer.put_object('gone', ts(base + 10), 5, 'text/plain', 'x')
    tomb.delete_object('gone', ts(base + 19))
    for _round in range(2):
        for n in primaries:
            cluster.replicator(n).run_once()
    for n in primaries:
        rows = rows_by_name(cluster.broker(n, 'c1'))
        assert rows['o'] == (ts(base + 20), 20, 0)
        assert rows['gone'] == (ts(base + 19), 0, 1)
        info = cluster.broker(n, 'c1').get_info()
        assert info['object_count'] == 1 and info['bytes_used'] == 20


def test_a_peer_far_behind_merges_from_an_rsynced_copy(cluster):
    _part, _hash, primaries, _h = cluster.placement('c1')
    ahead = cluster.make_db(primaries[0], 'c1', ts(1000.0))
    behind = cluster.make_db(primaries[1], 'c1', ts(1000.0))
    put_objects(ahead, ['r%03d' % i for i in range(60)])
    put_objects(behind, ['mine'], when=1800000000.0)
    stats = cluster.replicator(primaries[0], per_diff='10').run_once(
        partitions=None)
    assert stats.get(db_sync.REMOTE_MERGE) == 1
    merged = cluster.broker(primaries[1], 'c1')
    names = live_names(merged)
    assert len(names) == 61 and 'mine' in names
    assert merged.get_info()['id'] != ahead.get_info()['id']


def test_diff_batches_are_capped_per_pass_and_resume(cluster):
    _part, _hash, primaries, _h = cluster.placement('c1')
    source = cluster.make_db(primaries[0], 'c1', ts(1000.0))
    for n in primaries[1:]:
        # Peers with rows of their own are not "far behind": rows are sent.
        put_objects(cluster.make_db(n, 'c1', ts(1000.0)),
                    ['own%d' % i for i in range(6)])
    put_objects(source, ['o%02d' % i for i in range(10)])
    replicator = cluster.replicator(primaries[0], per_diff='3',
                                    max_diffs='2')
    first = replicator.run_once()
    assert first.get(db_sync.DIFF_CAPPED) == 2
    assert len(live_names(cluster.broker(primaries[1], 'c1'))) == 12
    second = replicator.run_once()
    assert second.get(db_sync.DIFF) == 2
    for n in primaries[1:]:
        assert len(live_names(cluster.broker(n, 'c1'))) == 16


def test_handoff_db_goes_home_and_is_removed(cluster):
    _part, _hash, primaries, handoff = cluster.placement('c1')
    stray = cluster.make_db(handoff, 'c1')
    put_objects(stray, ['x', 'y'])
    cluster.make_db(primaries[0], 'c1')
    stats = cluster.replicator(handoff).run_once()
    assert stats.get('handoffs_removed') == 1
    assert not stray.exists()
    assert not os.path.exists(os.path.dirname(stray.db_file))
    for n in primaries:
        assert live_names(cluster.broker(n, 'c1')) == ['x', 'y']


def test_handoff_db_is_kept_while_a_primary_is_down(cluster):
    _part, _hash, primaries, handoff = cluster.placement('c1')
    stray = cluster.make_db(handoff, 'c1')
    put_objects(stray, ['x'])
    cluster.stop(primaries[2])
    try:
        stats = cluster.replicator(handoff).run_once()
    finally:
        cluster.start(primaries[2])
    assert stats.get('failures') == 1 and stats.get(db_sync.FAILURE) == 1
    assert stats.get('handoffs_removed') == 0
    assert stray.exists()
    stats = cluster.replicator(handoff).run_once()
    assert stats.get('handoffs_removed') == 1
    assert live_names(cluster.broker(primaries[2], 'c1')) == ['x']


def test_old_deleted_rows_and_old_deleted_dbs_are_reclaimed(cluster):
    _part, _hash, primaries, _h = cluster.placement('c1')
    keep = cluster.make_db(primaries[0], 'c1', ts(1000.0))
    keep.put_object('old-tomb', ts(1100.0), 0, '', '', deleted=1)
    keep.put_object('live', ts(1200.0), 1, 'text/plain', 'e')
    keep.delete_object('new-tomb', ts(time.time()))
    gone = cluster.make_db(primaries[0], 'c2', ts(1000.0))
    gone.delete_db(ts(1001.0))
    stats = cluster.replicator(primaries[0], reclaim_age='3600').run_once()
    assert stats.get('reclaimed_dbs') >= 1
    assert not gone.exists()
    assert set(rows_by_name(keep)) == {'live', 'new-tomb'}
    # A deleted DB younger than reclaim_age stays: it is the tombstone.
    recent = cluster.make_db(primaries[0], 'c3', ts(1000.0))
    recent.delete_db(ts(time.time()))
    cluster.replicator(primaries[0], reclaim_age='3600').run_once()
    assert recent.exists()


def test_status_file_and_partition_filter(cluster):
    part, _hash, primaries, _h = cluster.placement('c1')
    put_objects(cluster.make_db(primaries[0], 'c1'), ['a'])
    other = (part + 1) % (2 ** PART_POWER)
    stats = cluster.replicator(primaries[0]).run_once(partitions=[other])
    assert stats.get('attempted') == 0
    cluster.replicator(primaries[0]).run_once(once=True)
    record = read_status_file(os.path.join(cluster.base, 'recon',
                                           str(primaries[0])),
                              'container-replicator', 'd%d' % primaries[0])
    assert record['once'] is True
    assert record['counts']['attempted'] == 1
    assert record['counts']['rsync'] == 2


def test_corrupt_local_db_is_a_counted_failure_not_a_crash(cluster):
    _part, _hash, primaries, _h = cluster.placement('c1')
    broker = cluster.make_db(primaries[0], 'c1')
    broker.close()
    with open(broker.db_file, 'r+b') as db:
        db.write(b'this is not a database file at all' * 10)
    stats = cluster.replicator(primaries[0]).run_once()
    assert stats.get('failures') == 1 and stats.get('attempted') == 1


def test_iter_db_files_skips_strays(tmp_path):
    root = tmp_path / 'd0' / 'containers'
    (root / 'junk').mkdir(parents=True)
    good = root / '3' / 'abc' / ('f' * 29 + 'abc')
    good.mkdir(parents=True)
    (good / (good.name + '.db')).write_bytes(b'')
    (root / '3' / 'abc' / 'stray-file').write_bytes(b'')
    (root / '4').write_bytes(b'')
    found = list(iter_db_files(str(tmp_path / 'd0'), 'containers'))
    assert [(p, h) for p, h, _f in found] == [(3, good.name)]
    assert list(iter_db_files(str(tmp_path / 'd0'), 'containers',
                              partitions=[1])) == []
    assert list(iter_db_files(str(tmp_path / 'none'), 'containers')) == []


def test_replicate_call_rejects_non_json_answers(cluster):
    node = cluster.ring.devs[0]
    client = db_sync.ReplicateClient(node, 0, 'f' * 32,
                                     db_sync.SyncSettings(node_timeout=20,
                                                          conn_timeout=5))
    with pytest.raises(db_sync.ReplicateError):
        client.call('no-such-op')
    status, body = client.call('sync', info={'id': 'x'})
    assert status == 404 and body is None
    assert json.dumps({'op': 'sync'})


# -- the sample config agrees with the dataclasses ----------------------------

@pytest.mark.parametrize('conf_class, sample, section', [
    (ContainerReplicatorConf, 'container-daemons.conf-sample',
     'container-replicator'),
    (AccountReplicatorConf, 'account-daemons.conf-sample',
     'account-replicator')])
def test_sample_config_matches_the_dataclass(conf_class, sample, section):
    assert_db_daemon_sample_matches(conf_class, sample, section)


def test_unmounted_primary_is_replaced_by_a_handoff(cluster):
    _part, _hash, primaries, handoff = cluster.placement('c1')
    put_objects(cluster.make_db(primaries[0], 'c1'), ['a', 'b'])
    # The device dir is gone: that server answers 507 for it.
    os.rename(cluster.device_path(primaries[2]),
              cluster.device_path(primaries[2]) + '.failed')
    stats = cluster.replicator(primaries[0]).run_once()
    assert stats.get(db_sync.UNMOUNTED) == 1
    assert stats.get(db_sync.RSYNC) == 2
    assert stats.get('failures') == 1
    assert live_names(cluster.broker(handoff, 'c1')) == ['a', 'b']
    assert live_names(cluster.broker(primaries[1], 'c1')) == ['a', 'b']


def test_many_dbs_replicate_concurrently(cluster):
    made = []
    for i in range(12):
        name = 'many%d' % i
        _part, _hash, primaries, _h = cluster.placement(name)
        if primaries[0] == 0:
            put_objects(cluster.make_db(0, name), ['x%d' % i])
            made.append((name, primaries))
    assert made
    stats = cluster.replicator(0, concurrency='4').run_once()
    assert stats.get('successes') == len(made)
    for name, primaries in made:
        for n in primaries:
            assert len(live_names(cluster.broker(n, name))) == 1


def test_only_old_orphaned_snapshots_are_removed(tmp_path):
    tmp = tmp_path / 'tmp'
    tmp.mkdir()
    orphan = '0b1e2c3d-1111-2222-3333-444455556666-0123456789ab.db'
    cut = '.' + orphan + '.Ab12Cd'
    # What a server that died while opening a pushed copy leaves.
    opened = (orphan + '-wal', orphan + '-shm')
    fresh = '9b1e2c3d-1111-2222-3333-444455556666-0123456789ab.db'
    foreign = 'tmpObjectWrite123'
    for name in (orphan, cut, fresh, foreign) + opened:
        (tmp / name).write_bytes(b'x')
    old = time.time() - STALE_SNAPSHOT_AGE - 10
    for name in (orphan, cut, foreign) + opened:
        os.utime(tmp / name, (old, old))
    assert remove_stale_snapshots(str(tmp_path), time.time()) == 4
    assert sorted(os.listdir(tmp)) == sorted([fresh, foreign])
    assert remove_stale_snapshots(str(tmp_path / 'none'), time.time()) == 0


def test_daemon_process_runs_passes_until_sigterm(cluster):
    """The real entry point: run forever, one status file per pass, and a
    clean exit on SIGTERM."""
    _part, _hash, primaries, _h = cluster.placement('c1')
    node = primaries[0]
    put_objects(cluster.make_db(node, 'c1'), ['a'])
    conf = cluster.replicator_conf(node, interval='0.5')
    conf_path = os.path.join(cluster.base, 'replicator.conf')
    with open(conf_path, 'w') as out:
        out.write('[DEFAULT]\n')
        for key in ('devices', 'mount_check', 'bind_ip', 'bind_port',
                    'conf_dir', 'recon_cache_path'):
            out.write('%s = %s\n' % (key, conf.pop(key)))
        out.write('[container-replicator]\n')
        for key, value in conf.items():
            out.write('%s = %s\n' % (key, value))
    script = os.path.join(os.path.dirname(sys.executable),
                          'objstore-container-replicator')
    proc = subprocess.Popen([script, conf_path], stderr=subprocess.PIPE)
    try:
        status_dir = os.path.join(cluster.base, 'recon', str(node))
        deadline = time.monotonic() + 30
        passes = set()
        while time.monotonic() < deadline and len(passes) < 2:
            record = read_status_file(status_dir, 'container-replicator',
                                      'd%d' % node)
            if record:
                passes.add(record['pass_start'])
            time.sleep(0.1)
        assert len(passes) >= 2, 'no second pass within 30 s'
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        proc.stderr.close()
    for n in primaries[1:]:
        assert live_names(cluster.broker(n, 'c1')) == ['a']


def test_account_dbs_replicate_through_account_servers(tmp_path):
    accounts = DBCluster(tmp_path, kind='account', app_factory=account_app)
    try:
        ring = Ring(accounts.conf_dir, 'account')
        part, nodes = ring.get_nodes('AUTH_acct')
        name_hash = hash_path('AUTH_acct', hash_conf=accounts.hash_conf)
        primaries = [node['id'] for node in nodes]

        def broker(n):
            return AccountBroker(db_path(accounts.device_path(n), 'account',
                                         part, name_hash),
                                 account='AUTH_acct')

        base = time.time() - 100
        first = broker(primaries[0])
        first.initialize(ts(base))
        # An up-to-date report and an older one for the same container.
        first.put_container('c1', ts(base + 10), 0, 5, 50)
        second = broker(primaries[1])
        second.initialize(ts(base))
        second.put_container('c1', ts(base + 5), 0, 1, 10)
        second.put_container('c2', ts(base + 6), 0, 2, 20)
        for n in primaries[:2]:
            stats = AccountReplicator(accounts.replicator_conf(n),
                                      ring=ring).run_once()
            assert stats.get('failures') == 0
        for n in primaries:
            info = broker(n).get_info()
            assert (info['container_count'], info['object_count'],
                    info['bytes_used']) == (2, 7, 70), n
    finally:
        accounts.close()


# -- removal racing writers ------------------------------------------------------
#
# Each trial: a handoff DB whose primaries already hold its rows, so a pass
# finds nothing to push and removes it, and a writer that puts one more row
# at a random moment of that pass. A row the writer saw acknowledged must
# end up on every primary (the removal backed off and a later pass pushed
# it home); else the writer was refused.

RACE_TRIALS = 8


def in_sync_handoff(cluster, container):
    """Placement of ``container``, with the same rows on the handoff and
    on every primary."""
    part, name_hash, primaries, handoff = cluster.placement(container)
    for n in primaries + [handoff]:
        put_objects(cluster.make_db(n, container, ts(1700000000.0)),
                    ['a', 'b'])
    return part, name_hash, primaries, handoff


def start_pass_over(cluster, replicator, node, container):
    """A thread replicating ``node``'s DB of ``container``, started."""
    part, name_hash, _p, _h = cluster.placement(container)
    dev = next(d for d in cluster.ring.devs if d and d['id'] == node)
    entry = (part, name_hash, cluster.broker(node, container).db_file)
    # daemon: a pass that hangs fails its test (is_alive after the join)
    # instead of keeping the test process from exiting
    thread = threading.Thread(target=replicator.replicate_db, args=(
        dev, cluster.device_path(node), entry, DaemonStats()), daemon=True)
    thread.start()
    return thread


def put_row_over_http(cluster, node, container, name):
    """An object-row PUT as an object server sends it; the status."""
    part = cluster.placement(container)[0]
    conn = http.client.HTTPConnection('127.0.0.1', cluster.ports[node],
                                      timeout=30)
    try:
        conn.request('PUT', '/d%d/%d/%s/%s/%s' % (
            node, part, ACCOUNT, container, name), headers={
            'X-Timestamp': Timestamp.now().internal, 'X-Size': '1',
            'X-Content-Type': 'text/plain', 'X-Etag': 'e'})
        return conn.getresponse().status
    finally:
        conn.close()


def pass_span(cluster):
    """How long a pass that removes an in-sync handoff takes here, so that
    the trials' writes land inside one (half of it: the write itself takes
    time to arrive)."""
    _part, _hash, _primaries, handoff = in_sync_handoff(cluster, 'calibrate')
    started = time.monotonic()
    passing = start_pass_over(cluster, cluster.replicator(handoff), handoff,
                              'calibrate')
    passing.join(60)
    assert not passing.is_alive(), 'a replication pass hung'
    return (time.monotonic() - started) / 2


def race_removals(cluster, put_row):
    """Run the trials; {container: what put_row returned}, and each
    container's primaries that lack its row though it was acknowledged."""
    outcomes, missing = {}, {}
    span = pass_span(cluster)
    for trial in range(RACE_TRIALS):
        container = 'race%d' % trial
        _part, _hash, primaries, handoff = in_sync_handoff(cluster,
                                                           container)
        replicator = cluster.replicator(handoff)
        passing = start_pass_over(cluster, replicator, handoff, container)
        time.sleep(random.uniform(0, span))
        acknowledged = put_row(handoff, container)
        passing.join(60)
        assert not passing.is_alive(), 'a replication pass hung'
        outcomes[container] = acknowledged
        # A handoff kept because of the write goes home on a later pass.
        for _again in range(5):
            if not cluster.broker(handoff, container).exists():
                break
            again = start_pass_over(cluster, replicator, handoff, container)
            again.join(60)
            assert not again.is_alive(), 'a replication pass hung'
        assert not cluster.broker(handoff, container).exists()
        if acknowledged:
            missing[container] = [
                n for n in primaries
                if 'late' not in live_names(cluster.broker(n, container))]
    return outcomes, missing


def test_rows_put_to_a_handoff_server_during_its_removal_are_kept(cluster):
    """The container server acknowledges (2xx) or refuses each row."""
    def put_row(node, container):
        status = put_row_over_http(cluster, node, container, 'late')
        return 200 <= status < 300

    outcomes, missing = race_removals(cluster, put_row)
    assert any(outcomes.values())
    assert missing == {c: [] for c, acked in outcomes.items() if acked}


WRITER_PROCESS = '''
import sys
from objstore.common.exceptions import DatabaseError
from objstore.common.timestamp import Timestamp
from objstore.container.backend import ContainerBroker

for line in sys.stdin:
    db_file, name = line.split()
    broker = ContainerBroker(db_file, account='a', container='c')
    try:
        broker.put_object(name, Timestamp.now().internal, 1, 'text/plain',
                          'e')
    except DatabaseError as err:
        print('refused', type(err).__name__, flush=True)
        continue
    print('ok', flush=True)
'''


def test_rows_put_by_another_process_during_handoff_removal_are_kept(
        cluster):
    """The writer is a second process putting rows through its own broker,
    as a second server worker does; it says which returned."""
    writer = subprocess.Popen([sys.executable, '-c', WRITER_PROCESS],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)

    def put_row(node, container):
        writer.stdin.write('%s late\n' % cluster.broker(node,
                                                        container).db_file)
        writer.stdin.flush()
        return writer.stdout.readline().split()[0] == 'ok'

    try:
        outcomes, missing = race_removals(cluster, put_row)
    finally:
        writer.stdin.close()
        writer.wait(30)
    assert any(outcomes.values())
    assert missing == {c: [] for c, acked in outcomes.items() if acked}


# When a row reaches a tombstone DB, seconds after its reclaiming pass
# began: a reclaim takes a few milliseconds, so the early ones land before
# the removal and the late ones after it.
RECLAIM_DELAYS = (0, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.05)


def test_rows_merged_into_a_tombstone_during_its_reclaim_are_kept(cluster):
    """A tombstone DB past reclaim_age gets a live row from a replication
    peer (merge_items on a broker opened before the pass, as a server
    handling REPLICATE holds one) while a pass reclaims it: the row revives
    the DB and must stay, or the merge is refused."""
    outcomes, lost = {}, []
    for trial, delay in enumerate(RECLAIM_DELAYS):
        container = 'tomb%d' % trial
        _part, _hash, primaries, _h = cluster.placement(container)
        node = primaries[0]
        cluster.make_db(node, container, ts(1000.0)).delete_db(ts(1001.0))
        peer = cluster.broker(node, container)
        peer.get_info()
        replicator = cluster.replicator(node, reclaim_age='3600')
        passing = start_pass_over(cluster, replicator, node, container)
        time.sleep(delay)
        row = {'name': 'revived', 'created_at': Timestamp.now().internal,
               'size': 1, 'content_type': 'text/plain', 'etag': 'e',
               'deleted': 0, 'storage_policy_index': 0, 'ROWID': 1}
        try:
            peer.merge_items([row], source_id='peer-db')
            outcomes[container] = True
        except DatabaseError:
            outcomes[container] = False
        passing.join(60)
        peer.close()
        if outcomes[container] and 'revived' not in (
                live_names(cluster.broker(node, container))
                if cluster.broker(node, container).exists() else []):
            lost.append(container)
    assert lost == []
    # The last one came well after the removal: refused, not lost.
    assert outcomes['tomb%d' % (len(RECLAIM_DELAYS) - 1)] is False


def test_unchanged_db_costs_no_request_until_its_sweep(cluster):
    # An idle cluster's DB replicators must not REPLICATE every DB to
    # every peer on every pass: with the peers down, any request would
    # be a counted failure.
    _part, _hash, primaries, _h = cluster.placement('c1')
    source = cluster.make_db(primaries[0], 'c1')
    put_objects(source, ['a', 'b'])
    clock = FakeClock(1000.0)
    replicator = ContainerReplicator(
        cluster.replicator_conf(primaries[0]), ring=cluster.ring,
        clock=clock)
    assert replicator.run_once().get(db_sync.RSYNC) == 2
    for n in primaries[1:]:
        cluster.stop(n)
    stats = replicator.run_once()
    assert stats.get('unchanged') == 1 and stats.get('failures') == 0
    clock.sleep(3601)
    stats = replicator.run_once()
    assert stats.get('unchanged') == 0 and stats.get('failures') == 1


def test_changed_db_is_replicated_on_the_next_pass(cluster):
    _part, _hash, primaries, _h = cluster.placement('c1')
    source = cluster.make_db(primaries[0], 'c1')
    put_objects(source, ['a'])
    replicator = cluster.replicator(primaries[0])
    replicator.run_once()
    put_objects(source, ['b'], when=1700000100.0)
    stats = replicator.run_once()
    assert stats.get('unchanged') == 0 and stats.get(db_sync.DIFF) == 2
    for n in primaries[1:]:
        assert live_names(cluster.broker(n, 'c1')) == ['a', 'b']
    stats = replicator.run_once()
    assert stats.get('unchanged') == 1
    # Metadata changes the stat row, hence the fingerprint, too.
    source.update_metadata({'X-Container-Meta-Color': ('red', ts(5.0))})
    assert replicator.run_once().get('unchanged') == 0
    assert cluster.broker(primaries[1], 'c1').get_info()['metadata'][
        'X-Container-Meta-Color'][0] == 'red'


def test_full_sweep_interval_zero_compares_every_pass(cluster):
    _part, _hash, primaries, _h = cluster.placement('c1')
    put_objects(cluster.make_db(primaries[0], 'c1'), ['a'])
    replicator = cluster.replicator(primaries[0], full_sweep_interval='0')
    replicator.run_once()
    stats = replicator.run_once()
    assert stats.get('unchanged') == 0 and stats.get(db_sync.IN_SYNC) == 2
