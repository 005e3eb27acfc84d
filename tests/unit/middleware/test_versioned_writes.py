"""The legacy versioning middleware's pure parts (names, flag headers)
and its container-flag handling around a recording inner app; the
archive itself is exercised on a real cluster by
tests/functional/test_versioned_writes.py."""

import doctest

import pytest

from objstore.common.http import Request
from objstore.middleware import versioned_writes
from objstore.middleware.versioned_writes import (
    SYSMETA_LOCATION, SYSMETA_MODE, filter_factory, flag_headers,
    version_name)


def test_doctests():
    assert doctest.testmod(versioned_writes).failed == 0


def test_version_names_sort_in_time_order_within_one_object():
    names = [version_name('o', t) for t in ('9.5', '10', '100.00001')]
    assert names == sorted(names)
    assert version_name('ab', '1') != version_name('a', '1')


@pytest.mark.parametrize('headers, expected', [
    ({'X-Versions-Location': 'v'},
     {SYSMETA_LOCATION: 'v', SYSMETA_MODE: 'stack',
      'X-Versions-Location': ''}),
    ({'X-Versions-Location': 'v', 'X-History-Location': ''},
     {SYSMETA_LOCATION: 'v', SYSMETA_MODE: 'stack',
      'X-Versions-Location': ''}),
    ({'X-Versions-Location': '', 'X-History-Location': 'h'},
     {SYSMETA_LOCATION: 'h', SYSMETA_MODE: 'history',
      'X-Versions-Location': ''}),
    ({'X-Remove-History-Location': 'x'},
     {SYSMETA_LOCATION: '', SYSMETA_MODE: '', 'X-Versions-Location': ''}),
    ({'X-Container-Meta-A': 'b'}, {}),
])
def test_flag_headers(headers, expected):
    assert flag_headers(headers) == expected


class Recorder:
    """Keeps the request headers; answers with ``answer`` headers."""

    def __init__(self, answer=()):
        self.answer = list(answer)
        self.seen = None

    def __call__(self, environ, start_response):
        self.seen = Request(environ).headers
        start_response('204 No Content', self.answer)
        return [b'']


def test_container_post_stores_sysmeta_and_get_shows_flag():
    inner = Recorder([(SYSMETA_LOCATION, 'arch'), (SYSMETA_MODE, 'history')])
    app = filter_factory({}, allow_versioned_writes='true')(inner)
    resp = Request.blank('/v1/a/c', method='POST', headers={
        'X-History-Location': 'arch'}).get_response(app)
    assert inner.seen[SYSMETA_LOCATION] == 'arch'
    assert inner.seen[SYSMETA_MODE] == 'history'
    assert 'X-History-Location' not in inner.seen
    assert resp.headers['X-History-Location'] == 'arch'
    assert 'X-Versions-Location' not in resp.headers


def test_flag_passes_untouched_when_not_allowed():
    inner = Recorder()
    app = filter_factory({})(inner)
    Request.blank('/v1/a/c', method='POST', headers={
        'X-History-Location': 'arch'}).get_response(app)
    assert inner.seen['X-History-Location'] == 'arch'
    assert SYSMETA_LOCATION not in inner.seen
