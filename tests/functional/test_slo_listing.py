"""What listings and stats show of SLO manifests and of object POSTs,
against the running cluster through python-swiftclient, as Swift shows
them: a manifest's row lists its total size (``swift_bytes``) and its
``slo_etag`` while the container's and account's bytes used count the
stored manifest; the object's own GET/HEAD never show ``swift_bytes``; a
POST that changes Content-Type changes the listing, keeping the total."""

import hashlib
import json
import uuid
import xml.etree.ElementTree as ET

import pytest
from swiftclient import client as swift

from tests.helpers import proxy_request

DATAS = (b'a' * 700, b'b' * 300)
TOTAL = sum(len(d) for d in DATAS)


def md5(data):
    return hashlib.md5(data).hexdigest()


SLO_ETAG = md5(''.join(md5(d) for d in DATAS).encode())


@pytest.fixture(scope='module')
def conn(cluster):
    return swift.Connection(cluster.auth_url, 'test:tester',
                            cluster.users['test:tester'], retries=0)


@pytest.fixture
def slo(conn):
    """(container, manifest name, stored manifest length): a 1,000-byte
    SLO whose segments live in another container."""
    cont, segs = 'sl-' + uuid.uuid4().hex[:8], 'sg-' + uuid.uuid4().hex[:8]
    conn.put_container(cont)
    conn.put_container(segs)
    manifest = []
    for index, data in enumerate(DATAS):
        conn.put_object(segs, 's%d' % index, data)
        manifest.append({'path': '/%s/s%d' % (segs, index)})
    conn.put_object(cont, 'm', json.dumps(manifest),
                    content_type='image/png',
                    query_string='multipart-manifest=put')
    _headers, stored = conn.get_object(cont, 'm',
                                       query_string='multipart-manifest=get')
    return cont, 'm', len(stored)


def row(conn, cont, name):
    _headers, listing = conn.get_container(cont)
    return next(item for item in listing if item['name'] == name)


def test_listing_row_shows_total_and_slo_etag(conn, slo):
    cont, name, _stored = slo
    item = row(conn, cont, name)
    assert item['bytes'] == TOTAL
    assert item['content_type'] == 'image/png'
    assert item['slo_etag'] == '"%s"' % SLO_ETAG
    assert 'swift_bytes' not in item['hash']
    assert 'slo_etag' not in item['hash']


def test_xml_and_plain_listings(cluster, slo):
    cont, name, _stored = slo
    status, body = proxy_request(cluster, 'test:tester', 'GET',
                                 '/%s?format=xml' % cont)
    assert status == 200
    obj = ET.fromstring(body).find('object')
    assert obj.find('name').text == name
    assert obj.find('bytes').text == str(TOTAL)
    assert obj.find('content_type').text == 'image/png'
    assert 'swift_bytes' not in body.decode()
    status, body = proxy_request(cluster, 'test:tester', 'GET',
                                 '/%s?format=plain' % cont)
    assert (status, body) == (200, b'm\n')


def test_container_and_account_bytes_count_the_manifest(cluster, conn, slo):
    cont, _name, stored = slo
    assert stored != TOTAL
    headers = conn.head_container(cont)
    assert headers['x-container-bytes-used'] == str(stored)
    assert headers['x-container-object-count'] == '1'

    def account_row():
        _headers, listing = conn.get_account(prefix=cont)
        return listing[0] if listing else None
    # The container-updater reports object rows' stats to the account.
    cluster.run_daemon('container-updater')
    assert account_row()['bytes'] == stored


def test_object_answers_never_show_swift_bytes(conn, slo):
    cont, name, stored = slo
    headers = conn.head_object(cont, name)
    assert headers['content-type'] == 'image/png'
    assert headers['content-length'] == str(TOTAL)
    headers, body = conn.get_object(cont, name)
    assert headers['content-type'] == 'image/png'
    assert body == b''.join(DATAS)
    headers, body = conn.get_object(cont, name,
                                    query_string='multipart-manifest=get')
    assert 'swift_bytes' not in headers['content-type']
    headers = conn.head_object(cont, name,
                               query_string='multipart-manifest=get')
    assert 'swift_bytes' not in headers['content-type']
    assert headers['content-length'] == str(stored)


def test_post_content_type_keeps_the_total(conn, slo):
    cont, name, stored = slo
    conn.post_object(cont, name, {'Content-Type': 'text/x-new'})
    item = row(conn, cont, name)
    assert item['content_type'] == 'text/x-new'
    assert item['bytes'] == TOTAL
    assert item['slo_etag'] == '"%s"' % SLO_ETAG
    assert conn.head_container(cont)['x-container-bytes-used'] == \
        str(stored)
    assert conn.head_object(cont, name)['content-type'] == 'text/x-new'


def test_post_content_type_changes_plain_object_listing(conn):
    cont = 'ct-' + uuid.uuid4().hex[:8]
    conn.put_container(cont)
    conn.put_object(cont, 'o', b'hello', content_type='text/plain')
    before = row(conn, cont, 'o')
    conn.post_object(cont, 'o', {'Content-Type': 'application/x-changed',
                                 'X-Object-Meta-Color': 'blue'})
    after = row(conn, cont, 'o')
    assert after['content_type'] == 'application/x-changed'
    assert (after['bytes'], after['hash']) == (5, md5(b'hello'))
    # As in Swift, the listing's last_modified is the POST's.
    assert after['last_modified'] >= before['last_modified']
    assert conn.head_object(cont, 'o')['content-type'] == \
        'application/x-changed'
    # As in Swift, a POST without a type keeps the earlier POST's.
    conn.post_object(cont, 'o', {'X-Object-Meta-Color': 'red'})
    assert row(conn, cont, 'o')['content_type'] == 'application/x-changed'
    assert conn.head_object(cont, 'o')['content-type'] == \
        'application/x-changed'
    # A later PUT wins again with its own type.
    conn.put_object(cont, 'o', b'hello!', content_type='text/x-put')
    item = row(conn, cont, 'o')
    assert (item['content_type'], item['bytes']) == ('text/x-put', 6)


def test_client_may_not_send_swift_bytes(conn):
    cont = 'sb-' + uuid.uuid4().hex[:8]
    conn.put_container(cont)
    with pytest.raises(swift.ClientException) as err:
        conn.put_object(cont, 'o', b'x',
                        content_type='text/plain;swift_bytes=99')
    assert err.value.http_status == 400


def test_archived_manifest_lists_its_total(conn, slo):
    """versioned_writes copies the manifest through a GET the proxy
    stripped of swift_bytes: the archive's row still shows the total."""
    cont, name, stored = slo
    archive = 'ar-' + uuid.uuid4().hex[:8]
    conn.put_container(archive)
    conn.post_container(cont, {'X-Versions-Location': archive})
    conn.put_object(cont, name, b'replaced')
    _headers, listing = conn.get_container(archive)
    [item] = listing
    assert (item['bytes'], item['content_type']) == (TOTAL, 'image/png')
    assert conn.head_container(archive)['x-container-bytes-used'] == \
        str(stored)
