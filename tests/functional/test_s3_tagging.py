"""Object and bucket tagging through boto3 with its default settings:
Put/Get/DeleteObjectTagging, x-amz-tagging on PutObject, multipart
uploads and copies, x-amz-tagging-count, Put/Get/DeleteBucketTagging,
and S3's limits and errors."""

import uuid

import pytest

from tests.functional.test_s3_api import error_of


def tag_set(pairs):
    return {'TagSet': [{'Key': key, 'Value': value} for key, value in pairs]}


def tags_of(s3, bucket, key):
    return sorted((tag['Key'], tag['Value']) for tag in
                  s3.get_object_tagging(Bucket=bucket, Key=key)['TagSet'])


def test_object_tagging_round_trip(s3, bucket):
    s3.put_object(Bucket=bucket, Key='k', Body=b'data',
                  Metadata={'color': 'blue'}, ContentType='text/x-test',
                  ContentDisposition='inline', CacheControl='no-cache')
    assert tags_of(s3, bucket, 'k') == []
    assert 'TagCount' not in s3.head_object(Bucket=bucket, Key='k')
    s3.put_object_tagging(Bucket=bucket, Key='k', Tagging=tag_set(
        [('project', 'blue sky'), ('é', 'ü/+=.:@_-')]))
    assert tags_of(s3, bucket, 'k') == [('project', 'blue sky'),
                                        ('é', 'ü/+=.:@_-')]
    head = s3.head_object(Bucket=bucket, Key='k')
    assert head['ResponseMetadata']['HTTPHeaders'][
        'x-amz-tagging-count'] == '2'
    # Tagging changes no other metadata of the object.
    assert head['Metadata'] == {'color': 'blue'}
    assert head['ContentType'] == 'text/x-test'
    assert head['ContentDisposition'] == 'inline'
    assert head['CacheControl'] == 'no-cache'
    got = s3.get_object(Bucket=bucket, Key='k')
    assert got['TagCount'] == 2 and got['Body'].read() == b'data'
    # A new tag set replaces the old one.
    s3.put_object_tagging(Bucket=bucket, Key='k',
                          Tagging=tag_set([('only', '1')]))
    assert tags_of(s3, bucket, 'k') == [('only', '1')]
    s3.delete_object_tagging(Bucket=bucket, Key='k')
    assert tags_of(s3, bucket, 'k') == []
    head = s3.head_object(Bucket=bucket, Key='k')
    assert 'x-amz-tagging-count' not in head['ResponseMetadata'][
        'HTTPHeaders']
    assert head['Metadata'] == {'color': 'blue'}


def test_tagging_header_on_put(s3, bucket):
    s3.put_object(Bucket=bucket, Key='k', Body=b'x',
                  Tagging='a=1&b=two%20words&empty=')
    assert tags_of(s3, bucket, 'k') == [('a', '1'), ('b', 'two words'),
                                        ('empty', '')]
    # Overwriting the object replaces its tags (none here).
    s3.put_object(Bucket=bucket, Key='k', Body=b'y')
    assert tags_of(s3, bucket, 'k') == []


def test_tags_of_put_survive_a_later_tagging_and_overwrite(s3, bucket):
    s3.put_object(Bucket=bucket, Key='k', Body=b'x', Tagging='a=1')
    s3.put_object_tagging(Bucket=bucket, Key='k',
                          Tagging=tag_set([('b', '2')]))
    assert tags_of(s3, bucket, 'k') == [('b', '2')]
    s3.put_object(Bucket=bucket, Key='k', Body=b'y', Tagging='c=3')
    assert tags_of(s3, bucket, 'k') == [('c', '3')]


def test_tagging_of_missing_object_or_bucket(s3, bucket):
    assert error_of(s3.get_object_tagging, Bucket=bucket, Key='nope') == (
        'NoSuchKey', 404)
    assert error_of(s3.put_object_tagging, Bucket=bucket, Key='nope',
                    Tagging=tag_set([('a', '1')])) == ('NoSuchKey', 404)
    missing = 's3t-' + uuid.uuid4().hex[:12]
    assert error_of(s3.get_object_tagging, Bucket=missing, Key='k') == (
        'NoSuchBucket', 404)
    assert error_of(s3.get_bucket_tagging, Bucket=missing) == (
        'NoSuchBucket', 404)


