"""segments: what static and dynamic large objects share.

Owns two things. The pure maths that maps a byte range of a large object
onto the segments it is made of (``pieces_for_range``, ``frame_parts``),
with no I/O. And ``SegmentedBody``, the response body that streams those
pieces from GET subrequests down the pipeline, authorized as the client,
checking every segment against what the manifest or listing promised.
Beside them, ``is_partial_request``: when a request's Range or conditions
leave a manifest's own answer saying nothing of the large object.

A segment that is missing or has changed is an error that must never turn
into wrong bytes: before the first byte is sent (``validate_first``) the
caller answers 409 Conflict (503 for a server error); once the answer has
started, the error is logged and raised out of the body, which makes the
WSGI server cut the connection, so the client sees a short body and not a
complete-looking wrong one (as Swift does).

Must not parse manifests or listings: slo and dlo turn theirs into
``Segment`` values.
"""

import dataclasses
import hashlib
import uuid
from urllib.parse import quote

from objstore.common.conditional import has_conditions
from objstore.common.exceptions import BadRange
from objstore.common.green import write_unbuffered
from objstore.common.http import (
    DEFAULT_CONTENT_TYPE, Response, default_body, is_server_error,
    is_success)
from objstore.common.ranges import (
    content_range_header, multipart_body_length, multipart_content_type,
    multipart_frames, parse_range_header, resolve_ranges,
    unsatisfiable_content_range)
from objstore.common.subrequest import make_subrequest

# A segment GET asks for the object itself, never a manifest's expansion.
SEGMENT_QUERY = 'multipart-manifest=get'
# How much of an error body a log line quotes.
MAX_QUOTED_BODY = 60


def is_partial_request(req):
    """True when the request's Range or conditions may make the app's
    answer partial or empty: a manifest's own answer then says nothing of
    the large object, which must be asked again."""
    return 'HTTP_RANGE' in req.environ or has_conditions(req.environ)


class SegmentError(Exception):
    """A segment is missing, unreadable or not what was promised."""

    status = 409


class SegmentServerError(SegmentError):
    """A segment GET failed on the server side (the answer is 503)."""

    status = 503


@dataclasses.dataclass(frozen=True)
class Segment:
    """One part of a large object.

    ``path`` is the unquoted ``/v1/a/c/o`` of an object segment, or None
    for inline ``data``. The segment contributes ``length`` bytes, taken
    from the object starting at ``offset`` (a manifest ``range``).
    ``etag`` and ``size`` are what the object must still be (None: not
    checked). ``sub_slo`` marks a nested manifest, which the caller
    expands instead of reading.
    """

    length: int
    path: str = None
    offset: int = 0
    etag: str = None
    size: int = None
    data: bytes = None
    sub_slo: bool = False


def pieces_for_range(segments, start, stop):
    """(segment, first, stop) of each segment overlapping [start, stop).

    ``first``/``stop`` are offsets into the segment's own contribution.
    ``segments`` may be any iterable (a listing read page by page); it is
    read no further than the range needs. ``stop`` may be None (to the end).

    Three segments of 10, 0 and 5 bytes; bytes 8-11 of the whole:

    >>> segs = [Segment(10, 'a'), Segment(0, 'b'), Segment(5, 'c')]
    >>> [(s.path, a, b) for s, a, b in pieces_for_range(segs, 8, 12)]
    [('a', 8, 10), ('c', 0, 2)]
    >>> [(s.path, a, b) for s, a, b in pieces_for_range(segs, 0, None)]
    [('a', 0, 10), ('c', 0, 5)]
    """
    position = 0
    if stop is not None and stop <= start:
        return
    for segment in segments:
        end = position + segment.length
        if end > start and segment.length > 0:
            first = max(start - position, 0)
            last = segment.length if stop is None else \
                min(stop - position, segment.length)
            yield segment, first, last
        position = end
        if stop is not None and position >= stop:
            return


