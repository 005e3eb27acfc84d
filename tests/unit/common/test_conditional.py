"""Conditional request evaluation (RFC 7232 order and rules)."""

import pytest

from objstore.common import conditional as cond

ETAG = 'd41d8cd98f00b204e9800998ecf8427e'
LAST_MODIFIED = 1700000000
BEFORE = cond.http_date(LAST_MODIFIED - 10)
SAME = cond.http_date(LAST_MODIFIED)
AFTER = cond.http_date(LAST_MODIFIED + 10)


@pytest.mark.parametrize('method, headers, expected', [
    ('GET', {}, None),
    ('GET', {'If-Match': '"%s"' % ETAG}, None),
    ('GET', {'If-Match': '*'}, None),
    ('GET', {'If-Match': '"other", "%s"' % ETAG}, None),
    ('GET', {'If-Match': '"other"'}, 412),
    ('PUT', {'If-Match': '"other"'}, 412),
    ('GET', {'If-None-Match': '"%s"' % ETAG}, 304),
    ('HEAD', {'If-None-Match': '*'}, 304),
    ('PUT', {'If-None-Match': '*'}, 412),
    ('GET', {'If-None-Match': '"other"'}, None),
    ('GET', {'If-Modified-Since': SAME}, 304),
    ('GET', {'If-Modified-Since': AFTER}, 304),
    ('GET', {'If-Modified-Since': BEFORE}, None),
    ('POST', {'If-Modified-Since': SAME}, None),
    ('GET', {'If-Modified-Since': 'not a date'}, None),
    ('GET', {'If-Unmodified-Since': BEFORE}, 412),
    ('GET', {'If-Unmodified-Since': SAME}, None),
    ('GET', {'If-Unmodified-Since': 'garbage'}, None),
    # If-Match takes precedence over If-Unmodified-Since.
    ('GET', {'If-Match': ETAG, 'If-Unmodified-Since': BEFORE}, None),
    # If-None-Match takes precedence over If-Modified-Since.
    ('GET', {'If-None-Match': '"other"', 'If-Modified-Since': AFTER}, None),
    # Swift's order: a matching If-None-Match wins over a failed If-Match.
    ('GET', {'If-Match': '"x"', 'If-None-Match': '*'}, 304),
    # An empty If-Match lists no tag: it fails, as in Swift.
    ('GET', {'If-Match': ''}, 412),
])
def test_evaluate(method, headers, expected):
    assert cond.evaluate_conditions(method, headers, ETAG,
                                    LAST_MODIFIED) == expected


def test_weak_and_unquoted_tags_compare_equal():
    assert cond.etag_matches('W/"%s"' % ETAG, ETAG)
    assert cond.etag_matches(ETAG, '"%s"' % ETAG)
    assert not cond.etag_matches('"%s"' % ETAG, None)
    assert cond.etag_matches('*', None)


def test_http_date_roundtrip_and_offsets():
    assert cond.parse_http_date(cond.http_date(1234567890)) == 1234567890
    assert cond.parse_http_date('Thu, 01 Jan 1970 01:00:00 +0100') == 0
    assert cond.parse_http_date('') is None
    assert cond.parse_http_date('yesterday') is None


@pytest.mark.parametrize('value', [
    'Thu, 01 Jan 10000000000 00:00:00 GMT',
    'Thu, 01 Jan 99999 00:00:00 GMT',
    'Thu, 32 Jan 2020 00:00:00 GMT',
    'Thu, 01 Jan 2020 25:00:00 GMT',
])
def test_dates_no_calendar_holds_are_unparseable(value):
    assert cond.parse_http_date(value) is None


def test_condition_with_an_overflowing_year_is_ignored():
    headers = {'If-Modified-Since': 'Thu, 01 Jan 10000000000 00:00:00 GMT',
               'If-Unmodified-Since': 'Thu, 01 Jan 10000000000 00:00:00 GMT'}
    assert cond.evaluate_conditions('GET', headers, ETAG,
                                    LAST_MODIFIED) is None
