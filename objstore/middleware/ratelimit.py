"""ratelimit: Swift's request rate limits per account and per container.

Owns, for API requests (``/v1/...``):

- ``account_ratelimit``: container PUT/DELETE per second per account;
- ``container_ratelimit_<size>``: object PUT/DELETE/POST/COPY per second
  per container, by the container's object count (a rate between two
  sizes is interpolated; past the largest size, its rate);
- ``container_listing_ratelimit_<size>``: container GETs, likewise;
- the account's ``X-Account-Sysmeta-Global-Write-Ratelimit`` (a rate of
  all its writes, or ``WHITELIST``/``BLACKLIST``), and the
  ``account_whitelist``/``account_blacklist`` options: a blacklisted
  account gets ``497 Blacklisted``; a whitelisted one is never limited.

A request over its rate sleeps until its turn; one that would sleep
``max_sleep_time_seconds`` or more gets ``498 Rate Limited`` (``Slow
down``) instead, as in Swift.

The running clock of each key lives in memcached when ``memcache_servers``
is set (shared by every worker of every proxy using that memcached, so
the limit is cluster-wide). Without it, each worker process keeps its own
counters in memory: the limit then holds per worker, so a proxy with N
workers lets up to N times the rate through. Swift does not limit at all
without memcached; a per-worker limit is better than none.

Counters only: the decision of how long to sleep is ``sleep_needed``,
a pure function of the counter, the clock and the rate.
"""

import collections
import dataclasses
import threading
import time

from objstore.common import green
from objstore.common.config import ConfBase
from objstore.common.exceptions import ConfigError
from objstore.common.http import Response
from objstore.common.access import API_VERSIONS
from objstore.common.info import get_account_info, get_container_info
from objstore.common.log import get_logger
from objstore.common.memcache import MemcacheRing
from objstore.common.subrequest import add_capability, path_parts

CONTAINER_PREFIX = 'container_ratelimit_'
LISTING_PREFIX = 'container_listing_ratelimit_'
OBJECT_WRITES = ('PUT', 'DELETE', 'POST', 'COPY')
CONTAINER_WRITES = ('PUT', 'DELETE')
# Environ flag: a request (or a subrequest of it) already counted once.
HANDLED_KEY = 'swift.ratelimit.handled'
# The account sysmeta Swift's operators set to steer one account.
GLOBAL_RATE_SYSMETA = 'global-write-ratelimit'
# Swift holds a blacklisted client this long before answering, so that a
# retry loop cannot hammer the proxy.
BLACKLIST_SLEEP = 1.0
# Counters kept per worker without memcached (the least recently used go).
LOCAL_MAX_KEYS = 100000


@dataclasses.dataclass(frozen=True)
class RatelimitConf(ConfBase):
    account_ratelimit: float = 0.0
    max_sleep_time_seconds: float = 60.0
    log_sleep_time_seconds: float = 0.0
    clock_accuracy: int = 1000
    rate_buffer_seconds: int = 5
    account_whitelist: tuple[str, ...] = ()
    account_blacklist: tuple[str, ...] = ()
    memcache_servers: tuple[str, ...] = ()
    log_name: str = 'ratelimit'
    log_level: str = 'INFO'
    log_file: str = ''

    def validate(self):
        if self.account_ratelimit < 0:
            raise ConfigError('account_ratelimit must be >= 0')
        if self.max_sleep_time_seconds <= 0:
            raise ConfigError('max_sleep_time_seconds must be > 0')
        if self.clock_accuracy < 1:
            raise ConfigError('clock_accuracy must be >= 1')


def size_limits(conf, prefix):
    """Sorted [(container size, rate)] of the options named ``prefix`` +
    size; ConfigError naming a bad one.

    >>> size_limits({'container_ratelimit_100': '50',
    ...              'container_ratelimit_0': '100'}, CONTAINER_PREFIX)
    [(0, 100.0), (100, 50.0)]
    """
    limits = []
    for name, value in conf.items():
        if not name.startswith(prefix):
            continue
        try:
            limits.append((int(name[len(prefix):]), float(value)))
        except ValueError:
            raise ConfigError('%s: expected <size> = <rate>, got %r'
                              % (name, value))
    return sorted(limits)


