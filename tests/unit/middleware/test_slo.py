"""slo against an in-process cluster (real servers on loopback, tmp rings
and devices): manifest PUT validation with Swift's bodies, GET/HEAD whole
and ranged across segment boundaries, conditional requests, the manifest
itself (raw too), delete, the listing's size and slo_etag, nested SLOs,
inline data and segment ranges, heartbeat, and segments that go missing
or change under a manifest."""

import hashlib
import http.client
import json
import os
import uuid

import pytest

from objstore.middleware.slo import SloConf
from tests.helpers import assert_sample_matches, make_logger
from tests.unit.middleware.lo_cluster import Client, LargeObjectCluster

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'proxy-server.conf-sample')


def md5(data):
    return hashlib.md5(data).hexdigest()


@pytest.fixture(scope='module')
def logger():
    return make_logger('slo')


@pytest.fixture(scope='module')
def cluster(tmp_path_factory, logger):
    lo_cluster = LargeObjectCluster(
        tmp_path_factory.mktemp('slo'), logger,
        slo_conf={'max_manifest_segments': '5', 'yield_frequency': '0'})
    yield lo_cluster
    lo_cluster.stop()


@pytest.fixture(scope='module')
def client(cluster):
    return Client(cluster.url)


@pytest.fixture
def names(client):
    """(segment container, manifest container) made for one test."""
    segs, cont = 'segs-' + uuid.uuid4().hex[:8], 'c-' + uuid.uuid4().hex[:8]
    assert client('PUT', '/' + segs)[0] == 201
    assert client('PUT', '/' + cont)[0] == 201
    return segs, cont


def put_segments(client, segs, datas):
    """Upload one segment per bytes value; their client manifest."""
    manifest = []
    for index, data in enumerate(datas):
        path = '/%s/s%02d' % (segs, index)
        assert client('PUT', path, body=data)[0] == 201
        manifest.append({'path': path, 'etag': md5(data),
                         'size_bytes': len(data)})
    return manifest


DATAS = (b'a' * 10, b'b' * 10, b'c' * 10)
WHOLE = b''.join(DATAS)


@pytest.fixture
def slo(client, names):
    """A 30-byte SLO of three 10-byte segments: its path."""
    segs, cont = names
    status, headers, body = client.put_manifest(
        '/%s/big' % cont, put_segments(client, segs, DATAS))
    assert status == 201, body
    return '/%s/big' % cont


def test_sample_lists_every_option():
    assert_sample_matches(SloConf, SAMPLE, 'filter:slo', ignore=('use',))


def test_put_answers_the_slo_etag(client, names):
    segs, cont = names
    manifest = put_segments(client, segs, DATAS)
    status, headers, _ = client.put_manifest('/%s/m' % cont, manifest)
    assert status == 201
    expected = md5(''.join(md5(d) for d in DATAS).encode())
    assert headers['etag'] == '"%s"' % expected


def test_get_and_head_whole(client, slo):
    status, headers, body = client('GET', slo)
    assert (status, body) == (200, WHOLE)
    slo_etag = md5(''.join(md5(d) for d in DATAS).encode())
    assert headers['etag'] == '"%s"' % slo_etag
    assert headers['x-static-large-object'] == 'True'
    assert headers['content-length'] == '30'
    assert not any(name.startswith('x-object-sysmeta') for name in headers)
    status, head_headers, body = client('HEAD', slo)
    assert (status, body, head_headers['content-length']) == (200, b'', '30')
    assert head_headers['etag'] == headers['etag']


@pytest.mark.parametrize('range_value,content_range,expected', [
    ('bytes=8-12', 'bytes 8-12/30', WHOLE[8:13]),
    ('bytes=-15', 'bytes 15-29/30', WHOLE[15:]),
    ('bytes=9-', 'bytes 9-29/30', WHOLE[9:]),
    ('bytes=5-99', 'bytes 5-29/30', WHOLE[5:]),
])
def test_single_range_across_boundaries(client, slo, range_value,
                                        content_range, expected):
    status, headers, body = client('GET', slo, {'Range': range_value})
    assert (status, body) == (206, expected)
    assert headers['content-range'] == content_range
    assert headers['content-length'] == str(len(expected))


