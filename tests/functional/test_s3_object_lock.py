"""S3 Object Lock through boto3 with its default settings: the bucket's
lock configuration, lock headers and default retention on PutObject,
Get/PutObjectRetention and Get/PutObjectLegalHold by version, and the
refusal to delete a locked version through S3 and through the Swift API.

Versions under COMPLIANCE retention outlive their test (nobody may delete
them before their date); the tests give those a date a day away and leave
their buckets behind in the session's cluster.
"""

import datetime
import json
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.functional.conftest import make_s3_client
from tests.functional.test_symlink import Client

MARKER_TYPE = 'application/x-deleted;swift_versions_deleted=1'


def error_of(call, *args, **kwargs):
    """(code, HTTP status) of the ClientError ``call`` must raise."""
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    err = caught.value.response
    return err['Error']['Code'], err['ResponseMetadata']['HTTPStatusCode']


def later(**delta):
    return datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(**delta)


@pytest.fixture(scope='module')
def swift(cluster):
    """Raw Swift API requests as test:tester."""
    return Client(*cluster.get_token('test:tester'))


def swift_versions(swift, bucket, markers=False):
    """The (name, version id) of every version (delete markers only when
    asked), through the Swift API."""
    status, _headers, body = swift('GET', '/' + bucket,
                                   query='?versions&format=json')
    assert status == 200, body
    return [(item['name'], item['version_id']) for item in json.loads(body)
            if markers or item['content_type'] != MARKER_TYPE]


def version_data(swift, bucket, key, version):
    """A version's bytes, read through the Swift API."""
    status, _headers, body = swift('GET', '/%s/%s' % (bucket, key),
                                   query='?version-id=' + version)
    assert status == 200, body
    return body


def new_bucket(s3, lock=True):
    name = 's3lock-' + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=lock)
    return name


@pytest.fixture
def locked_bucket(swift, s3):
    """A bucket created with object lock; emptied afterwards, bypassing
    GOVERNANCE retention (COMPLIANCE tests use buckets of their own)."""
    name = new_bucket(s3)
    yield name
    for key, version in swift_versions(swift, name):
        s3.put_object_legal_hold(Bucket=name, Key=key, VersionId=version,
                                 LegalHold={'Status': 'OFF'})
    for key, version in swift_versions(swift, name, markers=True):
        s3.delete_object(Bucket=name, Key=key, VersionId=version,
                         BypassGovernanceRetention=True)
    s3.delete_bucket(Bucket=name)


# ------------------------------------------------- bucket configuration


def test_bucket_created_with_lock_is_versioned(swift, s3, locked_bucket):
    config = s3.get_object_lock_configuration(Bucket=locked_bucket)
    assert config['ObjectLockConfiguration'] == {
        'ObjectLockEnabled': 'Enabled'}
    assert error_of(s3.create_bucket, Bucket=locked_bucket,
                    ObjectLockEnabledForBucket=True) == (
        'BucketAlreadyOwnedByYou', 409)
    status, headers, _body = swift('HEAD', '/' + locked_bucket)
    assert (status, headers.get('X-Versions-Enabled')) == (204, 'True')
    first = s3.put_object(Bucket=locked_bucket, Key='k', Body=b'1')
    second = s3.put_object(Bucket=locked_bucket, Key='k', Body=b'2')
    assert first['VersionId'] != second['VersionId']
    assert sorted(swift_versions(swift, locked_bucket)) == sorted(
        [('k', first['VersionId']), ('k', second['VersionId'])])


@pytest.mark.parametrize('period', [{'Days': 3}, {'Years': 2}])
def test_default_retention_round_trip(s3, locked_bucket, period):
    rule = {'DefaultRetention': dict(Mode='GOVERNANCE', **period)}
    s3.put_object_lock_configuration(
        Bucket=locked_bucket, ObjectLockConfiguration={
            'ObjectLockEnabled': 'Enabled', 'Rule': rule})
    got = s3.get_object_lock_configuration(Bucket=locked_bucket)
    assert got['ObjectLockConfiguration'] == {
        'ObjectLockEnabled': 'Enabled', 'Rule': rule}
    s3.put_object_lock_configuration(
        Bucket=locked_bucket,
        ObjectLockConfiguration={'ObjectLockEnabled': 'Enabled'})
    got = s3.get_object_lock_configuration(Bucket=locked_bucket)
    assert 'Rule' not in got['ObjectLockConfiguration']


