"""The S3 API through boto3 with its default settings: every bucket and
object operation of s3api, and the S3 error codes clients branch on."""

import hashlib
import json
import os
import uuid

import pytest
import swiftclient.client as swiftclient
from botocore.exceptions import ClientError

from tests.functional.conftest import make_s3_client
from tests.helpers import proxy_request, send_raw, wait_for


def error_of(call, *args, **kwargs):
    """(code, HTTP status) of the ClientError ``call`` must raise."""
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    err = caught.value.response
    return err['Error']['Code'], err['ResponseMetadata']['HTTPStatusCode']


# ---------------------------------------------------------------- buckets


def test_bucket_lifecycle(s3):
    name = 's3t-' + uuid.uuid4().hex[:12]
    assert name not in [b['Name'] for b in s3.list_buckets()['Buckets']]
    s3.create_bucket(Bucket=name)
    listed = s3.list_buckets()
    assert name in [b['Name'] for b in listed['Buckets']]
    assert listed['Owner']['ID'] == 'test:tester'
    assert s3.head_bucket(Bucket=name)['ResponseMetadata'][
        'HTTPStatusCode'] == 200
    assert error_of(s3.create_bucket, Bucket=name) == (
        'BucketAlreadyOwnedByYou', 409)
    s3.put_object(Bucket=name, Key='k', Body=b'x')
    assert error_of(s3.delete_bucket, Bucket=name) == ('BucketNotEmpty', 409)
    s3.delete_object(Bucket=name, Key='k')
    s3.delete_bucket(Bucket=name)
    assert error_of(s3.head_bucket, Bucket=name) == ('404', 404)
    assert error_of(s3.delete_bucket, Bucket=name) == ('NoSuchBucket', 404)
    assert error_of(s3.list_objects, Bucket=name) == ('NoSuchBucket', 404)


def test_bucket_is_the_users_swift_container(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key='seen-by-swift', Body=b'abc')
    status, body = proxy_request(cluster, 'test:tester', 'GET',
                                 '/%s/seen-by-swift' % bucket)
    assert (status, body) == (200, b'abc')


@pytest.mark.parametrize('name', ['UPPER', 'ab', 'a..b', '192.168.1.1',
                                  'under_score', 'x' * 64, '-dash'])
def test_invalid_bucket_names(s3, name):
    assert error_of(s3.create_bucket, Bucket=name) == (
        'InvalidBucketName', 400)


def test_location_constraint(s3):
    name = 's3t-' + uuid.uuid4().hex[:12]
    assert error_of(s3.create_bucket, Bucket=name,
                    CreateBucketConfiguration={
                        'LocationConstraint': 'eu-west-1'}) == (
        'InvalidLocationConstraint', 400)
    assert error_of(s3.head_bucket, Bucket=name) == ('404', 404)


def test_get_bucket_location(s3, bucket):
    assert s3.get_bucket_location(Bucket=bucket)['LocationConstraint'] \
        is None


def test_another_users_bucket_is_access_denied(cluster, s3, bucket):
    other = make_s3_client(cluster, 'test2:tester2')
    # test2's account has no such bucket: its own namespace.
    assert error_of(other.head_bucket, Bucket=bucket) == ('404', 404)
    # A user of the same account without .admin is denied, as in Swift.
    reader = make_s3_client(cluster, 'test:tester3')
    assert error_of(reader.list_objects, Bucket=bucket) == (
        'AccessDenied', 403)
    assert error_of(reader.put_object, Bucket=bucket, Key='k',
                    Body=b'x') == ('AccessDenied', 403)


# ---------------------------------------------------------------- listings


@pytest.fixture
def filled(s3, bucket):
    keys = ['a/1', 'a/2', 'b/1', 'c', 'd e+f', 'sp\u00e9cial']
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode('utf-8'))
    return bucket, keys


def test_list_objects_v1(s3, filled):
    bucket, keys = filled
    listed = s3.list_objects(Bucket=bucket)
    assert [o['Key'] for o in listed['Contents']] == sorted(keys)
    assert listed['Contents'][0]['Owner']['ID'] == 'test:tester'
    assert listed['Contents'][0]['ETag'] == '"%s"' % hashlib.md5(
        b'a/1').hexdigest()
    assert listed['Contents'][0]['Size'] == 3
    delimited = s3.list_objects(Bucket=bucket, Delimiter='/')
    assert [p['Prefix'] for p in delimited['CommonPrefixes']] == ['a/', 'b/']
    assert [o['Key'] for o in delimited['Contents']] == [
        'c', 'd e+f', 'sp\u00e9cial']
    page = s3.list_objects(Bucket=bucket, MaxKeys=2, Marker='a/1')
    assert [o['Key'] for o in page['Contents']] == ['a/2', 'b/1']
    assert page['IsTruncated'] is True
    prefixed = s3.list_objects(Bucket=bucket, Prefix='a/')
    assert [o['Key'] for o in prefixed['Contents']] == ['a/1', 'a/2']


