"""Timestamps: the one clock every write carries.

A timestamp is seconds since the epoch with 5 decimal places, written
``%016.05f`` (``1700000000.12345``). An *internal* form adds an offset in hex
(``1700000000.12345_000000000000000a``) so that a node can order two
events that share one client timestamp (e.g. a POST made from a PUT's
timestamp). Newest wins everywhere; equal timestamps compare by offset.
"""

import functools
import time

from objstore.common.exceptions import InvalidTimestamp

PRECISION = 1e-5
OFFSET_FORMAT = '%016x'
MAX_OFFSET = (16 ** 16) - 1


@functools.total_ordering
class Timestamp:
    """An immutable point in time with an optional ordering offset.

    >>> Timestamp('1700000000.1').normal
    '1700000000.10000'
    >>> Timestamp(1700000000.1, offset=10).internal
    '1700000000.10000_000000000000000a'
    """

    __slots__ = ('_ticks', 'offset')

    def __init__(self, value, offset=0):
        if isinstance(value, Timestamp):
            ticks, base_offset = value._ticks, value.offset
        else:
            ticks, base_offset = _parse(value)
        if offset < 0 or base_offset + offset > MAX_OFFSET:
            raise InvalidTimestamp('timestamp offset out of range')
        if ticks < 0 or ticks >= 10 ** 15:
            raise InvalidTimestamp('timestamp out of range: %r' % (value,))
        self._ticks = ticks
        self.offset = base_offset + offset

    @classmethod
    def now(cls, now=None):
        return cls(time.time() if now is None else now)

    @property
    def normal(self):
        return '%010d.%05d' % divmod(self._ticks, 100000)

    @property
    def internal(self):
        if self.offset:
            return '%s_%s' % (self.normal, OFFSET_FORMAT % self.offset)
        return self.normal

    @property
    def ticks(self):
        """Whole units of 1e-5 seconds: exact, for arithmetic."""
        return self._ticks

    def __float__(self):
        return self._ticks * PRECISION

    def __int__(self):
        return self._ticks // 100000

    def __str__(self):
        return self.internal

    def __repr__(self):
        return 'Timestamp(%r)' % self.internal

    def __hash__(self):
        return hash((self._ticks, self.offset))

    def _key(self):
        return (self._ticks, self.offset)

    def __eq__(self, other):
        if other is None:
            return False
        if not isinstance(other, Timestamp):
            try:
                other = Timestamp(other)
            except InvalidTimestamp:
                return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other):
        if not isinstance(other, Timestamp):
            other = Timestamp(other)
        return self._key() < other._key()


def _parse(value):
    """(ticks, offset) from a float, int or normal/internal string."""
    offset = 0
    if isinstance(value, bytes):
        value = value.decode('ascii', 'replace')
    if isinstance(value, str):
        text = value.strip()
        if '_' in text:
            text, _, hex_offset = text.partition('_')
            try:
                offset = int(hex_offset, 16)
            except ValueError:
                raise InvalidTimestamp('bad timestamp offset: %r' % value)
        try:
            number = float(text)
        except ValueError:
            raise InvalidTimestamp('not a timestamp: %r' % value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        raise InvalidTimestamp('not a timestamp: %r' % (value,))
    if number != number or number in (float('inf'), float('-inf')):
        raise InvalidTimestamp('not a timestamp: %r' % (value,))
    return int(round(number / PRECISION)), offset


def normalize_timestamp(value):
    """The ``%016.05f`` form of any accepted timestamp value."""
    return Timestamp(value).normal


def timestamp_or_none(value):
    """A Timestamp, or None for a missing/empty value."""
    if value in (None, '', b''):
        return None
    return Timestamp(value)
