"""The proxy's in-process info cache is bounded: by TTL and by size."""

from objstore.common.infocache import InfoCache
from tests.unit.proxy.conftest import Scripted
from tests.unit.proxy.test_scripted import call


def test_never_holds_more_than_max_entries_least_recent_go_first():
    cache = InfoCache(clock=lambda: 0.0, max_entries=3)
    for name in 'abc':
        cache.set(name, {'status': 204, 'name': name}, 60)
    assert cache.get('a')['name'] == 'a'     # a is now the most recent
    cache.set('d', {'status': 204}, 60)
    assert len(cache) == 3
    assert cache.get('b') is None
    assert [cache.get(k) is not None for k in 'acd'] == [True] * 3
    for number in range(1000):
        cache.set('n%d' % number, {'status': 204}, 60)
    assert len(cache) == 3


def test_expired_entries_go_before_live_ones():
    now = [0.0]
    cache = InfoCache(clock=lambda: now[0], max_entries=3)
    cache.set('old-but-live', {'status': 204}, 100)
    cache.set('short', {'status': 204}, 1)
    cache.set('c', {'status': 204}, 100)
    now[0] = 2.0
    cache.set('d', {'status': 204}, 100)
    assert len(cache) == 3
    assert cache.get('old-but-live') == {'status': 204}
    assert cache.get('short') is None


def test_an_expired_entry_read_is_dropped():
    now = [0.0]
    cache = InfoCache(clock=lambda: now[0])
    cache.set('k', {'status': 204}, 5)
    now[0] = 5.0
    assert cache.get('k') is None
    assert len(cache) == 0


def test_proxy_walking_many_containers_stays_bounded(tmp_path):
    harness = Scripted(tmp_path, info_cache_max_entries='4',
                       recheck_account_existence='60',
                       recheck_container_existence='60')
    try:
        for number in range(12):
            container = '/v1/AUTH_a/c%d' % number
            assert call(harness, 'PUT', container).status_int in (201, 202)
            assert call(harness, 'HEAD', container + '/o').status_int == 404
        assert len(harness.app.info_cache) == 4
    finally:
        harness.close()
