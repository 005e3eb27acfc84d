"""Auth, cross-account isolation and every container ACL form, positive
and negative, through real HTTP against the multi-process cluster:
401 without a valid token, 403 with a valid token but no right."""

import http.client
import uuid
from urllib.parse import quote, urlparse

import pytest
from swiftclient.client import Connection


class User:
    """Raw HTTP as one user (or anonymous), on any account."""

    def __init__(self, cluster, user=None, token=None):
        self.cluster = cluster
        self.token = token
        self.url = None
        if user:
            conn = Connection(cluster.auth_url, user, cluster.users[user],
                              retries=0)
            self.url, self.token = conn.get_auth()

    def __call__(self, method, account, path='', headers=None, body=None):
        proxy = urlparse(self.cluster.proxy_url)
        headers = dict(headers or {})
        if self.token:
            headers['X-Auth-Token'] = self.token
        conn = http.client.HTTPConnection(proxy.hostname, proxy.port,
                                          timeout=30)
        try:
            conn.request(method, '/v1/%s%s' % (account, quote(path)),
                         body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()


@pytest.fixture(scope='module')
def users(cluster):
    return {'owner': User(cluster, 'test:tester'),
            'plain': User(cluster, 'test:tester3'),
            'other': User(cluster, 'test2:tester2'),
            'reseller': User(cluster, 'admin:admin'),
            'anonymous': User(cluster),
            'forged': User(cluster, token='AUTH_tk' + '0' * 64)}


@pytest.fixture
def shared(users):
    """A container of AUTH_test with one object, no ACL yet."""
    name = 'acl-' + uuid.uuid4().hex[:8]
    owner = users['owner']
    assert owner('PUT', 'AUTH_test', '/' + name)[0] == 201
    assert owner('PUT', 'AUTH_test', '/%s/o' % name, body=b'data')[0] == 201
    return name


def set_acl(users, container, read=None, write=None):
    headers = {'X-Container-Read': read or '',
               'X-Container-Write': write or ''}
    assert users['owner']('POST', 'AUTH_test', '/' + container,
                           headers)[0] == 204


def test_auth_endpoint_rejects_bad_credentials(cluster):
    proxy = urlparse(cluster.proxy_url)
    conn = http.client.HTTPConnection(proxy.hostname, proxy.port, timeout=10)
    try:
        for user, key in (('test:tester', 'wrong'), ('nobody:x', 'y'),
                          ('test:tester', '')):
            conn.request('GET', '/auth/v1.0', headers={
                'X-Auth-User': user, 'X-Auth-Key': key})
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 401, user
    finally:
        conn.close()


def test_isolation_without_acl(users, shared):
    obj = '/%s/o' % shared
    assert users['owner']('GET', 'AUTH_test', obj) == (200, b'data')
    assert users['anonymous']('GET', 'AUTH_test', obj)[0] == 401
    assert users['forged']('GET', 'AUTH_test', obj)[0] == 401
    for who in ('plain', 'other'):
        assert users[who]('GET', 'AUTH_test', obj)[0] == 403
        assert users[who]('GET', 'AUTH_test', '/' + shared)[0] == 403
        assert users[who]('GET', 'AUTH_test')[0] == 403
        assert users[who]('PUT', 'AUTH_test', obj, body=b'x')[0] == 403
        assert users[who]('DELETE', 'AUTH_test', obj)[0] == 403
        assert users[who]('POST', 'AUTH_test', '/' + shared,
                          {'X-Container-Read': '.r:*'})[0] == 403
    assert users['other']('PUT', 'AUTH_test', '/newc')[0] == 403
    assert users['reseller']('GET', 'AUTH_test', obj) == (200, b'data')
    assert users['owner']('GET', 'AUTH_test2')[0] == 403


def test_user_read_acl(users, shared):
    set_acl(users, shared, read='test2:tester2')
    obj = '/%s/o' % shared
    assert users['other']('GET', 'AUTH_test', obj) == (200, b'data')
    assert users['other']('GET', 'AUTH_test', '/' + shared) == (200, b'o\n')
    assert users['other']('PUT', 'AUTH_test', obj, body=b'x')[0] == 403
    assert users['plain']('GET', 'AUTH_test', obj)[0] == 403
    assert users['anonymous']('GET', 'AUTH_test', obj)[0] == 401


def test_account_wildcard_acl(users, shared):
    set_acl(users, shared, read='test:*')
    obj = '/%s/o' % shared
    assert users['plain']('GET', 'AUTH_test', obj) == (200, b'data')
    assert users['other']('GET', 'AUTH_test', obj)[0] == 403


def test_write_acl(users, shared):
    set_acl(users, shared, write='test2:tester2')
    obj = '/%s/w' % shared
    assert users['other']('PUT', 'AUTH_test', obj, body=b'w')[0] == 201
    assert users['other']('DELETE', 'AUTH_test', obj)[0] == 204
    assert users['other']('GET', 'AUTH_test', '/%s/o' % shared)[0] == 403
    assert users['plain']('PUT', 'AUTH_test', obj, body=b'w')[0] == 403
    set_acl(users, shared, write='test:*')
    assert users['plain']('PUT', 'AUTH_test', obj, body=b'w')[0] == 201
    assert users['other']('PUT', 'AUTH_test', obj, body=b'w')[0] == 403


def test_public_read_and_listing(users, shared):
    obj = '/%s/o' % shared
    set_acl(users, shared, read='.r:*')
    assert users['anonymous']('GET', 'AUTH_test', obj) == (200, b'data')
    assert users['anonymous']('GET', 'AUTH_test', '/' + shared)[0] == 401
    assert users['other']('GET', 'AUTH_test', '/' + shared)[0] == 403
    assert users['anonymous']('PUT', 'AUTH_test', obj, body=b'x')[0] == 401
    set_acl(users, shared, read='.r:*,.rlistings')
    assert users['anonymous']('GET', 'AUTH_test', '/' + shared) == \
        (200, b'o\n')


def test_referrer_acl(users, shared):
    obj = '/%s/o' % shared
    set_acl(users, shared, read='.r:.example.com,.r:-bad.example.com')
    good = {'Referer': 'http://www.example.com/page'}
    bad = {'Referer': 'http://bad.example.com/page'}
    assert users['anonymous']('GET', 'AUTH_test', obj, good) == (200, b'data')
    assert users['anonymous']('GET', 'AUTH_test', obj, bad)[0] == 401
    assert users['anonymous']('GET', 'AUTH_test', obj)[0] == 401
    assert users['other']('GET', 'AUTH_test', obj, bad)[0] == 403


def test_invalid_acl_is_400(users, shared):
    for headers in ({'X-Container-Read': '.r:'},
                    {'X-Container-Write': '.r:*'},
                    {'X-Container-Read': '.unknown'}):
        assert users['owner']('POST', 'AUTH_test', '/' + shared,
                              headers)[0] == 400


def test_acls_hidden_from_non_owners(users, shared, cluster):
    set_acl(users, shared, read='test2:tester2', write='test:tester3')
    proxy = urlparse(cluster.proxy_url)
    seen = {}
    for who in ('owner', 'other'):
        conn = http.client.HTTPConnection(proxy.hostname, proxy.port,
                                          timeout=10)
        conn.request('HEAD', '/v1/AUTH_test/' + shared,
                     headers={'X-Auth-Token': users[who].token})
        resp = conn.getresponse()
        resp.read()
        seen[who] = resp.getheader('X-Container-Read')
        conn.close()
    assert seen == {'owner': 'test2:tester2', 'other': None}


def test_non_admin_owns_nothing(users):
    assert users['plain']('GET', 'AUTH_test')[0] == 403
    assert users['plain']('PUT', 'AUTH_test', '/mine')[0] == 403
