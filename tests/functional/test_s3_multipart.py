"""S3 multipart uploads through boto3 against the cluster: the upload's
life (create, parts in parallel, copy parts, list, complete, abort), S3's
checks at completion, the object as Swift sees it (an SLO whose segments
live in ``<bucket>+segments``), and reading it back by part."""

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.functional.conftest import make_s3_client
from tests.helpers import proxy_request

MIB = 1024 * 1024


def error_of(call, *args, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    err = caught.value.response
    return err['Error']['Code'], err['ResponseMetadata']['HTTPStatusCode']


def s3_etag(parts):
    digest = hashlib.md5()
    for data in parts:
        digest.update(hashlib.md5(data).digest())
    return '"%s-%d"' % (digest.hexdigest(), len(parts))


def upload_parts(s3, bucket, key, upload_id, datas):
    """Upload ``datas`` as parts 1..N in parallel; the Complete list."""
    def one(numbered):
        number, data = numbered
        resp = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                              PartNumber=number, Body=data)
        return {'PartNumber': number, 'ETag': resp['ETag']}
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, enumerate(datas, 1)))


def test_upload_complete_read_back(s3, bucket):
    datas = [os.urandom(5 * MIB), os.urandom(5 * MIB), b'tail bytes']
    created = s3.create_multipart_upload(
        Bucket=bucket, Key='big', ContentType='text/x-big',
        Metadata={'color': 'blue'})
    upload_id = created['UploadId']
    parts = upload_parts(s3, bucket, 'big', upload_id, datas)
    listed = s3.list_parts(Bucket=bucket, Key='big', UploadId=upload_id)
    assert [p['PartNumber'] for p in listed['Parts']] == [1, 2, 3]
    assert [p['Size'] for p in listed['Parts']] == [len(d) for d in datas]
    uploads = s3.list_multipart_uploads(Bucket=bucket)['Uploads']
    assert [(u['Key'], u['UploadId']) for u in uploads] == [
        ('big', upload_id)]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key='big', UploadId=upload_id,
        MultipartUpload={'Parts': parts})
    assert done['ETag'] == s3_etag(datas)
    got = s3.get_object(Bucket=bucket, Key='big')
    assert got['Body'].read() == b''.join(datas)
    assert got['ETag'] == s3_etag(datas)
    assert got['ContentType'] == 'text/x-big'
    assert got['Metadata'] == {'color': 'blue'}
    assert s3.head_object(Bucket=bucket, Key='big')['ETag'] == s3_etag(datas)
    listing = s3.list_objects_v2(Bucket=bucket)['Contents']
    assert [(o['Key'], o['ETag'], o['Size']) for o in listing] == [
        ('big', s3_etag(datas), sum(len(d) for d in datas))]
    assert 'Uploads' not in s3.list_multipart_uploads(Bucket=bucket)


def test_get_and_head_by_part_number(s3, bucket):
    datas = [os.urandom(5 * MIB), b'second part']
    upload_id = s3.create_multipart_upload(Bucket=bucket,
                                           Key='p')['UploadId']
    parts = upload_parts(s3, bucket, 'p', upload_id, datas)
    s3.complete_multipart_upload(Bucket=bucket, Key='p', UploadId=upload_id,
                                 MultipartUpload={'Parts': parts})
    second = s3.get_object(Bucket=bucket, Key='p', PartNumber=2)
    assert second['Body'].read() == datas[1]
    assert second['PartsCount'] == 2
    assert second['ContentRange'] == 'bytes %d-%d/%d' % (
        5 * MIB, 5 * MIB + len(datas[1]) - 1, 5 * MIB + len(datas[1]))
    head = s3.head_object(Bucket=bucket, Key='p', PartNumber=1)
    assert head['ContentLength'] == 5 * MIB
    assert error_of(s3.get_object, Bucket=bucket, Key='p',
                    PartNumber=3) == ('InvalidPartNumber', 416)