@pytest.mark.parametrize('retention, expected', [
    ({'Mode': 'GOVERNANCE', 'Days': 1, 'Years': 1}, ('MalformedXML', 400)),
    ({'Mode': 'GOVERNANCE'}, ('MalformedXML', 400)),
    ({'Days': 1}, ('MalformedXML', 400)),
    ({'Mode': 'GOVERNANCE', 'Days': 0}, ('InvalidArgument', 400)),
    ({'Mode': 'COMPLIANCE', 'Years': 101}, ('InvalidArgument', 400))])
def test_bad_configurations(s3, locked_bucket, retention, expected):
    assert error_of(s3.put_object_lock_configuration, Bucket=locked_bucket,
                    ObjectLockConfiguration={
                        'ObjectLockEnabled': 'Enabled',
                        'Rule': {'DefaultRetention': retention}}) == expected
    assert s3.get_object_lock_configuration(Bucket=locked_bucket)[
        'ObjectLockConfiguration'] == {'ObjectLockEnabled': 'Enabled'}


def test_bucket_without_lock(swift, s3, bucket):
    assert error_of(s3.get_object_lock_configuration, Bucket=bucket) == (
        'ObjectLockConfigurationNotFoundError', 404)
    assert error_of(s3.put_object_lock_configuration, Bucket=bucket,
                    ObjectLockConfiguration={
                        'ObjectLockEnabled': 'Enabled'}) == (
        'InvalidBucketState', 409)
    s3.put_object(Bucket=bucket, Key='k', Body=b'x')
    assert error_of(s3.put_object, Bucket=bucket, Key='k2', Body=b'x',
                    ObjectLockLegalHoldStatus='ON') == ('InvalidRequest', 400)
    assert error_of(s3.get_object_retention, Bucket=bucket, Key='k') == (
        'InvalidRequest', 400)
    assert error_of(s3.put_object_legal_hold, Bucket=bucket, Key='k',
                    LegalHold={'Status': 'ON'}) == ('InvalidRequest', 400)
    assert error_of(s3.get_object_lock_configuration,
                    Bucket='s3lock-missing-' + uuid.uuid4().hex[:8]) == (
        'NoSuchBucket', 404)
    # Asking for a lock on the existing bucket changes nothing of it.
    assert error_of(s3.create_bucket, Bucket=bucket,
                    ObjectLockEnabledForBucket=True) == (
        'BucketAlreadyOwnedByYou', 409)
    assert swift('HEAD', '/' + bucket)[1].get('X-Versions-Enabled') is None
    assert error_of(s3.get_object_lock_configuration, Bucket=bucket) == (
        'ObjectLockConfigurationNotFoundError', 404)
    assert error_of(s3.delete_object, Bucket=bucket, Key='k',
                    VersionId='') == ('InvalidArgument', 400)


def test_lock_enabled_on_an_existing_versioned_bucket(swift, s3, bucket):
    status, _headers, body = swift('POST', '/' + bucket,
                                   {'X-Versions-Enabled': 'true'})
    assert status == 204, body
    rule = {'DefaultRetention': {'Mode': 'GOVERNANCE', 'Days': 1}}
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        'ObjectLockEnabled': 'Enabled', 'Rule': rule})
    assert s3.get_object_lock_configuration(Bucket=bucket)[
        'ObjectLockConfiguration']['Rule'] == rule
    version = s3.put_object(Bucket=bucket, Key='k', Body=b'x')['VersionId']
    assert s3.head_object(Bucket=bucket, Key='k')['ObjectLockMode'] == \
        'GOVERNANCE'
    s3.delete_object(Bucket=bucket, Key='k', VersionId=version,
                     BypassGovernanceRetention=True)
    for key, version in swift_versions(swift, bucket):
        s3.delete_object(Bucket=bucket, Key=key, VersionId=version)


# ------------------------------------------------------------ PutObject


