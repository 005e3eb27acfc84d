"""The Swift v1 API through python-swiftclient and raw HTTP against the
real multi-process cluster (tests/functional/conftest.py): every level's
verbs, listings with their parameters and formats, metadata, object
features (chunked upload, ETag, Content-Type, Range, conditionals,
X-Newest, expiry, copy), constraints, /info, /healthcheck, X-Trans-Id."""

import hashlib
import http.client
import json
import time
import uuid
from urllib.parse import urlparse
from xml.etree import ElementTree

import pytest
from swiftclient.client import ClientException, Connection

from tests.helpers import wait_for


def connect(cluster, user='test:tester'):
    return Connection(cluster.auth_url, user, cluster.users[user],
                      retries=0, timeout=30)


@pytest.fixture(scope='module')
def conn(cluster):
    return connect(cluster)


@pytest.fixture
def container(conn):
    name = 'c-' + uuid.uuid4().hex[:8]
    conn.put_container(name)
    return name


def raw(conn, method, path='', headers=None, body=None, url=None):
    """One raw request under the storage URL: (status, headers, body)."""
    url = urlparse(url or conn.get_auth()[0])
    headers = dict(headers or {})
    headers.setdefault('X-Auth-Token', conn.get_auth()[1])
    http_conn = http.client.HTTPConnection(url.hostname, url.port,
                                           timeout=30)
    try:
        http_conn.request(method, url.path + path, body=body,
                          headers=headers)
        resp = http_conn.getresponse()
        return (resp.status, {k.lower(): v for k, v in resp.getheaders()},
                resp.read())
    finally:
        http_conn.close()


