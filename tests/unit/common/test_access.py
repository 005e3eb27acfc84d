"""common.access: the API paths and the claim contract (pure)."""

import pytest

from objstore.common.access import (
    API_VERSIONS, AUTHORIZE_KEY, OVERRIDE_KEY, api_version, claim,
    is_claimed, is_public, realm_of, unauthorized)


@pytest.mark.parametrize('path,version', [
    ('/v1/AUTH_a', 'v1'), ('/v1.0/AUTH_a/c/o', 'v1.0'), ('/v1', 'v1'),
    ('/V1/AUTH_a', None), ('//v1/AUTH_a', None), ('/v1.1/AUTH_a', None),
    ('/v2/AUTH_a', None), ('v1/AUTH_a', None), ('', None), ('/', None),
    ('/auth/v1.0', None), ('/info', None)])
def test_api_version_is_an_exact_first_segment(path, version):
    assert api_version(path) == version


def test_every_routed_version_is_an_api_path():
    assert all(api_version('/%s/a/c/o' % v) == v for v in API_VERSIONS)


@pytest.mark.parametrize('path,public', [
    ('/info', True), ('/info/', True), ('/healthcheck', True),
    ('/auth/v1.0', True), ('/v1/AUTH_a', False), ('/information', False),
    ('/auth', False), ('/v1/auth/x', False), ('/', False)])
def test_public_paths(path, public):
    assert is_public(path) is public


def test_claim_and_override():
    environ = {}
    assert not is_claimed(environ)
    first = lambda req: None  # noqa: E731
    assert claim(environ, first, override=True)
    assert is_claimed(environ) and environ[OVERRIDE_KEY] is True
    assert not claim(environ, lambda req: 'denied')
    assert environ[AUTHORIZE_KEY] is first
    assert not is_claimed({AUTHORIZE_KEY: None})


def test_unauthorized_quotes_the_realm():
    resp = unauthorized('/v1/AUTH_a"\r\nX-Evil: 1/c')
    assert resp.status_int == 401
    assert resp.headers['Www-Authenticate'] == \
        'Swift realm="AUTH_a%22%0D%0AX-Evil%3A%201"'
    assert realm_of('/auth/v1.0') == 'unknown'
