"""Object versioning (``X-Versions-Enabled``) against the running cluster,
over raw HTTP and with python-swiftclient: versions behind links in the
hidden ``\\x00versions\\x00<container>``, ``?versions`` listings,
``?version-id=`` reads and deletes, delete markers, restore by COPY, and
what stays hidden from clients."""

import hashlib
import http.client
import json
import os
import subprocess
import sys
import uuid

import pytest
from swiftclient import client as swift_client

from tests.functional.test_symlink import Client

SWIFT = os.path.join(os.path.dirname(sys.executable), 'swift')
MARKER_TYPE = 'application/x-deleted;swift_versions_deleted=1'


@pytest.fixture(scope='module')
def client(cluster):
    url, token = cluster.get_token('test:tester')
    return Client(url, token)


@pytest.fixture
def container(client):
    name = 'ov-' + uuid.uuid4().hex[:8]
    status, _h, body = client('PUT', '/' + name,
                              {'X-Versions-Enabled': 'true'})
    assert status == 201, body
    return name


def versions(client, container, query=''):
    status, _h, body = client('GET', '/' + container,
                              query='?versions&format=json' + query)
    assert status == 200, body
    return json.loads(body)


def put(client, path, body, headers=None):
    headers = client.put(path, body, headers)
    return headers['X-Object-Version-Id']


def test_put_get_and_version_ids(client, container):
    _s, headers, _b = client('HEAD', '/' + container)
    assert headers['X-Versions-Enabled'] == 'True'
    v1 = put(client, '/%s/obj' % container, b'first',
             {'Content-Type': 'text/x-one'})
    v2 = put(client, '/%s/obj' % container, b'second!')
    assert v1 < v2
    status, headers, body = client('GET', '/%s/obj' % container)
    assert (status, body) == (200, b'second!')
    assert headers['X-Object-Version-Id'] == v2
    assert headers['Etag'].strip('"') == hashlib.md5(b'second!').hexdigest()
    assert headers['Content-Location'].endswith('?version-id=%s' % v2)
    status, headers, body = client('GET', '/%s/obj' % container,
                                   query='?version-id=' + v1)
    assert (status, body) == (200, b'first')
    assert headers['Content-Type'] == 'text/x-one'
    assert headers['X-Object-Version-Id'] == v1
    # The plain listing shows the current version's size and ETag.
    status, _h, body = client('GET', '/' + container, query='?format=json')
    (entry,) = json.loads(body)
    assert (entry['name'], entry['bytes']) == ('obj', 7)
    assert entry['hash'] == hashlib.md5(b'second!').hexdigest()
    listed = versions(client, container)
    assert [(e['name'], e['version_id'], e['is_latest'], e['bytes'])
            for e in listed] == [('obj', v2, True, 7), ('obj', v1, False, 5)]


def test_delete_writes_marker_and_versions_remain(client, container):
    v1 = put(client, '/%s/obj' % container, b'data')
    status, headers, _b = client('DELETE', '/%s/obj' % container)
    assert status == 204
    marker = headers['X-Object-Version-Id']
    assert client('GET', '/%s/obj' % container)[0] == 404
    listed = versions(client, container)
    assert [(e['version_id'], e['is_latest'], e['content_type'])
            for e in listed][0] == (marker, True, MARKER_TYPE)
    assert listed[1]['version_id'] == v1
    status, headers, _b = client('HEAD', '/%s/obj' % container,
                                 query='?version-id=' + marker)
    assert status == 404 and headers['Content-Type'] == MARKER_TYPE
    # Restore by COPY from the version.
    status, _h, _b = client('COPY', '/%s/obj' % container,
                            {'Destination': '%s/obj' % container},
                            query='?version-id=' + v1)
    assert status == 201
    assert client('GET', '/%s/obj' % container)[2] == b'data'
    assert len(versions(client, container)) == 3


def test_delete_by_version_id(client, container):
    v1 = put(client, '/%s/obj' % container, b'one')
    v2 = put(client, '/%s/obj' % container, b'two')
    status, headers, _b = client('DELETE', '/%s/obj' % container,
                                 query='?version-id=' + v1)
    assert status == 204
    assert headers['X-Object-Current-Version-Id'] == v2
    assert [e['version_id'] for e in versions(client, container)] == [v2]
    # Deleting the current version removes the link too.
    status, headers, _b = client('DELETE', '/%s/obj' % container,
                                 query='?version-id=' + v2)
    assert status == 204
    assert client('GET', '/%s/obj' % container)[0] == 404
    assert versions(client, container) == []


def test_object_from_before_versioning_is_version_null(client):
    container = 'ov-' + uuid.uuid4().hex[:8]
    client('PUT', '/' + container)
    client.put('/%s/obj' % container, b'old')
    status, _h, _b = client('POST', '/' + container,
                            {'X-Versions-Enabled': 'true'})
    assert status == 204
    status, headers, body = client('GET', '/%s/obj' % container,
                                   query='?version-id=null')
    assert (status, body, headers['X-Object-Version-Id']) == (
        200, b'old', 'null')
    put(client, '/%s/obj' % container, b'new')
    listed = versions(client, container)
    assert [e['is_latest'] for e in listed] == [True, False]
    old_id = listed[1]['version_id']
    assert client('GET', '/%s/obj' % container,
                  query='?version-id=' + old_id)[2] == b'old'
    assert client('GET', '/%s/obj' % container,
                  query='?version-id=null')[0] == 404


