"""Object level: ``/v1/<account>/<container>/<object>`` GET, HEAD, PUT, POST,
DELETE for replicated storage policies.

Owns: object request checks (name, metadata, length, X-Delete-At/After,
Content-Type guessed from the name), the container ACL check, the
container's storage policy (its object ring places the object, its index
goes to the object servers, a policy type not served here is a 503),
pairing each object replica with a container replica to update
(``X-Container-Host/-Partition/-Device``), and the streaming PUT: headers
with ``Expect: 100-continue`` to all primaries in parallel (a failing node
replaced by a handoff), the body streamed only to nodes that said continue,
success on a quorum of 201s. Reaches the object servers over HTTP only.
"""

import functools
import mimetypes
import time

from objstore.common import green
from objstore.common.backend_client import BACKEND_ERRORS
from objstore.common.conditional import (
    ANNOUNCE_PUT_HEADER, DELETE_IF_PLAIN_HEADER, PUT_IF_MATCH_HEADER,
    WITHDRAW_PUT_HEADER, check_put_if_none_match, requires_entity,
    write_condition)
from objstore.common.constraints import (
    CONTENT_TYPE_OVERRIDDEN, check_content_type_params, check_metadata,
    check_name, check_object_length, is_chunked)
from objstore.common.storage_policy import REPLICATION
from objstore.common.subrequest import sent_content_type
from objstore.common.swift_bytes import client_content_type
from objstore.common.http import (
    POLICY_HEADER, EmptyResponse, HTTPClientDisconnect, HTTPConflict,
    HTTPNotFound, HTTPRequestTimeout, HTTPServiceUnavailable, Response,
    is_success, text_error)
from objstore.common.timestamp import delete_at_after, parse_delete_at
from objstore.proxy.base import (
    Controller, client_headers, paired_by_server, update_headers)
from objstore.proxy.fanout import (
    BackendResult, NodeIter, gather, make_requests, node_name, node_path,
    note_status, request_node, request_until_answer)
from objstore.proxy.quorum import best_response_index, delete_status
from objstore.ring.ring import quorum_size

DEFAULT_CONTENT_TYPE = 'application/octet-stream'
# A middleware's write condition for the object servers (common.
# conditional; the gatekeeper keeps clients from sending these).
PUT_CONDITION_HEADERS = (PUT_IF_MATCH_HEADER, 'X-Backend-Etag-Is-At')
# A known body up to this size goes to the object servers with its
# headers, without Expect: 100-continue (ObjectPut.sends_whole): the wait
# for each node's 100 Continue costs a round trip, a green thread and a
# queue per node, on both sides, for a body that fits one send anyway.
WHOLE_PUT_MAX = 65536
# The policy types whose objects this controller reads and writes
# (ec_obj.ECObjectController adds erasure coding).
SERVED_POLICY_TYPES = frozenset((REPLICATION,))


def guess_content_type(name):
    """Content-Type from an object name's extension.

    >>> guess_content_type('photos/cat.jpg')
    'image/jpeg'
    >>> guess_content_type('README')
    'application/octet-stream'
    """
    return mimetypes.guess_type(name, strict=False)[0] or DEFAULT_CONTENT_TYPE


def delete_at_header(headers, now):
    """The X-Delete-At value a write carries, or None; InvalidInput if bad.

    X-Delete-After (seconds from now) becomes an absolute X-Delete-At and
    wins over an X-Delete-At sent with it, as in Swift. Checked here,
    before any backend write, so that a bad value writes nothing.

    >>> delete_at_header({'X-Delete-After': '60'}, 1000.5)
    '1060'
    >>> delete_at_header({}, 1000) is None
    True
    """
    if 'X-Delete-After' in headers:
        return str(delete_at_after(headers['X-Delete-After'], now))
    if 'X-Delete-At' in headers:
        return str(parse_delete_at(headers['X-Delete-At'], now))
    return None


def show_content_type(headerlist):
    """The Content-Type of ``headerlist`` as clients see it
    (client_content_type), in place: edited in the list, which costs less
    than through a header view on every object GET and HEAD.

    >>> headers = [('Content-Type', 'text/plain;swift_bytes=10')]
    >>> show_content_type(headers); headers
    [('Content-Type', 'text/plain')]
    """
    for index, (name, value) in enumerate(headerlist):
        if name.lower() == 'content-type':
            headerlist[index] = (name, client_content_type(value))
            return