def status_of(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except ClientException as err:
        return err.http_status
    return 200


def test_account_stat_and_metadata(conn):
    headers = conn.head_account()
    assert 'x-account-container-count' in headers
    assert 'x-trans-id' in headers
    conn.post_account({'X-Account-Meta-Color': 'green'})
    assert conn.head_account()['x-account-meta-color'] == 'green'
    conn.post_account({'X-Account-Meta-Color': ''})
    assert 'x-account-meta-color' not in conn.head_account()


def test_container_lifecycle_and_metadata(conn):
    name = 'life-' + uuid.uuid4().hex[:8]
    conn.put_container(name, headers={'X-Container-Meta-A': '1',
                                      'X-Storage-Policy': 'Policy-0'})
    assert conn.head_container(name)['x-container-meta-a'] == '1'
    conn.post_container(name, {'X-Container-Meta-B': '2'})
    headers = conn.head_container(name)
    assert headers['x-container-meta-b'] == '2'
    assert headers['x-container-object-count'] == '0'
    assert name in [c['name'] for c in conn.get_account()[1]]
    conn.put_object(name, 'o', b'x')
    assert status_of(conn.delete_container, name) == 409
    conn.delete_object(name, 'o')
    conn.delete_container(name)
    assert status_of(conn.head_container, name) == 404


def test_unknown_storage_policy_is_400(conn):
    assert status_of(conn.put_container, 'p-' + uuid.uuid4().hex[:6],
                     headers={'X-Storage-Policy': 'gold'}) == 400


def test_object_fixed_and_chunked_upload(conn, container):
    body = b'abc' * 100000
    etag = conn.put_object(container, 'fixed.bin', body)
    assert etag == hashlib.md5(body).hexdigest()
    etag = conn.put_object(container, 'chunked.bin',
                           (body[i:i + 65536]
                            for i in range(0, len(body), 65536)))
    assert etag == hashlib.md5(body).hexdigest()
    for name in ('fixed.bin', 'chunked.bin'):
        headers, got = conn.get_object(container, name)
        assert got == body and headers['etag'] == etag
    assert status_of(conn.put_object, container, 'bad', b'data',
                     etag='0' * 32) == 422


def test_content_type_disposition_encoding(conn, container):
    conn.put_object(container, 'page.html', b'<p>')
    conn.put_object(container, 'data.bin', b'x', content_type='text/x-mine',
                    headers={'Content-Disposition': 'attachment',
                             'Content-Encoding': 'gzip'})
    assert conn.head_object(container, 'page.html')['content-type'] == \
        'text/html'
    headers = conn.head_object(container, 'data.bin')
    assert headers['content-type'] == 'text/x-mine'
    assert headers['content-disposition'] == 'attachment'
    assert headers['content-encoding'] == 'gzip'


def test_object_metadata_post(conn, container):
    conn.put_object(container, 'm', b'x', headers={'X-Object-Meta-A': '1'})
    conn.post_object(container, 'm', {'X-Object-Meta-B': '2'})
    headers = conn.head_object(container, 'm')
    assert headers['x-object-meta-b'] == '2'
    assert 'x-object-meta-a' not in headers


def test_ranges(conn, container):
    body = bytes(range(256)) * 4
    conn.put_object(container, 'r', body)
    headers, got = conn.get_object(container, 'r',
                                   headers={'Range': 'bytes=10-19'})
    assert got == body[10:20]
    assert headers['content-range'] == 'bytes 10-19/1024'
    _h, got = conn.get_object(container, 'r', headers={'Range': 'bytes=-4'})
    assert got == body[-4:]
    headers, got = conn.get_object(container, 'r',
                                   headers={'Range': 'bytes=0-1,5-6'})
    assert headers['content-type'].startswith('multipart/byteranges')
    assert b'Content-Range: bytes 0-1/1024' in got
    assert b'Content-Range: bytes 5-6/1024' in got
    assert status_of(conn.get_object, container, 'r',
                     headers={'Range': 'bytes=5000-'}) == 416


def test_conditionals_and_newest(conn, container):
    body = b'conditional'
    etag = conn.put_object(container, 'cond', body)
    last_modified = conn.head_object(container, 'cond')['last-modified']
    assert raw(conn, 'GET', '/%s/cond' % container,
               {'If-None-Match': etag})[0] == 304
    assert raw(conn, 'GET', '/%s/cond' % container,
               {'If-Match': 'other'})[0] == 412
    assert raw(conn, 'GET', '/%s/cond' % container,
               {'If-Match': etag})[2] == body
    assert raw(conn, 'GET', '/%s/cond' % container,
               {'If-Modified-Since': last_modified})[0] == 304
    assert raw(conn, 'GET', '/%s/cond' % container,
               {'If-Unmodified-Since': 'Sat, 01 Jan 2000 00:00:00 GMT'})[0] \
        == 412
    assert conn.get_object(container, 'cond',
                           headers={'X-Newest': 'true'})[1] == body


def test_expiry(conn, container):
    conn.put_object(container, 'soon', b'x',
                    headers={'X-Delete-After': '2'})
    conn.put_object(container, 'later', b'x',
                    headers={'X-Delete-At': str(int(time.time()) + 3600)})
    headers = conn.head_object(container, 'soon')
    assert int(headers['x-delete-at']) <= time.time() + 3
    assert wait_for(lambda: status_of(conn.head_object, container, 'soon')
                    == 404, timeout=10, interval=0.5)
    assert status_of(conn.head_object, container, 'later') == 200
    assert status_of(conn.put_object, container, 'past', b'x',
                     headers={'X-Delete-At': '1000'}) == 400
    assert status_of(conn.put_object, container, 'past', b'x',
                     headers={'X-Delete-At': 'tomorrow'}) == 400


def test_copy_verb_and_x_copy_from(conn, container):
    conn.put_object(container, 'src', b'source data', content_type='a/b',
                    headers={'X-Object-Meta-Old': 'o'})
    other = container + '-dst'
    conn.put_container(other)
    status, headers, _ = raw(conn, 'COPY', '/%s/src' % container, {
        'Destination': '%s/copied' % other, 'X-Object-Meta-New': 'n'})
    assert status == 201
    assert headers['x-copied-from'] == '%s/src' % container
    headers, got = conn.get_object(other, 'copied')
    assert got == b'source data'
    assert (headers['x-object-meta-old'], headers['x-object-meta-new'],
            headers['content-type']) == ('o', 'n', 'a/b')
    conn.put_object(other, 'fresh', b'', headers={
        'X-Copy-From': '/%s/src' % container, 'X-Fresh-Metadata': 'true',
        'X-Object-Meta-Only': 'y'})
    headers = conn.head_object(other, 'fresh')
    assert headers['x-object-meta-only'] == 'y'
    assert 'x-object-meta-old' not in headers
    assert status_of(conn.put_object, other, 'x', b'', headers={
        'X-Copy-From': '/%s/missing' % container}) == 404
    assert raw(conn, 'COPY', '/%s/src' % container)[0] == 412


def test_container_listing_parameters_and_formats(conn, container):
    names = ['a/1', 'a/2', 'b/1', 'c', 'd\u00e9']
    for name in names:
        conn.put_object(container, name, b'x')
    listed = [o['name'] for o in conn.get_container(container)[1]]
    assert listed == names
    assert [o['name'] for o in conn.get_container(
        container, prefix='a/')[1]] == ['a/1', 'a/2']
    rolled = conn.get_container(container, delimiter='/')[1]
    assert [o.get('subdir', o.get('name')) for o in rolled] == \
        ['a/', 'b/', 'c', 'd\u00e9']
    assert [o['name'] for o in conn.get_container(
        container, marker='a/2', end_marker='c')[1]] == ['b/1']
    assert [o['name'] for o in conn.get_container(
        container, limit=2)[1]] == ['a/1', 'a/2']
    assert [o['name'] for o in conn.get_container(
        container, query_string='reverse=true')[1]] == names[::-1]
    status, headers, body = raw(conn, 'GET', '/%s?format=xml' % container)
    assert headers['content-type'].startswith('application/xml')
    root = ElementTree.fromstring(body)
    assert [e.find('name').text for e in root.findall('object')] == names
    status, headers, body = raw(conn, 'GET', '/%s' % container)
    assert body.decode('utf-8').splitlines() == names
    status, headers, body = raw(conn, 'GET', '/%s' % container,
                                {'Accept': 'application/json'})
    assert [o['name'] for o in json.loads(body)] == names
    assert raw(conn, 'GET', '/%s?limit=10001' % container)[0] == 412


def test_account_listing(conn, container):
    status, _h, body = raw(conn, 'GET', '?format=json&prefix=%s' % container)
    assert [c['name'] for c in json.loads(body)] == [container]
    assert raw(conn, 'GET', '?format=xml')[1]['content-type'].startswith(
        'application/xml')


def test_constraints(conn, container):
    assert status_of(conn.put_container, 'x' * 257) == 400
    assert status_of(conn.put_object, container, 'o' * 1025, b'x') == 400
    assert status_of(conn.put_object, container, 'm', b'x', headers={
        'X-Object-Meta-' + 'n' * 129: 'v'}) == 400
    assert status_of(conn.put_object, container, 'm', b'x', headers={
        'X-Object-Meta-N': 'v' * 257}) == 400
    assert status_of(conn.post_container, container, {
        'X-Container-Meta-K%d' % i: 'v' for i in range(91)}) == 400
    status, headers, body = raw(conn, 'PUT', '/%s/huge' % container,
                                {'Content-Length': str(5 * 1024 ** 3 + 3)})
    assert status == 413
    assert b'large' in body.lower()
    assert 'x-trans-id' in headers


def test_missing_length_is_411(conn, container):
    url = urlparse(conn.get_auth()[0])
    sock = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        sock.putrequest('PUT', url.path + '/%s/nolen' % container)
        sock.putheader('X-Auth-Token', conn.get_auth()[1])
        sock.endheaders()
        resp = sock.getresponse()
        assert resp.status == 411
        assert resp.getheader('X-Trans-Id')
    finally:
        sock.close()


def test_info_and_healthcheck(cluster):
    url = urlparse(cluster.proxy_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        conn.request('GET', '/info')
        resp = conn.getresponse()
        info = json.loads(resp.read())
        assert resp.getheader('X-Openstack-Request-Id')
        conn.request('GET', '/healthcheck')
        health = conn.getresponse()
        assert (health.status, health.read()) == (200, b'OK')
    finally:
        conn.close()
    swift = info['swift']
    assert swift['max_file_size'] == 5 * 1024 ** 3 + 2
    assert swift['container_listing_limit'] == 10000
    assert swift['max_container_name_length'] == 256
    assert 'tempauth' in info


def test_every_response_has_a_trans_id(conn, container):
    for method, path in (('GET', '/%s/missing' % container),
                         ('DELETE', '/nope-%s' % container),
                         ('PATCH', '/%s' % container)):
        status, headers, _ = raw(conn, method, path)
        assert status >= 400
        assert headers['x-trans-id'].startswith('tx')
        assert headers['x-openstack-request-id'] == headers['x-trans-id']
