"""Static large objects against the running cluster, through
python-swiftclient's Connection (the requests any Swift client makes):
manifest PUT and its errors, GET/HEAD whole and ranged across segment
boundaries, the manifest itself, the listing, /info, copy, a missing
segment, and delete."""

import hashlib
import json
import uuid

import pytest
from swiftclient import client as swift
from swiftclient.exceptions import ClientException

DATAS = (b'1' * 1000, b'2' * 1000, b'3' * 500)
WHOLE = b''.join(DATAS)


def md5(data):
    return hashlib.md5(data).hexdigest()


SLO_ETAG = md5(''.join(md5(d) for d in DATAS).encode())


@pytest.fixture(scope='module')
def conn(cluster):
    return swift.Connection(cluster.auth_url, 'test:tester',
                            cluster.users['test:tester'], retries=0)


@pytest.fixture
def slo(conn):
    """(container, segment container, manifest name) of a 2,500-byte SLO
    of three segments."""
    cont, segs = 'slo-' + uuid.uuid4().hex[:8], 'seg-' + uuid.uuid4().hex[:8]
    conn.put_container(cont)
    conn.put_container(segs)
    manifest = []
    for index, data in enumerate(DATAS):
        conn.put_object(segs, 's%d' % index, data)
        manifest.append({'path': '/%s/s%d' % (segs, index),
                         'etag': md5(data), 'size_bytes': len(data)})
    conn.put_object(cont, 'big', json.dumps(manifest),
                    query_string='multipart-manifest=put')
    return cont, segs, 'big'


def test_get_head_and_ranges(conn, slo):
    cont, _segs, name = slo
    headers, body = conn.get_object(cont, name)
    assert body == WHOLE
    assert headers['etag'] == '"%s"' % SLO_ETAG
    assert conn.head_object(cont, name)['content-length'] == '2500'
    headers, body = conn.get_object(cont, name,
                                    headers={'Range': 'bytes=990-2009'})
    assert body == WHOLE[990:2010]
    assert headers['content-range'] == 'bytes 990-2009/2500'
    headers, body = conn.get_object(
        cont, name, headers={'Range': 'bytes=0-0,999-1000,-2'})
    assert headers['content-type'].startswith('multipart/byteranges')
    for start, stop in ((0, 1), (999, 1001), (2498, 2500)):
        assert b'Content-Range: bytes %d-%d/2500\r\n\r\n%s\r\n' % (
            start, stop - 1, WHOLE[start:stop]) in body


def test_manifest_listing_and_info(conn, slo):
    cont, segs, name = slo
    _h, body = conn.get_object(cont, name,
                               query_string='multipart-manifest=get')
    assert [entry['name'] for entry in json.loads(body)] == [
        '/%s/s%d' % (segs, index) for index in range(3)]
    _h, listed = conn.get_container(cont)
    assert listed[0]['bytes'] == 2500
    assert listed[0]['slo_etag'] == '"%s"' % SLO_ETAG
    info = conn.get_capabilities()
    # The aio raises Swift's default (1000) for S3's 10,000-part uploads.
    assert info['slo']['max_manifest_segments'] == 10000
    assert 'dlo' in info


def test_bad_segments_are_listed(conn, slo):
    cont, segs, _name = slo
    manifest = [{'path': '/%s/nope' % segs},
                {'path': '/%s/s0' % segs, 'size_bytes': 1}]
    with pytest.raises(ClientException) as caught:
        conn.put_object(cont, 'bad', json.dumps(manifest),
                        query_string='multipart-manifest=put')
    assert caught.value.http_status == 400
    assert caught.value.http_response_content == (
        b'Errors:\n/%s/nope, 404 Not Found\n/%s/s0, Size Mismatch\n'
        % (segs.encode(), segs.encode()))


def test_copy_and_missing_segment(conn, slo):
    cont, segs, name = slo
    conn.copy_object(cont, name, '/%s/flat' % cont)
    conn.delete_object(segs, 's0')
    with pytest.raises(ClientException) as caught:
        conn.get_object(cont, name)
    assert caught.value.http_status == 409
    assert conn.get_object(cont, 'flat')[1] == WHOLE


def test_delete_with_segments(conn, slo):
    cont, segs, name = slo
    conn.delete_object(cont, name, query_string='multipart-manifest=delete')
    assert conn.get_container(segs)[1] == []
    assert [o['name'] for o in conn.get_container(cont)[1]] == []
