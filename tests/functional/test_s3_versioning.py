"""S3 bucket versioning through boto3 with its default settings: bucket
configuration, version ids on writes, reads and deletes by version id,
delete markers, suspended buckets, ListObjectVersions, and the same
versions seen through the Swift API (object_versioning's layout)."""

import hashlib
import json
import uuid
from urllib.parse import quote

import pytest
import swiftclient.client as swiftclient
from botocore.exceptions import ClientError

from tests.functional.conftest import (
    all_versions, empty_bucket, make_s3_client, new_bucket)
from tests.helpers import proxy_request

DELETE_MARKER_TYPE = 'application/x-deleted;swift_versions_deleted=1'


def error_of(call, *args, **kwargs):
    """(code, HTTP status, headers) of the ClientError ``call`` raises."""
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    err = caught.value.response
    return (err['Error']['Code'], err['ResponseMetadata']['HTTPStatusCode'],
            err['ResponseMetadata']['HTTPHeaders'])


@pytest.fixture
def plain_bucket(s3):
    """A bucket never versioned, emptied of every version afterwards."""
    name = new_bucket(s3)
    yield name
    empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)


def put(s3, bucket, key, body):
    return s3.put_object(Bucket=bucket, Key=key, Body=body)['VersionId']


# ------------------------------------------------------ bucket configuration


def test_versioning_configuration(s3, plain_bucket):
    got = s3.get_bucket_versioning(Bucket=plain_bucket)
    assert 'Status' not in got
    for status in ('Enabled', 'Suspended', 'Enabled'):
        s3.put_bucket_versioning(Bucket=plain_bucket,
                                 VersioningConfiguration={'Status': status})
        assert s3.get_bucket_versioning(Bucket=plain_bucket)[
            'Status'] == status


def send_body(body):
    """A before-sign hook that sends ``body`` instead of boto3's (and
    drops the checksums boto3 made of its own)."""
    def replace(request, **_):
        request.data = body
        for name in list(request.headers.keys()):
            if name.lower() in ('content-md5', 'content-length') or \
                    name.lower().startswith('x-amz-checksum-'):
                del request.headers[name]
    return replace


def test_versioning_configuration_errors(cluster, s3, plain_bucket):
    code, status, _ = error_of(
        s3.put_bucket_versioning, Bucket=plain_bucket,
        VersioningConfiguration={'Status': 'Sometimes'})
    assert (code, status) == ('IllegalVersioningConfigurationException', 400)
    raw = make_s3_client(cluster)
    raw.meta.events.register('before-sign.s3.PutBucketVersioning',
                             send_body(b'<Versioning'))
    code, status, _ = error_of(
        raw.put_bucket_versioning, Bucket=plain_bucket,
        VersioningConfiguration={'Status': 'Enabled'})
    assert (code, status) == ('MalformedXML', 400)
    assert 'Status' not in s3.get_bucket_versioning(Bucket=plain_bucket)
    missing = 's3v-missing-' + uuid.uuid4().hex[:8]
    assert error_of(s3.get_bucket_versioning, Bucket=missing)[:2] == (
        'NoSuchBucket', 404)
    assert error_of(s3.put_bucket_versioning, Bucket=missing,
                    VersioningConfiguration={'Status': 'Enabled'})[:2] == (
        'NoSuchBucket', 404)


def test_legacy_versioned_container_refuses_versioning(
        cluster, s3, plain_bucket):
    url, token = cluster.get_token('test:tester')
    archive = plain_bucket + '-archive'
    swiftclient.put_container(url, token, archive)
    try:
        swiftclient.post_container(url, token, plain_bucket, {
            'X-Versions-Location': archive})
        code, status, _ = error_of(
            s3.put_bucket_versioning, Bucket=plain_bucket,
            VersioningConfiguration={'Status': 'Enabled'})
        assert (code, status) == ('InvalidBucketState', 409)
        assert 'Status' not in s3.get_bucket_versioning(Bucket=plain_bucket)
    finally:
        swiftclient.post_container(url, token, plain_bucket, {
            'X-Remove-Versions-Location': 'x'})
        swiftclient.delete_container(url, token, archive)


