"""Legacy object versioning against the running cluster: the
``X-Versions-Location`` stack and the ``X-History-Location`` history, the
flag's headers, restore by COPY, symlinks archived as symlinks, and the
write ACL checked before anything is archived."""

import http.client
import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.functional.test_symlink import Client

SWIFT = os.path.join(os.path.dirname(sys.executable), 'swift')
MARKER_TYPE = 'application/x-deleted;swift_versions_deleted=1'


@pytest.fixture(scope='module')
def client(cluster):
    url, token = cluster.get_token('test:tester')
    return Client(url, token)


def names(prefix='vw'):
    return prefix + '-' + uuid.uuid4().hex[:8]


@pytest.fixture
def pair(client):
    """(versioned container, archive container), the flag not set yet."""
    container, archive = names(), names('arch')
    for name in (container, archive):
        assert client('PUT', '/' + name)[0] in (201, 202)
    return container, archive


def archived(client, archive, prefix=''):
    status, _h, body = client('GET', '/' + archive,
                              query='?format=json&prefix=' + prefix)
    assert status == 200
    return json.loads(body)


def test_stack_mode_push_and_pop(client, pair):
    container, archive = pair
    assert client('POST', '/' + container,
                  {'X-Versions-Location': archive})[0] == 204
    _s, headers, _b = client('HEAD', '/' + container)
    assert headers['X-Versions-Location'] == archive
    assert 'X-History-Location' not in headers
    for body in (b'one', b'two', b'three'):
        client.put('/%s/obj' % container, body,
                   {'X-Object-Meta-Body': body.decode()})
    entries = archived(client, archive)
    assert [e['name'][:7] for e in entries] == ['003obj/'] * 2
    assert entries[0]['bytes'] == 3 and entries[1]['bytes'] == 3
    first = client('GET', '/%s/%s' % (archive, entries[0]['name']))
    assert first[2] == b'one'
    assert first[1]['X-Object-Meta-Body'] == 'one'
    # Each DELETE pops the newest archived version back.
    assert client('DELETE', '/%s/obj' % container)[0] == 204
    assert client('GET', '/%s/obj' % container)[2] == b'two'
    assert client('DELETE', '/%s/obj' % container)[0] == 204
    status, headers, body = client('GET', '/%s/obj' % container)
    assert (status, body) == (200, b'one')
    assert headers['X-Object-Meta-Body'] == 'one'
    assert archived(client, archive) == []
    assert client('DELETE', '/%s/obj' % container)[0] == 204
    assert client('GET', '/%s/obj' % container)[0] == 404


def test_history_mode_keeps_everything(client, pair):
    container, archive = pair
    assert client('POST', '/' + container,
                  {'X-History-Location': archive})[0] == 204
    _s, headers, _b = client('GET', '/' + container)
    assert headers['X-History-Location'] == archive
    client.put('/%s/obj' % container, b'v1')
    client.put('/%s/obj' % container, b'v2')
    assert client('DELETE', '/%s/obj' % container)[0] == 204
    assert client('GET', '/%s/obj' % container)[0] == 404
    entries = archived(client, archive, '003obj/')
    assert [e['content_type'] for e in entries][-1] == MARKER_TYPE
    assert [e['bytes'] for e in entries] == [2, 2, 0]
    bodies = [client('GET', '/%s/%s' % (archive, e['name']))[2]
              for e in entries[:2]]
    assert bodies == [b'v1', b'v2']
    # Restore: COPY a version back.
    status, _h, _b = client('COPY', '/%s/%s' % (archive, entries[0]['name']),
                            {'Destination': '%s/obj' % container})
    assert status == 201
    assert client('GET', '/%s/obj' % container)[2] == b'v1'


