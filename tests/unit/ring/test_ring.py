"""Ring lookups, handoffs and reloading, on real files in a temp dir."""

import hashlib
import os
import struct

import pytest

from objstore.common.exceptions import ConfigError, RingLoadError
from objstore.common.hashing import HashConf
from objstore.ring.builder import RingBuilder
from objstore.ring.ring import Ring, handoff_order

PART_POWER = 8


def build(devices_per_zone=2, zones=4, regions=1, replicas=3,
          part_power=PART_POWER, extra=()):
    builder = RingBuilder(part_power, replicas, 0)
    for zone in range(1, zones + 1):
        for index in range(devices_per_zone):
            builder.add_dev({'region': (zone - 1) % regions + 1,
                             'zone': zone, 'ip': '127.0.0.%d' % zone,
                             'port': 6200 + index, 'device': 'd%d' % index,
                             'weight': 100})
    for dev in extra:
        builder.add_dev(dev)
    builder.rebalance(seed=1)
    return builder


@pytest.fixture
def ring_dir(tmp_path):
    (tmp_path / 'objstore.conf').write_text(
        '[objstore-hash]\npath_hash_prefix = pre\npath_hash_suffix = suf\n')
    build().get_ring().save(str(tmp_path / 'object.ring.gz'))
    return tmp_path


def test_dir_and_name_or_file_path(ring_dir):
    by_name = Ring(str(ring_dir), 'object')
    by_path = Ring(str(ring_dir / 'object.ring.gz'))
    assert by_name.path == by_path.path
    assert by_name.hash_conf == HashConf(b'pre', b'suf')
    assert by_name.get_nodes('a', 'c', 'o') == by_path.get_nodes('a', 'c', 'o')
    assert (by_name.replica_count, by_name.partition_count,
            by_name.part_power) == (3, 2 ** PART_POWER, PART_POWER)


def test_get_part_is_top_bits_of_salted_md5(ring_dir):
    ring = Ring(str(ring_dir), 'object')
    for path in (('a',), ('a', 'c'), ('a', 'c', 'o'), ('AUTH_x', 'c', 'ö')):
        digest = hashlib.md5(
            ('pre/' + '/'.join(path) + 'suf').encode()).digest()
        expected = struct.unpack('>I', digest[:4])[0] >> (32 - PART_POWER)
        assert ring.get_part(*path) == expected


def test_the_hash_secret_matters(ring_dir):
    ring = Ring(str(ring_dir), 'object')
    other = Ring(str(ring_dir), 'object', hash_conf=HashConf(b'x', b'y'))
    names = ['o%d' % i for i in range(20)]
    assert [ring.get_part('a', 'c', n) for n in names] != \
        [other.get_part('a', 'c', n) for n in names]


def test_get_nodes_gives_distinct_primaries_with_index(ring_dir):
    ring = Ring(str(ring_dir), 'object')
    part, nodes = ring.get_nodes('a', 'c', 'o')
    assert [n['index'] for n in nodes] == [0, 1, 2]
    assert len({n['id'] for n in nodes}) == 3
    assert len({n['zone'] for n in nodes}) == 3
    assert set(nodes[0]) == {'id', 'region', 'zone', 'ip', 'port',
                             'replication_ip', 'replication_port', 'device',
                             'weight', 'meta', 'index'}
    assert ring.get_part_nodes(part) == nodes
    nodes[0]['ip'] = 'changed'  # callers get copies
    assert ring.get_part_nodes(part)[0]['ip'] != 'changed'


def test_handoffs_never_repeat_and_cover_every_other_device(ring_dir):
    ring = Ring(str(ring_dir), 'object')
    all_ids = {d['id'] for d in ring.devs if d}
    for part in range(ring.partition_count):
        primaries = {n['id'] for n in ring.get_part_nodes(part)}
        handoffs = list(ring.get_more_nodes(part))
        ids = [n['id'] for n in handoffs]
        assert len(ids) == len(set(ids))
        assert set(ids) == all_ids - primaries
        assert [n['handoff_index'] for n in handoffs] == \
            list(range(len(handoffs)))
        # Most distinct first: the zone no primary uses comes first.
        primary_zones = {n['zone'] for n in ring.get_part_nodes(part)}
        assert handoffs[0]['zone'] not in primary_zones
        assert [n['id'] for n in ring.get_more_nodes(part)] == ids


