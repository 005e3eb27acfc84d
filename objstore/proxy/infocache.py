"""Account and container info: what the proxy remembers between requests.

Owns the short-lived cache of account/container existence and metadata
(status, ACLs, counts, storage policy, user metadata), in process and, when
a memcache client is given, in memcached too so that workers and proxies
share it. Only answers that say "exists" are cached: a negative answer is
asked again each time, so a container created through another worker is
usable at once. The proxy's own writes delete the entry they change.

Pure data handling; the proxy fetches the info (HEAD) and hands it here.
"""

import json
import time

ACCOUNT_META_PREFIX = 'x-account-meta-'
CONTAINER_META_PREFIX = 'x-container-meta-'


def cache_key(account, container=None):
    if container is None:
        return 'account/%s' % account
    return 'container/%s/%s' % (account, container)


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
        'meta': {k[len(ACCOUNT_META_PREFIX):]: v for k, v in headers.items()
                 if k.startswith(ACCOUNT_META_PREFIX)},
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
        'meta': {k[len(CONTAINER_META_PREFIX):]: v
                 for k, v in headers.items()
                 if k.startswith(CONTAINER_META_PREFIX)},
    }


class InfoCache:
    """key -> (info, expiry), in process; only memcached when one is given.

    With memcached every worker sees another's invalidation, so the local
    layer is not used then.
    """

    def __init__(self, memcache=None, clock=time.time):
        self._local = {}
        self.memcache = memcache
        self.clock = clock

    def get(self, key):
        if self.memcache is not None:
            return self._get_shared(key)
        entry = self._local.get(key)
        if entry is None:
            return None
        if entry[1] > self.clock():
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
        else:
            self._local[key] = (info, self.clock() + ttl)

    def delete(self, key):
        self._local.pop(key, None)
        if self.memcache is not None:
            self.memcache.delete(key)
