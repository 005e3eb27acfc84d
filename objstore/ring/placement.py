"""Placement maths: which device holds each replica of each partition.

Pure code: it takes the device list and the builder's tables (arrays), and
changes the tables in place. No files, no clock (``now`` is passed in).

Vocabulary
----------
* target: how many partition-replicas a device should hold. Weight
  proportional, except that a device can hold at most one replica of a
  partition, so no device is asked for more than ``parts`` (the surplus is
  spread over the others by weight; "water filling").
* tiers: region > zone > server (ip:port) > device. A tier's target is the
  sum of its devices' targets. Its ``max`` is how many replicas of one
  partition it may hold: ``ceil(target / parts)``. Example: 3 replicas,
  4 equal zones -> each zone's target is 0.75 * parts, so max 1 replica of
  a partition per zone; with 2 equal zones it is 1.5 * parts, so max 2.
* weights win over dispersion (as in Swift with overload 0): when a tier
  has more weight than an even spread would give it, some partitions get
  more than one replica there; the tier maxes keep that to the least the
  weights force.
* a partition is *movable* when min_part_hours have passed since it last
  moved and (with min_part_hours > 0) none of its replicas moved in this
  rebalance.

Rebalance (``Placer.rebalance``)
--------------------------------
1. Unassign replicas on removed devices or never assigned (must move, even
   inside min_part_hours: their data has nowhere else to be).
2. For movable partitions whose replicas crowd a tier beyond its max,
   unassign one replica (from the most over-target device in that tier).
3. Place every unassigned replica greedily: walk the tier tree, at each
   level take the child that (a) stays within its max for this partition,
   (b) still wants replicas, (c) holds fewest replicas of this partition,
   (d) wants the most (ties broken by seeded noise, so partitions of one
   device spread their other replicas over many devices).
4. Pull balance: walk movable partitions in a seeded order and move a
   replica from an over-target device straight to an under-target device
   whenever the move keeps every tier within its max and brings the two
   devices closer to their targets (surplus + deficit > 1). Stops when no
   such pair is left, or after one pass over the partitions (a few passes
   when min_part_hours is 0). If devices are still short, the same again
   with any device as donor, so chains of moves reach a device that no
   over-target device shares a partition with.
Only step 4 moves data that did not have to move, and only the amount the
weights call for, which keeps movement close to the minimum.

A large ring takes a while: ``progress(stage, done, total)``, when given,
hears steps 3 and 4 advance, about every tenth of the way.
"""

import math
import random
from array import array
from collections import Counter

NONE = 0xFFFFFFFF
TABLE_TYPECODE = 'I'
LEVELS = 4
_EPSILON = 1e-9
_MAX_BALANCE = 999.99
_RECEIVER_REFRESH = 512


def new_table(replicas, parts):
    """An all-unassigned replica -> partition -> device table."""
    return [array(TABLE_TYPECODE, [NONE]) * parts for _ in range(replicas)]


def weighted_targets(weights, parts, replicas):
    """Target partition-replica count per device id (floats).

    ``weights`` maps id -> weight (> 0). No device gets more than ``parts``.

    >>> weighted_targets({0: 1.0, 1: 1.0, 2: 2.0}, 4, 2)
    {0: 2.0, 1: 2.0, 2: 4.0}
    >>> weighted_targets({0: 1.0, 1: 1.0, 2: 8.0}, 4, 2)
    {2: 4, 0: 2.0, 1: 2.0}
    """
    remaining = float(parts * replicas)
    free = dict(weights)
    targets = {}
    while free:
        total = sum(free.values())
        capped = [d for d, w in free.items()
                  if remaining * w / total > parts + _EPSILON]
        if not capped:
            targets.update((d, remaining * w / total)
                           for d, w in free.items())
            break
        for dev_id in capped:
            targets[dev_id] = parts
            remaining -= parts
            del free[dev_id]
    return targets


def tier_keys(dev):
    """Keys of a device's tiers, broadest first; the last is its id."""
    region = (dev['region'],)
    zone = region + (dev['zone'],)
    server = zone + (dev['ip'], dev['port'])
    return region, zone, server, dev['id']