def test_stack_delete_over_history_marker(client, pair):
    container, archive = pair
    client('POST', '/' + container, {'X-History-Location': archive})
    client.put('/%s/obj' % container, b'old')
    client('DELETE', '/%s/obj' % container)
    # The archive: old, marker. Switch to stack mode: a DELETE of the
    # gone object restores the version under the marker.
    client('POST', '/' + container, {'X-Versions-Location': archive})
    assert client('GET', '/%s/obj' % container)[0] == 404
    assert client('DELETE', '/%s/obj' % container)[0] == 204
    assert client('GET', '/%s/obj' % container)[2] == b'old'
    assert archived(client, archive) == []


def test_flag_headers(client, pair):
    container, archive = pair
    status, _h, body = client('POST', '/' + container, {
        'X-Versions-Location': archive, 'X-History-Location': archive})
    assert (status, body) == (
        400, b'Only one of X-Versions-Location or X-History-Location may '
        b'be specified')
    status, _h, body = client('POST', '/' + container,
                              {'X-Versions-Location': 'a/b'})
    assert (status, body) == (412, b'Container name cannot contain slashes')
    client('POST', '/' + container, {'X-Versions-Location': archive})
    assert client('POST', '/' + container,
                  {'X-Remove-Versions-Location': 'x'})[0] == 204
    _s, headers, _b = client('HEAD', '/' + container)
    assert 'X-Versions-Location' not in headers
    client.put('/%s/obj' % container, b'1')
    client.put('/%s/obj' % container, b'2')
    assert archived(client, archive) == []


def test_missing_archive_container_fails_the_overwrite(client):
    container = names()
    client('PUT', '/' + container, {'X-Versions-Location': names('none')})
    client.put('/%s/obj' % container, b'first')
    status, _h, _b = client('PUT', '/%s/obj' % container, {}, b'second')
    assert status == 412
    assert client('GET', '/%s/obj' % container)[2] == b'first'


def test_symlink_is_archived_as_symlink(client, pair):
    container, archive = pair
    client('POST', '/' + container, {'X-Versions-Location': archive})
    client.put('/%s/target' % container, b'data')
    client.put('/%s/link' % container,
               headers={'X-Symlink-Target': '%s/target' % container})
    client.put('/%s/link' % container, b'now plain')
    (entry,) = archived(client, archive, '004link/')
    status, headers, body = client('GET', '/%s/%s' % (archive, entry['name']),
                                   query='?symlink=get')
    assert (status, body) == (200, b'')
    assert headers['X-Symlink-Target'] == '%s/target' % container


def test_write_acl_checked_before_archiving(cluster, client, pair):
    container, archive = pair
    client('POST', '/' + container, {'X-Versions-Location': archive,
                                     'X-Container-Read': 'test:tester3'})
    client.put('/%s/obj' % container, b'mine')
    url, token = cluster.get_token('test:tester3')
    reader = Client(url, token)
    assert reader('PUT', '/%s/obj' % container, {}, b'theirs')[0] == 403
    assert reader('DELETE', '/%s/obj' % container)[0] == 403
    assert archived(client, archive) == []
    assert client('GET', '/%s/obj' % container)[2] == b'mine'


def test_swift_cli_sets_flag(cluster, pair):
    container, archive = pair
    result = subprocess.run(
        [SWIFT, '-A', cluster.auth_url, '-U', 'test:tester',
         '-K', cluster.users['test:tester'], 'post', container,
         '-H', 'X-Versions-Location: %s' % archive],
        capture_output=True, timeout=60, text=True)
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [SWIFT, '-A', cluster.auth_url, '-U', 'test:tester',
         '-K', cluster.users['test:tester'], 'stat', container],
        capture_output=True, timeout=60, text=True)
    assert 'X-Versions-Location: %s' % archive in result.stdout


def test_info_lists_versioned_writes(client):
    conn = http.client.HTTPConnection(client.url.hostname, client.url.port,
                                      timeout=10)
    conn.request('GET', '/info')
    info = json.loads(conn.getresponse().read())
    conn.close()
    assert info['versioned_writes'] == {
        'allowed_flags': ['x-versions-location', 'x-history-location']}