def test_multi_range_across_boundaries(client, slo):
    status, headers, body = client('GET', slo, {'Range': 'bytes=8-12,25-'})
    assert status == 206
    assert headers['content-type'].startswith('multipart/byteranges;')
    assert int(headers['content-length']) == len(body)
    boundary = headers['content-type'].split('boundary=')[1]
    parts = body.split(b'--' + boundary.encode())
    assert parts[-1] == b'--'
    assert b'Content-Range: bytes 8-12/30\r\n\r\naabbb\r\n' in parts[1]
    assert b'Content-Range: bytes 25-29/30\r\n\r\nccccc\r\n' in parts[2]


def test_unsatisfiable_and_invalid_ranges(client, slo):
    status, headers, body = client('GET', slo, {'Range': 'bytes=30-'})
    assert status == 416
    assert headers['content-range'] == 'bytes */30'
    status, _headers, body = client('GET', slo, {'Range': 'bytes=z-1'})
    assert (status, body) == (200, WHOLE)


def test_conditional_requests_use_the_slo_etag(client, slo):
    etag = client('HEAD', slo)[1]['etag']
    assert client('GET', slo, {'If-None-Match': etag})[0] == 304
    assert client('GET', slo, {'If-Match': etag})[0] == 200
    assert client('GET', slo, {'If-Match': '"nope"'})[0] == 412
    status, _h, body = client('GET', slo, {'If-Match': etag,
                                           'Range': 'bytes=0-0'})
    assert (status, body) == (206, b'a')


def test_manifest_get_and_raw_reupload(client, slo, names):
    status, headers, body = client('GET', slo, query='multipart-manifest=get')
    assert status == 200
    assert headers['content-type'] == 'application/json; charset=utf-8'
    stored = json.loads(body)
    assert [entry['bytes'] for entry in stored] == [10, 10, 10]
    assert {'name', 'hash', 'bytes', 'content_type',
            'last_modified'} <= set(stored[0])
    status, headers, raw = client(
        'GET', slo, query='multipart-manifest=get&format=raw')
    assert status == 200 and headers['etag'] == md5(raw)
    assert json.loads(raw)[0] == {
        'path': stored[0]['name'], 'etag': md5(DATAS[0]), 'size_bytes': 10}
    status, headers, _ = client('PUT', '/%s/again' % names[1], body=raw,
                                query='multipart-manifest=put')
    assert status == 201
    assert client('GET', '/%s/again' % names[1])[2] == WHOLE


def test_listing_shows_total_size_and_slo_etag(client, slo):
    cont, name = slo.strip('/').split('/')
    _s, _h, body = client('GET', '/' + cont, query='format=json')
    entry = next(e for e in json.loads(body) if e['name'] == name)
    assert entry['bytes'] == 30
    manifest = client('GET', slo, query='multipart-manifest=get')[2]
    assert entry['hash'] == md5(manifest)
    assert entry['slo_etag'] == client('HEAD', slo)[1]['etag']


def test_put_lists_every_bad_segment(client, names):
    segs, cont = names
    good = put_segments(client, segs, [b'x' * 5])[0]
    manifest = [{'path': '/%s/missing' % segs},
                dict(good, etag='0' * 32, size_bytes=6), good]
    status, headers, body = client.put_manifest('/%s/m' % cont, manifest)
    assert status == 400
    assert headers['content-type'] == 'text/plain'
    assert body == (b'Errors:\n/%s/missing, 404 Not Found\n'
                    b'/%s/s00, Size Mismatch\n/%s/s00, Etag Mismatch\n'
                    % (segs.encode(), segs.encode(), segs.encode()))
    status, _h, body = client.put_manifest(
        '/%s/m' % cont, manifest, headers={'Accept': 'application/json'})
    assert json.loads(body)['Errors'][0] == ['/%s/missing' % segs,
                                             '404 Not Found']


@pytest.mark.parametrize('manifest,expected', [
    (b'{', b'Manifest must be valid JSON.\n'),
    (b'{}', b'Manifest must be a list.\n'),
    (b'[{"path": "c"}, {"path": "c/o", "x": 1}, {"data": "!!"},'
     b' {"path": "c/o", "range": "1-2,4-5"}]',
     b'Index 0: path does not refer to an object. Path must be of the form'
     b' /container/object.\nIndex 1: extraneous keys "x"\n'
     b'Index 2: data must be valid base64\n'
     b'Index 3: multiple ranges (only one allowed)\n'),
])
def test_put_rejects_bad_manifests(client, names, manifest, expected):
    status, _h, body = client('PUT', '/%s/m' % names[1], body=manifest,
                              query='multipart-manifest=put')
    assert (status, body) == (400, expected)