class Topology:
    """Tier tree with per-tier targets, max-per-partition and counts.

    ``dev_tier[level][dev_id]`` is the index of the device's tier at that
    level; at the device level the index is the device id itself.
    """

    def __init__(self, devs, targets, parts, replicas):
        self.parts = parts
        self.replicas = replicas
        size = len(devs)
        self.dev_tier = [[-1] * size for _ in range(LEVELS - 1)]
        self.dev_tier.append(list(range(size)))
        self.target = [[] for _ in range(LEVELS - 1)] + [[0.0] * size]
        self.active = [[] for _ in range(LEVELS - 1)] + [[0] * size]
        self.assigned = [[] for _ in range(LEVELS - 1)] + [[0] * size]
        self.children = [[] for _ in range(LEVELS - 1)] + [[]]
        self.root_children = []
        index = [{} for _ in range(LEVELS - 1)]
        for dev in devs:
            if dev is not None:
                self._add_dev(dev, targets.get(dev['id'], 0.0), index)
        self.max = [[_max_per_part(t, parts) for t in level_targets]
                    for level_targets in self.target]
        # A level can only be crowded when some tier in it may hold fewer
        # than all replicas; others are skipped by the dispersion check.
        self.restrictive = [any(m < replicas for m in level_max)
                            for level_max in self.max[:LEVELS - 1]]

    def _add_dev(self, dev, target, index):
        keys = tier_keys(dev)
        is_active = 1 if target > 0 else 0
        parent_children = self.root_children
        for level in range(LEVELS):
            if level < LEVELS - 1:
                idx = index[level].get(keys[level])
                if idx is None:
                    idx = len(self.target[level])
                    index[level][keys[level]] = idx
                    self.target[level].append(0.0)
                    self.active[level].append(0)
                    self.assigned[level].append(0)
                    self.children[level].append([])
                self.dev_tier[level][dev['id']] = idx
            else:
                idx = dev['id']
            self.target[level][idx] += target
            self.active[level][idx] += is_active
            if is_active and idx not in parent_children:
                parent_children.append(idx)
            if level < LEVELS - 1:
                parent_children = self.children[level][idx]

    def count(self, dev_id, delta):
        """Add delta partition-replicas to a device and its tiers."""
        for level in range(LEVELS):
            self.assigned[level][self.dev_tier[level][dev_id]] += delta

    def surplus(self, dev_id):
        """How many partition-replicas a device holds above its target."""
        return (self.assigned[LEVELS - 1][dev_id]
                - self.target[LEVELS - 1][dev_id])

    def fits(self, dev_id, others):
        """True if one more replica on dev_id keeps its tiers within max."""
        for level in range(LEVELS - 1):
            tiers = self.dev_tier[level]
            tier = tiers[dev_id]
            crowd = 1
            for other in others:
                if tiers[other] == tier:
                    crowd += 1
            if crowd > self.max[level][tier]:
                return False
        return True

    def crowded_tier(self, devs_of_part):
        """(level, tier) of the broadest tier holding too many replicas.

        NONE entries (unassigned replicas) are ignored.
        """
        for level in range(LEVELS - 1):
            if not self.restrictive[level]:
                continue
            tiers = self.dev_tier[level]
            seen = [tiers[d] for d in devs_of_part if d != NONE]
            level_max = self.max[level]
            for tier in seen:
                if seen.count(tier) > level_max[tier]:
                    return level, tier
        return None


def _max_per_part(target, parts):
    if target <= 0:
        return 0
    return max(1, math.ceil(target / parts - 1e-6))


