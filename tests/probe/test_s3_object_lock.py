"""S3 Object Lock end to end on a real aio cluster (4 nodes, 3 replicas),
in real time: a version retained for a few seconds cannot be deleted
through S3 or the Swift API until its retain-until date has passed, then
can. Its retention is lengthened while one of its primaries is down; the
object replicator (run once) brings the new retention to that primary,
so every replica holds it and the version is refused everywhere.
"""

import datetime
import time
import uuid
from urllib.parse import urlparse

import boto3
import pytest
from botocore.exceptions import ClientError

from objstore.common.backend_client import direct_request
from objstore.common.retention import (
    RETENTION_SYSMETA, format_date, parse_retention)
from objstore.middleware.versioning import (
    version_object_name, versions_container_name)
from tests.functional.test_symlink import Client
from tests.helpers import node_of, wait_for

# Long enough for the steps before the date (a replicator pass included)
# on a loaded machine; the test waits out what is left.
RETAINED_SECONDS = 12


def s3_client(cluster):
    return boto3.client(
        's3', endpoint_url=cluster.proxy_url,
        aws_access_key_id='test:tester',
        aws_secret_access_key=cluster.users['test:tester'],
        region_name='us-east-1')


def s3_error(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response['Error']['Code']


def stored_retentions(cluster, account, bucket, key, version):
    """The retention each primary of the version object holds."""
    container = versions_container_name(bucket)
    obj = version_object_name(key, version)
    part, primaries = cluster.ring('object').get_nodes(account, container,
                                                       obj)
    found = []
    for dev in primaries:
        status, headers, _body = direct_request(
            dev['ip'], dev['port'], 'HEAD',
            '/%s/%d/%s/%s/%s' % (dev['device'], part, account, container,
                                 obj),
            {'X-Backend-Storage-Policy-Index': '0'}, node_timeout=10)
        found.append(parse_retention(headers.get(RETENTION_SYSMETA.lower()))
                     if status == 200 else status)
    return found, primaries


def test_retention_of_seconds_end_to_end(cluster):
    s3 = s3_client(cluster)
    storage_url, token = cluster.get_token('test:tester')
    swift = Client(storage_url, token)
    account = urlparse(storage_url).path.rsplit('/', 1)[-1]
    bucket = 's3lock-' + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    first_until = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(seconds=RETAINED_SECONDS // 2)
    version = s3.put_object(
        Bucket=bucket, Key='k', Body=b'worm', ObjectLockMode='COMPLIANCE',
        ObjectLockRetainUntilDate=first_until)['VersionId']
    found, primaries = stored_retentions(cluster, account, bucket, 'k',
                                         version)
    down = node_of(primaries[0])
    until = time.time() + RETAINED_SECONDS
    cluster.stop_node('object', down)
    try:
        s3.put_object_retention(
            Bucket=bucket, Key='k', VersionId=version, Retention={
                'Mode': 'COMPLIANCE',
                'RetainUntilDate': datetime.datetime.fromtimestamp(
                    until, datetime.timezone.utc)})
    finally:
        cluster.start_node('object', down)

    assert s3_error(s3.delete_object, Bucket=bucket, Key='k',
                    VersionId=version) == 'AccessDenied'
    status, _headers, body = swift('DELETE', '/%s/k' % bucket,
                                   query='?version-id=' + version)
    assert status == 403, body
    cluster.run_daemon('object-replicator')
    found, _primaries = stored_retentions(cluster, account, bucket, 'k',
                                          version)
    assert [format_date(r.until) for r in found] == [
        format_date(until)] * 3, found
    assert time.time() < until, 'the machine was too slow for the test'
    assert s3_error(s3.delete_object, Bucket=bucket, Key='k',
                    VersionId=version) == 'AccessDenied'

    # Real time passes the date: the version may go, and goes everywhere.
    time.sleep(max(0.0, until - time.time()) + 0.5)
    assert s3.get_object(Bucket=bucket, Key='k')['Body'].read() == b'worm'
    s3.delete_object(Bucket=bucket, Key='k', VersionId=version)
    assert wait_for(lambda: stored_retentions(
        cluster, account, bucket, 'k', version)[0] == [404] * 3, timeout=5)
    s3.delete_bucket(Bucket=bucket)