def forward_delete_condition(environ, headers_list):
    """Pass a middleware's ``DELETE_IF_PLAIN_HEADER`` on to every object
    server (backend headers leave X-Backend-* out; the gatekeeper keeps
    clients from sending it). Read from the environ: a webob header
    lookup costs more, on every DELETE."""
    value = environ.get('HTTP_X_BACKEND_DELETE_IF_PLAIN')
    if value is not None:
        for headers in headers_list:
            headers[DELETE_IF_PLAIN_HEADER] = value


class ObjectController(Controller):
    server_type = 'object'
    served_policy_types = SERVED_POLICY_TYPES

    def __init__(self, app, account, container, obj, allow_reserved=False):
        super().__init__(app, account, container, obj)
        check_name(account, 'account')
        check_name(container, 'container', allow_reserved)
        check_name(obj, 'object', allow_reserved)
        # The container's policy and its object ring, once
        # _container_checked has looked the container up.
        self.policy = None
        self.ring = None

    @property
    def path(self):
        return '/%s/%s/%s' % (self.account, self.container, self.obj)

    def _part(self):
        return self.ring.get_part(self.account, self.container, self.obj)

    def _container_checked(self, req, acl_name):
        """None when the request may go on (the container's policy and
        ring then bound), else the response to return."""
        info = self.container_info(req)
        denied = self.authorize(req, info.get(acl_name))
        if denied is not None:
            return denied
        if info['status'] == 404:
            return HTTPNotFound()
        if not is_success(info['status']):
            return text_error(HTTPServiceUnavailable,
                              'Container info unavailable')
        return self._bind_policy(info['storage_policy'])

    def _bind_policy(self, policy_index):
        """Take the container's policy and its ring: None, or a 503 for a
        policy this proxy does not know or serve."""
        policy = self.app.policies.get_by_index(policy_index)
        if policy is None:
            self.app.logger.error('%s: container has unknown policy index '
                                  '%r', self.path, policy_index)
            return text_error(HTTPServiceUnavailable,
                              'No policy with index %s' % policy_index)
        if policy.policy_type not in self.served_policy_types:
            return text_error(HTTPServiceUnavailable,
                              'Storage policy type %s is not served by '
                              'this proxy' % policy.policy_type)
        self.policy = policy
        self.ring = self.app.object_rings[policy.index]
        return None

    def GETorHEAD(self, req):
        problem = self._container_checked(req, 'read_acl')
        if problem is not None:
            return problem
        return self.replicated_get_or_head(req)

    GET = HEAD = GETorHEAD

    def replicated_get_or_head(self, req):
        """GET or HEAD of a replicated object, once ``_container_checked``
        allowed it and bound its policy."""
        headers = self.backend_headers(
            req, forward=True, policy_index=self.policy.index)
        resp = self.get_or_head(req, self.ring, self._part(),
                                self.path, headers)
        if resp.status_int == 404 and requires_entity(req.headers):
            # If-Match: * on nothing: 412 with an empty body, as Swift.
            return EmptyResponse(status=412)
        show_content_type(resp.headerlist)
        return resp

    def _write_headers(self, req, timestamp):
        """One header dict per object replica, each with its container."""
        container_part, container_nodes = self.app.container_ring.get_nodes(
            self.account, self.container)
        base = self.backend_headers(req, timestamp, forward=True,
                                    policy_index=self.policy.index)
        container_nodes = paired_by_server(
            container_nodes, self.ring.get_part_nodes(self._part()))
        return [dict(base, **pair) for pair in update_headers(
            'Container', container_nodes, container_part,
            self.ring.replica_count)]

    def POST(self, req):
        check_metadata(req.headers, 'object')
        delete_at = delete_at_header(req.headers, time.time())
        problem = self._container_checked(req, 'write_acl')
        if problem is not None:
            return problem
        headers_list = self._write_headers(req, self.new_timestamp())
        for headers in headers_list:
            headers.pop('X-Delete-After', None)
            if sent_content_type(req.environ) is None:
                # The WSGI server's default text/plain is no client's
                # choice: the object keeps its Content-Type, as in Swift.
                headers.pop('Content-Type', None)
            if delete_at:
                headers['X-Delete-At'] = delete_at
        return self.fan_out(req, self.ring, self._part(), 'POST',
                            self.path, headers_list)

    def DELETE(self, req):
        problem = self._container_checked(req, 'write_acl')
        if problem is not None:
            return problem
        ring = self.ring
        headers_list = self._write_headers(req, self.new_timestamp())
        forward_delete_condition(req.environ, headers_list)
        results = make_requests(self.app.backend, ring, self._part(),
                                'DELETE', self.path, headers_list)
        return self.quorum_response(req, results, ring.replica_count,
                                    reduce_status=delete_status)

    # ---------------------------------------------------------------- PUT

    def PUT(self, req):
        chunked = is_chunked(req.headers.get('Transfer-Encoding'))
        length = check_object_length(req.headers.get('Content-Length'),
                                     chunked)
        check_metadata(req.headers, 'object')
        if not req.environ.get(CONTENT_TYPE_OVERRIDDEN):
            check_content_type_params(req.headers.get('Content-Type'))
        check_put_if_none_match(req.headers)
        delete_at = delete_at_header(req.headers, time.time())
        problem = self._container_checked(req, 'write_acl')
        if problem is not None:
            return problem
        headers_list = self._write_headers(req, self.new_timestamp())
        content_type = sent_content_type(req.environ)
        if not content_type or req.headers.get(
                'X-Detect-Content-Type', '').lower() in ('true', '1', 'yes'):
            content_type = guess_content_type(self.obj)
        for headers in headers_list:
            headers['Content-Type'] = content_type
            headers.pop('X-Delete-After', None)
            headers.pop('X-Detect-Content-Type', None)
            if delete_at:
                headers['X-Delete-At'] = delete_at
            if length is not None:
                headers['Content-Length'] = str(length)
            headers.update((name, req.headers[name]) for name in
                           PUT_CONDITION_HEADERS if name in req.headers)
        return self.make_put(req, headers_list, length).run()

    def make_put(self, req, headers_list, length):
        """The streaming PUT of the bound policy's type."""
        return ObjectPut(self, req, headers_list, length)