def test_put_object_with_lock_headers(s3, locked_bucket):
    until = later(days=1).replace(microsecond=0)
    s3.put_object(Bucket=locked_bucket, Key='k', Body=b'data',
                  ObjectLockMode='GOVERNANCE',
                  ObjectLockRetainUntilDate=until,
                  ObjectLockLegalHoldStatus='ON')
    for answer in (s3.head_object(Bucket=locked_bucket, Key='k'),
                   s3.get_object(Bucket=locked_bucket, Key='k')):
        assert answer['ObjectLockMode'] == 'GOVERNANCE'
        assert answer['ObjectLockRetainUntilDate'] == until
        assert answer['ObjectLockLegalHoldStatus'] == 'ON'
    assert s3.get_object(Bucket=locked_bucket, Key='k')['Body'].read() == \
        b'data'


def test_put_object_gets_the_default_retention(s3, locked_bucket):
    s3.put_object(Bucket=locked_bucket, Key='plain', Body=b'x')
    head = s3.head_object(Bucket=locked_bucket, Key='plain')
    assert 'ObjectLockMode' not in head
    s3.put_object_lock_configuration(
        Bucket=locked_bucket, ObjectLockConfiguration={
            'ObjectLockEnabled': 'Enabled', 'Rule': {'DefaultRetention': {
                'Mode': 'GOVERNANCE', 'Days': 2}}})
    before = later(days=2)
    s3.put_object(Bucket=locked_bucket, Key='k', Body=b'x')
    head = s3.head_object(Bucket=locked_bucket, Key='k')
    assert head['ObjectLockMode'] == 'GOVERNANCE'
    assert before - datetime.timedelta(seconds=1) <= \
        head['ObjectLockRetainUntilDate'] <= later(days=2)
    # The request's own headers win over the default.
    until = later(days=5).replace(microsecond=0)
    s3.put_object(Bucket=locked_bucket, Key='k', Body=b'y',
                  ObjectLockMode='GOVERNANCE',
                  ObjectLockRetainUntilDate=until)
    assert s3.head_object(Bucket=locked_bucket, Key='k')[
        'ObjectLockRetainUntilDate'] == until


def test_put_object_lock_header_errors(cluster, s3, locked_bucket):
    put = s3.put_object
    assert error_of(put, Bucket=locked_bucket, Key='k', Body=b'x',
                    ObjectLockMode='GOVERNANCE') == ('InvalidArgument', 400)
    assert error_of(put, Bucket=locked_bucket, Key='k', Body=b'x',
                    ObjectLockRetainUntilDate=later(days=1)) == (
        'InvalidArgument', 400)
    assert error_of(put, Bucket=locked_bucket, Key='k', Body=b'x',
                    ObjectLockMode='GOVERNANCE',
                    ObjectLockRetainUntilDate=later(days=-1)) == (
        'InvalidArgument', 400)
    # A client that sends no checksum: S3 requires Content-MD5 or one.
    bare = make_s3_client(cluster,
                          request_checksum_calculation='when_required')
    assert error_of(bare.put_object, Bucket=locked_bucket, Key='k',
                    Body=b'x', ObjectLockLegalHoldStatus='ON') == (
        'InvalidRequest', 400)
    assert listed_keys(s3, locked_bucket) == []
    # Without a lock to apply, no checksum is required.
    bare.put_object(Bucket=locked_bucket, Key='k', Body=b'x')
    assert listed_keys(s3, locked_bucket) == ['k']


def listed_keys(s3, bucket):
    return [item['Key'] for item in s3.list_objects_v2(Bucket=bucket).get(
        'Contents', [])]


# ------------------------------------------------ retention, legal hold


def test_retention_and_hold_by_version(swift, s3, locked_bucket):
    first = s3.put_object(Bucket=locked_bucket, Key='k', Body=b'1')[
        'VersionId']
    second = s3.put_object(Bucket=locked_bucket, Key='k', Body=b'2')[
        'VersionId']
    assert error_of(s3.get_object_retention, Bucket=locked_bucket, Key='k',
                    VersionId=first) == ('NoSuchObjectLockConfiguration', 404)
    assert error_of(s3.get_object_legal_hold, Bucket=locked_bucket, Key='k',
                    VersionId=first) == ('NoSuchObjectLockConfiguration', 404)
    until = later(days=1).replace(microsecond=0)
    s3.put_object_retention(Bucket=locked_bucket, Key='k', VersionId=first,
                            Retention={'Mode': 'GOVERNANCE',
                                       'RetainUntilDate': until})
    s3.put_object_legal_hold(Bucket=locked_bucket, Key='k', VersionId=first,
                             LegalHold={'Status': 'ON'})
    assert s3.get_object_retention(Bucket=locked_bucket, Key='k',
                                   VersionId=first)['Retention'] == {
        'Mode': 'GOVERNANCE', 'RetainUntilDate': until}
    assert s3.get_object_legal_hold(Bucket=locked_bucket, Key='k',
                                    VersionId=first)['LegalHold'] == {
        'Status': 'ON'}
    # The current version is the second: untouched, and its data intact.
    assert error_of(s3.get_object_retention, Bucket=locked_bucket,
                    Key='k') == ('NoSuchObjectLockConfiguration', 404)
    s3.put_object_legal_hold(Bucket=locked_bucket, Key='k',
                             LegalHold={'Status': 'OFF'})
    assert s3.get_object_legal_hold(Bucket=locked_bucket, Key='k',
                                    VersionId=second)['LegalHold'] == {
        'Status': 'OFF'}
    assert s3.get_object(Bucket=locked_bucket, Key='k')['Body'].read() == \
        b'2'
    assert version_data(swift, locked_bucket, 'k', first) == b'1'


