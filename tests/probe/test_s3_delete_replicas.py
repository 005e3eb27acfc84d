"""S3 DeleteObject when the replicas of a key disagree: a multipart
manifest held by fewer primaries than a quorum (the others never got it)
makes the quorum answer of s3api's plain DELETE a 404, not the 412 that
would send it the HEAD-then-delete way; s3api looks at the key on a 404
too, finds the manifest, and deletes it with its parts. Real cluster,
manifest placed with a direct PUT to one object server."""

import time
import uuid

import boto3
import pytest

from objstore.common.backend_client import direct_request
from tests.helpers import proxy_request

USER = 'test:tester'
ACCOUNT = 'AUTH_test'
POLICY = {'X-Backend-Storage-Policy-Index': '0'}


@pytest.fixture
def s3(cluster):
    return boto3.client('s3', endpoint_url=cluster.proxy_url,
                        aws_access_key_id=USER,
                        aws_secret_access_key=cluster.users[USER],
                        region_name='us-east-1')


def direct(dev, method, part, path, headers=None, body=b''):
    return direct_request(dev['ip'], dev['port'], method,
                          '/%s/%d/%s' % (dev['device'], part, path),
                          dict(POLICY, **(headers or {})), body=body,
                          node_timeout=10)


def multipart_upload(s3, bucket, key):
    upload_id = s3.create_multipart_upload(Bucket=bucket,
                                           Key=key)['UploadId']
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                          PartNumber=1, Body=b'part data')
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id,
        MultipartUpload={'Parts': [{'PartNumber': 1,
                                    'ETag': part['ETag']}]})


def stored_manifest(ring, bucket, key):
    """(headers to PUT it again, body) of a manifest on its first primary."""
    part, nodes = ring.get_nodes(ACCOUNT, bucket, key)
    status, headers, body = direct(nodes[0], 'GET', part,
                                   '%s/%s/%s' % (ACCOUNT, bucket, key))
    assert status == 200 and headers['x-static-large-object'] == 'True'
    kept = {name: value for name, value in headers.items()
            if name.startswith('x-object-sysmeta-')
            or name in ('content-type', 'x-static-large-object', 'etag')}
    return kept, body


def test_manifest_on_one_primary_goes_with_its_parts(cluster, s3):
    bucket = 's3p-' + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=bucket)
    multipart_upload(s3, bucket, 'source')
    ring = cluster.ring('object')
    headers, body = stored_manifest(ring, bucket, 'source')
    # 'lone' names the same parts; only its first primary holds it.
    part, nodes = ring.get_nodes(ACCOUNT, bucket, 'lone')
    headers['X-Timestamp'] = '%.5f' % time.time()
    status, _, _ = direct(nodes[0], 'PUT', part,
                          '%s/%s/lone' % (ACCOUNT, bucket), headers, body)
    assert status == 201
    resp = s3.delete_object(Bucket=bucket, Key='lone')
    assert resp['ResponseMetadata']['HTTPStatusCode'] == 204
    for dev in nodes:
        status, _, _ = direct(dev, 'HEAD', part,
                              '%s/%s/lone' % (ACCOUNT, bucket))
        assert status == 404
    status, listed = proxy_request(cluster, USER, 'GET',
                                   '/%s+segments' % bucket)
    assert (status, listed) in ((200, b''), (204, b''))
