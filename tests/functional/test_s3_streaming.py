"""aws-chunked uploads and S3's additional checksums against the cluster.

Over plain http boto3 sends neither aws-chunked bodies nor trailers, so
the bodies here are built by botocore's own encoder (``AwsChunkedWrapper``,
what boto3 sends over https) or, for the signed-chunk modes botocore has
no encoder for, by the SigV4 chunk-signing rules written out below;
headers are signed with botocore's SigV4 signer. The checksums in
headers come from boto3 itself (``request_checksum_calculation=
'when_supported'``)."""

import base64
import datetime
import hashlib
import hmac
import io
import os
import zlib
from urllib.parse import urlparse
from xml.etree import ElementTree

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum

from tests.functional.conftest import make_s3_client
from tests.helpers import send_raw

USER = 'test:tester'
EMPTY_SHA256 = hashlib.sha256(b'').hexdigest()
SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'
UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, 'big')).decode()


def sign_headers(cluster, method, path, headers):
    """(headers to send, seed signature, amz date, signing key)."""
    request = AWSRequest(method=method, url=cluster.proxy_url + path,
                         headers=dict(headers))
    credentials = Credentials(USER, cluster.users[USER])
    signer = SigV4Auth(credentials, 's3', 'us-east-1')
    now = datetime.datetime.now(datetime.timezone.utc)
    request.context['timestamp'] = now.strftime('%Y%m%dT%H%M%SZ')
    signer.add_auth(request)
    seed = request.headers['Authorization'].rsplit('Signature=', 1)[1]
    key = ('AWS4' + cluster.users[USER]).encode()
    for part in (request.context['timestamp'][:8], 'us-east-1', 's3',
                 'aws4_request'):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return (dict(request.headers.items()), seed,
            request.context['timestamp'], key)


def signed_chunks(data, seed, amz_date, key, chunk_size=64 * 1024,
                  trailers=None, tamper=False):
    """``data`` as signed aws-chunked (SigV4's chunk signing rules)."""
    scope = '%s/us-east-1/s3/aws4_request' % amz_date[:8]

    def sign(kind, previous, digest):
        text = '\n'.join((kind, amz_date, scope, previous) + (
            (EMPTY_SHA256, digest) if kind.endswith('PAYLOAD')
            else (digest,)))
        return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    out, previous = [], seed
    pieces = [data[i:i + chunk_size]
              for i in range(0, len(data), chunk_size)] + [b'']
    for piece in pieces:
        previous = sign('AWS4-HMAC-SHA256-PAYLOAD', previous,
                        hashlib.sha256(piece).hexdigest())
        signature = '0' * 64 if tamper and piece else previous
        out.append(b'%x;chunk-signature=%s\r\n%s' % (
            len(piece), signature.encode(), piece + b'\r\n' if piece
            else b''))
    if trailers is None:
        return b''.join(out) + b'\r\n'
    lines = ''.join('%s:%s\n' % item for item in sorted(trailers.items()))
    trailer_signature = sign('AWS4-HMAC-SHA256-TRAILER', previous,
                             hashlib.sha256(lines.encode()).hexdigest())
    text = ''.join('%s:%s\r\n' % item for item in trailers.items())
    return b''.join(out) + text.encode() + \
        b'x-amz-trailer-signature:%s\r\n\r\n' % trailer_signature.encode()


def send(cluster, method, path, headers, body):
    parsed = urlparse(cluster.proxy_url)
    return send_raw(parsed.hostname, parsed.port, method, path, headers,
                    body)


def streaming_put(cluster, path, data, mode, trailers=None, tamper=False,
                  checksum_trailer=True):
    """(status, headers, body) of a PUT of ``data`` in ``mode``."""
    headers = {'x-amz-content-sha256': mode,
               'content-encoding': 'aws-chunked',
               'x-amz-decoded-content-length': str(len(data))}
    if mode != SIGNED and checksum_trailer:
        headers['x-amz-trailer'] = 'x-amz-checksum-crc32'
    if mode == UNSIGNED_TRAILER:
        wrapper = AwsChunkedWrapper(io.BytesIO(data), Crc32Checksum,
                                    'x-amz-checksum-crc32', 16 * 1024)
        body = wrapper.read()
        if trailers is not None:      # a wrong value in place of botocore's
            body = body[:body.rindex(b'x-amz-checksum-crc32:')] + \
                b'x-amz-checksum-crc32:%s\r\n\r\n' % trailers[
                    'x-amz-checksum-crc32'].encode()
    sent, seed, amz_date, key = sign_headers(cluster, 'PUT', path, headers)
    if mode == SIGNED:
        body = signed_chunks(data, seed, amz_date, key, tamper=tamper)
    elif mode == SIGNED_TRAILER:
        body = signed_chunks(data, seed, amz_date, key, trailers=trailers or {
            'x-amz-checksum-crc32': crc32_b64(data)}, tamper=tamper)
    return send(cluster, 'PUT', path, sent, body)