def test_a_user_without_admin_cannot_configure(cluster, s3, plain_bucket):
    other = make_s3_client(cluster, 'test:tester3')
    code, status, _ = error_of(
        other.put_bucket_versioning, Bucket=plain_bucket,
        VersioningConfiguration={'Status': 'Enabled'})
    assert (code, status) == ('AccessDenied', 403)


def test_versions_need_the_users_rights(cluster, s3, versioned):
    first = put(s3, versioned, 'k', b'one')
    reader = make_s3_client(cluster, 'test:tester3')
    for call, kwargs in (
            (reader.get_bucket_versioning, {}),
            (reader.list_object_versions, {}),
            (reader.get_object, {'Key': 'k', 'VersionId': first}),
            (reader.delete_object, {'Key': 'k', 'VersionId': first}),
            (reader.delete_object, {'Key': 'k'})):
        assert error_of(call, Bucket=versioned, **kwargs)[:2] == (
            'AccessDenied', 403)
    assert s3.get_object(Bucket=versioned, Key='k', VersionId=first)[
        'Body'].read() == b'one'
    assert all_versions(s3, versioned)[1] == []


# ----------------------------------------------------- writes and reads


def test_put_answers_version_ids_and_reads_each(s3, versioned):
    first = put(s3, versioned, 'k', b'one')
    second = put(s3, versioned, 'k', b'two')
    assert first != second and 'null' not in (first, second)
    got = s3.get_object(Bucket=versioned, Key='k')
    assert (got['Body'].read(), got['VersionId']) == (b'two', second)
    old = s3.get_object(Bucket=versioned, Key='k', VersionId=first)
    assert (old['Body'].read(), old['VersionId']) == (b'one', first)
    head = s3.head_object(Bucket=versioned, Key='k', VersionId=first)
    assert (head['ContentLength'], head['VersionId']) == (3, first)


def test_unknown_and_malformed_version_ids(s3, versioned):
    put(s3, versioned, 'k', b'one')
    code, status, _ = error_of(s3.get_object, Bucket=versioned, Key='k',
                               VersionId='1500000000.00000')
    assert (code, status) == ('NoSuchVersion', 404)
    code, status, _ = error_of(s3.get_object, Bucket=versioned, Key='k',
                               VersionId='not-a-version')
    assert (code, status) == ('InvalidArgument', 400)
    assert error_of(s3.head_object, Bucket=versioned, Key='k',
                    VersionId='1500000000.00000')[1] == 404
    assert error_of(s3.delete_object, Bucket=versioned, Key='k',
                    VersionId='not-a-version')[:2] == ('InvalidArgument', 400)
    assert error_of(s3.get_object, Bucket='s3v-none-' + uuid.uuid4().hex[:8],
                    Key='k', VersionId='1500000000.00000')[:2] == (
        'NoSuchBucket', 404)


def test_delete_makes_a_marker_and_removing_it_restores(s3, versioned):
    first = put(s3, versioned, 'k', b'one')
    deleted = s3.delete_object(Bucket=versioned, Key='k')
    assert deleted['DeleteMarker'] is True
    marker = deleted['VersionId']
    assert marker not in (first, 'null')
    code, status, headers = error_of(s3.get_object, Bucket=versioned,
                                     Key='k')
    assert (code, status) == ('NoSuchKey', 404)
    assert headers['x-amz-delete-marker'] == 'true'
    assert headers['x-amz-version-id'] == marker
    code, status, headers = error_of(s3.get_object, Bucket=versioned,
                                     Key='k', VersionId=marker)
    assert (code, status) == ('MethodNotAllowed', 405)
    assert headers['x-amz-delete-marker'] == 'true'
    assert error_of(s3.head_object, Bucket=versioned, Key='k',
                    VersionId=marker)[1] == 405
    assert s3.get_object(Bucket=versioned, Key='k', VersionId=first)[
        'Body'].read() == b'one'
    removed = s3.delete_object(Bucket=versioned, Key='k', VersionId=marker)
    assert removed['DeleteMarker'] is True
    assert removed['VersionId'] == marker
    got = s3.get_object(Bucket=versioned, Key='k')
    assert (got['Body'].read(), got['VersionId']) == (b'one', first)


