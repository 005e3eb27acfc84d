"""console's routing and access in front of the real tempauth filter, over
a tiny inner app standing in for the proxy (the edge of the unit)."""

import json
import os
from urllib.parse import urlencode

import pytest

from objstore.common.access import is_claimed, unauthorized
from objstore.common.http import Request, Response
from objstore.middleware.console.middleware import (
    COOKIE, Console, ConsoleConf, Identity)
from objstore.middleware.tempauth import TempAuth
from tests.helpers import assert_sample_matches

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'proxy-server.conf-sample')
USERS = {
    'user_admin_admin': 'admin .admin .reseller_admin',
    'user_test_tester': 'testing .admin',
    'user_test_tester3': 'testing3',
}


def fake_proxy(environ, start_response):
    """The proxy's answers the console asks for, checked by tempauth."""
    req = Request(environ)
    if req.path == '/info':
        return Response(status=200)(environ, start_response)
    if not is_claimed(environ):
        return unauthorized(req.path)(environ, start_response)
    denied = environ['swift.authorize'](req)
    if denied is not None:
        return denied(environ, start_response)
    listing = [{'name': '<c>', 'count': 1, 'bytes': 2}]
    return Response(status=200, body=json.dumps(listing).encode(),
                    content_type='application/json', headers={
                        'X-Account-Container-Count': '1'})(
                            environ, start_response)


@pytest.fixture
def app(tmp_path):
    conf = dict(USERS, token_secret='s3cret', conf_dir=str(tmp_path))
    return Console(TempAuth(fake_proxy, conf), conf)


def login(app, user, key, headers=None):
    req = Request.blank('/console/login', method='POST',
                        body=urlencode({'user': user, 'key': key}).encode(),
                        headers=dict({'Content-Type': 'application/'
                                      'x-www-form-urlencoded'},
                                     **(headers or {})))
    return req.get_response(app)


def cookie_of(resp):
    return resp.headers['Set-Cookie'].split(';', 1)[0].split('=', 1)[1]


def get(app, path, cookie=None):
    req = Request.blank(path)
    if cookie:
        req.headers['Cookie'] = '%s=%s' % (COOKIE, cookie)
    return req.get_response(app)


def test_sample_matches_conf():
    assert_sample_matches(ConsoleConf, SAMPLE, 'filter:console',
                          ignore=('use',))


def test_other_paths_pass_through(app):
    assert get(app, '/info').status_int == 200
    assert get(app, '/consoles').status_int == 401


def test_identity_from_tempauth_groups():
    who = Identity.from_groups('test,test:tester,AUTH_test', 'AUTH_')
    assert who.account == 'AUTH_test' and who.account_owner
    assert not who.reseller_admin
    plain = Identity.from_groups('test,test:tester3', 'AUTH_')
    assert not plain.account_owner


def test_login_then_pages_by_role(app):
    assert get(app, '/console/').status_int == 303
    assert login(app, 'admin:admin', 'wrong').status_int == 401
    owner = cookie_of(login(app, 'test:tester', 'testing'))
    resp = get(app, '/console/', owner)
    assert resp.status_int == 303
    assert resp.location.endswith('/console/browse')
    assert get(app, '/console/rings', owner).status_int == 403
    page = get(app, '/console/browse', owner)
    assert page.status_int == 200
    assert b'&lt;c&gt;' in page.body and b'<c>' not in page.body
    plain = cookie_of(login(app, 'test:tester3', 'testing3'))
    assert get(app, '/console/browse', plain).status_int == 403
    admin = cookie_of(login(app, 'admin:admin', 'admin'))
    assert get(app, '/console/rings', admin).status_int == 200


def test_login_refuses_other_origins_and_big_forms(app):
    resp = login(app, 'admin:admin', 'admin',
                 {'Origin': 'http://evil.example'})
    assert resp.status_int == 403 and 'Set-Cookie' not in resp.headers
    req = Request.blank('/console/login', method='POST',
                        body=b'user=' + b'x' * 5000)
    assert req.get_response(app).status_int == 413
    req = Request.blank('/console/login', method='POST', body=b'--zz\r\n',
                        headers={'Content-Type': 'multipart/form-data; '
                                                 'boundary=zz'})
    resp = req.get_response(app)
    assert resp.status_int == 400
    assert resp.body == b'The login form must be ' \
        b'application/x-www-form-urlencoded'


def test_writes_are_refused(app):
    admin = cookie_of(login(app, 'admin:admin', 'admin'))
    req = Request.blank('/console/rings', method='DELETE')
    req.headers['Cookie'] = '%s=%s' % (COOKIE, admin)
    resp = req.get_response(app)
    assert resp.status_int == 405
    assert resp.headers['Allow'] == 'GET, HEAD'


def test_unreadable_ring_is_a_clear_503(app, tmp_path):
    (tmp_path / 'object.ring.gz').write_bytes(b'not a ring')
    admin = cookie_of(login(app, 'admin:admin', 'admin'))
    for path in ('/console/rings', '/console/'):
        resp = get(app, path, admin)
        assert resp.status_int == 503
        assert b'Rings unreadable' in resp.body
