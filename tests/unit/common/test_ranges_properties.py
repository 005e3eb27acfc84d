"""Properties of Range parsing and multipart/byteranges framing.

A hostile Range header must end as a parsed list or BadRange (which the
servers turn into "ignore the header"), never another exception: anything
else is a 500 for a GET.
"""

from hypothesis import assume, example, given, strategies as st

from objstore.common.exceptions import BadRange, RangeUnsatisfiable
from objstore.common.ranges import (
    MAX_RANGES, content_range_header, multipart_body_length,
    multipart_frames, parse_content_range, parse_range_header,
    resolve_ranges, split_multipart_byteranges)
from tests.unit.strategies import hostile_text, text_from

RANGE_FRAGMENTS = ('bytes', 'Bytes', '=', ' ', '-', ',', '0', '1', '7',
                   '42', '9' * 30, '\xb2', '\u0663', '\uff11', 'x', '')
range_like = st.one_of(
    text_from(RANGE_FRAGMENTS, max_size=16),
    text_from(RANGE_FRAGMENTS, max_size=16).map(lambda t: 'bytes=' + t),
    hostile_text)

offset = st.integers(0, 10 ** 12)
range_pair = st.one_of(
    st.tuples(offset, st.none()),
    st.tuples(st.none(), offset),
    st.tuples(offset, offset).map(sorted).map(tuple))


def spec_text(pair):
    first, last = pair
    return '%s-%s' % ('' if first is None else first,
                      '' if last is None else last)


@given(value=range_like)
@example(value='bytes=\xb2-')
@example(value='bytes=0-\u0663')
@example(value='bytes=-' + '9' * 5000)
def test_parse_range_header_parses_or_raises_bad_range(value):
    try:
        pairs = parse_range_header(value)
    except BadRange:
        return
    assert 1 <= len(pairs) <= MAX_RANGES
    for first, last in pairs:
        assert first is not None or last is not None
        assert first is None or (isinstance(first, int) and first >= 0)
        assert last is None or (isinstance(last, int) and last >= 0)
        if first is not None and last is not None:
            assert first <= last


@given(pairs=st.lists(range_pair, min_size=1, max_size=MAX_RANGES),
       spaces=st.sampled_from(('', ' ')))
def test_parse_range_header_round_trips_what_it_accepts(pairs, spaces):
    value = 'bytes=' + (',' + spaces).join(spec_text(p) for p in pairs)
    assert parse_range_header(value) == [tuple(p) for p in pairs]


@given(pairs=st.lists(range_pair, min_size=1, max_size=10),
       length=st.integers(0, 10 ** 6))
def test_resolve_ranges_stays_inside_the_entity(pairs, length):
    overlapping = [p for p in pairs
                   if (p[0] is None and p[1] > 0 and length > 0)
                   or (p[0] is not None and p[0] < length)]
    try:
        resolved = resolve_ranges(pairs, length)
    except RangeUnsatisfiable:
        assert not overlapping
        return
    assert len(resolved) == len(overlapping)
    for start, stop in resolved:
        assert 0 <= start < stop <= length


@given(data=st.data(), length=st.integers(1, 10 ** 15))
def test_content_range_round_trips(data, length):
    start = data.draw(st.integers(0, length - 1))
    stop = data.draw(st.integers(start + 1, length))
    header = content_range_header(start, stop, length)
    assert parse_content_range(header) == (start, stop, length)


@given(value=st.one_of(
    text_from(('bytes', ' ', '-', '/', '0', '5', '10', '\xb2', '\u0663',
               '*'), max_size=10),
    hostile_text))
@example(value='bytes \xb2-5/10')
def test_parse_content_range_parses_or_raises_bad_range(value):
    try:
        start, stop, length = parse_content_range(value)
    except BadRange:
        return
    assert 0 <= start < stop <= length


@given(body=st.binary(min_size=1, max_size=300), data=st.data(),
       boundary=st.text(alphabet='0123456789abcdef', min_size=8,
                        max_size=32))
def test_multipart_framing_splits_back_into_its_parts(body, data, boundary):
    length = len(body)
    spans = data.draw(st.lists(
        st.integers(0, length - 1).flatmap(
            lambda s: st.tuples(st.just(s), st.integers(s + 1, length))),
        min_size=1, max_size=5))
    assume(all(boundary.encode() not in body[a:b] for a, b in spans))
    frames, closing = multipart_frames(spans, boundary, 'text/plain', length)
    wire = b''.join(head + body[start:stop] for head, start, stop in frames)
    wire += closing
    assert len(wire) == multipart_body_length(spans, boundary, 'text/plain',
                                              length)
    parts = split_multipart_byteranges(wire, boundary)
    assert parts == [(a, b, length, body[a:b]) for a, b in spans]


@given(wire=st.binary(max_size=200))
def test_split_multipart_byteranges_parses_or_raises_bad_range(wire):
    try:
        split_multipart_byteranges(b'--b\r\n' + wire, 'b')
    except BadRange:
        pass