def test_put_limits(client, names):
    too_many = [{'path': '/c/o%d' % i} for i in range(6)]
    status, _h, body = client.put_manifest('/%s/m' % names[1], too_many)
    assert (status, body) == (
        413, b'Number of object-backed segments must be <= 5')
    big = b'[' + b' ' * (8 * 1024 * 1024) + b']'
    status, _h, body = client('PUT', '/%s/m' % names[1], body=big,
                              query='multipart-manifest=put')
    assert (status, body) == (413, b'Manifest File > 8388608 bytes')


def test_client_etag_must_match(client, names):
    segs, cont = names
    manifest = put_segments(client, segs, DATAS)
    status, _h, _b = client.put_manifest('/%s/m' % cont, manifest,
                                         headers={'Etag': '0' * 32})
    assert status == 422


def test_reserved_header(client, names):
    status, _h, body = client('PUT', '/%s/fake' % names[1],
                              {'X-Static-Large-Object': 'True'}, b'[]')
    assert status == 400
    assert body.startswith(b'X-Static-Large-Object is a reserved header.')


def test_delete_removes_segments_and_manifest(client, slo, names):
    status, headers, body = client('DELETE', slo,
                                   query='multipart-manifest=delete')
    assert status == 200
    # yield_frequency is 0 here: spaces, then the result after a blank line
    assert body.lstrip(b' ').partition(b'\r\n\r\n')[2] == (
        b'Number Deleted: 4\nNumber Not Found: 0\n'
                    b'Response Body: \nResponse Status: 200 OK\nErrors:\n')
    assert client('HEAD', slo)[0] == 404
    assert client('GET', '/' + names[0], query='format=json')[2] == b'[]'


def test_delete_of_a_plain_object_is_refused(client, names):
    path = '/%s/plain' % names[1]
    client('PUT', path, body=b'x')
    status, _h, body = client('DELETE', path,
                              query='multipart-manifest=delete')
    assert status == 200
    assert b'Response Status: 400 Bad Request\n' in body
    assert body.endswith(b'Errors:\n%s, Not an SLO manifest\n'
                         % path.encode())
    assert client('HEAD', path)[0] == 200


def test_nested_inline_data_and_segment_ranges(client, names, slo):
    segs, cont = names
    inner = '/%s/inner' % cont
    status, _h, body = client.put_manifest(inner, [
        {'path': slo, 'range': '5-24'},
        {'data': 'WFla'}])
    assert status == 201, body
    assert client('GET', inner)[2] == WHOLE[5:25] + b'XYZ'
    outer = '/%s/outer' % cont
    status, _h, body = client.put_manifest(outer, [
        {'data': 'Pj4='}, {'path': inner}, {'path': slo, 'range': '-3'}])
    assert status == 201, body
    expected = b'>>' + WHOLE[5:25] + b'XYZ' + WHOLE[-3:]
    status, headers, body = client('GET', outer)
    assert (status, body) == (200, expected)
    assert headers['content-length'] == str(len(expected))
    status, _h, body = client('GET', outer, {'Range': 'bytes=1-3,20-24'})
    assert status == 206
    assert b'\r\n\r\n' + expected[1:4] + b'\r\n' in body
    assert b'\r\n\r\n' + expected[20:25] + b'\r\n' in body


def test_heartbeat_sends_spaces_then_the_result(client, names):
    segs, cont = names
    manifest = put_segments(client, segs, DATAS)
    status, headers, body = client.put_manifest(
        '/%s/hb' % cont, manifest, query='&heartbeat=on')
    assert status == 202
    head, sep, result = body.partition(b'\r\n\r\n')
    assert sep and head.strip() == b'' and head.startswith(b' ')
    assert b'Response Status: 201 Created\n' in result
    assert client('GET', '/%s/hb' % cont)[2] == WHOLE


def test_missing_first_segment_is_a_conflict(client, slo, names):
    assert client('DELETE', '/%s/s00' % names[0])[0] == 204
    status, _h, _b = client('GET', slo)
    assert status == 409


