"""The filters that look at every object GET/HEAD answer (slo, dlo,
symlink) hand on the answer of a plain object as the app gave it: same
status, headers and body, and no webob Response built for it (building
and re-serializing one per filter was most of their cost)."""

import io

import pytest
import webob

from objstore.middleware.dlo import filter_factory as dlo_factory
from objstore.middleware.slo import filter_factory as slo_factory
from objstore.middleware.symlink import filter_factory as symlink_factory

HEADERS = [('Content-Type', 'text/plain'), ('Content-Length', '5'),
           ('Etag', '"abc"'), ('X-Object-Meta-Color', 'blue')]


class ObjectApp:
    """Answers every request with one plain object, lazily started."""

    def __init__(self):
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        start_response('200 OK', list(HEADERS))
        return [b'hello'] if environ['REQUEST_METHOD'] == 'GET' else []


def lazy_app(environ, start_response):
    def body():
        start_response('200 OK', list(HEADERS))
        yield b'hel'
        yield b'lo'
    return body()


def stacked(app):
    for factory in (symlink_factory, dlo_factory, slo_factory):
        app = factory({})(app)
    return app


def call(app, method, **extra):
    environ = {'REQUEST_METHOD': method, 'PATH_INFO': '/v1/AUTH_a/c/o',
               'SCRIPT_NAME': '', 'QUERY_STRING': '', 'SERVER_NAME': 'x',
               'SERVER_PORT': '80', 'wsgi.url_scheme': 'http',
               'wsgi.input': io.BytesIO(b''), **extra}
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen['status'], seen['headers'] = status, headers
    body = b''.join(app(environ, start_response))
    return seen['status'], seen['headers'], body


@pytest.mark.parametrize('method', ['GET', 'HEAD'])
def test_plain_object_answer_passes_unchanged_without_a_response(
        method, monkeypatch):
    built = []
    original = webob.Response.__init__

    def counting_init(self, *args, **kwargs):
        built.append(args)
        original(self, *args, **kwargs)
    monkeypatch.setattr(webob.Response, '__init__', counting_init)
    backend = ObjectApp()
    status, headers, body = call(stacked(backend), method)
    assert (status, headers) == ('200 OK', HEADERS)
    assert body == (b'hello' if method == 'GET' else b'')
    assert backend.calls == 1
    assert built == []


def test_answer_started_only_when_its_body_is_read():
    status, headers, body = call(stacked(lazy_app), 'GET')
    assert (status, headers, body) == ('200 OK', HEADERS, b'hello')


def test_partial_request_still_takes_the_careful_path():
    backend = ObjectApp()
    status, headers, body = call(stacked(backend), 'GET',
                                 HTTP_RANGE='bytes=0-1')
    assert status == '200 OK' and body == b'hello'
    assert ('X-Object-Meta-Color', 'blue') in headers
