"""What every controller shares: headers, info lookups, auth, GET/HEAD.

Owns: which client headers go to the storage servers and which backend
headers come back to the client; the account/container info lookup (HEAD
through the ring, cached in the layers of common.info, with the same keys
that middlewares read, and forgotten on this proxy's writes), including
the answer to a middleware's info lookup subrequest; asking
``swift.authorize`` with the ACL that applies; turning backend answers
into client responses, and the GET/HEAD flow over getter.py. Controllers
per level (account.py, container.py, obj.py) build on it and own their
verbs.
"""

import functools
import math

from objstore.common.access import AUTHORIZE_KEY, unauthorized
from objstore.common.conditional import http_date
from objstore.common.constraints import (
    ALLOW_RESERVED_HEADER, allows_reserved)
from objstore.common.info import forget, lookup, remember
from objstore.common.infocache import (
    account_info_from, cache_key, container_info_from)
from objstore.common.http import (
    DEFAULT_CONTENT_TYPE, POLICY_HEADER, HTTP_ACCEPTED, HTTP_UNAUTHORIZED,
    EmptyResponse, HTTPServiceUnavailable, RelayedResponse, Response,
    default_body, is_success, request_headers, text_error, untyped_answer)
from objstore.common.log import get_txn_id
from objstore.common.row_update import make_host_list
from objstore.common.timestamp import Timestamp
from objstore.proxy.cors import (
    actual_response_headers, is_origin_allowed, preflight_headers)
from objstore.proxy.fanout import BackendResult, make_requests, node_name
from objstore.proxy.getter import (
    ResumingBody, failure_status, find_newest, find_source)
from objstore.proxy.quorum import best_response_index, client_status
from objstore.ring.ring import quorum_size

# Client headers never forwarded: hop-by-hop, credentials, and the ones
# the proxy itself sets for the backends.
CLIENT_HEADERS_DROPPED = frozenset((
    'host', 'connection', 'keep-alive', 'te', 'trailer', 'upgrade',
    'transfer-encoding', 'content-length', 'expect', 'x-auth-token',
    'x-storage-token', 'proxy-authorization', 'x-timestamp', 'x-trans-id',
    'authorization'))
# Backend headers never returned to the client.
BACKEND_HEADERS_DROPPED = frozenset((
    'connection', 'keep-alive', 'transfer-encoding', 'date', 'server'))
# Headers only an account's owners may set or see (Swift's
# swift_owner_headers): a user an ACL lets write is still no owner.
OWNER_ONLY_HEADERS = frozenset((
    'x-container-read', 'x-container-write', 'x-container-sync-key',
    'x-container-sync-to', 'x-account-access-control',
    'x-account-meta-temp-url-key', 'x-account-meta-temp-url-key-2',
    'x-container-meta-temp-url-key', 'x-container-meta-temp-url-key-2'))

# Set by the auth middleware (tempauth) on a reseller admin's request.
RESELLER_REQUEST = 'reseller_request'


def is_backend_header(name):
    return name.lower().startswith('x-backend-')


def forwarded_headers(req):
    """The client's headers a backend may see: no X-Backend-* but the
    middlewares' ask for reserved names (listings leave them out without
    it; the gatekeeper keeps clients from sending it)."""
    # Read from the environ (common.http.request_headers): webob's header
    # view costs three times as much per header, on every forwarded request.
    headers = {name: value for name, value in
               request_headers(req.environ).items()
               if name.lower() not in CLIENT_HEADERS_DROPPED
               and not is_backend_header(name)}
    if allows_reserved(req.environ):
        headers[ALLOW_RESERVED_HEADER] = 'true'
    return headers


def client_headers(backend_headers, owner=True):
    """[(name, value)] of a backend answer the client may see."""
    headers = []
    for name, value in backend_headers.items():
        lower = name.lower()
        if lower in BACKEND_HEADERS_DROPPED or is_backend_header(lower):
            continue
        if not owner and lower in OWNER_ONLY_HEADERS:
            continue
        headers.append((_title(name), value))
    return headers


def untyped_if_empty(headerlist, body):
    """``headerlist`` without its Content-Type when ``body`` is empty: an
    empty answer is typed (and given its page) as Swift's, whatever the
    storage server said."""
    if body:
        return headerlist
    return [(name, value) for name, value in headerlist
            if name.lower() != 'content-type']


