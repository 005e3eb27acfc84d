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


# -------------------------------------------------------- anonymous requests


def test_anonymous_get_of_a_public_read_bucket(cluster, s3):
    name = 's3p-' + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name, ACL='public-read')
    try:
        s3.put_object(Bucket=name, Key='pub/k', Body=b'hello')
        status, headers, body = anonymous(cluster, 'GET', '/%s/pub/k' % name)
        assert (status, body) == (200, b'hello')
        assert headers['etag'] == '"%s"' % '5d41402abc4b2a76b9719d911017c592'
        status, _, body = anonymous(cluster, 'GET', '/%s' % name)
        assert status == 200 and b'<Key>pub/k</Key>' in body
        # Reading is all public-read opens.
        status, _, body = anonymous(cluster, 'PUT', '/%s/new' % name)
        assert (status, xml_code(body)) == (403, 'AccessDenied')
        status, _, body = anonymous(cluster, 'DELETE', '/%s/pub/k' % name)
        assert (status, xml_code(body)) == (403, 'AccessDenied')
        status, _, body = anonymous(cluster, 'GET', '/%s?acl' % name)
        assert (status, xml_code(body)) == (403, 'AccessDenied')
        status, _, body = anonymous(cluster, 'GET', '/%s/missing' % name)
        assert (status, xml_code(body)) == (404, 'NoSuchKey')
    finally:
        s3.delete_object(Bucket=name, Key='pub/k')
        s3.delete_bucket(Bucket=name)


def test_anonymous_get_of_a_private_bucket_is_denied(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key='k', Body=b'secret')
    status, headers, body = anonymous(cluster, 'GET', '/%s/k' % bucket)
    assert (status, xml_code(body)) == (403, 'AccessDenied')
    assert headers['content-type'] == 'application/xml'
    status, _, body = anonymous(cluster, 'GET', '/%s' % bucket)
    assert (status, xml_code(body)) == (403, 'AccessDenied')


def test_anonymous_request_for_an_unknown_bucket(cluster):
    name = 's3p-' + uuid.uuid4().hex[:12]
    status, _, body = anonymous(cluster, 'GET', '/%s/k' % name)
    assert (status, xml_code(body)) == (404, 'NoSuchBucket')
    assert b'<BucketName>%s</BucketName>' % name.encode() in body


@pytest.mark.parametrize('method, path', [
    ('GET', '/info'), ('GET', '/healthcheck'), ('GET', '/auth/v1.0'),
    ('GET', '/v1/AUTH_test'), ('GET', '/v1/AUTH_test/c/o'),
    ('PUT', '/metrics'), ('POST', '/healthcheck'), ('PUT', '/console'),
    ('PUT', '/crossdomain.xml')])
def test_swift_paths_are_not_s3(cluster, method, path):
    _status, headers, body = anonymous(cluster, method, path)
    assert b'<Error>' not in body
    assert 'x-amz-request-id' not in headers


def test_swift_token_requests_are_not_s3(cluster, bucket):
    _url, token = cluster.get_token('test:tester')
    for path in ('/nothing-here', '/%s/k' % bucket):
        status, headers, body = anonymous(cluster, 'GET', path,
                                          {'X-Auth-Token': token})
        assert status in (400, 412) and b'<Error>' not in body
        assert 'x-amz-request-id' not in headers


# ----------------------------------------------------------- bucket policies


def public_read_policy(bucket, resource='/*', **statement):
    return json.dumps({'Version': '2012-10-17', 'Statement': [dict({
        'Sid': 'PublicRead', 'Effect': 'Allow', 'Principal': '*',
        'Action': ['s3:GetObject'],
        'Resource': ['arn:aws:s3:::%s%s' % (bucket, resource)]},
        **statement)]})


def test_policy_round_trip(s3, bucket):
    assert error_of(s3.get_bucket_policy, Bucket=bucket) == (
        'NoSuchBucketPolicy', 404)
    assert error_of(s3.get_bucket_policy_status, Bucket=bucket) == (
        'NoSuchBucketPolicy', 404)
    document = public_read_policy(bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=document)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)['Policy']) == \
        json.loads(document)
    assert s3.get_bucket_policy_status(Bucket=bucket)['PolicyStatus'] == {
        'IsPublic': True}
    s3.delete_bucket_policy(Bucket=bucket)
    assert error_of(s3.get_bucket_policy, Bucket=bucket) == (
        'NoSuchBucketPolicy', 404)


