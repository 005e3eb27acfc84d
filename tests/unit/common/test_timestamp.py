import random

import pytest

from objstore.common.exceptions import InvalidInput, InvalidTimestamp
from objstore.common.timestamp import (
    MAX_DELETE_AT, PRECISION, Timestamp, delete_at_after, normalize_timestamp,
    parse_delete_at, timestamp_or_none)

NOW = 1700000000.5


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


@pytest.mark.parametrize('value', [
    '1_700_000_000', '1e9', '\u0661\u0662', '\xb2', '+5', '-1',
    '1700000000.5_-1', '1700000000.5_1_2', '1700000000.5_' + 'f' * 17,
    '9' * 400, 'nan', 'inf'])
def test_only_plain_ascii_decimal_is_a_timestamp(value):
    with pytest.raises(InvalidTimestamp):
        Timestamp(value)


@pytest.mark.parametrize('value, expected', [
    ('1700000060', 1700000060), (' 0001700000060 ', 1700000060)])
def test_parse_delete_at(value, expected):
    assert parse_delete_at(value, NOW) == expected


@pytest.mark.parametrize('value, reason', [
    ('\xb2', 'Non-integer X-Delete-At'),
    ('1_700_000_060', 'Non-integer X-Delete-At'),
    ('17e8', 'Non-integer X-Delete-At'),
    ('', 'Non-integer X-Delete-At'),
    ('1700000000', 'X-Delete-At in past'),
    ('-1', 'X-Delete-At in past'),
    ('1' * 300, 'X-Delete-At too far in the future'),
    ('9' * 5000, 'X-Delete-At too far in the future'),
    (str(MAX_DELETE_AT + 1), 'X-Delete-At too far in the future'),
])
def test_bad_delete_at(value, reason):
    with pytest.raises(InvalidInput) as caught:
        parse_delete_at(value, NOW)
    assert (caught.value.status, caught.value.message) == (400, reason)


def test_delete_after_counts_from_now():
    assert delete_at_after('60', NOW) == 1700000060
    assert delete_at_after(str(MAX_DELETE_AT - 1700000000), NOW) == \
        MAX_DELETE_AT


@pytest.mark.parametrize('value, reason', [
    ('\xb2', 'Non-integer X-Delete-After'),
    ('1.5', 'Non-integer X-Delete-After'),
    ('0', 'X-Delete-After in past'),
    ('-5', 'X-Delete-After in past'),
    ('-' + '9' * 400, 'X-Delete-After in past'),
    ('9' * 400, 'X-Delete-After too far in the future'),
])
def test_bad_delete_after(value, reason):
    with pytest.raises(InvalidInput) as caught:
        delete_at_after(value, NOW)
    assert caught.value.message == reason


def test_normal_form_fast_path():
    # The normal form is read as two whole numbers; the result must be
    # what the general route (float, then round to ticks) gives.
    rng = random.Random(17)
    ticks = [0, 1, 99999, 100000, 10 ** 15 - 1, 170000000012345] + [
        rng.randrange(10 ** 15) for _ in range(20000)]
    for tick in ticks:
        text = '%010d.%05d' % divmod(tick, 100000)
        stamp = Timestamp(text)
        assert stamp.ticks == tick == int(round(float(text) / PRECISION))
        assert (stamp.normal, stamp.offset) == (text, 0)
    # Look-alikes of the normal form still go the general way.
    assert Timestamp(' 700000000.12345').normal == '0700000000.12345'
    for bad in ('17000000O0.12345', '1700000000.1234\u0661',
                '\u0661700000000.12345', '1700000000.+2345'):
        with pytest.raises(InvalidTimestamp):
            Timestamp(bad)
