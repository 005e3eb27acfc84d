"""Symlinks against the running cluster, over raw HTTP and with
python-swiftclient: dynamic and static links, ``?symlink=get``, POST's
307, COPY of a link and of its target, DELETE, loops and the depth limit,
cross-account links under the target's ACL, and ``symlink_path`` in
listings."""

import hashlib
import http.client
import json
import os
import subprocess
import sys
import uuid
from urllib.parse import quote, urlparse

import pytest
from swiftclient import client as swift_client

ACCOUNT = 'AUTH_test'
EMPTY_MD5 = hashlib.md5(b'').hexdigest()
SWIFT = os.path.join(os.path.dirname(sys.executable), 'swift')


class Client:
    """Raw HTTP to the proxy with one user's token."""

    def __init__(self, url, token, account=ACCOUNT):
        self.url = urlparse(url)
        self.token = token
        self.account = account

    def __call__(self, method, path, headers=None, body=None, query=''):
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port,
                                          timeout=30)
        try:
            send = dict(headers or {}, **{'X-Auth-Token': self.token})
            target = '/v1/%s%s' % (self.account, quote(path))
            conn.request(method, target + query, body=body, headers=send)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def put(self, path, body=b'', headers=None):
        status, headers, body = self('PUT', path, headers, body)
        assert status == 201, (status, body)
        return headers


@pytest.fixture(scope='module')
def client(cluster):
    url, token = cluster.get_token('test:tester')
    return Client(url, token)


@pytest.fixture
def container(client):
    name = 'sym-' + uuid.uuid4().hex[:8]
    status, _h, _b = client('PUT', '/' + name)
    assert status in (201, 202)
    return name


def test_dynamic_link_follows_target(client, container):
    client.put('/%s/target' % container, b'target body',
               {'Content-Type': 'text/x-target',
                'X-Object-Meta-Color': 'red'})
    client.put('/%s/link' % container,
               headers={'X-Symlink-Target': '%s/target' % container})
    status, headers, body = client('GET', '/%s/link' % container)
    assert (status, body) == (200, b'target body')
    assert headers['Content-Location'] == '/v1/%s/%s/target' % (
        ACCOUNT, container)
    assert headers['Content-Type'] == 'text/x-target'
    assert headers['X-Object-Meta-Color'] == 'red'
    status, headers, body = client('HEAD', '/%s/link' % container)
    assert (status, headers['Content-Length']) == (200, '11')
    # A Range on a link applies to the target (the link itself is empty).
    status, _h, body = client('GET', '/%s/link' % container,
                              {'Range': 'bytes=0-5'})
    assert (status, body) == (206, b'target')


def test_symlink_get_shows_the_link_itself(client, container):
    client.put('/%s/link' % container,
               headers={'X-Symlink-Target': '%s/missing' % container})
    status, headers, body = client('GET', '/%s/link' % container,
                                   query='?symlink=get')
    assert (status, body) == (200, b'')
    assert headers['X-Symlink-Target'] == '%s/missing' % container
    assert headers['Content-Type'] == 'application/symlink'
    assert not any(name.lower().startswith('x-object-sysmeta')
                   for name in headers)
    # A query byte that is not UTF-8 is no reason to fail.
    status, headers, _b = client('HEAD', '/%s/link' % container,
                                 query='?symlink=get&x=%FF')
    assert (status, headers['X-Symlink-Target']) == (
        200, '%s/missing' % container)
    # A dangling dynamic link is allowed; reading through it is a 404.
    status, headers, _b = client('GET', '/%s/link' % container)
    assert status == 404
    assert headers['Content-Location'].endswith('/%s/missing' % container)


def test_put_refusals(client, container):
    def put(headers, body=b''):
        return client('PUT', '/%s/link' % container, headers, body)[::2]

    assert put({'X-Symlink-Target': '%s/t' % container}, b'x') == (
        400, b'Symlink requests require a zero byte body')
    form = (b'X-Symlink-Target header must be of the form '
            b'<container name>/<object name>')
    assert put({'X-Symlink-Target': '/%s/t' % container}) == (412, form)
    assert put({'X-Symlink-Target': 'no-object'}) == (412, form)
    assert put({'X-Symlink-Target': '%s/link' % container}) == (
        400, b'Symlink cannot target itself')
    assert put({'X-Symlink-Target': '%s/t' % container,
                'X-Symlink-Target-Account': 'a/b'}) == (
        412, b'Account name cannot contain slashes')
    assert put({'X-Symlink-Target': '%s/t' % container,
                'X-Symlink-Target-Etag': 'a;b'}) == (
        400, b'Bad X-Symlink-Target-Etag format')
    status, _h, body = client('POST', '/%s/link' % container,
                              {'X-Symlink-Target': '%s/t' % container})
    assert (status, body) == (
        400, b'A PUT request is required to set a symlink target')