class Placer:
    """One rebalance over a builder's tables (see the module docstring).

    ``table`` (replica -> part -> dev id, NONE when unassigned) and
    ``moved_at`` (minute each partition last moved) are changed in place.
    """

    def __init__(self, devs, table, moved_at, *, removed=(),
                 min_part_hours=0, now_minutes=0, seed=None, progress=None):
        self.devs = devs
        self.progress = progress
        self.passes = 0
        self.table = table
        self.replicas = len(table)
        self.parts = len(table[0])
        self.moved_at = moved_at
        self.removed = frozenset(removed)
        self.min_minutes = min_part_hours * 60
        self.now_minutes = now_minutes
        self.rng = random.Random(seed)
        weights = {d['id']: d['weight'] for d in devs
                   if d is not None and d['weight'] > 0
                   and d['id'] not in self.removed}
        self.targets = weighted_targets(weights, self.parts, self.replicas)
        self.topo = Topology(devs, self.targets, self.parts, self.replicas)
        self.moved_now = bytearray(self.parts)

    def movable(self, part):
        if self.min_minutes <= 0:
            return True
        return (not self.moved_now[part] and
                self.now_minutes - self.moved_at[part] >= self.min_minutes)

    def rebalance(self):
        """Run steps 1-4; return the set of partitions that changed."""
        before = [array(TABLE_TYPECODE, part2dev) for part2dev in self.table]
        self._count_assigned()
        holes = self._gather_unplaceable()
        holes.update(self._gather_crowded())
        # A partition's holes are filled together, so each placement sees
        # where its other replicas went.
        for done, part in enumerate(sorted(holes), 1):
            for replica, part2dev in enumerate(self.table):
                if part2dev[part] == NONE:
                    self._place(part, replica)
            self._tick('placing', done, len(holes))
        self._pull_balance()
        changed = set()
        for old, new in zip(before, self.table):
            if old != new:
                changed.update(p for p in range(self.parts)
                               if old[p] != new[p])
        for part in changed:
            self.moved_at[part] = self.now_minutes
        return changed

    def _tick(self, stage, done, total):
        """Tell ``progress`` at each tenth of a stage and at its end.

        >>> heard = []
        >>> placer = Placer.__new__(Placer)
        >>> placer.progress = lambda *args: heard.append(args)
        >>> for done in range(1, 21): placer._tick('placing', done, 20)
        >>> len(heard), heard[0], heard[-1]
        (10, ('placing', 2, 20), ('placing', 20, 20))
        """
        if self.progress is not None and (
                done == total or done * 10 // total !=
                (done - 1) * 10 // total):
            self.progress(stage, done, total)

    def _count_assigned(self):
        topo = self.topo
        for part2dev in self.table:
            for dev_id, count in Counter(part2dev).items():
                if dev_id != NONE and self._is_present(dev_id):
                    topo.count(dev_id, count)

    def _is_present(self, dev_id):
        return (dev_id < len(self.devs) and self.devs[dev_id] is not None
                and dev_id not in self.removed)

    def _gather_unplaceable(self):
        """Step 1: unassign replicas with no device or on a removed device.

        Returns the set of partitions left with holes.
        """
        holes = set()
        gone = {d for part2dev in self.table for d in set(part2dev)
                if d == NONE or not self._is_present(d)}
        if not gone:
            return holes
        for part2dev in self.table:
            parts = [p for p, d in enumerate(part2dev) if d in gone]
            for part in parts:
                part2dev[part] = NONE
            holes.update(parts)
        for part in holes:
            self.moved_now[part] = 1
        return holes

    def _gather_crowded(self):
        """Step 2: unassign replicas of movable, over-crowded partitions.

        One replica per partition when min_part_hours is set, else as many
        as it takes. Returns the set of partitions left with holes.
        """
        topo = self.topo
        if not any(topo.restrictive):
            return set()
        holes = set()
        table = self.table
        replicas = range(self.replicas)
        for part in range(self.parts):
            if not self.movable(part):
                continue
            devs_of_part = [table[r][part] for r in replicas]
            if NONE in devs_of_part:
                continue
            crowded = topo.crowded_tier(devs_of_part)
            while crowded is not None:
                replica = self._most_over_in(crowded, devs_of_part)
                topo.count(devs_of_part[replica], -1)
                devs_of_part[replica] = NONE
                table[replica][part] = NONE
                holes.add(part)
                if self.min_minutes > 0:
                    self.moved_now[part] = 1
                    break
                crowded = topo.crowded_tier(devs_of_part)
        return holes

    def _most_over_in(self, crowded, devs_of_part):
        level, tier = crowded
        tiers = self.topo.dev_tier[level]
        candidates = [(self.topo.surplus(d), r)
                      for r, d in enumerate(devs_of_part)
                      if d != NONE and tiers[d] == tier]
        return max(candidates)[1]

    def _place(self, part, replica):
        others = [part2dev[part] for part2dev in self.table]
        others = [d for d in others if d != NONE]
        dev_id = self._choose(others)
        self.table[replica][part] = dev_id
        self.topo.count(dev_id, 1)

    def _choose(self, others):
        """Greedy tier walk of step 3; returns a device id.

        ``others`` are the devices holding the partition's other replicas;
        after each level only those inside the chosen tier still matter,
        so the deeper levels of a fresh subtree take the quick path.
        """
        topo = self.topo
        children = topo.root_children
        for level in range(LEVELS):
            tiers = topo.dev_tier[level]
            if others:
                best = self._pick_crowded(level, children,
                                          [tiers[o] for o in others])
                others = [o for o in others if tiers[o] == best]
            else:
                best = self._pick_free(level, children)
            if level < LEVELS - 1:
                children = topo.children[level][best]
        return best

    def _pick_free(self, level, children):
        """Child wanting the most, when none holds a replica of the part."""
        topo = self.topo
        noise = self.rng.random
        target = topo.target[level]
        assigned = topo.assigned[level]
        active = topo.active[level]
        best = None
        best_score = -math.inf
        for child in children:
            if active[child]:
                # Children with room beat full ones whatever the noise.
                want = target[child] - assigned[child]
                score = want + noise() if want > 0 else want - 2.0 ** 40
                if score > best_score:
                    best, best_score = child, score
        if best is None:
            raise ValueError('no device can take another replica')
        return best

    def _pick_crowded(self, level, children, used_in):
        """Child for a replica when some children hold others already:
        within its max first, then with room, then fewest replicas of the
        part, then wanting the most."""
        topo = self.topo
        noise = self.rng.random
        level_max = topo.max[level]
        target = topo.target[level]
        assigned = topo.assigned[level]
        active = topo.active[level]
        best = None
        best_rank = best_score = None
        for child in children:
            used = used_in.count(child)
            if used >= active[child]:
                continue
            want = target[child] - assigned[child]
            rank = used
            if want <= 0:
                rank += 100
            if used >= level_max[child]:
                rank += 10000
            score = want + noise()
            if (best is None or rank < best_rank
                    or (rank == best_rank and score > best_score)):
                best, best_rank, best_score = child, rank, score
        if best is None:
            raise ValueError('no device can take another replica '
                             '(more replicas than devices?)')
        return best

    def _receivers(self):
        """Devices short of target that some over-target device could feed.

        A move from d to u helps when surplus(d) + deficit(u) > 1: it
        brings both closer to their targets in total.
        """
        topo = self.topo
        surplus = {d: topo.surplus(d) for d in self.targets}
        most_over = max((s for d, s in surplus.items()), default=0.0)
        for dev_id in self._drained_devs():
            most_over = max(most_over, topo.surplus(dev_id))
        return [d for d in sorted(surplus)
                if -surplus[d] > 0 and most_over - surplus[d] > 1]

    def _drained_devs(self):
        """Present devices with no target (weight 0) that still hold data."""
        assigned = self.topo.assigned[LEVELS - 1]
        return [d['id'] for d in self.devs
                if d is not None and d['id'] not in self.targets
                and d['id'] not in self.removed and assigned[d['id']] > 0]

    def _pull_balance(self):
        """Step 4: move replicas from over- to under-target devices.

        A pass moves at most one replica per partition; without
        min_part_hours more passes follow while they make progress (a
        partition may need several replicas moved, e.g. to new big devices).
        """
        passes = 1 if self.min_minutes > 0 else self.replicas + 1
        # Over-target donors first: that is the minimal movement. Only if
        # devices are still short, let any device give (chains of moves).
        for any_donor in (False, True):
            for _ in range(passes):
                if not self._pull_pass(any_donor):
                    break

    def _pull_pass(self, any_donor):
        """One pass over the partitions; True if it moved something and
        devices still want more."""
        receivers = self._receivers()
        if not receivers:
            return False
        moved = False
        since_refresh = 0
        self.passes += 1
        stage = 'balancing (pass %d)' % self.passes
        start = self.rng.randrange(self.parts)
        stride = self.rng.randrange(self.parts) | 1 if self.parts > 1 else 1
        for step in range(self.parts):
            self._tick(stage, step + 1, self.parts)
            part = (start + step * stride) % self.parts
            if not self.movable(part):
                continue
            receiver = self._pull_one(part, receivers, any_donor)
            if receiver is None:
                continue
            moved = True
            if self.min_minutes > 0:
                self.moved_now[part] = 1
            # Only the two devices of the move changed: drop a receiver
            # once it is full, and rebuild the list (donors may have run
            # dry) only now and then, as that costs a look at every device.
            if self.topo.surplus(receiver) >= 0:
                receivers.remove(receiver)
            since_refresh += 1
            if not receivers or since_refresh >= _RECEIVER_REFRESH:
                receivers = self._receivers()
                since_refresh = 0
                if not receivers:
                    return False
        return moved

    def _pull_one(self, part, receivers, any_donor):
        """Move the best-gain replica of part to a receiver; return the
        receiver, or None when no move of this partition helps."""
        topo = self.topo
        devs_of_part = [part2dev[part] for part2dev in self.table]
        best = None
        for replica, dev_id in enumerate(devs_of_part):
            # With any_donor, a device at or just under its target may give
            # too: surplus + deficit > 1 still brings the pair closer
            # overall, and a chain of such moves reaches a receiver that
            # no over-target device shares a partition with.
            over = topo.surplus(dev_id)
            if over <= 0 and not any_donor:
                continue
            others = devs_of_part[:replica] + devs_of_part[replica + 1:]
            for receiver in receivers:
                gain = over - topo.surplus(receiver)
                if (gain <= 1 or receiver in devs_of_part
                        or (best and gain <= best[0])):
                    continue
                if topo.fits(receiver, others):
                    best = (gain, replica, dev_id, receiver)
        if best is None:
            return None
        _, replica, dev_id, receiver = best
        self.table[replica][part] = receiver
        topo.count(dev_id, -1)
        topo.count(receiver, 1)
        return receiver


def part_counts(table, size):
    """Partition-replicas per device id (list of length size)."""
    counts = [0] * size
    for part2dev in table:
        for dev_id, count in Counter(part2dev).items():
            if dev_id != NONE and dev_id < size:
                counts[dev_id] += count
    return counts


def dev_balances(devs, table, parts, replicas):
    """Percent each present device is off its target (dict id -> float)."""
    counts = part_counts(table, len(devs))
    weights = {d['id']: d['weight'] for d in devs
               if d is not None and d['weight'] > 0}
    targets = weighted_targets(weights, parts, replicas)
    balances = {}
    for dev in devs:
        if dev is None:
            continue
        target = targets.get(dev['id'], 0)
        have = counts[dev['id']]
        if target <= 0:
            balances[dev['id']] = _MAX_BALANCE if have else 0.0
        else:
            balances[dev['id']] = 100.0 * have / target - 100.0
    return balances


def dispersion_report(devs, table, parts):
    """How many partitions crowd a tier beyond its max, per level.

    Returns {'parts_crowded': n, 'dispersion': percent of partitions,
    'by_level': {'region': n, 'zone': n, 'server': n}}.
    """
    weights = {d['id']: d['weight'] for d in devs
               if d is not None and d['weight'] > 0}
    replicas = len(table)
    topo = Topology(devs, weighted_targets(weights, parts, replicas),
                    parts, replicas)
    names = ('region', 'zone', 'server')
    by_level = dict.fromkeys(names, 0)
    crowded_parts = 0
    for part in range(parts):
        devs_of_part = [part2dev[part] for part2dev in table]
        crowded = topo.crowded_tier(devs_of_part)
        if crowded is not None:
            crowded_parts += 1
            by_level[names[crowded[0]]] += 1
    return {'parts_crowded': crowded_parts,
            'dispersion': 100.0 * crowded_parts / parts if parts else 0.0,
            'by_level': by_level}
