"""keystone_v3: reading token requests, finding users and projects, the
token document, and the endpoint as tempauth serves it (in process)."""

import json

import pytest
from hypothesis import example, given, strategies as st

from objstore.common.http import Request
from objstore.middleware import keystone_v3, tempauth
from objstore.middleware.keystone_v3 import (
    UNSCOPED, Grant, KeystoneError, Ref, decode_body, find_user,
    parse_token_ask, scoped_project, token_document)
from tests.unit.strategies import hostile_text

CONF = {
    'user_test_tester': 'testing .admin',
    'user_test_tester3': 'testing3',
    'user_test2_tester2': 'testing2 .admin',
    'user_test2_tester': 'other',
    'user_admin_admin': 'adminpw .admin .reseller_admin',
    'token_secret': 'unit',
}
USERS = tempauth.parse_users(CONF)
DEFAULT = Ref('default')


def _password(user, password='testing', domain=None, scope=None):
    user = dict(user, password=password)
    if domain is not None:
        user['domain'] = domain
    auth = {'identity': {'methods': ['password'],
                         'password': {'user': user}}}
    if scope is not None:
        auth['scope'] = scope
    return {'auth': auth}


# ------------------------------------------------------------- parsing


def test_parse_password_by_name_and_project_by_name():
    ask = parse_token_ask(_password(
        {'name': 'tester'}, domain={'name': 'Default'},
        scope={'project': {'name': 'test', 'domain': {'id': 'default'}}}))
    assert ask.method == 'password' and ask.password == 'testing'
    assert ask.user == Ref(name='tester', domain=Ref(name='Default'))
    assert ask.scope == Ref(name='test', domain=Ref('default'))


def test_parse_token_method_and_unscoped():
    ask = parse_token_ask({'auth': {
        'identity': {'methods': ['token'], 'token': {'id': 'AUTH_tkx'}},
        'scope': 'unscoped'}})
    assert (ask.method, ask.token, ask.scope) == ('token', 'AUTH_tkx',
                                                  UNSCOPED)


@pytest.mark.parametrize('document,status,text', [
    ({}, 400, "'identity' is a required property"),
    ({'auth': []}, 400, "Invalid input for field 'auth'"),
    ({'auth': {'identity': {}}}, 400,
     "Invalid input for field 'identity': 'methods' is a required"),
    ({'auth': {'identity': {'methods': 'password'}}}, 400,
     "'identity/methods': not of type 'array'"),
    ({'auth': {'identity': {'methods': ['totp'], 'totp': {}}}}, 401,
     'unsupported method'),
    ({'auth': {'identity': {'methods': ['password']}}}, 400,
     'Expecting to find password in identity.'),
    ({'auth': {'identity': {'methods': ['password'], 'password': {}}}},
     400, 'Expecting to find user in password.'),
    (_password({'domain': {'id': 'default'}}), 400,
     'Expecting to find id or name in user.'),
    (_password({'name': 'tester'}), 400,
     'Expecting to find domain in user.'),
    (_password({'name': 5}, domain={}), 400,
     "'identity/password/user/name': not of type 'string'"),
    (_password({'id': 'test:tester'}, scope={'project': {'name': 'x'}}),
     400, 'Expecting to find domain in project.'),
    (_password({'id': 'test:tester'}, scope={'project': {}}), 400,
     'Expecting to find id or name in project.'),
    (_password({'id': 'test:tester'}, scope=7), 400,
     "Invalid input for field 'scope'"),
])
def test_parse_errors_are_keystones(document, status, text):
    with pytest.raises(KeystoneError) as caught:
        parse_token_ask(document)
    assert caught.value.status == status
    assert text in caught.value.message


@pytest.mark.parametrize('body,content_type', [
    (b'{"auth": ', 'application/json'),
    (b'"a string"', None),
    (b'\xff\xfe', 'application/json'),
    (b'{"auth": {}}', 'application/x-www-form-urlencoded'),
])
def test_decode_body_refuses_what_is_not_a_json_object(body, content_type):
    with pytest.raises(KeystoneError) as caught:
        decode_body(body, content_type)
    assert caught.value.status == 400


def test_decode_body_takes_json_with_parameters_and_no_type():
    assert decode_body(b'{}', 'application/json; charset=UTF-8') == {}
    assert decode_body(b'{"a": 1}', None) == {'a': 1}
    assert decode_body(b'', 'text/plain') == {}


# ----------------------------------------------------- users and scope


