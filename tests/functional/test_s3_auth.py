"""S3 authentication and bad input against the cluster: signatures V4
and V2 (header and presigned), clock skew, unknown keys, the signed
payload hash, and malformed requests, each answered with S3's XML error
(never a 5xx). Raw requests go out through http.client (tests.helpers.
send_raw), signed with botocore's signers where a signature is needed."""

import datetime
import hashlib
import http.client
import uuid
from urllib.parse import urlparse
from xml.etree import ElementTree

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.functional.conftest import make_s3_client
from tests.helpers import send_raw

EMPTY_SHA256 = hashlib.sha256(b'').hexdigest()


def error_of(call, *args, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    err = caught.value.response
    return err['Error']['Code'], err['ResponseMetadata']['HTTPStatusCode']


def signed(cluster, method, path, body=b'', headers=None, payload_hash=None,
           when=None, user='test:tester'):
    """(status, headers, body) of a raw request signed with SigV4 at
    ``when`` (a datetime, default now); the signed x-amz-content-sha256
    is ``payload_hash`` (default: the body's)."""
    url = cluster.proxy_url + path
    request = AWSRequest(method=method, url=url, data=body,
                         headers=dict(headers or {}))
    request.headers['X-Amz-Content-SHA256'] = payload_hash or \
        hashlib.sha256(body).hexdigest()
    signer = SigV4Auth(Credentials(user, cluster.users[user]), 's3',
                       'us-east-1')
    when = when or datetime.datetime.now(datetime.timezone.utc)
    request.context['timestamp'] = when.strftime('%Y%m%dT%H%M%SZ')
    signer._modify_request_before_signing(request)
    signature = signer.signature(signer.string_to_sign(
        request, signer.canonical_request(request)), request)
    signer._inject_signature_to_request(request, signature)
    parsed = urlparse(url)
    sent = {name: value for name, value in request.headers.items()}
    target = parsed.path + ('?' + parsed.query if parsed.query else '')
    return send_raw(parsed.hostname, parsed.port, method, target, sent, body)


def error_code(body):
    root = ElementTree.fromstring(body)
    return root.findtext('Code')


def error_document(body):
    root = ElementTree.fromstring(body)
    return {child.tag: child.text for child in root}


# ------------------------------------------------------------ signatures


def test_wrong_secret_is_signature_does_not_match(cluster):
    bad = make_s3_client(cluster, secret='wrong')
    with pytest.raises(ClientError) as caught:
        bad.list_buckets()
    err = caught.value.response['Error']
    assert err['Code'] == 'SignatureDoesNotMatch'
    assert err['StringToSign'].startswith('AWS4-HMAC-SHA256\n')
    assert err['CanonicalRequest'].startswith('GET\n/\n')
    assert err['AWSAccessKeyId'] == 'test:tester'


def test_unknown_access_key(cluster):
    stranger = make_s3_client(cluster, 'nobody:none', secret='x')
    assert error_of(stranger.list_buckets) == ('InvalidAccessKeyId', 403)


def test_signature_v2_header(cluster, bucket):
    v2 = make_s3_client(cluster, signature_version='s3')
    v2.put_object(Bucket=bucket, Key='v2 key+x~%', Body=b'two')
    assert v2.get_object(Bucket=bucket, Key='v2 key+x~%')['Body'].read() == \
        b'two'
    assert [o['Key'] for o in v2.list_objects(Bucket=bucket)['Contents']] \
        == ['v2 key+x~%']
    bad = make_s3_client(cluster, secret='wrong', signature_version='s3')
    assert error_of(bad.list_objects, Bucket=bucket) == (
        'SignatureDoesNotMatch', 403)


def test_request_time_too_skewed(cluster):
    now = datetime.datetime.now(datetime.timezone.utc)
    for minutes in (-20, 20):
        status, _, body = signed(
            cluster, 'GET', '/', when=now + datetime.timedelta(
                minutes=minutes))
        assert (status, error_code(body)) == (403, 'RequestTimeTooSkewed')
    assert signed(cluster, 'GET', '/', when=now - datetime.timedelta(
        minutes=10))[0] == 200


def test_wrong_region(cluster):
    other = boto3.client(
        's3', endpoint_url=cluster.proxy_url, region_name='eu-west-1',
        aws_access_key_id='test:tester',
        aws_secret_access_key=cluster.users['test:tester'])
    assert error_of(other.list_buckets) == (
        'AuthorizationHeaderMalformed', 400)


def test_payload_hash_mismatch_stores_nothing(cluster, s3, bucket):
    status, _, body = signed(
        cluster, 'PUT', '/%s/tampered' % bucket, body=b'what was sent',
        payload_hash=hashlib.sha256(b'what was signed').hexdigest())
    assert (status, error_code(body)) == (400, 'XAmzContentSHA256Mismatch')
    assert error_of(s3.head_object, Bucket=bucket, Key='tampered') == (
        '404', 404)
    status, _, _ = signed(cluster, 'PUT', '/%s/honest' % bucket,
                          body=b'what was sent')
    assert status == 200


def test_empty_body_hash_mismatch_stores_nothing(cluster, s3, bucket):
    status, _, body = signed(
        cluster, 'PUT', '/%s/empty' % bucket, body=b'',
        payload_hash=hashlib.sha256(b'not empty').hexdigest())
    assert (status, error_code(body)) == (400, 'XAmzContentSHA256Mismatch')
    assert error_of(s3.head_object, Bucket=bucket, Key='empty') == (
        '404', 404)


def test_unsigned_payload_is_accepted(cluster, s3, bucket):
    status, _, _ = signed(cluster, 'PUT', '/%s/unsigned' % bucket,
                          body=b'free', payload_hash='UNSIGNED-PAYLOAD')
    assert status == 200
    assert s3.get_object(Bucket=bucket, Key='unsigned')['Body'].read() == \
        b'free'


def test_checksum_headers_pass_through(cluster, s3, bucket):
    # boto3 >= 1.36 sends x-amz-checksum-crc32 by default: never refused.
    status, _, _ = signed(cluster, 'PUT', '/%s/ck' % bucket, body=b'abc',
                          headers={'x-amz-checksum-crc32': 'NSRBwg=='})
    assert status == 200


def test_bad_payload_hash_value(cluster, bucket):
    status, _, body = signed(cluster, 'PUT', '/%s/x' % bucket, body=b'x',
                             payload_hash='not-a-hash')
    assert (status, error_code(body)) == (400, 'InvalidArgument')


# -------------------------------------------------------------- presigned


def fetch(url, method='GET', body=None):
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port,
                                      timeout=30)
    try:
        conn.request(method, parsed.path + '?' + parsed.query, body=body)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize('version', ['s3', 's3v4'])
