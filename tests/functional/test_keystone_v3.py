"""The built-in Keystone v3 identity endpoint against the cluster, through
the real Keystone clients (keystoneauth1, python-swiftclient's Connection
and its ``swift --auth-version 3`` CLI) and raw HTTP: tokens, catalog,
validation, discovery, errors, and that the proxy takes its tokens like
tempauth's (owners, plain users, reseller admins)."""

import json
import os
import subprocess
import sys
import uuid
from urllib.parse import urlparse

import pytest
from keystoneauth1 import exceptions as ksa_exceptions
from keystoneauth1 import identity as ksa_identity
from keystoneauth1 import session as ksa_session
from keystoneauth1.identity import v3 as ksa_v3
from keystoneclient.v3 import client as keystone_client
from swiftclient import client as swift_client

from tests.helpers import send_raw

SWIFT = os.path.join(os.path.dirname(sys.executable), 'swift')


def _address(cluster):
    parsed = urlparse(cluster.proxy_url)
    return parsed.hostname, parsed.port


def _post_token(cluster, body, headers=None):
    """(status, headers, decoded JSON body) of a POST /v3/auth/tokens."""
    host, port = _address(cluster)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {'Content-Type': 'application/json'}
    sent.update(headers or {})
    status, got, text = send_raw(host, port, 'POST', '/v3/auth/tokens',
                                 sent, raw)
    return status, got, json.loads(text) if text else None


def _password_body(user, password, project=None, user_domain=None,
                   by='name'):
    user_ref = {'name': user, 'password': password,
                'domain': user_domain or {'name': 'Default'}}
    auth = {'identity': {'methods': ['password'],
                         'password': {'user': user_ref}}}
    if project is not None:
        ref = {'id': project} if by == 'id' else {
            'name': project, 'domain': {'id': 'default'}}
        auth['scope'] = {'project': ref}
    return {'auth': auth}


def _request(cluster, method, path, token, headers=None):
    host, port = _address(cluster)
    sent = {'X-Auth-Token': token}
    sent.update(headers or {})
    return send_raw(host, port, method, path, sent)


def test_keystoneauth_password_session_gets_token_and_endpoint(cluster):
    auth = ksa_v3.Password(
        auth_url=cluster.proxy_url + '/v3', username='tester',
        password=cluster.users['test:tester'], project_name='test',
        user_domain_name='Default', project_domain_name='Default')
    sess = ksa_session.Session(auth=auth)
    token = sess.get_token()
    endpoint = sess.get_endpoint(service_type='object-store',
                                 interface='public')
    assert endpoint == cluster.proxy_url + '/v1/AUTH_test'
    assert sess.get_project_id() == 'test'
    status, _, _ = _request(cluster, 'HEAD', '/v1/AUTH_test', token)
    assert status == 204


@pytest.mark.parametrize('suffix', ['/v3', '/'])
def test_keystoneauth_generic_plugin_discovers_v3(cluster, suffix):
    """The generic plugin (what oslo config loading makes of auth_type
    password) reads the discovery document first, versionless or not;
    the domain by id, as Glance's swift store sets it."""
    auth = ksa_identity.Password(
        auth_url=cluster.proxy_url + suffix, username='tester',
        password=cluster.users['test:tester'], project_name='test',
        user_domain_id='default', project_domain_id='default')
    sess = ksa_session.Session(auth=auth)
    assert sess.get_endpoint(service_type='object-store', interface='internal',
                             region_name='RegionOne') == \
        cluster.proxy_url + '/v1/AUTH_test'
    assert _request(cluster, 'HEAD', '/v1/AUTH_test',
                    sess.get_token())[0] == 204


def test_keystoneclient_session_catalog_as_glance_reads_it(cluster):
    """Glance's swift store: a keystoneclient over a V3Password session,
    the access info's catalog and expiry, then swiftclient with the
    pre-authorized URL and token."""
    auth = ksa_v3.Password(
        auth_url=cluster.proxy_url + '/v3', username='tester',
        password=cluster.users['test:tester'], project_name='test',
        user_domain_id='default', project_domain_id='default')
    client = keystone_client.Client(session=ksa_session.Session(auth=auth))
    auth_ref = client.session.auth.get_auth_ref(client.session)
    url = auth_ref.service_catalog.url_for(
        service_type='object-store', interface='internal',
        region_name='RegionOne')
    assert url == cluster.proxy_url + '/v1/AUTH_test'
    assert not auth_ref.will_expire_soon(stale_duration=60)
    assert auth_ref.project_id == 'test' and 'admin' in auth_ref.role_names
    conn = swift_client.Connection(preauthurl=url,
                                   preauthtoken=auth_ref.auth_token)
    assert conn.head_account()['x-account-container-count'] is not None


