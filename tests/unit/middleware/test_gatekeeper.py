"""The gatekeeper around a tiny inner app, and its place in the pipelines
(the sample config and the one objstore-aio writes)."""

import configparser
import doctest
import os

import pytest

from objstore.cli.aio_layout import AioLayout, render_proxy_conf
from objstore.common.http import Request
from objstore.middleware import gatekeeper
from objstore.middleware.gatekeeper import Gatekeeper, filter_factory

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'proxy-server.conf-sample')
PRIVATE = ('X-Account-Sysmeta-A', 'X-Container-Sysmeta-B',
           'X-Object-Sysmeta-C', 'X-Object-Transient-Sysmeta-D',
           'X-Backend-E')
PUBLIC = ('X-Object-Meta-A', 'X-Container-Meta-B', 'X-Account-Meta-C',
          'X-Sysmeta-D', 'X-Backends', 'Content-Type')


def test_doctests():
    assert doctest.testmod(gatekeeper).failed == 0


class Recorder:
    """An inner app that keeps the headers it got and answers with
    ``answer``."""

    def __init__(self, answer=()):
        self.answer = list(answer)
        self.seen = None

    def __call__(self, environ, start_response):
        self.seen = Request(environ).headers
        start_response('200 OK', self.answer + [('Content-Length', '0')])
        return [b'']


def test_request_headers_are_stripped():
    inner = Recorder()
    req = Request.blank('/v1/a/c/o', headers={
        name: 'v' for name in PRIVATE + PUBLIC})
    assert req.get_response(Gatekeeper(inner, {})).status_int == 200
    for name in PRIVATE:
        assert name not in inner.seen
    for name in PUBLIC:
        assert inner.seen[name] == 'v'


def test_underscore_spelling_is_stripped_too():
    inner = Recorder()
    req = Request.blank('/v1/a/c/o')
    req.environ['HTTP_X_OBJECT_SYSMETA_C'] = 'forged'
    req.get_response(Gatekeeper(inner, {}))
    assert 'X-Object-Sysmeta-C' not in inner.seen


@pytest.mark.parametrize('case', [str.lower, str.upper, str.title])
def test_response_headers_are_stripped_in_any_case(case):
    inner = Recorder([(case(name), 'v') for name in PRIVATE + PUBLIC])
    resp = Request.blank('/v1/a').get_response(Gatekeeper(inner, {}))
    for name in PRIVATE:
        assert name not in resp.headers
    for name in PUBLIC:
        assert resp.headers[name] == 'v'


def test_filter_factory_builds_the_filter():
    inner = Recorder([('X-Backend-Timestamp', '1')])
    app = filter_factory({}, log_name='gk')(inner)
    assert isinstance(app, Gatekeeper)
    resp = Request.blank('/x').get_response(app)
    assert 'X-Backend-Timestamp' not in resp.headers


def pipeline_of(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser['pipeline:main']['pipeline'].split()


def test_gatekeeper_follows_catch_errors_in_the_sample():
    with open(SAMPLE) as sample:
        pipeline = pipeline_of(sample.read())
    assert pipeline[:2] == ['catch_errors', 'gatekeeper']


def test_gatekeeper_follows_catch_errors_in_the_aio(tmp_path):
    class Dirs:
        etc = str(tmp_path)
    text = render_proxy_conf(Dirs, AioLayout())
    assert pipeline_of(text)[:2] == ['catch_errors', 'gatekeeper']
    assert '[filter:gatekeeper]' in text
