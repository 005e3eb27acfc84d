"""Bucket CORS through boto3 (the configuration) and raw HTTP (browser
preflights and cross-origin requests, unsigned as browsers send them)."""

import uuid

import pytest
from botocore.exceptions import ClientError

from tests.helpers import send_raw

RULES = [
    {'ID': 'web', 'AllowedOrigins': ['https://*.example.com'],
     'AllowedMethods': ['GET', 'PUT'],
     'AllowedHeaders': ['x-amz-*', 'Content-Type'],
     'ExposeHeaders': ['ETag', 'x-amz-request-id'], 'MaxAgeSeconds': 600},
    {'AllowedOrigins': ['*'], 'AllowedMethods': ['HEAD']},
]


def error_of(call, *args, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    err = caught.value.response
    return err['Error']['Code'], err['ResponseMetadata']['HTTPStatusCode']


def raw(cluster, method, path, headers=None):
    host, port = cluster.proxy_url.split('//', 1)[1].rsplit(':', 1)
    return send_raw(host, int(port), method, path, headers or {})


def xml_code(body):
    return body.split(b'<Code>', 1)[1].split(b'</Code>', 1)[0].decode()


def preflight(cluster, path, origin='https://app.example.com', method='GET',
              request_headers=None):
    headers = {'Origin': origin, 'Access-Control-Request-Method': method}
    if request_headers:
        headers['Access-Control-Request-Headers'] = request_headers
    return raw(cluster, 'OPTIONS', path, headers)


def test_cors_configuration_round_trip(s3, bucket):
    assert error_of(s3.get_bucket_cors, Bucket=bucket) == (
        'NoSuchCORSConfiguration', 404)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={'CORSRules': RULES})
    assert s3.get_bucket_cors(Bucket=bucket)['CORSRules'] == RULES
    s3.delete_bucket_cors(Bucket=bucket)
    assert error_of(s3.get_bucket_cors, Bucket=bucket) == (
        'NoSuchCORSConfiguration', 404)


@pytest.mark.parametrize('rule, code', [
    ({'AllowedOrigins': ['*'], 'AllowedMethods': ['PATCH']},
     'InvalidRequest'),
    ({'AllowedOrigins': ['https://*.*.com'], 'AllowedMethods': ['GET']},
     'InvalidRequest'),
    ({'AllowedOrigins': ['*'], 'AllowedMethods': ['GET'],
      'AllowedHeaders': ['x-*-*']}, 'InvalidRequest'),
])
def test_invalid_cors_rules(s3, bucket, rule, code):
    assert error_of(s3.put_bucket_cors, Bucket=bucket,
                    CORSConfiguration={'CORSRules': [rule]}) == (code, 400)


def test_too_many_rules(s3, bucket):
    rules = [{'AllowedOrigins': ['https://%d.example' % index],
              'AllowedMethods': ['GET']} for index in range(101)]
    assert error_of(s3.put_bucket_cors, Bucket=bucket,
                    CORSConfiguration={'CORSRules': rules}) == (
        'InvalidRequest', 400)
    s3.put_bucket_cors(Bucket=bucket,
                       CORSConfiguration={'CORSRules': rules[:100]})
    assert len(s3.get_bucket_cors(Bucket=bucket)['CORSRules']) == 100


def test_malformed_cors_xml(cluster, s3, bucket):
    # boto3 builds valid documents; a hand-made one is sent signed.
    s3.meta.events.register_first(
        'before-sign.s3.PutBucketCors',
        lambda request, **_: setattr(request, 'data', b'<CORSConfiguration>'
                                     b'<CORSRule><AllowedMethod>GET'
                                     b'</AllowedMethod></CORSRule>'
                                     b'</CORSConfiguration>'))
    assert error_of(s3.put_bucket_cors, Bucket=bucket, CORSConfiguration={
        'CORSRules': RULES}) == ('MalformedXML', 400)


