"""Dynamic large objects against the running cluster, through
python-swiftclient's Connection: GET/HEAD with size and ETag, one range
(206) and several (200, the whole object), the manifest itself, a bad
manifest header, and COPY flattening or copying the manifest."""

import hashlib
import uuid

import pytest
from swiftclient import client as swift
from swiftclient.exceptions import ClientException

DATAS = (b'x' * 700, b'y' * 700, b'z' * 100)
WHOLE = b''.join(DATAS)


@pytest.fixture(scope='module')
def conn(cluster):
    return swift.Connection(cluster.auth_url, 'test:tester',
                            cluster.users['test:tester'], retries=0)


@pytest.fixture
def dlo(conn):
    """(container, segment container) with a DLO named 'big'."""
    cont, segs = 'dlo-' + uuid.uuid4().hex[:8], 'seg-' + uuid.uuid4().hex[:8]
    conn.put_container(cont)
    conn.put_container(segs)
    for index, data in enumerate(DATAS):
        conn.put_object(segs, 'big/%03d' % index, data)
    conn.put_object(cont, 'big', b'',
                    headers={'X-Object-Manifest': segs + '/big/'})
    return cont, segs


def test_get_head_and_ranges(conn, dlo):
    cont, _segs = dlo
    etag = '"%s"' % hashlib.md5(''.join(
        hashlib.md5(d).hexdigest() for d in DATAS).encode()).hexdigest()
    headers, body = conn.get_object(cont, 'big')
    assert (body, headers['etag']) == (WHOLE, etag)
    assert conn.head_object(cont, 'big')['content-length'] == '1500'
    headers, body = conn.get_object(cont, 'big',
                                    headers={'Range': 'bytes=690-1409'})
    assert body == WHOLE[690:1410]
    headers, body = conn.get_object(cont, 'big',
                                    headers={'Range': 'bytes=0-1,5-6'})
    assert body == WHOLE
    _h, body = conn.get_object(cont, 'big',
                               query_string='multipart-manifest=get')
    assert body == b''


def test_bad_manifest_header(conn, dlo):
    with pytest.raises(ClientException) as caught:
        conn.put_object(dlo[0], 'bad', b'',
                        headers={'X-Object-Manifest': 'no-prefix'})
    assert caught.value.http_status == 400


def test_copy_flattens_or_keeps_the_manifest(conn, dlo):
    cont, segs = dlo
    conn.copy_object(cont, 'big', '/%s/flat' % cont)
    headers, body = conn.get_object(cont, 'flat')
    assert body == WHOLE and 'x-object-manifest' not in headers
    conn.put_object(cont, 'twin', b'',
                    headers={'X-Copy-From': '/%s/big' % cont},
                    query_string='multipart-manifest=get')
    headers, body = conn.get_object(cont, 'twin')
    assert body == WHOLE
    assert headers['x-object-manifest'] == segs + '/big/'
