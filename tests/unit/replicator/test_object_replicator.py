"""The object replicator against real object servers on loopback ports, a
real rsync daemon and real tmp devices: four nodes of one device each, a
3-replica ring of 4 partitions."""

import os
import shutil
import subprocess
import sys
import time
import tracemalloc

import pytest

from objstore.common.backend_client import direct_request
from objstore.common.daemon import DaemonConf, read_status_file
from objstore.common.exceptions import (
    ConfigError, DiskFileDeleted, DiskFileNotExist)
from objstore.common.timestamp import Timestamp
from objstore.object.diskfile import DiskFileManager, DiskFileSettings
from objstore.replicator.object_replicator import (
    ObjectReplicator, ObjectReplicatorConf, PartitionJob, differing_suffixes)
from objstore.replicator.rsync import RsyncDaemon, render_rsyncd_conf
from objstore.ring.builder import RingBuilder
from objstore.ring.ring import Ring
from tests.helpers import assert_sample_matches, free_port
from tests.unit.object.conftest import HASH_CONF, ObjectServerHarness

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'object-daemons.conf-sample')
DEFAULT_KEYS = tuple(DaemonConf.option_defaults())
NODES = 4
# Recent times: tombstones older than reclaim_age (a week) are reclaimed.
T1 = time.time() - 100
T2 = T1 + 10


