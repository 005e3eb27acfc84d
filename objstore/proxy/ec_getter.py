"""GET and HEAD of an erasure-coded object: k archives in, the object out.

Owns: learning the object's state from one archive's node (a HEAD whose
conditions the object server evaluates against the whole object's ETag,
``X-Backend-Etag-Is-At``), fetching the byte range of ``k`` archives of
the same durable timestamp with distinct fragment indexes (primaries in
ring order first, an extra request for each node that fails, answers
something else, or is slower than ``conn_timeout``), decoding them segment
by segment while streaming, trimming to the client's range, and replacing
an archive whose node breaks mid-stream with another node's archive from
the same offset. The range maths is ``common.erasure``'s; this module
builds the client's response headers from the archive node's.
"""

import uuid

from objstore.common import green
from objstore.common.backend_client import BACKEND_ERRORS
from objstore.common.erasure import archive_length, archive_span, \
    segment_span
from objstore.common.exceptions import BadRange, RangeUnsatisfiable
from objstore.common.http import (
    HTTP_PARTIAL_CONTENT, Response, is_success)
from objstore.common.http_basics import ETAG_IS_AT_HEADER
from objstore.common.ranges import (
    content_range_header, multipart_body_length, multipart_content_type,
    multipart_frames, parse_range_header, resolve_ranges,
    unsatisfiable_content_range)
from objstore.proxy.base import client_headers
from objstore.proxy.fanout import NodeIter, node_name, node_path, note_status
from objstore.proxy.getter import failure_status, find_source

FRAG_INDEX_HEADER = 'x-object-sysmeta-ec-frag-index'
EC_ETAG_HEADER = 'x-object-sysmeta-ec-etag'
EC_LENGTH_HEADER = 'x-object-sysmeta-ec-content-length'
EC_HEADER_PREFIX = 'x-object-sysmeta-ec-'
DATA_TIMESTAMP_HEADER = 'x-backend-data-timestamp'
# Client headers that only the probing HEAD needs (the archives' own
# ETags and lengths are not the object's).
CONDITIONAL_HEADERS = ('if-match', 'if-none-match', 'if-modified-since',
                       'if-unmodified-since', 'range')
NOT_FROM_ARCHIVE = ('content-length', 'etag', 'content-range')


class ArchiveUnavailable(Exception):
    """Fewer than ``k`` archives could be read."""


def object_headers(archive_headers, owner):
    """The client's [(name, value)] of an archive node's answer: the
    whole object's ETag and length, no EC internals."""
    headers = [(name, value) for name, value in client_headers(
        archive_headers, owner)
        if not name.lower().startswith(EC_HEADER_PREFIX)
        and name.lower() not in NOT_FROM_ARCHIVE]
    etag = archive_headers.get(EC_ETAG_HEADER)
    if etag:
        headers.append(('Etag', etag))
    return headers


def client_spans(range_value, length):
    """The (start, stop) spans a Range asks of ``length`` bytes; None for
    the whole object (no or an invalid header); RangeUnsatisfiable.

    >>> client_spans('bytes=-3', 10), client_spans('bytes=x', 10)
    ([(7, 10)], None)
    """
    if not range_value:
        return None
    try:
        return resolve_ranges(parse_range_header(range_value), length)
    except BadRange:
        return None


class ArchiveStream:
    """One archive's bytes from ``offset`` on, read fragment by fragment."""

    def __init__(self, response, node, frag_index, offset):
        self.response = response
        self.node = node
        self.frag_index = frag_index
        self.offset = offset

    def read_exact(self, size):
        parts, got = [], 0
        while got < size:
            chunk = self.response.read(size - got)
            if not chunk:
                raise ConnectionError('archive %d ended at byte %d'
                                      % (self.frag_index, self.offset + got))
            parts.append(chunk)
            got += len(chunk)
        self.offset += size
        return b''.join(parts)

    def close(self):
        self.response.close()


