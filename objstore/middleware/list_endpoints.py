"""list_endpoints: where an account, container or object lives, as
Swift's list_endpoints answers it (for data-locality-aware clients and
operators).

``GET /endpoints/[v1|v2/]<account>[/<container>[/<object>]]`` answers the
storage URLs of the primary nodes from the rings: v1 (the default) a JSON
list, v2 ``{"endpoints": [...], "headers": {...}}`` whose headers name the
object's storage policy index. Policy-aware: an object is placed by the
ring of its container's policy (looked up through common.info). Owns the
path parsing and the two formats; no backend request of its own besides
that lookup. Exposes cluster topology: like Swift's, meant for trusted
networks.
"""

import dataclasses
import json
from urllib.parse import quote, unquote

from objstore.common.config import ConfBase
from objstore.common.hashing import load_hash_conf
from objstore.common.http import (
    HTTPBadRequest, HTTPMethodNotAllowed, Response, html_error, split_path)
from objstore.common.info import get_container_info
from objstore.common.storage_policy import load_policies
from objstore.common.subrequest import add_capability
from objstore.ring.ring import Ring

RESPONSE_VERSIONS = (1.0, 2.0)
DEFAULT_VERSION = 1.0


@dataclasses.dataclass(frozen=True)
class ListEndpointsConf(ConfBase):
    conf_dir: str = '/etc/objstore'
    list_endpoints_path: str = '/endpoints/'


def parse_version(raw):
    """The response version a ``v1``/``v2`` (or ``1.0``...) segment asks
    for; ValueError naming it when unsupported.

    >>> parse_version('v2'), parse_version('1')
    (2.0, 1.0)
    """
    try:
        version = float(raw.lstrip('v'))
    except ValueError:
        raise ValueError('Unsupported version %r' % raw)
    if version not in RESPONSE_VERSIONS:
        raise ValueError('Unsupported version %r' % raw)
    return version


def parse_endpoints_path(path):
    """(version, account, container, obj) of the part of the path after
    the endpoints prefix (starting with ``/``), names still quoted; the
    version segment is optional (an account name with ``_`` is never
    one). ValueError with Swift's reason when bad.

    >>> parse_endpoints_path('/v2/AUTH_a/c/o/x')
    (2.0, 'AUTH_a', 'c', 'o/x')
    >>> parse_endpoints_path('/AUTH_a')
    (1.0, 'AUTH_a', None, None)
    """
    try:
        raw_version, rest = split_path(path, 1, 2, True)
    except ValueError:
        raise ValueError('No account specified')
    try:
        version = parse_version(raw_version)
    except ValueError:
        if raw_version.startswith('v') and '_' not in raw_version:
            raise
        version, rest = DEFAULT_VERSION, path
    else:
        rest = '/' + rest if rest else '/'
    try:
        account, container, obj = split_path(rest, 1, 3, True)
    except ValueError:
        raise ValueError('No account specified')
    return version, account, container, obj


def endpoint_urls(nodes, partition, names):
    """The storage URL of ``names`` on each node.

    >>> endpoint_urls([{'ip': '10.0.0.1', 'port': 6200, 'device': 'sdb'}],
    ...               7, ('AUTH_a', 'c', 'o x'))
    ['http://10.0.0.1:6200/sdb/7/AUTH_a/c/o%20x']
    """
    tail = '/'.join(quote(name) for name in names)
    return ['http://%s:%s/%s/%s/%s' % (node['ip'], node['port'],
                                       node['device'], partition, tail)
            for node in nodes]


def endpoints_body(version, urls, policy_index):
    """The JSON document of a ``version`` answer."""
    if version == 1.0:
        return json.dumps(urls)
    headers = {}
    if policy_index is not None:
        headers['X-Backend-Storage-Policy-Index'] = str(policy_index)
    return json.dumps({'endpoints': urls, 'headers': headers})


class ListEndpointsMiddleware:
    def __init__(self, app, conf, account_ring=None, container_ring=None,
                 object_rings=None):
        self.app = app
        self.conf = ListEndpointsConf.from_conf(conf)
        self.prefix = self.conf.list_endpoints_path.rstrip('/') + '/'
        conf_dir = self.conf.conf_dir
        self.account_ring = account_ring or self._ring('account')
        self.container_ring = container_ring or self._ring('container')
        if object_rings is None:
            object_rings = {policy.index: self._ring(policy.ring_name)
                            for policy in load_policies(conf_dir)}
        self.object_rings = object_rings

    def _ring(self, name):
        conf_dir = self.conf.conf_dir
        return Ring(conf_dir, name, hash_conf=load_hash_conf(conf_dir))

    def __call__(self, environ, start_response):
        add_capability(environ, 'list_endpoints',
                       list_endpoints_path=self.prefix)
        # Quoted, as Swift's: each name is unquoted once, after the split
        # (from the path's bytes: they need not be UTF-8).
        path = quote(environ.get('PATH_INFO', '').encode('latin-1'))
        if not path.startswith(self.prefix):
            return self.app(environ, start_response)
        if environ['REQUEST_METHOD'] != 'GET':
            return HTTPMethodNotAllowed(headers={'Allow': 'GET'})(
                environ, start_response)
        try:
            version, account, container, obj = parse_endpoints_path(
                path[len(self.prefix) - 1:])
        except ValueError as err:
            return html_error(HTTPBadRequest, str(err))(environ,
                                                         start_response)
        names = tuple(unquote(name) for name in (account, container, obj)
                      if name is not None)
        ring, policy_index = self._ring_for(environ, names)
        partition, nodes = ring.get_nodes(*names)
        body = endpoints_body(version, endpoint_urls(nodes, partition, names),
                              policy_index)
        return Response(status=200, body=body.encode('utf-8'),
                        content_type='application/json', charset=None)(
            environ, start_response)

    def _ring_for(self, environ, names):
        """(ring, policy index or None) placing ``names``."""
        if len(names) == 1:
            return self.account_ring, None
        if len(names) == 2:
            return self.container_ring, None
        lookup = dict(environ, PATH_INFO=wsgi_path('/v1/%s/%s' % names[:2]))
        index = int(get_container_info(lookup, self.app, 'LE').get(
            'storage_policy') or 0)
        ring = self.object_rings.get(index) or self.object_rings[0]
        return ring, index


def wsgi_path(path):
    """A path as WSGI carries it (a str of its UTF-8 bytes)."""
    return path.encode('utf-8').decode('latin-1')


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    ListEndpointsConf.from_conf(conf)

    def list_endpoints_filter(app):
        return ListEndpointsMiddleware(app, conf)
    return list_endpoints_filter
