"""GetObjectAttributes and x-amz-storage-class through boto3 with its
default settings."""

import hashlib

from tests.functional.test_s3_api import error_of
from tests.helpers import proxy_request

ALL = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize']
PART = 5 * 1024 * 1024


def test_attributes_of_a_plain_object(s3, bucket):
    body = b'hello attributes'
    s3.put_object(Bucket=bucket, Key='k', Body=body,
                  ChecksumAlgorithm='SHA256')
    got = s3.get_object_attributes(Bucket=bucket, Key='k',
                                   ObjectAttributes=ALL)
    assert got['ETag'] == hashlib.md5(body).hexdigest()
    assert got['ObjectSize'] == len(body)
    assert got['StorageClass'] == 'STANDARD'
    assert got['Checksum']['ChecksumSHA256']
    assert 'ObjectParts' not in got
    assert got['LastModified']
    only_size = s3.get_object_attributes(Bucket=bucket, Key='k',
                                         ObjectAttributes=['ObjectSize'])
    assert only_size['ObjectSize'] == len(body)
    assert 'ETag' not in only_size and 'StorageClass' not in only_size


def test_attributes_without_checksum(cluster, s3, bucket):
    # boto3 sends a checksum with every upload: the Swift API sends none.
    assert proxy_request(cluster, 'test:tester', 'PUT', '/%s/k' % bucket,
                         b'x')[0] == 201
    got = s3.get_object_attributes(Bucket=bucket, Key='k',
                                   ObjectAttributes=['Checksum', 'ETag'])
    assert 'Checksum' not in got and got['ETag']


def _multipart(s3, bucket, key, **checksum):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key,
                                           **checksum)['UploadId']
    parts = []
    for number, body in ((1, b'a' * PART), (2, b'tail')):
        part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                              PartNumber=number, Body=body, **checksum)
        entry = {'PartNumber': number, 'ETag': part['ETag']}
        if checksum:
            entry['ChecksumSHA256'] = part['ChecksumSHA256']
        parts.append(entry)
    return s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id,
        MultipartUpload={'Parts': parts})


def test_object_parts_of_multipart_objects(s3, bucket):
    done = _multipart(s3, bucket, 'plain')
    got = s3.get_object_attributes(Bucket=bucket, Key='plain',
                                   ObjectAttributes=ALL)
    assert got['ETag'] == done['ETag'].strip('"')
    assert got['ETag'].endswith('-2')
    assert got['ObjectSize'] == PART + 4
    # Without a checksum, S3 gives the count only.
    assert got['ObjectParts']['TotalPartsCount'] == 2
    assert 'Parts' not in got['ObjectParts']
    _multipart(s3, bucket, 'summed', ChecksumAlgorithm='SHA256')
    got = s3.get_object_attributes(Bucket=bucket, Key='summed',
                                   ObjectAttributes=['ObjectParts'],
                                   MaxParts=1)
    parts = got['ObjectParts']
    assert parts['TotalPartsCount'] == 2 and parts['IsTruncated'] is True
    assert [(p['PartNumber'], p['Size']) for p in parts['Parts']] == [
        (1, PART)]
    assert parts['Parts'][0]['ChecksumSHA256']
    rest = s3.get_object_attributes(
        Bucket=bucket, Key='summed', ObjectAttributes=['ObjectParts'],
        PartNumberMarker=parts['NextPartNumberMarker'])['ObjectParts']
    assert [(p['PartNumber'], p['Size']) for p in rest['Parts']] == [(2, 4)]
    assert rest['IsTruncated'] is False


def test_attributes_errors(s3, bucket):
    assert error_of(s3.get_object_attributes, Bucket=bucket, Key='nope',
                    ObjectAttributes=['ETag']) == ('NoSuchKey', 404)
    s3.put_object(Bucket=bucket, Key='k', Body=b'x')
    assert error_of(s3.get_object_attributes, Bucket=bucket, Key='k',
                    ObjectAttributes=['Color']) == ('InvalidArgument', 400)


def test_storage_class(s3, bucket):
    s3.put_object(Bucket=bucket, Key='k', Body=b'x', StorageClass='STANDARD')
    # S3 names no storage class for STANDARD objects on GET/HEAD.
    head = s3.head_object(Bucket=bucket, Key='k')
    assert 'x-amz-storage-class' not in head['ResponseMetadata'][
        'HTTPHeaders']
    listed = s3.list_objects_v2(Bucket=bucket)['Contents']
    assert [item['StorageClass'] for item in listed] == ['STANDARD']
    for storage_class in ('GLACIER', 'STANDARD_IA', 'REDUCED_REDUNDANCY'):
        assert error_of(s3.put_object, Bucket=bucket, Key='k2', Body=b'x',
                        StorageClass=storage_class) == (
            'InvalidStorageClass', 400)
        assert error_of(s3.copy_object, Bucket=bucket, Key='k3',
                        CopySource={'Bucket': bucket, 'Key': 'k'},
                        StorageClass=storage_class) == (
            'InvalidStorageClass', 400)
        assert error_of(s3.create_multipart_upload, Bucket=bucket,
                        Key='k4', StorageClass=storage_class) == (
            'InvalidStorageClass', 400)
    s3.copy_object(Bucket=bucket, Key='k3', StorageClass='STANDARD',
                   CopySource={'Bucket': bucket, 'Key': 'k'})
    s3.create_multipart_upload(Bucket=bucket, Key='k4',
                               StorageClass='STANDARD')
