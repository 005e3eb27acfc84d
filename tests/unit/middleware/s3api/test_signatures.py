"""SigV4 and SigV2 maths against AWS's published examples (the S3
developer guide's signing examples), and the checks of the signed facts
(skew, expiry, region) with the clock passed in."""

import calendar
import time

import pytest

from objstore.middleware.s3api import auth, sigv2, sigv4
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.request import S3Request

SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
EXAMPLE_TIME = calendar.timegm((2013, 5, 24, 0, 0, 0))


def example_get(**extra_headers):
    headers = {'host': 'examplebucket.s3.amazonaws.com',
               'range': 'bytes=0-9', 'x-amz-content-sha256': EMPTY,
               'x-amz-date': '20130524T000000Z'}
    headers.update(extra_headers)
    return headers


def test_aws_get_object_example():
    headers = example_get()
    signed = ('host', 'range', 'x-amz-content-sha256', 'x-amz-date')
    canonical = sigv4.canonical_request('GET', '/test.txt', [], headers,
                                        signed, EMPTY)
    assert canonical == (
        'GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n'
        'range:bytes=0-9\nx-amz-content-sha256:%s\n'
        'x-amz-date:20130524T000000Z\n\n'
        'host;range;x-amz-content-sha256;x-amz-date\n%s' % (EMPTY, EMPTY))
    scope = sigv4.Scope('AKIAIOSFODNN7EXAMPLE', '20130524', 'us-east-1',
                        's3')
    text = sigv4.string_to_sign('20130524T000000Z', scope, canonical)
    assert text.endswith('7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48b'
                         'bb2dc43964946972')
    assert sigv4.signature(SECRET, scope, text) == (
        'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41')


def header_request(authorization, headers, path='/test.txt', pairs=()):
    headers = dict(headers, authorization=authorization)
    return S3Request('GET', path, path, list(pairs), headers,
                     'examplebucket', path[1:] or None)


AUTHORIZATION = (
    'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/'
    'aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,'
    'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036'
    'bdb41')


def test_header_signature_checks_with_the_right_secret_only():
    req = header_request(AUTHORIZATION, example_get())
    signature = auth.read_signature(req, 'us-east-1', EXAMPLE_TIME + 60)
    assert signature.access_key == 'AKIAIOSFODNN7EXAMPLE'
    assert signature.payload_hash == EMPTY
    assert signature.check(SECRET) is None
    err = signature.check('another secret')
    assert err.code == 'SignatureDoesNotMatch'
    assert err.details['CanonicalRequest'].startswith('GET\n/test.txt\n')
    # A header changed after signing breaks it.
    tampered = header_request(AUTHORIZATION, example_get(range='bytes=0-99'))
    assert auth.read_signature(tampered, 'us-east-1',
                               EXAMPLE_TIME).check(SECRET) is not None


@pytest.mark.parametrize('offset,ok', [(-901, False), (-899, True),
                                       (899, True), (901, False)])
def test_fifteen_minutes_of_skew(offset, ok):
    req = header_request(AUTHORIZATION, example_get())
    if ok:
        auth.read_signature(req, 'us-east-1', EXAMPLE_TIME - offset)
    else:
        with pytest.raises(S3Error) as caught:
            auth.read_signature(req, 'us-east-1', EXAMPLE_TIME - offset)
        assert caught.value.code == 'RequestTimeTooSkewed'


def test_region_must_be_ours():
    req = header_request(AUTHORIZATION, example_get())
    with pytest.raises(S3Error) as caught:
        auth.read_signature(req, 'eu-west-1', EXAMPLE_TIME)
    assert caught.value.code == 'AuthorizationHeaderMalformed'
    assert caught.value.details['Region'] == 'eu-west-1'


@pytest.mark.parametrize('authorization', [
    'AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request',
    'AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00',
    'AWS4-HMAC-SHA256 Credential=AKID/20130524/s3/aws4_request, '
    'SignedHeaders=host, Signature=00'])
def test_malformed_authorization(authorization):
    req = header_request(authorization, example_get())
    with pytest.raises(S3Error) as caught:
        auth.read_signature(req, 'us-east-1', EXAMPLE_TIME)
    assert caught.value.code == 'AuthorizationHeaderMalformed'


PRESIGNED = [
    ('X-Amz-Algorithm', 'AWS4-HMAC-SHA256'),
    ('X-Amz-Credential',
     'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request'),
    ('X-Amz-Date', '20130524T000000Z'), ('X-Amz-Expires', '86400'),
    ('X-Amz-SignedHeaders', 'host'),
    ('X-Amz-Signature', 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c26595'
     '7d157751f604d404')]


def presigned_request(pairs):
    return S3Request('GET', '/test.txt', '/test.txt', pairs,
                     {'host': 'examplebucket.s3.amazonaws.com'},
                     'examplebucket', 'test.txt')


def test_aws_presigned_example():
    signature = auth.read_signature(presigned_request(PRESIGNED),
                                    'us-east-1', EXAMPLE_TIME + 3600)
    assert signature.check(SECRET) is None
    assert signature.payload_hash is None


def test_presigned_expiry():
    with pytest.raises(S3Error) as caught:
        auth.read_signature(presigned_request(PRESIGNED), 'us-east-1',
                            EXAMPLE_TIME + 86401)
    assert caught.value.message == 'Request has expired'
    too_long = [(n, '604801' if n == 'X-Amz-Expires' else v)
                for n, v in PRESIGNED]
    with pytest.raises(S3Error) as caught:
        auth.read_signature(presigned_request(too_long), 'us-east-1',
                            EXAMPLE_TIME)
    assert caught.value.code == 'AuthorizationQueryParametersError'
    missing = [(n, v) for n, v in PRESIGNED if n != 'X-Amz-Date']
    with pytest.raises(S3Error) as caught:
        auth.read_signature(presigned_request(missing), 'us-east-1',
                            EXAMPLE_TIME)
    assert caught.value.code == 'AuthorizationQueryParametersError'


def test_aws_v2_example():
    text = sigv2.string_to_sign(
        'GET', {'date': 'Tue, 27 Mar 2007 19:36:42 +0000'},
        '/johnsmith/photos/puppy.jpg', 'Tue, 27 Mar 2007 19:36:42 +0000')
    assert text == ('GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n'
                    '/johnsmith/photos/puppy.jpg')
    assert sigv2.signature(SECRET, text) == 'bWq2s1WEIj+Ydj0vQ697zp+IXMU='


def test_v2_amz_headers_and_sub_resources():
    headers = {'x-amz-meta-b': ' 2 ', 'x-amz-date': 'd', 'x-amz-meta-a': '1',
               'content-type': 'text/plain'}
    assert sigv2.canonical_amz_headers(headers) == (
        'x-amz-date:d\nx-amz-meta-a:1\nx-amz-meta-b:2\n')
    assert sigv2.canonical_resource('/b', [('prefix', 'x'), ('acl', '')]) \
        == '/b?acl'


def test_v2_header_time():
    now = time.time()
    with pytest.raises(S3Error) as caught:
        sigv2.check_header_time({'date': time.strftime(
            '%a, %d %b %Y %H:%M:%S GMT', time.gmtime(now - 1000))}, now)
    assert caught.value.code == 'RequestTimeTooSkewed'
    sigv2.check_header_time({'x-amz-date': time.strftime(
        '%a, %d %b %Y %H:%M:%S GMT', time.gmtime(now - 60))}, now)
