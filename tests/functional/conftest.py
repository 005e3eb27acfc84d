"""The cluster the functional tests talk to: the running objstore-aio
whose data dir ``OBJSTORE_TEST_CLUSTER`` names, else one real cluster
started here, the aio way. Tests that stop nodes ask for ``own_cluster``,
always one started here."""

import os
import uuid

import boto3
import pytest
from botocore.config import Config

from objstore.common.exceptions import ConfigError
from tests.helpers import CLUSTER_ENV, ExistingCluster, RunningCluster


@pytest.fixture(scope='session')
def own_cluster():
    test_cluster = RunningCluster(devices=4, replicas=3)
    yield test_cluster
    test_cluster.close()


@pytest.fixture(scope='session')
def cluster(request):
    data_dir = os.environ.get(CLUSTER_ENV)
    if not data_dir:
        return request.getfixturevalue('own_cluster')
    try:
        return ExistingCluster(data_dir)
    except ConfigError as err:
        pytest.exit(str(err), returncode=pytest.ExitCode.USAGE_ERROR)


def make_s3_client(cluster, user='test:tester', secret=None, **config):
    """A boto3 S3 client of ``user`` with boto3's default settings (and
    ``config``, a botocore Config's options, when given)."""
    return boto3.client(
        's3', endpoint_url=cluster.proxy_url, aws_access_key_id=user,
        aws_secret_access_key=secret or cluster.users[user],
        region_name='us-east-1', config=Config(**config) if config else None)


@pytest.fixture
def s3(cluster):
    return make_s3_client(cluster)


@pytest.fixture
def bucket(s3):
    """A fresh bucket of test:tester, emptied and removed afterwards."""
    name = 's3t-' + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator('list_objects_v2').paginate(Bucket=name):
        for item in page.get('Contents', []):
            s3.delete_object(Bucket=name, Key=item['Key'])
    s3.delete_bucket(Bucket=name)


def all_versions(s3, bucket, **kwargs):
    """(versions, delete markers) of the bucket, every page."""
    versions, markers = [], []
    for page in s3.get_paginator('list_object_versions').paginate(
            Bucket=bucket, **kwargs):
        versions += page.get('Versions', [])
        markers += page.get('DeleteMarkers', [])
    return versions, markers


def empty_bucket(s3, name):
    versions, markers = all_versions(s3, name)
    for item in versions + markers:
        s3.delete_object(Bucket=name, Key=item['Key'],
                         VersionId=item['VersionId'])


def new_bucket(s3, status=None):
    name = 's3v-' + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name)
    if status:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={
            'Status': status})
    return name


@pytest.fixture
def versioned(s3):
    """A bucket with versioning Enabled, emptied of every version and
    removed afterwards."""
    name = new_bucket(s3, 'Enabled')
    yield name
    empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)
