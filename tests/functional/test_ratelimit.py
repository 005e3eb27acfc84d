"""ratelimit in the aio's real proxy pipeline: two proxies (the aio's
proxy-server.conf loaded with PasteDeploy twice, its [filter:ratelimit]
given limits and a real memcached) in front of the aio's storage servers.
Their container writes count against one account limit; a request that
would sleep too long gets Swift's 498; /info lists the limits."""

import json
import uuid
from urllib.parse import urlparse

import pytest

from tests.helpers import ReconfiguredProxy, running_memcached


@pytest.fixture(scope='module')
def proxies(cluster, tmp_path_factory):
    with running_memcached() as memcached:
        # One container write every 2 s per account; a request that would
        # wait a second or more is refused.
        options = {'account_ratelimit': '0.5', 'max_sleep_time_seconds': '1',
                   'container_ratelimit_100': '7',
                   'memcache_servers': memcached}
        pair = [ReconfiguredProxy(cluster,
                                  str(tmp_path_factory.mktemp('rl%d' % i)),
                                  {'filter:ratelimit': options})
                for i in range(2)]
        yield pair
        for proxy in pair:
            proxy.close()


def test_two_proxies_share_the_account_limit(cluster, proxies):
    url, token = cluster.get_token('test:tester')
    base = urlparse(url).path
    auth = {'X-Auth-Token': token}
    name = base + '/rl-%s' % uuid.uuid4().hex
    first, second = proxies
    assert first.request('PUT', name, auth)[0] == 201
    assert second.request('PUT', name + '-2', auth)[::2] == (498,
                                                             b'Slow down')
    assert first.request('DELETE', name, auth)[::2] == (498, b'Slow down')
    # Reads and object writes are under no account limit.
    assert second.request('GET', name, auth)[0] == 204
    assert second.request('PUT', name + '/o', auth, b'')[0] == 201


def test_info_lists_the_limits(proxies):
    status, _, body = proxies[0].request('GET', '/info')
    assert status == 200
    assert json.loads(body)['ratelimit'] == {
        'account_ratelimit': 0.5, 'max_sleep_time_seconds': 1.0,
        'container_ratelimits': [[100, 7.0]],
        'container_listing_ratelimits': []}
