"""Header validation that Swift does and clients can trip on, checked
against the aio with the status and body text Swift 2.38 answers (compat
cases bad-content-type-put, bad-container-sync-to). The container server's
messages end in a line end, Swift's do not (docs/compat.md)."""

import uuid

import pytest

from tests.functional.test_api import connect, raw


@pytest.fixture(scope='module')
def conn(cluster):
    return connect(cluster)


@pytest.fixture
def container(conn):
    name = 'val-' + uuid.uuid4().hex[:8]
    conn.put_container(name)
    return name


@pytest.mark.parametrize('content_type', [
    'text/plain;swift_bytes=abc', 'text/plain; charset=utf-8; swift_x=1'])
def test_swift_content_type_params_are_refused(conn, container,
                                               content_type):
    status, _, body = raw(conn, 'PUT', '/%s/o' % container,
                          {'Content-Type': content_type}, b'x')
    assert (status, body) == (
        400, b'Invalid Content-Type, swift_* is not a valid parameter name.')
    assert raw(conn, 'HEAD', '/%s/o' % container)[0] == 404


def test_other_content_type_params_are_kept(conn, container):
    content_type = 'text/plain; charset=utf-8; swiftness=1'
    status, _, _ = raw(conn, 'PUT', '/%s/o' % container,
                       {'Content-Type': content_type}, b'x')
    assert status == 201
    assert raw(conn, 'HEAD', '/%s/o' % container)[1]['content-type'] == \
        content_type


@pytest.mark.parametrize('value,message', [
    ('http://x', b'Path required in X-Container-Sync-To'),
    ('ftp://127.0.0.1/v1/a/c', b'Invalid scheme \'ftp\' in X-Container-'
                               b'Sync-To, must be "//", "http", or "https".'),
    ('http://127.0.0.1/v1/a/c?x=1', b'Params, queries, and fragments not '
                                    b'allowed in X-Container-Sync-To'),
    ('http://example.com/v1/a/c', b"Invalid host 'example.com' in "
                                  b"X-Container-Sync-To"),
])
def test_bad_sync_to_is_refused_on_put_and_post(conn, value, message):
    name = 'val-' + uuid.uuid4().hex[:8]
    status, _, body = raw(conn, 'PUT', '/' + name,
                          {'X-Container-Sync-To': value})
    assert (status, body) == (400, message)
    assert raw(conn, 'HEAD', '/' + name)[0] == 404
    assert raw(conn, 'PUT', '/' + name)[0] == 201
    status, _, body = raw(conn, 'POST', '/' + name,
                          {'X-Container-Sync-To': value})
    assert (status, body) == (400, message)


@pytest.mark.parametrize('value', [
    'http://127.0.0.1/v1/AUTH_b/c', '//realm/cluster/AUTH_b/c', ''])
def test_good_sync_to_is_stored(conn, value):
    name = 'val-' + uuid.uuid4().hex[:8]
    assert raw(conn, 'PUT', '/' + name, {'X-Container-Sync-To': value})[0] \
        == 201
    headers = raw(conn, 'HEAD', '/' + name)[1]
    assert headers.get('x-container-sync-to', '') == value


def test_empty_storage_policy_means_the_default(conn):
    name = 'val-' + uuid.uuid4().hex[:8]
    assert raw(conn, 'PUT', '/' + name, {'X-Storage-Policy': ''})[0] == 201
    assert raw(conn, 'HEAD', '/' + name)[1]['x-storage-policy'] == 'Policy-0'
