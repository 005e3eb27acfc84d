"""tempauth's credential hook (contract in common.access): a fake signing
middleware before tempauth verifies an HMAC signature against tempauth's
users through ``lookup``, and tempauth honours what it verified."""

import hashlib
import hmac

import pytest

from objstore.common.access import (
    CREDENTIALS_KEY, Credentials, await_signature_check)
from objstore.common.http import Request
from objstore.middleware.tempauth import TempAuth

CONF = {
    'user_test_tester': 'testing .admin',
    'user_test_tester3': 'testing3',
    'user_test2_tester2': 'testing2 .admin',
}


def sign(secret, method, path):
    return hmac.new(secret.encode(), ('%s\n%s' % (method, path)).encode(),
                    hashlib.sha256).hexdigest()


class FakeSigner:
    """A stand-in for s3api: ``X-Fake-Key: account:user`` and
    ``X-Fake-Signature: HMAC(secret, method \\n path)``, path relative to
    the user's account (``/<container>[/<object>]``), which it points at the
    account the credentials name once the signature matches."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        key = environ.get('HTTP_X_FAKE_KEY')
        if key:
            await_signature_check(environ, self.verifier(environ, key))
        return self.app(environ, start_response)

    @staticmethod
    def verifier(environ, key):
        def verify(lookup):
            credentials = lookup(key)
            if credentials is None:
                return None
            expected = sign(credentials.secret, environ['REQUEST_METHOD'],
                            environ['PATH_INFO'])
            if not hmac.compare_digest(
                    expected, environ.get('HTTP_X_FAKE_SIGNATURE', '')):
                return None
            environ['PATH_INFO'] = '/v1/%s%s' % (credentials.account,
                                                 environ['PATH_INFO'])
            return credentials
        return verify


class Inner:
    """The rest of the pipeline: asks swift.authorize as the proxy does."""

    def __init__(self):
        self.environ = None

    def __call__(self, environ, start_response):
        # The client's request; later calls are tempauth's account ACL
        # lookups (pre-authorized HEADs).
        self.environ = self.environ or environ
        denied = environ['swift.authorize'](Request(environ))
        if denied is not None:
            return denied(environ, start_response)
        start_response('204 No Content', [])
        return [b'']


@pytest.fixture
def pipeline():
    inner = Inner()
    return FakeSigner(TempAuth(inner, CONF)), inner


def signed(method, path, key, secret):
    return Request.blank(path, method=method, headers={
        'X-Fake-Key': key, 'X-Fake-Signature': sign(secret, method, path)})


def test_good_signature_authenticates_as_the_user(pipeline):
    app, inner = pipeline
    resp = signed('PUT', '/c', 'test:tester', 'testing').get_response(app)
    assert resp.status_int == 204
    assert inner.environ['PATH_INFO'] == '/v1/AUTH_test/c'
    assert inner.environ['REMOTE_USER'] == 'test,test:tester,AUTH_test'
    assert inner.environ.get('swift_owner') is True


def test_user_without_rights_is_still_refused(pipeline):
    app, inner = pipeline
    resp = signed('PUT', '/c', 'test:tester3', 'testing3').get_response(app)
    assert resp.status_int == 403
    assert inner.environ['REMOTE_USER'] == 'test,test:tester3'


@pytest.mark.parametrize('key,secret', [
    ('test:tester', 'wrong'),          # bad signature
    ('test:nobody', 'testing'),        # unknown access key
    ('test2:tester2', 'testing'),      # another user's secret
])
def test_bad_signature_or_key_is_401_before_the_app(pipeline, key, secret):
    app, inner = pipeline
    resp = signed('GET', '/c', key, secret).get_response(app)
    assert resp.status_int == 401
    assert inner.environ is None


def test_a_token_cannot_stand_in_for_a_bad_signature(pipeline):
    app, inner = pipeline
    req = signed('GET', '/c', 'test:tester', 'wrong')
    req.headers['X-Auth-Token'] = 'AUTH_tk' + '0' * 64
    assert req.get_response(app).status_int == 401
    assert inner.environ is None


def test_lookup_is_published_for_later_middlewares():
    inner = Inner()
    app = TempAuth(inner, CONF)
    Request.blank('/v1/AUTH_test', headers={}).get_response(app)
    lookup = inner.environ[CREDENTIALS_KEY]
    assert lookup('test:tester') == Credentials(
        secret='testing', account='AUTH_test', user='test:tester',
        groups=('test', 'test:tester', 'AUTH_test'))
    assert lookup('test:tester3').groups == ('test', 'test:tester3')
    assert lookup('nobody:x') is None
    assert lookup('test') is None