def test_disabled_versioning_keeps_versions(client, container):
    v1 = put(client, '/%s/obj' % container, b'kept')
    assert client('POST', '/' + container,
                  {'X-Versions-Enabled': 'false'})[0] == 204
    _s, headers, _b = client('HEAD', '/' + container)
    assert headers['X-Versions-Enabled'] == 'False'
    client.put('/%s/obj' % container, b'plain')
    assert client('GET', '/%s/obj' % container)[2] == b'plain'
    assert client('GET', '/%s/obj' % container,
                  query='?version-id=' + v1)[2] == b'kept'


def test_bad_requests(client, container):
    v1 = put(client, '/%s/obj' % container, b'x')
    status, _h, body = client('POST', '/%s/obj' % container,
                              query='?version-id=' + v1)
    assert (status, body) == (400, b'POST to a specific version is not '
                                   b'allowed')
    status, _h, body = client('GET', '/%s/obj' % container,
                              query='?version-id=nonsense')
    assert (status, body) == (400, b'Invalid version parameter')
    plain = 'plain-' + uuid.uuid4().hex[:8]
    client('PUT', '/' + plain)
    status, _h, _b = client('GET', '/%s/obj' % plain,
                            query='?version-id=' + v1)
    assert status == 400
    # Bytes that are not UTF-8 in a query: the servers' 400, or ignored.
    status, _h, body = client('GET', '/' + container,
                              query='?prefix=%FF&versions')
    assert status == 400, body
    assert client('GET', '/%s/obj' % container,
                  query='?x=%FF%FE')[0] == 200
    legacy = 'legacy-' + uuid.uuid4().hex[:8]
    client('PUT', '/' + legacy, {'X-Versions-Location': 'somewhere'})
    status, _h, body = client('POST', '/' + legacy,
                              {'X-Versions-Enabled': 'true'})
    assert status == 400 and b'legacy versioned writes' in body


def test_hidden_names_stay_hidden(client, container):
    put(client, '/%s/obj' % container, b'x')
    status, _h, body = client('GET', '', query='?format=json')
    assert status == 200
    names = [e['name'] for e in json.loads(body)]
    assert container in names
    assert not any('\x00' in name for name in names)
    # A client cannot name the hidden container, nor ask for it.
    hidden = '/\x00versions\x00%s' % container
    assert client('GET', hidden)[0] == 412
    assert client('GET', hidden, {
        'X-Backend-Allow-Reserved-Names': 'true'})[0] == 412


def test_container_delete_needs_versions_gone(client, container):
    v1 = put(client, '/%s/obj' % container, b'x')
    client('DELETE', '/%s/obj' % container, query='?version-id=' + v1)
    status, _h, body = client('DELETE', '/' + container)
    assert status == 204, body
    assert client('HEAD', '/' + container)[0] == 404
    other = 'ov-' + uuid.uuid4().hex[:8]
    client('PUT', '/' + other, {'X-Versions-Enabled': 'true'})
    put(client, '/%s/obj' % other, b'x')
    client('DELETE', '/%s/obj' % other)
    client('POST', '/' + other, {'X-Versions-Enabled': 'false'})
    status, _h, body = client('DELETE', '/' + other)
    assert (status, body) == (
        409, b'Delete all versions before deleting container.')


def test_swiftclient_and_cli(cluster, client):
    container = 'ov-' + uuid.uuid4().hex[:8]
    url, token = cluster.get_token('test:tester')
    auth = [SWIFT, '-A', cluster.auth_url, '-U', 'test:tester',
            '-K', cluster.users['test:tester']]
    result = subprocess.run(auth + ['post', container, '-H',
                                    'X-Versions-Enabled: true'],
                            capture_output=True, timeout=60, text=True)
    assert result.returncode == 0, result.stderr
    swift_client.put_object(url, token, container, 'doc', b'v1')
    swift_client.put_object(url, token, container, 'doc', b'v2')
    result = subprocess.run(auth + ['list', '--versions', container],
                            capture_output=True, timeout=60, text=True)
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert len(lines) == 2 and all('doc' in line for line in lines)
    _h, listing = swift_client.get_container(url, token, container,
                                             query_string='versions')
    first = listing[-1]['version_id']
    headers, body = swift_client.get_object(
        url, token, container, 'doc', query_string='version-id=' + first)
    assert (body, headers['x-object-version-id']) == (b'v1', first)


def test_info_lists_object_versioning(client):
    conn = http.client.HTTPConnection(client.url.hostname, client.url.port,
                                      timeout=10)
    conn.request('GET', '/info')
    info = json.loads(conn.getresponse().read())
    conn.close()
    assert 'object_versioning' in info
