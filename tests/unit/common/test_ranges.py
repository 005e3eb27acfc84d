"""Range parsing, resolution and multipart/byteranges framing."""

import pytest

from objstore.common import ranges
from objstore.common.exceptions import BadRange, RangeUnsatisfiable


@pytest.mark.parametrize('header, expected', [
    ('bytes=0-0', [(0, 0)]),
    ('bytes=10-', [(10, None)]),
    ('bytes=-20', [(None, 20)]),
    ('BYTES = 1-2 , 4-5', [(1, 2), (4, 5)]),
    ('bytes=0-1,,3-4', [(0, 1), (3, 4)]),
])
def test_parse_valid(header, expected):
    assert ranges.parse_range_header(header) == expected


@pytest.mark.parametrize('header', [
    None, '', 'bytes', 'bytes=', 'items=0-1', 'bytes=a-b', 'bytes=5-1',
    'bytes=-', 'bytes=1', 'bytes=0-1,x', 'bytes=--1', 'bytes=1.5-2',
    'bytes=' + ','.join('%d-%d' % (i, i) for i in range(51)),
])
def test_parse_invalid_raises_bad_range(header):
    with pytest.raises(BadRange):
        ranges.parse_range_header(header)


def test_fifty_ranges_is_still_accepted():
    header = 'bytes=' + ','.join('%d-%d' % (i, i) for i in range(50))
    assert len(ranges.parse_range_header(header)) == 50


@pytest.mark.parametrize('pairs, length, expected', [
    ([(0, 9)], 100, [(0, 10)]),
    ([(0, 999)], 100, [(0, 100)]),
    ([(90, None)], 100, [(90, 100)]),
    ([(None, 10)], 100, [(90, 100)]),
    ([(None, 500)], 100, [(0, 100)]),
    ([(99, 99)], 100, [(99, 100)]),
    ([(100, 200), (0, 0)], 100, [(0, 1)]),
    ([(None, 0), (5, 5)], 100, [(5, 6)]),
])
def test_resolve(pairs, length, expected):
    assert ranges.resolve_ranges(pairs, length) == expected


@pytest.mark.parametrize('pairs, length', [
    ([(100, None)], 100),
    ([(100, 200), (150, None)], 100),
    ([(None, 0)], 100),
    ([(0, 0)], 0),
    ([(None, 5)], 0),
])
def test_resolve_unsatisfiable(pairs, length):
    with pytest.raises(RangeUnsatisfiable):
        ranges.resolve_ranges(pairs, length)


def test_content_range_strings():
    assert ranges.content_range_header(0, 10, 100) == 'bytes 0-9/100'
    assert ranges.unsatisfiable_content_range(7) == 'bytes */7'
    assert ranges.parse_content_range('bytes 0-9/100') == (0, 10, 100)
    for bad in (None, 'bytes 9-0/100', 'bytes 0-100/100', 'bits 0-1/2',
                'bytes */100', 'bytes 0-1'):
        with pytest.raises(BadRange):
            ranges.parse_content_range(bad)


def build_body(data, spans, boundary='b0undary', ctype='text/plain'):
    frames, closing = ranges.multipart_frames(spans, boundary, ctype,
                                              len(data))
    out = b''.join(head + data[start:stop] for head, start, stop in frames)
    return out + closing


def test_multipart_roundtrip_and_length():
    data = bytes(range(256)) * 4
    spans = [(0, 10), (500, 600), (1000, 1024)]
    body = build_body(data, spans)
    assert len(body) == ranges.multipart_body_length(
        spans, 'b0undary', 'text/plain', len(data))
    parts = ranges.split_multipart_byteranges(body, 'b0undary')
    assert [(s, e, n) for s, e, n, _ in parts] == [
        (0, 10, 1024), (500, 600, 1024), (1000, 1024, 1024)]
    assert [d for _, _, _, d in parts] == [data[s:e] for s, e in spans]
    assert body.startswith(b'--b0undary\r\nContent-Type: text/plain\r\n'
                           b'Content-Range: bytes 0-9/1024\r\n\r\n')
    assert body.endswith(b'\r\n--b0undary--')


def test_split_multipart_rejects_bad_framing():
    data = b'x' * 100
    body = build_body(data, [(0, 10), (20, 30)])
    for broken in (body[:-2], body.replace(b'bytes 20-29', b'bytes 20-28'),
                   body.replace(b'\r\n\r\n', b'\r\n', 1), b'nothing'):
        with pytest.raises(BadRange):
            ranges.split_multipart_byteranges(broken, 'b0undary')


@pytest.mark.parametrize('header', [
    'bytes=\xb2-', 'bytes=-\xb2', 'bytes=0-\u0663', 'bytes=\uff11-'])
def test_non_ascii_digits_are_not_offsets(header):
    # str.isdigit() takes these; int() does not (or reads another script).
    with pytest.raises(BadRange):
        ranges.parse_range_header(header)


def test_content_range_with_non_ascii_digits():
    with pytest.raises(BadRange):
        ranges.parse_content_range('bytes 0-\xb2/10')
