"""Global bucket names, anonymous S3 requests and bucket policies, through
boto3 with its default settings and raw HTTP (unsigned requests)."""

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.functional.conftest import make_s3_client
from tests.helpers import send_raw


def error_of(call, *args, **kwargs):
    """(code, HTTP status) of the ClientError ``call`` must raise."""
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    err = caught.value.response
    return err['Error']['Code'], err['ResponseMetadata']['HTTPStatusCode']


def anonymous(cluster, method, path, headers=None):
    """(status, headers, body) of an unsigned request to the proxy."""
    host, port = cluster.proxy_url.split('//', 1)[1].rsplit(':', 1)
    return send_raw(host, int(port), method, path, headers or {})


def xml_code(body):
    return body.split(b'<Code>', 1)[1].split(b'</Code>', 1)[0].decode()


@pytest.fixture
def other_s3(cluster):
    return make_s3_client(cluster, 'test2:tester2')


# ------------------------------------------------------- global bucket names


def test_bucket_names_are_global(s3, other_s3, bucket):
    assert error_of(other_s3.create_bucket, Bucket=bucket) == (
        'BucketAlreadyExists', 409)
    assert error_of(s3.create_bucket, Bucket=bucket) == (
        'BucketAlreadyOwnedByYou', 409)


def test_deleted_bucket_name_is_free_again(s3, other_s3):
    name = 's3p-' + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name)
    s3.delete_bucket(Bucket=name)
    other_s3.create_bucket(Bucket=name)
    try:
        assert error_of(s3.create_bucket, Bucket=name) == (
            'BucketAlreadyExists', 409)
    finally:
        other_s3.delete_bucket(Bucket=name)
