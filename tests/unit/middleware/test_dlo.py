"""dlo against an in-process cluster: GET/HEAD of X-Object-Manifest
objects with their size and ETag, paged listings, Range (one range 206,
several 200 whole, 416), conditional requests, the manifest itself, the
header's form on PUT, POST keeping or changing it, COPY flattening, and
the segment container read with the caller's rights."""

import hashlib
import json
import os
import uuid

import pytest

from objstore.middleware import dlo
from tests.helpers import assert_sample_matches, make_logger
from tests.unit.middleware.lo_cluster import Client, LargeObjectCluster

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'proxy-server.conf-sample')
DATAS = (b'a' * 10, b'b' * 10, b'c' * 10)
WHOLE = b''.join(DATAS)


def md5(data):
    return hashlib.md5(data).hexdigest()


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    lo_cluster = LargeObjectCluster(tmp_path_factory.mktemp('dlo'),
                                    make_logger('dlo'))
    yield lo_cluster
    lo_cluster.stop()


@pytest.fixture(scope='module')
def client(cluster):
    return Client(cluster.url)


@pytest.fixture
def dlo_path(client):
    """A DLO over three 10-byte segments (and one object outside its
    prefix): its path."""
    segs, cont = 'segs-' + uuid.uuid4().hex[:8], 'c-' + uuid.uuid4().hex[:8]
    for name in (segs, cont):
        assert client('PUT', '/' + name)[0] == 201
    for index, data in enumerate(DATAS):
        assert client('PUT', '/%s/part/%02d' % (segs, index),
                      body=data)[0] == 201
    client('PUT', '/%s/other' % segs, body=b'NOT')
    path = '/%s/big' % cont
    assert client('PUT', path, {'X-Object-Manifest': segs + '/part/'},
                  b'')[0] == 201
    return path


def test_sample_lists_every_option():
    assert_sample_matches(dlo.DloConf, SAMPLE, 'filter:dlo', ignore=('use',))


def test_get_and_head(client, dlo_path):
    etag = '"%s"' % md5(''.join(md5(d) for d in DATAS).encode())
    status, headers, body = client('GET', dlo_path)
    assert (status, body, headers['etag']) == (200, WHOLE, etag)
    assert headers['content-length'] == '30'
    status, headers, body = client('HEAD', dlo_path)
    assert (status, body, headers['content-length']) == (200, b'', '30')
    assert headers['etag'] == etag


def test_listing_read_page_by_page(client, dlo_path, monkeypatch):
    monkeypatch.setattr(dlo, 'LISTING_PAGE', 2)
    status, headers, body = client('GET', dlo_path)
    assert (status, body) == (200, WHOLE)
    # a listing longer than a page: neither size nor ETag known up front
    assert 'etag' not in headers and 'content-length' not in headers


def test_ranges(client, dlo_path):
    status, headers, body = client('GET', dlo_path, {'Range': 'bytes=8-21'})
    assert (status, body) == (206, WHOLE[8:22])
    assert headers['content-range'] == 'bytes 8-21/30'
    status, _h, body = client('GET', dlo_path, {'Range': 'bytes=-12'})
    assert (status, body) == (206, WHOLE[-12:])
    status, _h, body = client('GET', dlo_path,
                              {'Range': 'bytes=0-1,20-21'})
    assert (status, body) == (200, WHOLE)
    status, headers, _b = client('GET', dlo_path, {'Range': 'bytes=30-'})
    assert (status, headers['content-range']) == (416, 'bytes */30')


def test_conditional_requests(client, dlo_path):
    etag = client('HEAD', dlo_path)[1]['etag']
    assert client('GET', dlo_path, {'If-None-Match': etag})[0] == 304
    assert client('GET', dlo_path, {'If-Match': '"x"'})[0] == 412
    assert client('GET', dlo_path, {'If-Match': etag})[2] == WHOLE


def test_manifest_get_returns_the_manifest_object(client, dlo_path):
    status, headers, body = client('GET', dlo_path,
                                   query='multipart-manifest=get')
    assert (status, body) == (200, b'')
    assert headers['etag'] == md5(b'')


def test_put_checks_the_header_form(client, dlo_path):
    for bad in ('nocontainer', '/prefix', 'c/', 'c/p?x'):
        status, _h, body = client('PUT', dlo_path,
                                  {'X-Object-Manifest': bad}, b'')
        assert (status, body) == (
            400, b'X-Object-Manifest must be in the format container/prefix')


def test_post_keeps_or_changes_the_manifest(client, dlo_path):
    segs = client('HEAD', dlo_path)[1]['x-object-manifest'].split('/')[0]
    assert client('POST', dlo_path, {
        'X-Object-Manifest': segs + '/part/01'})[0] == 202
    assert client('GET', dlo_path)[2] == DATAS[1]
    # Swift's rule: a POST without the header drops it
    assert client('POST', dlo_path, {'X-Object-Meta-A': 'b'})[0] == 202
    assert client('GET', dlo_path)[2] == b''


def test_copy_flattens(client, dlo_path):
    cont = dlo_path.split('/')[1]
    status, _h, _b = client('COPY', dlo_path,
                            {'Destination': '%s/flat' % cont})
    assert status == 201
    status, headers, body = client('GET', '/%s/flat' % cont)
    assert (status, body) == (200, WHOLE)
    assert 'x-object-manifest' not in headers


def test_missing_segment_container(client):
    cont = 'c-' + uuid.uuid4().hex[:8]
    client('PUT', '/' + cont)
    client('PUT', '/%s/m' % cont, {'X-Object-Manifest': 'nosuch/p'}, b'')
    assert client('GET', '/%s/m' % cont)[0] == 404


def test_segments_read_with_the_callers_rights(cluster, client, dlo_path):
    """tester3 (no admin) may read the manifest's container but not the
    segments' one: the DLO is refused, as in Swift."""
    cont = dlo_path.split('/')[1]
    client('POST', '/' + cont, {'X-Container-Read': 'test:tester3'})
    reader = Client(cluster.url, 'test:tester3', 'testing3')
    assert reader('GET', dlo_path, query='multipart-manifest=get')[0] == 200
    assert reader('GET', dlo_path)[0] == 403
    segs = client('HEAD', dlo_path)[1]['x-object-manifest'].split('/')[0]
    client('POST', '/' + segs, {'X-Container-Read': 'test:tester3'})
    assert reader('GET', dlo_path)[2] == WHOLE


def test_info_lists_dlo(client):
    assert 'dlo' in json.loads(client.raw('GET', '/info')[2])


def test_copy_of_the_manifest_is_a_dlo(client, dlo_path):
    cont = dlo_path.split('/')[1]
    status, _h, _b = client('COPY', dlo_path,
                            {'Destination': '%s/twin' % cont},
                            query='multipart-manifest=get')
    assert status == 201
    status, headers, body = client('GET', '/%s/twin' % cont)
    assert (status, body) == (200, WHOLE)
    assert headers['x-object-manifest'] == \
        client('HEAD', dlo_path)[1]['x-object-manifest']
