"""The s3api filter in process: what it claims as S3, its routing table,
and how the first subrequest carries the signature check to the auth
middleware (a tempauth in front of a scripted app: the edge)."""

import hashlib
import os

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from objstore.common.http import Request, Response
from objstore.middleware.s3api import context
from objstore.middleware.s3api.chunked import ChunkSigner
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.middleware import (
    S3ApiConf, S3ApiMiddleware, route)
from objstore.middleware.s3api.registry import REGISTRY_ACCOUNT
from objstore.middleware.s3api.request import S3Request, parse_request
from objstore.middleware.s3api.sigv4 import Scope, signing_key
from objstore.middleware.tempauth import TempAuth
from tests.helpers import assert_sample_matches


class ScriptedProxy:
    """The app below tempauth: records what reached it, answers 204/201
    after asking swift.authorize as the proxy does, and 499 when the
    client's input fails (as the proxy aborts an upload). The bucket
    registry (s3api.registry) has no bucket in it."""

    def __init__(self):
        self.seen = []

    def writes(self):
        """What reached it but HEADs (a PutObject first reads its bucket's
        object lock configuration)."""
        return [seen for seen in self.seen if seen[0] != 'HEAD']

    def __call__(self, environ, start_response):
        req = Request(environ)
        denied = environ['swift.authorize'](req)
        if denied is not None:
            return denied(environ, start_response)
        if req.path.startswith('/v1/%s/' % REGISTRY_ACCOUNT):
            return Response(status=404)(environ, start_response)
        try:
            body = req.body
        except ValueError:
            return Response(status=499)(environ, start_response)
        self.seen.append((req.method, req.path, body))
        status = 201 if req.method == 'PUT' else 204
        return Response(status=status, headers={'ETag': 'abc'})(
            environ, start_response)


def s3_pipeline(monkeypatch, backend, users):
    """s3api over tempauth (``users``) over ``backend``, with no access
    key verified yet in this process."""
    monkeypatch.setattr(context, 'VERIFIED_ACCOUNTS', {})
    return S3ApiMiddleware(TempAuth(backend, users), {})


@pytest.fixture
def pipeline(monkeypatch):
    proxy = ScriptedProxy()
    return s3_pipeline(monkeypatch, proxy, {
        'user_test_tester': 'testing .admin',
        'user_test_reader': 'reading'}), proxy


def signed_environ(method, path, body=b'', secret='testing',
                   user='test:tester', payload_hash=None, host='localhost'):
    request = AWSRequest(method=method, url='http://%s%s' % (host, path),
                         data=body)
    if payload_hash:
        # SigV4Auth signs the header as given (S3SigV4Auth would recompute).
        request.headers['X-Amz-Content-SHA256'] = payload_hash
        SigV4Auth(Credentials(user, secret), 's3', 'us-east-1').add_auth(
            request)
    else:
        S3SigV4Auth(Credentials(user, secret), 's3', 'us-east-1').add_auth(
            request)
    req = Request.blank(path, method=method,
                        headers=dict(request.headers.items()))
    req.host = host
    req.body = body
    return req


def test_unsigned_requests_pass_through(pipeline):
    middleware, proxy = pipeline
    seen = []

    def app(environ, start_response):
        seen.append(environ['PATH_INFO'])
        return Response(status=204)(environ, start_response)
    middleware.app = app
    Request.blank('/v1/AUTH_test').get_response(middleware)
    assert seen == ['/v1/AUTH_test']


def test_signed_request_reaches_the_users_account(pipeline):
    middleware, proxy = pipeline
    resp = signed_environ('PUT', '/bucket/key', b'body').get_response(
        middleware)
    assert resp.status_int == 200
    assert proxy.writes() == [('PUT', '/v1/AUTH_test/bucket/key', b'body')]
    assert resp.headers['x-amz-request-id'] is not None


