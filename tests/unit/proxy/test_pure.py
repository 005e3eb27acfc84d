"""Pure proxy logic: quorum reduction, error limiting, resume ranges,
X-Delete-At, content types, info cache."""

import pytest

from objstore.common.exceptions import InvalidInput
from objstore.proxy import quorum
from objstore.proxy.errorlimit import ErrorLimiter
from objstore.proxy.getter import failure_status, resume_range
from objstore.common.infocache import InfoCache, container_info_from
from objstore.common.http import Request, request_headers
from objstore.proxy.base import (
    forwarded_headers, update_headers)
from objstore.proxy.obj import delete_at_header, guess_content_type
from objstore.ring.ring import quorum_size


@pytest.mark.parametrize('replicas,size', [(1, 1), (2, 2), (3, 2), (4, 3),
                                           (5, 3)])
def test_quorum_size(replicas, size):
    assert quorum_size(replicas) == size


@pytest.mark.parametrize('statuses,expected', [
    ([201, 201, 201], 201),
    ([201, 201, 503], 201),
    ([201, 503, 503], 503),
    ([201, 404, 503], None),
    ([404, 404, 201], 404),
    ([409, 409, 201], 409),
    ([202, 201, 201], 201),
    ([507, 503, 503], 503),
    ([], None),
])
def test_best_status(statuses, expected):
    assert quorum.best_status(statuses, 2) == expected


@pytest.mark.parametrize('outcome,expected', [
    (201, 201), (304, 304), (404, 404), (409, 409), (500, 503), (507, 503),
    (503, 503), (quorum.NODE_FAILED, 503), (quorum.NO_NODE_LEFT, 503),
    (quorum.NO_QUORUM, 503),
])
def test_client_status_of_backend_outcomes(outcome, expected):
    assert quorum.client_status(outcome) == expected


def test_best_response_index_and_has_quorum():
    assert quorum.best_response_index([503, 201, 201], 2) == 1
    assert quorum.best_response_index([503, 201], 2) is None
    assert quorum.has_quorum([201, 201], 2)
    assert not quorum.has_quorum([201, 404], 2)


@pytest.mark.parametrize('statuses,expected', [
    ([204, 204, 204], 204), ([204, 404, 404], 204), ([404, 404, 404], 404),
    ([204, 503, 503], 503), ([404, 503, 503], 503), ([204, 204, 503], 204),
])
def test_delete_status(statuses, expected):
    assert quorum.delete_status(statuses, 2) == expected


def test_error_limiter_counts_within_interval():
    now = [100.0]
    limiter = ErrorLimiter(interval=10, limit=3, clock=lambda: now[0])
    node = {'ip': '1.2.3.4', 'port': 6200, 'device': 'd1'}
    assert not limiter.record_error(node)
    assert not limiter.record_error(node)
    assert not limiter.is_limited(node)
    assert limiter.record_error(node)
    assert limiter.is_limited(node)
    now[0] += 11
    assert not limiter.is_limited(node)
    assert not limiter.record_error(node)
    now[0] += 11
    assert not limiter.record_error(node)
    assert not limiter.is_limited(node)


def test_error_limiter_make_limited_and_other_nodes():
    limiter = ErrorLimiter(interval=10, limit=3, clock=lambda: 0)
    a = {'ip': 'a', 'port': 1, 'device': 'd'}
    b = {'ip': 'a', 'port': 1, 'device': 'e'}
    limiter.make_limited(a)
    assert limiter.is_limited(a) and not limiter.is_limited(b)


@pytest.mark.parametrize('status,headers,sent,expected', [
    (200, {}, 0, 'bytes=0-'),
    (200, {}, 5, 'bytes=5-'),
    (206, {'content-range': 'bytes 100-199/1000'}, 50, 'bytes=150-199'),
    (206, {'content-range': 'garbage'}, 5, None),
    (206, {'content-type': 'multipart/byteranges; boundary=x'}, 5, None),
    (404, {}, 0, None),
])
def test_resume_range(status, headers, sent, expected):
    assert resume_range(status, headers, sent) == expected


@pytest.mark.parametrize('statuses,expected', [
    ([404, 404, 404], 404), ([404, 404], 404), ([503, 503, 404], 503),
    ([404, 503, 503], 503), ([], 503), ([507, 404, 404], 404),
    ([507, 507, 404], 503), ([500, 500, 500], 503),
])
def test_failure_status(statuses, expected):
    assert failure_status(statuses, 3) == expected