@pytest.mark.parametrize('tags,expected', [
    ([('k%d' % n, 'v') for n in range(11)], ('BadRequest', 400)),
    ([('a', '1'), ('a', '2')], ('InvalidTag', 400)),
    ([('k' * 129, 'v')], ('InvalidTag', 400)),
    ([('k', 'v' * 257)], ('InvalidTag', 400)),
    ([('aws:owner', 'v')], ('InvalidTag', 400)),
    ([('bad#key', 'v')], ('InvalidTag', 400)),
])
def test_object_tag_limits(s3, bucket, tags, expected):
    s3.put_object(Bucket=bucket, Key='k', Body=b'x')
    assert error_of(s3.put_object_tagging, Bucket=bucket, Key='k',
                    Tagging=tag_set(tags)) == expected
    assert tags_of(s3, bucket, 'k') == []


def test_object_tag_limits_are_inclusive(s3, bucket):
    s3.put_object(Bucket=bucket, Key='k', Body=b'x')
    tags = [('k%d' % n + 'é' * 125, 'ü' * 256) for n in range(10)]
    s3.put_object_tagging(Bucket=bucket, Key='k', Tagging=tag_set(tags))
    assert tags_of(s3, bucket, 'k') == sorted(tags)


def test_tagging_header_errors(s3, bucket):
    too_many = '&'.join('k%d=v' % n for n in range(11))
    assert error_of(s3.put_object, Bucket=bucket, Key='k', Body=b'x',
                    Tagging=too_many) == ('BadRequest', 400)
    assert error_of(s3.put_object, Bucket=bucket, Key='k', Body=b'x',
                    Tagging='a=1&a=2') == ('InvalidArgument', 400)
    assert error_of(s3.put_object, Bucket=bucket, Key='k', Body=b'x',
                    Tagging='aws:x=1') == ('InvalidTag', 400)
    assert error_of(s3.head_object, Bucket=bucket, Key='k') == ('404', 404)


def test_malformed_tagging_xml(s3, bucket):
    s3.put_object(Bucket=bucket, Key='k', Body=b'x')
    bodies = [b'<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>',
              b'<Tagging><TagSet>', b'<Other/>']

    def send_body(request, **_kwargs):
        request.data = bodies.pop(0)
    s3.meta.events.register('before-sign.s3.PutObjectTagging', send_body)
    try:
        for _n in range(3):
            assert error_of(s3.put_object_tagging, Bucket=bucket, Key='k',
                            Tagging=tag_set([('a', '1')])) == (
                'MalformedXML', 400)
    finally:
        s3.meta.events.unregister('before-sign.s3.PutObjectTagging',
                                  send_body)


def test_multipart_upload_keeps_its_tags(s3, bucket):
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key='mp', Tagging='stage=raw&team=data')['UploadId']
    part = s3.upload_part(Bucket=bucket, Key='mp', UploadId=upload_id,
                          PartNumber=1, Body=b'part')
    s3.complete_multipart_upload(
        Bucket=bucket, Key='mp', UploadId=upload_id, MultipartUpload={
            'Parts': [{'PartNumber': 1, 'ETag': part['ETag']}]})
    assert tags_of(s3, bucket, 'mp') == [('stage', 'raw'), ('team', 'data')]
    assert s3.get_object(Bucket=bucket, Key='mp')['TagCount'] == 2
    assert error_of(s3.create_multipart_upload, Bucket=bucket, Key='mp2',
                    Tagging='aws:a=b') == ('InvalidTag', 400)


def test_copy_tagging_directive(s3, bucket):
    s3.put_object(Bucket=bucket, Key='src', Body=b'x', Tagging='from=put')
    s3.put_object_tagging(Bucket=bucket, Key='src',
                          Tagging=tag_set([('from', 'tagging')]))
    source = {'Bucket': bucket, 'Key': 'src'}
    s3.copy_object(Bucket=bucket, Key='copy', CopySource=source)
    assert tags_of(s3, bucket, 'copy') == [('from', 'tagging')]
    s3.copy_object(Bucket=bucket, Key='copy2', CopySource=source,
                   MetadataDirective='REPLACE')
    assert tags_of(s3, bucket, 'copy2') == [('from', 'tagging')]
    s3.copy_object(Bucket=bucket, Key='copy3', CopySource=source,
                   TaggingDirective='REPLACE', Tagging='new=1')
    assert tags_of(s3, bucket, 'copy3') == [('new', '1')]
    s3.copy_object(Bucket=bucket, Key='copy4', CopySource=source,
                   TaggingDirective='REPLACE')
    assert tags_of(s3, bucket, 'copy4') == []
    assert error_of(s3.copy_object, Bucket=bucket, Key='copy5',
                    CopySource=source, TaggingDirective='MOVE') == (
        'InvalidArgument', 400)


