"""wsgi.with_shared_info_cache: a loaded pipeline hands its app's info
cache to every request, so that middlewares' info lookups are served from
it (common.info's second layer) instead of a HEAD subrequest each."""

from objstore.common.info import INFO_LOOKUP_KEY, get_account_info
from objstore.common.infocache import (
    InfoCache, SHARED_CACHE_KEY, account_info_from, cache_key)
from objstore.common.wsgi import load_app, with_shared_info_cache


class App:
    """The bottom of a pipeline with a cache, like the proxy; it counts
    the info-lookup subrequests that reach it."""

    def __init__(self, cache=None):
        self.info_cache = cache
        self.lookups = 0

    def __call__(self, environ, start_response):
        if environ.get(INFO_LOOKUP_KEY):
            self.lookups += 1
        start_response('204 No Content', [])
        return [b'']


class Filter:
    """A middleware that reads the account's info, as ratelimit does."""

    def __init__(self, app):
        self.app = app
        self.seen = []

    def __call__(self, environ, start_response):
        self.seen.append(get_account_info(environ, self.app)['status'])
        return self.app(environ, start_response)


def call(app, path='/v1/AUTH_a/c/o'):
    environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': path,
               'SERVER_NAME': 'x', 'SERVER_PORT': '80',
               'wsgi.url_scheme': 'http'}
    body = app(environ, lambda *args: None)
    return environ, b''.join(body)


def cached_cache():
    cache = InfoCache(None, clock=lambda: 0.0)
    cache.set(cache_key('AUTH_a'), account_info_from(
        204, {'X-Account-Object-Count': '3'}), ttl=60)
    return cache


def test_requests_carry_the_apps_cache_and_lookups_hit_it():
    app = App(cached_cache())
    outer = Filter(Filter(app))
    pipeline = with_shared_info_cache(outer)
    for _ in range(3):
        environ, _body = call(pipeline)
        assert environ[SHARED_CACHE_KEY] is app.info_cache
    assert outer.seen == [204] * 3 and outer.app.seen == [204] * 3
    # No lookup needed a subrequest: the cache answered them all.
    assert app.lookups == 0


def test_without_it_every_request_sends_a_lookup_down():
    app = App(cached_cache())
    pipeline = Filter(app)
    for _ in range(3):
        call(pipeline)
    assert app.lookups == 3


def test_a_pipeline_without_a_cache_is_left_as_it_is():
    pipeline = Filter(App(cache=None))
    assert with_shared_info_cache(pipeline) is pipeline
    bare = App(cache=None)
    assert with_shared_info_cache(bare) is bare


def test_a_cycle_of_filters_ends_the_walk():
    looped = Filter(None)
    looped.app = looped
    assert with_shared_info_cache(looped) is looped


def test_load_app_installs_it(tmp_path):
    conf = tmp_path / 'app.conf'
    conf.write_text('[pipeline:main]\npipeline = probe app\n\n'
                    '[filter:probe]\npaste.filter_factory = %s:filter_factory'
                    '\n\n[app:app]\npaste.app_factory = %s:app_factory\n'
                    % (__name__, __name__))
    environ, _body = call(load_app(str(conf)))
    assert isinstance(environ[SHARED_CACHE_KEY], InfoCache)


def app_factory(global_conf, **local_conf):
    return App(cached_cache())


def filter_factory(global_conf, **local_conf):
    return Filter
