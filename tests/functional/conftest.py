"""The cluster the functional tests talk to: the running objstore-aio
whose data dir ``OBJSTORE_TEST_CLUSTER`` names, else one real cluster
started here, the aio way. Tests that stop nodes ask for ``own_cluster``,
always one started here."""

import os

import pytest

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