class NodeSender:
    """Feeds one object server from its own green thread via a bounded
    queue, so that a node slow to take data does not stall the others
    (only a full queue makes the client's reader wait)."""

    def __init__(self, put, depth):
        self.put = put
        self.failure = None
        self._queue = green.Queue(depth)
        self._done = green.Event()
        green.spawn_n(self._run)

    def _run(self):
        try:
            while True:
                chunk = self._queue.get()
                if chunk is None:
                    return
                if self.failure is None:
                    try:
                        self.put.send(chunk)
                    except BACKEND_ERRORS as err:
                        self.failure = err
        finally:
            self._done.send()

    def send(self, chunk):
        self._queue.put(chunk)

    def drain(self):
        """Wait until every queued chunk was sent (or the node failed)."""
        self._queue.put(None)
        self._done.wait()

    def abort(self):
        self.failure = self.failure or 'aborted'
        self._queue.put(None)
        self._done.wait()
        self.put.abort()


class ClientFailed(Exception):
    """The client's body could not be read; ``response`` answers it."""

    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


class ObjectPut:
    """One streaming object PUT to the object ring's nodes."""

    def __init__(self, controller, req, headers_list, length):
        self.controller = controller
        self.app = controller.app
        self.req = req
        self.headers_list = headers_list
        self.length = length
        self.chunked = length is None
        self.ring = controller.ring
        self.part = controller._part()
        self.path = controller.path
        self.quorum = quorum_size(self.ring.replica_count)

    def sends_whole(self):
        """True when the body goes with the headers in one request to each
        node: a known length up to WHOLE_PUT_MAX, and no reason for the
        nodes' early answers to stop the body: no If-None-Match (a node
        lacking the object would store it while the others refuse it with
        412) nor a middleware's write condition, and no client waiting
        for its own 100 Continue (it must not send a body that the nodes
        refuse)."""
        headers = self.req.headers
        return (self.length is not None and self.length <= WHOLE_PUT_MAX
                and 'If-None-Match' not in headers
                and 'Expect' not in headers
                and write_condition(headers) is None)

    def run(self):
        node_iter = NodeIter(self.app.backend, self.ring, self.part)
        if self.sends_whole():
            return self._run_whole(node_iter)
        connected, refusals = self._connect_all(node_iter)
        if len(connected) < self.quorum:
            for put in connected:
                put.abort()
            return self._refused_response(refusals)
        live = self._send_body(connected)
        if isinstance(live, Response):
            return live
        if len(live) < self.quorum:
            self.app.logger.error('PUT %s: only %d nodes took the body',
                                  self.path, len(live))
            return text_error(HTTPServiceUnavailable,
                              'Service Unavailable: too few object servers '
                              'took the data')
        conditional = write_condition(self.req.headers) is not None
        # A conditional PUT hears every node: it must know each one that
        # stored its data, to take that back if it loses (_withdraw).
        results = gather(self.app.backend,
                         [self._finisher(put) for put in live],
                         len(live) if conditional else self.quorum)
        results = [r for r in results if r is not None]
        resp = self.controller.quorum_response(self.req, results,
                                               self.ring.replica_count)
        if conditional and is_success(resp.status_int):
            self._announce(results)
        elif conditional:
            return self._withdraw(results, resp)
        return resp

    def _run_whole(self, node_iter):
        """The PUT of a small body: read it all, then one whole request per
        replica, moving on to a handoff when a node fails or answers 5xx
        (as a node refusing the 100-continue does). Answered as the
        streaming PUT answers: the nodes' refusal when fewer than a quorum
        stored it, else the quorum's answer."""
        try:
            body = b''.join(self.client_chunks())
        except ClientFailed as failed:
            return failed.response
        calls = [functools.partial(request_until_answer, self.app.backend,
                                   node_iter, self.part, 'PUT', self.path,
                                   headers, body)
                 for headers in self.headers_list]
        results = gather(self.app.backend, calls, self.quorum)
        if sum(1 for r in results if is_success(r.status)) < self.quorum:
            return self._refused_response(
                [r for r in results if not is_success(r.status)])
        return self.controller.quorum_response(self.req, results,
                                               self.ring.replica_count)

    def _followup_headers(self, header):
        """Headers of a request about this PUT to a node that stored it."""
        headers = {name: value for name, value in self.headers_list[0].items()
                   if name in ('X-Timestamp', 'X-Trans-Id', POLICY_HEADER)}
        headers[header] = 'true'
        return headers

    def _announce(self, results):
        """Let the nodes that stored a conditional PUT that won its quorum
        send its container update (the object server keeps it until then,
        so that a losing write is never listed); a node that does not
        answer leaves it to its object-updater."""
        headers = self._followup_headers(ANNOUNCE_PUT_HEADER)
        # Every container replica, from each node: a node that refused
        # the PUT does not update its own.
        for name in ('X-Container-Host', 'X-Container-Device'):
            headers[name] = ','.join(pair[name] for pair in self.headers_list
                                     if pair.get(name))
        # One partition stands for all hosts: a container has one.
        headers['X-Container-Partition'] = self.headers_list[0].get(
            'X-Container-Partition', '')
        calls = [functools.partial(request_node, self.app.backend,
                                   result.node, self.part, 'PUT', self.path,
                                   headers)
                 for result in results if is_success(result.status)]
        gather(self.app.backend, calls, len(calls),
               status_of=lambda r: r.status if r is not None else 503)

    def _withdraw(self, results, resp):
        """After a conditional PUT failed its quorum: remove its data from
        the nodes that stored it; the answer is then 409 when the others
        refused it (another conditional writer of the object was first
        there), else ``resp``.

        Why: each node commits at most one of two racing conditional
        writers (the object server tests under a lock), so at most one
        reaches a quorum; but the loser's data on its few nodes, left
        there, would win over the winner's in replication whenever its
        timestamp is newer."""
        stored = [r for r in results if is_success(r.status)]
        if not stored:
            return resp
        headers = self._followup_headers(WITHDRAW_PUT_HEADER)
        for result in stored:
            answer = request_node(self.app.backend, result.node, self.part,
                                  'DELETE', self.path, headers)
            if answer is None or answer.status not in (204, 404):
                self.app.logger.error(
                    'PUT %s: could not withdraw the data of a failed '
                    'conditional write from %s', self.path,
                    node_name(result.node))
        if any(r.status == 412 for r in results):
            return text_error(HTTPConflict, 'Conflict: a concurrent '
                              'conditional write of this object won')
        return resp

    def _connect_all(self, node_iter):
        """PutStreams that said 100 Continue, and the final answers of those
        that did not (409, 412, 422: the client's problem)."""
        calls = [self._connector(node_iter, h) for h in self.headers_list]
        answers = gather(self.app.backend, calls, self.quorum,
                         status_of=lambda a: 100 if a[0] else a[1].status)
        connected = [put for put, _result in answers if put is not None]
        refusals = [result for put, result in answers if put is None]
        return connected, refusals

    def _connector(self, node_iter, headers):
        def connect():
            last = BackendResult(503)
            for node in node_iter:
                try:
                    put = self.app.client.start_put(
                        node['ip'], node['port'],
                        node_path(node, self.part, self.path), headers,
                        self.chunked)
                except BACKEND_ERRORS as err:
                    self.app.backend.error_occurred(
                        node, 'PUT %s: %s' % (self.path, err))
                    continue
                if put.continued:
                    put.node = node
                    return put, None
                status = put.final.status
                body = put.final.read()
                note_status(self.app.backend, node, status, 'PUT', self.path)
                last = BackendResult(status, put.final.headers, body, node)
                if status < 500:
                    return None, last
            return None, last
        return connect

    def _refused_response(self, refusals):
        statuses = [r.status for r in refusals]
        index = best_response_index(statuses, self.quorum)
        if index is not None and refusals[index].status < 500:
            chosen = refusals[index]
            return Response(status=chosen.status,
                            headerlist=client_headers(chosen.headers),
                            body=chosen.body)
        self.app.logger.error('PUT %s: too few object servers accepted (%s)',
                              self.path, statuses)
        return text_error(HTTPServiceUnavailable,
                          'Service Unavailable: too few object servers '
                          'accepted the upload')

    def _read_client(self, reader, remaining):
        size = self.app.conf.client_chunk_size
        if remaining is not None:
            size = min(size, remaining)
        with green.Timeout(self.app.conf.client_timeout):
            return reader.read(size)

    def client_chunks(self):
        """The client's body, chunk by chunk, to its declared length (or
        its end when chunked); ClientFailed carries the answer when the
        client times out or goes away first."""
        reader = self.req.environ['wsgi.input']
        remaining = self.length
        while remaining is None or remaining > 0:
            try:
                chunk = self._read_client(reader, remaining)
            except green.Timeout:
                raise ClientFailed(text_error(
                    HTTPRequestTimeout, 'Request Timeout: client sent no '
                    'data in %ss' % self.app.conf.client_timeout))
            except (OSError, ValueError):
                raise ClientFailed(text_error(HTTPClientDisconnect,
                                              'Client disconnected'))
            if not chunk:
                if remaining:
                    self.app.logger.warning(
                        'PUT %s: client disconnected with %d bytes unsent',
                        self.path, remaining)
                    raise ClientFailed(text_error(HTTPClientDisconnect,
                                                  'Client disconnected'))
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk

    def _send_body(self, puts):
        """Stream the client's body to ``puts``; the ones still alive, or a
        response when the client failed."""
        senders = [NodeSender(put, self.app.conf.put_queue_depth)
                   for put in puts]
        try:
            for chunk in self.client_chunks():
                senders = self._drop_failed(senders)
                if len(senders) < self.quorum:
                    self._abort(senders)
                    return []
                for sender in senders:
                    sender.send(chunk)
        except ClientFailed as failed:
            self._abort(senders)
            return failed.response
        for sender in senders:
            sender.drain()
        return [sender.put for sender in self._drop_failed(senders)]

    def _drop_failed(self, senders):
        alive = []
        for sender in senders:
            if sender.failure is None:
                alive.append(sender)
                continue
            self.app.backend.error_occurred(
                sender.put.node, 'PUT %s: %s' % (self.path, sender.failure))
            sender.abort()
        return alive

    @staticmethod
    def _abort(senders):
        for sender in senders:
            sender.abort()

    def _finisher(self, put):
        def finish():
            try:
                response = put.finish()
                body = response.read()
            except BACKEND_ERRORS as err:
                self.app.backend.error_occurred(
                    put.node, 'PUT %s: %s' % (self.path, err))
                return BackendResult(503, node=put.node)
            note_status(self.app.backend, put.node, response.status, 'PUT',
                        self.path)
            if not is_success(response.status):
                self.app.logger.warning('PUT %s: %s answered %s', self.path,
                                        node_name(put.node), response.status)
            return BackendResult(response.status, response.headers, body,
                                 put.node)
        return finish
