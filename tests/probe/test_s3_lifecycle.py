"""S3 lifecycle rules fire end to end: rules put with boto3, the real
``objstore-s3-lifecycle`` daemon run ``--once`` against the probe cluster
with its day shortened to seconds through its config file, and the
effects seen through the S3 and Swift APIs."""

import json
import os
import subprocess
import sys
import uuid

import boto3
import pytest
import swiftclient.client as swiftclient

from tests.helpers import (
    DAEMON_TIMEOUT, RunningCluster, direct_to, proxy_request, wait_for)

DAY_SECONDS = 2
USER = 'test:tester'


def s3_client(cluster):
    return boto3.client(
        's3', endpoint_url=cluster.proxy_url, aws_access_key_id=USER,
        aws_secret_access_key=cluster.users[USER], region_name='us-east-1')


@pytest.fixture(scope='module')
def s3(cluster):
    return s3_client(cluster)


@pytest.fixture(scope='module')
def lifecycle_conf(cluster, tmp_path_factory):
    """The aio's own s3-lifecycle.conf with a day of DAY_SECONDS."""
    with open(cluster.aio.dirs.s3_lifecycle_conf, encoding='utf-8') as src:
        text = src.read()
    assert 'day_seconds = 86400' in text
    path = tmp_path_factory.mktemp('s3lc') / 's3-lifecycle.conf'
    path.write_text(text.replace('day_seconds = 86400',
                                 'day_seconds = %d' % DAY_SECONDS))
    return str(path)


def run_daemon_once(conf):
    script = os.path.join(os.path.dirname(sys.executable),
                          'objstore-s3-lifecycle')
    result = subprocess.run([script, conf, '--once'], capture_output=True,
                            timeout=DAEMON_TIMEOUT)
    assert result.returncode == 0, result.stderr.decode()
    return result


def new_bucket(s3):
    name = 's3lc-' + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name)
    return name


def keys(s3, bucket):
    return sorted(item['Key'] for item in s3.list_objects_v2(
        Bucket=bucket).get('Contents', []))


def upload_keys(s3, bucket):
    return sorted(item['Key'] for item in s3.list_multipart_uploads(
        Bucket=bucket).get('Uploads', []))


def versions(cluster, bucket):
    """{key: [(version id, is_latest, is delete marker)]} via Swift."""
    status, body = proxy_request(cluster, USER, 'GET',
                                 '/%s?versions&format=json' % bucket)
    assert status == 200, body
    found = {}
    for entry in json.loads(body):
        found.setdefault(entry['name'], []).append((
            entry['version_id'], entry['is_latest'],
            entry['content_type'].startswith('application/x-deleted')))
    return found


def enable_versioning(cluster, bucket):
    url, token = cluster.get_token(USER)
    swiftclient.post_container(url, token, bucket,
                               {'X-Versions-Enabled': 'true'})


