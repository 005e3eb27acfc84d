"""Account and container info: what the proxy remembers between requests.

Owns the short-lived cache of account/container existence and metadata
(status, ACLs, counts, storage policy, user and system metadata), in
process and, when
a memcache client is given, in memcached too so that workers and proxies
share it. Only answers that say "exists" are cached: a negative answer is
asked again each time, so a container created through another worker is
usable at once. The proxy's own writes delete the entry they change.

The in-process layer is bounded both ways: an entry is never served after
its TTL, and at most ``max_entries`` are kept -- when full, expired entries
go first, then the least recently used -- so a client walking millions of
names cannot grow a worker without limit.

Pure data handling; the proxy fetches the info (HEAD) and hands it here.
"""

import collections
import json
import time

DEFAULT_MAX_ENTRIES = 10000

ACCOUNT_META_PREFIX = 'x-account-meta-'
CONTAINER_META_PREFIX = 'x-container-meta-'
ACCOUNT_SYSMETA_PREFIX = 'x-account-sysmeta-'
CONTAINER_SYSMETA_PREFIX = 'x-container-sysmeta-'


def cache_key(account, container=None):
    if container is None:
        return 'account/%s' % account
    return 'container/%s/%s' % (account, container)


def _strip_prefix(headers, prefix):
    """{name after prefix: value} of the headers that start with it.

    >>> _strip_prefix({'x-container-sysmeta-a': '1', 'etag': 'e'},
    ...               CONTAINER_SYSMETA_PREFIX)
    {'a': '1'}
    """
    return {k[len(prefix):]: v for k, v in headers.items()
            if k.startswith(prefix)}


def _int_header(headers, name):
    try:
        return int(headers.get(name, 0))
    except (TypeError, ValueError):
        return 0


def account_info_from(status, headers):
    """The cached form of an account HEAD answer."""
    return {
        'status': status,
        'container_count': _int_header(headers, 'x-account-container-count'),
        'object_count': _int_header(headers, 'x-account-object-count'),
        'bytes': _int_header(headers, 'x-account-bytes-used'),
        'meta': _strip_prefix(headers, ACCOUNT_META_PREFIX),
        'sysmeta': _strip_prefix(headers, ACCOUNT_SYSMETA_PREFIX),
    }


def container_info_from(status, headers):
    """The cached form of a container HEAD answer.

    >>> container_info_from(204, {'x-container-read': '.r:*'})['read_acl']
    '.r:*'
    """
    return {
        'status': status,
        'read_acl': headers.get('x-container-read'),
        'write_acl': headers.get('x-container-write'),
        'object_count': _int_header(headers, 'x-container-object-count'),
        'bytes': _int_header(headers, 'x-container-bytes-used'),
        'storage_policy': headers.get('x-backend-storage-policy-index', '0'),
        'meta': _strip_prefix(headers, CONTAINER_META_PREFIX),
        'sysmeta': _strip_prefix(headers, CONTAINER_SYSMETA_PREFIX),
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