def test_completion_checks(s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket,
                                           Key='c')['UploadId']
    parts = upload_parts(s3, bucket, 'c', upload_id, [b'small', b'x'])
    complete = s3.complete_multipart_upload
    assert error_of(complete, Bucket=bucket, Key='c', UploadId=upload_id,
                    MultipartUpload={'Parts': parts}) == (
        'EntityTooSmall', 400)
    assert error_of(complete, Bucket=bucket, Key='c', UploadId=upload_id,
                    MultipartUpload={'Parts': parts[::-1]}) == (
        'InvalidPartOrder', 400)
    wrong = [dict(parts[0], ETag='"%s"' % ('0' * 32))]
    assert error_of(complete, Bucket=bucket, Key='c', UploadId=upload_id,
                    MultipartUpload={'Parts': wrong}) == ('InvalidPart', 400)
    missing = [{'PartNumber': 7, 'ETag': parts[0]['ETag']}]
    assert error_of(complete, Bucket=bucket, Key='c', UploadId=upload_id,
                    MultipartUpload={'Parts': missing}) == (
        'InvalidPart', 400)
    assert error_of(s3.upload_part, Bucket=bucket, Key='c', UploadId='nope',
                    PartNumber=1, Body=b'x') == ('NoSuchUpload', 404)
    assert error_of(s3.upload_part, Bucket=bucket, Key='c',
                    UploadId=upload_id, PartNumber=10001, Body=b'x') == (
        'InvalidArgument', 400)
    # The last part alone may be small.
    done = complete(Bucket=bucket, Key='c', UploadId=upload_id,
                    MultipartUpload={'Parts': parts[:1]})
    assert done['ETag'] == s3_etag([b'small'])
    assert s3.get_object(Bucket=bucket, Key='c')['Body'].read() == b'small'


def test_abort_removes_parts(cluster, s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket,
                                           Key='gone')['UploadId']
    upload_parts(s3, bucket, 'gone', upload_id, [b'a', b'b'])
    s3.abort_multipart_upload(Bucket=bucket, Key='gone', UploadId=upload_id)
    assert error_of(s3.list_parts, Bucket=bucket, Key='gone',
                    UploadId=upload_id) == ('NoSuchUpload', 404)
    status, body = proxy_request(cluster, 'test:tester', 'GET',
                                 '/%s+segments?format=json' % bucket)
    assert (status, body) == (200, b'[]')
    assert error_of(s3.abort_multipart_upload, Bucket=bucket, Key='gone',
                    UploadId=upload_id) == ('NoSuchUpload', 404)


def test_delete_removes_segments(cluster, s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket,
                                           Key='d')['UploadId']
    parts = upload_parts(s3, bucket, 'd', upload_id, [b'only'])
    s3.complete_multipart_upload(Bucket=bucket, Key='d', UploadId=upload_id,
                                 MultipartUpload={'Parts': parts})
    status, _ = proxy_request(cluster, 'test:tester', 'GET',
                              '/%s/d?multipart-manifest=get' % bucket)
    assert status == 200
    s3.delete_object(Bucket=bucket, Key='d')
    status, body = proxy_request(cluster, 'test:tester', 'GET',
                                 '/%s+segments?format=json' % bucket)
    assert (status, body) == (200, b'[]')


def test_upload_part_copy_with_range(s3, bucket):
    source = os.urandom(6 * MIB)
    s3.put_object(Bucket=bucket, Key='src', Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket,
                                           Key='copy')['UploadId']
    first = s3.upload_part_copy(
        Bucket=bucket, Key='copy', UploadId=upload_id, PartNumber=1,
        CopySource={'Bucket': bucket, 'Key': 'src'},
        CopySourceRange='bytes=0-%d' % (5 * MIB - 1))
    second = s3.upload_part_copy(
        Bucket=bucket, Key='copy', UploadId=upload_id, PartNumber=2,
        CopySource={'Bucket': bucket, 'Key': 'src'},
        CopySourceRange='bytes=%d-%d' % (5 * MIB, 6 * MIB - 1))
    assert first['CopyPartResult']['ETag'] == '"%s"' % hashlib.md5(
        source[:5 * MIB]).hexdigest()
    assert error_of(s3.upload_part_copy, Bucket=bucket, Key='copy',
                    UploadId=upload_id, PartNumber=3,
                    CopySource={'Bucket': bucket, 'Key': 'src'},
                    CopySourceRange='bytes=0-%d' % (7 * MIB)) == (
        'InvalidArgument', 400)
    s3.complete_multipart_upload(
        Bucket=bucket, Key='copy', UploadId=upload_id, MultipartUpload={
            'Parts': [
                {'PartNumber': 1, 'ETag': first['CopyPartResult']['ETag']},
                {'PartNumber': 2,
                 'ETag': second['CopyPartResult']['ETag']}]})
    assert s3.get_object(Bucket=bucket, Key='copy')['Body'].read() == source