@pytest.mark.parametrize('user,scope,found', [
    (Ref(id='test:tester'), None, 'test:tester'),
    (Ref(name='test:tester', domain=DEFAULT), None, 'test:tester'),
    (Ref(name='tester', domain=DEFAULT), Ref(name='test2', domain=DEFAULT),
     'test2:tester'),
    (Ref(name='tester', domain=DEFAULT), Ref(id='test'), 'test:tester'),
    # short name, no project: only when one account has such a user
    (Ref(name='tester3', domain=Ref(name='Default')), None, 'test:tester3'),
    (Ref(name='tester', domain=DEFAULT), None, None),
    (Ref(name='tester3', domain=Ref(name='Other')), None, None),
    (Ref(name='tester3', domain=Ref('other')), None, None),
    (Ref(id='test:nobody'), None, None),
])
def test_find_user(user, scope, found):
    got = find_user(USERS, user, scope)
    assert (got.user_id if got else None) == found


def test_scope_is_the_users_own_account_or_none():
    user = USERS['test:tester']
    assert scoped_project(user, None) == 'test'
    assert scoped_project(user, Ref(id='test')) == 'test'
    assert scoped_project(user, UNSCOPED) is None
    for other in (Ref(id='test2'), Ref(name='test', domain=Ref('other')),
                  Ref()):
        with pytest.raises(KeystoneError) as caught:
            scoped_project(user, other)
        assert caught.value.status == 401


def test_token_document_scoped_and_unscoped():
    grant = Grant('test:tester', 'test', ('.admin',), ('password',),
                  0, 3600)
    urls = ('http://h/v1/AUTH_test', 'http://h/v3')
    token = token_document(grant, 'AUTH_tkx', urls, 'RegionOne')['token']
    assert token['expires_at'] == '1970-01-01T01:00:00.000000Z'
    assert [s['type'] for s in token['catalog']] == ['object-store',
                                                     'identity']
    assert len(token['audit_ids'][0]) == 22
    unscoped = Grant('test:tester', None, ('.admin',), ('password',), 0, 1)
    token = token_document(unscoped, 'AUTH_tkx', urls, 'RegionOne')['token']
    assert not {'project', 'roles', 'catalog'} & set(token)
    token = token_document(grant, 'AUTH_tkx', None, 'RegionOne')['token']
    assert 'catalog' not in token and token['project']['id'] == 'test'


# ---------------------------------------------------- through tempauth