def test_long_policy_round_trip(s3, bucket):
    statements = [{'Sid': 'S%03d' % index, 'Effect': 'Allow',
                   'Principal': {'AWS': ['test:tester%d' % index]},
                   'Action': 's3:GetObject',
                   'Resource': 'arn:aws:s3:::%s/p%d/*' % (bucket, index)}
                  for index in range(110)]
    document = json.dumps({'Version': '2012-10-17',
                           'Statement': statements})
    assert 12000 < len(document) < 20 * 1024
    s3.put_bucket_policy(Bucket=bucket, Policy=document)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)['Policy']) == \
        json.loads(document)
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)['Policy']) == \
        json.loads(public_read_policy(bucket))


@pytest.mark.parametrize('document', [
    'not json', '[]', '{"Statement": []}',
    '{"Version": "2012-10-17"}',
    '{"Statement": [{"Effect": "Maybe", "Principal": "*", '
    '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::B/*"}]}',
    '{"Statement": [{"Effect": "Allow", "Principal": "*", '
    '"Action": "ec2:RunInstances", "Resource": "arn:aws:s3:::B/*"}]}',
    '{"Statement": [{"Effect": "Allow", "Principal": "*", '
    '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::other-b/*"}]}',
    '{"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", '
    '"Resource": "arn:aws:s3:::B/*"}]}',
    '{"Statement": [{"Effect": "Allow", "Principal": "*", '
    '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::B/*", '
    '"Condition": {"IpAddress": {"aws:SourceIp": "not-an-ip"}}}]}',
])
def test_malformed_policy(s3, bucket, document):
    assert error_of(s3.put_bucket_policy, Bucket=bucket,
                    Policy=document.replace('B/', bucket + '/')) == (
        'MalformedPolicy', 400)
    assert error_of(s3.get_bucket_policy, Bucket=bucket) == (
        'NoSuchBucketPolicy', 404)


def test_policy_too_large(s3, bucket):
    document = public_read_policy(bucket, Sid='x' * (21 * 1024))
    assert error_of(s3.put_bucket_policy, Bucket=bucket,
                    Policy=document) == ('PolicyTooLarge', 400)


def test_policy_of_a_missing_bucket(s3):
    name = 's3p-' + uuid.uuid4().hex[:12]
    assert error_of(s3.put_bucket_policy, Bucket=name,
                    Policy=public_read_policy(name)) == ('NoSuchBucket', 404)


def test_public_read_policy_opens_anonymous_gets(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key='pub/a', Body=b'public')
    s3.put_object(Bucket=bucket, Key='private/b', Body=b'private')
    assert anonymous(cluster, 'GET', '/%s/pub/a' % bucket)[0] == 403
    s3.put_bucket_policy(Bucket=bucket,
                         Policy=public_read_policy(bucket, '/pub/*'))
    status, _, body = anonymous(cluster, 'GET', '/%s/pub/a' % bucket)
    assert (status, body) == (200, b'public')
    assert anonymous(cluster, 'HEAD', '/%s/pub/a' % bucket)[0] == 200
    status, _, body = anonymous(cluster, 'GET', '/%s/private/b' % bucket)
    assert (status, xml_code(body)) == (403, 'AccessDenied')
    # GetObject is not ListBucket, nor a write.
    assert anonymous(cluster, 'GET', '/%s' % bucket)[0] == 403
    assert anonymous(cluster, 'PUT', '/%s/pub/new' % bucket)[0] == 403
    s3.delete_bucket_policy(Bucket=bucket)
    assert anonymous(cluster, 'GET', '/%s/pub/a' % bucket)[0] == 403


def test_list_bucket_policy_with_prefix_condition(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key='docs/a', Body=b'a')
    s3.put_object(Bucket=bucket, Key='home/b', Body=b'b')
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(
        bucket, '', Action='s3:ListBucket',
        Condition={'StringLike': {'s3:prefix': 'docs/*'}}))
    status, _, body = anonymous(cluster, 'GET', '/%s?prefix=docs/' % bucket)
    assert status == 200 and b'<Key>docs/a</Key>' in body
    assert b'home/b' not in body
    assert anonymous(cluster, 'GET', '/%s?prefix=home/' % bucket)[0] == 403
    assert anonymous(cluster, 'GET', '/%s' % bucket)[0] == 403


def deny_from_here(bucket, action='s3:*'):
    return json.dumps({'Version': '2012-10-17', 'Statement': [{
        'Sid': 'NotFromLoopback', 'Effect': 'Deny',
        'Principal': {'AWS': '*'}, 'Action': action,
        'Resource': ['arn:aws:s3:::%s' % bucket,
                     'arn:aws:s3:::%s/*' % bucket],
        'Condition': {'IpAddress': {'aws:SourceIp': ['127.0.0.0/8',
                                                      '::1/128']}}}]})


