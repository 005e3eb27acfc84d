"""GET and HEAD through the ring: first good answer, X-Newest, resumption.

Owns: asking the nodes of a partition one after another (primaries in a
random order, then handoffs) until one gives a usable answer; with
``X-Newest`` asking every primary in parallel and keeping the newest; and
the body iterator that, when a node fails mid-stream, resumes from the
next node with a Range from the byte where it stopped and ``If-Match`` the
ETag, so the client sees one unbroken body. It builds no client response
headers beyond copying the backend's (the controllers do that).
"""

from objstore.common.backend_client import BACKEND_ERRORS
from objstore.common.exceptions import BadRange
from objstore.common.green import (
    SourceBroken, SpliceSpan, offer_splice, splice_accepted)
from objstore.common.http import (
    HTTP_NOT_FOUND, HTTP_PARTIAL_CONTENT, is_client_error, is_server_error,
    is_success)
from objstore.common.ranges import parse_content_range
from objstore.common.timestamp import Timestamp
from objstore.proxy.fanout import NodeIter, gather, node_name, node_path, \
    note_status
from objstore.proxy.quorum import (
    NODE_FAILED, NO_QUORUM, best_status, client_status)
from objstore.ring.ring import quorum_size

# Statuses that end the search: the object (or DB) is there and answered.
FINAL_STATUSES = frozenset((304, 412, 416))
# A body this large or larger goes out by splice when the server takes it.
SPLICE_MIN_BYTES = 1 << 20


class Source:
    """A chosen backend answer whose body is still streaming."""

    def __init__(self, response, node):
        self.response = response
        self.node = node
        self.status = response.status
        self.headers = response.headers


def _open(backend, node, part, method, path, headers, query):
    """A streaming answer from one node, or None if it failed."""
    try:
        response = backend.client.request(
            node['ip'], node['port'], method, node_path(node, part, path),
            headers, b'', query)
    except BACKEND_ERRORS as err:
        backend.error_occurred(node, '%s %s: %s' % (method, path, err))
        return None
    note_status(backend, node, response.status, method, path)
    return response


def _is_usable(status):
    return is_success(status) or status in FINAL_STATUSES or \
        (is_client_error(status) and status != HTTP_NOT_FOUND)


def find_source(backend, ring, part, method, path, headers, query=None):
    """(Source or None, [statuses], last error answer or None).

    Stops at the first usable answer; also once every primary's worth of
    nodes said 404, since a write reaches a quorum of primaries or their
    handoffs (see DESIGN.md), so more 404s would not change the outcome.
    """
    node_iter = NodeIter(backend, ring, part, shuffle=True)
    replicas = len(node_iter.primaries)
    statuses, not_found, last_error = [], 0, None
    for node in node_iter:
        response = _open(backend, node, part, method, path, headers, query)
        if response is None:
            statuses.append(client_status(NODE_FAILED))
            continue
        if _is_usable(response.status):
            return Source(response, node), statuses, last_error
        body = response.read()
        statuses.append(response.status)
        last_error = (response.status, response.headers, body)
        if response.status == HTTP_NOT_FOUND:
            not_found += 1
            if not_found >= replicas:
                break
    return None, statuses, last_error


def _timestamp_of(headers):
    for name in ('x-backend-timestamp', 'x-timestamp', 'x-put-timestamp'):
        if headers.get(name):
            try:
                return Timestamp(headers[name])
            except ValueError:
                continue
    return Timestamp(0)


def find_newest(backend, ring, part, method, path, headers, query=None):
    """Like find_source but asks every primary and keeps the newest 2xx."""
    node_iter = NodeIter(backend, ring, part)
    primaries = node_iter.primaries

    def call_for(node):
        return lambda: (node, _open(backend, node, part, method, path, headers,
                                    query))
    answers = gather(backend, [call_for(n) for n in primaries],
                     quorum=len(primaries) + 1,
                     status_of=lambda pair: pair[1].status if pair[1]
                     else client_status(NODE_FAILED))
    good = [(node, resp) for node, resp in answers
            if resp is not None and is_success(resp.status)]
    statuses = [resp.status if resp else client_status(NODE_FAILED)
                for _node, resp in answers]
    chosen = max(good, key=lambda pair: _timestamp_of(pair[1].headers),
                 default=None)
    last_error = None
    for node, resp in answers:
        if resp is None or (chosen and resp is chosen[1]):
            continue
        if chosen is None and last_error is None:
            last_error = (resp.status, resp.headers, resp.read())
        resp.close()
    if chosen is None:
        return None, statuses, last_error
    return Source(chosen[1], chosen[0]), statuses, None


