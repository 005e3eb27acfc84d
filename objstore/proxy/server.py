"""The proxy server WSGI app: routes ``/v1/...`` to the controllers.

Owns the proxy's typed config (``ProxyServerConf``), the storage policies
and the rings (account, container, and one object ring per policy), the
backend client (keep-alive pools), the error limiter and the info cache
that the controllers share, the mapping of domain errors to statuses, and
``/info``. It reaches storage servers only through common.backend_client
and knows them only through the rings. Auth, logging, txn ids, healthcheck
and COPY are middlewares in front of it (etc/proxy-server.conf-sample).

Deny by default: a request for anything but a public path (common.access)
that no middleware claimed gets 401 here, before any routing, so a missing
or misconfigured auth middleware can never make the caller an owner.
"""

import dataclasses
import os
import time

from objstore.common.access import (
    API_VERSIONS, api_version, is_claimed, is_public, unauthorized)
from objstore.common.backend_client import BackendClient
from objstore.common.config import ConfBase
from objstore.common.constraints import allows_reserved
from objstore.common.erasure import ECScheme
from objstore.common.exceptions import (
    ConfigError, InvalidInput, NameTooLong)
from objstore.common.info import is_info_lookup
from objstore.common.infocache import InfoCache
from objstore.common.hashing import load_hash_conf
from objstore.common.http import (
    DEFAULT_CONTENT_TYPE, HTTPBadRequest, HTTPMethodNotAllowed, HTTPNotFound,
    HTTPPreconditionFailed, Request, Response, html_error, split_path)
from objstore.common.log import get_logger
from objstore.common.memcache import MemcacheRing
from objstore.common.storage_policy import load_policies
from objstore.common.subrequest import CAPABILITIES_KEY
from objstore.proxy.account import AccountController
from objstore.proxy.container import ContainerController
from objstore.proxy.cors import CorsConf
from objstore.proxy.errorlimit import ErrorLimiter
from objstore.proxy.fanout import Backend
from objstore.proxy.info import base_capabilities, info_response
from objstore.proxy.ec_obj import ECObjectController
from objstore.ring.ring import Ring

INVALID_PATH = 'Invalid UTF8 or contains NULL'
INFO_METHODS = ('GET', 'HEAD', 'OPTIONS')


@dataclasses.dataclass(frozen=True)
class ProxyServerConf(ConfBase):
    conf_dir: str = '/etc/objstore'
    conn_timeout: float = 0.5
    node_timeout: float = 10.0
    post_quorum_timeout: float = 0.5
    client_timeout: float = 60.0
    error_suppression_interval: float = 60.0
    error_suppression_limit: int = 10
    recheck_account_existence: float = 10.0
    recheck_container_existence: float = 10.0
    info_cache_max_entries: int = 10000
    account_autocreate: bool = True
    allow_account_management: bool = False
    # 256 KiB: a quarter of the reads, queue hand-offs and sends per MB of
    # 64 KiB chunks (proxy CPU per MB of a 64 MiB PUT 1.3 ms -> 1.1 ms),
    # small enough to stay in the CPU's cache while copied to three
    # sockets; with 4 chunks queued per node a PUT holds at most 1 MiB.
    object_chunk_size: int = 262144
    client_chunk_size: int = 262144
    put_queue_depth: int = 4
    max_idle_connections: int = 16
    memcache_servers: tuple[str, ...] = ()
    cors_allow_origin: tuple[str, ...] = ()
    cors_expose_headers: tuple[str, ...] = ()
    strict_cors_mode: bool = True
    log_name: str = 'proxy-server'
    log_level: str = 'INFO'
    log_file: str = ''

    def validate(self):
        for name in ('conn_timeout', 'node_timeout', 'client_timeout'):
            if getattr(self, name) <= 0:
                raise ConfigError('%s must be > 0' % name)
        if self.post_quorum_timeout < 0:
            raise ConfigError('post_quorum_timeout must be >= 0')
        if self.put_queue_depth < 1:
            raise ConfigError('put_queue_depth must be >= 1')
        if self.error_suppression_limit < 1:
            raise ConfigError('error_suppression_limit must be >= 1')
        if self.info_cache_max_entries < 1:
            raise ConfigError('info_cache_max_entries must be >= 1')


def ec_schemes(policies, object_rings):
    """{policy index: ECScheme} of the erasure coding policies, each
    checked against the installed backends and its ring (ConfigError: the
    proxy does not start)."""
    schemes = {}
    for policy in policies:
        if policy.ec is not None:
            scheme = ECScheme.from_policy(policy)
            scheme.check(object_rings[policy.index].replica_count)
            schemes[policy.index] = scheme
    return schemes


def _load_ring(conf_dir, name):
    return Ring(conf_dir, name, hash_conf=load_hash_conf(conf_dir))


def _invalid_input(err):
    """The client's answer to a request that failed a constraint check."""
    content_type = 'text/plain' if err.plain else DEFAULT_CONTENT_TYPE
    return Response(status=err.status, content_type=content_type,
                    charset=None, body=err.message.encode('utf-8'))


