"""A fresh real cluster per probe module (no long-running daemons: the
tests run them with --once)."""

import pytest

from tests.helpers import RunningCluster


@pytest.fixture(scope='module')
def cluster():
    test_cluster = RunningCluster(devices=4, replicas=3, daemons=False)
    yield test_cluster
    test_cluster.close()