def test_retention_errors(s3, locked_bucket):
    version = s3.put_object(Bucket=locked_bucket, Key='k', Body=b'1')[
        'VersionId']
    assert error_of(s3.put_object_retention, Bucket=locked_bucket, Key='k',
                    Retention={'Mode': 'GOVERNANCE',
                               'RetainUntilDate': later(days=-1)}) == (
        'InvalidArgument', 400)
    assert error_of(s3.put_object_retention, Bucket=locked_bucket,
                    Key='nope', Retention={
                        'Mode': 'GOVERNANCE',
                        'RetainUntilDate': later(days=1)}) == (
        'NoSuchKey', 404)
    assert error_of(s3.get_object_retention, Bucket=locked_bucket, Key='k',
                    VersionId='1700000000.00000') == ('NoSuchVersion', 404)
    assert error_of(s3.put_object_legal_hold, Bucket=locked_bucket, Key='k',
                    VersionId=version, LegalHold={'Status': 'MAYBE'}) == (
        'MalformedXML', 400)


def test_compliance_is_never_shortened(s3):
    bucket = new_bucket(s3)
    until = later(days=1).replace(microsecond=0)
    version = s3.put_object(
        Bucket=bucket, Key='k', Body=b'x', ObjectLockMode='COMPLIANCE',
        ObjectLockRetainUntilDate=until)['VersionId']
    for retention in ({'Mode': 'COMPLIANCE',
                       'RetainUntilDate': until - datetime.timedelta(hours=1)},
                      {'Mode': 'GOVERNANCE', 'RetainUntilDate': until}):
        assert error_of(s3.put_object_retention, Bucket=bucket, Key='k',
                        VersionId=version, Retention=retention,
                        BypassGovernanceRetention=True) == (
            'AccessDenied', 403)
    longer = until + datetime.timedelta(hours=1)
    s3.put_object_retention(Bucket=bucket, Key='k', VersionId=version,
                            Retention={'Mode': 'COMPLIANCE',
                                       'RetainUntilDate': longer})
    assert s3.get_object_retention(Bucket=bucket, Key='k', VersionId=version)[
        'Retention']['RetainUntilDate'] == longer
    assert error_of(s3.delete_object, Bucket=bucket, Key='k',
                    VersionId=version, BypassGovernanceRetention=True) == (
        'AccessDenied', 403)


