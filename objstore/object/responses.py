"""GET/HEAD responses of the object server: headers, ranges, multipart.

Builds the response for an opened object from its metadata and a
DiskFileReader: which stored metadata becomes which header, and how a
Range header turns into a 200, a 206 (single part or multipart/byteranges)
or a 416. Must not open files (it gets a reader) nor decide object state.
"""

import uuid

from objstore.common.exceptions import BadRange, RangeUnsatisfiable
from objstore.common.http import Response
from objstore.common.ranges import (
    content_range_header, multipart_body_length, multipart_content_type,
    multipart_frames, parse_range_header, resolve_ranges,
    unsatisfiable_content_range)
from objstore.object.body_checksum import CRC32C_KEY

# Stored keys that are not sent back as-is (they get their own headers, or
# are internal).
NOT_RETURNED = frozenset(('name', 'x-timestamp', 'content-length', 'etag',
                          'content-type', CRC32C_KEY))


def object_headers(meta, timestamp, data_timestamp, last_modified):
    """Headers of a GET/HEAD answer for an object's merged metadata, as a
    list of (name, value): webob keeps a list it is given as the answer's
    own, where it would copy a dict item by item."""
    headers = [(key, value) for key, value in meta.items()
               if key.lower() not in NOT_RETURNED]
    headers += [
        ('Content-Type', meta.get('Content-Type', 'application/octet-stream')),
        ('ETag', meta['ETag']),
        ('Last-Modified', last_modified),
        ('X-Timestamp', timestamp.normal),
        ('X-Backend-Timestamp', timestamp.internal),
        ('X-Backend-Data-Timestamp', data_timestamp.internal),
        ('Accept-Ranges', 'bytes'),
    ]
    return headers


def head_response(headers, length):
    """The 200 of a HEAD: the object's headers (``object_headers``) and
    its length, no body."""
    return Response(status=200, app_iter=[b''],
                    headerlist=headers + [('Content-Length', str(length))])


def build_get_response(reader, headers, length, content_type, range_value,
                       file_spans=False):
    """200 with the whole body, 206 for satisfiable ranges, else 416.

    An invalid Range header is ignored (RFC 7233), giving the whole body.
    ``file_spans``: the server sends green.FileSpans, so the body comes
    from the reader's ``spans()``/``range_spans()``.
    """
    spans = None
    if range_value:
        try:
            spans = resolve_ranges(parse_range_header(range_value), length)
        except BadRange:
            spans = None
        except RangeUnsatisfiable:
            reader.close()
            # The object's headers and swob's default body, as Swift.
            resp = Response(status=416, headers=headers)
            resp.headers['Content-Range'] = unsatisfiable_content_range(
                length)
            return resp
    if spans is None:
        # The common answer, built in one step: each header set on a webob
        # Response scans its whole header list.
        return Response(
            status=200, app_iter=_closing(reader, reader.spans())
            if file_spans else reader,
            headerlist=headers + [('Content-Length', str(length))])
    resp = Response(status=206, headers=headers)
    iter_range = reader.range_spans if file_spans else reader.iter_range
    if len(spans) == 1:
        start, stop = spans[0]
        resp.app_iter = _closing(reader, iter_range(start, stop))
        resp.content_length = stop - start
        resp.headers['Content-Range'] = content_range_header(start, stop,
                                                             length)
    else:
        boundary = uuid.uuid4().hex
        resp.app_iter = _closing(reader, _multipart_iter(
            iter_range, spans, boundary, content_type, length))
        resp.headers['Content-Type'] = multipart_content_type(boundary)
        resp.content_length = multipart_body_length(
            spans, boundary, content_type or 'application/octet-stream',
            length)
    return resp


def _multipart_iter(iter_range, spans, boundary, content_type, length):
    frames, closing = multipart_frames(
        spans, boundary, content_type or 'application/octet-stream', length)
    for head, start, stop in frames:
        yield head
        yield from iter_range(start, stop)
    yield closing


def _closing(reader, chunks):
    try:
        yield from chunks
    finally:
        reader.close()