def test_presigned_get_and_put(cluster, s3, bucket, version):
    signer = make_s3_client(cluster, signature_version=version)
    put_url = signer.generate_presigned_url('put_object', Params={
        'Bucket': bucket, 'Key': 'pre'}, ExpiresIn=300)
    assert fetch(put_url, 'PUT', b'presigned body')[0] == 200
    get_url = signer.generate_presigned_url('get_object', Params={
        'Bucket': bucket, 'Key': 'pre'}, ExpiresIn=300)
    assert fetch(get_url) == (200, b'presigned body')
    status, body = fetch(get_url.replace('pre?', 'other?'))
    assert (status, error_code(body)) == (403, 'SignatureDoesNotMatch')


def test_presigned_v4_expiry_limits(cluster, bucket):
    signer = make_s3_client(cluster, signature_version='s3v4')
    url = signer.generate_presigned_url('get_object', Params={
        'Bucket': bucket, 'Key': 'k'}, ExpiresIn=7 * 24 * 3600 + 1)
    status, body = fetch(url)
    assert (status, error_code(body)) == (
        400, 'AuthorizationQueryParametersError')
    week = signer.generate_presigned_url('get_object', Params={
        'Bucket': bucket, 'Key': 'k'}, ExpiresIn=7 * 24 * 3600)
    status, body = fetch(week)
    assert (status, error_code(body)) == (404, 'NoSuchKey')


def test_presigned_v2_expired(cluster, bucket):
    signer = make_s3_client(cluster, signature_version='s3')
    url = signer.generate_presigned_url('get_object', Params={
        'Bucket': bucket, 'Key': 'k'}, ExpiresIn=-10)
    status, body = fetch(url)
    assert (status, error_document(body)['Message']) == (
        403, 'Request has expired')


# ---------------------------------------------------------------- bad input


def raw(cluster, method, target, headers, body=None):
    host, port = cluster.aio.layout.bind, cluster.aio.layout.proxy_port
    return send_raw(host, port, method, target, dict(
        {'Host': '%s:%d' % (host, port)}, **headers), body)


def test_malformed_authorization_header(cluster):
    status, headers, body = raw(cluster, 'GET', '/', {
        'Authorization': 'AWS4-HMAC-SHA256 Credential=garbage',
        'x-amz-date': '20240101T000000Z',
        'x-amz-content-sha256': EMPTY_SHA256})
    assert (status, error_code(body)) == (400, 'AuthorizationHeaderMalformed')
    assert headers['content-type'] == 'application/xml'
    assert error_document(body)['RequestId'] == headers['x-amz-request-id']