def test_governance_needs_the_bypass_and_the_owner(cluster, swift, s3,
                                                   locked_bucket):
    until = later(days=1).replace(microsecond=0)
    version = s3.put_object(
        Bucket=locked_bucket, Key='k', Body=b'x', ObjectLockMode='GOVERNANCE',
        ObjectLockRetainUntilDate=until)['VersionId']
    shorter = {'Mode': 'GOVERNANCE',
               'RetainUntilDate': until - datetime.timedelta(hours=1)}
    assert error_of(s3.put_object_retention, Bucket=locked_bucket, Key='k',
                    VersionId=version, Retention=shorter) == (
        'AccessDenied', 403)
    # tester3 may write the bucket, but is no owner of the account.
    status, _h, body = swift('POST', '/' + locked_bucket, {
        'X-Container-Read': 'test:tester3',
        'X-Container-Write': 'test:tester3'})
    assert status == 204, body
    other = make_s3_client(cluster, 'test:tester3')
    # (The current version: object_versioning reads a version by id for
    # the account's owners only.) It may lengthen, never shorten.
    longer = {'Mode': 'GOVERNANCE',
              'RetainUntilDate': until + datetime.timedelta(hours=1)}
    other.put_object_retention(Bucket=locked_bucket, Key='k',
                               Retention=longer)
    assert error_of(other.put_object_retention, Bucket=locked_bucket,
                    Key='k', Retention=shorter,
                    BypassGovernanceRetention=True) == ('AccessDenied', 403)
    assert s3.get_object_retention(
        Bucket=locked_bucket, Key='k', VersionId=version)['Retention'] == \
        longer
    s3.put_object_retention(Bucket=locked_bucket, Key='k', VersionId=version,
                            Retention=shorter, BypassGovernanceRetention=True)
    assert s3.get_object_retention(
        Bucket=locked_bucket, Key='k', VersionId=version)['Retention'] == \
        shorter
    s3.put_object_retention(Bucket=locked_bucket, Key='k', VersionId=version,
                            Retention={}, BypassGovernanceRetention=True)
    assert error_of(s3.get_object_retention, Bucket=locked_bucket, Key='k',
                    VersionId=version) == ('NoSuchObjectLockConfiguration',
                                           404)
    s3.delete_object(Bucket=locked_bucket, Key='k', VersionId=version)


# ------------------------------------------------------------ deletes


def test_locked_version_delete_refused_in_both_apis(swift, s3,
                                                    locked_bucket):
    until = later(days=1)
    version = s3.put_object(
        Bucket=locked_bucket, Key='k', Body=b'x', ObjectLockMode='GOVERNANCE',
        ObjectLockRetainUntilDate=until)['VersionId']
    assert error_of(s3.delete_object, Bucket=locked_bucket, Key='k',
                    VersionId=version) == ('AccessDenied', 403)
    status, _h, body = swift('DELETE', '/%s/k' % locked_bucket,
                             query='?version-id=' + version)
    assert status == 403 and b'locked' in body, (status, body)
    # Without a version: a delete marker, as in S3; the version stays.
    s3.delete_object(Bucket=locked_bucket, Key='k')
    assert error_of(s3.head_object, Bucket=locked_bucket, Key='k') == (
        '404', 404)
    assert version_data(swift, locked_bucket, 'k', version) == b'x'
    # A legal hold refuses even the owner's bypass.
    s3.put_object_legal_hold(Bucket=locked_bucket, Key='k', VersionId=version,
                             LegalHold={'Status': 'ON'})
    assert error_of(s3.delete_object, Bucket=locked_bucket, Key='k',
                    VersionId=version, BypassGovernanceRetention=True) == (
        'AccessDenied', 403)
    s3.put_object_legal_hold(Bucket=locked_bucket, Key='k', VersionId=version,
                             LegalHold={'Status': 'OFF'})
    s3.delete_object(Bucket=locked_bucket, Key='k', VersionId=version,
                     BypassGovernanceRetention=True)
    assert version not in [v for _k, v in swift_versions(swift,
                                                         locked_bucket)]


def test_swift_metadata_post_keeps_the_lock(swift, s3, locked_bucket):
    until = later(days=1).replace(microsecond=0)
    s3.put_object(Bucket=locked_bucket, Key='k', Body=b'x',
                  ObjectLockMode='GOVERNANCE', ObjectLockRetainUntilDate=until,
                  ObjectLockLegalHoldStatus='ON')
    status, _h, body = swift('POST', '/%s/k' % locked_bucket,
                             {'X-Object-Meta-Color': 'blue'})
    assert status == 202, body
    head = s3.head_object(Bucket=locked_bucket, Key='k')
    assert head['Metadata'] == {'color': 'blue'}
    assert (head['ObjectLockMode'], head['ObjectLockRetainUntilDate'],
            head['ObjectLockLegalHoldStatus']) == ('GOVERNANCE', until, 'ON')