def test_post_to_link_redirects_and_applies_to_link(client, container):
    client.put('/%s/target' % container, b'abc')
    client.put('/%s/link' % container,
               headers={'X-Symlink-Target': '%s/target' % container})
    status, headers, body = client('POST', '/%s/link' % container,
                                   {'X-Object-Meta-Mark': 'on-link'})
    assert status == 307
    assert headers['Location'] == '/v1/%s/%s/target' % (ACCOUNT, container)
    assert body.startswith(b'The requested POST was applied to a symlink')
    _s, link_headers, _b = client('HEAD', '/%s/link' % container,
                                  query='?symlink=get')
    assert link_headers['X-Object-Meta-Mark'] == 'on-link'
    _s, target_headers, _b = client('HEAD', '/%s/target' % container)
    assert 'X-Object-Meta-Mark' not in target_headers
    # A POST to a plain object is unchanged.
    status, _h, _b = client('POST', '/%s/target' % container,
                            {'X-Object-Meta-Mark': 'x'})
    assert status == 202


def test_delete_removes_link_not_target(client, container):
    client.put('/%s/target' % container, b'keep me')
    client.put('/%s/link' % container,
               headers={'X-Symlink-Target': '%s/target' % container})
    status, _h, _b = client('DELETE', '/%s/link' % container)
    assert status == 204
    assert client('GET', '/%s/link' % container)[0] == 404
    assert client('GET', '/%s/target' % container)[2] == b'keep me'


def test_loops_and_depth_limit(client, container):
    client.put('/%s/a' % container,
               headers={'X-Symlink-Target': '%s/b' % container})
    client.put('/%s/b' % container,
               headers={'X-Symlink-Target': '%s/a' % container})
    status, _h, body = client('GET', '/%s/a' % container)
    assert (status, body) == (
        409, b'Too many levels of symbolic links, maximum allowed is 2')
    # A chain of two links is within the limit, three is not.
    client.put('/%s/data' % container, b'end')
    client.put('/%s/l1' % container,
               headers={'X-Symlink-Target': '%s/data' % container})
    client.put('/%s/l2' % container,
               headers={'X-Symlink-Target': '%s/l1' % container})
    client.put('/%s/l3' % container,
               headers={'X-Symlink-Target': '%s/l2' % container})
    assert client('GET', '/%s/l2' % container)[::2] == (200, b'end')
    assert client('HEAD', '/%s/l3' % container)[0] == 409


def test_static_link(client, container):
    client.put('/%s/target' % container, b'v1',
               {'Content-Type': 'text/x-v1'})
    etag = hashlib.md5(b'v1').hexdigest()
    status, headers, body = client(
        'PUT', '/%s/link' % container,
        {'X-Symlink-Target': '%s/target' % container,
         'X-Symlink-Target-Etag': 'f' * 32})
    assert status == 409
    assert body == ("Object Etag '%s' does not match X-Symlink-Target-Etag "
                    "header '%s'" % (etag, 'f' * 32)).encode()
    status, _h, body = client(
        'PUT', '/%s/link' % container,
        {'X-Symlink-Target': '%s/nothing' % container,
         'X-Symlink-Target-Etag': etag})
    assert (status, body) == (409, b'X-Symlink-Target does not exist')
    client.put('/%s/link' % container,
               headers={'X-Symlink-Target': '%s/target' % container,
                        'X-Symlink-Target-Etag': '"%s"' % etag})
    _s, headers, _b = client('HEAD', '/%s/link' % container,
                             query='?symlink=get')
    assert headers['X-Symlink-Target-Etag'] == etag
    assert headers['X-Symlink-Target-Bytes'] == '2'
    assert headers['Content-Type'] == 'text/x-v1'
    assert client('GET', '/%s/link' % container)[::2] == (200, b'v1')
    # The target changes: the static link no longer resolves.
    client.put('/%s/target' % container, b'v2')
    status, headers, body = client('GET', '/%s/link' % container)
    assert status == 409
    assert body.startswith(b"Object Etag '")
    assert headers['Content-Location'].endswith('/%s/target' % container)


