"""RingBuilder: the operator's editable ring and its builder file.

Owns the device list, the replica -> partition -> device table, the minute
each partition last moved (for min_part_hours) and the builder file. The
placement maths is placement.py's; the ring file format is ringdata.py's.

Builder file: gzip-compressed JSON (never pickle), with
``"format": "objstore-ring-builder"`` and a ``version``. Tables are base64
of little-endian uint32 arrays. ``save`` writes atomically (temp, fsync,
rename) and first keeps the previous file as ``<path>.bak`` (a hard link to
the old inode, so there is no instant without a builder file).
"""

import base64
import gzip
import json
import os
import sys
import time
import uuid
import zlib
from array import array

from objstore.common.durable import write_atomic
from objstore.common.exceptions import (
    DuplicateDeviceError, RingBuilderError, RingLoadError,
    RingValidationError)
from objstore.ring import placement
from objstore.ring.devices import DEV_KEYS, dev_matches, normalize_dev
from objstore.ring.ringdata import RingData

BUILDER_FORMAT = 'objstore-ring-builder'
BUILDER_VERSION = 1
MAX_PART_POWER = 32


def _pack(arr):
    if sys.byteorder != 'little':
        arr = array(arr.typecode, arr)
        arr.byteswap()
    return base64.b64encode(arr.tobytes()).decode('ascii')


def _unpack(text, length):
    arr = array(placement.TABLE_TYPECODE)
    arr.frombytes(base64.b64decode(text.encode('ascii'), validate=True))
    if sys.byteorder != 'little':
        arr.byteswap()
    if len(arr) != length:
        raise ValueError('table has %d entries, expected %d'
                         % (len(arr), length))
    return arr


def _check_int(name, value, low, high=None):
    if isinstance(value, bool) or not isinstance(value, int):
        raise RingBuilderError('%s must be an integer, got %r'
                               % (name, value))
    if value < low or (high is not None and value > high):
        bounds = '%s..%s' % (low, high) if high is not None else '>= %s' % low
        raise RingBuilderError('%s %s is outside %s' % (name, value, bounds))
    return value