def test_list_objects_v2_pages_with_tokens(s3, filled):
    bucket, keys = filled
    seen, token, pages = [], None, 0
    while True:
        kwargs = {'ContinuationToken': token} if token else {}
        page = s3.list_objects_v2(Bucket=bucket, MaxKeys=2, **kwargs)
        pages += 1
        seen += [o['Key'] for o in page['Contents']]
        assert page['KeyCount'] == len(page['Contents'])
        assert 'Owner' not in page['Contents'][0]
        if not page['IsTruncated']:
            break
        token = page['NextContinuationToken']
    assert seen == sorted(keys) and pages == 3
    after = s3.list_objects_v2(Bucket=bucket, StartAfter='c', FetchOwner=True)
    assert [o['Key'] for o in after['Contents']] == ['d e+f', 'sp\u00e9cial']
    assert after['Contents'][0]['Owner']['ID'] == 'test:tester'


def test_list_bad_continuation_token(s3, bucket):
    assert error_of(s3.list_objects_v2, Bucket=bucket,
                    ContinuationToken='not base64!') == (
        'InvalidArgument', 400)


def test_list_encoding_type_url(s3, filled):
    bucket, _ = filled
    # boto3 asks for url encoding itself and decodes the answer.
    listed = s3.list_objects_v2(Bucket=bucket, Prefix='d')
    assert [o['Key'] for o in listed['Contents']] == ['d e+f']
    assert listed['EncodingType'] == 'url'


def test_list_bad_max_keys(cluster, bucket):
    raw = make_s3_client(cluster)
    raw.meta.events.register(
        'before-sign.s3.ListObjects',
        lambda request, **_: setattr(request, 'url', request.url.replace(
            'max-keys=5', 'max-keys=-3')))
    assert error_of(raw.list_objects, Bucket=bucket, MaxKeys=5) == (
        'InvalidArgument', 400)


def test_list_object_versions_of_unversioned_bucket(s3, filled):
    bucket, keys = filled
    versions = s3.list_object_versions(Bucket=bucket)['Versions']
    assert [v['Key'] for v in versions] == sorted(keys)
    assert {v['VersionId'] for v in versions} == {'null'}
    assert all(v['IsLatest'] for v in versions)


# ---------------------------------------------------------------- objects


def test_put_get_head_delete(s3, bucket):
    body = b'0123456789' * 100
    put = s3.put_object(Bucket=bucket, Key='dir/obj', Body=body,
                        ContentType='text/x-test', Metadata={'Color': 'red'},
                        CacheControl='max-age=60', ContentDisposition='inline',
                        ContentEncoding='identity', ContentLanguage='fr',
                        Expires='Wed, 21 Oct 2037 07:28:00 GMT')
    assert put['ETag'] == '"%s"' % hashlib.md5(body).hexdigest()
    got = s3.get_object(Bucket=bucket, Key='dir/obj')
    assert got['Body'].read() == body
    assert got['ContentType'] == 'text/x-test'
    assert got['Metadata'] == {'color': 'red'}
    assert got['CacheControl'] == 'max-age=60'
    assert got['ContentDisposition'] == 'inline'
    assert got['ContentEncoding'] == 'identity'
    assert got['ContentLanguage'] == 'fr'
    assert got['ResponseMetadata']['HTTPHeaders']['expires'] == \
        'Wed, 21 Oct 2037 07:28:00 GMT'
    assert got['ETag'] == put['ETag']
    head = s3.head_object(Bucket=bucket, Key='dir/obj')
    assert head['ContentLength'] == 1000 and head['ETag'] == put['ETag']
    s3.delete_object(Bucket=bucket, Key='dir/obj')
    assert error_of(s3.get_object, Bucket=bucket, Key='dir/obj') == (
        'NoSuchKey', 404)
    assert error_of(s3.head_object, Bucket=bucket, Key='dir/obj') == (
        '404', 404)
    # Deleting what is not there succeeds, as in S3.
    s3.delete_object(Bucket=bucket, Key='dir/obj')


