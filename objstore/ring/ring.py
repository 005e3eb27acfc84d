"""The ring as processes use it: path -> partition -> devices.

``Ring`` loads a ring file (ringdata.py), answers lookups (primaries, and
a deterministic handoff sequence that ends after every other device) and
reloads itself when the file's mtime (or inode) changes, checking at most
once per ``reload_time`` seconds so a busy server does not stat the file on
every request.

It never writes rings and never decides placement; that is the builder's.
"""

import itertools
import os
import random
import struct
from time import monotonic

from objstore.common.exceptions import RingLoadError
from objstore.common.hashing import hash_path, load_hash_conf
from objstore.ring.ringdata import RingData

DEFAULT_RELOAD_TIME = 15
_TOP_32_BITS = struct.Struct('>I')


def quorum_size(replicas):
    """How many of a partition's replicas make a majority (write success).

    >>> [quorum_size(n) for n in (1, 2, 3, 4, 5)]
    [1, 2, 2, 3, 3]
    """
    return replicas // 2 + 1


def ring_file_path(path_or_dir, ring_name=None):
    """The ring file named by a path, or by a directory and a ring name."""
    if ring_name is not None or os.path.isdir(path_or_dir):
        return os.path.join(path_or_dir, '%s.ring.gz' % (ring_name or ''))
    return path_or_dir


def _file_signature(path):
    """(mtime_ns, inode, size) of a file, or None when it is missing.

    The inode catches a new file renamed into place within the mtime
    granularity of the filesystem.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_ino, st.st_size


def _tier_keys(dev):
    """(region, zone, server) keys of a device, broadest first."""
    region = dev['region']
    zone = (region, dev['zone'])
    server = zone + (dev['ip'], dev['port'])
    return region, zone, server


class Ring:
    """Read-only view of one ring file.

    ``Ring('/etc/objstore', 'object')`` or
    ``Ring('/etc/objstore/object.ring.gz')``. ``hash_conf`` defaults to the
    objstore.conf found beside the ring file.
    """

    def __init__(self, path_or_dir, ring_name=None, hash_conf=None,
                 reload_time=DEFAULT_RELOAD_TIME):
        self.path = ring_file_path(path_or_dir, ring_name)
        if hash_conf is None:
            hash_conf = load_hash_conf(os.path.dirname(
                os.path.abspath(self.path)))
        self.hash_conf = hash_conf
        self.reload_time = reload_time
        self._signature = None
        self._next_check = 0
        self.load_error = None
        self._load()

    def _load(self):
        # Stat before reading: if the file is replaced while we read, the
        # next check sees a newer mtime and loads again.
        signature = _file_signature(self.path)
        data = RingData.load(self.path)
        self._devs = data.devs
        self._replica2part2dev = data.replica2part2dev
        self._part_shift = data.part_shift
        self.build_version = data.build_version
        self._signature = signature
        self._next_check = monotonic() + self.reload_time
        # Per replica index, every device's node dict with that 'index'
        # already set: lookups then only copy a dict (about twice as fast
        # as building one).
        self._primary_tables = [
            ([dict(dev, index=index) if dev is not None else None
              for dev in self._devs], part2dev)
            for index, part2dev in enumerate(self._replica2part2dev)]
        present = [dev for dev in self._devs if dev is not None]
        self._handoff_candidates = [
            (dev['id'],) + _tier_keys(dev) for dev in present
            if dev.get('weight', 0) > 0]
        # Zero-weight devices are being drained: last resort only.
        self._drained_ids = [dev['id'] for dev in present
                             if not dev.get('weight', 0) > 0]

    def _maybe_reload(self):
        now = monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self.reload_time
        signature = _file_signature(self.path)
        # A missing or broken file is not a reason to drop the ring we
        # have: keep serving it and look again after reload_time.
        if signature is not None and signature != self._signature:
            try:
                self._load()
            except RingLoadError as err:
                self.load_error = err
            else:
                self.load_error = None

    def has_changed(self):
        """True when the file on disk differs from the loaded one."""
        return _file_signature(self.path) != self._signature

    @property
    def devs(self):
        """Devices indexed by id; None where an id was removed."""
        self._maybe_reload()
        return self._devs

    @property
    def replica_count(self):
        self._maybe_reload()
        return len(self._replica2part2dev)

    @property
    def partition_count(self):
        self._maybe_reload()
        return len(self._replica2part2dev[0])

    @property
    def part_power(self):
        self._maybe_reload()
        return 32 - self._part_shift

    def get_part(self, account, container=None, obj=None):
        """Partition of a path: top 32 bits of its hash >> part_shift."""
        digest = hash_path(account, container, obj, hash_conf=self.hash_conf,
                           raw_digest=True)
        self._maybe_reload()
        return _TOP_32_BITS.unpack_from(digest)[0] >> self._part_shift

    def get_part_nodes(self, part):
        """Primary devices of a partition, each with its replica 'index'."""
        self._maybe_reload()
        return [nodes[part2dev[part]].copy()
                for nodes, part2dev in self._primary_tables]

    def get_nodes(self, account, container=None, obj=None):
        """(partition, primary node dicts) of a path."""
        # The hot path of every proxy request: one inline reload check and
        # no intermediate method calls.
        digest = hash_path(account, container, obj, hash_conf=self.hash_conf,
                           raw_digest=True)
        if monotonic() >= self._next_check:
            self._maybe_reload()
        part = _TOP_32_BITS.unpack_from(digest)[0] >> self._part_shift
        return part, [nodes[part2dev[part]].copy()
                      for nodes, part2dev in self._primary_tables]

    def get_more_nodes(self, part):
        """Handoff devices of a partition, most distinct failure domain first.

        Deterministic per partition; never a primary; every other device
        exactly once, each dict with its 'handoff_index'. Zero-weight
        devices (being drained) come after all the others.
        """
        self._maybe_reload()
        primaries = [part2dev[part] for part2dev in self._replica2part2dev]
        devs = self._devs
        order = handoff_order(part, primaries, self._handoff_candidates,
                              [_tier_keys(devs[d]) for d in primaries])
        tail = (d for d in self._drained_ids if d not in primaries)
        for handoff_index, dev_id in enumerate(itertools.chain(order, tail)):
            yield dict(devs[dev_id], handoff_index=handoff_index)


def handoff_order(part, primaries, candidates, primary_tiers):
    """Device ids in handoff order for one partition (a generator).

    ``candidates`` are (id, region, zone, server) tuples. They are shuffled
    with the partition as seed (so handoffs of different partitions spread
    over the cluster), then yielded in four sweeps: devices in a region no
    earlier node uses, then in an unused zone, then on an unused server,
    then every device not yet given.
    """
    shuffled = list(candidates)
    random.Random(part).shuffle(shuffled)
    used = [set(), set(), set()]
    for tiers in primary_tiers:
        for level, key in enumerate(tiers):
            used[level].add(key)
    given = set(primaries)
    for level in range(3):
        for entry in shuffled:
            if entry[0] in given or entry[level + 1] in used[level]:
                continue
            given.add(entry[0])
            for lvl in range(3):
                used[lvl].add(entry[lvl + 1])
            yield entry[0]
    for entry in shuffled:
        if entry[0] not in given:
            given.add(entry[0])
            yield entry[0]