def test_put_to_an_unlocked_bucket_skips_the_checking_head_once_known(
        pipeline):
    """The first PutObject checks the signature with a bucket HEAD before
    reading the bucket's lock settings; once this access key is known, a
    write to an existing unlocked bucket reads them from the info alone
    and lets its own PUT check the signature."""
    middleware, proxy = pipeline

    def heads_of_one_put():
        before = len(proxy.seen)
        resp = signed_environ('PUT', '/bucket/key', b'body').get_response(
            middleware)
        assert resp.status_int == 200
        return [seen[0] for seen in proxy.seen[before:]].count('HEAD')
    assert heads_of_one_put() == 2      # the signer's HEAD, the info's
    assert heads_of_one_put() == 1      # the info's only
    # A bad signature still gets no further than the PUT's own check.
    resp = signed_environ('PUT', '/bucket/key', b'x',
                          secret='nope').get_response(middleware)
    assert b'SignatureDoesNotMatch' in resp.body
    assert proxy.writes()[-1] == ('PUT', '/v1/AUTH_test/bucket/key',
                                  b'body')


def test_bad_secret_and_unknown_key(pipeline):
    middleware, proxy = pipeline
    resp = signed_environ('GET', '/bucket', secret='nope').get_response(
        middleware)
    assert (resp.status_int, b'SignatureDoesNotMatch' in resp.body) == (
        403, True)
    resp = signed_environ('GET', '/bucket', user='test:ghost').get_response(
        middleware)
    assert (resp.status_int, b'InvalidAccessKeyId' in resp.body) == (
        403, True)
    assert proxy.writes() == []


def test_denied_user_gets_access_denied(pipeline):
    middleware, proxy = pipeline
    resp = signed_environ('PUT', '/bucket/key', b'x', user='test:reader',
                          secret='reading').get_response(middleware)
    assert resp.status_int == 403 and b'<Code>AccessDenied' in resp.body


def test_payload_mismatch_never_reaches_storage_whole(pipeline):
    middleware, proxy = pipeline
    req = signed_environ('PUT', '/bucket/key', b'sent',
                         payload_hash=hashlib.sha256(b'other').hexdigest())
    resp = req.get_response(middleware)
    # The check raises on the read that completes the body: nothing stored.
    assert resp.status_int == 400
    assert b'<Code>XAmzContentSHA256Mismatch' in resp.body
    assert proxy.writes() == []


@pytest.mark.parametrize('method,path,query,name', [
    ('GET', '/', '', 'ListBuckets'),
    ('PUT', '/b', '', 'CreateBucket'),
    ('GET', '/b', 'list-type=2', 'ListObjects'),
    ('POST', '/b', 'delete', 'DeleteObjects'),
    ('GET', '/b/k', 'acl', 'GetObjectAcl'),
    ('HEAD', '/b/k', '', 'HeadObject'),
    ('PUT', '/b', 'lifecycle', 'PutBucketLifecycleConfiguration'),
    ('GET', '/b', 'lifecycle', 'GetBucketLifecycleConfiguration'),
    ('DELETE', '/b', 'lifecycle', 'DeleteBucketLifecycle'),
])
def test_routing(method, path, query, name):
    environ = Request.blank(path + ('?' + query if query else ''),
                            method=method).environ
    assert route(parse_request(environ))[0] == name


@pytest.mark.parametrize('method,path,query,code', [
    ('PUT', '/', '', 'MethodNotAllowed'),
    ('PATCH', '/b/k', '', 'MethodNotAllowed'),
    ('GET', '/b/k', 'torrent', 'NotImplemented'),
])
def test_routing_errors(method, path, query, code):
    req = S3Request(method, path, path, [(query, '')] if query else [], {},
                    *(path[1:].split('/', 1) + [None])[:2] if path != '/'
                    else (None, None))
    with pytest.raises(S3Error) as caught:
        route(req)
    assert caught.value.code == code


def test_virtual_hosted_style():
    environ = Request.blank('/dir/k', headers={
        'Host': 'mybucket.s3.example.com'}).environ
    req = parse_request(environ, 's3.example.com')
    assert (req.bucket, req.key, req.raw_path) == (
        'mybucket', 'dir/k', '/mybucket/dir/k')