def test_listing_shows_symlink_path(client, container):
    client.put('/%s/target' % container, b'12345')
    etag = hashlib.md5(b'12345').hexdigest()
    client.put('/%s/dyn' % container,
               headers={'X-Symlink-Target': '%s/target' % container})
    client.put('/%s/static' % container,
               headers={'X-Symlink-Target': '%s/target' % container,
                        'X-Symlink-Target-Etag': etag})
    client.put('/%s/other' % container,
               headers={'X-Symlink-Target': 'c2/o',
                        'X-Symlink-Target-Account': 'AUTH_test2'})
    status, _h, body = client('GET', '/' + container, query='?format=json')
    assert status == 200
    entries = {e['name']: e for e in json.loads(body)}
    assert entries['dyn']['symlink_path'] == '/v1/%s/%s/target' % (
        ACCOUNT, container)
    assert entries['dyn']['hash'] == EMPTY_MD5
    assert entries['dyn']['bytes'] == 0
    assert entries['dyn']['content_type'] == 'application/symlink'
    assert entries['static']['symlink_etag'] == etag
    assert entries['static']['symlink_bytes'] == 5
    assert entries['other']['symlink_path'] == '/v1/AUTH_test2/c2/o'
    assert 'symlink_path' not in entries['target']
    assert entries['target']['hash'] == etag
    status, _h, body = client('GET', '/' + container, query='?format=xml')
    assert status == 200 and b'symlink_target' not in body
    assert ('<hash>%s</hash>' % EMPTY_MD5).encode() in body


def test_copy_of_link_and_of_link_itself(client, container):
    client.put('/%s/target' % container, b'payload')
    client.put('/%s/link' % container,
               headers={'X-Symlink-Target': '%s/target' % container})
    status, _h, _b = client('COPY', '/%s/link' % container,
                            {'Destination': '%s/copied' % container})
    assert status == 201
    status, headers, body = client('GET', '/%s/copied' % container)
    assert (status, body) == (200, b'payload')
    assert 'Content-Location' not in headers
    status, _h, _b = client('COPY', '/%s/link' % container,
                            {'Destination': '%s/link2' % container},
                            query='?symlink=get')
    assert status == 201
    _s, headers, body = client('GET', '/%s/link2' % container,
                               query='?symlink=get')
    assert (body, headers['X-Symlink-Target']) == (
        b'', '%s/target' % container)
    assert client('GET', '/%s/link2' % container)[2] == b'payload'


def test_cross_account_link_obeys_target_acl(cluster, client, container):
    url2, token2 = cluster.get_token('test2:tester2')
    other = Client(url2, token2, 'AUTH_test2')
    target_container = 'sym-target-' + uuid.uuid4().hex[:8]
    assert other('PUT', '/' + target_container)[0] in (201, 202)
    other.put('/%s/o' % target_container, b'theirs')
    client.put('/%s/link' % container,
               headers={'X-Symlink-Target': '%s/o' % target_container,
                        'X-Symlink-Target-Account': 'AUTH_test2'})
    assert client('GET', '/%s/link' % container)[0] == 403
    assert other('POST', '/' + target_container,
                 {'X-Container-Read': 'test:tester'})[0] == 204
    status, headers, body = client('GET', '/%s/link' % container)
    assert (status, body) == (200, b'theirs')
    assert headers['Content-Location'] == '/v1/AUTH_test2/%s/o' % (
        target_container)


def test_swiftclient_headers_and_cli(cluster, client, container):
    url, token = cluster.get_token('test:tester')
    swift_client.put_object(url, token, container, 'target', b'via client')
    swift_client.put_object(url, token, container, 'link', b'', headers={
        'X-Symlink-Target': '%s/target' % container})
    headers, body = swift_client.get_object(url, token, container, 'link')
    assert body == b'via client'
    assert headers['content-location'].endswith('/%s/target' % container)
    headers = swift_client.head_object(url, token, container, 'link',
                                       query_string='symlink=get')
    assert headers['x-symlink-target'] == '%s/target' % container
    result = subprocess.run(
        [SWIFT, '-A', cluster.auth_url, '-U', 'test:tester',
         '-K', cluster.users['test:tester'], 'stat', container, 'link'],
        capture_output=True, timeout=60, text=True)
    assert result.returncode == 0, result.stderr
    assert 'Content Length: 10' in result.stdout


def test_info_lists_symlink(client):
    conn = http.client.HTTPConnection(client.url.hostname, client.url.port,
                                      timeout=10)
    conn.request('GET', '/info')
    info = json.loads(conn.getresponse().read())
    conn.close()
    assert info['symlink'] == {'symloop_max': 2, 'static_links': True}
