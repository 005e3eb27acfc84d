"""Timestamps: the one clock every write carries.

A timestamp is seconds since the epoch with 5 decimal places, written
``%016.05f`` (``1700000000.12345``). An *internal* form adds an offset in hex
(``1700000000.12345_000000000000000a``) so that a node can order two
events that share one client timestamp (e.g. a POST made from a PUT's
timestamp). Newest wins everywhere; equal timestamps compare by offset.

Also the one home of X-Delete-At / X-Delete-After parsing (whole epoch
seconds), shared by the proxy, which refuses bad values before any
backend write, and the object server, which checks again. Pure: ``now``
is passed in.
"""

import functools
import re
import time

from objstore.common.exceptions import InvalidInput, InvalidTimestamp

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


# ``float`` and ``int`` alone would also take '1_0', '1e3', ' +5' and other
# scripts' digits; a timestamp on the wire is plain ASCII decimal.
TIMESTAMP_TEXT = re.compile(
    r'(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:_(?P<offset>[0-9a-f]+))?',
    re.ASCII | re.IGNORECASE)


def _parse(value):
    """(ticks, offset) from a float, int or normal/internal string."""
    if type(value) is str and len(value) == 16 and value[10] == '.' and \
            value.isascii():
        # The normal form: nearly every timestamp parsed (X-Timestamp,
        # object file names and metadata, DB rows) is one. Read as two
        # whole numbers it costs a fraction of the regex, float and round
        # below, with the same result (``test_normal_form_fast_path``).
        whole, fraction = value[:10], value[11:]
        if whole.isdigit() and fraction.isdigit():
            return int(whole) * 100000 + int(fraction), 0
    offset = 0
    if isinstance(value, bytes):
        value = value.decode('ascii', 'replace')
    if isinstance(value, str):
        match = TIMESTAMP_TEXT.fullmatch(value.strip())
        if match is None:
            raise InvalidTimestamp('not a timestamp: %r' % value)
        if match['offset'] is not None:
            if len(match['offset']) > 16:
                raise InvalidTimestamp('timestamp offset out of range')
            offset = int(match['offset'], 16)
        number = float(match['number'])
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        raise InvalidTimestamp('not a timestamp: %r' % (value,))
    if not abs(number) < 10 ** 10:
        # also NaN and the infinities; bigger values would overflow ticks
        raise InvalidTimestamp('timestamp out of range: %r' % (value,))
    return int(round(number / PRECISION)), offset


def normalize_timestamp(value):
    """The ``%016.05f`` form of any accepted timestamp value."""
    return Timestamp(value).normal


def timestamp_or_none(value):
    """A Timestamp, or None for a missing/empty value."""
    if value in (None, '', b''):
        return None
    return Timestamp(value)


# Swift's ceiling for X-Delete-At: ten digits (the year 2286), the width
# of the expirer queue's time index. Anything later is refused rather
# than stored as a name the queue cannot hold.
MAX_DELETE_AT = 9999999999
# A decimal value longer than this is beyond every bound checked here;
# it is not converted (int() of thousands of digits is slow, and refused
# past 4,300).
MAX_DECIMAL_DIGITS = 20


def _header_integer(value, name):
    """int of a decimal header value with an optional '-' sign.

    >>> _header_integer(' -42 ', 'X-Delete-After')
    -42
    >>> _header_integer('9' * 400, 'X-Delete-After') > MAX_DELETE_AT
    True
    """
    text = (value or '').strip()
    negative = text.startswith('-')
    digits = text[1:] if negative else text
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidInput('Non-integer %s' % name)
    sign = -1 if negative else 1
    significant = digits.lstrip('0')
    if len(significant) > MAX_DECIMAL_DIGITS:
        return sign * 10 ** MAX_DECIMAL_DIGITS
    return sign * int(digits)


def parse_delete_at(value, now):
    """The whole epoch seconds of an X-Delete-At value; InvalidInput if it
    is not an integer, not after ``now`` or past MAX_DELETE_AT.

    >>> parse_delete_at('1700000060', 1700000000.5)
    1700000060
    """
    delete_at = _header_integer(value, 'X-Delete-At')
    if delete_at <= now:
        raise InvalidInput('X-Delete-At in past')
    if delete_at > MAX_DELETE_AT:
        raise InvalidInput('X-Delete-At too far in the future')
    return delete_at


def delete_at_after(value, now):
    """The X-Delete-At an X-Delete-After value means at ``now`` (seconds
    from now, the fraction of ``now`` dropped as Swift does).

    >>> delete_at_after('60', 1000.5)
    1060
    """
    after = _header_integer(value, 'X-Delete-After')
    delete_at = int(now) + after
    if delete_at <= now:
        raise InvalidInput('X-Delete-After in past')
    if delete_at > MAX_DELETE_AT:
        raise InvalidInput('X-Delete-After too far in the future')
    return delete_at


def parse_if_delete_at(value):
    """The Timestamp an X-If-Delete-At value names (the expirer's guard on
    its DELETE); InvalidInput, with Swift's text, when it names none.

    >>> parse_if_delete_at('1700000060') == Timestamp(1700000060)
    True
    """
    try:
        return Timestamp(value)
    except InvalidTimestamp:
        raise InvalidInput('Bad X-If-Delete-At header value')
