"""Bulk against the running cluster: archives of each kind extracted over
raw HTTP (also sent chunked), per-file errors in the asked format (a
container quota refuses a member), bulk deletes of objects and
containers, and python-swiftclient's ``swift delete``, which deletes
through bulk-delete once /info lists it."""

import http.client
import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from urllib.parse import quote

import pytest

from tests.functional.raw_client import UserClient

SWIFT = os.path.join(os.path.dirname(sys.executable), 'swift')


@pytest.fixture(scope='module')
def tester(cluster):
    return UserClient(cluster, 'test:tester')


def make_tar(members, mode='w'):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def unique(prefix='bulk'):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:10])


@pytest.mark.parametrize('kind,mode', [('tar', 'w'), ('tar.gz', 'w:gz'),
                                       ('tar.bz2', 'w:bz2')])
def test_extract_archive_creates_containers_and_objects(tester, kind, mode):
    first, second = unique(), unique()
    archive = make_tar({'%s/a.txt' % first: b'alpha',
                        '%s/dir/b.txt' % second: b'beta'}, mode)
    status, headers, body = tester(
        'PUT', '', {'Accept': 'application/json'}, archive,
        query='extract-archive=' + kind)
    assert status == 200 and headers['content-type'].startswith(
        'application/json')
    report = json.loads(body)
    assert report == {'Response Status': '201 Created', 'Response Body': '',
                      'Number Files Created': 2, 'Errors': []}
    assert tester('GET', '/%s/a.txt' % first)[2] == b'alpha'
    assert tester('GET', '/%s/dir/b.txt' % second)[2] == b'beta'


def test_extract_chunked_into_a_container_path(tester):
    container = unique()
    assert tester('PUT', '/' + container)[0] in (201, 202)
    archive = make_tar({'x/%d' % i: b'%d' % i * 1000 for i in range(5)},
                       'w:gz')
    conn = http.client.HTTPConnection(tester.host, tester.port, timeout=30)
    try:
        conn.request('PUT', quote('%s/%s/in' % (tester.account_path,
                                                container)) +
                     '?extract-archive=tar.gz',
                     body=iter([archive[:700], archive[700:]]),
                     headers={'X-Auth-Token': tester.token},
                     encode_chunked=True)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert resp.status == 200
    assert b'Number Files Created: 5\n' in body
    assert tester('GET', '/%s/in/x/3' % container)[2] == b'3' * 1000


def test_extract_reports_quota_refusals_in_xml(tester):
    container = unique()
    status, _h, _b = tester('PUT', '/' + container,
                            {'X-Container-Meta-Quota-Bytes': '10'})
    assert status in (201, 202)
    archive = make_tar({'%s/small' % container: b'12345',
                        '%s/big' % container: b'x' * 100})
    _s, _h, body = tester('PUT', '', {'Accept': 'application/xml'}, archive,
                          query='extract-archive=tar')
    assert body.lstrip().startswith(b'<extract>')
    assert b'<number_files_created>1</number_files_created>' in body
    assert ('<object><name>%s/big</name><status>413 Request Entity Too '
            'Large</status></object>' % container).encode() in body
    assert b'<response_status>400 Bad Request</response_status>' in body


def test_extract_bad_archives(tester):
    status, _h, body = tester('PUT', '', body=b'x',
                              query='extract-archive=rar')
    assert (status, body) == (400, b'Unsupported archive format')
    status, _h, body = tester('PUT', '', body=b'garbage' * 100,
                              query='extract-archive=tar.bz2')
    assert status == 200
    assert b'Response Status: 400 Bad Request\n' in body
    assert b'Response Body: Invalid Tar File' in body


def test_extract_needs_auth(tester):
    archive = make_tar({'%s/o' % unique(): b'x'})
    status, _h, body = tester('PUT', '', body=archive, token=False,
                              query='extract-archive=tar')
    assert status == 200
    assert b'Response Status: 401 Unauthorized\n' in body


def test_bulk_delete_objects_and_containers(tester):
    container, empty = unique(), unique()
    for name in (container, empty):
        assert tester('PUT', '/' + name)[0] in (201, 202)
    for obj in ('a b', 'c'):
        assert tester('PUT', '/%s/%s' % (container, obj), body=b'x')[0] == 201
    names = '\n'.join([quote('%s/a b' % container), '%s/c' % container,
                       '%s/missing' % container, empty, container])
    status, _h, body = tester('POST', '', {'Accept': 'application/json',
                                           'Content-Type': 'text/plain'},
                              names.encode(), query='bulk-delete')
    assert status == 200
    report = json.loads(body)
    assert report['Number Deleted'] == 4
    assert report['Number Not Found'] == 1
    assert report['Errors'] == []
    assert report['Response Status'] == '200 OK'
    assert tester('HEAD', '/' + container)[0] == 404
    status, _h, body = tester('DELETE', '', body=b'\n', query='bulk-delete')
    assert b'Response Body: Invalid bulk delete.' in body


def test_info_lists_bulk_limits(tester):
    _s, _h, body = tester('GET', '', account_path='/info')
    info = json.loads(body)
    assert info['bulk_delete']['max_deletes_per_request'] == 10000
    assert info['bulk_upload']['max_containers_per_extraction'] == 10000


def test_swift_cli_deletes_through_bulk_delete(cluster, tester):
    container = unique('cli')
    assert tester('PUT', '/' + container)[0] in (201, 202)
    for index in range(4):
        assert tester('PUT', '/%s/o%d' % (container, index),
                      body=b'data')[0] == 201
    result = subprocess.run(
        [SWIFT, '-A', cluster.auth_url, '-U', 'test:tester', '-K',
         cluster.users['test:tester'], 'delete', container] +
        ['o%d' % i for i in range(4)],
        capture_output=True, timeout=60, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert tester('GET', '/' + container)[:3:2] == (204, b'')