def path_error(path, allow_reserved=False):
    """Swift's answer to a path the API cannot route, else None.

    Looks at the path's shape only (nothing stored), so it is answered
    before auth, as Swift's proxy does: an empty segment is 404, a path
    with no account (``/v1``, ``/foo``) 412 ``Bad URL``, an account under
    an unknown version 400.

    >>> [path_error(p).status_int for p in ('//v1/a', '/v1', '/v2/a')]
    [404, 412, 400]
    >>> path_error('/v1.0/a/c/o') is None
    True
    """
    if '\x00' in path and not allow_reserved:
        return html_error(HTTPPreconditionFailed, INVALID_PATH)
    try:
        version, account, _container, _obj = split_path(path, 1, 4, True)
    except ValueError:
        return HTTPNotFound()
    if account is None:
        return html_error(HTTPPreconditionFailed, 'Bad URL')
    if version not in API_VERSIONS:
        return HTTPBadRequest()
    return None


class Application:
    """The proxy app; collaborators injectable for tests.

    ``policies`` (a StoragePolicies) defaults to objstore.conf's;
    ``object_rings`` ({policy index: Ring}) to each policy's ring file in
    conf_dir, ``object_ring`` being policy 0's. Every policy's ring is
    loaded at start-up, so a missing one stops the proxy there.
    """

    def __init__(self, conf, logger=None, account_ring=None,
                 container_ring=None, object_ring=None, memcache=None,
                 clock=time.time, policies=None, object_rings=None):
        self.conf = ProxyServerConf.from_conf(conf)
        self.logger = logger or get_logger(conf, self.conf.log_name)
        conf_dir = self.conf.conf_dir
        self.account_ring = account_ring or _load_ring(conf_dir, 'account')
        self.container_ring = container_ring or _load_ring(conf_dir,
                                                           'container')
        self.policies = policies or load_policies(conf_dir)
        self.object_rings = dict(object_rings or {})
        if object_ring is not None:
            self.object_rings[0] = object_ring
        for policy in self.policies:
            if policy.index not in self.object_rings:
                self.object_rings[policy.index] = _load_ring(
                    conf_dir, policy.ring_name)
        self.ec_schemes = ec_schemes(self.policies, self.object_rings)
        self.client = BackendClient(
            self.conf.conn_timeout, self.conf.node_timeout,
            max_idle_per_host=self.conf.max_idle_connections)
        self.limiter = ErrorLimiter(self.conf.error_suppression_interval,
                                    self.conf.error_suppression_limit,
                                    clock)
        self.backend = Backend(self.client, self.limiter, self.logger,
                               self.conf.post_quorum_timeout,
                               self.conf.object_chunk_size)
        if memcache is None and self.conf.memcache_servers:
            memcache = MemcacheRing(self.conf.memcache_servers)
        self.info_cache = InfoCache(memcache, clock,
                                    self.conf.info_cache_max_entries)
        self.cors = CorsConf(
            frozenset(self.conf.cors_allow_origin),
            frozenset(name.lower() for name in self.conf.cors_expose_headers),
            self.conf.strict_cors_mode)
        self.capabilities = base_capabilities(self.policies,
                                              self.conf.strict_cors_mode)
        self.capabilities['swift']['allow_account_management'] = \
            self.conf.allow_account_management
        self.capabilities['swift']['account_autocreate'] = \
            self.conf.account_autocreate

    # ---------------------------------------------------------- routing

    def __call__(self, environ, start_response):
        req = Request(environ)
        return self.handle_request(req)(environ, start_response)

    def handle_request(self, req):
        try:
            path = req.path_info
        except UnicodeDecodeError:
            return html_error(HTTPPreconditionFailed, INVALID_PATH)
        if path == '/info':
            return self.info(req)
        allow_reserved = allows_reserved(req.environ)
        bad_path = path_error(path, allow_reserved)
        if bad_path is not None:
            return bad_path
        if not is_public(path) and not is_claimed(req.environ):
            return unauthorized(path)
        try:
            controller = self.controller_for(path, allow_reserved)
        except NameTooLong as err:
            # Only creating a container or object is refused for it; other
            # verbs just cannot find it (an account is checked always).
            if req.method == 'PUT' or err.kind == 'account':
                return _invalid_input(err)
            return HTTPNotFound()
        except InvalidInput as err:
            return _invalid_input(err)
        allowed = controller.allowed_methods()
        if req.method not in allowed:
            return HTTPMethodNotAllowed(headers={'Allow': ', '.join(allowed)})
        try:
            if is_info_lookup(req.environ):
                return controller.info_lookup(req)
            return controller.dispatch(req)
        except InvalidInput as err:
            return _invalid_input(err)

    def controller_for(self, path, allow_reserved=False):
        """The controller of a ``/v1/...`` path; ValueError for others.
        ``allow_reserved``: a middleware's request for reserved names."""
        if api_version(path) is None:
            raise ValueError('not an API path')
        _version, account, container, obj = split_path(path, 2, 4, True)
        if obj is not None:
            return ECObjectController(self, account, container, obj,
                                      allow_reserved)
        if container is not None:
            return ContainerController(self, account, container,
                                       allow_reserved=allow_reserved)
        return AccountController(self, account)

    def info(self, req):
        allow = {'Allow': ', '.join(INFO_METHODS)}
        if req.method == 'OPTIONS':
            return Response(status=200, headers=allow)
        if req.method not in INFO_METHODS:
            return HTTPMethodNotAllowed(headers=allow)
        # Middlewares in front add their sections on the way in (see info.py)
        capabilities = dict(self.capabilities)
        capabilities.update(req.environ.get(CAPABILITIES_KEY, {}))
        return info_response(req.method, req.query_string,
                             capabilities)


def app_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    if 'conf_dir' not in conf and os.environ.get('OBJSTORE_CONF_DIR'):
        conf['conf_dir'] = os.environ['OBJSTORE_CONF_DIR']
    return Application(conf)