def frame_parts(chunks, frames, closing):
    """Interleave multipart headers with the data of consecutive parts.

    ``chunks`` yields the data of all parts back to back; ``frames`` is
    [(header_bytes, length)] per part (common.ranges.multipart_frames);
    ``closing`` ends the body.

    >>> b''.join(frame_parts(iter([b'abc', b'de']),
    ...                      [(b'<1>', 2), (b'<2>', 3)], b'<end>'))
    b'<1>ab<2>cde<end>'
    """
    pending = b''
    for head, length in frames:
        yield head
        while length:
            if not pending:
                pending = next(chunks, b'')
                if not pending:
                    raise SegmentError('large object body ended early')
            yield pending[:length]
            taken = min(length, len(pending))
            pending, length = pending[taken:], length - taken
    yield closing


def close_body(resp):
    """Let go of an answer whose body will not be read."""
    close = getattr(resp.app_iter, 'close', None)
    if close is not None:
        close()


def _short(body):
    text = body.decode('utf-8', 'replace')
    if len(text) <= MAX_QUOTED_BODY:
        return text
    return text[:MAX_QUOTED_BODY - 3] + '...'


class SegmentedBody:
    """The body of a large object GET: the pieces' bytes, checked.

    ``pieces`` yields (segment, first, stop) as ``pieces_for_range`` does
    (nested manifests already expanded); ``environ`` is the client's
    request, whose identity every segment GET carries; ``app`` is the
    rest of the pipeline; ``name`` (the large object's path) and
    ``logger`` serve the error lines; ``length`` is the number of bytes
    the answer promised, None when unknown.
    """

    def __init__(self, environ, app, pieces, name, logger, length=None,
                 source='LO'):
        self.environ = environ
        self.app = app
        self.pieces = pieces
        self.name = name
        self.logger = logger
        self.length = length
        self.source = source
        self._current = None
        self._peeked = None
        self._validated = False
        self._chunks = self._checked_chunks()

    def validate_first(self):
        """Read up to the first byte; SegmentError if the first segment
        is already wrong (the caller then answers 409 or 503)."""
        self._peeked = next(self._chunks, None)
        self._validated = True
        # From here on an error cuts the connection: the status line must
        # be out by then, so that it cannot become a 500.
        write_unbuffered(self.environ)

    def __iter__(self):
        if self._peeked is not None:
            yield self._peeked
            self._peeked = None
        try:
            yield from self._chunks
        except SegmentError as err:
            if not self._validated:
                raise
            # Already answering: log, then raise to cut the connection.
            self.logger.error('%s', err)
            raise

    def close(self):
        self._close_current()
        self._chunks.close()

    def _close_current(self):
        if self._current is not None:
            close_body(self._current)
            self._current = None

    def _checked_chunks(self):
        remaining = self.length
        for chunk in self._segment_chunks():
            if remaining is not None:
                if len(chunk) > remaining:
                    raise SegmentError('Too many bytes for %s; truncating'
                                       % self.name)
                remaining -= len(chunk)
            yield chunk
        if remaining:
            raise SegmentError('Expected another %d bytes for %s; closing '
                               'connection' % (remaining, self.name))

    def _segment_chunks(self):
        for segment, first, stop in self.pieces:
            if segment.data is not None:
                yield segment.data[first:stop]
                continue
            yield from self._read_piece(segment, first, stop)

    def _get(self, segment, first, stop):
        """The GET subrequest's answer for one piece of an object."""
        whole = (segment.offset + first == 0 and
                 segment.size is not None and
                 segment.offset + stop == segment.size)
        headers = {}
        if not whole:
            headers['Range'] = 'bytes=%d-%d' % (segment.offset + first,
                                                segment.offset + stop - 1)
        req = make_subrequest(self.environ, 'GET', segment.path,
                              headers=headers, source=self.source)
        req.query_string = SEGMENT_QUERY
        return req.get_response(self.app), whole

    def _check_answer(self, segment, resp, whole):
        if not is_success(resp.status_int):
            error = SegmentServerError if is_server_error(
                resp.status_int) else SegmentError
            raise error('While processing manifest %s, got %d (%s) while '
                        'retrieving %s' % (self.name, resp.status_int,
                                           _short(resp.body),
                                           quote(segment.path)))
        etag = (resp.headers.get('Etag') or '').strip('"')
        if (segment.etag is not None and etag != segment.etag.strip('"')) \
                or (whole and resp.content_length != segment.size):
            raise SegmentError(
                'Object segment no longer valid: %s etag: %s != %s or '
                '%s != %s.' % (quote(segment.path), etag, segment.etag,
                               resp.content_length, segment.size))

    def _read_piece(self, segment, first, stop):
        resp, whole = self._get(segment, first, stop)
        self._current = resp
        try:
            self._check_answer(segment, resp, whole)
            digest = hashlib.md5(usedforsecurity=False)
            received = 0
            for chunk in resp.app_iter:
                digest.update(chunk)
                received += len(chunk)
                yield chunk
        finally:
            self._close_current()
        if received != stop - first:
            raise SegmentError(
                'Bad response length for %s as part of %s: expected %d, '
                'got %d' % (quote(segment.path), self.name, stop - first,
                            received))
        etag = (resp.headers.get('Etag') or '').strip('"')
        if resp.status_int == 200 and etag and digest.hexdigest() != etag:
            raise SegmentError(
                'Bad MD5 checksum for %s as part of %s: headers had %s, but '
                'object MD5 was actually %s' % (
                    quote(segment.path), self.name, etag,
                    digest.hexdigest()))


