"""S3 DeleteObject against the cluster: a plain key goes with one DELETE
per replica and no HEAD first (counted in the object servers' access
logs, by the request's transaction id); a multipart object, which the
object servers refuse to delete that way, still goes with its parts,
whichever kind of object the key held before; versioned buckets keep
their own ways; no client can send the object servers' refusal header."""

import glob
import os
import uuid
from collections import Counter
from urllib.parse import urlparse

import pytest

from objstore.common.conditional import DELETE_IF_PLAIN_HEADER
from tests.functional.conftest import all_versions, empty_bucket, new_bucket
from tests.helpers import proxy_request, send_raw, wait_for


def object_server_requests(cluster, trans_id):
    """Counter of (method) of the object servers' access lines of one
    transaction, and the set of servers that logged a DELETE."""
    methods, deleters = Counter(), set()
    wanted = 'txn:%s' % trans_id
    for log in glob.glob(os.path.join(cluster.aio.dirs.logs,
                                      'object-server-*.log')):
        with open(log, encoding='utf-8', errors='replace') as lines:
            for line in lines:
                if wanted not in line or '"' not in line:
                    continue
                method = line.split('"', 2)[1].split(' ', 1)[0]
                methods[method] += 1
                if method == 'DELETE':
                    deleters.add(os.path.basename(log))
    return methods, deleters


def request_id(resp):
    return resp['ResponseMetadata']['HTTPHeaders']['x-amz-request-id']


def segments(cluster, bucket):
    status, body = proxy_request(cluster, 'test:tester', 'GET',
                                 '/%s+segments' % bucket)
    return body.decode().split() if status == 200 else []


def multipart_upload(s3, bucket, key, data=b'only'):
    upload_id = s3.create_multipart_upload(Bucket=bucket,
                                           Key=key)['UploadId']
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                          PartNumber=1, Body=data)
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id,
        MultipartUpload={'Parts': [{'PartNumber': 1,
                                    'ETag': part['ETag']}]})


def swift_request(cluster, method, path, headers=None):
    """(status, headers, body) of a Swift request of test:tester below
    its account."""
    storage_url, token = cluster.get_token('test:tester')
    parsed = urlparse(storage_url)
    return send_raw(parsed.hostname, parsed.port, method, parsed.path + path,
                    dict(headers or {}, **{'X-Auth-Token': token}))


def is_manifest(cluster, bucket, key):
    status, headers, _ = swift_request(cluster, 'HEAD',
                                       '/%s/%s' % (bucket, key))
    return status == 200 and headers.get('x-static-large-object') == 'True'


@pytest.fixture
def s3_bucket(s3, bucket):
    """The bucket, after one verified request of the signer (the proxy
    worker then knows its account: the plain DeleteObject needs it)."""
    s3.head_bucket(Bucket=bucket)
    return bucket


def test_plain_key_is_one_delete_per_replica_and_no_head(
        cluster, s3, s3_bucket):
    s3.put_object(Bucket=s3_bucket, Key='plain', Body=b'x' * 4096)
    resp = s3.delete_object(Bucket=s3_bucket, Key='plain')
    assert resp['ResponseMetadata']['HTTPStatusCode'] == 204
    trans_id = request_id(resp)
    replicas = cluster.aio.layout.replicas
    assert wait_for(lambda: object_server_requests(
        cluster, trans_id)[0]['DELETE'] >= replicas)
    methods, deleters = object_server_requests(cluster, trans_id)
    assert methods == Counter({'DELETE': replicas})
    assert len(deleters) == replicas
    assert s3.list_objects_v2(Bucket=s3_bucket)['KeyCount'] == 0


def test_missing_key_is_204_and_bucket_checked(s3, s3_bucket):
    resp = s3.delete_object(Bucket=s3_bucket, Key='never-there')
    assert resp['ResponseMetadata']['HTTPStatusCode'] == 204
    missing = 'nb-' + uuid.uuid4().hex[:12]
    with pytest.raises(s3.exceptions.NoSuchBucket):
        s3.delete_object(Bucket=missing, Key='k')