def failure_status(statuses, replicas):
    """The status of a read no node answered usably.

    404 when a quorum (or every answering node) said so; a 503 otherwise:
    too many nodes failed to tell (quorum.client_status).
    """
    quorum = quorum_size(replicas)
    chosen = best_status(statuses, quorum)
    if chosen is not None:
        return client_status(chosen)
    answered = [s for s in statuses if not is_server_error(s)]
    if answered and all(s == HTTP_NOT_FOUND for s in answered) and \
            len(answered) >= quorum:
        return HTTP_NOT_FOUND
    return client_status(NO_QUORUM)


def resume_range(status, headers, sent):
    """The Range that continues a body after ``sent`` bytes, or None.

    >>> resume_range(200, {}, 100)
    'bytes=100-'
    >>> resume_range(206, {'content-range': 'bytes 10-19/100'}, 4)
    'bytes=14-19'
    >>> resume_range(206, {'content-type': 'multipart/byteranges'}, 4) is None
    True
    """
    if status == HTTP_PARTIAL_CONTENT:
        try:
            start, stop, _length = parse_content_range(
                headers.get('content-range'))
        except BadRange:
            return None
        return 'bytes=%d-%d' % (start + sent, stop - 1)
    if is_success(status):
        return 'bytes=%d-' % sent
    return None


class ResumingBody:
    """The client's body iterator over one or more backend answers.

    Given the client's ``environ``, a large body offers the HTTP server
    to move the rest of it itself (green.offer_splice); once the server
    accepted (no middleware touched the bytes), the rest goes out as one
    green.SpliceSpan: socket to socket with os.splice, resuming from the
    next node as the byte path does. No byte is checked here either way:
    the object server checks the checksum of what it sends.
    """

    def __init__(self, backend, source, ring, part, path, headers, tried,
                 environ=None):
        self.backend = backend
        self.source = source
        self.ring = ring
        self.part = part
        self.path = path
        self.headers = headers
        self.tried = tried
        self.chunk_size = backend.chunk_size
        self.environ = environ
        self.offered = None
        self.first = source
        self.sent = 0

    def __iter__(self):
        while True:
            left = self._splice_left()
            if left:
                yield SpliceSpan(left, self._splice_rest)
                return
            try:
                chunk = self.source.response.read(self.chunk_size)
            except BACKEND_ERRORS as err:
                self._resume_or_raise(err)
                continue
            if not chunk:
                return
            self.sent += len(chunk)
            if self.environ is not None and self._worth_splicing():
                offer_splice(self.environ, chunk)
                self.offered = chunk
            yield chunk

    def _worth_splicing(self):
        """Whether the rest of the body is large enough for a splice to
        pay: its pipe and syscalls cost more than a copy of a few
        chunks."""
        left = self.source.response.body_left()
        return left is not None and left >= SPLICE_MIN_BYTES

    def _splice_left(self):
        """The bytes left when they may go out as a SpliceSpan (the
        server accepted the offer), else 0."""
        if self.offered is None or \
                not splice_accepted(self.environ, self.offered):
            return 0
        return self.source.response.body_left() or 0

    def _splice_rest(self, sock):
        """The SpliceSpan's send: every byte left to ``sock``, resuming
        from another node where a backend fails. The span's length was
        the first answer's bytes left, which every resumed answer has."""
        while True:
            try:
                self.sent += self.source.response.splice_into(sock)
                return
            except SourceBroken as broken:
                self.sent += broken.moved
                self._resume_or_raise(broken)

    def _resume_or_raise(self, err):
        """Go on from another node after ``err`` (raised again if none
        can)."""
        self.backend.error_occurred(
            self.source.node, 'GET %s: %s' % (self.path, err))
        if not self._resume(self.first, self.sent):
            self.backend.logger.error(
                'GET %s: body broken at byte %d, no node to resume from',
                self.path, self.sent)
            raise err

    def _resume(self, first, sent):
        """Switch to another node's answer from byte ``sent``; or False."""
        wanted = resume_range(first.status, first.headers, sent)
        etag = first.headers.get('etag')
        if wanted is None or not etag:
            return False
        headers = dict(self.headers, Range=wanted)
        headers['If-Match'] = etag
        for node in NodeIter(self.backend, self.ring, self.part):
            if node_name(node) in self.tried:
                continue
            self.tried.add(node_name(node))
            response = _open(self.backend, node, self.part, 'GET', self.path,
                             headers, None)
            if response is None:
                continue
            if response.status == HTTP_PARTIAL_CONTENT and \
                    response.headers.get('etag') == etag:
                self.backend.logger.warning(
                    'GET %s: resumed at byte %d from %s', self.path, sent,
                    node_name(node))
                self.source = Source(response, node)
                return True
            response.close()
        return False

    def close(self):
        self.source.response.close()