def code(body):
    return ElementTree.fromstring(body).findtext('Code')


@pytest.mark.parametrize('mode', [SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER])
def test_streaming_put_is_stored_decoded(cluster, s3, bucket, mode):
    data = os.urandom(200 * 1024 + 17)
    status, headers, body = streaming_put(cluster, '/%s/k' % bucket, data,
                                          mode)
    assert status == 200, body
    assert headers['etag'] == '"%s"' % hashlib.md5(data).hexdigest()
    got = s3.get_object(Bucket=bucket, Key='k', ChecksumMode='ENABLED')
    assert got['Body'].read() == data
    assert 'ContentEncoding' not in got
    if mode != SIGNED:
        assert got['ChecksumCRC32'] == crc32_b64(data)


@pytest.mark.parametrize('mode', [SIGNED_TRAILER, UNSIGNED_TRAILER])
def test_wrong_trailer_checksum_is_bad_digest(cluster, s3, bucket, mode):
    data = os.urandom(100 * 1024)
    status, _, body = streaming_put(
        cluster, '/%s/bad' % bucket, data, mode,
        trailers={'x-amz-checksum-crc32': crc32_b64(b'other')})
    assert (status, code(body)) == (400, 'BadDigest')
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key='bad')


@pytest.mark.parametrize('mode', [SIGNED, SIGNED_TRAILER])
def test_bad_chunk_signature_is_refused(cluster, s3, bucket, mode):
    data = os.urandom(100 * 1024)
    status, _, body = streaming_put(cluster, '/%s/forged' % bucket, data,
                                    mode, tamper=True)
    assert (status, code(body)) == (403, 'SignatureDoesNotMatch')
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key='forged')


def test_empty_streaming_put(cluster, s3, bucket):
    status, _, body = streaming_put(cluster, '/%s/empty' % bucket, b'',
                                    SIGNED)
    assert status == 200, body
    assert s3.get_object(Bucket=bucket, Key='empty')['Body'].read() == b''


def test_checksum_headers_from_boto3(cluster, bucket):
    s3 = make_s3_client(cluster, request_checksum_calculation='when_supported')
    s3.put_object(Bucket=bucket, Key='sum', Body=b'abc',
                  ChecksumAlgorithm='SHA256')
    head = s3.head_object(Bucket=bucket, Key='sum', ChecksumMode='ENABLED')
    assert head['ChecksumSHA256'] == base64.b64encode(
        hashlib.sha256(b'abc').digest()).decode()
    plain = s3.head_object(Bucket=bucket, Key='sum')
    assert 'ChecksumSHA256' not in plain
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key='wrong', Body=b'abc',
                      ChecksumCRC32=crc32_b64(b'abd'))
    assert caught.value.response['Error']['Code'] == 'BadDigest'
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key='wrong')


def test_content_md5_mismatch_is_bad_digest(cluster, s3, bucket):
    wrong = base64.b64encode(hashlib.md5(b'other').digest()).decode()
    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket=bucket, Key='md5', Body=b'abc',
                      ContentMD5=wrong)
    assert caught.value.response['Error']['Code'] == 'BadDigest'


def test_streaming_upload_part(cluster, s3, bucket):
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key='mp', ChecksumAlgorithm='CRC32')['UploadId']
    data = os.urandom(5 * 1024 * 1024 + 3)
    path = '/%s/mp?partNumber=1&uploadId=%s' % (bucket, upload_id)
    status, headers, body = streaming_put(cluster, path, data,
                                          UNSIGNED_TRAILER)
    assert status == 200, body
    assert headers['x-amz-checksum-crc32'] == crc32_b64(data)
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key='mp', UploadId=upload_id, MultipartUpload={
            'Parts': [{'PartNumber': 1, 'ETag': headers['etag'],
                       'ChecksumCRC32': crc32_b64(data)}]})
    assert done['ChecksumCRC32'] == '%s-1' % base64.b64encode(
        zlib.crc32(base64.b64decode(crc32_b64(data))).to_bytes(
            4, 'big')).decode()
    assert s3.get_object(Bucket=bucket, Key='mp')['Body'].read() == data