def test_deleting_the_current_version_makes_the_previous_current(
        s3, versioned):
    first = put(s3, versioned, 'k', b'one')
    second = put(s3, versioned, 'k', b'two')
    answer = s3.delete_object(Bucket=versioned, Key='k', VersionId=second)
    assert answer['VersionId'] == second and 'DeleteMarker' not in answer
    got = s3.get_object(Bucket=versioned, Key='k')
    assert (got['Body'].read(), got['VersionId']) == (b'one', first)
    s3.delete_object(Bucket=versioned, Key='k', VersionId=first)
    assert error_of(s3.get_object, Bucket=versioned, Key='k')[:2] == (
        'NoSuchKey', 404)
    assert all_versions(s3, versioned) == ([], [])


def test_head_of_a_deleted_key_names_its_marker(s3, versioned):
    put(s3, versioned, 'k', b'one')
    marker = s3.delete_object(Bucket=versioned, Key='k')['VersionId']
    code, status, headers = error_of(s3.head_object, Bucket=versioned,
                                     Key='k')
    assert status == 404
    assert (headers['x-amz-delete-marker'], headers['x-amz-version-id']) \
        == ('true', marker)
    assert error_of(s3.get_object, Bucket=versioned, Key='k',
                    VersionId='null')[:2] == ('NoSuchVersion', 404)


def test_delete_of_a_key_never_written_makes_a_marker(s3, versioned):
    deleted = s3.delete_object(Bucket=versioned, Key='ghost')
    assert deleted['DeleteMarker'] is True
    versions, markers = all_versions(s3, versioned)
    assert versions == []
    assert [(m['Key'], m['VersionId'], m['IsLatest']) for m in markers] == [
        ('ghost', deleted['VersionId'], True)]


def test_suspended_writes_null_and_keeps_versions(s3, versioned):
    first = put(s3, versioned, 'k', b'one')
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={
        'Status': 'Suspended'})
    s3.put_object(Bucket=versioned, Key='k', Body=b'null-1')
    s3.put_object(Bucket=versioned, Key='k', Body=b'null-2')
    got = s3.get_object(Bucket=versioned, Key='k')
    assert (got['Body'].read(), got['VersionId']) == (b'null-2', 'null')
    assert s3.get_object(Bucket=versioned, Key='k', VersionId='null')[
        'Body'].read() == b'null-2'
    assert s3.get_object(Bucket=versioned, Key='k', VersionId=first)[
        'Body'].read() == b'one'
    versions, _ = all_versions(s3, versioned)
    assert [(v['VersionId'], v['IsLatest']) for v in versions] == [
        ('null', True), (first, False)]
    s3.delete_object(Bucket=versioned, Key='k', VersionId='null')
    got = s3.get_object(Bucket=versioned, Key='k')
    assert (got['Body'].read(), got['VersionId']) == (b'one', first)


def test_unversioned_bucket_reads_and_deletes_null(s3, plain_bucket):
    s3.put_object(Bucket=plain_bucket, Key='k', Body=b'x')
    assert 'VersionId' not in s3.get_object(Bucket=plain_bucket, Key='k')
    assert error_of(s3.get_object, Bucket=plain_bucket, Key='k',
                    VersionId='1500000000.00000')[:2] == ('NoSuchVersion', 404)
    s3.delete_object(Bucket=plain_bucket, Key='k', VersionId='null')
    assert error_of(s3.head_object, Bucket=plain_bucket, Key='k')[1] == 404


# ------------------------------------------------------- copy, multipart


def test_copy_from_a_version(s3, versioned):
    first = put(s3, versioned, 'src', b'old')
    put(s3, versioned, 'src', b'new')
    copied = s3.copy_object(Bucket=versioned, Key='dst', CopySource={
        'Bucket': versioned, 'Key': 'src', 'VersionId': first})
    assert copied['CopySourceVersionId'] == first
    assert copied['VersionId'] not in (first, 'null')
    got = s3.get_object(Bucket=versioned, Key='dst')
    assert (got['Body'].read(), got['VersionId']) == (
        b'old', copied['VersionId'])
    restored = s3.copy_object(Bucket=versioned, Key='src', CopySource={
        'Bucket': versioned, 'Key': 'src', 'VersionId': first})
    assert s3.get_object(Bucket=versioned, Key='src')[
        'Body'].read() == b'old'
    assert restored['VersionId'] != first