@pytest.mark.parametrize('date_headers', [
    {'x-amz-date': 'yesterday'}, {}, {'Date': 'not a date'}])
def test_bad_or_missing_dates(cluster, date_headers):
    headers = {'Authorization': 'AWS4-HMAC-SHA256 Credential=test:tester/'
               '20240101/us-east-1/s3/aws4_request, SignedHeaders=host, '
               'Signature=00', 'x-amz-content-sha256': EMPTY_SHA256}
    headers.update(date_headers)
    status, _, body = raw(cluster, 'GET', '/', headers)
    assert (status, error_code(body)) == (403, 'AccessDenied')


def test_v2_without_date(cluster):
    status, _, body = raw(cluster, 'GET', '/', {
        'Authorization': 'AWS test:tester:c2lnbmF0dXJl'})
    assert (status, error_code(body)) == (403, 'AccessDenied')


def test_missing_content_sha256(cluster):
    now = datetime.datetime.now(datetime.timezone.utc)
    status, _, body = raw(cluster, 'GET', '/', {
        'Authorization': 'AWS4-HMAC-SHA256 Credential=test:tester/%s/'
        'us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, '
        'Signature=00' % now.strftime('%Y%m%d'),
        'x-amz-date': now.strftime('%Y%m%dT%H%M%SZ')})
    assert (status, error_code(body)) == (400, 'InvalidRequest')


@pytest.mark.parametrize('xml_body', [
    b'<Delete><Object><Key>a</Key></Object>',          # not well-formed
    b'<NotDelete/>',                                   # wrong document
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM '
    b'"file:///etc/passwd">]><Delete><Object><Key>&x;</Key></Object>'
    b'</Delete>',                                      # external entity
    b'<Delete></Delete>',                              # no keys
])
def test_bad_delete_xml(cluster, bucket, xml_body):
    status, _, body = signed(cluster, 'POST', '/%s?delete' % bucket,
                             body=xml_body)
    assert (status, error_code(body)) == (400, 'MalformedXML')


def test_huge_xml(cluster, bucket):
    huge = b'<Delete>' + b'<Object><Key>k</Key></Object>' * 100000 + \
        b'</Delete>'
    status, _, body = signed(cluster, 'POST', '/%s?delete' % bucket,
                             body=huge)
    assert (status, error_code(body)) == (400, 'MaxMessageLengthExceeded')


def test_bad_create_bucket_xml(cluster):
    name = 's3t-' + uuid.uuid4().hex[:12]
    status, _, body = signed(cluster, 'PUT', '/' + name, body=b'<oops')
    assert (status, error_code(body)) == (400, 'MalformedXML')


def test_unknown_method_and_sub_resource(cluster, bucket):
    status, _, body = signed(cluster, 'PATCH', '/%s' % bucket)
    assert (status, error_code(body)) == (405, 'MethodNotAllowed')
    status, _, body = signed(cluster, 'GET', '/%s/k?torrent' % bucket)
    assert (status, error_code(body)) == (501, 'NotImplemented')


def test_put_without_length(cluster, bucket):
    signer = make_s3_client(cluster, signature_version='s3v4')
    url = urlparse(signer.generate_presigned_url('put_object', Params={
        'Bucket': bucket, 'Key': 'nolen'}, ExpiresIn=300))
    # Neither a length nor a chunked coding.
    status, _, body = send_raw(url.hostname, url.port, 'PUT',
                               url.path + '?' + url.query, {})
    assert (status, error_code(body)) == (411, 'MissingContentLength')


def test_swift_api_still_works_beside_s3(cluster):
    storage_url, token = cluster.get_token('test:tester')
    parsed = urlparse(storage_url)
    status, _, _ = send_raw(parsed.hostname, parsed.port, 'GET',
                            parsed.path, {'X-Auth-Token': token})
    assert status in (200, 204)


def test_path_that_is_not_utf8(cluster):
    status, _, body = raw(cluster, 'GET', '/%FF%FE/key', {
        'Authorization': 'AWS test:tester:c2lnbmF0dXJl',
        'Date': 'Mon, 01 Jan 2024 00:00:00 GMT'})
    assert (status, error_code(body)) == (400, 'InvalidURI')


@pytest.mark.parametrize('authorization', ['AWS ', 'AWS nocolon',
                                           'AWS :sig', 'AWS key:'])
def test_malformed_v2_authorization(cluster, authorization):
    status, _, body = raw(cluster, 'GET', '/', {
        'Authorization': authorization,
        'Date': 'Mon, 01 Jan 2024 00:00:00 GMT'})
    assert (status, error_code(body)) == (403, 'AccessDenied')
