"""tempauth: user parsing, signed tokens, the access decision, and the
WSGI filter (token endpoint, 401/403 decisions) over a tiny inner app."""

import pytest

from objstore.common.access import API_VERSIONS
from objstore.common.http import Request
from objstore.middleware import tempauth
from objstore.middleware.tempauth import (
    ALLOW, FORBIDDEN, OWNER, UNAUTHORIZED, AccessRequest, TokenSigner,
    decide, parse_users, user_groups)

CONF = {
    'user_admin_admin': 'admin .admin .reseller_admin',
    'user_test_tester': 'testing .admin',
    'user_test_tester3': 'testing3',
    'user_test2_tester2': 'testing2 .admin',
    'user64_dGVzdF94_dXNlcl95': 'k64 http://example.com/v1/AUTH_test_x',
}


def test_parse_users_plain_and_b64():
    users = parse_users(CONF)
    assert users['test:tester'].key == 'testing'
    assert users['test:tester'].groups == ('.admin',)
    assert users['test:tester3'].groups == ()
    assert users['admin:admin'].groups == ('.admin', '.reseller_admin')
    assert users['test_x:user_y'].storage_url == \
        'http://example.com/v1/AUTH_test_x'


def test_parse_users_rejects_user_without_key():
    with pytest.raises(ValueError):
        parse_users({'user_a_b': '   '})


def test_user_groups_admin_gets_account_id():
    users = parse_users(CONF)
    assert user_groups(users['test:tester'], 'AUTH_') == \
        ['test', 'test:tester', 'AUTH_test']
    assert user_groups(users['test:tester3'], 'AUTH_') == \
        ['test', 'test:tester3']
    assert '.reseller_admin' in user_groups(users['admin:admin'], 'AUTH_')


def test_token_roundtrip_and_expiry():
    signer = TokenSigner(b'secret', 'AUTH_')
    token = signer.issue('test:tester', expires=1000)
    assert token.startswith('AUTH_tk')
    assert signer.verify(token, now=999) == ('test:tester', 1000)
    assert signer.verify(token, now=1000) is None


def test_token_tampering_and_other_secret_fail():
    signer = TokenSigner(b'secret', 'AUTH_')
    token = signer.issue('test:tester', expires=2000)
    other = TokenSigner(b'other', 'AUTH_')
    assert other.verify(token, now=1) is None
    forged_user = TokenSigner(b'secret', 'AUTH_').issue('test2:x', 2000)
    spliced = token[:-32] + forged_user[-32:]
    assert signer.verify(spliced, now=1) is None
    assert signer.verify('AUTH_tkzz' + 'a' * 40, now=1) is None
    assert signer.verify('AUTH_tk' + 'ab', now=1) is None
    assert signer.verify('', now=1) is None
    assert signer.verify('OTHER_tk' + token[7:], now=1) is None


def test_verified_token_is_remembered_until_it_expires(monkeypatch):
    signer = TokenSigner(b'secret', 'AUTH_')
    token = signer.issue('test:tester', expires=1000)
    assert signer.verify(token, now=1) == ('test:tester', 1000)
    tags = []
    real_tag = signer._tag
    monkeypatch.setattr(signer, '_tag',
                        lambda payload: tags.append(payload) or
                        real_tag(payload))
    for now in (2, 500, 999):
        assert signer.verify(token, now=now) == ('test:tester', 1000)
    assert tags == []
    assert signer.verify(token, now=1000) is None
    spliced = token[:-32] + 'f' * 32
    assert signer.verify(spliced, now=3) is None
    assert signer.verify(spliced, now=3) is None
    assert len(tags) == 2


def test_tokens_differ_by_nonce():
    signer = TokenSigner(b'secret', 'AUTH_')
    assert signer.issue('a:b', 10) != signer.issue('a:b', 10)


def test_derived_secret_depends_on_keys():
    users = parse_users(CONF)
    changed = dict(CONF, user_test_tester='newkey .admin')
    assert tempauth.derive_secret('', users) == \
        tempauth.derive_secret('', parse_users(dict(CONF)))
    assert tempauth.derive_secret('', users) != \
        tempauth.derive_secret('', parse_users(changed))
    assert tempauth.derive_secret('s', users) != \
        tempauth.derive_secret('', users)