def test_rules_fire(cluster, s3, lifecycle_conf):
    plain = new_bucket(s3)
    for key in ('logs/a', 'logs/b', 'keep/c'):
        s3.put_object(Bucket=plain, Key=key, Body=b'data of ' + key.encode())
    expiring = s3.create_multipart_upload(Bucket=plain, Key='up/big')
    s3.upload_part(Bucket=plain, Key='up/big', PartNumber=1,
                   UploadId=expiring['UploadId'], Body=b'part')
    s3.create_multipart_upload(Bucket=plain, Key='other/big')
    s3.put_bucket_lifecycle_configuration(
        Bucket=plain, LifecycleConfiguration={'Rules': [
            {'ID': 'logs', 'Status': 'Enabled',
             'Filter': {'Prefix': 'logs/'}, 'Expiration': {'Days': 1}},
            {'ID': 'uploads', 'Status': 'Enabled',
             'Filter': {'Prefix': 'up/'},
             'AbortIncompleteMultipartUpload': {'DaysAfterInitiation': 1}},
            {'ID': 'off', 'Status': 'Disabled',
             'Filter': {'Prefix': 'keep/'}, 'Expiration': {'Days': 1}}]})

    versioned = new_bucket(s3)
    enable_versioning(cluster, versioned)
    for body in (b'one', b'two', b'three'):
        s3.put_object(Bucket=versioned, Key='doc', Body=body)
    s3.put_object(Bucket=versioned, Key='gone', Body=b'soon deleted')
    status, _ = proxy_request(cluster, USER, 'DELETE',
                              '/%s/gone' % versioned)
    assert status == 204
    before = versions(cluster, versioned)
    assert len(before['doc']) == 3 and len(before['gone']) == 2
    s3.put_bucket_lifecycle_configuration(
        Bucket=versioned, LifecycleConfiguration={'Rules': [
            {'ID': 'history', 'Status': 'Enabled', 'Filter': {},
             'NoncurrentVersionExpiration': {'NoncurrentDays': 1},
             'Expiration': {'ExpiredObjectDeleteMarker': True}}]})

    def fired():
        run_daemon_once(lifecycle_conf)
        left = versions(cluster, versioned)
        return keys(s3, plain) == ['keep/c'] and \
            upload_keys(s3, plain) == ['other/big'] and \
            len(left.get('doc', [])) == 1 and 'gone' not in left

    assert wait_for(fired, timeout=90, interval=0.5)
    # The current version stays, and it is the newest one.
    [(_version, latest, marker)] = versions(cluster, versioned)['doc']
    assert latest and not marker
    assert s3.get_object(Bucket=versioned, Key='doc')['Body'].read() == \
        b'three'
    assert s3.get_object(Bucket=plain, Key='keep/c')['Body'].read() == \
        b'data of keep/c'
    # The aborted upload's part went with it; the other upload's marker
    # stays.
    status, body = proxy_request(cluster, USER, 'GET',
                                 '/%s+segments?format=json' % plain)
    assert status == 200
    assert [entry['name'].split('/')[0] for entry in json.loads(body)] == [
        'other']


def test_deleted_bucket_leaves_the_registry(cluster, s3, lifecycle_conf):
    bucket = new_bucket(s3)
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={'Rules': [
            {'ID': 'x', 'Status': 'Enabled', 'Filter': {'Prefix': 'p/'},
             'Expiration': {'Days': 1}}]})
    assert wait_for(lambda: bucket in registered(cluster))
    s3.delete_bucket(Bucket=bucket)
    assert wait_for(lambda: bucket not in registered(cluster))


def registered(cluster):
    """The buckets in the lifecycle registry (``.s3-lifecycle/buckets``),
    read from every container server that holds it."""
    part, nodes = cluster.ring('container').get_nodes('.s3-lifecycle',
                                                      'buckets')
    names = set()
    for node in nodes:
        status, _headers, body = direct_to(
            node, 'GET', '/%s/%d/.s3-lifecycle/buckets' % (
                node['device'], part), query='format=json')
        if status == 200:
            names.update(entry['name'].split('/', 1)[1]
                         for entry in json.loads(body))
    return names


def test_the_aio_runs_the_daemon():
    """objstore-aio starts one lifecycle daemon with its own config (a
    real day, a short interval): a rule whose Date has passed fires on
    its own, with no --once run from the test."""
    small = RunningCluster(devices=1, replicas=1, daemons=True)
    try:
        small.aio.start_all_daemons()
        s3 = s3_client(small)
        bucket = new_bucket(s3)
        for key in ('old/a', 'new/b'):
            s3.put_object(Bucket=bucket, Key=key, Body=b'x')
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={'Rules': [
                {'ID': 'past', 'Status': 'Enabled',
                 'Filter': {'Prefix': 'old/'},
                 'Expiration': {'Date': '2020-01-01T00:00:00Z'}}]})
        assert wait_for(lambda: keys(s3, bucket) == ['new/b'], timeout=90,
                        interval=1)
    finally:
        small.close()
