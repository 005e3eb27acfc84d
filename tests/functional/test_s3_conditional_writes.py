"""Conditional writes through boto3 with its default settings:
If-None-Match: * and If-Match on PutObject and CompleteMultipartUpload,
with S3's statuses, and concurrent creators of one key racing (at most
one wins, and what is stored and listed, on every replica, is the
winner's)."""

import hashlib
import threading
import uuid

import swiftclient.client as swiftclient
from botocore.exceptions import ClientError

from tests.functional.test_s3_api import error_of

RACERS = 6
RACES = 4
RACE_BODY = 256 * 1024


def test_if_none_match_creates_only(s3, bucket):
    s3.put_object(Bucket=bucket, Key='k', Body=b'first', IfNoneMatch='*')
    assert error_of(s3.put_object, Bucket=bucket, Key='k', Body=b'second',
                    IfNoneMatch='*') == ('PreconditionFailed', 412)
    assert s3.get_object(Bucket=bucket, Key='k')['Body'].read() == b'first'
    # Once deleted, the key may be created again.
    s3.delete_object(Bucket=bucket, Key='k')
    s3.put_object(Bucket=bucket, Key='k', Body=b'third', IfNoneMatch='*')
    assert s3.get_object(Bucket=bucket, Key='k')['Body'].read() == b'third'


def test_if_none_match_takes_only_star(s3, bucket):
    assert error_of(s3.put_object, Bucket=bucket, Key='k', Body=b'x',
                    IfNoneMatch='"abc"') == ('NotImplemented', 501)


def test_if_match(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key='k', Body=b'one')['ETag']
    assert error_of(s3.put_object, Bucket=bucket, Key='k', Body=b'two',
                    IfMatch='"0123456789abcdef0123456789abcdef"') == (
        'PreconditionFailed', 412)
    assert s3.get_object(Bucket=bucket, Key='k')['Body'].read() == b'one'
    new_etag = s3.put_object(Bucket=bucket, Key='k', Body=b'two',
                             IfMatch=etag)['ETag']
    assert s3.get_object(Bucket=bucket, Key='k')['Body'].read() == b'two'
    # The old ETag no longer matches: a compare-and-swap.
    assert error_of(s3.put_object, Bucket=bucket, Key='k', Body=b'three',
                    IfMatch=etag) == ('PreconditionFailed', 412)
    s3.put_object(Bucket=bucket, Key='k', Body=b'three', IfMatch=new_etag)
    assert error_of(s3.put_object, Bucket=bucket, Key='nope', Body=b'x',
                    IfMatch=etag) == ('NoSuchKey', 404)


def _upload(s3, bucket, key, body=b'part'):
    upload_id = s3.create_multipart_upload(Bucket=bucket,
                                           Key=key)['UploadId']
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                          PartNumber=1, Body=body)
    return upload_id, {'Parts': [{'PartNumber': 1, 'ETag': part['ETag']}]}


def test_complete_multipart_conditions(s3, bucket):
    upload_id, parts = _upload(s3, bucket, 'mp')
    first = s3.complete_multipart_upload(
        Bucket=bucket, Key='mp', UploadId=upload_id, MultipartUpload=parts,
        IfNoneMatch='*')['ETag']
    upload_id, parts = _upload(s3, bucket, 'mp', b'other')
    assert error_of(s3.complete_multipart_upload, Bucket=bucket, Key='mp',
                    UploadId=upload_id, MultipartUpload=parts,
                    IfNoneMatch='*') == ('PreconditionFailed', 412)
    assert error_of(s3.complete_multipart_upload, Bucket=bucket, Key='mp',
                    UploadId=upload_id, MultipartUpload=parts,
                    IfMatch='"0123456789abcdef0123456789abcdef-1"') == (
        'PreconditionFailed', 412)
    assert s3.get_object(Bucket=bucket, Key='mp')['Body'].read() == b'part'
    # The upload is still there; If-Match with the multipart ETag holds.
    s3.complete_multipart_upload(Bucket=bucket, Key='mp', UploadId=upload_id,
                                 MultipartUpload=parts, IfMatch=first)
    assert s3.get_object(Bucket=bucket, Key='mp')['Body'].read() == b'other'
    upload_id, parts = _upload(s3, bucket, 'new')
    assert error_of(s3.complete_multipart_upload, Bucket=bucket, Key='new',
                    UploadId=upload_id, MultipartUpload=parts,
                    IfMatch=first) == ('NoSuchKey', 404)


def _race(s3, bucket, key):
    """Every racer PUTs its own body with If-None-Match: *; the bodies of
    the winners and the error codes of the losers."""
    barrier = threading.Barrier(RACERS)
    winners, losers = [], []

    def racer(index):
        body = bytes([index]) * RACE_BODY
        barrier.wait()
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch='*')
            winners.append(body)
        except ClientError as err:
            losers.append(err.response['Error']['Code'])
    threads = [threading.Thread(target=racer, args=(n,))
               for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return winners, losers


def newest_body(cluster, bucket, key):
    """The body of the newest replica (X-Newest asks every primary): a
    loser's data left on one node would show here if newer."""
    url, token = cluster.get_token('test:tester')
    try:
        return swiftclient.get_object(url, token, bucket, key,
                                      headers={'X-Newest': 'true'})[1]
    except swiftclient.ClientException as err:
        assert err.http_status == 404
        return None


def test_racing_creators_at_most_one_wins(cluster, s3, bucket):
    for _race_number in range(RACES):
        key = 'race-' + uuid.uuid4().hex
        winners, losers = _race(s3, bucket, key)
        assert len(winners) + len(losers) == RACERS
        assert len(winners) <= 1, 'two If-None-Match: * writers both won'
        assert set(losers) <= {'PreconditionFailed',
                               'ConditionalRequestConflict'}
        if winners:
            stored = s3.get_object(Bucket=bucket, Key=key)['Body'].read()
            assert stored == winners[0]
        assert newest_body(cluster, bucket, key) == (
            winners[0] if winners else None)
        # Only the winner is listed: a loser's container update is dropped.
        listed = s3.list_objects_v2(Bucket=bucket,
                                    Prefix=key).get('Contents', [])
        assert [item['ETag'].strip('"') for item in listed] == [
            hashlib.md5(body).hexdigest() for body in winners]
