"""ratelimit: the rate maths, the middleware over a tiny storage app (its
account/container HEADs answer the info lookups), counters in memory and
in a real memcached, and the sample config."""

import os

import pytest

from objstore.common.exceptions import ConfigError
from objstore.common.http import Request
from objstore.common.memcache import MemcacheRing
from objstore.middleware.ratelimit import (
    CONTAINER_PREFIX, LocalCounters, RateLimitMiddleware, RatelimitConf,
    filter_factory, max_rate, size_limits, sleep_needed)
from tests.helpers import (
    SAMPLE_DIR, assert_sample_matches, running_memcached)

SAMPLE = os.path.join(SAMPLE_DIR, 'proxy-server.conf-sample')
LIMIT_OPTIONS = tuple('%s%d' % (prefix, size) for size in (0, 10, 50)
                      for prefix in (CONTAINER_PREFIX,
                                     'container_listing_ratelimit_'))


class Storage:
    """The rest of the pipeline: HEADs of the account and container answer
    with the facts the test sets; other requests succeed."""

    def __init__(self, object_count=5, global_rate=None):
        self.object_count = object_count
        self.global_rate = global_rate
        self.passed = []

    def __call__(self, environ, start_response):
        path = environ['PATH_INFO']
        headers = [('Content-Length', '0')]
        if environ['REQUEST_METHOD'] == 'HEAD' and path.count('/') == 2:
            if self.global_rate:
                headers.append(('X-Account-Sysmeta-Global-Write-Ratelimit',
                                self.global_rate))
        elif environ['REQUEST_METHOD'] == 'HEAD' and path.count('/') == 3:
            headers.append(('X-Container-Object-Count',
                            str(self.object_count)))
        else:
            self.passed.append((environ['REQUEST_METHOD'], path))
        start_response('204 No Content', headers)
        return [b'']


class StillClock:
    """Time stands still unless the test moves it; sleeps are recorded."""

    def __init__(self, now=1000.0):
        self.now = now
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(round(seconds, 3))


def middleware(storage, clock, counters=None, **conf):
    return RateLimitMiddleware(storage, conf, counters=counters or
                               LocalCounters(), clock=clock,
                               sleep=clock.sleep)


def send(app, method, path):
    return Request.blank(path, method=method).get_response(app)


def test_rate_maths():
    assert size_limits({'container_ratelimit_5': '2',
                        'other': 'x'}, CONTAINER_PREFIX) == [(5, 2.0)]
    with pytest.raises(ConfigError):
        size_limits({'container_ratelimit_big': '2'}, CONTAINER_PREFIX)
    assert max_rate([], 100) is None
    assert max_rate([(0, 10.0), (100, 20.0)], 50) == 15.0
    assert sleep_needed(2000, 1000, 500, 5000) == (500, None)


def test_account_rate_sleeps_then_refuses():
    clock = StillClock()
    storage = Storage()
    app = middleware(storage, clock, account_ratelimit='2',
                     max_sleep_time_seconds='1')
    statuses = [send(app, 'PUT', '/v1/AUTH_a/c%d' % i).status_int
                for i in range(3)]
    assert statuses == [204, 204, 498]
    assert clock.slept == [0.5]
    refused = send(app, 'DELETE', '/v1/AUTH_a/c')
    assert (refused.status, refused.body) == ('498 Rate Limited',
                                               b'Slow down')
    # Another account and object writes are not under this limit.
    assert send(app, 'PUT', '/v1/AUTH_b/c').status_int == 204
    assert send(app, 'PUT', '/v1/AUTH_a/c/o').status_int == 204
    # Time passing gives the turns back.
    clock.now += 10
    assert send(app, 'PUT', '/v1/AUTH_a/c').status_int == 204


def test_container_rate_by_object_count():
    clock = StillClock()
    storage = Storage(object_count=30)
    app = middleware(storage, clock, container_ratelimit_10='100',
                     container_ratelimit_50='20', max_sleep_time_seconds='1')
    # 30 objects: 60 writes a second, one every ~17 ms.
    for _ in range(3):
        assert send(app, 'POST', '/v1/AUTH_a/c/o').status_int == 204
    assert clock.slept == [0.017, 0.034]
    # Reads and an emptier container's writes are not limited.
    storage.object_count = 5
    assert send(app, 'GET', '/v1/AUTH_a/c/o').status_int == 204
    assert send(app, 'PUT', '/v1/AUTH_a/d/o').status_int == 204
    assert clock.slept == [0.017, 0.034]