def test_info_lists_s3api(pipeline):
    middleware, _ = pipeline
    environ = Request.blank('/info').environ
    middleware.app = lambda env, sr: []
    middleware(environ, lambda *a: None)
    assert environ['objstore.capabilities']['s3api']['location'] == \
        'us-east-1'



def chunked_put(payload, tamper=False):
    """A PUT whose body is ``payload`` in signed aws-chunked framing (one
    data chunk and the final one), the chunk signatures chained from the
    request's; ``tamper`` spoils the data chunk's signature."""
    headers = {'x-amz-decoded-content-length': str(len(payload)),
               'content-encoding': 'aws-chunked'}
    request = AWSRequest(method='PUT', url='http://localhost/bucket/key',
                         headers=headers)
    request.headers['X-Amz-Content-SHA256'] = \
        'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
    SigV4Auth(Credentials('test:tester', 'testing'), 's3',
              'us-east-1').add_auth(request)
    seed = request.headers['Authorization'].rsplit('Signature=', 1)[1]
    amz_date = request.headers['X-Amz-Date']
    scope = Scope('test:tester', amz_date[:8], 'us-east-1', 's3')
    signer = ChunkSigner(signing_key('testing', scope), amz_date,
                         scope.text)
    first = signer.sign_chunk(seed, hashlib.sha256(payload).hexdigest())
    last = signer.sign_chunk(first, hashlib.sha256(b'').hexdigest())
    if tamper:
        first = '0' * 64
    body = b'%x;chunk-signature=%s\r\n%s\r\n0;chunk-signature=%s\r\n' \
        b'\r\n' % (len(payload), first.encode(), payload, last.encode())
    req = Request.blank('/bucket/key', method='PUT',
                        headers=dict(request.headers.items()))
    req.host = 'localhost'
    req.body = body
    return req


def test_aws_chunked_body_is_stored_decoded(pipeline):
    middleware, proxy = pipeline
    resp = chunked_put(b'hello world').get_response(middleware)
    assert resp.status_int == 200, resp.body
    assert proxy.writes() == [('PUT', '/v1/AUTH_test/bucket/key',
                           b'hello world')]


def test_aws_chunked_bad_chunk_signature_is_refused_not_stored(pipeline):
    middleware, proxy = pipeline
    resp = chunked_put(b'hello world', tamper=True).get_response(middleware)
    assert resp.status_int == 403
    assert b'<Code>SignatureDoesNotMatch</Code>' in resp.body
    assert proxy.writes() == []


def test_aws_chunked_without_decoded_length_is_411(pipeline):
    middleware, proxy = pipeline
    req = signed_environ('PUT', '/bucket/key', b'5;chunk-signature=00\r\n',
                         payload_hash='STREAMING-AWS4-HMAC-SHA256-PAYLOAD')
    resp = req.get_response(middleware)
    assert resp.status_int == 411
    assert proxy.writes() == []


def test_xml_body_mismatch(pipeline):
    middleware, proxy = pipeline
    req = signed_environ('POST', '/bucket?delete',
                         b'<Delete><Object><Key>k</Key></Object></Delete>',
                         payload_hash=hashlib.sha256(b'x').hexdigest())
    resp = req.get_response(middleware)
    assert resp.status_int == 400
    assert b'<Code>XAmzContentSHA256Mismatch' in resp.body
    assert [seen[0] for seen in proxy.seen] == ['HEAD']


def test_sample_config_lists_every_option():
    sample = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..',
                          'etc', 'proxy-server.conf-sample')
    assert_sample_matches(S3ApiConf, sample, 'filter:s3api', ignore=('use',))


def test_virtual_hosted_request_reaches_the_bucket(pipeline):
    middleware, proxy = pipeline
    hosted = S3ApiMiddleware(middleware.app, {
        'storage_domain': 's3.example.com'})
    resp = signed_environ('PUT', '/dir/key', b'v', host=(
        'mybucket.s3.example.com')).get_response(hosted)
    assert resp.status_int == 200
    assert proxy.writes() == [('PUT', '/v1/AUTH_test/mybucket/dir/key', b'v')]