def test_list_uploads_prefix_delimiter_markers(s3, bucket):
    ids = {}
    for key in ('a/1', 'a/2', 'b', 'c'):
        ids[key] = s3.create_multipart_upload(Bucket=bucket,
                                              Key=key)['UploadId']
    grouped = s3.list_multipart_uploads(Bucket=bucket, Delimiter='/')
    assert [u['Key'] for u in grouped['Uploads']] == ['b', 'c']
    assert grouped['CommonPrefixes'] == [{'Prefix': 'a/'}]
    prefixed = s3.list_multipart_uploads(Bucket=bucket, Prefix='a/')
    assert [u['Key'] for u in prefixed['Uploads']] == ['a/1', 'a/2']
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2)
    assert page['IsTruncated'] is True
    assert [u['Key'] for u in page['Uploads']] == ['a/1', 'a/2']
    rest = s3.list_multipart_uploads(
        Bucket=bucket, KeyMarker=page['NextKeyMarker'],
        UploadIdMarker=page['NextUploadIdMarker'])
    assert [u['Key'] for u in rest['Uploads']] == ['b', 'c']
    for key, upload_id in ids.items():
        s3.abort_multipart_upload(Bucket=bucket, Key=key,
                                  UploadId=upload_id)


def test_boto3_upload_file_parallel_parts(s3, bucket, tmp_path):
    path = tmp_path / 'file.bin'
    data = os.urandom(23 * MIB)
    path.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MIB,
                            multipart_chunksize=5 * MIB, max_concurrency=4)
    s3.upload_file(str(path), bucket, 'file.bin', Config=config)
    head = s3.head_object(Bucket=bucket, Key='file.bin')
    assert head['ETag'].endswith('-5"')
    assert head['ContentLength'] == len(data)
    back = tmp_path / 'back.bin'
    s3.download_file(bucket, 'file.bin', str(back), Config=config)
    assert back.read_bytes() == data


def test_composite_checksum_upload(cluster, bucket):
    s3 = make_s3_client(cluster, request_checksum_calculation='when_supported')
    datas = [os.urandom(5 * MIB), b'end']
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key='sum', ChecksumAlgorithm='CRC32')['UploadId']
    parts = []
    for number, data in enumerate(datas, 1):
        resp = s3.upload_part(Bucket=bucket, Key='sum', UploadId=upload_id,
                              PartNumber=number, Body=data,
                              ChecksumAlgorithm='CRC32')
        parts.append({'PartNumber': number, 'ETag': resp['ETag'],
                      'ChecksumCRC32': resp['ChecksumCRC32']})
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key='sum', UploadId=upload_id,
        MultipartUpload={'Parts': parts})
    assert done['ChecksumCRC32'].endswith('-2')
    head = s3.head_object(Bucket=bucket, Key='sum', ChecksumMode='ENABLED')
    assert head['ChecksumCRC32'] == done['ChecksumCRC32']


def test_multi_delete_removes_segments(cluster, s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket,
                                           Key='m')['UploadId']
    parts = upload_parts(s3, bucket, 'm', upload_id, [b'one'])
    s3.complete_multipart_upload(Bucket=bucket, Key='m', UploadId=upload_id,
                                 MultipartUpload={'Parts': parts})
    result = s3.delete_objects(Bucket=bucket,
                               Delete={'Objects': [{'Key': 'm'}]})
    assert [d['Key'] for d in result['Deleted']] == ['m']
    status, body = proxy_request(cluster, 'test:tester', 'GET',
                                 '/%s+segments?format=json' % bucket)
    assert (status, body) == (200, b'[]')


def test_delete_bucket_removes_unfinished_uploads(cluster, s3):
    name = 's3t-' + os.urandom(6).hex()
    s3.create_bucket(Bucket=name)
    upload_id = s3.create_multipart_upload(Bucket=name, Key='u')['UploadId']
    upload_parts(s3, name, 'u', upload_id, [b'left behind'])
    s3.delete_bucket(Bucket=name)
    status, _ = proxy_request(cluster, 'test:tester', 'GET',
                              '/%s+segments' % name)
    assert status == 404


def test_part_number_10000(s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket,
                                           Key='last')['UploadId']
    resp = s3.upload_part(Bucket=bucket, Key='last', UploadId=upload_id,
                          PartNumber=10000, Body=b'z')
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key='last', UploadId=upload_id, MultipartUpload={
            'Parts': [{'PartNumber': 10000, 'ETag': resp['ETag']}]})
    assert done['ETag'] == s3_etag([b'z'])