def listing_headers(headers, container, reseller=False):
    """Swift's headers of an account or container GET/HEAD answer, from
    the storage server's [(name, value)]: ``Accept-Ranges: bytes``, no
    X-Put-Timestamp (Swift sends it on PUT answers only); a container's
    also ``Last-Modified`` (its PUT time, rounded up to the second) and,
    to a ``reseller`` request only (as Swift),
    ``X-Container-Sharding: False`` (objstore never shards a container).
    ``Vary: Accept`` is the listing_formats middleware's, which chooses
    the format.

    >>> listing_headers([('X-Put-Timestamp', '0000000001.50000')], True,
    ...                 reseller=True)
    ... # doctest: +NORMALIZE_WHITESPACE
    [('Accept-Ranges', 'bytes'), ('X-Container-Sharding', 'False'),
     ('Last-Modified', 'Thu, 01 Jan 1970 00:00:02 GMT')]
    """
    shaped = [(name, value) for name, value in headers
              if name.lower() != 'x-put-timestamp']
    shaped.append(('Accept-Ranges', 'bytes'))
    if container and reseller:
        shaped.append(('X-Container-Sharding', 'False'))
    if container:
        put_time = dict((name.lower(), value) for name, value in headers
                        ).get('x-put-timestamp')
        if put_time:
            shaped.append(('Last-Modified',
                           http_date(math.ceil(float(put_time)))))
    return shaped


# Every answer the proxy relays has ~10 headers to title, mostly the same
# names; the cache is bounded since metadata names are the clients'.
@functools.lru_cache(maxsize=1024)
def _title(name):
    return '-'.join(part.capitalize() for part in name.split('-'))


def update_headers(kind, nodes, part, count):
    """X-<kind>-Host/-Partition/-Device telling each of ``count`` replicas
    which ``kind`` nodes to update (an object its container, a container
    its account). Every node is told by some replica, and every replica
    tells one node at least: with fewer replicas than nodes (a 2-replica
    policy, 3 container replicas) replica i tells nodes i, i + count...

    >>> update_headers('Account', [{'ip': '10.0.0.1', 'port': 6202,
    ...                             'device': 'sdb'}], 5, 1)
    [{'X-Account-Host': '10.0.0.1:6202', 'X-Account-Partition': '5', \
'X-Account-Device': 'sdb'}]
    >>> [h['X-Container-Device'] for h in update_headers('Container', [
    ...     {'ip': 'h', 'port': 1, 'device': d} for d in 'abc'], 5, 2)]
    ['a,c', 'b']
    """
    groups = [[] for _ in range(count)]
    for i in range(max(count, len(nodes))):
        groups[i % count].append(nodes[i % len(nodes)])
    return [{'X-%s-Host' % kind: make_host_list(group),
             'X-%s-Partition' % kind: str(part),
             'X-%s-Device' % kind: ','.join(node['device']
                                            for node in group)}
            for group in groups]


def paired_by_server(nodes, writers):
    """``nodes`` reordered so that the i-th sits on the same server (ip and
    device) as ``writers[i]`` wherever one does; the rest keep their ring
    order in the slots left.

    Swift pairs an object's i-th replica with the container's i-th by ring
    position, so one object server sends a container's updates to all its
    replicas in turn and each batch stays small. Paired by server, an object
    server sends a container's updates to one container server, where they
    queue into bigger batches (fill: 27% fewer container requests). Every
    node still gets each update from exactly one writer.

    >>> [n['device'] for n in paired_by_server(
    ...     [{'ip': 'h', 'device': d} for d in 'abd'],
    ...     [{'ip': 'h', 'device': d} for d in 'dca'])]
    ['d', 'b', 'a']
    """
    if len(nodes) != len(writers):
        return nodes
    free = list(nodes)
    paired = []
    for writer in writers:
        match = next((node for node in free
                      if node['ip'] == writer['ip']
                      and node['device'] == writer['device']), None)
        if match is not None:
            free.remove(match)
        paired.append(match)
    leftovers = iter(free)
    return [node if node is not None else next(leftovers)
            for node in paired]


def txn_id(req):
    return req.environ.get('swift.trans_id') or get_txn_id() or '-'


