"""What SDKs and tools probe for on a bucket, through boto3 with its
default settings: answered as S3 answers a bucket without that
configuration; setting one is NotImplemented."""

import uuid

import pytest
from botocore.exceptions import ClientError

from tests.functional.test_s3_api import error_of

ABSENT = [
    ('get_bucket_encryption',
     'ServerSideEncryptionConfigurationNotFoundError'),
    ('get_bucket_ownership_controls', 'OwnershipControlsNotFoundError'),
    ('get_public_access_block', 'NoSuchPublicAccessBlockConfiguration'),
    ('get_bucket_website', 'NoSuchWebsiteConfiguration'),
    ('get_bucket_replication', 'ReplicationConfigurationNotFoundError'),
]
SETTERS = [
    ('put_bucket_encryption', {'ServerSideEncryptionConfiguration': {
        'Rules': [{'ApplyServerSideEncryptionByDefault': {
            'SSEAlgorithm': 'AES256'}}]}}),
    ('put_bucket_ownership_controls', {'OwnershipControls': {
        'Rules': [{'ObjectOwnership': 'BucketOwnerEnforced'}]}}),
    ('put_public_access_block', {'PublicAccessBlockConfiguration': {
        'BlockPublicAcls': True}}),
    ('put_bucket_website', {'WebsiteConfiguration': {
        'IndexDocument': {'Suffix': 'index.html'}}}),
    ('put_bucket_replication', {'ReplicationConfiguration': {
        'Role': 'arn:aws:iam::1:role/r', 'Rules': [{
            'Status': 'Enabled', 'Prefix': '',
            'Destination': {'Bucket': 'arn:aws:s3:::other'}}]}}),
    ('put_bucket_accelerate_configuration', {
        'AccelerateConfiguration': {'Status': 'Enabled'}}),
    ('put_bucket_request_payment', {
        'RequestPaymentConfiguration': {'Payer': 'Requester'}}),
    ('put_bucket_logging', {'BucketLoggingStatus': {'LoggingEnabled': {
        'TargetBucket': 'logs', 'TargetPrefix': 'x/'}}}),
    ('put_bucket_notification_configuration', {
        'NotificationConfiguration': {}}),
]
DELETERS = ['delete_bucket_encryption', 'delete_bucket_ownership_controls',
            'delete_public_access_block', 'delete_bucket_website',
            'delete_bucket_replication']


@pytest.mark.parametrize('method,code', ABSENT)
def test_absent_configurations(s3, bucket, method, code):
    assert error_of(getattr(s3, method), Bucket=bucket) == (code, 404)
    missing = 's3t-' + uuid.uuid4().hex[:12]
    assert error_of(getattr(s3, method), Bucket=missing) == (
        'NoSuchBucket', 404)


def test_empty_configurations(s3, bucket):
    assert 'Status' not in s3.get_bucket_accelerate_configuration(
        Bucket=bucket)
    assert s3.get_bucket_request_payment(Bucket=bucket)['Payer'] == \
        'BucketOwner'
    assert 'LoggingEnabled' not in s3.get_bucket_logging(Bucket=bucket)
    notification = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert not any(key.endswith('Configurations') for key in notification)


@pytest.mark.parametrize('method,kwargs', SETTERS)
def test_setting_is_not_implemented(s3, bucket, method, kwargs):
    assert error_of(getattr(s3, method), Bucket=bucket, **kwargs) == (
        'NotImplemented', 501)


def test_not_implemented_says_what(s3, bucket):
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_encryption(Bucket=bucket, **SETTERS[0][1])
    assert 'encryption' in caught.value.response['Error']['Message']


@pytest.mark.parametrize('method', DELETERS)
def test_deleting_what_is_absent_succeeds(s3, bucket, method):
    status = getattr(s3, method)(Bucket=bucket)['ResponseMetadata'][
        'HTTPStatusCode']
    assert status == 204
