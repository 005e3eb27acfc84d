"""Account and container info for any middleware, and for the proxy itself.

Owns the lookup Swift's middlewares know as ``get_account_info(env, app)``
and ``get_container_info(env, app)``: the info dict (common.infocache:
status, counts, ACLs, meta, sysmeta, storage policy, CORS...) of the
account or container a request addresses, from the first layer that has it:

1. ``environ['swift.infocache']`` (``INFOCACHE_KEY``): this request's own
   dict, cache key -> info. Subrequests share it by reference
   (common.subrequest), so what one of them learnt or changed is seen by
   every middleware of the request.
2. ``environ['objstore.cache']`` (``SHARED_CACHE_KEY``): a shared
   ``InfoCache`` (memcached, or the worker's bounded memory) that a cache
   middleware installs in front of the pipeline.
3. A HEAD subrequest down the rest of the pipeline, pre-authorized (an
   info lookup must not be stopped by the client's ACLs) and marked with
   ``INFO_LOOKUP_KEY``. The proxy answers it from its own shared cache, or
   from the storage nodes, and leaves the info in the request's infocache;
   its answer only feeds this lookup and never reaches the client.

Writes: whoever changes an account or container (the proxy's controllers)
calls ``forget`` so that no layer serves the old info afterwards. Only
answers that say "exists" are remembered (as in the proxy: a container
created through another worker is usable at once).

Must not import the proxy: middlewares depend on this module, and the
proxy's controllers use the same keys and layers through it.
"""

from objstore.common.http import is_success
from objstore.common.infocache import (
    INFOCACHE_KEY, SHARED_CACHE_KEY, account_info_from, cache_key,
    container_info_from)
from objstore.common.subrequest import (
    make_preauthed_subrequest, path_parts)

INFO_LOOKUP_KEY = 'objstore.info_lookup'


def _shared_caches(environ, shared):
    """The shared caches to consult: the caller's and the environ's."""
    caches = [shared] if shared is not None else []
    installed = environ.get(SHARED_CACHE_KEY)
    if installed is not None and installed is not shared:
        caches.append(installed)
    return caches


def lookup(environ, key, shared=None):
    """The info cached under ``key``, or None.

    Looks in the request's infocache, then in ``shared`` (the proxy passes
    its own cache) and the environ's shared cache; a shared hit is copied
    into the request's infocache so that the request keeps one view.
    """
    infocache = environ.setdefault(INFOCACHE_KEY, {})
    info = infocache.get(key)
    if info is not None:
        return info
    for cache in _shared_caches(environ, shared):
        info = cache.get(key)
        if info is not None:
            infocache[key] = info
            return info
    return None


def remember(environ, key, info, shared=None, ttl=0):
    """Cache an info that says "exists": in the request, and in ``shared``
    for ``ttl`` seconds when given."""
    if not is_success(info['status']):
        return
    environ.setdefault(INFOCACHE_KEY, {})[key] = info
    if shared is not None:
        shared.set(key, info, ttl)


def forget(environ, key, shared=None):
    """Drop ``key`` from every layer: after a write it is stale."""
    environ.get(INFOCACHE_KEY, {}).pop(key, None)
    for cache in _shared_caches(environ, shared):
        cache.delete(key)


def is_info_lookup(environ):
    """Whether a request is the HEAD subrequest of an info lookup."""
    return bool(environ.get(INFO_LOOKUP_KEY)) and \
        environ.get('REQUEST_METHOD') == 'HEAD'


def _path_names(environ, minimum):
    """(version, account, container) of the request's ``/v1/...`` path;
    ValueError when the path addresses no such level."""
    # Every middleware that reads info comes here on every request: the
    # path's split is the one the pipeline shares (subrequest.path_parts).
    version, account, container, _obj = path_parts(environ, minimum)
    return version, account, container


def get_account_info(environ, app, swift_source=None):
    """The info of the account the request addresses (see module doc).

    ``app`` is the rest of the pipeline after the calling middleware;
    ``swift_source`` names the caller in the proxy's access log.
    """
    version, account, _container = _path_names(environ, 2)
    return _get_info(environ, app, version, (account,), account_info_from,
                     swift_source)


def get_container_info(environ, app, swift_source=None):
    """The info of the container the request addresses (see module doc)."""
    version, account, container = _path_names(environ, 3)
    return _get_info(environ, app, version, (account, container),
                     container_info_from, swift_source)


def _get_info(environ, app, version, names, info_from, swift_source):
    key = cache_key(*names)
    info = lookup(environ, key)
    if info is not None:
        return info
    subrequest = make_preauthed_subrequest(
        environ, 'HEAD', '/%s/%s' % (version, '/'.join(names)),
        source=swift_source or 'info')
    subrequest.environ[INFO_LOOKUP_KEY] = True
    resp = subrequest.get_response(app)
    # The proxy left the info in the infocache this request shares with
    # its subrequest; another app may only have answered with headers.
    info = environ[INFOCACHE_KEY].get(key)
    if info is None:
        info = info_from(resp.status_int, resp.headers)
        remember(environ, key, info)
    return info
