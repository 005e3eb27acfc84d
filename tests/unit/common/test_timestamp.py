import pytest

from objstore.common.exceptions import InvalidTimestamp
from objstore.common.timestamp import (
    Timestamp, normalize_timestamp, timestamp_or_none)


def test_normal_form_is_fixed_width():
    assert Timestamp(1).normal == '0000000001.00000'
    assert Timestamp('1700000000.123456').normal == '1700000000.12346'
    assert normalize_timestamp(1700000000) == '1700000000.00000'


def test_internal_form_carries_offset():
    ts = Timestamp('1700000000.5', offset=255)
    assert ts.internal == '1700000000.50000_00000000000000ff'
    assert Timestamp(ts.internal) == ts
    assert Timestamp(ts.internal).offset == 255


def test_offset_breaks_ties_and_newest_wins():
    base = Timestamp('1700000000.5')
    assert Timestamp(base, offset=1) > base
    assert Timestamp('1700000000.50001') > Timestamp(base, offset=1000)
    assert max([Timestamp(3), Timestamp(1), Timestamp(2)]) == Timestamp(3)


def test_equality_with_strings_and_floats():
    assert Timestamp('1700000000.00000') == '1700000000'
    assert Timestamp(1.5) == 1.5
    assert Timestamp(1.5) != None  # noqa: E711
    assert float(Timestamp('2.25')) == 2.25
    assert int(Timestamp('2.75')) == 2


def test_hashable_and_sortable():
    stamps = {Timestamp('1.00000'), Timestamp(1)}
    assert len(stamps) == 1
    assert sorted([Timestamp(2), Timestamp(1)]) == [Timestamp(1), Timestamp(2)]


@pytest.mark.parametrize('bad', ['', 'abc', 'nan', 'inf', '-1', '1_zz',
                                 None, True, [1], 1e16])
def test_bad_values_raise(bad):
    with pytest.raises(InvalidTimestamp):
        Timestamp(bad)


def test_timestamp_or_none():
    assert timestamp_or_none(None) is None
    assert timestamp_or_none('') is None
    assert timestamp_or_none('5') == Timestamp(5)


def test_now_accepts_injected_clock():
    assert Timestamp.now(now=12.5).normal == '0000000012.50000'