def test_multipart_object_goes_with_its_parts(cluster, s3, s3_bucket):
    multipart_upload(s3, s3_bucket, 'mp')
    assert is_manifest(cluster, s3_bucket, 'mp')
    assert len(segments(cluster, s3_bucket)) == 1
    s3.delete_object(Bucket=s3_bucket, Key='mp')
    assert segments(cluster, s3_bucket) == []
    assert proxy_request(cluster, 'test:tester', 'GET',
                         '/%s/mp' % s3_bucket)[0] == 404


def test_plain_key_overwritten_by_multipart_then_deleted(
        cluster, s3, s3_bucket):
    s3.put_object(Bucket=s3_bucket, Key='k', Body=b'plain')
    multipart_upload(s3, s3_bucket, 'k', b'multipart')
    assert is_manifest(cluster, s3_bucket, 'k')
    s3.delete_object(Bucket=s3_bucket, Key='k')
    assert segments(cluster, s3_bucket) == []
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=s3_bucket, Key='k')


def test_multipart_overwritten_by_plain_key_then_deleted(
        cluster, s3, s3_bucket):
    multipart_upload(s3, s3_bucket, 'k', b'multipart')
    left = segments(cluster, s3_bucket)
    s3.put_object(Bucket=s3_bucket, Key='k', Body=b'plain')
    assert not is_manifest(cluster, s3_bucket, 'k')
    resp = s3.delete_object(Bucket=s3_bucket, Key='k')
    methods, _ = object_server_requests(cluster, request_id(resp))
    assert 'HEAD' not in methods and 'GET' not in methods
    with pytest.raises(s3.exceptions.NoSuchKey):
        s3.get_object(Bucket=s3_bucket, Key='k')
    # The plain object replaced the manifest, not its parts: a DELETE of
    # the plain key leaves them as the overwrite did (as in Swift).
    assert segments(cluster, s3_bucket) == left
    for name in left:
        proxy_request(cluster, 'test:tester', 'DELETE',
                      '/%s+segments/%s' % (s3_bucket, name))


def test_symlink_key_deletes_the_link_only(cluster, s3, s3_bucket):
    s3.put_object(Bucket=s3_bucket, Key='target', Body=b'data')
    status, _, _ = swift_request(
        cluster, 'PUT', '/%s/link' % s3_bucket,
        {'Content-Length': '0', 'X-Symlink-Target': '%s/target' % s3_bucket})
    assert status == 201
    s3.delete_object(Bucket=s3_bucket, Key='link')
    keys = [item['Key'] for item in s3.list_objects_v2(
        Bucket=s3_bucket)['Contents']]
    assert keys == ['target']


@pytest.mark.parametrize('status', ['Enabled', 'Suspended'])
def test_versioned_bucket_delete_unchanged(s3, status):
    name = new_bucket(s3, 'Enabled')
    try:
        first = s3.put_object(Bucket=name, Key='k', Body=b'v1')
        if status == 'Suspended':
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={
                'Status': 'Suspended'})
        resp = s3.delete_object(Bucket=name, Key='k')
        versions, markers = all_versions(s3, name)
        assert [v['VersionId'] for v in versions] == [first['VersionId']]
        if status == 'Enabled':
            assert resp['DeleteMarker'] is True
            assert [m['VersionId'] for m in markers] == [resp['VersionId']]
        else:
            # The link to the current version goes, the version stays.
            assert markers == [] and 'DeleteMarker' not in resp
        with pytest.raises(s3.exceptions.NoSuchKey):
            s3.get_object(Bucket=name, Key='k')
    finally:
        empty_bucket(s3, name)
        s3.delete_bucket(Bucket=name)


def test_client_cannot_send_the_refusal_header(cluster, s3, s3_bucket):
    multipart_upload(s3, s3_bucket, 'mp')
    status, _, _ = swift_request(cluster, 'DELETE', '/%s/mp' % s3_bucket,
                                 {DELETE_IF_PLAIN_HEADER: 'true'})
    # The gatekeeper dropped it: the manifest itself went (Swift's DELETE
    # without multipart-manifest=delete keeps the segments).
    assert status == 204
    assert not is_manifest(cluster, s3_bucket, 'mp')
    for name in segments(cluster, s3_bucket):
        proxy_request(cluster, 'test:tester', 'DELETE',
                      '/%s+segments/%s' % (s3_bucket, name))
