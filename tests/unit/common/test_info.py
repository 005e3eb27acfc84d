"""The info lookup of common.info: its cache layers (the request's
infocache, a shared InfoCache over a real memcached client and socket) and
the pre-authorized HEAD subrequest it falls back to.

The "rest of the pipeline" here is a small WSGI app at the edge of the
test that records what reached it."""

import pytest

from objstore.common import info as info_module
from objstore.common.access import AUTHORIZE_KEY, OVERRIDE_KEY
from objstore.common.http import Request
from objstore.common.info import (
    INFO_LOOKUP_KEY, forget, get_account_info, get_container_info,
    is_info_lookup, lookup, remember)
from objstore.common.infocache import (
    INFOCACHE_KEY, SHARED_CACHE_KEY, InfoCache, cache_key,
    container_info_from)
from objstore.common.memcache import MemcacheRing


class RecordingApp:
    """Answers every request with ``status`` and ``headers``; keeps the
    environs it saw."""

    def __init__(self, status=204, headers=()):
        self.status = status
        self.headers = list(headers)
        self.seen = []

    def __call__(self, environ, start_response):
        self.seen.append(environ)
        start_response('%d Whatever' % self.status, self.headers)
        return [b'']


def client_environ(path='/v1/AUTH_a/c/o', **extra):
    environ = Request.blank(path).environ
    environ.update({'REMOTE_USER': 'AUTH_a,AUTH_a:reader',
                    AUTHORIZE_KEY: lambda req: 'denied'}, **extra)
    return environ


@pytest.fixture
def shared(server):
    return InfoCache(MemcacheRing(['127.0.0.1:%d' % server.port]))


def test_a_miss_asks_the_pipeline_once_then_the_request_remembers():
    app = RecordingApp(204, [('X-Container-Read', '.r:*'),
                             ('X-Container-Object-Count', '7'),
                             ('X-Container-Meta-Color', 'red'),
                             ('X-Container-Sysmeta-Mw', 'state')])
    environ = client_environ()
    info = get_container_info(environ, app)
    assert (info['status'], info['read_acl'], info['object_count']) == \
        (204, '.r:*', 7)
    assert info['meta'] == {'color': 'red'}
    assert info['sysmeta'] == {'mw': 'state'}
    assert get_container_info(environ, app) is info
    assert len(app.seen) == 1


def test_the_subrequest_is_a_preauthorized_info_head_without_the_client():
    app = RecordingApp(204)
    get_container_info(client_environ(), app, swift_source='mymw')
    sub = app.seen[0]
    assert (sub['REQUEST_METHOD'], sub['PATH_INFO']) == ('HEAD',
                                                         '/v1/AUTH_a/c')
    assert is_info_lookup(sub) and sub[INFO_LOOKUP_KEY]
    # Allowed whatever the client's own decision, and no auth middleware
    # further down may replace that decision.
    assert sub[AUTHORIZE_KEY](Request(sub)) is None and sub[OVERRIDE_KEY]
    assert 'REMOTE_USER' not in sub and 'swift.clean_acl' not in sub
    assert sub['swift.source'] == 'mymw'
    assert sub['wsgi.input'].read() == b''


def test_account_info_heads_the_account():
    app = RecordingApp(204, [('X-Account-Container-Count', '2'),
                             ('X-Account-Object-Count', '5'),
                             ('X-Account-Meta-Quota', '9')])
    info = get_account_info(client_environ(), app)
    assert app.seen[0]['PATH_INFO'] == '/v1/AUTH_a'
    assert (info['container_count'], info['total_object_count'],
            info['meta']) == (2, 5, {'quota': '9'})


def test_info_the_pipeline_left_in_the_shared_infocache_wins():
    """The proxy answers an info lookup by filling the infocache that the
    subrequest shares with the caller; its answer's headers are empty."""
    key = cache_key('AUTH_a', 'c')
    proxy_info = container_info_from(204, {'x-container-write': 'AUTH_b'})

    def proxy(environ, start_response):
        environ[INFOCACHE_KEY][key] = proxy_info
        start_response('204 No Content', [])
        return [b'']
    environ = client_environ()
    assert get_container_info(environ, proxy) is proxy_info
    assert environ[INFOCACHE_KEY][key] is proxy_info


def test_not_found_is_answered_but_never_remembered():
    app = RecordingApp(404)
    environ = client_environ()
    assert get_container_info(environ, app)['status'] == 404
    assert get_container_info(environ, app)['status'] == 404
    assert len(app.seen) == 2
    assert environ[INFOCACHE_KEY] == {}


def test_the_shared_cache_answers_without_a_subrequest(shared):
    key = cache_key('AUTH_a', 'c')
    shared.set(key, container_info_from(204, {'x-container-read': 'x'}), 60)
    app = RecordingApp(500)
    environ = client_environ(**{SHARED_CACHE_KEY: shared})
    assert get_container_info(environ, app)['read_acl'] == 'x'
    assert app.seen == []
    # Kept in the request too: one view for the whole request.
    assert environ[INFOCACHE_KEY][key]['read_acl'] == 'x'


def test_remember_and_forget_reach_every_layer(shared):
    key = cache_key('AUTH_a', 'c')
    installed = InfoCache()
    environ = {SHARED_CACHE_KEY: installed}
    remember(environ, key, {'status': 204, 'meta': {}}, shared, ttl=60)
    installed.set(key, {'status': 204, 'meta': {'old': '1'}}, 60)
    assert shared.get(key) == {'status': 204, 'meta': {}}
    forget(environ, key, shared)
    assert key not in environ[INFOCACHE_KEY]
    assert shared.get(key) is None and installed.get(key) is None
    assert lookup(environ, key, shared) is None


def test_a_failed_answer_is_not_put_in_the_shared_cache(shared):
    key = cache_key('AUTH_a')
    remember({}, key, {'status': 503}, shared, ttl=60)
    assert shared.get(key) is None


def test_a_path_without_a_container_is_a_caller_error():
    with pytest.raises(ValueError):
        get_container_info(client_environ('/v1/AUTH_a'), RecordingApp())


def test_only_heads_are_info_lookups():
    environ = Request.blank('/v1/a/c', method='GET').environ
    environ[INFO_LOOKUP_KEY] = True
    assert not is_info_lookup(environ)


def test_a_cached_lookup_builds_no_request(monkeypatch):
    """Every middleware asks for info on every request: once the request
    remembers it, the answer comes from the environ alone."""
    app = RecordingApp(headers=[('X-Container-Object-Count', '3')])
    environ = client_environ()
    first = get_container_info(environ, app)
    monkeypatch.setattr(info_module, 'Request', lambda *_a, **_k: pytest.fail(
        'Request built for a cached lookup'), raising=False)
    assert get_container_info(environ, app) == first