def test_missing_bucket_vs_missing_key(s3, bucket):
    assert error_of(s3.get_object, Bucket=bucket, Key='nope') == (
        'NoSuchKey', 404)
    assert error_of(s3.get_object, Bucket='s3t-nobucket-x', Key='k') == (
        'NoSuchBucket', 404)
    assert error_of(s3.put_object, Bucket='s3t-nobucket-x', Key='k',
                    Body=b'x') == ('NoSuchBucket', 404)
    assert error_of(s3.delete_object, Bucket='s3t-nobucket-x', Key='k') == (
        'NoSuchBucket', 404)


def test_range_and_conditionals(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key='r', Body=b'abcdefghij')['ETag']
    part = s3.get_object(Bucket=bucket, Key='r', Range='bytes=2-4')
    assert part['Body'].read() == b'cde'
    assert part['ContentRange'] == 'bytes 2-4/10'
    assert part['ResponseMetadata']['HTTPStatusCode'] == 206
    assert error_of(s3.get_object, Bucket=bucket, Key='r',
                    Range='bytes=20-30') == ('InvalidRange', 416)
    assert s3.get_object(Bucket=bucket, Key='r', IfMatch=etag)[
        'Body'].read() == b'abcdefghij'
    assert error_of(s3.get_object, Bucket=bucket, Key='r',
                    IfMatch='"nope"') == ('PreconditionFailed', 412)
    assert error_of(s3.get_object, Bucket=bucket, Key='r',
                    IfNoneMatch=etag) == ('304', 304)


def test_response_overrides(s3, bucket):
    s3.put_object(Bucket=bucket, Key='o', Body=b'x', ContentType='text/plain')
    got = s3.get_object(Bucket=bucket, Key='o',
                        ResponseContentType='image/png',
                        ResponseContentDisposition='attachment; filename=x',
                        ResponseCacheControl='no-cache')
    assert got['ContentType'] == 'image/png'
    assert got['ContentDisposition'] == 'attachment; filename=x'
    assert got['CacheControl'] == 'no-cache'


def test_part_number_of_a_simple_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key='p', Body=b'whole')
    assert s3.get_object(Bucket=bucket, Key='p', PartNumber=1)[
        'Body'].read() == b'whole'
    assert error_of(s3.get_object, Bucket=bucket, Key='p', PartNumber=2) == (
        'InvalidPartNumber', 416)


def test_content_md5(s3, bucket):
    # boto3 computes a right Content-MD5 itself when given none.
    s3.put_object(Bucket=bucket, Key='m', Body=b'data',
                  ContentMD5='jXd/OF09/siBXSD3SWAm3A==')
    assert error_of(s3.put_object, Bucket=bucket, Key='m2', Body=b'data',
                    ContentMD5='1B2M2Y8AsgTpgAmY7PhCfg==') == (
        'BadDigest', 400)
    assert error_of(s3.head_object, Bucket=bucket, Key='m2') == ('404', 404)
    assert error_of(s3.put_object, Bucket=bucket, Key='m3', Body=b'data',
                    ContentMD5='not-base64!') == ('InvalidDigest', 400)


def test_key_too_long(s3, bucket):
    assert error_of(s3.put_object, Bucket=bucket, Key='k' * 1025,
                    Body=b'x') == ('KeyTooLongError', 400)


# ---------------------------------------------------------------- copy


def test_copy_object_keeps_or_replaces_metadata(s3, bucket):
    s3.put_object(Bucket=bucket, Key='src', Body=b'source', Metadata={
        'a': '1'}, ContentType='text/x-src', CacheControl='max-age=1')
    copied = s3.copy_object(Bucket=bucket, Key='dst', CopySource={
        'Bucket': bucket, 'Key': 'src'})
    assert copied['CopyObjectResult']['ETag'] == '"%s"' % hashlib.md5(
        b'source').hexdigest()
    assert copied['CopyObjectResult']['LastModified'] is not None
    got = s3.get_object(Bucket=bucket, Key='dst')
    assert (got['Body'].read(), got['Metadata'], got['ContentType'],
            got['CacheControl']) == (b'source', {'a': '1'}, 'text/x-src',
                                     'max-age=1')
    s3.copy_object(Bucket=bucket, Key='dst', CopySource={
        'Bucket': bucket, 'Key': 'src'}, MetadataDirective='REPLACE',
        Metadata={'b': '2'}, ContentType='text/x-new')
    got = s3.get_object(Bucket=bucket, Key='dst')
    assert (got['Metadata'], got['ContentType'], got.get('CacheControl')) \
        == ({'b': '2'}, 'text/x-new', None)