def test_deny_by_source_ip_refuses_the_owner(s3, bucket):
    s3.put_object(Bucket=bucket, Key='k', Body=b'x')
    s3.put_bucket_policy(Bucket=bucket, Policy=deny_from_here(bucket))
    assert error_of(s3.get_object, Bucket=bucket, Key='k') == (
        'AccessDenied', 403)
    assert error_of(s3.put_object, Bucket=bucket, Key='k2', Body=b'y') == (
        'AccessDenied', 403)
    assert error_of(s3.list_objects_v2, Bucket=bucket) == (
        'AccessDenied', 403)
    # The account's owner keeps control of the policy itself.
    assert 'NotFromLoopback' in s3.get_bucket_policy(Bucket=bucket)['Policy']
    s3.delete_bucket_policy(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key='k')['Body'].read() == b'x'


def test_deny_elsewhere_lets_the_owner_in(s3, bucket):
    document = deny_from_here(bucket).replace('IpAddress', 'NotIpAddress')
    s3.put_bucket_policy(Bucket=bucket, Policy=document)
    s3.put_object(Bucket=bucket, Key='k', Body=b'x')
    assert s3.get_object(Bucket=bucket, Key='k')['Body'].read() == b'x'


def test_deny_wins_over_allow(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key='k', Body=b'x')
    document = json.loads(public_read_policy(bucket))
    document['Statement'] += json.loads(deny_from_here(
        bucket, 's3:Get*'))['Statement']
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))
    assert anonymous(cluster, 'GET', '/%s/k' % bucket)[0] == 403
    assert error_of(s3.get_object, Bucket=bucket, Key='k') == (
        'AccessDenied', 403)
    # s3:Get* covers GetBucketPolicyStatus, but not the owner's
    # GetBucketPolicy.
    assert error_of(s3.get_bucket_policy_status, Bucket=bucket) == (
        'AccessDenied', 403)
    assert 'PublicRead' in s3.get_bucket_policy(Bucket=bucket)['Policy']


def test_policy_operations_are_the_owners(cluster, s3, bucket):
    # A user of the account without .admin is not the bucket's owner.
    other = make_s3_client(cluster, 'test:tester3')
    assert error_of(other.put_bucket_policy, Bucket=bucket,
                    Policy=public_read_policy(bucket)) == (
        'AccessDenied', 403)
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
    assert error_of(other.get_bucket_policy, Bucket=bucket) == (
        'AccessDenied', 403)
    assert error_of(other.delete_bucket_policy, Bucket=bucket) == (
        'AccessDenied', 403)


@pytest.mark.parametrize('principal', ['test2:tester2',
                                       'arn:aws:iam::AUTH_test2:root'])
def test_policy_grants_another_account(s3, other_s3, bucket, principal):
    s3.put_object(Bucket=bucket, Key='shared/k', Body=b'shared')
    # Without a grant, test2's requests stay in its own namespace.
    assert error_of(other_s3.get_object, Bucket=bucket, Key='shared/k') == (
        'NoSuchBucket', 404)
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(
        bucket, '/shared/*', Principal={'AWS': [principal]}))
    assert other_s3.get_object(Bucket=bucket, Key='shared/k')[
        'Body'].read() == b'shared'
    assert error_of(other_s3.put_object, Bucket=bucket, Key='shared/x',
                    Body=b'x') == ('NoSuchBucket', 404)
    # Nobody else is named: anonymous readers are still refused.
    assert anonymous_get_status(s3, bucket, 'shared/k') == 403


def anonymous_get_status(s3, bucket, key):
    url = s3.meta.endpoint_url
    host, port = url.split('//', 1)[1].rsplit(':', 1)
    return send_raw(host, int(port), 'GET', '/%s/%s' % (bucket, key), {})[0]


def test_policy_opens_anonymous_uploads_to_a_prefix(cluster, s3, bucket):
    s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(
        bucket, '/drop/*', Action='s3:PutObject'))
    host, port = cluster.proxy_url.split('//', 1)[1].rsplit(':', 1)
    status, _, _ = send_raw(host, int(port), 'PUT', '/%s/drop/a' % bucket,
                            {'Content-Length': '5'}, b'hello')
    assert status == 200
    assert s3.get_object(Bucket=bucket, Key='drop/a')['Body'].read() == \
        b'hello'
    status, _, body = send_raw(host, int(port), 'PUT', '/%s/other' % bucket,
                               {'Content-Length': '5'}, b'hello')
    assert (status, xml_code(body)) == (403, 'AccessDenied')
    # Writing is not reading.
    assert anonymous(cluster, 'GET', '/%s/drop/a' % bucket)[0] == 403