def test_bucket_tagging(s3, bucket):
    assert error_of(s3.get_bucket_tagging, Bucket=bucket) == (
        'NoSuchTagSet', 404)
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set(
        [('cost-center', '42'), ('env', 'test')]))
    got = s3.get_bucket_tagging(Bucket=bucket)['TagSet']
    assert sorted((t['Key'], t['Value']) for t in got) == [
        ('cost-center', '42'), ('env', 'test')]
    many = [('k%d' % n, 'v') for n in range(50)]
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tag_set(many))
    assert len(s3.get_bucket_tagging(Bucket=bucket)['TagSet']) == 50
    s3.delete_bucket_tagging(Bucket=bucket)
    assert error_of(s3.get_bucket_tagging, Bucket=bucket) == (
        'NoSuchTagSet', 404)


@pytest.mark.parametrize('tags', [
    [('k%d' % n, 'v') for n in range(51)],
    [('a', '1'), ('a', '2')],
    [('aws:cloudformation', 'x')],
    [('k' * 129, 'v')],
])
def test_bucket_tag_limits(s3, bucket, tags):
    assert error_of(s3.put_bucket_tagging, Bucket=bucket,
                    Tagging=tag_set(tags)) == ('InvalidTag', 400)
    assert error_of(s3.get_bucket_tagging, Bucket=bucket) == (
        'NoSuchTagSet', 404)


def version_tags(s3, bucket, key, version):
    answer = s3.get_object_tagging(Bucket=bucket, Key=key, VersionId=version)
    assert answer['VersionId'] == version
    return sorted((tag['Key'], tag['Value']) for tag in answer['TagSet'])


def test_tags_of_one_version(s3, versioned):
    old = s3.put_object(Bucket=versioned, Key='k', Body=b'old',
                        Tagging='era=old')['VersionId']
    new = s3.put_object(Bucket=versioned, Key='k', Body=b'new')['VersionId']
    assert version_tags(s3, versioned, 'k', old) == [('era', 'old')]
    assert version_tags(s3, versioned, 'k', new) == []
    answer = s3.put_object_tagging(Bucket=versioned, Key='k', VersionId=old,
                                   Tagging=tag_set([('era', 'older')]))
    assert answer['VersionId'] == old
    assert version_tags(s3, versioned, 'k', old) == [('era', 'older')]
    # The current version and its data are untouched.
    assert tags_of(s3, versioned, 'k') == []
    assert s3.get_object(Bucket=versioned, Key='k', VersionId=old)[
        'Body'].read() == b'old'
    s3.put_object_tagging(Bucket=versioned, Key='k', VersionId=new,
                          Tagging=tag_set([('era', 'new')]))
    assert tags_of(s3, versioned, 'k') == [('era', 'new')]
    s3.delete_object_tagging(Bucket=versioned, Key='k', VersionId=old)
    assert version_tags(s3, versioned, 'k', old) == []
    assert tags_of(s3, versioned, 'k') == [('era', 'new')]


def test_tags_of_a_missing_or_malformed_version(s3, versioned, bucket):
    s3.put_object(Bucket=versioned, Key='k', Body=b'x')
    s3.put_object(Bucket=bucket, Key='k', Body=b'x')
    for name in (versioned, bucket):
        assert error_of(s3.get_object_tagging, Bucket=name, Key='k',
                        VersionId='1500000000.00000') == (
            'NoSuchVersion', 404)
        assert error_of(s3.put_object_tagging, Bucket=name, Key='k',
                        VersionId='1500000000.00000',
                        Tagging=tag_set([('a', '1')])) == (
            'NoSuchVersion', 404)
    assert error_of(s3.get_object_tagging, Bucket=versioned, Key='k',
                    VersionId='not-a-version') == ('InvalidArgument', 400)