def max_rate(limits, size):
    """Requests per second allowed to a container of ``size`` objects:
    the rate of the largest limit size not above it, interpolated towards
    the next one; None when unlimited (no limit applies, or an empty
    container, as Swift's).

    >>> limits = [(10, 100.0), (50, 20.0)]
    >>> [max_rate(limits, size) for size in (0, 5, 10, 30, 50, 1000)]
    [None, None, 100.0, 60.0, 20.0, 20.0]
    """
    if not size:
        return None
    below = [i for i, (limit_size, _) in enumerate(limits)
             if limit_size <= size]
    if not below:
        return None
    index = below[-1]
    low_size, low_rate = limits[index]
    if index + 1 == len(limits):
        return low_rate
    high_size, high_rate = limits[index + 1]
    slope = (high_rate - low_rate) / (high_size - low_size)
    return low_rate + (size - low_size) * slope


def sleep_needed(running, now, per_request, buffer):
    """How long (clock units) a request waits, and the counter value to
    restart from, if any: ``running`` is the key's counter just after this
    request added its ``per_request`` share (the time its turn ends);
    when it lags ``now`` by more than ``buffer`` the key was idle, so the
    counter restarts at ``now + per_request`` and nobody waits.

    >>> sleep_needed(running=1100, now=1000, per_request=50, buffer=5000)
    (50, None)
    >>> sleep_needed(running=50, now=100000, per_request=50, buffer=5000)
    (0, 100050)
    """
    if now - running > buffer:
        return 0, now + per_request
    return max(running - now - per_request, 0), None


class LocalCounters:
    """The counters of one worker, for a proxy without memcached (the
    memcached client's incr/decr/set, in memory)."""

    def __init__(self, max_keys=LOCAL_MAX_KEYS):
        self.max_keys = max_keys
        self._values = collections.OrderedDict()
        self._lock = threading.Lock()

    def incr(self, key, delta=1, ttl=0):
        with self._lock:
            value = self._values.pop(key, 0) + delta
            self._values[key] = value
            while len(self._values) > self.max_keys:
                self._values.popitem(last=False)
            return value

    def decr(self, key, delta=1):
        with self._lock:
            if key not in self._values:
                return None
            self._values[key] = max(self._values[key] - delta, 0)
            return self._values[key]

    def set(self, key, value, ttl=0):
        with self._lock:
            self._values.pop(key, None)
            self._values[key] = int(value)
            return True


class MaxSleepExceeded(Exception):
    """The request would wait max_sleep_time_seconds or more."""


def slow_down():
    return Response(status='498 Rate Limited', body=b'Slow down',
                    content_type='text/plain', charset=None)


def blacklisted():
    return Response(status='497 Blacklisted',
                    body=b'Your account has been blacklisted',
                    content_type='text/plain', charset=None)


