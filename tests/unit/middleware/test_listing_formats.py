"""listing_formats over a recording app: the Accept the storage side is
told, Vary, the refusals, and what passes untouched."""

import pytest

from objstore.common.http import Request
from objstore.middleware.listing_formats import ListingFormatsMiddleware


def recorder(environ, start_response):
    start_response('200 OK', [('X-Accept', environ.get('HTTP_ACCEPT', '-')),
                              ('Content-Length', '0')])
    return [b'']


def send(path, method='GET', **headers):
    return Request.blank(path, method=method, headers=headers).get_response(
        ListingFormatsMiddleware(recorder, {}))


@pytest.mark.parametrize('path,accept,told,vary', [
    ('/v1/a', None, 'text/plain', 'Accept'),
    ('/v1/a/c', 'application/json', 'application/json', 'Accept'),
    ('/v1/a/c', '*/*', 'text/plain', 'Accept'),
    ('/v1/a/c?format=XML', 'application/json', 'application/xml', None),
    ('/v1/a/c?format=bogus', None, 'text/plain', None),
    ('/v1/a/c?format=', 'text/xml', 'text/xml', None),
])
def test_negotiated(path, accept, told, vary):
    resp = send(path, **({'Accept': accept} if accept else {}))
    assert resp.headers['X-Accept'] == told
    assert resp.headers.get('Vary') == vary


def test_refusals_and_passes():
    assert send('/v1/a/c', Accept='image/png').status_int == 406
    resp = send('/v1/a/c', Accept='text/plain;q=x')
    assert (resp.status_int, resp.body) == (400, b'Invalid Accept header')
    for path, method in (('/v1/a/c/o', 'GET'), ('/v1/a/c', 'PUT'),
                         ('/info', 'GET'), ('/v1/a/c?format=%FF', 'GET')):
        resp = send(path, method, Accept='image/png')
        assert resp.headers['X-Accept'] == 'image/png', path
