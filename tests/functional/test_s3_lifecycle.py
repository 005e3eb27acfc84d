"""S3 bucket lifecycle configuration through boto3 (default settings):
Put/Get/DeleteBucketLifecycleConfiguration, what S3 refuses and with
which error. The daemon that applies the rules is probed in
tests/probe/test_s3_lifecycle.py."""

import datetime

import pytest
from botocore.exceptions import ClientError

from tests.functional.conftest import make_s3_client


def error_of(call, *args, **kwargs):
    """(code, HTTP status, message) of the ClientError ``call`` raises."""
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    err = caught.value.response
    return (err['Error']['Code'], err['ResponseMetadata']['HTTPStatusCode'],
            err['Error'].get('Message'))


def rule(**fields):
    base = {'ID': 'r1', 'Status': 'Enabled', 'Filter': {'Prefix': 'logs/'},
            'Expiration': {'Days': 3}}
    base.update(fields)
    return base


def put(s3, bucket, *rules):
    return s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={'Rules': list(rules)})


def test_no_configuration_is_404(s3, bucket):
    code, status, message = error_of(
        s3.get_bucket_lifecycle_configuration, Bucket=bucket)
    assert (code, status) == ('NoSuchLifecycleConfiguration', 404)
    assert message == 'The lifecycle configuration does not exist'


def test_put_get_round_trip(s3, bucket):
    rules = [
        rule(),
        {'ID': 'tagged', 'Status': 'Disabled',
         'Filter': {'And': {'Prefix': 'a/', 'Tags': [
             {'Key': 'k', 'Value': 'v'}, {'Key': 'k2', 'Value': ''}],
             'ObjectSizeGreaterThan': 10, 'ObjectSizeLessThan': 1000}},
         'Expiration': {'Date': datetime.datetime(
             2030, 1, 1, tzinfo=datetime.timezone.utc)}},
        {'ID': 'versions', 'Status': 'Enabled', 'Filter': {},
         'NoncurrentVersionExpiration': {'NoncurrentDays': 2,
                                         'NewerNoncurrentVersions': 3},
         'Expiration': {'ExpiredObjectDeleteMarker': True},
         'AbortIncompleteMultipartUpload': {'DaysAfterInitiation': 1}},
        {'ID': 'sized', 'Status': 'Enabled',
         'Filter': {'ObjectSizeGreaterThan': 5},
         'Expiration': {'Days': 1}},
    ]
    put(s3, bucket, *rules)
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)['Rules']
    assert [r['ID'] for r in got] == ['r1', 'tagged', 'versions', 'sized']
    assert got[0]['Filter'] == {'Prefix': 'logs/'}
    assert got[0]['Expiration'] == {'Days': 3}
    assert got[1]['Status'] == 'Disabled'
    assert got[1]['Filter']['And']['Tags'] == [
        {'Key': 'k', 'Value': 'v'}, {'Key': 'k2', 'Value': ''}]
    assert got[1]['Filter']['And']['ObjectSizeLessThan'] == 1000
    assert got[1]['Expiration']['Date'].year == 2030
    assert got[2]['NoncurrentVersionExpiration'] == {
        'NoncurrentDays': 2, 'NewerNoncurrentVersions': 3}
    assert got[2]['Expiration'] == {'ExpiredObjectDeleteMarker': True}
    assert got[2]['AbortIncompleteMultipartUpload'] == {
        'DaysAfterInitiation': 1}
    assert got[3]['Filter'] == {'ObjectSizeGreaterThan': 5}


def test_a_rule_without_id_gets_one(s3, bucket):
    unnamed = rule()
    del unnamed['ID']
    put(s3, bucket, unnamed, rule(ID='named'))
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)['Rules']
    assert got[0]['ID'] and got[0]['ID'] != 'named'
    assert got[1]['ID'] == 'named'


def test_legacy_prefix_round_trip(s3, bucket):
    put(s3, bucket, {'ID': 'old', 'Status': 'Enabled', 'Prefix': 'tmp/',
                     'Expiration': {'Days': 1}})
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)['Rules']
    assert got[0]['Prefix'] == 'tmp/' and 'Filter' not in got[0]


def test_put_replaces_and_delete_removes(s3, bucket):
    put(s3, bucket, rule())
    put(s3, bucket, rule(ID='second'))
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)['Rules']
    assert [r['ID'] for r in got] == ['second']
    resp = s3.delete_bucket_lifecycle(Bucket=bucket)
    assert resp['ResponseMetadata']['HTTPStatusCode'] == 204
    assert error_of(s3.get_bucket_lifecycle_configuration,
                    Bucket=bucket)[:2] == ('NoSuchLifecycleConfiguration',
                                           404)
    # Deleting what is not there is still a success, as in S3.
    s3.delete_bucket_lifecycle(Bucket=bucket)