OWNER_GROUPS = ['test', 'test:tester', 'AUTH_test']
PLAIN_GROUPS = ['test', 'test:tester3']
OTHER_GROUPS = ['test2', 'test2:tester2', 'AUTH_test2']
RESELLER = ['admin', 'admin:admin', 'AUTH_admin', '.reseller_admin']


@pytest.mark.parametrize('access,verdict', [
    (AccessRequest('GET', 'AUTH_test', groups=OWNER_GROUPS), OWNER),
    (AccessRequest('PUT', 'AUTH_test', 'c', groups=OWNER_GROUPS), OWNER),
    (AccessRequest('PUT', 'AUTH_test', groups=OWNER_GROUPS), FORBIDDEN),
    (AccessRequest('PUT', 'AUTH_test', groups=RESELLER), OWNER),
    (AccessRequest('GET', 'AUTH_.x', groups=RESELLER), FORBIDDEN),
    (AccessRequest('GET', 'AUTH_test', groups=OTHER_GROUPS), FORBIDDEN),
    (AccessRequest('GET', 'AUTH_test', groups=None), UNAUTHORIZED),
    (AccessRequest('GET', 'OTHER_test', groups=OWNER_GROUPS), FORBIDDEN),
    (AccessRequest('GET', 'AUTH_test', groups=PLAIN_GROUPS), FORBIDDEN),
    (AccessRequest('GET', 'AUTH_test', 'c', 'o', groups=None, acl='.r:*'),
     ALLOW),
    (AccessRequest('GET', 'AUTH_test', 'c', groups=None, acl='.r:*'),
     UNAUTHORIZED),
    (AccessRequest('GET', 'AUTH_test', 'c', groups=None,
                   acl='.r:*,.rlistings'), ALLOW),
    (AccessRequest('GET', 'AUTH_test', 'c', 'o', groups=None,
                   acl='.r:a.com', referrer='http://a.com/x'), ALLOW),
    (AccessRequest('GET', 'AUTH_test', 'c', 'o', groups=None,
                   acl='.r:a.com', referrer='http://b.com/x'), UNAUTHORIZED),
    (AccessRequest('GET', 'AUTH_test', 'c', 'o', groups=OTHER_GROUPS,
                   acl='test2:tester2'), ALLOW),
    (AccessRequest('GET', 'AUTH_test', 'c', 'o', groups=OTHER_GROUPS,
                   acl='test2:*'), ALLOW),
    (AccessRequest('GET', 'AUTH_test', 'c', 'o', groups=OTHER_GROUPS,
                   acl='test2:other'), FORBIDDEN),
    (AccessRequest('GET', 'AUTH_test', groups=OTHER_GROUPS,
                   acl='test2:*'), FORBIDDEN),
])
def test_decide(access, verdict):
    assert decide(access, 'AUTH_') == verdict


