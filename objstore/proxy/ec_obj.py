"""Object requests of erasure-coded policies: the two-phase PUT and the
decoding GET/HEAD.

Owns: routing an object request by its container's policy type (an
``erasure_coding`` policy here, the rest to ``obj.ObjectController``);
the EC PUT; GET/HEAD through ``ec_getter``. DELETE and POST fan out as for
replication (a tombstone or .meta on every archive's node). Reaches the
object servers over HTTP only; the coding is ``common.erasure``'s.

PUT, phase one: every node of the partition (handoffs for failed
primaries) gets a streaming PUT with ``Expect: 100-continue`` and its
fragment index (``X-Object-Sysmeta-Ec-Frag-Index``); the client's body is
cut into ``segment_size`` segments, each encoded into ``k + m`` fragments,
and fragment ``i`` of every segment goes to the node storing archive
``i``. The object servers keep the archives non-durable. Phase two, once
``scheme.write_quorum`` nodes stored theirs: a commit request to each of
them (a body-less PUT with ``X-Backend-Ec-Commit``) carrying the footer,
what is known only after the last byte: the whole object's ETag and
length, and the container listing's size and ETag overrides (unless a
middleware set its own). A node renames its archive durable and fsyncs
before answering; the client's 201 waits for a write quorum of commits
and carries the MD5 of the whole object.
"""

import hashlib
import math

from objstore.common.conditional import http_date, requires_entity
from objstore.common.http import (
    HTTPCreated, HTTPServiceUnavailable, HTTPUnprocessableEntity, Response,
    is_success, text_error)
from objstore.common.http_basics import EC_COMMIT_HEADER
from objstore.common.storage_policy import ERASURE_CODING, REPLICATION
from objstore.common.timestamp import Timestamp
from objstore.proxy.ec_getter import ECGetter
from objstore.proxy.fanout import NodeIter, gather, request_node
from objstore.proxy.obj import (
    ClientFailed, NodeSender, ObjectController, ObjectPut)

FRAG_INDEX_HEADER = 'X-Object-Sysmeta-Ec-Frag-Index'
EC_ETAG_HEADER = 'X-Object-Sysmeta-Ec-Etag'
EC_LENGTH_HEADER = 'X-Object-Sysmeta-Ec-Content-Length'
EC_SEGMENT_SIZE_HEADER = 'X-Object-Sysmeta-Ec-Segment-Size'
OVERRIDE_PREFIX = 'X-Object-Sysmeta-Container-Update-Override-'


class ECObjectController(ObjectController):
    """Object requests of every policy type; EC ones are served here."""

    served_policy_types = frozenset((REPLICATION, ERASURE_CODING))

    @property
    def scheme(self):
        return self.app.ec_schemes[self.policy.index]

    def _is_ec(self):
        return self.policy.policy_type == ERASURE_CODING

    def GETorHEAD(self, req):
        problem = self._container_checked(req, 'read_acl')
        if problem is not None:
            return problem
        if not self._is_ec():
            # Checked and bound above: the container's info and the
            # authorization are not asked twice.
            return self.replicated_get_or_head(req)
        headers = self.backend_headers(
            req, forward=True, policy_index=self.policy.index)
        resp = ECGetter(self.app.backend, self.ring, self._part(), self.path,
                        self.scheme, self.is_owner(req)).respond(req, headers)
        if resp.status_int == 404 and requires_entity(req.headers):
            return Response(status=412)
        return resp

    GET = HEAD = GETorHEAD

    def make_put(self, req, headers_list, length):
        if not self._is_ec():
            return super().make_put(req, headers_list, length)
        return ECObjectPut(self, req, headers_list, length)


def fragment_headers(headers_list, scheme):
    """The phase-one headers of each node: its fragment index, the
    segment size, no whole-object ETag or length (the archive's differ).

    >>> from objstore.common.erasure import ECScheme
    >>> [h[FRAG_INDEX_HEADER] for h in fragment_headers(
    ...     [{'ETag': 'x'}] * 3, ECScheme('liberasurecode_rs_vand', 2, 1,
    ...                                   1000))]
    ['0', '1', '2']
    """
    result = []
    for node_index, headers in enumerate(headers_list):
        headers = {name: value for name, value in headers.items()
                   if name.lower() not in ('etag', 'content-length',
                                           'content-md5')}
        headers[FRAG_INDEX_HEADER] = str(scheme.fragment_index(node_index))
        headers[EC_SEGMENT_SIZE_HEADER] = str(scheme.segment_size)
        result.append(headers)
    return result