def test_delete_at_header():
    assert delete_at_header({'X-Delete-At': '2000'}, 1000) == '2000'
    assert delete_at_header({'X-Delete-After': '1'}, 1000.9) == '1001'
    assert delete_at_header({'X-Delete-After': '10',
                             'X-Delete-At': '5'}, 1000) == '1010'
    for bad in ({'X-Delete-At': '999'}, {'X-Delete-At': '1e9'},
                {'X-Delete-After': 'x'}, {'X-Delete-After': '-1'},
                {'X-Delete-After': '0'}):
        with pytest.raises(InvalidInput):
            delete_at_header(bad, 1000)


@pytest.mark.parametrize('headers, reason', [
    ({'X-Delete-After': '9' * 400}, 'X-Delete-After too far in the future'),
    ({'X-Delete-At': '1' * 300}, 'X-Delete-At too far in the future'),
    ({'X-Delete-At': '\xb2'}, 'Non-integer X-Delete-At'),
    ({'X-Delete-After': '\xb2'}, 'Non-integer X-Delete-After'),
])
def test_delete_at_header_out_of_range(headers, reason):
    with pytest.raises(InvalidInput) as caught:
        delete_at_header(headers, 1000)
    assert (caught.value.status, caught.value.message) == (400, reason)


def test_guess_content_type():
    assert guess_content_type('a/b.html') == 'text/html'
    assert guess_content_type('noext') == 'application/octet-stream'


def test_container_update_headers_pairs_round_robin():
    nodes = [{'ip': '1.1.1.%d' % i, 'port': 6201, 'device': 'd%d' % i}
             for i in range(2)]
    pairs = update_headers('Container', nodes, 7, 3)
    assert [p['X-Container-Device'] for p in pairs] == ['d0', 'd1', 'd0']
    assert {p['X-Container-Partition'] for p in pairs} == {'7'}


def test_fewer_replicas_than_containers_still_update_every_container():
    nodes = [{'ip': '1.1.1.%d' % i, 'port': 6201, 'device': 'd%d' % i}
             for i in range(3)]
    pairs = update_headers('Container', nodes, 7, 2)
    assert [p['X-Container-Device'] for p in pairs] == ['d0,d2', 'd1']
    assert pairs[0]['X-Container-Host'] == '1.1.1.0:6201,1.1.1.2:6201'
    assert [p['X-Container-Partition'] for p in pairs] == ['7', '7']


class FakeMemcache:
    def __init__(self):
        self.data = {}

    def get(self, key):
        return self.data.get(key)

    def set(self, key, value, ttl):
        self.data[key] = value

    def delete(self, key):
        self.data.pop(key, None)


def test_info_cache_ttl_and_delete():
    now = [0.0]
    cache = InfoCache(clock=lambda: now[0])
    info = container_info_from(204, {'x-container-read': '.r:*',
                                     'x-container-meta-a': 'b',
                                     'x-container-object-count': '3'})
    assert info['meta'] == {'a': 'b'} and info['object_count'] == 3
    cache.set('k', info, 5)
    assert cache.get('k') == info
    now[0] = 6
    assert cache.get('k') is None
    cache.set('k', info, 5)
    cache.delete('k')
    assert cache.get('k') is None
    cache.set('k', info, 0)
    assert cache.get('k') is None


def test_info_cache_uses_only_memcache_when_given():
    shared = FakeMemcache()
    one, two = InfoCache(shared), InfoCache(shared)
    one.set('k', {'status': 204}, 10)
    assert two.get('k') == {'status': 204}
    two.delete('k')
    assert one.get('k') is None


def test_forwarded_headers_name_headers_as_webob_does():
    """The proxy reads the client's headers from the environ itself (cheaper
    than webob's view of it) under the names that view gives."""
    req = Request.blank('/v1/a/c/o', method='PUT', body=b'abc', headers={
        'X-Object-Meta-Foo_bar': 'x', 'content-type': 'a/b',
        'X-Backend-Q': '1', 'ETag': 'e', 'x-object-meta-\xc4b': 'v'})
    assert list(request_headers(req.environ).items()) == list(
        req.headers.items())
    forwarded = forwarded_headers(req)
    assert forwarded == {'X-Object-Meta-Foo-Bar': 'x', 'Content-Type': 'a/b',
                         'Etag': 'e', 'X-Object-Meta-\xc4b': 'v'}