class RingBuilder:
    """Devices, placement table and history of one ring."""

    def __init__(self, part_power, replicas, min_part_hours):
        self.part_power = _check_int('part power', part_power, 1,
                                     MAX_PART_POWER)
        self.replicas = _check_int('replicas', replicas, 1)
        self.min_part_hours = _check_int('min_part_hours', min_part_hours, 0)
        self.parts = 2 ** self.part_power
        self.devs = []
        self.id = uuid.uuid4().hex
        self.version = 0
        self._pending_removal = set()
        self._table = None
        self._moved_at = None

    # -- devices ---------------------------------------------------------

    def add_dev(self, dev):
        """Add a device dict (see devices.normalize_dev); return its id."""
        try:
            dev = normalize_dev(dev)
        except ValueError as err:
            raise RingBuilderError(str(err)) from None
        for other in self.devs:
            if other is not None and (other['ip'], other['port'],
                                      other['device']) == (
                    dev['ip'], dev['port'], dev['device']):
                raise DuplicateDeviceError(
                    'device %s:%s/%s already exists as id %s'
                    % (dev['ip'], dev['port'], dev['device'], other['id']))
        dev_id = dev.get('id')
        if dev_id is None:
            dev_id = (self.devs.index(None) if None in self.devs
                      else len(self.devs))
        elif dev_id < len(self.devs) and self.devs[dev_id] is not None:
            raise DuplicateDeviceError('device id %s already exists'
                                       % dev_id)
        while len(self.devs) <= dev_id:
            self.devs.append(None)
        dev['id'] = dev_id
        self.devs[dev_id] = {key: dev[key] for key in DEV_KEYS}
        self.version += 1
        return dev_id

    def _dev(self, dev_id):
        if (not isinstance(dev_id, int) or not 0 <= dev_id < len(self.devs)
                or self.devs[dev_id] is None):
            raise RingBuilderError('no device with id %r' % (dev_id,))
        return self.devs[dev_id]

    def set_dev_weight(self, dev_id, weight):
        """Change a device's weight; takes effect at the next rebalance."""
        dev = self._dev(dev_id)
        try:
            weight = normalize_dev(dict(dev, weight=weight))['weight']
        except ValueError as err:
            raise RingBuilderError(str(err)) from None
        if dev_id in self._pending_removal and weight > 0:
            raise RingBuilderError('device %s is being removed' % dev_id)
        dev['weight'] = weight
        self.version += 1

    def remove_dev(self, dev_id):
        """Mark a device for removal: its replicas move at next rebalance."""
        dev = self._dev(dev_id)
        dev['weight'] = 0.0
        self._pending_removal.add(dev_id)
        self.version += 1

    def search_devs(self, search_filter):
        """Devices matching a filter dict (devices.parse_search_value)."""
        return [dev for dev in self.devs if dev_matches(dev, search_filter)]

    def pending_removal(self):
        return sorted(self._pending_removal)

    # -- placement -------------------------------------------------------

    def _active_count(self):
        return sum(1 for dev in self.devs
                   if dev is not None and dev['weight'] > 0)

    def rebalance(self, seed=None, now=None, progress=None):
        """Reassign partitions; return (parts_moved, balance, removed_devs).
        ``progress(stage, done, total)`` hears a long one advance
        (placement.Placer).

        parts_moved counts partitions with at least one replica moved.
        With min_part_hours > 0 each partition moves at most one replica,
        except replicas on removed devices, which always move.
        """
        active = self._active_count()
        if active < self.replicas:
            raise RingBuilderError(
                '%d replicas need at least %d devices with weight > 0; '
                'the builder has %d' % (self.replicas, self.replicas, active))
        if self._table is None:
            self._table = placement.new_table(self.replicas, self.parts)
            self._moved_at = array(placement.TABLE_TYPECODE, [0]) * self.parts
        now_minutes = int((time.time() if now is None else now) // 60)
        placer = placement.Placer(
            self.devs, self._table, self._moved_at,
            removed=self._pending_removal,
            min_part_hours=self.min_part_hours, now_minutes=now_minutes,
            seed=seed, progress=progress)
        changed = placer.rebalance()
        removed = [self.devs[d] for d in sorted(self._pending_removal)]
        for dev_id in self._pending_removal:
            self.devs[dev_id] = None
        self._pending_removal = set()
        while self.devs and self.devs[-1] is None:
            self.devs.pop()
        if changed or removed:
            self.version += 1
        return len(changed), self.get_balance(), removed

    def pretend_min_part_hours_passed(self):
        """Forget when partitions last moved (testing and emergencies)."""
        if self._moved_at is not None:
            self._moved_at = array(placement.TABLE_TYPECODE, [0]) * self.parts

    def min_part_hours_remaining(self, now=None):
        """Seconds until every partition may move again."""
        if self._moved_at is None or not self.min_part_hours:
            return 0
        now = time.time() if now is None else now
        free_at = (max(self._moved_at) + self.min_part_hours * 60) * 60
        return max(0, int(free_at - now))

    @property
    def has_table(self):
        return self._table is not None

    def part_counts(self):
        """Partition-replicas per device id (dict, present devices only)."""
        if self._table is None:
            return {dev['id']: 0 for dev in self.devs if dev is not None}
        counts = placement.part_counts(self._table, len(self.devs))
        return {dev['id']: counts[dev['id']]
                for dev in self.devs if dev is not None}

    def dev_balances(self):
        """Percent each device is off its weighted share (dict id -> %)."""
        if self._table is None:
            return {dev['id']: (-100.0 if dev['weight'] > 0 else 0.0)
                    for dev in self.devs if dev is not None}
        return placement.dev_balances(self.devs, self._table, self.parts,
                                      self.replicas)

    def get_balance(self):
        """Largest percent any device is off its weighted share."""
        balances = self.dev_balances()
        return max((abs(b) for b in balances.values()), default=0.0)

    def dispersion_report(self):
        """Partitions whose replicas crowd one tier more than needed."""
        if self._table is None:
            return {'parts_crowded': 0, 'dispersion': 0.0,
                    'by_level': {'region': 0, 'zone': 0, 'server': 0}}
        return placement.dispersion_report(self.devs, self._table,
                                           self.parts)

    @property
    def dispersion(self):
        """Percent of partitions with replicas crowded in one tier."""
        return self.dispersion_report()['dispersion']

    def list_parts(self, search_filter):
        """(partition, replicas on matching devices) pairs, most first."""
        return self.parts_on_devs(
            {dev['id'] for dev in self.search_devs(search_filter)})

    def parts_on_devs(self, dev_ids):
        """(partition, replicas on the given device ids), most first."""
        if self._table is None:
            return []
        hits = {}
        for part2dev in self._table:
            for part, dev_id in enumerate(part2dev):
                if dev_id in dev_ids:
                    hits[part] = hits.get(part, 0) + 1
        return sorted(hits.items(), key=lambda item: (-item[1], item[0]))

    def validate(self):
        """Raise RingValidationError unless the table is complete and sane."""
        if self._table is None:
            raise RingValidationError('the builder was never rebalanced')
        if len(self._table) != self.replicas:
            raise RingValidationError('table has %d replicas, expected %d'
                                      % (len(self._table), self.replicas))
        for dev_id, dev in enumerate(self.devs):
            if dev is not None and dev['id'] != dev_id:
                raise RingValidationError('device at %d says id %s'
                                          % (dev_id, dev['id']))
        present = {dev['id'] for dev in self.devs if dev is not None}
        for replica, part2dev in enumerate(self._table):
            if len(part2dev) != self.parts:
                raise RingValidationError('replica %d has %d partitions, '
                                          'expected %d' % (
                                              replica, len(part2dev),
                                              self.parts))
            unknown = set(part2dev) - present
            if unknown:
                raise RingValidationError(
                    'replica %d uses unassigned or missing devices %s'
                    % (replica, sorted(unknown)[:5]))
        for part, devs_of_part in enumerate(zip(*self._table)):
            if len(set(devs_of_part)) != self.replicas:
                raise RingValidationError(
                    'partition %d has two replicas on one device' % part)

    def get_ring(self):
        """The RingData to write for processes (validates first)."""
        try:
            self.validate()
        except RingValidationError as err:
            raise RingBuilderError('cannot make a ring: %s' % err) from None
        devs = [dict(dev) if dev is not None else None for dev in self.devs]
        return RingData([array(placement.TABLE_TYPECODE, part2dev)
                         for part2dev in self._table],
                        devs, 32 - self.part_power, self.version)

    # -- builder file ----------------------------------------------------

    def to_dict(self):
        table = None
        if self._table is not None:
            table = {'replica2part2dev': [_pack(a) for a in self._table],
                     'moved_at': _pack(self._moved_at)}
        return {
            'format': BUILDER_FORMAT, 'version': BUILDER_VERSION,
            'id': self.id, 'build_version': self.version,
            'part_power': self.part_power, 'replicas': self.replicas,
            'min_part_hours': self.min_part_hours, 'devs': self.devs,
            'pending_removal': sorted(self._pending_removal),
            'table': table,
        }

    def to_bytes(self):
        body = json.dumps(self.to_dict(), sort_keys=True).encode('utf-8')
        return gzip.compress(body, compresslevel=6, mtime=0)

    def save(self, path):
        """Write the builder file atomically, keeping the old one as .bak."""
        data = self.to_bytes()
        if os.path.exists(path):
            keep_backup(path)
        write_atomic(path, data)

    @classmethod
    def load(cls, path):
        """Read a builder file; RingLoadError if missing, corrupt, unknown."""
        try:
            with open(path, 'rb') as fp:
                raw = fp.read()
        except OSError as err:
            raise RingLoadError('cannot read builder %s: %s'
                                % (path, err.strerror)) from err
        try:
            state = json.loads(gzip.decompress(raw))
        except (OSError, EOFError, zlib.error, ValueError) as err:
            raise RingLoadError('builder %s is corrupt: %s'
                                % (path, err)) from err
        return cls.from_dict(state, path)

    @classmethod
    def from_dict(cls, state, path='<dict>'):
        if (not isinstance(state, dict)
                or state.get('format') != BUILDER_FORMAT):
            raise RingLoadError('%s is not an objstore builder file' % path)
        if state.get('version') != BUILDER_VERSION:
            raise RingLoadError('builder %s has format version %r; this code '
                                'reads version %s' % (path,
                                                      state.get('version'),
                                                      BUILDER_VERSION))
        try:
            builder = cls(state['part_power'], state['replicas'],
                          state['min_part_hours'])
            builder.id = str(state['id'])
            builder.version = int(state['build_version'])
            builder.devs = [normalize_dev(dev) if dev is not None else None
                            for dev in state['devs']]
            builder._pending_removal = set(state['pending_removal'])
            table = state['table']
            if table is not None:
                builder._table = [_unpack(text, builder.parts)
                                  for text in table['replica2part2dev']]
                builder._moved_at = _unpack(table['moved_at'], builder.parts)
        except (KeyError, TypeError, ValueError, RingBuilderError) as err:
            raise RingLoadError('builder %s is corrupt: %s'
                                % (path, err)) from err
        for dev_id, dev in enumerate(builder.devs):
            if dev is not None and dev.get('id') != dev_id:
                raise RingLoadError('builder %s is corrupt: device at %d '
                                    'has id %r' % (path, dev_id,
                                                   dev.get('id')))
        return builder


def keep_backup(path):
    """Make ``<path>.bak`` the current contents of path, atomically."""
    backup = path + '.bak'
    tmp = backup + '.tmp'
    if os.path.exists(tmp):
        os.unlink(tmp)
    try:
        os.link(path, tmp)
    except OSError:
        with open(path, 'rb') as fp:
            write_atomic(backup, fp.read())
        return
    try:
        os.replace(tmp, backup)
    except OSError:
        os.unlink(tmp)
        raise