def test_copy_onto_itself(s3, bucket):
    s3.put_object(Bucket=bucket, Key='self', Body=b'x', Metadata={'v': '1'})
    assert error_of(s3.copy_object, Bucket=bucket, Key='self', CopySource={
        'Bucket': bucket, 'Key': 'self'}) == ('InvalidRequest', 400)
    s3.copy_object(Bucket=bucket, Key='self', CopySource={
        'Bucket': bucket, 'Key': 'self'}, MetadataDirective='REPLACE',
        Metadata={'v': '2'})
    got = s3.get_object(Bucket=bucket, Key='self')
    assert (got['Body'].read(), got['Metadata']) == (b'x', {'v': '2'})


def test_copy_source_conditions(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key='cs', Body=b'x')['ETag']
    source = {'Bucket': bucket, 'Key': 'cs'}
    s3.copy_object(Bucket=bucket, Key='c1', CopySource=source,
                   CopySourceIfMatch=etag)
    assert error_of(s3.copy_object, Bucket=bucket, Key='c2',
                    CopySource=source, CopySourceIfMatch='"other"') == (
        'PreconditionFailed', 412)
    assert error_of(s3.copy_object, Bucket=bucket, Key='c3',
                    CopySource=source, CopySourceIfNoneMatch=etag) == (
        'PreconditionFailed', 412)
    assert error_of(s3.copy_object, Bucket=bucket, Key='c4', CopySource={
        'Bucket': bucket, 'Key': 'missing'}) == ('NoSuchKey', 404)


def test_copy_source_is_authorized_as_a_read(cluster, s3, bucket):
    """tester3 (no .admin) may write ``dest`` but not read ``bucket``:
    its copy from ``bucket`` is denied until it may read it."""
    dest = 's3t-' + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=dest)
    s3.put_object(Bucket=bucket, Key='secret', Body=b'classified')
    url, token = cluster.get_token('test:tester')
    swiftclient.post_container(url, token, dest, {
        'X-Container-Write': 'test:tester3'})
    copier = make_s3_client(cluster, 'test:tester3')
    source = {'Bucket': bucket, 'Key': 'secret'}
    try:
        assert error_of(copier.copy_object, Bucket=dest, Key='stolen',
                        CopySource=source) == ('AccessDenied', 403)
        swiftclient.post_container(url, token, bucket, {
            'X-Container-Read': 'test:tester3'})
        copier.copy_object(Bucket=dest, Key='copied', CopySource=source)
        assert s3.get_object(Bucket=dest, Key='copied')['Body'].read() == \
            b'classified'
    finally:
        for key in ('stolen', 'copied'):
            s3.delete_object(Bucket=dest, Key=key)
        s3.delete_bucket(Bucket=dest)


# ---------------------------------------------------------- multi-delete


def test_delete_objects(s3, bucket):
    for key in ('x1', 'x2', 'x3'):
        s3.put_object(Bucket=bucket, Key=key, Body=b'x')
    result = s3.delete_objects(Bucket=bucket, Delete={'Objects': [
        {'Key': 'x1'}, {'Key': 'x2'}, {'Key': 'absent'}]})
    assert sorted(d['Key'] for d in result['Deleted']) == [
        'absent', 'x1', 'x2']
    assert 'Errors' not in result
    quiet = s3.delete_objects(Bucket=bucket, Delete={
        'Objects': [{'Key': 'x3'}], 'Quiet': True})
    assert 'Deleted' not in quiet and 'Errors' not in quiet
    assert 'Contents' not in s3.list_objects(Bucket=bucket)


def test_delete_objects_limit(s3, bucket):
    keys = [{'Key': 'k%d' % n} for n in range(1001)]
    assert error_of(s3.delete_objects, Bucket=bucket,
                    Delete={'Objects': keys}) == ('MalformedXML', 400)


# ---------------------------------------------------------------- ACLs


def test_canned_bucket_acls(cluster, s3):
    name = 's3t-' + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name, ACL='public-read')
    try:
        acl = s3.get_bucket_acl(Bucket=name)
        assert acl['Owner']['ID'] == 'test:tester'
        grants = {(g['Grantee'].get('URI') or g['Grantee'].get('ID'),
                   g['Permission']) for g in acl['Grants']}
        assert grants == {
            ('test:tester', 'FULL_CONTROL'),
            ('http://acs.amazonaws.com/groups/global/AllUsers', 'READ')}
        s3.put_object(Bucket=name, Key='pub', Body=b'open')
        assert len(s3.get_object_acl(Bucket=name, Key='pub')['Grants']) == 2
        # public-read is Swift's .r:* read ACL: anonymous Swift reads work.
        status, body = anonymous_get(cluster, '/v1/AUTH_test/%s/pub' % name)
        assert (status, body) == (200, b'open')
        s3.put_bucket_acl(Bucket=name, ACL='private')
        assert [g['Permission'] for g in s3.get_bucket_acl(
            Bucket=name)['Grants']] == ['FULL_CONTROL']
        assert anonymous_get(cluster, '/v1/AUTH_test/%s/pub' % name)[0] \
            == 401
        assert error_of(s3.put_bucket_acl, Bucket=name,
                        ACL='authenticated-read') == ('NotImplemented', 501)
        s3.delete_object(Bucket=name, Key='pub')
    finally:
        s3.delete_bucket(Bucket=name)