def test_delete_objects_reports_locked_versions(s3, locked_bucket):
    held = s3.put_object(Bucket=locked_bucket, Key='held', Body=b'x',
                         ObjectLockLegalHoldStatus='ON')['VersionId']
    governed = s3.put_object(
        Bucket=locked_bucket, Key='governed', Body=b'x',
        ObjectLockMode='GOVERNANCE',
        ObjectLockRetainUntilDate=later(days=1))['VersionId']
    free = s3.put_object(Bucket=locked_bucket, Key='free', Body=b'x')[
        'VersionId']
    objects = [{'Key': 'held', 'VersionId': held},
               {'Key': 'governed', 'VersionId': governed},
               {'Key': 'free', 'VersionId': free}]
    result = s3.delete_objects(Bucket=locked_bucket,
                               Delete={'Objects': objects})
    assert sorted((e['Key'], e['VersionId'], e['Code'])
                  for e in result['Errors']) == [
        ('governed', governed, 'AccessDenied'),
        ('held', held, 'AccessDenied')]
    assert result['Deleted'] == [{'Key': 'free', 'VersionId': free}]
    result = s3.delete_objects(Bucket=locked_bucket, Delete={
        'Objects': objects[:2]}, BypassGovernanceRetention=True)
    assert [(e['Key'], e['Code']) for e in result['Errors']] == [
        ('held', 'AccessDenied')]
    assert result['Deleted'] == [{'Key': 'governed', 'VersionId': governed}]


def test_multipart_upload_gets_its_lock(s3, locked_bucket):
    until = later(days=1).replace(microsecond=0)
    upload = s3.create_multipart_upload(
        Bucket=locked_bucket, Key='mp', ObjectLockMode='GOVERNANCE',
        ObjectLockRetainUntilDate=until, ObjectLockLegalHoldStatus='ON')
    part = s3.upload_part(Bucket=locked_bucket, Key='mp', PartNumber=1,
                          UploadId=upload['UploadId'], Body=b'part')
    done = s3.complete_multipart_upload(
        Bucket=locked_bucket, Key='mp', UploadId=upload['UploadId'],
        MultipartUpload={'Parts': [{'PartNumber': 1,
                                    'ETag': part['ETag']}]})
    head = s3.head_object(Bucket=locked_bucket, Key='mp')
    assert (head['ObjectLockMode'], head['ObjectLockRetainUntilDate'],
            head['ObjectLockLegalHoldStatus']) == ('GOVERNANCE', until, 'ON')
    assert head['ETag'] == done['ETag']
    # The version behind it is a manifest: rewritten as one, it still
    # reads as the whole object.
    s3.put_object_legal_hold(Bucket=locked_bucket, Key='mp',
                             LegalHold={'Status': 'OFF'})
    got = s3.get_object(Bucket=locked_bucket, Key='mp')
    assert (got['ObjectLockLegalHoldStatus'], got['ETag'],
            got['Body'].read()) == ('OFF', done['ETag'], b'part')
    assert error_of(s3.create_multipart_upload, Bucket=locked_bucket,
                    Key='mp', ObjectLockMode='GOVERNANCE') == (
        'InvalidArgument', 400)


def test_versioning_of_a_locked_bucket_stays_on(swift, locked_bucket):
    status, _h, body = swift('POST', '/' + locked_bucket,
                             {'X-Versions-Enabled': 'false'})
    assert status == 409 and b'object lock' in body, (status, body)
    status, headers, _body = swift('HEAD', '/' + locked_bucket)
    assert headers.get('X-Versions-Enabled') == 'True'


def test_copy_takes_no_lock_from_its_source(s3, locked_bucket):
    s3.put_object(Bucket=locked_bucket, Key='src', Body=b'x',
                  ObjectLockMode='GOVERNANCE',
                  ObjectLockRetainUntilDate=later(days=1),
                  ObjectLockLegalHoldStatus='ON')
    s3.copy_object(Bucket=locked_bucket, Key='dst',
                   CopySource={'Bucket': locked_bucket, 'Key': 'src'})
    head = s3.head_object(Bucket=locked_bucket, Key='dst')
    assert 'ObjectLockMode' not in head
    assert 'ObjectLockLegalHoldStatus' not in head
    until = later(days=2).replace(microsecond=0)
    s3.copy_object(Bucket=locked_bucket, Key='dst2',
                   CopySource={'Bucket': locked_bucket, 'Key': 'src'},
                   ObjectLockMode='GOVERNANCE',
                   ObjectLockRetainUntilDate=until)
    head = s3.head_object(Bucket=locked_bucket, Key='dst2')
    assert (head['ObjectLockMode'], head['ObjectLockRetainUntilDate']) == (
        'GOVERNANCE', until)
