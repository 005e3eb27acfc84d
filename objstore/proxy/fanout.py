"""Talking to many storage nodes at once: node order, fan-out, quorum wait.

Owns: the order in which nodes of a partition are tried (primaries, then
handoffs, skipping error-limited nodes unless all are), one backend request
with its failure accounting, a request that moves on to the next node
until one answers, and waiting for a quorum of answers in parallel green
threads with a short grace for stragglers (``post_quorum_timeout``) once
the outcome is decided. It does not decide what an answer means for the
client: quorum.py reduces statuses, the controllers build responses.

The helpers here and in getter.py take a ``Backend`` (the client, node
health, logger, timeouts), never the proxy app: that is all they use.
"""

import itertools
import random
import time
from dataclasses import dataclass, field

from objstore.common import green
from objstore.common.backend_client import BACKEND_ERRORS
from objstore.common.http import HTTP_INSUFFICIENT_STORAGE, is_server_error
from objstore.common.log import get_txn_id, set_txn_id
from objstore.proxy.errorlimit import ErrorLimiter
from objstore.proxy.quorum import NO_NODE_LEFT, client_status, has_quorum
from objstore.ring.ring import quorum_size


@dataclass(frozen=True)
class Backend:
    """What talking to storage nodes needs: one per proxy process.

    ``client`` is the keep-alive backend client (its own connect and node
    timeouts); ``limiter`` the node health; ``post_quorum_timeout`` the
    grace stragglers get once a quorum decided; ``chunk_size`` the read
    size of a streamed body.
    """

    client: object
    limiter: ErrorLimiter
    logger: object
    post_quorum_timeout: float
    chunk_size: int

    def error_occurred(self, node, message):
        """Count an error against ``node``; say so when it gets limited."""
        self.logger.warning('ERROR with %s: %s', node_name(node), message)
        if self.limiter.record_error(node):
            self.logger.warning(
                'node %s error-limited: %d errors within %ss',
                node_name(node), self.limiter.limit, self.limiter.interval)

    def limit_node(self, node, message):
        """Limit ``node`` at once (its device is unusable)."""
        self.limiter.make_limited(node)
        self.logger.warning('node %s error-limited at once: %s',
                            node_name(node), message)


@dataclass
class BackendResult:
    """A backend's whole answer (bodies here are small: not object data)."""

    status: int
    headers: dict = field(default_factory=dict)
    body: bytes = b''
    node: dict = None


def node_path(node, part, path):
    """``/<device>/<partition><path>`` for a node."""
    return '/%s/%s%s' % (node['device'], part, path)


def node_name(node):
    return '%s:%s/%s' % (node['ip'], node['port'], node['device'])


class NodeIter:
    """Primaries, then up to ``handoff_count`` handoffs.

    Error-limited nodes are put last: tried only when every other
    candidate failed (slowness under load is not death). Handoffs are
    logged as warnings: a primary is unavailable.
    """

    def __init__(self, backend, ring, part, handoff_count=None, shuffle=False):
        self.backend = backend
        self.part = part
        self.primaries = ring.get_part_nodes(part)
        if shuffle:
            # Reads spread over the primaries; writes keep ring order so
            # that parallel requests pair with the right container node.
            self.primaries = random.sample(self.primaries,
                                           len(self.primaries))
        count = len(self.primaries) if handoff_count is None \
            else handoff_count
        self._handoffs = itertools.islice(ring.get_more_nodes(part), count)
        self._gen = self._generate()

    def _generate(self):
        limiter = self.backend.limiter
        skipped = []
        for node in self.primaries:
            if limiter.is_limited(node):
                skipped.append(node)
                continue
            yield node
        for node in self._handoffs:
            if limiter.is_limited(node):
                skipped.append(node)
                continue
            self.backend.logger.warning(
                'trying handoff %s for partition %s', node_name(node),
                self.part)
            yield node
        # Last resort: an error-limited node may just have been slow or
        # restarted; asking it beats failing a request that needs it.
        yield from skipped

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._gen)


def request_node(backend, node, part, method, path, headers, body=b'',
                 query=None):
    """One whole request to one node; None when the node failed to answer.

    Failures and 5xx count against the node (507: limited at once).
    """
    try:
        status, resp_headers, resp_body = backend.client.request_full(
            node['ip'], node['port'], method, node_path(node, part, path),
            headers, body, query)
    except BACKEND_ERRORS as err:
        backend.error_occurred(node, '%s %s: %s' % (method, path, err))
        return None
    note_status(backend, node, status, method, path)
    return BackendResult(status, resp_headers, resp_body, node)


def note_status(backend, node, status, method, path):
    """Count a bad status against the node that gave it."""
    if status == HTTP_INSUFFICIENT_STORAGE:
        backend.limit_node(node, '%s %s: 507 Insufficient Storage'
                           % (method, path))
    elif is_server_error(status):
        backend.error_occurred(node, '%s %s: status %s'
                               % (method, path, status))


def request_until_answer(backend, node_iter, part, method, path, headers,
                         body=b'', query=None):
    """Ask nodes from ``node_iter`` until one answers without a 5xx.

    Returns that answer, or the last 5xx, or a 503 when no node was left.
    """
    last = BackendResult(client_status(NO_NODE_LEFT))
    for node in node_iter:
        result = request_node(backend, node, part, method, path, headers, body,
                              query)
        if result is None:
            continue
        if not is_server_error(result.status):
            return result
        last = result
    return last


def gather(backend, calls, quorum, status_of=lambda r: r.status):
    """Run ``calls`` in parallel green threads; their results, as they end.

    Waits for every call until a quorum of answers agrees on a class of
    status, then gives the rest ``post_quorum_timeout`` seconds; a call
    still running after that keeps running in the background (its result
    is dropped, its node's own timeouts bound it).
    """
    results_queue = green.Queue()
    txn_id = get_txn_id()
    for call in calls:
        green.spawn_n(_run_into, call, results_queue, txn_id)
    results = []
    deadline = None
    while len(results) < len(calls):
        if deadline is None and has_quorum(
                [status_of(r) for r in results], quorum):
            deadline = time.monotonic() + backend.post_quorum_timeout
        try:
            if deadline is None:
                results.append(results_queue.get())
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                results.append(results_queue.get(timeout=remaining))
        except green.QueueEmpty:
            break
    return results


def _run_into(call, results_queue, txn_id):
    # Green-thread locals are not inherited: carry the id to the log lines.
    set_txn_id(txn_id)
    results_queue.put(call())


def make_requests(backend, ring, part, method, path, headers_list, body=b'',
                  query=None):
    """Send one request per entry of ``headers_list`` to the partition.

    Each request starts at its own primary and moves on to handoffs when a
    node fails; returns the BackendResults gathered (see ``gather``).
    """
    # One node iterator for all the parallel requests: each node is used
    # once. Green threads switch only on I/O, so ``next`` is never
    # re-entered.
    node_iter = NodeIter(backend, ring, part)
    quorum = quorum_size(len(node_iter.primaries))

    def call_for(headers):
        return lambda: request_until_answer(
            backend, node_iter, part, method, path, headers, body, query)
    return gather(backend, [call_for(h) for h in headers_list], quorum)
