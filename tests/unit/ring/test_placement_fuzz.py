"""Random topologies and operator actions (fixed seeds): every rebalance
leaves a valid table, and min_part_hours is respected."""

import random

import pytest

from objstore.ring.builder import RingBuilder

HOUR = 3600


def random_dev(rng, index):
    region = rng.randint(1, 2)
    zone = rng.randint(1, 4)
    return {'region': region, 'zone': zone,
            'ip': '10.%d.%d.%d' % (region, zone, rng.randint(1, 3)),
            'port': 6200, 'device': 'd%d' % index,
            'weight': rng.choice([0, 50, 100, 100, 200, 400])}


def tables(builder):
    return [list(a) for a in builder._table]


def check(builder, before, removed_ids, min_part_hours):
    builder.validate()
    if before is None or not min_part_hours:
        return
    for part in range(builder.parts):
        moved = [r for r in range(builder.replicas)
                 if before[r][part] != builder._table[r][part]]
        forced = [r for r in moved if before[r][part] in removed_ids]
        assert len(moved) - len(forced) <= 1, (part, moved, forced)


@pytest.mark.parametrize('seed', range(40))
def test_random_operations_keep_the_ring_valid(seed):
    rng = random.Random(seed)
    min_part_hours = rng.choice([0, 1])
    builder = RingBuilder(rng.randint(4, 7), rng.randint(1, 4),
                          min_part_hours)
    names = iter(range(10 ** 6))
    while sum(1 for d in builder.devs if d and d['weight'] > 0) < \
            builder.replicas + 1:
        builder.add_dev(random_dev(rng, next(names)))
    now = 0
    rebalances = 0
    for _ in range(8):
        action = rng.choice(['add', 'remove', 'weight', 'none'])
        present = [d['id'] for d in builder.devs if d is not None
                   and d['id'] not in builder.pending_removal()]
        if action == 'add':
            builder.add_dev(random_dev(rng, next(names)))
        elif action == 'remove' and len(present) > builder.replicas + 1:
            builder.remove_dev(rng.choice(present))
        elif action == 'weight' and present:
            builder.set_dev_weight(rng.choice(present),
                                   rng.choice([0, 50, 100, 300]))
        active = sum(1 for d in builder.devs if d and d['weight'] > 0)
        if active < builder.replicas:
            builder.add_dev(dict(random_dev(rng, next(names)), weight=100))
            continue
        removed_ids = set(builder.pending_removal())
        before = tables(builder) if builder.has_table else None
        now += rng.choice([0, 2 * HOUR])
        builder.rebalance(seed=rng.randrange(1000), now=now)
        rebalances += 1
        check(builder, before, removed_ids, min_part_hours)
    assert rebalances >= 4
