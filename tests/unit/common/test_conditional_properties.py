"""Properties of conditional-request evaluation (RFC 7232).

Any header value a client sends must leave evaluate_conditions answering
None, 304 or 412; an unparseable date is ignored, never an exception.
"""

import email.utils

from hypothesis import example, given, strategies as st

from objstore.common.conditional import (
    NOT_MODIFIED, PRECONDITION_FAILED, evaluate_conditions, http_date,
    parse_etag_list, parse_http_date)
from tests.unit.strategies import hostile_text, text_from

LAST_HTTP_DATE = 253402300799  # Fri, 31 Dec 9999 23:59:59 GMT

date_like = st.one_of(
    st.integers(0, LAST_HTTP_DATE).map(http_date),
    text_from(('Thu, ', '01 ', 'Jan ', 'Feb ', '1970 ', '99999999999 ',
               '2024 ', '00:00:00', ' GMT', ' +0000', ' -9999', '32 ',
               '\xb2', ' '), max_size=8),
    hostile_text)
etag_chars = st.text(alphabet=st.characters(
    min_codepoint=0x21, max_codepoint=0x7e, blacklist_characters='",*'),
    min_size=1, max_size=32)
CONDITION_HEADERS = ('If-Match', 'If-None-Match', 'If-Modified-Since',
                     'If-Unmodified-Since')


@given(value=date_like)
@example(value='Thu, 01 Jan 99999999999 00:00:00 GMT')
@example(value='Thu, 01 Jan 10000 00:00:00 GMT')
@example(value='Thu, 01 Jan 1970 00:00:00 -9999')
def test_parse_http_date_returns_seconds_or_none(value):
    seconds = parse_http_date(value)
    assert seconds is None or isinstance(seconds, int)


@given(seconds=st.integers(0, LAST_HTTP_DATE))
def test_http_date_round_trips(seconds):
    assert parse_http_date(http_date(seconds)) == seconds
    assert email.utils.parsedate_to_datetime(http_date(seconds))


@given(tags=st.lists(etag_chars, min_size=1, max_size=5),
       weak=st.lists(st.booleans(), min_size=5, max_size=5))
def test_parse_etag_list_round_trips_quoted_tags(tags, weak):
    value = ', '.join('%s"%s"' % ('W/' if w else '', t)
                      for t, w in zip(tags, weak))
    assert parse_etag_list(value) == tags


@given(method=st.sampled_from(('GET', 'HEAD', 'PUT', 'DELETE', 'get',
                               'POST')),
       headers=st.dictionaries(st.sampled_from(CONDITION_HEADERS),
                               st.one_of(date_like, hostile_text)),
       etag=st.one_of(st.none(), etag_chars),
       last_modified=st.integers(0, LAST_HTTP_DATE))
@example(method='GET', etag='e', last_modified=0, headers={
    'If-Modified-Since': 'Thu, 01 Jan 99999999999 00:00:00 GMT'})
@example(method='PUT', etag='e', last_modified=0, headers={
    'If-Unmodified-Since': 'Sat, 01 Jan 0000 00:00:00 GMT'})
def test_evaluate_conditions_answers_none_304_or_412(method, headers, etag,
                                                     last_modified):
    assert evaluate_conditions(method, headers, etag, last_modified) in (
        None, NOT_MODIFIED, PRECONDITION_FAILED)


@given(etag=etag_chars, others=st.lists(etag_chars, max_size=3),
       method=st.sampled_from(('GET', 'HEAD')))
def test_if_none_match_with_the_etag_is_not_modified(etag, others, method):
    value = ', '.join('"%s"' % t for t in others + [etag])
    assert evaluate_conditions(method, {'If-None-Match': value}, etag,
                               0) == NOT_MODIFIED


@given(etag=etag_chars, others=st.lists(etag_chars, max_size=3))
def test_if_match_without_the_etag_fails(etag, others):
    others = [t for t in others if t != etag] or [etag + 'x']
    value = ', '.join('"%s"' % t for t in others)
    assert evaluate_conditions('GET', {'If-Match': value}, etag,
                               0) == PRECONDITION_FAILED


@given(last_modified=st.integers(0, LAST_HTTP_DATE),
       since=st.integers(0, LAST_HTTP_DATE))
def test_if_modified_since_compares_whole_seconds(last_modified, since):
    status = evaluate_conditions(
        'GET', {'If-Modified-Since': http_date(since)}, 'e', last_modified)
    assert status == (NOT_MODIFIED if last_modified <= since else None)