class Controller:
    """Base of the per-level controllers; one instance per request."""

    server_type = None
    # The verbs of the Allow header (405 and OPTIONS answers), as Swift's.
    ALLOWED_METHODS = ('GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS')

    def __init__(self, app, account, container=None, obj=None):
        self.app = app
        self.account = account
        self.container = container
        self.obj = obj

    # ------------------------------------------------------------ headers

    def backend_headers(self, req, timestamp=None, forward=False,
                        policy_index='0'):
        headers = forwarded_headers(req) if forward else {}
        headers['X-Trans-Id'] = txn_id(req)
        headers[POLICY_HEADER] = str(policy_index)
        if timestamp is not None:
            headers['X-Timestamp'] = timestamp.internal
        return headers

    def extra_client_headers(self, backend_headers):
        """[(name, value)] a level adds to a GET/HEAD answer from what
        the backend sent (none here)."""
        return []

    @staticmethod
    def new_timestamp():
        return Timestamp.now()

    def allowed_methods(self):
        return self.ALLOWED_METHODS

    # --------------------------------------------------------------- CORS

    def dispatch(self, req):
        """The answer of the verb handler; a cross-origin request (with
        ``Origin``) to a container or object also gets the CORS headers
        of the container's metadata, as Swift's ``cors_validation``."""
        handler = getattr(self, req.method)
        origin = req.headers.get('Origin')
        if not origin or self.container is None or req.method == 'OPTIONS':
            return handler(req)
        # Looked up before the verb runs, as Swift does: a write that sets
        # the CORS metadata does not yet answer by it.
        cors = self.container_info(req).get('cors') or {}
        resp = handler(req)
        for name, value in actual_response_headers(
                resp.headers, cors, origin, self.app.cors).items():
            resp.headers[name] = value
        return resp

    # ------------------------------------------------------------ OPTIONS

    def OPTIONS(self, req):
        """200 with the Allow list; with ``Origin``, a CORS preflight of the
        container's CORS metadata (401 when the origin or the requested
        method is not allowed). Needs no auth, as in Swift: it reveals only
        what a browser is allowed to do."""
        methods = list(self.allowed_methods())
        headers = {'Allow': ', '.join(methods)}
        origin = req.headers.get('Origin')
        if not origin or self.container is None:
            return self._options_answer(200, headers)
        cors = self.container_info(req).get('cors') or {}
        if not is_origin_allowed(cors, origin, self.app.cors) or \
                req.headers.get('Access-Control-Request-Method') \
                not in methods:
            return Response(status=HTTP_UNAUTHORIZED, headers=headers)
        headers.update(preflight_headers(
            cors, origin, methods,
            req.headers.get('Access-Control-Request-Headers')))
        return self._options_answer(200, headers, answer=untyped_answer)

    def _options_answer(self, status, headers, answer=Response):
        """An allowed OPTIONS answer: an object's lists COPY too (served by
        the copy middleware), as Swift's copy middleware adds it. A
        preflight's ``answer`` has no Content-Type, as Swift's."""
        if self.obj is not None:
            for name in ('Allow', 'Access-Control-Allow-Methods'):
                if name in headers:
                    headers[name] += ', COPY'
        return answer(status=status, headers=headers)

    # --------------------------------------------------------------- auth

    def authorize(self, req, acl=None):
        """None when allowed, else the denial response to return."""
        authorize = req.environ.get(AUTHORIZE_KEY)
        if authorize is None:
            # Unreachable through Application (it refuses unclaimed
            # requests first); kept so a controller can never be the hole.
            return unauthorized(req.path_info)
        req.environ['swift.acl'] = acl
        denied = authorize(req)
        if denied is None and not self.is_owner(req):
            for name in OWNER_ONLY_HEADERS:
                req.headers.pop(name, None)
        return denied

    @staticmethod
    def is_owner(req):
        return bool(req.environ.get('swift_owner'))

    # --------------------------------------------------------------- info

    def account_info(self, req, account=None):
        """Cached info of the account, or a dict with a non-2xx status."""
        return self._info(req, self.app.account_ring,
                          (account or self.account,), account_info_from,
                          self.app.conf.recheck_account_existence)

    def container_info(self, req, account=None, container=None):
        """Cached info of the container, or a dict with a non-2xx status."""
        return self._info(req, self.app.container_ring,
                          (account or self.account,
                           container or self.container),
                          container_info_from,
                          self.app.conf.recheck_container_existence)

    def _info(self, req, ring, names, info_from, ttl):
        """The cached info of ``names`` (account[, container]), else from
        a HEAD through ``ring``, cached ``ttl`` seconds when it exists."""
        key = cache_key(*names)
        info = lookup(req.environ, key, self.app.info_cache)
        if info is not None:
            return info
        source, statuses, _err = find_source(
            self.app.backend, ring, ring.get_part(*names), 'HEAD',
            '/' + '/'.join(names), self.backend_headers(req))
        if source is None:
            return info_from(failure_status(statuses, ring.replica_count),
                             {})
        source.response.read()
        info = info_from(source.status, source.headers)
        remember(req.environ, key, info, self.app.info_cache, ttl)
        return info

    def invalidate(self, req, account, container=None):
        """Forget the cached info of what this request just changed."""
        forget(req.environ, cache_key(account, container),
               self.app.info_cache)

    def info_lookup(self, req):
        """Answer the HEAD of a common.info lookup: the info goes into the
        request's infocache (shared with the caller), served from the cache
        when there, and only its status into the answer."""
        if self.obj is not None:
            return self.HEAD(req)
        denied = self.authorize(req)
        if denied is not None:
            return denied
        info = self.account_info(req) if self.container is None \
            else self.container_info(req)
        return Response(status=info['status'], body=b'')

    # ---------------------------------------------------------- responses

    def quorum_response(self, req, results, replicas, reduce_status=None):
        """The client response for the answers of a fan-out write."""
        statuses = [r.status for r in results]
        quorum = quorum_size(replicas)
        if reduce_status is not None:
            status = reduce_status(statuses, quorum)
            chosen = next((r for r in results if r.status == status),
                          BackendResult(status))
        else:
            index = best_response_index(statuses, quorum)
            chosen = results[index] if index is not None else None
        if chosen is None or client_status(chosen.status) != chosen.status:
            self.app.logger.error(
                '%s %s: no quorum among %s', req.method, req.path, statuses)
            return text_error(HTTPServiceUnavailable,
                              'Service Unavailable: no quorum of storage '
                              'nodes answered')
        headerlist = untyped_if_empty(
            client_headers(chosen.headers, self.is_owner(req)), chosen.body)
        body = chosen.body
        if chosen.status == HTTP_ACCEPTED and not body:
            # swob gives every 202 its page (a PUT to an existing
            # container); the Response fills only errors.
            headerlist.append(('Content-Type', DEFAULT_CONTENT_TYPE))
            body = default_body(HTTP_ACCEPTED)
        return Response(status=chosen.status, headerlist=headerlist,
                        body=body)

    def fan_out(self, req, ring, part, method, path, headers_list, body=b''):
        results = make_requests(self.app.backend, ring, part, method, path,
                                headers_list, body=body)
        return self.quorum_response(req, results, ring.replica_count)

    def failed_get_or_head(self, req, ring, statuses, last_error, owner):
        """The answer when no node served a GET/HEAD: the storage
        server's error when it is the quorum's, else a bare status. A
        controller may add headers (``failure_headers``)."""
        status = failure_status(statuses, ring.replica_count)
        extra = self.failure_headers(req)
        if last_error is not None and last_error[0] == status:
            # The storage server's body as it is: its error page, or
            # none where Swift's servers send none (a conditional 412).
            answer = Response if last_error[2] else EmptyResponse
            return answer(status=status, headerlist=untyped_if_empty(
                client_headers(last_error[1], owner), last_error[2]) + extra,
                body=last_error[2])
        if status == 503:
            self.app.logger.error('%s %s: no node answered (%s)',
                                  req.method, req.path, statuses)
        resp = Response(status=status)
        resp.headers.update(extra)
        return resp

    def failure_headers(self, req):
        """Headers of a failed GET/HEAD besides the storage server's."""
        return []

    def get_or_head(self, req, ring, part, path, headers, query=None,
                    owner=True):
        """GET/HEAD through the ring; streams the body, resuming on failure."""
        newest = req.headers.get('X-Newest', '').lower() in ('true', '1',
                                                              'yes', 'on')
        finder = find_newest if newest else find_source
        source, statuses, last_error = finder(
            self.app.backend, ring, part, req.method, path, headers, query)
        if source is None:
            return self.failed_get_or_head(req, ring, statuses, last_error,
                                           owner)
        resp_headers = client_headers(source.headers, owner) + \
            self.extra_client_headers(source.headers)
        if self.obj is None and is_success(source.status):
            resp_headers = listing_headers(
                resp_headers, self.container is not None,
                req.environ.get(RESELLER_REQUEST, False))
        # An object's 2xx is relayed without webob (common.http); listings
        # and the rest keep the Response their controllers edit.
        answer = RelayedResponse if self.obj is not None and \
            is_success(source.status) else Response
        if req.method == 'HEAD':
            source.response.close()
            return answer(status=source.status, headerlist=resp_headers,
                          app_iter=[])
        body = ResumingBody(self.app.backend, source, ring, part, path,
                            headers, tried={node_name(source.node)},
                            environ=req.environ)
        return answer(status=source.status, headerlist=resp_headers,
                      app_iter=body)