def requested_ranges(range_header, length):
    """The byte ranges a GET asks of a ``length``-byte large object.

    None means the whole object (no Range, or one to ignore as RFC 7233
    says); RangeUnsatisfiable when no range fits (416).

    >>> requested_ranges('bytes=0-1,5-', 8), requested_ranges('x', 8)
    ([(0, 2), (5, 8)], None)
    """
    if not range_header:
        return None
    try:
        pairs = parse_range_header(range_header)
    except BadRange:
        return None
    return resolve_ranges(pairs, length)


def unsatisfiable(headers, length):
    """Swift's 416 for a large object of ``length`` bytes: its headers
    (a dict, changed in place) with the default body."""
    body = default_body(416)
    headers.update({'Content-Type': DEFAULT_CONTENT_TYPE,
                    'Content-Length': str(len(body)),
                    'Content-Range': unsatisfiable_content_range(length)})
    return Response(status=416, body=body, headerlist=list(headers.items()))


def ranged_body(headers, body, ranges, length):
    """(status, headers, app_iter) of a 200/206 answer made of ``body``
    (a SegmentedBody over the ranges' bytes back to back).

    ``headers`` is a dict of the large object's headers, changed in place.
    """
    if ranges is None:
        headers['Content-Length'] = str(length)
        return 200, body
    if len(ranges) == 1:
        start, stop = ranges[0]
        headers['Content-Range'] = content_range_header(start, stop, length)
        headers['Content-Length'] = str(stop - start)
        return 206, body
    boundary = uuid.uuid4().hex
    content_type = headers.get('Content-Type', 'application/octet-stream')
    frames, closing = multipart_frames(ranges, boundary, content_type,
                                       length)
    headers['Content-Type'] = multipart_content_type(boundary)
    headers['Content-Length'] = str(multipart_body_length(
        ranges, boundary, content_type, length))
    parts = [(head, stop - start) for head, start, stop in frames]
    return 206, MultipartBody(body, parts, closing)


class MultipartBody:
    """A multipart/byteranges body over a SegmentedBody (closes it)."""

    def __init__(self, body, parts, closing):
        self.body = body
        self.parts = parts
        self.closing = closing

    def __iter__(self):
        return frame_parts(iter(self.body), self.parts, self.closing)

    def close(self):
        self.body.close()