class Cluster:
    """Four object servers, their devices, one ring and one rsync daemon."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.roots = []
        self.servers = []
        self.etc = self._write_conf(tmp_path / 'etc')
        for n in range(NODES):
            root = tmp_path / ('node%d' % n)
            (root / ('d%d' % n)).mkdir(parents=True)
            self.roots.append(str(root))
            self.servers.append(ObjectServerHarness(str(root),
                                                    conf_dir=self.etc))
        self.ring = self._build_ring(tmp_path / 'etc')
        self.rsync_port = free_port()
        conf = tmp_path / 'rsyncd.conf'
        conf.write_text(render_rsyncd_conf(
            [('object%d' % s.port, r) for s, r in zip(self.servers,
                                                       self.roots)],
            self.rsync_port, str(tmp_path / 'rsyncd.pid'),
            str(tmp_path / 'rsyncd.log')))
        self.rsyncd = RsyncDaemon(str(conf), self.rsync_port).start()
        self.mgrs = [DiskFileManager(DiskFileSettings(
            devices=root, hash_conf=HASH_CONF)) for root in self.roots]

    @staticmethod
    def _write_conf(etc):
        """objstore.conf with the hash salt and two policies."""
        etc.mkdir()
        (etc / 'objstore.conf').write_text(
            '[objstore-hash]\npath_hash_prefix = %s\npath_hash_suffix = %s\n'
            '[storage-policy:0]\nname = gold\ndefault = yes\n'
            '[storage-policy:1]\nname = silver\n'
            % (HASH_CONF.prefix.decode(), HASH_CONF.suffix.decode()))
        return str(etc)

    def _build_ring(self, etc):
        # Policy 1's ring lists the devices in the other order, so a
        # device has another id there.
        for name, order in (('object', range(NODES)),
                            ('object-1', reversed(range(NODES)))):
            builder = RingBuilder(2, 3, 0)
            for n in order:
                builder.add_dev({'region': 1, 'zone': n, 'ip': '127.0.0.1',
                                 'port': self.servers[n].port,
                                 'device': 'd%d' % n, 'weight': 100})
            builder.rebalance(seed=1)
            builder.get_ring().save(str(etc / ('%s.ring.gz' % name)))
        self.ring1 = Ring(self.etc, 'object-1', hash_conf=HASH_CONF)
        return Ring(self.etc, 'object', hash_conf=HASH_CONF)

    def conf(self, n, **extra):
        conf = {'devices': self.roots[n], 'mount_check': 'false',
                'bind_ip': '127.0.0.1', 'bind_port': str(self.servers[n].port),
                'recon_cache_path': str(self.tmp / ('recon%d' % n)),
                'conf_dir': self.etc, 'log_level': 'ERROR',
                'rsync_module': '{replication_ip}::object{replication_port}',
                'rsync_port': str(self.rsync_port), 'rsync_timeout': '10',
                'rsync_contimeout': '5', 'http_timeout': '5'}
        conf.update({k: str(v) for k, v in extra.items()})
        return conf

    def replicator(self, n, **extra):
        return ObjectReplicator(self.conf(n, **extra),
                                rings={0: self.ring, 1: self.ring1})

    def node_of(self, dev):
        return int(dev['device'][1:])

    def placement(self, obj):
        part, primaries = self.ring.get_nodes('a', 'c', obj)
        handoffs = list(self.ring.get_more_nodes(part))
        return (part, [self.node_of(d) for d in primaries],
                [self.node_of(d) for d in handoffs])

    def put(self, n, obj, body, timestamp, extra=None, policy_index=0):
        ring = self.ring1 if policy_index else self.ring
        part = ring.get_part('a', 'c', obj)
        df = self.mgrs[n].get_diskfile('d%d' % n, part, 'a', 'c', obj,
                                       policy_index)
        with df.create(len(body)) as writer:
            writer.write(body)
            meta = {'X-Timestamp': Timestamp(timestamp).internal,
                    'Content-Type': 'text/plain'}
            meta.update(extra or {})
            writer.put(meta)

    def delete(self, n, obj, timestamp):
        part = self.ring.get_part('a', 'c', obj)
        self.mgrs[n].get_diskfile('d%d' % n, part, 'a', 'c', obj).delete(
            timestamp)

    def read(self, n, obj, policy_index=0):
        """The body on node n, or the exception class when absent."""
        ring = self.ring1 if policy_index else self.ring
        part = ring.get_part('a', 'c', obj)
        df = self.mgrs[n].get_diskfile('d%d' % n, part, 'a', 'c', obj,
                                       policy_index)
        try:
            df.open()
        except DiskFileNotExist as err:
            return type(err)
        return b''.join(df.reader())

    def partition_dir(self, n, part):
        return os.path.join(self.roots[n], 'd%d' % n, 'objects', str(part))

    def stop(self):
        for server in self.servers:
            server.stop()
        self.rsyncd.stop()


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    c.stop()


def test_differing_suffixes_is_pure():
    assert differing_suffixes({}, {'abc': '1'}) == []
    assert differing_suffixes({'abc': None, 'def': '1'}, {}) == ['def']


def test_conf_validation():
    with pytest.raises(ConfigError):
        ObjectReplicatorConf.from_conf({'concurrency': '0'})
    with pytest.raises(ConfigError):
        ObjectReplicatorConf.from_conf({'rsync_bwlimit': 'lots'})
    with pytest.raises(ConfigError):
        ObjectReplicatorConf.from_conf({'rsync_timeout': 'x'})


def test_sample_matches_conf():
    assert_sample_matches(ObjectReplicatorConf, SAMPLE, 'object-replicator',
                          ignore=DEFAULT_KEYS[:-1])
    assert_sample_matches(DaemonConf, SAMPLE, 'DEFAULT',
                          ignore=('interval', 'log_name', 'log_level',
                                  'log_file'))


def test_missing_replica_is_pushed_and_second_pass_is_quiet(cluster):
    part, primaries, _ = cluster.placement('obj')
    a, b, c = primaries
    cluster.put(a, 'obj', b'hello', T1)
    cluster.put(b, 'obj', b'hello', T1)
    assert cluster.read(c, 'obj') is DiskFileNotExist
    stats = cluster.replicator(a).run_once(once=True)
    assert cluster.read(c, 'obj') == b'hello'
    assert stats.get('rsyncs') == 1 and stats.get('suffixes_synced') == 1
    assert stats.get('failures') == 0
    status = read_status_file(str(cluster.tmp / ('recon%d' % a)),
                              'object-replicator', 'd%d' % a)
    assert status['counts']['rsyncs'] == 1 and status['once'] is True
    # metadata travelled in xattrs
    df = cluster.mgrs[c].get_diskfile('d%d' % c, part, 'a', 'c', 'obj')
    assert df.open()['Content-Type'] == 'text/plain'
    again = cluster.replicator(a).run_once()
    assert again.get('rsyncs') == 0
    assert again.get('hashmatches') == 2 and again.get('successes') == 1


def test_second_policy_uses_its_own_ring_and_dir(cluster):
    part, primaries = cluster.ring1.get_nodes('a', 'c', 'obj')
    nodes = [cluster.node_of(d) for d in primaries]
    cluster.put(nodes[0], 'obj', b'policy one', T1, policy_index=1)
    stats = cluster.replicator(nodes[0]).run_once()
    assert stats.get('rsyncs') == 2 and stats.get('failures') == 0
    assert [cluster.read(n, 'obj', 1) for n in nodes] == [b'policy one'] * 3
    assert all(cluster.read(n, 'obj') is DiskFileNotExist for n in nodes)
    assert os.path.isdir(os.path.join(cluster.roots[nodes[1]],
                                      'd%d' % nodes[1], 'objects-1',
                                      str(part)))


def test_newer_tombstone_is_never_replaced_by_older_data(cluster):
    _part, primaries, _ = cluster.placement('obj')
    a, b, c = primaries
    for n in (a, b):
        cluster.put(n, 'obj', b'old', T1)
    cluster.delete(c, 'obj', T2)
    cluster.replicator(a).run_once()
    assert cluster.read(c, 'obj') is DiskFileDeleted
    cluster.replicator(c).run_once()
    for n in primaries:
        assert cluster.read(n, 'obj') is DiskFileDeleted
    cluster.replicator(a).run_once()
    assert cluster.read(c, 'obj') is DiskFileDeleted


def test_newer_data_wins_over_older_tombstone(cluster):
    _part, primaries, _ = cluster.placement('obj')
    a, b, c = primaries
    cluster.delete(a, 'obj', T1)
    cluster.put(b, 'obj', b'new', T2)
    cluster.replicator(a).run_once()
    cluster.replicator(b).run_once()
    assert [cluster.read(n, 'obj') for n in primaries] == [b'new'] * 3


def test_handoff_is_pushed_to_all_primaries_then_removed(cluster):
    part, primaries, handoffs = cluster.placement('obj')
    h = handoffs[0]
    cluster.put(h, 'obj', b'on handoff', T1)
    stats = cluster.replicator(h).run_once()
    assert [cluster.read(n, 'obj') for n in primaries] == [b'on handoff'] * 3
    assert stats.get('handoffs_removed') == 1
    assert not os.path.exists(cluster.partition_dir(h, part))


def test_handoff_kept_while_a_primary_is_down(cluster):
    part, primaries, handoffs = cluster.placement('obj')
    h = handoffs[0]
    cluster.put(h, 'obj', b'on handoff', T1)
    cluster.servers[primaries[2]].stop()
    stats = cluster.replicator(h).run_once()
    assert stats.get('handoffs_removed') == 0
    assert stats.get('failures') == 1
    assert cluster.read(h, 'obj') == b'on handoff'
    assert [cluster.read(n, 'obj') for n in primaries[:2]] == \
        [b'on handoff'] * 2


def test_unmounted_peer_is_replaced_by_a_handoff(cluster):
    part, primaries, handoffs = cluster.placement('obj')
    a, b, c = primaries
    cluster.put(a, 'obj', b'x', T1)
    os.rename(os.path.join(cluster.roots[c], 'd%d' % c),
              os.path.join(cluster.roots[c], 'gone'))
    stats = cluster.replicator(a).run_once()
    assert cluster.read(b, 'obj') == b'x'
    assert cluster.read(handoffs[0], 'obj') == b'x'
    assert stats.get('failures') == 1


def test_rsync_failure_is_counted_and_handoff_kept(cluster):
    part, primaries, handoffs = cluster.placement('obj')
    h = handoffs[0]
    cluster.put(h, 'obj', b'x', T1)
    replicator = ObjectReplicator(
        cluster.conf(h, rsync_port=free_port(), rsync_contimeout=2),
        rings={0: cluster.ring})
    stats = replicator.run_once()
    assert stats.get('failures') == 1 and stats.get('rsyncs') == 3
    assert stats.get('handoffs_removed') == 0
    assert cluster.read(h, 'obj') == b'x'


def test_tombstones_replicate_until_reclaim_age(cluster):
    part, primaries, _ = cluster.placement('obj')
    a, b, c = primaries
    cluster.delete(a, 'obj', time.time() - 7200)
    stats = cluster.replicator(a, reclaim_age=3600).run_once()
    # Older than reclaim_age: reclaimed here, never sent anywhere.
    assert stats.get('rsyncs') == 0
    assert [cluster.read(n, 'obj') for n in primaries] == \
        [DiskFileNotExist] * 3
    assert not [name for name in os.listdir(cluster.partition_dir(a, part))
                if len(name) == 3]
    cluster.put(b, 'obj', b'data', time.time() - 60)
    cluster.delete(a, 'obj', time.time())
    stats = cluster.replicator(a, reclaim_age=3600).run_once()
    assert stats.get('rsyncs') == 2
    assert [cluster.read(n, 'obj') for n in primaries] == \
        [DiskFileDeleted] * 3


def test_partition_filter_and_device_filter(cluster):
    placements = {}
    for i in range(40):
        part, primaries, _ = cluster.placement('o%d' % i)
        placements.setdefault(part, ('o%d' % i, primaries))
    assert len(placements) >= 2
    (p1, (o1, prim1)), (p2, (o2, prim2)) = list(placements.items())[:2]
    src = next(n for n in prim1 if n in prim2)
    cluster.put(src, o1, b'one', T1)
    cluster.put(src, o2, b'two', T1)
    cluster.replicator(src).run_once(partitions=[p1])
    assert all(cluster.read(n, o1) == b'one' for n in prim1)
    assert all(cluster.read(n, o2) is DiskFileNotExist
               for n in prim2 if n != src)
    cluster.replicator(src).run_once(devices=['nope'])
    assert all(cluster.read(n, o2) is DiskFileNotExist
               for n in prim2 if n != src)


def test_command_line_once(cluster):
    part, primaries, _ = cluster.placement('obj')
    a = primaries[0]
    cluster.put(a, 'obj', b'cli', T1)
    conf_path = cluster.tmp / 'object-server.conf'
    lines = ['[DEFAULT]'] + ['%s = %s' % kv for kv in cluster.conf(a).items()
                             if not kv[0].startswith('rsync')]
    lines += ['[object-replicator]'] + [
        '%s = %s' % kv for kv in cluster.conf(a).items()
        if kv[0].startswith('rsync')]
    conf_path.write_text('\n'.join(lines) + '\n')
    proc = subprocess.run(
        [sys.executable, '-m', 'objstore.replicator.object_replicator',
         str(conf_path), '--once', '--verbose'],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert 'object-replicator pass done' in proc.stderr
    assert all(cluster.read(n, 'obj') == b'cli' for n in primaries)
    bad = subprocess.run(
        [sys.executable, '-m', 'objstore.replicator.object_replicator',
         str(cluster.tmp / 'missing.conf'), '--once'],
        capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and 'missing.conf' in bad.stderr


def test_stale_temp_files_are_removed_each_pass(cluster):
    tmp_dir = os.path.join(cluster.roots[0], 'd0', 'tmp')
    os.makedirs(tmp_dir)
    for name, age in (('.obj-killed-mid-put', 3700), ('.obj-live', 10)):
        path = os.path.join(tmp_dir, name)
        open(path, 'w').close()
        os.utime(path, (time.time() - age, time.time() - age))
    stats = cluster.replicator(0, reclaim_age=3600).run_once()
    assert os.listdir(tmp_dir) == ['.obj-live']
    assert stats.get('tmp_files_removed') == 1


def test_owner_rsynced_without_its_sidecar_is_completed(cluster):
    """A cut rsync left a primary the .data but not its sidecar: nothing is
    quarantined, and the next passes bring the sidecar everywhere."""
    part, primaries, _ = cluster.placement('obj')
    a, b, c = primaries
    big = {'X-Object-Meta-K%02d' % i: 'v' * 43 for i in range(90)}
    cluster.put(a, 'obj', b'x', T1, extra=big)
    sent = cluster.mgrs[a].get_diskfile('d%d' % a, part, 'a', 'c', 'obj')
    got = cluster.mgrs[b].get_diskfile('d%d' % b, part, 'a', 'c', 'obj')
    os.makedirs(got.hash_dir)
    owner = Timestamp(T1).internal + '.data'
    shutil.copy2(os.path.join(sent.hash_dir, owner), got.hash_dir)
    assert cluster.read(b, 'obj') is DiskFileNotExist
    # b pushes what it has (the owner alone) on to c; a completes both.
    cluster.replicator(b).run_once()
    cluster.replicator(a).run_once()
    for n in primaries:
        df = cluster.mgrs[n].get_diskfile('d%d' % n, part, 'a', 'c', 'obj')
        assert df.open()['X-Object-Meta-K89'] == 'v' * 43
        assert b''.join(df.reader()) == b'x'
        quarantine = os.path.join(cluster.roots[n], 'd%d' % n, 'quarantined')
        assert not os.path.exists(quarantine)


class CountingHttp:
    """direct_request, counting the REPLICATE requests it sends."""

    def __init__(self):
        self.replicates = 0

    def __call__(self, ip, port, method, path, *args, **kwargs):
        if method == 'REPLICATE':
            self.replicates += 1
        return direct_request(ip, port, method, path, *args, **kwargs)


def test_unchanged_partitions_skip_their_peers_until_the_sweep(cluster):
    _part, primaries, _ = cluster.placement('obj')
    a = primaries[0]
    for node in primaries:
        cluster.put(node, 'obj', b'hello', T1)
    now = [1000.0]
    http = CountingHttp()
    replicator = ObjectReplicator(
        cluster.conf(a, full_sweep_interval=600),
        rings={0: cluster.ring, 1: cluster.ring1}, http=http,
        clock=lambda: now[0])
    first = replicator.run_once()
    assert first.get('unchanged') == 0 and http.replicates > 0
    partitions = first.get('partitions')

    http.replicates = 0
    second = replicator.run_once()
    assert (second.get('unchanged'), http.replicates) == (partitions, 0)

    # A write here: that partition is compared (and pushed) again.
    cluster.put(a, 'newer', b'new', T2)
    newer_part = cluster.ring.get_part('a', 'c', 'newer')
    third = replicator.run_once()
    assert third.get('unchanged') == partitions - 1
    assert http.replicates >= 2
    assert all(cluster.read(node, 'newer') == b'new'
               for node in cluster.placement('newer')[1]), newer_part

    # A peer lost its copy: found by the sweep, at the latest.
    lost = [n for n in primaries if n != a][0]
    shutil.rmtree(cluster.partition_dir(lost, _part))
    replicator.run_once()
    assert cluster.read(lost, 'obj') is DiskFileNotExist
    now[0] += 601
    http.replicates = 0
    swept = replicator.run_once()
    assert swept.get('unchanged') == 0 and http.replicates > 0
    assert cluster.read(lost, 'obj') == b'hello'


def test_a_remembered_partition_keeps_no_copy_of_its_hashes(cluster):
    # An idle aio's replicator remembers every in-sync partition between
    # passes; a copy of each {suffix: hash} held megabytes at 10,000
    # objects, growing with them.
    replicator = cluster.replicator(0, full_sweep_interval=600)
    peers = [{'id': 1}, {'id': 2}]
    partitions, suffixes = 64, 1024
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for part in range(partitions):
            local = {'%03x' % n: '%032x' % (part * suffixes + n)
                     for n in range(suffixes)}
            job = PartitionJob('d0', cluster.roots[0], {'id': 0}, 0, part,
                               cluster.ring, peers, False)
            replicator._remember_sync(job, local, True)
            assert replicator._still_in_sync(job, dict(local))
            local['fff'] = 'changed'
            assert not replicator._still_in_sync(job, local)
        del local
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert retained < partitions * 4096, retained


def test_a_zero_sweep_compares_every_pass(cluster):
    _part, primaries, _ = cluster.placement('obj')
    cluster.put(primaries[0], 'obj', b'hello', T1)
    replicator = cluster.replicator(primaries[0], full_sweep_interval=0)
    replicator.run_once()
    assert replicator.run_once().get('unchanged') == 0