def test_acl_documents(s3, bucket):
    owner = {'ID': 'test:tester', 'DisplayName': 'test:tester'}
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={
        'Owner': owner, 'Grants': [
            {'Grantee': {'Type': 'CanonicalUser', 'ID': 'test:tester'},
             'Permission': 'FULL_CONTROL'},
            {'Grantee': {'Type': 'Group', 'URI':
                         'http://acs.amazonaws.com/groups/global/AllUsers'},
             'Permission': 'READ'}]})
    assert len(s3.get_bucket_acl(Bucket=bucket)['Grants']) == 2
    s3.put_object(Bucket=bucket, Key='o', Body=b'x')
    acl = s3.get_object_acl(Bucket=bucket, Key='o')
    # Swift's ACLs are per container: the object is as public as its bucket.
    assert [g['Permission'] for g in acl['Grants']] == [
        'FULL_CONTROL', 'READ']
    s3.put_object_acl(Bucket=bucket, Key='o', ACL='private')
    assert error_of(s3.put_object_acl, Bucket=bucket, Key='o',
                    ACL='authenticated-read') == ('NotImplemented', 501)
    assert error_of(s3.get_object_acl, Bucket=bucket, Key='none') == (
        'NoSuchKey', 404)


def anonymous_get(cluster, path):
    host, port = cluster.aio.layout.bind, cluster.aio.layout.proxy_port
    status, _, body = send_raw(host, port, 'GET', path, {'Host': host})
    return status, body


# ---------------------------------------------------------- operator side


def test_access_line_names_the_s3_operation(cluster, s3, bucket):
    key = 'logged-' + uuid.uuid4().hex
    s3.put_object(Bucket=bucket, Key=key, Body=b'x')
    log = os.path.join(cluster.aio.dirs.logs, 'proxy-server.log')

    def logged():
        with open(log, encoding='utf-8', errors='replace') as lines:
            return [line for line in lines if key in line]
    assert wait_for(lambda: logged(), timeout=10)
    line, = logged()
    assert '"PUT /%s/%s" 200' % (bucket, key) in line
    assert line.rstrip().endswith('op:PutObject')


def test_info_advertises_s3api(cluster):
    host, port = cluster.aio.layout.bind, cluster.aio.layout.proxy_port
    status, _, body = send_raw(host, port, 'GET', '/info', {'Host': host})
    assert status == 200
    assert json.loads(body)['s3api']['location'] == 'us-east-1'


def test_version_ids_of_an_unversioned_bucket(s3, bucket):
    s3.put_object(Bucket=bucket, Key='v', Body=b'one')
    assert s3.get_object(Bucket=bucket, Key='v', VersionId='null')[
        'Body'].read() == b'one'
    assert error_of(s3.get_object, Bucket=bucket, Key='v',
                    VersionId='3HL4kqtJlcpXroDTDmJ') == ('NoSuchVersion', 404)
    s3.delete_object(Bucket=bucket, Key='v', VersionId='null')
    assert error_of(s3.head_object, Bucket=bucket, Key='v') == ('404', 404)


def test_metadata_too_large(s3, bucket):
    assert error_of(s3.put_object, Bucket=bucket, Key='m', Body=b'x',
                    Metadata={'big': 'x' * 5000}) == ('MetadataTooLarge', 400)


@pytest.mark.parametrize('key', ['/leading', 'a//double', 'q?uery#frag',
                                 'sp ace+plus%25', '\u00fcml\u00e4ut/\u2603'])
def test_awkward_keys(s3, bucket, key):
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode('utf-8'))
    assert s3.get_object(Bucket=bucket, Key=key)['Body'].read() == \
        key.encode('utf-8')
    assert [o['Key'] for o in s3.list_objects_v2(Bucket=bucket)[
        'Contents']] == [key]
    s3.delete_object(Bucket=bucket, Key=key)
