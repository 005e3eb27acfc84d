"""Properties of Timestamp: any input parses or raises InvalidTimestamp,
the string forms round-trip, and their text order is the time order (the
on-disk file names and DB rows rely on that)."""

from hypothesis import example, given, strategies as st

from objstore.common.exceptions import InvalidTimestamp
from objstore.common.timestamp import MAX_OFFSET, Timestamp
from tests.unit.strategies import hostile_text, text_from

ticks = st.integers(0, 10 ** 15 - 1)
offsets = st.integers(0, MAX_OFFSET)
timestamps = st.builds(lambda t, o: Timestamp(t / 100000.0, offset=o),
                       ticks, offsets)


@given(value=st.one_of(
    hostile_text, st.floats(), st.integers(-10 ** 20, 10 ** 20),
    text_from(('1700000000', '.', '12345', '_', '0' * 16, 'f' * 17, '-',
               'e', '9' * 300, ' ', '\xb2', '0x'))))
@example(value='9' * 300)
@example(value='1' + '0' * 400)
@example(value='1' + '0' * 305)
@example(value='1e305')
@example(value=1e305)
@example(value='1700000000.00000_' + 'f' * 5000)
def test_timestamp_parses_or_raises_invalid_timestamp(value):
    try:
        stamp = Timestamp(value)
    except InvalidTimestamp:
        return
    assert 0 <= stamp.ticks < 10 ** 15
    assert 0 <= stamp.offset <= MAX_OFFSET


@given(stamp=timestamps)
def test_internal_form_round_trips(stamp):
    assert Timestamp(stamp.internal) == stamp
    normal = Timestamp(stamp.normal)
    assert (normal.ticks, normal.offset) == (stamp.ticks, 0)
    assert len(stamp.normal) == 16


@given(first=timestamps, second=timestamps)
def test_text_order_is_time_order(first, second):
    assert (first < second) == (first.internal < second.internal)
    assert (first == second) == (first.internal == second.internal)


@given(seconds=st.floats(0, 9999999999.99999, allow_nan=False))
def test_normal_form_is_within_half_a_tick(seconds):
    assert abs(float(Timestamp(seconds).normal) - seconds) <= 0.000005 + \
        seconds * 1e-15