def test_changed_later_segment_cuts_the_connection(client, slo, names,
                                                   logger):
    assert client('PUT', '/%s/s02' % names[0], body=b'z' * 10)[0] == 201
    conn = http.client.HTTPConnection(client.url.hostname, client.url.port,
                                      timeout=30)
    try:
        conn.request('GET', '/v1/AUTH_test' + slo,
                     headers={'X-Auth-Token': client.token})
        resp = conn.getresponse()
        assert resp.status == 200
        with pytest.raises(http.client.IncompleteRead) as caught:
            resp.read()
    finally:
        conn.close()
    assert b'z' not in caught.value.partial
    assert any('Object segment no longer valid' in line and 's02' in line
               for line in logger.handler.messages('ERROR'))


def test_info_advertises_slo_and_dlo(client):
    status, _h, body = client.raw('GET', '/info')
    info = json.loads(body)
    assert info['slo']['max_manifest_segments'] == 5
    assert info['slo']['max_manifest_size'] == 8 * 1024 * 1024
    assert info['slo']['min_segment_size'] == 1
    assert 'dlo' in info


def test_copy_flattens_the_slo(client, slo):
    cont = slo.split('/')[1]
    status, headers, _b = client('COPY', slo,
                                 {'Destination': '%s/flat' % cont})
    assert status == 201
    status, headers, body = client('GET', '/%s/flat' % cont)
    assert (status, body) == (200, WHOLE)
    assert 'x-static-large-object' not in headers
    assert headers['etag'] == md5(WHOLE)
    _s, _h, listing = client('GET', '/' + cont, query='format=json')
    entry = next(e for e in json.loads(listing) if e['name'] == 'flat')
    assert (entry['bytes'], entry['hash']) == (30, md5(WHOLE))
    assert 'slo_etag' not in entry


def test_copy_of_the_manifest_is_an_slo(client, slo):
    cont = slo.split('/')[1]
    status, _h, _b = client('COPY', slo, {'Destination': '%s/twin' % cont},
                            query='multipart-manifest=get')
    assert status == 201
    status, headers, body = client('GET', '/%s/twin' % cont)
    assert (status, body) == (200, WHOLE)
    assert headers['x-static-large-object'] == 'True'
    assert headers['etag'] == client('HEAD', slo)[1]['etag']


def test_chunked_manifest_put(client, names):
    """A manifest sent without Content-Length (chunked) is read whole."""
    segs, cont = names
    body = json.dumps(put_segments(client, segs, DATAS)).encode()
    conn = http.client.HTTPConnection(client.url.hostname, client.url.port,
                                      timeout=30)
    try:
        conn.putrequest('PUT', '/v1/AUTH_test/%s/chunked'
                        '?multipart-manifest=put' % cont)
        conn.putheader('X-Auth-Token', client.token)
        conn.putheader('Transfer-Encoding', 'chunked')
        conn.endheaders()
        for piece in (body[:7], body[7:]):
            conn.send(b'%x\r\n%s\r\n' % (len(piece), piece))
        conn.send(b'0\r\n\r\n')
        assert conn.getresponse().status == 201
    finally:
        conn.close()
    assert client('GET', '/%s/chunked' % cont)[2] == WHOLE


def test_unsatisfiable_range_keeps_the_objects_headers(client, slo):
    status, headers, body = client('GET', slo, {'Range': 'bytes=99-'})
    assert (status, headers['content-range']) == (416, 'bytes */30')
    assert headers['x-static-large-object'] == 'True'
    assert body == (b'<html><h1>Requested Range Not Satisfiable</h1><p>The '
                    b'Range requested is not available.</p></html>')


@pytest.mark.parametrize('method', ['GET', 'HEAD', 'PUT', 'DELETE', 'COPY'])
def test_query_that_is_not_utf8_is_no_server_error(client, slo, method):
    """webob's query parsing raises on such bytes; found by the fuzz test."""
    status, _h, _b = client.raw(
        method, '/v1/AUTH_test%s?%%FF=%%ED&multipart-manifest=get' % slo,
        {'X-Auth-Token': client.token, 'Destination': 'x/y'}, b'')
    assert status < 500


def test_heartbeat_reports_problems_in_the_body(client, names):
    status, _h, body = client.put_manifest(
        '/%s/hb-bad' % names[1], [{'path': '/%s/nope' % names[0]}],
        query='&heartbeat=on', headers={'Accept': 'application/json'})
    assert status == 202
    result = json.loads(body.partition(b'\r\n\r\n')[2])
    assert result['Response Status'] == '400 Bad Request'
    assert result['Errors'] == [['/%s/nope' % names[0], '404 Not Found']]
    assert client('HEAD', '/%s/hb-bad' % names[1])[0] == 404