def _inner(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [environ.get('REMOTE_USER', '-').encode()]


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def _middleware(clock=None, **options):
    conf = dict(CONF, **options)
    return tempauth.TempAuth(_inner, conf, clock=clock or Clock())


def _post(mw, document, headers=None, path='/v3/auth/tokens'):
    body = document if isinstance(document, bytes) else \
        json.dumps(document).encode()
    sent = {'Content-Type': 'application/json', 'Host': 'proxy:8080'}
    sent.update(headers or {})
    return Request.blank(path, method='POST', body=body,
                         headers=sent).get_response(mw)


def _token(mw, user='test:tester', password='testing', scope=None):
    resp = _post(mw, _password({'name': user}, password,
                               {'id': 'default'}, scope))
    assert resp.status_int == 201, resp.body
    return resp.headers['X-Subject-Token'], resp.json['token']


def test_issued_token_is_a_tempauth_token_with_the_users_groups():
    mw = _middleware()
    token, body = _token(mw)
    assert body['catalog'][0]['endpoints'][0]['url'] == \
        'http://proxy:8080/v1/AUTH_test'
    resp = Request.blank('/v1/AUTH_test', headers={
        'X-Auth-Token': token}).get_response(mw)
    assert resp.body == b'test,test:tester,AUTH_test'


def test_catalog_uses_the_configured_storage_url_and_region():
    mw = _middleware(user_test_tester='testing .admin https://s/v1/AUTH_x',
                     keystone_region='North')
    _, body = _token(mw)
    endpoint = body['catalog'][0]['endpoints'][0]
    assert (endpoint['url'], endpoint['region']) == \
        ('https://s/v1/AUTH_x', 'North')


def test_nocatalog_query_leaves_the_catalog_out():
    resp = _post(_middleware(), _password(
        {'id': 'test:tester'}), path='/v3/auth/tokens?nocatalog')
    assert resp.status_int == 201 and 'catalog' not in resp.json['token']


def test_wrong_password_is_401_json_with_keystone_challenge():
    resp = _post(_middleware(), _password({'id': 'test:tester'}, 'bad'))
    assert resp.status_int == 401
    assert resp.headers['WWW-Authenticate'] == \
        'Keystone uri="http://proxy:8080"'
    assert resp.json['error']['title'] == 'Unauthorized'


def test_challenge_quotes_a_hostile_host():
    resp = _post(_middleware(), _password({'id': 'test:tester'}, 'bad'),
                 {'Host': 'a"b'})
    assert resp.headers['WWW-Authenticate'] == 'Keystone uri="http://a%22b"'


def test_oversized_body_is_413():
    resp = _post(_middleware(), b'{"a": "%s"}' % (b'x' * 120000))
    assert resp.status_int == 413
    assert resp.json['error']['code'] == 413


def test_validation_follows_the_clock_and_keeps_expiry():
    clock = Clock()
    mw = _middleware(clock=clock, token_life='100')
    token, issued = _token(mw)
    clock.now += 50
    resp = Request.blank('/v3/auth/tokens', headers={
        'X-Auth-Token': token, 'X-Subject-Token': token}).get_response(mw)
    assert resp.status_int == 200
    assert resp.json['token']['expires_at'] == issued['expires_at']
    assert resp.json['token']['issued_at'] == issued['issued_at']
    clock.now += 60
    resp = Request.blank('/v3/auth/tokens', headers={
        'X-Auth-Token': token, 'X-Subject-Token': token}).get_response(mw)
    assert resp.status_int == 401


def test_validation_needs_the_subject_header():
    mw = _middleware()
    token, _ = _token(mw)
    resp = Request.blank('/v3/auth/tokens', headers={
        'X-Auth-Token': token}).get_response(mw)
    assert resp.status_int == 400
    assert 'X-Subject-Token' in resp.json['error']['message']


def test_rescoped_token_keeps_the_original_expiry():
    clock = Clock()
    mw = _middleware(clock=clock)
    unscoped, first = _token(mw, scope='unscoped')
    clock.now += 30
    resp = _post(mw, {'auth': {
        'identity': {'methods': ['token'], 'token': {'id': unscoped}}}})
    assert resp.status_int == 201
    assert resp.json['token']['expires_at'] == first['expires_at']
    assert resp.json['token']['methods'] == ['token']
    assert resp.json['token']['project']['id'] == 'test'


@pytest.mark.parametrize('method,path,status', [
    ('DELETE', '/v3/auth/tokens', 405),
    ('PUT', '/v3', 405),
    ('POST', '/', 405),
    ('GET', '/v3/projects', 404),
    ('HEAD', '/v3', 200),
    ('HEAD', '/', 300),
    ('GET', '/v3/', 200),
])
def test_other_verbs_and_paths(method, path, status):
    resp = Request.blank(path, method=method).get_response(_middleware())
    assert resp.status_int == status
    assert resp.headers['Content-Type'] == 'application/json'
    if method == 'HEAD':
        assert resp.body == b''


def test_turned_off_the_paths_go_on_to_the_proxy():
    mw = _middleware(keystone_v3='false')
    resp = _post(mw, _password({'id': 'test:tester'}))
    assert resp.status_int == 200 and resp.body == b'-'


def test_handles_only_identity_paths():
    assert keystone_v3.handles('/v3/auth/tokens')
    assert not keystone_v3.handles('/v30')
    assert not keystone_v3.handles('/v1/AUTH_test')
    assert not keystone_v3.handles('/info')


# ---------------------------------------------------------- properties

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), hostile_text,
    st.sampled_from(('password', 'token', 'unscoped', 'default', 'Default',
                     'test', 'tester', 'test:tester', 'testing', '\ud800',
                     'AUTH_tk00')))
json_keys = st.sampled_from((
    'auth', 'identity', 'methods', 'password', 'token', 'user', 'id',
    'name', 'domain', 'scope', 'project', 'system', 'x'))
json_value = st.recursive(
    json_leaf, lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(json_keys, inner, max_size=4)),
    max_leaves=12)


@given(document=st.dictionaries(json_keys, json_value, max_size=3))
@example(document={'auth': {'identity': {'methods': ['token'],
                                         'token': {'id': '\ud800'}}}})
@example(document={'auth': {'identity': {'methods': ['password'],
                                         'password': {'user': {
                                             'id': 'test:tester',
                                             'password': '\ud800'}}}}})
def test_any_json_body_gets_an_answer_below_500(document):
    """Whatever a client posts, the endpoint answers 201 or a 4xx in
    Keystone's shape, never a traceback."""
    body = json.dumps(document).encode()
    resp = _post(_middleware(), body, {
        'X-Auth-Token': 'AUTH_tk\xff'}, path='/v3/auth/tokens?%FF')
    assert resp.status_int == 201 or 400 <= resp.status_int < 500
    if resp.status_int != 201:
        assert set(resp.json['error']) == {'code', 'message', 'title'}


@given(auth=hostile_text, subject=hostile_text)
def test_any_validation_headers_get_an_answer_below_500(auth, subject):
    headers = {}
    for name, value in (('X-Auth-Token', auth), ('X-Subject-Token', subject)):
        try:
            value.encode('latin-1')
        except UnicodeEncodeError:
            continue
        headers[name] = value
    resp = Request.blank('/v3/auth/tokens?nocatalog',
                         headers=headers).get_response(_middleware())
    assert 400 <= resp.status_int < 500
