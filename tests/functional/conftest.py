"""One real cluster for the functional tests, started the aio way."""

import pytest

from tests.helpers import RunningCluster


@pytest.fixture(scope='session')
def cluster():
    test_cluster = RunningCluster(devices=4, replicas=3)
    yield test_cluster
    test_cluster.close()