def test_preflight_answered_from_the_first_matching_rule(cluster, s3,
                                                         bucket):
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={'CORSRules': RULES})
    status, headers, _ = preflight(cluster, '/%s/some/key' % bucket,
                                   request_headers='X-Amz-Date, content-type')
    assert status == 200
    assert headers['access-control-allow-origin'] == \
        'https://app.example.com'
    assert headers['access-control-allow-methods'] == 'GET, PUT'
    assert headers['access-control-allow-headers'] == \
        'X-Amz-Date, content-type'
    assert headers['access-control-max-age'] == '600'
    assert headers['access-control-expose-headers'] == \
        'ETag, x-amz-request-id'
    assert 'Origin' in headers['vary']
    # HEAD is only in the second rule, open to every origin.
    status, headers, _ = preflight(cluster, '/%s' % bucket,
                                   origin='http://other.org', method='HEAD')
    assert (status, headers['access-control-allow-origin']) == (200, '*')


@pytest.mark.parametrize('origin, method, request_headers', [
    ('https://example.com', 'GET', None),           # origin
    ('https://app.example.com', 'DELETE', None),    # method
    ('https://app.example.com', 'GET', 'x-custom'),  # header
])
def test_preflight_no_rule_matches(cluster, s3, bucket, origin, method,
                                   request_headers):
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={'CORSRules': RULES})
    status, _, body = preflight(cluster, '/%s/k' % bucket, origin, method,
                                request_headers)
    assert (status, xml_code(body)) == (403, 'AccessForbidden')
    assert b'CORSResponse: This CORS request is not allowed' in body


def test_preflight_errors(cluster, s3, bucket):
    status, _, body = preflight(cluster, '/%s/k' % bucket)
    assert (status, xml_code(body)) == (403, 'AccessForbidden')
    assert b'CORS is not enabled for this bucket' in body
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={'CORSRules': RULES})
    status, _, body = raw(cluster, 'OPTIONS', '/%s/k' % bucket, {
        'Access-Control-Request-Method': 'GET'})
    assert (status, xml_code(body)) == (400, 'BadRequest')
    status, _, body = raw(cluster, 'OPTIONS', '/%s/k' % bucket, {
        'Origin': 'https://app.example.com'})
    assert (status, xml_code(body)) == (400, 'BadRequest')
    name = 's3c-' + uuid.uuid4().hex[:12]
    status, _, body = preflight(cluster, '/%s/k' % name)
    assert (status, xml_code(body)) == (404, 'NoSuchBucket')


def test_actual_answers_carry_cors_headers(cluster, s3):
    name = 's3c-' + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name, ACL='public-read')
    try:
        s3.put_object(Bucket=name, Key='k', Body=b'data')
        s3.put_bucket_cors(Bucket=name,
                           CORSConfiguration={'CORSRules': RULES})
        status, headers, body = raw(cluster, 'GET', '/%s/k' % name, {
            'Origin': 'https://app.example.com'})
        assert (status, body) == (200, b'data')
        assert headers['access-control-allow-origin'] == \
            'https://app.example.com'
        assert headers['access-control-expose-headers'] == \
            'ETag, x-amz-request-id'
        assert 'Origin' in headers['vary']
        # Not an allowed origin: the answer has no CORS headers.
        status, headers, _ = raw(cluster, 'GET', '/%s/k' % name, {
            'Origin': 'https://evil.org'})
        assert status == 200
        assert not [h for h in headers if h.startswith('access-control-')]
    finally:
        s3.delete_object(Bucket=name, Key='k')
        s3.delete_bucket(Bucket=name)


def test_swift_preflight_is_unchanged(cluster):
    status, headers, body = raw(cluster, 'OPTIONS', '/v1/AUTH_test/c', {
        'Origin': 'https://app.example.com',
        'Access-Control-Request-Method': 'GET'})
    assert b'<Error>' not in body and 'x-amz-request-id' not in headers
    assert status != 200 or 'allow' in headers