@pytest.mark.parametrize('bad, code, message', [
    (rule(Expiration={'Days': 0}), 'InvalidArgument',
     "'Days' for Expiration action must be a positive integer"),
    (rule(Expiration={'Days': -2}), 'InvalidArgument',
     "'Days' for Expiration action must be a positive integer"),
    (rule(Expiration={'Date': datetime.datetime(
        2030, 1, 1, 12, tzinfo=datetime.timezone.utc)}), 'InvalidArgument',
     "'Date' must be at midnight GMT"),
    (rule(ID='x' * 256), 'InvalidArgument',
     'ID length should not exceed allowed limit of 255'),
    (rule(Expiration={}, NoncurrentVersionExpiration={'NoncurrentDays': 0}),
     'InvalidArgument', "'NoncurrentDays' for NoncurrentVersionExpiration "
     "action must be a positive integer"),
    (rule(AbortIncompleteMultipartUpload={'DaysAfterInitiation': 0}),
     'InvalidArgument', "'DaysAfterInitiation' for "
     "AbortIncompleteMultipartUpload action must be a positive integer"),
])
def test_invalid_values(s3, bucket, bad, code, message):
    if bad.get('Expiration') == {}:
        del bad['Expiration']
    assert error_of(put, s3, bucket, bad) == (code, 400, message)


def test_duplicate_ids(s3, bucket):
    assert error_of(put, s3, bucket, rule(), rule()) == (
        'InvalidArgument', 400, 'Rule ID must be unique. Found same ID for '
        'more than one rule')


def test_at_most_1000_rules(s3, bucket):
    rules = [rule(ID='r%d' % n, Filter={'Prefix': 'p%d/' % n})
             for n in range(1001)]
    code, status, _message = error_of(put, s3, bucket, *rules)
    assert (code, status) == ('InvalidArgument', 400)


def test_rule_without_action(s3, bucket):
    bad = rule()
    del bad['Expiration']
    assert error_of(put, s3, bucket, bad)[:2] == ('InvalidRequest', 400)


def test_delete_marker_expiry_with_tags_refused(s3, bucket):
    bad = rule(Filter={'Tag': {'Key': 'k', 'Value': 'v'}},
               Expiration={'ExpiredObjectDeleteMarker': True})
    assert error_of(put, s3, bucket, bad)[:2] == ('InvalidRequest', 400)


def test_malformed_documents(s3, bucket):
    assert error_of(put, s3, bucket, rule(Status='Maybe'))[:2] == (
        'MalformedXML', 400)
    # Days and Date together.
    both = rule(Expiration={'Days': 1, 'Date': datetime.datetime(
        2030, 1, 1, tzinfo=datetime.timezone.utc)})
    assert error_of(put, s3, bucket, both)[:2] == ('MalformedXML', 400)
    # A Filter and the legacy Prefix together.
    assert error_of(put, s3, bucket, rule(Prefix='x'))[:2] == (
        'MalformedXML', 400)


def test_raw_bodies(cluster, bucket):
    """Bodies boto3 would not build: not XML, the wrong root, no rule."""
    s3 = make_s3_client(cluster)
    for body in (b'not xml', b'<Other/>',
                 b'<LifecycleConfiguration></LifecycleConfiguration>'):
        def send(request, **_kwargs):
            request.data = body
            for name in list(request.headers.keys()):
                if name.lower() == 'content-md5' or \
                        name.lower().startswith('x-amz-checksum-'):
                    del request.headers[name]
        s3.meta.events.register_first(
            'before-sign.s3.PutBucketLifecycleConfiguration', send)
        assert error_of(put, s3, bucket, rule())[:2] == ('MalformedXML', 400)
        s3.meta.events.unregister(
            'before-sign.s3.PutBucketLifecycleConfiguration', send)


def test_no_such_bucket(s3):
    assert error_of(put, s3, 's3t-no-such-bucket-lc', rule())[:2] == (
        'NoSuchBucket', 404)
    assert error_of(s3.get_bucket_lifecycle_configuration,
                    Bucket='s3t-no-such-bucket-lc')[:2] == (
        'NoSuchBucket', 404)


def test_other_account_cannot_touch(cluster, s3, bucket):
    put(s3, bucket, rule())
    other = make_s3_client(cluster, 'test:tester3')
    assert error_of(put, other, bucket, rule(ID='mine'))[:2] == (
        'AccessDenied', 403)
    assert error_of(other.delete_bucket_lifecycle, Bucket=bucket)[:2] == (
        'AccessDenied', 403)
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)['Rules']
    assert [r['ID'] for r in got] == ['r1']