def test_copy_from_missing_or_marker_version(s3, versioned):
    put(s3, versioned, 'src', b'x')
    marker = s3.delete_object(Bucket=versioned, Key='src')['VersionId']
    assert error_of(s3.copy_object, Bucket=versioned, Key='dst', CopySource={
        'Bucket': versioned, 'Key': 'src',
        'VersionId': '1500000000.00000'})[:2] == ('NoSuchVersion', 404)
    assert error_of(s3.copy_object, Bucket=versioned, Key='dst', CopySource={
        'Bucket': versioned, 'Key': 'src', 'VersionId': marker})[:2] == (
        'InvalidRequest', 400)
    assert error_of(s3.copy_object, Bucket=versioned, Key='dst', CopySource={
        'Bucket': versioned, 'Key': 'src', 'VersionId': 'bad-id'})[:2] == (
        'InvalidArgument', 400)


def test_complete_multipart_upload_answers_its_version(cluster, s3, versioned):
    part = b'p' * (5 * 1024 * 1024)
    versions = []
    for _ in range(2):
        upload = s3.create_multipart_upload(Bucket=versioned, Key='mp')
        etag = s3.upload_part(Bucket=versioned, Key='mp', PartNumber=1,
                              UploadId=upload['UploadId'], Body=part)['ETag']
        done = s3.complete_multipart_upload(
            Bucket=versioned, Key='mp', UploadId=upload['UploadId'],
            MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': etag}]})
        versions.append(done['VersionId'])
    assert len(set(versions)) == 2 and 'null' not in versions
    assert s3.head_object(Bucket=versioned, Key='mp', VersionId=versions[0])[
        'ContentLength'] == len(part)
    segments = versioned + '+segments'
    assert len(swift_names(cluster, segments)) == 2
    s3.delete_object(Bucket=versioned, Key='mp', VersionId=versions[1])
    assert s3.head_object(Bucket=versioned, Key='mp')['VersionId'] == \
        versions[0]
    # The deleted version's part went with it; the other's stays.
    assert len(swift_names(cluster, segments)) == 1
    assert s3.get_object(Bucket=versioned, Key='mp')['Body'].read() == part


def test_upload_part_copy_and_part_number_of_a_version(s3, versioned):
    old_body = b'o' * (5 * 1024 * 1024)
    first = put(s3, versioned, 'src', old_body)
    put(s3, versioned, 'src', b'new')
    upload = s3.create_multipart_upload(Bucket=versioned, Key='mp')
    copied = s3.upload_part_copy(
        Bucket=versioned, Key='mp', PartNumber=1, UploadId=upload['UploadId'],
        CopySource={'Bucket': versioned, 'Key': 'src', 'VersionId': first})
    assert error_of(s3.upload_part_copy, Bucket=versioned, Key='mp',
                    PartNumber=2, UploadId=upload['UploadId'], CopySource={
                        'Bucket': versioned, 'Key': 'src',
                        'VersionId': '1500000000.00000'})[:2] == (
        'NoSuchVersion', 404)
    done = s3.complete_multipart_upload(
        Bucket=versioned, Key='mp', UploadId=upload['UploadId'],
        MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': copied[
            'CopyPartResult']['ETag']}]})
    s3.put_object(Bucket=versioned, Key='mp', Body=b'later')
    part = s3.get_object(Bucket=versioned, Key='mp', PartNumber=1,
                         VersionId=done['VersionId'])
    assert part['Body'].read() == old_body
    assert part['PartsCount'] == 1


def test_delete_objects_with_version_ids(s3, versioned):
    first = put(s3, versioned, 'a', b'1')
    put(s3, versioned, 'a', b'2')
    put(s3, versioned, 'b', b'3')
    result = s3.delete_objects(Bucket=versioned, Delete={'Objects': [
        {'Key': 'a', 'VersionId': first}, {'Key': 'b'}]})
    deleted = {item['Key']: item for item in result['Deleted']}
    assert deleted['a']['VersionId'] == first
    assert deleted['b']['DeleteMarker'] is True
    marker = deleted['b']['DeleteMarkerVersionId']
    versions, markers = all_versions(s3, versioned)
    assert first not in [v['VersionId'] for v in versions]
    assert [(m['Key'], m['VersionId']) for m in markers] == [('b', marker)]
    result = s3.delete_objects(Bucket=versioned, Delete={'Objects': [
        {'Key': 'b', 'VersionId': marker}]})
    assert result['Deleted'][0]['DeleteMarker'] is True
    assert s3.get_object(Bucket=versioned, Key='b')['Body'].read() == b'3'


