"""Account and container info: the cached form, and the shared cache.

Owns the short-lived cache of account/container existence and metadata
(status, ACLs, counts, storage policy, user and system metadata, CORS), in
process and, when a memcache client is given, in memcached too so that
workers and proxies share it. Only answers that say "exists" are cached: a
negative answer is asked again each time, so a container created through
another worker is usable at once. The proxy's own writes delete the entry
they change.

The in-process layer is bounded both ways: an entry is never served after
its TTL, and at most ``max_entries`` are kept -- when full, expired entries
go first, then the least recently used -- so a client walking millions of
names cannot grow a worker without limit.

Pure data handling: the proxy fetches the info (HEAD) and hands it here;
common.info is the lookup that middlewares and the proxy share.
"""

import collections
import json
import time

DEFAULT_MAX_ENTRIES = 10000
# Environ keys: this request's own info dict (cache key -> info), shared
# by reference with its subrequests; and the shared InfoCache a cache
# middleware installs (see common.info).
INFOCACHE_KEY = 'swift.infocache'
SHARED_CACHE_KEY = 'objstore.cache'


def cache_key(account, container=None):
    """The key of an info in every cache layer (stable across processes).

    >>> cache_key('AUTH_a'), cache_key('AUTH_a', 'c')
    ('account/AUTH_a', 'container/AUTH_a/c')
    """
    if container is None:
        return 'account/%s' % account
    return 'container/%s/%s' % (account, container)


def _int_header(headers, name):
    try:
        return int(headers.get(name, 0))
    except (TypeError, ValueError):
        return 0


def _prefixed(headers, prefix):
    """{lower-case suffix: value} of the headers named ``prefix``...

    >>> _prefixed({'X-Container-Meta-Color': 'red'}, 'x-container-meta-')
    {'color': 'red'}
    """
    return {name[len(prefix):].lower(): value
            for name, value in headers.items()
            if name.lower().startswith(prefix)}


# X-Account-Storage-Policy-<name>-<stat>: the stat's key in the info.
POLICY_STATS = {'-container-count': 'container_count',
                '-object-count': 'object_count', '-bytes-used': 'bytes'}


def policy_stats(lower):
    """{policy name (lower case): {stat: int}} of an account answer's
    ``X-Account-Storage-Policy-<Name>-*`` headers.

    >>> policy_stats({'x-account-storage-policy-gold-bytes-used': '7'})
    {'gold': {'bytes': 7}}
    """
    found = {}
    for name, value in _prefixed(lower, 'x-account-storage-policy-').items():
        for suffix, key in POLICY_STATS.items():
            if name.endswith(suffix) and value.isdigit():
                found.setdefault(name[:-len(suffix)], {})[key] = int(value)
    return found


def account_info_from(status, headers):
    """The cached form of an account HEAD answer (Swift's field names;
    ``storage_policies`` is keyed by policy name, lower case)."""
    lower = {name.lower(): value for name, value in headers.items()}
    return {
        'status': status,
        'container_count': _int_header(lower, 'x-account-container-count'),
        'total_object_count': _int_header(lower, 'x-account-object-count'),
        'bytes': _int_header(lower, 'x-account-bytes-used'),
        'meta': _prefixed(lower, 'x-account-meta-'),
        'sysmeta': _prefixed(lower, 'x-account-sysmeta-'),
        'storage_policies': policy_stats(lower),
    }


def container_info_from(status, headers):
    """The cached form of a container HEAD answer (Swift's field names).

    >>> info = container_info_from(204, {'X-Container-Read': '.r:*',
    ...     'X-Container-Meta-Access-Control-Max-Age': '60'})
    >>> info['read_acl'], info['cors']['max_age']
    ('.r:*', '60')
    """
    lower = {name.lower(): value for name, value in headers.items()}
    meta = _prefixed(lower, 'x-container-meta-')
    return {
        'status': status,
        'read_acl': lower.get('x-container-read'),
        'write_acl': lower.get('x-container-write'),
        'sync_to': lower.get('x-container-sync-to'),
        'sync_key': lower.get('x-container-sync-key'),
        'object_count': _int_header(lower, 'x-container-object-count'),
        'bytes': _int_header(lower, 'x-container-bytes-used'),
        'versions': lower.get('x-versions-location'),
        'storage_policy': lower.get('x-backend-storage-policy-index', '0'),
        'cors': {
            'allow_origin': meta.get('access-control-allow-origin'),
            'expose_headers': meta.get('access-control-expose-headers'),
            'max_age': meta.get('access-control-max-age'),
        },
        'meta': meta,
        'sysmeta': _prefixed(lower, 'x-container-sysmeta-'),
    }


class InfoCache:
    """key -> (info, expiry), in process; only memcached when one is given.

    With memcached every worker sees another's invalidation, so the local
    layer is not used then.
    """

    def __init__(self, memcache=None, clock=time.time,
                 max_entries=DEFAULT_MAX_ENTRIES):
        if max_entries < 1:
            raise ValueError('max_entries must be >= 1')
        self._local = collections.OrderedDict()     # least recent first
        self.memcache = memcache
        self.clock = clock
        self.max_entries = max_entries

    def __len__(self):
        return len(self._local)

    def get(self, key):
        if self.memcache is not None:
            return self._get_shared(key)
        entry = self._local.get(key)
        if entry is None:
            return None
        if entry[1] > self.clock():
            self._local.move_to_end(key)
            return entry[0]
        del self._local[key]
        return None

    def _get_shared(self, key):
        raw = self.memcache.get(key)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def set(self, key, info, ttl):
        if ttl <= 0:
            return
        if self.memcache is not None:
            self.memcache.set(key, json.dumps(info), ttl)
            return
        now = self.clock()
        self._local[key] = (info, now + ttl)
        self._local.move_to_end(key)
        if len(self._local) > self.max_entries:
            self._evict(now)

    def _evict(self, now):
        """Drop the expired entries, then the least recently used ones,
        until the cache is back to ``max_entries``. The full scan runs only
        when the cache is over its bound."""
        for key in [k for k, (_, expiry) in self._local.items()
                    if expiry <= now]:
            del self._local[key]
        while len(self._local) > self.max_entries:
            self._local.popitem(last=False)

    def delete(self, key):
        self._local.pop(key, None)
        if self.memcache is not None:
            self.memcache.delete(key)