class ECGetter:
    """One client GET/HEAD of an EC object."""

    def __init__(self, backend, ring, part, path, scheme, owner):
        self.backend = backend
        self.ring = ring
        self.part = part
        self.path = path
        self.scheme = scheme
        self.owner = owner
        self.headers = None
        self.length = None
        self.data_timestamp = None
        self.tried = set()

    def respond(self, req, headers):
        probe = dict(headers)
        probe[ETAG_IS_AT_HEADER] = 'X-Object-Sysmeta-Ec-Etag'
        probe.pop('Range', None)
        source, statuses, last_error = find_source(
            self.backend, self.ring, self.part, 'HEAD', self.path, probe)
        if source is None:
            return self._failure(req, statuses, last_error)
        source.response.read()
        answer = object_headers(source.headers, self.owner)
        if not is_success(source.status):
            return Response(status=source.status, headerlist=answer)
        self.length = int(source.headers.get(EC_LENGTH_HEADER, 0))
        self.data_timestamp = source.headers.get(DATA_TIMESTAMP_HEADER)
        self.headers = {name: value for name, value in headers.items()
                        if name.lower() not in CONDITIONAL_HEADERS}
        if req.method == 'HEAD':
            return Response(status=200, app_iter=[], headerlist=answer + [
                ('Content-Length', str(self.length))])
        return self._get_response(req, answer)

    def _failure(self, req, statuses, last_error):
        status = failure_status(statuses, self.ring.replica_count)
        if last_error is not None and last_error[0] == status:
            return Response(status=status, headerlist=client_headers(
                last_error[1], self.owner), body=last_error[2])
        if status == 503:
            self.backend.logger.error('%s %s: no node answered (%s)',
                                      req.method, self.path, statuses)
        return Response(status=status)

    def _get_response(self, req, answer):
        try:
            spans = client_spans(req.headers.get('Range'), self.length)
        except RangeUnsatisfiable:
            return Response(status=416, headerlist=answer + [
                ('Content-Range', unsatisfiable_content_range(self.length))])
        whole = [(0, self.length)]
        first = (spans or whole)[0]
        try:
            streams = self._open_streams(*first)
        except ArchiveUnavailable as err:
            self.backend.logger.error('GET %s: %s', self.path, err)
            return Response(status=503)
        if spans is None:
            return Response(status=200, headerlist=answer + [
                ('Content-Length', str(self.length))],
                app_iter=self._decoded(0, self.length, streams))
        if len(spans) == 1:
            start, stop = spans[0]
            return Response(status=HTTP_PARTIAL_CONTENT, headerlist=answer + [
                ('Content-Length', str(stop - start)),
                ('Content-Range', content_range_header(start, stop,
                                                       self.length))],
                app_iter=self._decoded(start, stop, streams))
        return self._multipart(answer, spans, streams)

    def _multipart(self, answer, spans, first_streams):
        content_type = dict((k.lower(), v) for k, v in answer).get(
            'content-type', 'application/octet-stream')
        boundary = uuid.uuid4().hex
        frames, closing = multipart_frames(spans, boundary, content_type,
                                           self.length)

        def body():
            streams = first_streams
            for head, start, stop in frames:
                yield head
                yield from self._decoded(start, stop, streams)
                streams = None
            yield closing
        headers = [(k, v) for k, v in answer if k.lower() != 'content-type']
        return Response(status=HTTP_PARTIAL_CONTENT, headerlist=headers + [
            ('Content-Type', multipart_content_type(boundary)),
            ('Content-Length', str(multipart_body_length(
                spans, boundary, content_type, self.length)))],
            app_iter=body())

    # ---------------------------------------------------------- archives

    def _archive_range(self, start, stop):
        """(first, last) archive bytes holding object bytes [start, stop)."""
        size = self.scheme.segment_size
        seg_start, seg_end = segment_span(start, stop - 1, size)
        first, last = archive_span(seg_start, seg_end, size,
                                   self.scheme.fragment_size)
        return first, min(last, archive_length(self.length, self.scheme) - 1)

    def _open_streams(self, start, stop):
        if start >= stop:
            return []
        first, last = self._archive_range(start, stop)
        # Each range reads afresh: every node may serve it again.
        self.tried = set()
        return self._fetch(first, last, self.scheme.k, set())

    def _fetch(self, first, last, wanted, used_frags):
        """``wanted`` ArchiveStreams of archive bytes first-last with
        fragment indexes not in ``used_frags``; ArchiveUnavailable."""
        headers = dict(self.headers, Range='bytes=%d-%d' % (first, last))
        node_iter = NodeIter(self.backend, self.ring, self.part)
        answers = green.Queue()
        streams, in_flight = [], 0

        def launch():
            for node in node_iter:
                if node_name(node) in self.tried:
                    continue
                self.tried.add(node_name(node))
                green.spawn_n(self._open_into, node, headers, answers)
                return 1
            return 0
        for _ in range(wanted):
            in_flight += launch()
        while in_flight and len(streams) < wanted:
            try:
                node, response = answers.get(
                    timeout=self.backend.client.conn_timeout)
            except green.QueueEmpty:
                # A slow node: ask one more, keep waiting for it too.
                in_flight += launch()
                continue
            in_flight -= 1
            frag = self._usable_fragment(response, used_frags)
            if frag is None:
                if response is not None:
                    response.close()
                in_flight += launch()
                continue
            used_frags.add(frag)
            streams.append(ArchiveStream(response, node, frag, first))
        if in_flight:
            green.spawn_n(_close_late, answers, in_flight)
        if len(streams) < wanted:
            for stream in streams:
                stream.close()
            raise ArchiveUnavailable('%d of %d archives of %s readable'
                                     % (len(streams), wanted, self.path))
        return streams

    def _open_into(self, node, headers, answers):
        try:
            response = self.backend.client.request(
                node['ip'], node['port'], 'GET',
                node_path(node, self.part, self.path), headers)
        except BACKEND_ERRORS as err:
            self.backend.error_occurred(node, 'GET %s: %s' % (self.path, err))
            answers.put((node, None))
            return
        note_status(self.backend, node, response.status, 'GET', self.path)
        answers.put((node, response))

    def _usable_fragment(self, response, used_frags):
        """The fragment index of a usable archive answer, else None."""
        if response is None or not is_success(response.status):
            return None
        if response.headers.get(DATA_TIMESTAMP_HEADER) != self.data_timestamp:
            return None
        value = response.headers.get(FRAG_INDEX_HEADER, '')
        if not value.isdigit() or int(value) in used_frags:
            return None
        return int(value)

    def _decoded(self, start, stop, streams):
        """Object bytes [start, stop), decoded segment by segment."""
        if start >= stop:
            return
        if streams is None:
            streams = self._open_streams(start, stop)
        size = self.scheme.segment_size
        try:
            for seg_offset in range(start - start % size, stop, size):
                seg_length = min(size, self.length - seg_offset)
                frag_size = self.scheme.fragment_size_of(seg_length)
                segment = self.scheme.decode(
                    [self._read_fragment(streams, i, frag_size)
                     for i in range(len(streams))])
                yield segment[max(start - seg_offset, 0):
                              min(stop - seg_offset, seg_length)]
        finally:
            for stream in streams:
                stream.close()

    def _read_fragment(self, streams, index, size):
        """The next fragment of ``streams[index]``; a broken archive is
        replaced by another node's from the same offset."""
        while True:
            stream = streams[index]
            try:
                return stream.read_exact(size)
            except BACKEND_ERRORS as err:
                self.backend.error_occurred(
                    stream.node, 'GET %s: %s' % (self.path, err))
                stream.close()
            _first, last = self._archive_range(0, self.length)
            used = {s.frag_index for s in streams}
            replacement = self._fetch(stream.offset, last, 1, used)[0]
            self.backend.logger.warning(
                'GET %s: archive %d replaced by archive %d from %s at byte '
                '%d', self.path, stream.frag_index, replacement.frag_index,
                node_name(replacement.node), stream.offset)
            streams[index] = replacement


def _close_late(answers, count):
    """Close the answers that arrive after the archives were chosen."""
    for _ in range(count):
        _node, response = answers.get()
        if response is not None:
            response.close()