def _inner(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [environ.get('REMOTE_USER', '-').encode()]


def _middleware(now=1000.0):
    return tempauth.TempAuth(_inner, dict(CONF), clock=lambda: now)


def _get_token(mw, user='test:tester', key='testing', path='/auth/v1.0',
               header_style='Auth'):
    req = Request.blank(path, headers={
        'X-%s-User' % header_style: user,
        'X-%s-%s' % (header_style, 'Key' if header_style == 'Auth'
                     else 'Pass'): key,
        'Host': 'proxy:8080'})
    return req.get_response(mw)


def test_get_token_and_storage_url():
    resp = _get_token(_middleware())
    assert resp.status_int == 200
    assert resp.headers['X-Storage-Url'] == 'http://proxy:8080/v1/AUTH_test'
    assert resp.headers['X-Auth-Token'].startswith('AUTH_tk')
    assert resp.headers['X-Auth-Token-Expires'] == '86400'
    resp = _get_token(_middleware(), header_style='Storage',
                      user='tester', path='/auth/v1/test/auth')
    assert resp.status_int == 200


@pytest.mark.parametrize('user,key,path', [
    ('test:tester', 'wrong', '/auth/v1.0'),
    ('test:nobody', 'testing', '/auth/v1.0'),
    ('test2:tester', 'testing', '/auth/v1/test/auth'),
])
def test_get_token_bad_credentials(user, key, path):
    assert _get_token(_middleware(), user, key, path).status_int == 401


def test_get_token_bad_path_or_verb():
    """Swift's answers: 400 for a path of no token form (``/auth/v1``
    included), 405 for any verb but GET."""
    mw = _middleware()
    assert _get_token(mw, path='/auth/v2/x').status_int == 400
    assert _get_token(mw, path='/auth/v1').status_int == 400
    for verb in ('POST', 'HEAD', 'PUT'):
        req = Request.blank('/auth/v1.0', method=verb)
        assert req.get_response(mw).status_int == 405, verb


def test_failed_token_request_names_the_users_account_as_realm():
    resp = _get_token(_middleware(), 'test2:tester', 'wrong')
    assert resp.status_int == 401
    assert resp.headers['Www-Authenticate'] == 'Swift realm="test2"'
    resp = _get_token(_middleware(), 'nocolon', 'wrong')
    assert resp.headers['Www-Authenticate'] == 'Swift realm="unknown"'


def test_token_answer_has_an_empty_body_of_stated_length():
    resp = _get_token(_middleware())
    assert resp.status_int == 200
    assert resp.headers['Content-Length'] == '0' and resp.body == b''


def test_valid_token_sets_groups_and_authorize():
    mw = _middleware()
    token = _get_token(mw).headers['X-Auth-Token']
    seen = {}

    def inner(environ, start_response):
        seen.update(environ)
        return _inner(environ, start_response)
    mw.app = inner
    req = Request.blank('/v1/AUTH_test/c', headers={'X-Auth-Token': token})
    assert req.get_response(mw).status_int == 200
    assert seen['REMOTE_USER'] == 'test,test:tester,AUTH_test'
    assert seen['swift.authorize'](Request(seen)) is None
    assert seen['swift_owner'] is True
    other = Request.blank('/v1/AUTH_test2/c', environ={
        'REMOTE_USER': seen['REMOTE_USER']})
    assert seen['swift.authorize'](other).status_int == 403


def test_expired_or_bad_token_is_401():
    token = _get_token(_middleware(now=1000.0)).headers['X-Auth-Token']
    later = _middleware(now=1000.0 + 86401)
    req = Request.blank('/v1/AUTH_test', headers={'X-Auth-Token': token})
    assert req.get_response(later).status_int == 401
    req = Request.blank('/v1/AUTH_test',
                        headers={'X-Auth-Token': 'AUTH_tkdeadbeef'})
    assert req.get_response(_middleware()).status_int == 401


def test_token_valid_in_another_instance_with_same_config():
    token = _get_token(_middleware()).headers['X-Auth-Token']
    req = Request.blank('/v1/AUTH_test', headers={'X-Storage-Token': token})
    assert req.get_response(_middleware()).body == \
        b'test,test:tester,AUTH_test'


def test_anonymous_request_passes_with_authorize_set():
    seen = {}

    def inner(environ, start_response):
        seen.update(environ)
        return _inner(environ, start_response)
    mw = tempauth.TempAuth(inner, dict(CONF))
    assert Request.blank('/v1/AUTH_test/c/o').get_response(mw).status_int \
        == 200
    assert 'REMOTE_USER' not in seen
    assert seen['swift.authorize'](Request(seen)).status_int == 401
    seen.clear()
    Request.blank('/info').get_response(mw)
    assert 'swift.authorize' not in seen


@pytest.mark.parametrize('path', ['/%s/AUTH_test/c/o' % version
                                  for version in API_VERSIONS])
def test_claims_every_path_the_proxy_routes(path):
    seen = {}

    def inner(environ, start_response):
        seen.update(environ)
        return _inner(environ, start_response)
    Request.blank(path).get_response(tempauth.TempAuth(inner, dict(CONF)))
    assert seen['swift.authorize'](Request(seen)).status_int == 401


def test_keeps_an_overriding_claim():
    seen = {}

    def inner(environ, start_response):
        seen.update(environ)
        return _inner(environ, start_response)

    def tempurl_decision(req):
        return None
    req = Request.blank('/v1/AUTH_test/c/o', environ={
        'swift.authorize': tempurl_decision,
        'swift.authorize_override': True})
    req.get_response(tempauth.TempAuth(inner, dict(CONF)))
    assert seen['swift.authorize'] is tempurl_decision
