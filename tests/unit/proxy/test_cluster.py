"""End to end through the proxy pipeline over the real storage servers of
an in-process cluster (4 nodes, 3 replicas): auth, every level's verbs,
listings, metadata, ranges, conditionals, copy, ACLs and node failures."""

import hashlib
import http.client
import json
from urllib.parse import quote

import pytest

from tests.unit.proxy.cluster import CREDENTIALS


class Client:
    """A tiny HTTP client holding one user's token."""

    def __init__(self, cluster, user=None):
        self.cluster = cluster
        self.token = None
        self.storage_url = None
        if user:
            status, headers, _ = self.raw('GET', '/auth/v1.0', {
                'X-Auth-User': user, 'X-Auth-Key': CREDENTIALS[user]})
            assert status == 200
            self.token = headers['x-auth-token']
            self.storage_path = headers['x-storage-url'].split(
                '://', 1)[1].split('/', 1)[1]
            self.storage_path = '/' + self.storage_path

    def raw(self, method, path, headers=None, body=None):
        conn = http.client.HTTPConnection('127.0.0.1', self.cluster.proxy.port,
                                          timeout=20)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return (resp.status, {k.lower(): v for k, v in
                                  resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def __call__(self, method, path='', headers=None, body=None,
                 account=None):
        headers = dict(headers or {})
        if self.token:
            headers['X-Auth-Token'] = self.token
        base = '/v1/' + account if account else self.storage_path
        path, _, query = path.partition('?')
        target = base + quote(path) + ('?' + query if query else '')
        return self.raw(method, target, headers, body)


@pytest.fixture
def tester(cluster):
    return Client(cluster, 'test:tester')


def test_account_autocreate_container_object_roundtrip(cluster, tester):
    status, headers, _ = tester('HEAD')
    assert status == 204
    assert headers['x-trans-id'] == headers['x-openstack-request-id']
    assert tester('PUT', '/c')[0] == 201
    assert tester('PUT', '/c')[0] == 202
    body = b'0123456789' * 1000
    status, headers, _ = tester('PUT', '/c/dir/o.txt', {
        'X-Object-Meta-Color': 'blue', 'Content-Disposition': 'inline'},
        body)
    assert status == 201
    assert headers['etag'].strip('"') == hashlib.md5(body).hexdigest()
    status, headers, got = tester('GET', '/c/dir/o.txt')
    assert (status, got) == (200, body)
    assert headers['content-type'] == 'text/plain'
    assert headers['x-object-meta-color'] == 'blue'
    assert headers['content-disposition'] == 'inline'
    status, headers, got = tester('GET', '/c?format=json')
    listing = json.loads(got)
    assert [e['name'] for e in listing] == ['dir/o.txt']
    assert listing[0]['bytes'] == len(body)
    status, _h, got = tester('GET', '/c?delimiter=/')
    assert got == b'dir/\n'
    status, _h, got = tester('GET', '?format=json')
    assert [c['name'] for c in json.loads(got)] == ['c']


def test_ranges_and_conditionals(cluster, tester):
    tester('PUT', '/c')
    body = bytes(range(256)) * 40
    etag = hashlib.md5(body).hexdigest()
    tester('PUT', '/c/o', body=body)
    status, headers, got = tester('GET', '/c/o', {'Range': 'bytes=10-19'})
    assert (status, got) == (206, body[10:20])
    status, headers, got = tester('GET', '/c/o',
                                  {'Range': 'bytes=0-1,-2'})
    assert status == 206
    assert headers['content-type'].startswith('multipart/byteranges')
    assert body[:2] in got and body[-2:] in got
    assert tester('GET', '/c/o', {'If-None-Match': etag})[0] == 304
    assert tester('GET', '/c/o', {'If-Match': 'nope'})[0] == 412
    assert tester('GET', '/c/o', {'Range': 'bytes=99999-'})[0] == 416
    assert tester('GET', '/c/o', {'X-Newest': 'true'})[2] == body


def test_metadata_at_every_level(cluster, tester):
    tester('PUT', '/c')
    tester('PUT', '/c/o', body=b'x')
    assert tester('POST', '', {'X-Account-Meta-A': '1'})[0] == 204
    assert tester('POST', '/c', {'X-Container-Meta-B': '2'})[0] == 204
    assert tester('POST', '/c/o', {'X-Object-Meta-C': '3'})[0] == 202
    assert tester('HEAD')[1]['x-account-meta-a'] == '1'
    assert tester('HEAD', '/c')[1]['x-container-meta-b'] == '2'
    assert tester('HEAD', '/c/o')[1]['x-object-meta-c'] == '3'
    too_many = {'X-Object-Meta-K%d' % i: 'v' for i in range(91)}
    assert tester('POST', '/c/o', too_many)[0] == 400


def test_copy_verb_and_x_copy_from(cluster, tester):
    tester('PUT', '/c')
    tester('PUT', '/c2')
    tester('PUT', '/c/src', {'X-Object-Meta-Keep': 'k',
                             'Content-Type': 'text/x-a'}, b'payload')
    status, headers, _ = tester('COPY', '/c/src', {
        'Destination': 'c2/dst', 'X-Object-Meta-New': 'n'})
    assert status == 201
    assert headers['x-copied-from'] == 'c/src'
    status, headers, got = tester('GET', '/c2/dst')
    assert got == b'payload'
    assert headers['x-object-meta-keep'] == 'k'
    assert headers['x-object-meta-new'] == 'n'
    assert headers['content-type'] == 'text/x-a'
    status, headers, _ = tester('PUT', '/c2/fresh', {
        'X-Copy-From': '/c/src', 'X-Fresh-Metadata': 'true',
        'Content-Length': '0'})
    assert status == 201
    headers = tester('HEAD', '/c2/fresh')[1]
    assert 'x-object-meta-keep' not in headers
    assert tester('COPY', '/c/src')[0] == 412
    assert tester('COPY', '/c/missing', {'Destination': 'c2/x'})[0] == 404


def test_delete_rules(cluster, tester):
    tester('PUT', '/c')
    tester('PUT', '/c/o', body=b'x')
    assert tester('DELETE', '/c')[0] == 409
    assert tester('DELETE', '/c/o')[0] == 204
    assert tester('GET', '/c/o')[0] == 404
    assert tester('DELETE', '/c/o')[0] == 404
    assert tester('DELETE', '/c')[0] == 204
    assert tester('GET', '/c')[0] == 404


def test_auth_and_isolation(cluster, tester):
    tester('PUT', '/c')
    tester('PUT', '/c/o', body=b'secret')
    anonymous = Client(cluster)
    other = Client(cluster, 'test2:tester2')
    plain = Client(cluster, 'test:tester3')
    assert anonymous('GET', '/c/o', account='AUTH_test')[0] == 401
    assert other('GET', '/c/o', account='AUTH_test')[0] == 403
    assert other('GET', account='AUTH_test')[0] == 403
    assert other('PUT', '/c/x', body=b'x', account='AUTH_test')[0] == 403
    assert plain('GET', '/c/o')[0] == 403
    bad = Client(cluster)
    bad.token = 'AUTH_tk' + 'ab' * 40
    assert bad('GET', '/c/o', account='AUTH_test')[0] == 401
    reseller = Client(cluster, 'admin:admin')
    assert reseller('GET', '/c/o', account='AUTH_test')[2] == b'secret'


def test_acl_forms(cluster, tester):
    tester('PUT', '/c')
    tester('PUT', '/c/o', body=b'data')
    other = Client(cluster, 'test2:tester2')
    plain = Client(cluster, 'test:tester3')
    anonymous = Client(cluster)
    assert tester('POST', '/c', {'X-Container-Read': '.r:'})[0] == 400
    assert tester('PUT', '/c9', {'X-Container-Write': '.r:*'})[0] == 400
    tester('POST', '/c', {'X-Container-Read': 'test2:tester2'})
    assert other('GET', '/c/o', account='AUTH_test')[2] == b'data'
    assert other('GET', '/c', account='AUTH_test')[0] == 200
    assert plain('GET', '/c/o')[0] == 403
    assert other('PUT', '/c/w', body=b'x', account='AUTH_test')[0] == 403
    tester('POST', '/c', {'X-Container-Read': 'test:*'})
    assert plain('GET', '/c/o')[2] == b'data'
    assert other('GET', '/c/o', account='AUTH_test')[0] == 403
    tester('POST', '/c', {'X-Container-Read': '.r:*'})
    assert anonymous('GET', '/c/o', account='AUTH_test')[2] == b'data'
    assert anonymous('GET', '/c', account='AUTH_test')[0] == 401
    tester('POST', '/c', {'X-Container-Read': '.r:*,.rlistings'})
    assert anonymous('GET', '/c', account='AUTH_test')[2] == b'o\n'
    tester('POST', '/c', {'X-Container-Read': '.r:.example.com'})
    assert anonymous('GET', '/c/o', {'Referer': 'http://a.example.com/'},
                     account='AUTH_test')[0] == 200
    assert anonymous('GET', '/c/o', {'Referer': 'http://evil.com/'},
                     account='AUTH_test')[0] == 401
    tester('POST', '/c', {'X-Container-Write': 'test2:*'})
    assert other('PUT', '/c/w', body=b'x', account='AUTH_test')[0] == 201
    assert other('POST', '/c', {'X-Container-Read': '.r:*'},
                 account='AUTH_test')[0] == 403
    # ACLs are shown to the owner only.
    assert 'x-container-write' in tester('HEAD', '/c')[1]
    tester('POST', '/c', {'X-Container-Read': 'test2:tester2'})
    assert 'x-container-write' not in other('HEAD', '/c',
                                            account='AUTH_test')[1]


def test_one_primary_down_all_ops_succeed(cluster, tester):
    tester('PUT', '/c')
    ring = cluster.rings['object']
    failures = []
    for index in range(20):
        name = 'o%d' % index
        _part, nodes = ring.get_nodes('AUTH_test', 'c', name)
        down = cluster.node_index('object', nodes[index % 3])
        cluster.stop_node('object', down)
        try:
            results = (tester('PUT', '/c/' + name, body=b'v')[0],
                       tester('GET', '/c/' + name)[0],
                       tester('DELETE', '/c/' + name)[0])
            if results != (201, 200, 204):
                failures.append((name, results))
        finally:
            cluster.start_node('object', down)
    assert failures == []


def test_two_primaries_down_put_is_503(cluster, tester):
    tester('PUT', '/c')
    ring = cluster.rings['object']
    _part, nodes = ring.get_nodes('AUTH_test', 'c', 'o')
    handoffs = list(ring.get_more_nodes(_part))
    down = [cluster.node_index('object', n) for n in nodes[:2]] + \
        [cluster.node_index('object', handoffs[0])]
    for index in down:
        cluster.stop_node('object', index)
    try:
        assert tester('PUT', '/c/o', body=b'v')[0] == 503
    finally:
        for index in down:
            cluster.start_node('object', index)


def test_healthcheck_and_info(cluster):
    client = Client(cluster)
    assert client.raw('GET', '/healthcheck')[2] == b'OK'
    status, headers, body = client.raw('GET', '/info')
    info = json.loads(body)
    assert status == 200 and 'x-trans-id' in headers
    assert 'tempauth' in info and 'copy' in info
    assert info['swift']['max_object_name_length'] == 1024