class RateLimitMiddleware:
    def __init__(self, app, conf, logger=None, counters=None,
                 clock=time.time, sleep=green.sleep):
        self.app = app
        self.conf = RatelimitConf.from_conf(conf)
        self.logger = logger or get_logger(conf, self.conf.log_name)
        self.container_limits = size_limits(conf, CONTAINER_PREFIX)
        self.listing_limits = size_limits(conf, LISTING_PREFIX)
        if counters is None:
            counters = MemcacheRing(self.conf.memcache_servers) \
                if self.conf.memcache_servers else LocalCounters()
        self.counters = counters
        self.clock = clock
        self.sleep = sleep
        # Built once: the /info section never changes.
        self.info = self.capabilities()
        for option in ('account_whitelist', 'account_blacklist'):
            if getattr(self.conf, option):
                self.logger.warning(
                    'Option %s is deprecated: POST X-Account-Sysmeta-'
                    'Global-Write-Ratelimit to the account instead', option)

    def capabilities(self):
        return {'account_ratelimit': self.conf.account_ratelimit,
                'max_sleep_time_seconds': self.conf.max_sleep_time_seconds,
                'container_ratelimits': [list(limit) for limit in
                                         self.container_limits],
                'container_listing_ratelimits': [
                    list(limit) for limit in self.listing_limits]}

    def __call__(self, environ, start_response):
        add_capability(environ, 'ratelimit', **self.info)
        try:
            version, account, container, obj = path_parts(environ)
        except ValueError:
            # Not an API path: the proxy answers it as it does.
            return self.app(environ, start_response)
        if version not in API_VERSIONS or account is None or \
                environ.get(HANDLED_KEY):
            return self.app(environ, start_response)
        environ[HANDLED_KEY] = True
        refused = self.limit(environ, account, container, obj)
        if refused is not None:
            return refused(environ, start_response)
        return self.app(environ, start_response)

    def limit(self, environ, account, container, obj):
        """None once the request may go on (maybe after sleeping), else
        the 497/498 answer."""
        method = environ['REQUEST_METHOD']
        global_rate = get_account_info(environ, self.app, 'RL').get(
            'sysmeta', {}).get(GLOBAL_RATE_SYSMETA)
        if account in self.conf.account_whitelist or \
                global_rate == 'WHITELIST':
            return None
        if account in self.conf.account_blacklist or \
                global_rate == 'BLACKLIST':
            self.logger.error('Returning 497 because of blacklisting: %s',
                              account)
            self.sleep(BLACKLIST_SLEEP)
            return blacklisted()
        for key, rate in self.keys(environ, method, account, container, obj,
                                   global_rate):
            try:
                self.wait_turn(key, rate, (account, container, obj))
            except MaxSleepExceeded as err:
                self.logger.error(
                    'Returning 498 for %s to %s. Ratelimit (Max Sleep) %s',
                    method, '/'.join(n for n in (account, container, obj)
                                     if n), err)
                return slow_down()
        return None

    def keys(self, environ, method, account, container, obj, global_rate):
        """[(counter key, rate)] that this request counts against."""
        keys = []
        if self.conf.account_ratelimit and container and not obj and \
                method in CONTAINER_WRITES:
            keys.append(('ratelimit/%s' % account,
                         self.conf.account_ratelimit))
        if obj and method in OBJECT_WRITES:
            rate = max_rate(self.container_limits,
                            self._container_size(environ))
            if rate:
                keys.append(('ratelimit/%s/%s' % (account, container), rate))
        if container and not obj and method == 'GET':
            rate = max_rate(self.listing_limits,
                            self._container_size(environ))
            if rate:
                keys.append(('ratelimit_listing/%s/%s' % (account, container),
                             rate))
        if method in OBJECT_WRITES and global_rate:
            try:
                rate = float(global_rate)
            except ValueError:
                rate = 0
            if rate > 0:
                keys.append(('ratelimit/global-write/%s' % account, rate))
        return keys

    def _container_size(self, environ):
        if not self.container_limits and not self.listing_limits:
            return 0
        return get_container_info(environ, self.app, 'RL').get(
            'object_count') or 0

    def wait_turn(self, key, rate, names):
        """Sleep until this request's turn on ``key`` at ``rate`` per
        second; MaxSleepExceeded (and the turn given back) when too long.
        A counter that cannot be reached limits nothing."""
        accuracy = self.conf.clock_accuracy
        now = int(round(self.clock() * accuracy))
        per_request = int(round(accuracy / rate))
        running = self.counters.incr(key, per_request)
        if running is None:
            return
        wait, restart = sleep_needed(
            running, now, per_request,
            self.conf.rate_buffer_seconds * accuracy)
        if restart is not None:
            self.counters.set(key, str(restart))
        max_wait = self.conf.max_sleep_time_seconds * accuracy
        if max_wait - wait <= accuracy * 0.01:
            self.counters.decr(key, per_request)
            raise MaxSleepExceeded('Max Sleep Time Exceeded: %.2f'
                                   % (wait / accuracy))
        seconds = wait / accuracy
        if self.conf.log_sleep_time_seconds and \
                seconds > self.conf.log_sleep_time_seconds:
            self.logger.warning('Ratelimit sleep log: %s for %s', seconds,
                                '/'.join(n for n in names if n))
        if seconds > 0:
            self.sleep(seconds)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    # Bad options stop the proxy at start-up, not its first request.
    RatelimitConf.from_conf(conf)
    size_limits(conf, CONTAINER_PREFIX)
    size_limits(conf, LISTING_PREFIX)

    def ratelimit_filter(app):
        return RateLimitMiddleware(app, conf)
    return ratelimit_filter