def test_keystoneauth_wrong_password_is_unauthorized(cluster):
    auth = ksa_v3.Password(
        auth_url=cluster.proxy_url + '/v3', username='tester',
        password='wrong', project_name='test',
        user_domain_name='Default', project_domain_name='Default')
    with pytest.raises(ksa_exceptions.Unauthorized):
        ksa_session.Session(auth=auth).get_token()


def test_swiftclient_connection_auth_version_3(cluster):
    conn = swift_client.Connection(
        authurl=cluster.proxy_url + '/v3', user='tester',
        key=cluster.users['test:tester'], auth_version='3',
        os_options={'project_name': 'test',
                    'user_domain_name': 'Default',
                    'project_domain_name': 'Default'})
    container = 'ks-' + uuid.uuid4().hex[:8]
    conn.put_container(container)
    conn.put_object(container, 'hello.txt', b'hello keystone')
    _, body = conn.get_object(container, 'hello.txt')
    assert body == b'hello keystone'
    _, listing = conn.get_container(container)
    assert [item['name'] for item in listing] == ['hello.txt']
    assert conn.url == cluster.proxy_url + '/v1/AUTH_test'


def test_swift_cli_auth_version_3(cluster, tmp_path):
    def swift(*args):
        result = subprocess.run(
            [SWIFT, '--auth-version', '3',
             '--os-auth-url', cluster.proxy_url + '/v3',
             '--os-username', 'tester',
             '--os-password', cluster.users['test:tester'],
             '--os-project-name', 'test',
             '--os-user-domain-name', 'Default',
             '--os-project-domain-name', 'Default'] + list(args),
            capture_output=True, timeout=60, cwd=tmp_path, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout
    container = 'ks-cli-' + uuid.uuid4().hex[:8]
    assert 'Account: AUTH_test' in swift('stat')
    (tmp_path / 'data.bin').write_bytes(os.urandom(50000))
    swift('upload', container, 'data.bin')
    assert swift('list', container).split() == ['data.bin']
    swift('download', container, 'data.bin', '--output', 'copy.bin')
    assert (tmp_path / 'copy.bin').read_bytes() == \
        (tmp_path / 'data.bin').read_bytes()


def test_token_document_and_catalog(cluster):
    status, headers, body = _post_token(cluster, _password_body(
        'tester', cluster.users['test:tester'], 'test'))
    assert status == 201
    assert headers['x-subject-token'].startswith('AUTH_tk')
    token = body['token']
    assert token['methods'] == ['password']
    assert token['user']['id'] == 'test:tester'
    assert token['user']['domain'] == {'id': 'default', 'name': 'Default'}
    assert token['project']['id'] == token['project']['name'] == 'test'
    assert {'admin', 'member'} <= {r['name'] for r in token['roles']}
    assert token['expires_at'].endswith('Z') and token['issued_at']
    stores = [s for s in token['catalog'] if s['type'] == 'object-store']
    assert len(stores) == 1
    endpoints = {e['interface']: e for e in stores[0]['endpoints']}
    assert set(endpoints) == {'public', 'internal', 'admin'}
    for endpoint in endpoints.values():
        assert endpoint['url'] == cluster.proxy_url + '/v1/AUTH_test'
        assert endpoint['region'] == 'RegionOne'


@pytest.mark.parametrize('user,project,by', [
    ('test:tester', 'test', 'name'),     # the full tempauth id
    ('tester', 'test', 'id'),            # project by id
    ('test:tester', None, 'name'),       # no scope: the default project
])
def test_other_spellings_of_user_and_project(cluster, user, project, by):
    status, headers, body = _post_token(cluster, _password_body(
        user, cluster.users['test:tester'], project, by=by))
    assert status == 201, body
    assert body['token']['project']['id'] == 'test'
    assert _request(cluster, 'HEAD', '/v1/AUTH_test',
                    headers['x-subject-token'])[0] == 204


@pytest.mark.parametrize('body', [
    _password_body('tester', 'wrong', 'test'),
    _password_body('nobody', 'testing', 'test'),
    _password_body('tester', 'testing', 'test2'),   # not the user's project
    _password_body('tester', 'testing', 'test',
                   user_domain={'name': 'Other'}),
])
def test_bad_credentials_get_keystones_401(cluster, body):
    status, headers, answer = _post_token(cluster, body)
    assert status == 401
    assert answer == {'error': {
        'code': 401, 'title': 'Unauthorized',
        'message': 'The request you have made requires authentication.'}}
    assert headers['www-authenticate'].startswith('Keystone uri=')
    assert 'x-subject-token' not in headers


@pytest.mark.parametrize('raw,content_type', [
    (b'{"auth": ', 'application/json'),
    (b'[1, 2]', 'application/json'),
    (b'{"auth": {"identity": {}}}', 'application/json'),
    (b'{"auth": {"identity": {"methods": ["password"]}}}',
     'application/json'),
    (b'{"auth": {}}', 'text/plain'),
])
def test_bad_body_is_400_with_a_reason(cluster, raw, content_type):
    status, headers, answer = _post_token(
        cluster, raw, {'Content-Type': content_type})
    assert status == 400
    assert answer['error']['code'] == 400
    assert answer['error']['title'] == 'Bad Request'
    assert answer['error']['message']
    assert headers['content-type'] == 'application/json'


def test_validate_token_get_head_and_unknown(cluster):
    _, headers, _ = _post_token(cluster, _password_body(
        'tester', cluster.users['test:tester'], 'test'))
    token = headers['x-subject-token']
    status, got, text = _request(cluster, 'GET', '/v3/auth/tokens', token,
                                 {'X-Subject-Token': token})
    assert status == 200
    assert got['x-subject-token'] == token
    assert json.loads(text)['token']['project']['id'] == 'test'
    status, _, text = _request(cluster, 'HEAD', '/v3/auth/tokens', token,
                               {'X-Subject-Token': token})
    assert status == 200 and text == b''
    forged = token[:-4] + ('0000' if token[-4:] != '0000' else '1111')
    status, _, text = _request(cluster, 'GET', '/v3/auth/tokens', token,
                               {'X-Subject-Token': forged})
    assert status == 404
    assert json.loads(text)['error']['title'] == 'Not Found'
    status, _, _ = _request(cluster, 'GET', '/v3/auth/tokens', forged,
                            {'X-Subject-Token': token})
    assert status == 401


def test_validating_another_users_token_needs_reseller_admin(cluster):
    tokens = {}
    for user, project in (('test:tester', 'test'),
                          ('test2:tester2', 'test2'),
                          ('admin:admin', 'admin')):
        _, headers, _ = _post_token(cluster, _password_body(
            user, cluster.users[user], project))
        tokens[user] = headers['x-subject-token']
    subject = {'X-Subject-Token': tokens['test:tester']}
    assert _request(cluster, 'GET', '/v3/auth/tokens',
                    tokens['test2:tester2'], subject)[0] == 403
    assert _request(cluster, 'GET', '/v3/auth/tokens',
                    tokens['admin:admin'], subject)[0] == 200


def test_discovery_documents(cluster):
    host, port = _address(cluster)
    status, headers, text = send_raw(host, port, 'GET', '/v3', {})
    assert status == 200 and headers['content-type'] == 'application/json'
    version = json.loads(text)['version']
    assert version['id'].startswith('v3.') and version['status'] == 'stable'
    assert version['links'][0]['href'] == cluster.proxy_url + '/v3/'
    status, _, text = send_raw(host, port, 'GET', '/', {})
    assert status == 300
    assert [v['id'] for v in json.loads(text)['versions']['values']] == \
        [version['id']]


def test_tokens_carry_tempauth_groups(cluster):
    """A plain user (tester3) is no owner of its account, the reseller
    admin owns every account: as with tempauth's tokens."""
    _, headers, body = _post_token(cluster, _password_body(
        'tester3', cluster.users['test:tester3'], 'test'))
    assert {r['name'] for r in body['token']['roles']} == {'reader'}
    plain = headers['x-subject-token']
    container = '/v1/AUTH_test/ks-' + uuid.uuid4().hex[:8]
    assert _request(cluster, 'PUT', container, plain)[0] == 403
    _, headers, _ = _post_token(cluster, _password_body(
        'admin', cluster.users['admin:admin'], 'admin'))
    reseller = headers['x-subject-token']
    assert _request(cluster, 'PUT', container, reseller)[0] == 201
    assert _request(cluster, 'DELETE', container, reseller)[0] == 204


def test_unscoped_token_has_no_catalog_and_opens_no_account(cluster):
    body = _password_body('test:tester', cluster.users['test:tester'])
    body['auth']['scope'] = 'unscoped'
    status, headers, answer = _post_token(cluster, body)
    assert status == 201
    assert 'catalog' not in answer['token']
    assert 'project' not in answer['token']
    unscoped = headers['x-subject-token']
    assert _request(cluster, 'HEAD', '/v1/AUTH_test', unscoped)[0] == 401
    rescope = {'auth': {'identity': {'methods': ['token'],
                                     'token': {'id': unscoped}},
                        'scope': {'project': {'id': 'test'}}}}
    status, headers, answer = _post_token(cluster, rescope)
    assert status == 201
    assert answer['token']['project']['id'] == 'test'
    assert _request(cluster, 'HEAD', '/v1/AUTH_test',
                    headers['x-subject-token'])[0] == 204
