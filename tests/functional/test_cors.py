"""CORS against the aio cluster over raw HTTP, as a browser meets it: a
preflight allowed by the container's metadata (with its Max-Age), then
the actual request's answer carrying Access-Control-Allow-Origin, the
exposed headers (Swift's defaults, user metadata and the container's
list) and Vary: Origin; an origin the container does not list gets none
(strict_cors_mode, the default)."""

import uuid
from urllib.parse import urlparse

import pytest

from tests.helpers import send_raw

ORIGIN = 'http://app.example'


@pytest.fixture(scope='module')
def user(cluster):
    url, token = cluster.get_token('test:tester')
    parsed = urlparse(url)

    def send(method, path, headers=None, body=None, token_too=True):
        sent = {'X-Auth-Token': token} if token_too else {}
        sent.update(headers or {})
        return send_raw(parsed.hostname, parsed.port, method,
                        parsed.path + path, sent, body)
    return send


@pytest.fixture
def cors_container(user):
    name = '/cors-%s' % uuid.uuid4().hex
    assert user('PUT', name, {
        'X-Container-Meta-Access-Control-Allow-Origin': ORIGIN,
        'X-Container-Meta-Access-Control-Max-Age': '600',
        'X-Container-Meta-Access-Control-Expose-Headers': 'X-Shown'})[0] \
        == 201
    assert user('PUT', name + '/o', {'X-Object-Meta-Kind': 'k'}, b'data')[0] \
        == 201
    return name


def test_preflight_then_actual_request(user, cors_container):
    status, headers, _ = user('OPTIONS', cors_container + '/o', {
        'Origin': ORIGIN, 'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'X-Auth-Token'}, token_too=False)
    assert status == 200
    assert headers['access-control-allow-origin'] == ORIGIN
    assert headers['access-control-max-age'] == '600'
    assert headers['access-control-allow-headers'] == 'X-Auth-Token'
    status, headers, body = user('GET', cors_container + '/o',
                                 {'Origin': ORIGIN})
    assert (status, body) == (200, b'data')
    assert headers['access-control-allow-origin'] == ORIGIN
    assert headers['vary'] == 'Origin'
    exposed = set(headers['access-control-expose-headers'].split(', '))
    assert {'etag', 'x-timestamp', 'x-trans-id', 'content-type',
            'x-object-meta-kind', 'x-shown'} <= exposed


def test_cors_headers_on_an_error_answer(user, cors_container):
    status, headers, _ = user('GET', cors_container + '/missing',
                              {'Origin': ORIGIN})
    assert status == 404
    assert headers['access-control-allow-origin'] == ORIGIN


def test_unlisted_origin_gets_no_cors_headers(user, cors_container):
    status, headers, _ = user('GET', cors_container + '/o',
                              {'Origin': 'http://evil.example'})
    assert status == 200
    assert 'access-control-allow-origin' not in headers
    assert 'access-control-expose-headers' not in headers


@pytest.mark.parametrize('method,headers', [
    ('COPY', {'Destination': '{container}/copy'}),
    ('PUT', {'X-Copy-From': '{container}/o'})])
def test_copies_answer_with_cors_headers(user, cors_container, method,
                                         headers):
    sent = {name: value.format(container=cors_container)
            for name, value in headers.items()}
    sent['Origin'] = ORIGIN
    target = cors_container + ('/o' if method == 'COPY' else '/copy')
    status, answer, _ = user(method, target, sent, b'' if method == 'PUT'
                             else None)
    assert status == 201
    assert answer['access-control-allow-origin'] == ORIGIN