# ---------------------------------------------------- ListObjectVersions


def test_list_versions_order_latest_and_markers(s3, versioned):
    a1 = put(s3, versioned, 'a', b'1')
    a2 = put(s3, versioned, 'a', b'22')
    b1 = put(s3, versioned, 'b', b'333')
    b_marker = s3.delete_object(Bucket=versioned, Key='b')['VersionId']
    listed = s3.list_object_versions(Bucket=versioned)
    assert [(v['Key'], v['VersionId'], v['IsLatest'], v['Size'])
            for v in listed['Versions']] == [
        ('a', a2, True, 2), ('a', a1, False, 1), ('b', b1, False, 3)]
    assert [(m['Key'], m['VersionId'], m['IsLatest'])
            for m in listed['DeleteMarkers']] == [('b', b_marker, True)]
    assert listed['Versions'][0]['Owner']['ID'] == 'test:tester'
    assert listed['Versions'][0]['ETag'] == '"%s"' % hashlib.md5(
        b'22').hexdigest()
    assert listed['IsTruncated'] is False


def test_list_versions_paging(s3, versioned):
    expected = []
    for key in ('a', 'b', 'c'):
        ids = [put(s3, versioned, key, b'x') for _ in range(3)]
        expected += [(key, version_id) for version_id in reversed(ids)]
    first = s3.list_object_versions(Bucket=versioned, MaxKeys=4)
    assert first['IsTruncated'] is True
    assert (first['NextKeyMarker'], first['NextVersionIdMarker']) == \
        expected[3]
    second = s3.list_object_versions(
        Bucket=versioned, MaxKeys=4, KeyMarker=first['NextKeyMarker'],
        VersionIdMarker=first['NextVersionIdMarker'])
    assert [(v['Key'], v['VersionId']) for v in second['Versions']] == \
        expected[4:8]
    after_b = s3.list_object_versions(Bucket=versioned, KeyMarker='b')
    assert [(v['Key'], v['VersionId']) for v in after_b['Versions']] == \
        expected[6:]
    paged = []
    for page in s3.get_paginator('list_object_versions').paginate(
            Bucket=versioned, PaginationConfig={'PageSize': 2}):
        paged += [(v['Key'], v['VersionId']) for v in page['Versions']]
    assert paged == expected
    assert s3.list_object_versions(Bucket=versioned, MaxKeys=0)[
        'IsTruncated'] is False


def test_list_versions_prefix_delimiter_encoding(s3, versioned):
    for key in ('dir/x', 'dir/y', 'top', 'sp ace'):
        put(s3, versioned, key, b'1')
        put(s3, versioned, key, b'2')
    by_prefix = s3.list_object_versions(Bucket=versioned, Prefix='dir/')
    assert [v['Key'] for v in by_prefix['Versions']] == [
        'dir/x', 'dir/x', 'dir/y', 'dir/y']
    grouped = s3.list_object_versions(Bucket=versioned, Delimiter='/')
    assert [p['Prefix'] for p in grouped['CommonPrefixes']] == ['dir/']
    assert [v['Key'] for v in grouped['Versions']] == [
        'sp ace', 'sp ace', 'top', 'top']
    paged = []
    for page in s3.get_paginator('list_object_versions').paginate(
            Bucket=versioned, Delimiter='/',
            PaginationConfig={'PageSize': 1}):
        paged += [v['Key'] for v in page.get('Versions', [])]
        paged += [p['Prefix'] for p in page.get('CommonPrefixes', [])]
    assert paged == ['dir/', 'sp ace', 'sp ace', 'top', 'top']
    encoded = s3.list_object_versions(Bucket=versioned, Prefix='sp',
                                      EncodingType='url')
    assert encoded['EncodingType'] == 'url'
    # boto3 leaves keys as sent when the caller asked for the encoding.
    assert [v['Key'] for v in encoded['Versions']] == [
        'sp%20ace', 'sp%20ace']