def footer_headers(headers, etag, length):
    """The commit's footer for one node's phase-one ``headers``.

    >>> footer_headers({OVERRIDE_PREFIX + 'Etag': 'slo'}, 'e', 5) == {
    ...     EC_ETAG_HEADER: 'e', EC_LENGTH_HEADER: '5',
    ...     OVERRIDE_PREFIX + 'Size': '5', OVERRIDE_PREFIX + 'Etag': 'slo'}
    True
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    footer = {EC_ETAG_HEADER: etag, EC_LENGTH_HEADER: str(length)}
    for name, value in (('Etag', etag), ('Size', str(length))):
        key = OVERRIDE_PREFIX + name
        footer[key] = lowered.get(key.lower(), value)
    return footer


class ECObjectPut(ObjectPut):
    """One two-phase EC PUT (module docstring)."""

    def __init__(self, controller, req, headers_list, length):
        self.scheme = controller.scheme
        super().__init__(controller, req,
                         fragment_headers(headers_list, self.scheme), length)
        # Archives have lengths of their own: always chunked to the nodes.
        self.chunked = True
        self.quorum = self.scheme.write_quorum
        self._digest = hashlib.md5(usedforsecurity=False)
        self._received = 0

    def _connector(self, node_iter, headers):
        connect = super()._connector(node_iter, headers)

        def connect_fragment():
            put, result = connect()
            if put is not None:
                put.headers = headers
                put.frag_index = int(headers[FRAG_INDEX_HEADER])
            return put, result
        return connect_fragment

    def run(self):
        # Primaries in ring order: node i stores archive i.
        node_iter = NodeIter(self.app.backend, self.ring, self.part)
        connected, refusals = self._connect_all(node_iter)
        if len(connected) < self.quorum:
            for put in connected:
                put.abort()
            return self._refused_response(refusals)
        live = self._send_body(connected)
        if not isinstance(live, list):
            return live
        stored = self._stored(live)
        if len(stored) < self.quorum:
            return self._too_few('stored their archive', len(stored))
        return self._commit(stored)

    def _too_few(self, what, count):
        self.app.logger.error('PUT %s: only %d nodes %s, %d needed',
                              self.path, count, what, self.quorum)
        return text_error(HTTPServiceUnavailable,
                          'Service Unavailable: too few object servers '
                          '%s' % what)

    def _send_body(self, puts):
        """Read, segment, encode and stream; the puts still alive, or the
        client's error response."""
        senders = [NodeSender(put, self.app.conf.put_queue_depth)
                   for put in puts]
        pending = bytearray()
        try:
            for chunk in self.client_chunks():
                self._digest.update(chunk)
                self._received += len(chunk)
                pending += chunk
                senders = self._send_segments(senders, pending, final=False)
                if len(senders) < self.quorum:
                    self._abort(senders)
                    return self._too_few('took the data', len(senders))
        except ClientFailed as failed:
            self._abort(senders)
            return failed.response
        senders = self._send_segments(senders, pending, final=True)
        mismatch = self._etag_mismatch()
        if mismatch is not None:
            self._abort(senders)
            return mismatch
        for sender in senders:
            sender.drain()
        return [sender.put for sender in self._drop_failed(senders)]

    def _send_segments(self, senders, pending, final):
        """Encode and send every whole segment of ``pending`` (and, when
        ``final``, the shorter last one); drop them from it."""
        size = self.scheme.segment_size
        while len(pending) >= size or (final and pending):
            segment = bytes(pending[:size])
            del pending[:size]
            fragments = self.scheme.encode(segment)
            senders = self._drop_failed(senders)
            for sender in senders:
                sender.send(fragments[sender.put.frag_index])
        return senders

    def _etag_mismatch(self):
        expected = self.req.headers.get('ETag', '').strip('"').lower()
        if expected and expected != self._digest.hexdigest():
            return text_error(HTTPUnprocessableEntity,
                              'Unprocessable Entity: the ETag does not '
                              'match the body')
        return None

    def _stored(self, live):
        """The puts whose node answered phase one with a 2xx."""
        by_node = {id(put.node): put for put in live}
        results = gather(self.app.backend,
                         [self._finisher(put) for put in live], len(live) + 1)
        return [by_node[id(r.node)] for r in results
                if r is not None and is_success(r.status)]

    def _commit(self, stored):
        etag = self._digest.hexdigest()
        calls = [self._committer(put, etag) for put in stored]
        results = gather(self.app.backend, calls, self.quorum)
        committed = [r for r in results if r is not None and
                     is_success(r.status)]
        if len(committed) < self.quorum:
            return self._too_few('made their archive durable',
                                 len(committed))
        timestamp = Timestamp(stored[0].headers['X-Timestamp'])
        return HTTPCreated(headers={
            'ETag': etag,
            'Last-Modified': http_date(math.ceil(float(timestamp)))})

    def _committer(self, put, etag):
        headers = {name: value for name, value in put.headers.items()
                   if name.lower() not in ('transfer-encoding', 'expect')}
        headers.update(footer_headers(put.headers, etag, self._received))
        headers[EC_COMMIT_HEADER] = 'yes'
        headers['Content-Length'] = '0'
        return lambda: request_node(self.app.backend, put.node, self.part,
                                    'PUT', self.path, headers)