def test_listing_rate():
    clock = StillClock()
    app = middleware(Storage(object_count=1), clock,
                     container_listing_ratelimit_0='1',
                     max_sleep_time_seconds='0.5')
    assert [send(app, 'GET', '/v1/AUTH_a/c').status_int
            for _ in range(2)] == [204, 498]


def test_black_and_white_lists():
    clock = StillClock()
    storage = Storage()
    app = middleware(storage, clock, account_blacklist='AUTH_bad',
                     account_whitelist='AUTH_good', account_ratelimit='1',
                     max_sleep_time_seconds='0.5')
    refused = send(app, 'GET', '/v1/AUTH_bad/c/o')
    assert (refused.status, refused.body) == (
        '497 Blacklisted', b'Your account has been blacklisted')
    assert clock.slept == [1.0]
    assert [send(app, 'PUT', '/v1/AUTH_good/c').status_int
            for _ in range(3)] == [204] * 3
    storage.global_rate = 'BLACKLIST'
    assert send(app, 'GET', '/v1/AUTH_x/c').status_int == 497


def test_account_global_write_rate_from_sysmeta():
    clock = StillClock()
    app = middleware(Storage(global_rate='1'), clock,
                     max_sleep_time_seconds='0.5')
    assert [send(app, 'PUT', '/v1/AUTH_a/c/o%d' % i).status_int
            for i in range(2)] == [204, 498]
    assert send(app, 'GET', '/v1/AUTH_a/c/o').status_int == 204


def test_non_api_paths_and_info_pass(tmp_path):
    clock = StillClock()
    storage = Storage()
    app = middleware(storage, clock, account_ratelimit='1',
                     max_sleep_time_seconds='0.5')
    for _ in range(3):
        assert send(app, 'PUT', '/auth/v1.0').status_int == 204
    environ = Request.blank('/info').environ
    app(environ, lambda *a: None)
    assert environ['objstore.capabilities']['ratelimit'][
        'account_ratelimit'] == 1.0


def test_config_errors_stop_the_filter():
    with pytest.raises(ConfigError):
        filter_factory({}, max_sleep_time_seconds='0')
    with pytest.raises(ConfigError):
        filter_factory({}, container_ratelimit_x='1')


def test_sample_matches_dataclass():
    assert_sample_matches(RatelimitConf, SAMPLE, 'filter:ratelimit',
                          ignore=('use',) + LIMIT_OPTIONS)


@pytest.fixture
def memcached():
    with running_memcached() as server:
        yield server


def test_memcache_counters(memcached):
    ring = MemcacheRing([memcached])
    assert ring.decr('n', 1) is None
    assert ring.incr('n', 5) == 5
    assert ring.incr('n', 2) == 7
    assert ring.decr('n', 3) == 4
    assert ring.set('n', '100')
    assert ring.incr('n', 1) == 101


def test_two_proxies_share_a_memcached_limit(memcached):
    """Two middlewares (two workers or proxies) count against one limit."""
    clock = StillClock()
    first, second = (RateLimitMiddleware(
        Storage(), {'account_ratelimit': '2', 'max_sleep_time_seconds': '1',
                    'memcache_servers': memcached},
        clock=clock, sleep=clock.sleep) for _ in range(2))
    assert send(first, 'PUT', '/v1/AUTH_m/c').status_int == 204
    assert send(second, 'PUT', '/v1/AUTH_m/c').status_int == 204
    assert send(first, 'PUT', '/v1/AUTH_m/c').status_int == 498
    assert clock.slept == [0.5]


def test_capabilities_are_built_once_not_per_request(monkeypatch):
    """A request that is not /info costs no capability dict (the section
    is built when the filter is)."""
    app = middleware(Storage(), StillClock())
    monkeypatch.setattr(app, 'capabilities', lambda: pytest.fail(
        'capabilities built per request'))
    assert send(app, 'GET', '/v1/AUTH_a/c/o').status_int == 204
    info = Request.blank('/info')
    info.get_response(app)
    assert info.environ['objstore.capabilities']['ratelimit'][
        'max_sleep_time_seconds'] == app.conf.max_sleep_time_seconds