def test_list_versions_bad_arguments(s3, versioned):
    assert error_of(s3.list_object_versions, Bucket=versioned,
                    VersionIdMarker='1500000000.00000')[:2] == (
        'InvalidArgument', 400)
    assert error_of(s3.list_object_versions, Bucket=versioned,
                    KeyMarker='k', VersionIdMarker='bogus')[:2] == (
        'InvalidArgument', 400)
    assert error_of(s3.list_object_versions, Bucket=versioned,
                    EncodingType='base64')[:2] == ('InvalidArgument', 400)


# ------------------------------------------------------------- Swift view


def swift_names(cluster, container):
    status, body = proxy_request(cluster, 'test:tester', 'GET',
                                 '/%s?format=json' % quote(container))
    assert status == 200
    return [item['name'] for item in json.loads(body)]


def swift_versions(cluster, bucket):
    status, body = proxy_request(cluster, 'test:tester', 'GET',
                                 '/%s?versions&format=json' % bucket)
    assert status == 200
    return [(item['name'], item['version_id'], item['is_latest'],
             item['content_type'] == DELETE_MARKER_TYPE)
            for item in json.loads(body)]


def test_swift_lists_the_versions_s3_wrote(cluster, s3, versioned):
    first = put(s3, versioned, 'k', b'one')
    second = put(s3, versioned, 'k', b'two')
    marker = s3.delete_object(Bucket=versioned, Key='k')['VersionId']
    assert swift_versions(cluster, versioned) == [
        ('k', marker, True, True), ('k', second, False, False),
        ('k', first, False, False)]
    status, body = proxy_request(cluster, 'test:tester', 'GET', '/%s/k?%s' % (
        versioned, 'version-id=' + quote(first)))
    assert (status, body) == (200, b'one')


def test_s3_lists_the_versions_swift_wrote(cluster, s3):
    bucket = 's3v-' + uuid.uuid4().hex[:12]
    url, token = cluster.get_token('test:tester')
    swiftclient.put_container(url, token, bucket,
                              headers={'X-Versions-Enabled': 'true'})
    try:
        assert s3.get_bucket_versioning(Bucket=bucket)['Status'] == 'Enabled'
        swiftclient.put_object(url, token, bucket, 'k', b'one')
        swiftclient.put_object(url, token, bucket, 'k', b'two')
        swiftclient.delete_object(url, token, bucket, 'k')
        in_swift = swift_versions(cluster, bucket)
        listed = s3.list_object_versions(Bucket=bucket)
        assert [(m['Key'], m['VersionId'], m['IsLatest'], True)
                for m in listed['DeleteMarkers']] == in_swift[:1]
        assert [(v['Key'], v['VersionId'], v['IsLatest'], False)
                for v in listed['Versions']] == in_swift[1:]
        oldest = listed['Versions'][-1]['VersionId']
        assert s3.get_object(Bucket=bucket, Key='k', VersionId=oldest)[
            'Body'].read() == b'one'
    finally:
        empty_bucket(s3, bucket)
        s3.delete_bucket(Bucket=bucket)


def test_swift_slo_manifest_in_a_versioned_container(cluster, s3, versioned):
    """slo hands the manifest on as a body webob marks seekable; the
    version link's PUT must still go through (it answered 500). A ranged
    GET of the version must read the version (it answered 412)."""
    url, token = cluster.get_token('test:tester')
    segments = versioned + '-segs'
    swiftclient.put_container(url, token, segments)
    try:
        etag = swiftclient.put_object(url, token, segments, 's1', b'a' * 10)
        manifest = json.dumps([{'path': '/%s/s1' % segments, 'etag': etag,
                                'size_bytes': 10}])
        swiftclient.put_object(url, token, versioned, 'big', manifest,
                               query_string='multipart-manifest=put')
        got = s3.get_object(Bucket=versioned, Key='big')
        assert got['Body'].read() == b'a' * 10
        assert got['VersionId'] != 'null'
        # A ranged read of the version: slo fetches the manifest again.
        headers, body = swiftclient.get_object(
            url, token, versioned, 'big', headers={'Range': 'bytes=2-4'},
            query_string='version-id=' + got['VersionId'])
        assert body == b'aaa'
        assert headers['content-range'] == 'bytes 2-4/10'
    finally:
        # The manifest's versions go with the fixture's bucket.
        swiftclient.delete_object(url, token, segments, 's1')
        swiftclient.delete_container(url, token, segments)
