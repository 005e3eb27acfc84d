"""segments: the range maths (pure) and SegmentedBody's checks, against a
small WSGI app standing in for the rest of the pipeline (the edge of the
unit: it answers segment GETs from a dict)."""

import hashlib

import pytest

from objstore.common.exceptions import RangeUnsatisfiable
from objstore.middleware.segments import (
    Segment, SegmentError, SegmentServerError, SegmentedBody, frame_parts,
    pieces_for_range, requested_ranges)
from tests.helpers import make_logger


def md5(data):
    return hashlib.md5(data).hexdigest()


SEGS = [Segment(4, 'a'), Segment(0, 'empty'), Segment(3, 'b'),
        Segment(5, 'c')]


@pytest.mark.parametrize('start,stop,expected', [
    (0, 12, [('a', 0, 4), ('b', 0, 3), ('c', 0, 5)]),
    (3, 5, [('a', 3, 4), ('b', 0, 1)]),
    (4, 7, [('b', 0, 3)]),
    (7, 8, [('c', 0, 1)]),
    (11, None, [('c', 4, 5)]),
])
def test_pieces_for_range(start, stop, expected):
    assert [(s.path, a, b) for s, a, b in
            pieces_for_range(SEGS, start, stop)] == expected


def test_pieces_for_range_reads_no_further_than_needed():
    read = []

    def listing():
        for seg in SEGS:
            read.append(seg.path)
            yield seg
    list(pieces_for_range(listing(), 0, 2))
    assert read == ['a']


def test_frame_parts_refuses_a_short_body():
    with pytest.raises(SegmentError):
        list(frame_parts(iter([b'ab']), [(b'<1>', 3)], b'<end>'))


def test_requested_ranges():
    assert requested_ranges(None, 10) is None
    assert requested_ranges('bytes=2-3,-2', 10) == [(2, 4), (8, 10)]
    with pytest.raises(RangeUnsatisfiable):
        requested_ranges('bytes=10-', 10)


class SegmentStore:
    """A WSGI app answering GETs of ``objects`` (path -> (status, body,
    etag)), honouring a single Range; it records each request's
    (path, query, Range)."""

    def __init__(self, objects):
        self.objects = objects
        self.requests = []

    def __call__(self, environ, start_response):
        path = environ['PATH_INFO']
        rng = environ.get('HTTP_RANGE')
        self.requests.append((path, environ.get('QUERY_STRING'), rng))
        status, body, etag = self.objects[path]
        headers = [('Etag', etag)]
        if rng and status.startswith('200'):
            first, last = rng[len('bytes='):].split('-')
            body = body[int(first):int(last) + 1]
            status = '206 Partial Content'
        start_response(status, headers + [('Content-Length',
                                           str(len(body)))])
        return [body]


def body_of(store, segments, length=None, logger=None):
    environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/v1/a/c/lo'}
    pieces = pieces_for_range(segments, 0, None)
    return SegmentedBody(environ, store, pieces, '/v1/a/c/lo',
                         logger or make_logger('segments'), length=length)


def test_streams_whole_and_ranged_pieces_with_inline_data():
    store = SegmentStore({'/v1/a/c/s1': ('200 OK', b'hello', md5(b'hello')),
                          '/v1/a/c/s2': ('200 OK', b'world', md5(b'world'))})
    segs = [Segment(5, '/v1/a/c/s1', etag=md5(b'hello'), size=5),
            Segment(2, data=b', '),
            Segment(3, '/v1/a/c/s2', offset=1, etag=md5(b'world'), size=5)]
    body = body_of(store, segs, length=10)
    body.validate_first()
    assert b''.join(body) == b'hello, orl'
    assert store.requests == [
        ('/v1/a/c/s1', 'multipart-manifest=get', None),
        ('/v1/a/c/s2', 'multipart-manifest=get', 'bytes=1-3')]


def test_first_segment_changed_is_found_before_answering():
    store = SegmentStore({'/v1/a/c/s1': ('200 OK', b'new!', md5(b'new!'))})
    body = body_of(store, [Segment(4, '/v1/a/c/s1', etag=md5(b'old!'),
                                   size=4)])
    with pytest.raises(SegmentError) as caught:
        body.validate_first()
    assert 'Object segment no longer valid' in str(caught.value)


def test_server_error_is_a_server_error():
    store = SegmentStore({'/v1/a/c/s1': ('503 Service Unavailable', b'x',
                                         '')})
    body = body_of(store, [Segment(4, '/v1/a/c/s1', size=4)])
    with pytest.raises(SegmentServerError):
        body.validate_first()


def test_later_segment_missing_is_logged_and_raised():
    logger = make_logger('segments-later')
    store = SegmentStore({'/v1/a/c/s1': ('200 OK', b'ok', md5(b'ok')),
                          '/v1/a/c/s2': ('404 Not Found', b'', '')})
    body = body_of(store, [Segment(2, '/v1/a/c/s1', size=2),
                           Segment(2, '/v1/a/c/s2', size=2)], length=4,
                   logger=logger)
    body.validate_first()
    chunks = []
    with pytest.raises(SegmentError):
        for chunk in body:
            chunks.append(chunk)
    assert chunks == [b'ok']
    assert 'got 404' in logger.handler.messages('ERROR')[0]


def test_body_not_matching_its_etag_is_refused():
    store = SegmentStore({'/v1/a/c/s1': ('200 OK', b'abcd', md5(b'abce'))})
    body = body_of(store, [Segment(4, '/v1/a/c/s1', size=4)])
    body.validate_first()
    with pytest.raises(SegmentError, match='Bad MD5 checksum'):
        list(body)


def test_short_segment_is_refused():
    store = SegmentStore({'/v1/a/c/s1': ('200 OK', b'abc', md5(b'abc'))})
    body = body_of(store, [Segment(4, '/v1/a/c/s1')], length=4)
    body.validate_first()
    with pytest.raises(SegmentError, match='Bad response length'):
        list(body)