def test_handoffs_prefer_new_regions_then_zones_then_servers():
    # primaries in region 1 zones 1,2 and region 2 zone 3 (server A);
    # candidates: same server, other server same zone, new zone, new region.
    candidates = [(10, 1, (1, 1), (1, 1, 'a', 1)),
                  (11, 2, (2, 3), (2, 3, 'b', 1)),
                  (12, 2, (2, 4), (2, 4, 'c', 1)),
                  (13, 3, (3, 5), (3, 5, 'd', 1))]
    primary_tiers = [(1, (1, 1), (1, 1, 'a', 1)),
                     (1, (1, 2), (1, 2, 'e', 1)),
                     (2, (2, 3), (2, 3, 'f', 1))]
    order = list(handoff_order(5, [0, 1, 2], candidates, primary_tiers))
    assert order == [13, 12, 11, 10]


def test_zero_weight_devices_are_the_last_handoffs(tmp_path):
    (tmp_path / 'objstore.conf').write_text(
        '[objstore-hash]\npath_hash_prefix = p\n')
    builder = build(extra=[{'zone': 1, 'ip': '127.0.0.9', 'port': 6200,
                            'device': 'empty', 'weight': 0}])
    builder.get_ring().save(str(tmp_path / 'object.ring.gz'))
    ring = Ring(str(tmp_path), 'object')
    for part in range(0, ring.partition_count, 17):
        handoffs = list(ring.get_more_nodes(part))
        assert len(handoffs) == 9 - 3
        assert handoffs[-1]['device'] == 'empty'


def _replace_ring(ring_dir, builder):
    path = str(ring_dir / 'object.ring.gz')
    old = os.stat(path).st_mtime
    builder.get_ring().save(path)
    os.utime(path, (old + 10, old + 10))


def test_reloads_when_the_file_changes(ring_dir):
    ring = Ring(str(ring_dir), 'object', reload_time=0)
    assert len(ring.devs) == 8
    _replace_ring(ring_dir, build(devices_per_zone=3))
    assert len(ring.devs) == 12
    assert len({n['id'] for n in ring.get_part_nodes(0)}) == 3


def test_reload_checks_are_throttled(ring_dir):
    ring = Ring(str(ring_dir), 'object', reload_time=3600)
    _replace_ring(ring_dir, build(devices_per_zone=3))
    assert ring.has_changed()
    assert len(ring.devs) == 8
    assert len(Ring(str(ring_dir), 'object').devs) == 12


def test_a_broken_new_file_keeps_the_old_ring(ring_dir):
    ring = Ring(str(ring_dir), 'object', reload_time=0)
    nodes = ring.get_part_nodes(3)
    path = ring_dir / 'object.ring.gz'
    path.write_bytes(b'half-written junk')
    assert ring.get_part_nodes(3) == nodes
    assert isinstance(ring.load_error, RingLoadError)
    _replace_ring(ring_dir, build(devices_per_zone=3))
    assert len(ring.devs) == 12 and ring.load_error is None


def test_missing_or_corrupt_ring(tmp_path, ring_dir):
    hash_conf = HashConf(b'p', b's')
    with pytest.raises(RingLoadError):
        Ring(str(tmp_path / 'nope.ring.gz'), hash_conf=hash_conf)
    with pytest.raises(RingLoadError):
        Ring(str(tmp_path), 'container', hash_conf=hash_conf)
    (tmp_path / 'account.ring.gz').write_bytes(b'junk')
    with pytest.raises(RingLoadError):
        Ring(str(tmp_path), 'account', hash_conf=hash_conf)


def test_needs_a_hash_conf(tmp_path):
    build().get_ring().save(str(tmp_path / 'object.ring.gz'))
    with pytest.raises(ConfigError):
        Ring(str(tmp_path), 'object')
