"""Account ACLs (``X-Account-Access-Control``), the token endpoint, 401
realms and ``/info``, as upstream Swift answers them, through real HTTP
against the aio cluster.

Each ACL test works in an account of its own, which the reseller admin
creates by setting the ACL (account autocreation), so the grants never
reach the accounts other tests use.
"""

import http.client
import json
import uuid
from urllib.parse import quote, urlparse

import pytest

OWNER = 'admin:admin'       # a reseller admin: owner of every AUTH_ account
GRANTEE = 'test:tester3'    # a user of no group, granted by the ACLs
STRANGER = 'test2:tester2'  # a user of another account, granted nothing


class Answer:
    def __init__(self, resp):
        self.status = resp.status
        self.headers = resp.msg
        self.body = resp.read()


def send(cluster, method, path, headers=None, body=None):
    """One raw request to the proxy: an Answer with status, headers, body."""
    proxy = urlparse(cluster.proxy_url)
    conn = http.client.HTTPConnection(proxy.hostname, proxy.port,
                                      timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        return Answer(conn.getresponse())
    finally:
        conn.close()


@pytest.fixture(scope='module')
def tokens(cluster):
    return {user: cluster.get_token(user)[1]
            for user in (OWNER, GRANTEE, STRANGER)}


def as_user(cluster, tokens, user, method, path, headers=None, body=None):
    headers = dict(headers or {})
    headers['X-Auth-Token'] = tokens[user]
    return send(cluster, method, quote(path), headers, body)


def account_with_acl(cluster, tokens, acl):
    """A new account holding c/o, whose ACL is ``acl`` (a dict)."""
    account = '/v1/AUTH_acl%s' % uuid.uuid4().hex[:10]
    answer = as_user(cluster, tokens, OWNER, 'POST', account,
                     {'X-Account-Access-Control': json.dumps(acl)})
    assert answer.status == 204, answer.body
    assert as_user(cluster, tokens, OWNER, 'PUT', account + '/c').status \
        == 201
    assert as_user(cluster, tokens, OWNER, 'PUT', account + '/c/o',
                   body=b'hello world').status == 201
    return account


def statuses(cluster, tokens, user, account):
    """What ``user`` gets for each kind of request in ``account``."""
    def status(method, path, headers=None, body=None):
        return as_user(cluster, tokens, user, method, account + path,
                       headers, body).status
    return {
        'list account': status('GET', ''),
        'head account': status('HEAD', ''),
        'list container': status('GET', '/c'),
        'read object': status('GET', '/c/o'),
        'write object': status('PUT', '/c/o2', body=b'x'),
        'delete object': status('DELETE', '/c/o'),
        'create container': status('PUT', '/c2'),
        'delete container': status('DELETE', '/c2'),
        'post account': status('POST', '', {'X-Account-Meta-A': '1'}),
    }


READS = {'list account': 200, 'head account': 204, 'list container': 200,
         'read object': 200}
WRITES = {'write object': 201, 'delete object': 204,
          'create container': 201, 'delete container': 204}
DENIED_WRITES = dict.fromkeys(WRITES, 403)


@pytest.mark.parametrize('level,expected', [
    ('read-only', dict(READS, **DENIED_WRITES, **{'post account': 403})),
    ('read-write', dict(READS, **WRITES, **{'post account': 403})),
    ('admin', dict(READS, **WRITES, **{'post account': 204})),
])
def test_account_acl_levels_grant_what_swift_grants(cluster, tokens, level,
                                                    expected):
    account = account_with_acl(cluster, tokens, {level: [GRANTEE]})
    assert statuses(cluster, tokens, GRANTEE, account) == expected


def test_account_acl_grants_by_account_name_and_no_one_else(cluster, tokens):
    account = account_with_acl(cluster, tokens, {'read-only': ['test']})
    assert as_user(cluster, tokens, GRANTEE, 'GET', account).body == b'c\n'
    assert as_user(cluster, tokens, STRANGER, 'GET', account).status == 403
    assert send(cluster, 'GET', account).status == 401


def test_only_owners_see_the_acl_canonical(cluster, tokens):
    account = account_with_acl(cluster, tokens, {
        'read-write': [GRANTEE], 'admin': [STRANGER]})
    shown = '{"admin":["%s"],"read-write":["%s"]}' % (STRANGER, GRANTEE)
    for user in (OWNER, STRANGER):   # the admin grant makes an owner
        answer = as_user(cluster, tokens, user, 'HEAD', account)
        assert answer.headers['X-Account-Access-Control'] == shown, user
    answer = as_user(cluster, tokens, GRANTEE, 'HEAD', account)
    assert answer.status == 204
    assert 'X-Account-Access-Control' not in answer.headers
    assert not [name for name in answer.headers
                if name.lower().startswith('x-account-sysmeta-')]


def test_admin_grant_may_change_the_acl_and_empty_removes_it(cluster,
                                                              tokens):
    account = account_with_acl(cluster, tokens, {'admin': [GRANTEE]})
    assert as_user(cluster, tokens, GRANTEE, 'POST', account, {
        'X-Account-Access-Control': '{"read-only": ["%s"]}' % STRANGER,
    }).status == 204
    assert as_user(cluster, tokens, STRANGER, 'GET', account).status == 200
    assert as_user(cluster, tokens, GRANTEE, 'GET', account).status == 403
    assert as_user(cluster, tokens, OWNER, 'POST', account, {
        'X-Account-Access-Control': '{}'}).status == 204
    answer = as_user(cluster, tokens, OWNER, 'HEAD', account)
    assert 'X-Account-Access-Control' not in answer.headers
    assert as_user(cluster, tokens, STRANGER, 'GET', account).status == 403


def test_client_sysmeta_cannot_forge_an_acl(cluster, tokens):
    account = account_with_acl(cluster, tokens, {})
    assert as_user(cluster, tokens, OWNER, 'POST', account, {
        'X-Account-Sysmeta-Core-Access-Control':
            '{"admin": ["%s"]}' % GRANTEE}).status == 204
    assert as_user(cluster, tokens, GRANTEE, 'GET', account).status == 403


@pytest.mark.parametrize('value,reason', [
    ('not json', "Syntax error in input ('not json')"),
    ('["a"]', """Syntax error in input ('["a"]')"""),
    ('{"superuser": ["x"]}', 'Key "superuser" not recognized'),
    ('{"admin": "x"}', 'Value for key "admin" must be a list'),
    ('{"read-only": [1]}', 'Elements of "read-only" list must be strings'),
])
def test_invalid_acl_gets_swifts_400(cluster, tokens, value, reason):
    account = account_with_acl(cluster, tokens, {})
    answer = as_user(cluster, tokens, OWNER, 'POST', account,
                     {'X-Account-Access-Control': value})
    assert answer.status == 400
    assert answer.headers['Content-Type'] == 'text/plain; charset=UTF-8'
    assert answer.body == (
        'X-Account-Access-Control invalid: %s\n\nInput: %s\n'
        % (reason, value)).encode()


# ------------------------------------------------------ token endpoint


def test_token_endpoint_answers_as_swift(cluster):
    creds = {'X-Auth-User': 'test:tester', 'X-Auth-Key': 'testing'}
    good = send(cluster, 'GET', '/auth/v1.0', creds)
    assert good.status == 200 and good.body == b''
    assert good.headers['Content-Length'] == '0'
    assert 'Transfer-Encoding' not in good.headers
    assert send(cluster, 'GET', '/auth/v1', creds).status == 400
    for verb in ('POST', 'HEAD'):
        assert send(cluster, verb, '/auth/v1.0', creds).status == 405, verb
    wrong = send(cluster, 'GET', '/auth/v1.0',
                 {'X-Auth-User': 'test2:tester', 'X-Auth-Key': 'wrong'})
    assert wrong.status == 401
    assert wrong.headers['Www-Authenticate'] == 'Swift realm="test2"'


@pytest.mark.parametrize('path', ['/v1/AUTH_test/c', '/v1/AUTH_test/c/o'])
def test_401_realm_is_the_account_only(cluster, path):
    answer = send(cluster, 'GET', path, {'X-Auth-Token': 'AUTH_tkbogus'})
    assert answer.status == 401
    assert answer.headers['Www-Authenticate'] == 'Swift realm="AUTH_test"'


# ---------------------------------------------------------------- /info


def test_info_as_swift_lists_it(cluster):
    answer = send(cluster, 'GET', '/info')
    assert answer.status == 200
    assert answer.headers['Content-Type'] == \
        'application/json; charset=UTF-8'
    info = json.loads(answer.body)
    assert info['tempauth'] == {'account_acls': True}
    swift_keys = {
        'version', 'strict_cors_mode', 'policies',
        'allow_account_management', 'account_autocreate',
        'allow_open_expired', 'max_file_size', 'max_meta_name_length',
        'max_meta_value_length', 'max_meta_count', 'max_meta_overall_size',
        'max_header_size', 'max_request_line', 'max_object_name_length',
        'container_listing_limit', 'account_listing_limit',
        'max_account_name_length', 'max_container_name_length',
        'valid_api_versions', 'extra_header_count',
        'auto_create_account_prefix'}
    assert set(info['swift']) == swift_keys
    assert info['swift']['valid_api_versions'] == ['v1', 'v1.0']


def test_signed_admin_info_is_refused_without_an_admin_key(cluster):
    answer = send(cluster, 'GET',
                  '/info?swiftinfo_sig=x&swiftinfo_expires=1')
    assert answer.status == 403
    assert b'Access was denied' in answer.body
    # Any other query is read, never refused, not-UTF-8 bytes included.
    assert send(cluster, 'GET', '/info?prefix=%ED%A0%80').status == 200


def test_read_write_grant_cannot_set_owner_only_headers(cluster, tokens):
    """As in Swift, a user an account ACL lets write containers is no
    owner: the container ACL it sends is dropped, not stored."""
    account = account_with_acl(cluster, tokens, {'read-write': [GRANTEE]})
    assert as_user(cluster, tokens, GRANTEE, 'POST', account + '/c', {
        'X-Container-Read': '.r:*,.rlistings',
        'X-Container-Meta-Color': 'red'}).status == 204
    answer = as_user(cluster, tokens, OWNER, 'HEAD', account + '/c')
    assert answer.headers['X-Container-Meta-Color'] == 'red'
    assert 'X-Container-Read' not in answer.headers
    assert send(cluster, 'GET', account + '/c/o').status == 401
