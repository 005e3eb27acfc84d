"""Deny by default (common.access) through the real proxy pipeline
(catch_errors, healthcheck, proxy_logging, tempauth, copy, proxy) over the
real storage servers of an in-process cluster: no verb, level, API prefix
or spelling of a path reaches storage without a valid token, and what the
proxy answers is Swift's 401. Also the bare proxy app, with no auth
middleware at all, which must deny rather than make the caller an owner."""

import http.client
import json

import pytest

from objstore.common.access import UNAUTHORIZED_BODY
from objstore.common.http import Request
from tests.helpers import (
    AUTH_VERBS, BAD_TOKENS, denied_status, spelled_object_paths)
from tests.unit.proxy.cluster import CREDENTIALS, InProcessCluster

ACCOUNT = 'AUTH_test'
ORIGINAL = b'original body'
# Every header that would change something if a request got through.
WRITE_HEADERS = {
    'X-Object-Meta-Evil': '1', 'X-Container-Meta-Evil': '1',
    'X-Account-Meta-Evil': '1', 'X-Container-Read': '.r:*,.rlistings',
    'Destination': 'c/copied', 'Content-Type': 'text/plain'}


def raw(cluster, method, target, token=None, headers=None, body=None):
    headers = dict(headers or {})
    if token is not None:
        headers['X-Auth-Token'] = token
    if method in ('PUT', 'POST') and body is None:
        body = b'evil'
    conn = http.client.HTTPConnection('127.0.0.1', cluster.proxy.port,
                                      timeout=20)
    try:
        conn.request(method, target, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, \
            resp.read()
    finally:
        conn.close()


def owner_token(cluster):
    status, headers, _ = raw(cluster, 'GET', '/auth/v1.0', headers={
        'X-Auth-User': 'test:tester',
        'X-Auth-Key': CREDENTIALS['test:tester']})
    assert status == 200
    return headers['x-auth-token']


@pytest.fixture(scope='module')
def seeded(tmp_path_factory):
    """A cluster where the owner made container ``c`` holding ``o``."""
    cluster = InProcessCluster(tmp_path_factory.mktemp('deny'))
    token = owner_token(cluster)
    assert raw(cluster, 'PUT', '/v1/%s/c' % ACCOUNT, token)[0] == 201
    assert raw(cluster, 'PUT', '/v1/%s/c/o' % ACCOUNT, token,
               body=ORIGINAL)[0] == 201
    yield cluster, token
    cluster.stop()


def assert_untouched(cluster, token):
    """What the owner sees is what the owner wrote, nothing more."""
    base = '/v1/%s' % ACCOUNT
    status, headers, body = raw(cluster, 'GET', base + '/c/o', token)
    assert (status, body) == (200, ORIGINAL)
    assert 'x-object-meta-evil' not in headers
    status, headers, body = raw(cluster, 'GET', base + '/c?format=json',
                                token)
    assert status == 200
    assert [item['name'] for item in json.loads(body)] == ['o']
    assert 'x-container-meta-evil' not in headers
    assert 'x-container-read' not in headers
    status, headers, body = raw(cluster, 'GET', base + '?format=json', token)
    assert [item['name'] for item in json.loads(body)] == ['c']
    assert 'x-account-meta-evil' not in headers


@pytest.mark.parametrize('version', ['v1', 'v1.0'])
def test_every_verb_and_level_needs_a_valid_token(seeded, version):
    cluster, token = seeded
    wrong = []
    for level, suffix in ((1, ''), (2, '/c'), (3, '/c/o')):
        target = '/%s/%s%s' % (version, ACCOUNT, suffix)
        for verb in AUTH_VERBS:
            for bad in BAD_TOKENS:
                status, headers, _ = raw(cluster, verb, target, bad,
                                         WRITE_HEADERS)
                if status != denied_status(verb, level, bad):
                    wrong.append((verb, target, bad, status))
                elif status == 401 and 'www-authenticate' not in headers:
                    wrong.append((verb, target, bad, 'no Www-Authenticate'))
    assert wrong == []
    assert_untouched(cluster, token)


def test_no_spelling_of_a_path_slips_by(seeded):
    cluster, token = seeded
    wrong = []
    for target, expected in spelled_object_paths(ACCOUNT, 'c', 'o'):
        for verb in ('GET', 'PUT', 'POST', 'DELETE', 'COPY'):
            status, _, body = raw(cluster, verb, target, None, WRITE_HEADERS)
            # The copy middleware turns a COPY into requests under /v1,
            # which auth then denies, whatever version the COPY named.
            if verb == 'COPY' and expected == 400:
                expected = 401
            if status != expected or ORIGINAL in body:
                wrong.append((verb, target, status))
    assert wrong == []
    assert_untouched(cluster, token)


# (``//v1/...`` is no such path: the HTTP server collapses leading slashes.)
@pytest.mark.parametrize('target', [
    '/V1/AUTH_test/c/o', '/V1.0/AUTH_test/c/o', '/v2/AUTH_test/c/o',
    '/v1.1/AUTH_test/c/o', '/v1.0.0/AUTH_test/c/o'])
def test_a_valid_token_on_an_unknown_version_is_refused(seeded, target):
    """Swift's 400 (checked before auth: the version alone decides)."""
    cluster, token = seeded
    for verb in ('PUT', 'GET'):
        status, _, body = raw(cluster, verb, target, token, WRITE_HEADERS)
        assert status == 400, (verb, status)
        assert ORIGINAL not in body
    assert_untouched(cluster, token)


def test_the_401_is_swifts(seeded):
    cluster, _ = seeded
    status, headers, body = raw(cluster, 'GET', '/v1.0/AUTH_test/c/o')
    assert status == 401
    assert headers['www-authenticate'] == 'Swift realm="AUTH_test"'
    assert body == UNAUTHORIZED_BODY
    status, headers, body = raw(cluster, 'POST', '/v1/AUTH_test')
    assert (status, body) == (401, UNAUTHORIZED_BODY)
    assert headers['www-authenticate'] == 'Swift realm="AUTH_test"'


def test_public_paths_need_no_token(seeded):
    cluster, _ = seeded
    assert raw(cluster, 'GET', '/info')[0] == 200
    assert raw(cluster, 'GET', '/healthcheck')[:3:2] == (200, b'OK')


# ------------------------------------------------- the bare proxy app


def test_bare_proxy_app_denies_what_nobody_claimed(scripted):
    for method in ('PUT', 'GET', 'POST', 'DELETE', 'HEAD'):
        for path in ('/v1/AUTH_a', '/v1.0/AUTH_a/c', '/v1/AUTH_a/c/o'):
            req = Request.blank(path, method=method, body=b'x')
            resp = req.get_response(scripted.app)
            assert resp.status_int == 401, (method, path)
    assert all(backend.requests == [] for backend in scripted.backends)
    info = Request.blank('/info').get_response(scripted.app)
    assert info.status_int == 200
