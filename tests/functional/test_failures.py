"""Node failures on the multi-process cluster (4 devices, 3 replicas).

* One object server down (each in turn): every PUT, GET and DELETE
  succeeds (handoffs stand in for the missing primary).
* Two object servers down: with four devices the fourth device is a
  handoff, so a quorum (2) is still reachable and PUTs succeed.
* Three down: only one node per object is left, so PUTs answer 503.
  Across all of it, nothing that answered 201 is missing once the nodes
  are back.
"""

import uuid

import pytest
from swiftclient.client import ClientException, Connection

OBJECTS_PER_ROUND = 12


@pytest.fixture(scope='session')
def cluster(own_cluster):
    """Stopping nodes needs a cluster these tests started."""
    return own_cluster


@pytest.fixture
def conn(cluster):
    return Connection(cluster.auth_url, 'test:tester',
                      cluster.users['test:tester'], retries=0, timeout=30)


@pytest.fixture
def container(conn):
    name = 'fail-' + uuid.uuid4().hex[:8]
    conn.put_container(name)
    return name


class Outage:
    """Object servers stopped for a block; always restarted."""

    def __init__(self, cluster, nodes):
        self.cluster = cluster
        self.nodes = nodes

    def __enter__(self):
        for node in self.nodes:
            self.cluster.stop_node('object', node)
        return self

    def __exit__(self, *exc):
        for node in self.nodes:
            self.cluster.start_node('object', node)


def put_status(conn, container, name, body):
    try:
        conn.put_object(container, name, body)
        return 201
    except ClientException as err:
        return err.http_status


def test_one_node_down_everything_succeeds(cluster, conn, container):
    failures = []
    for down in range(4):
        with Outage(cluster, [down]):
            for index in range(OBJECTS_PER_ROUND):
                name = 'n%d-o%d' % (down, index)
                body = name.encode() * 100
                try:
                    conn.put_object(container, name, body)
                    assert conn.get_object(container, name)[1] == body
                    conn.delete_object(container, name)
                except ClientException as err:
                    failures.append((name, err.http_status))
    assert failures == []


def test_two_down_still_writes_three_down_refuses_no_loss(cluster, conn,
                                                          container):
    acknowledged = {}
    statuses = []
    with Outage(cluster, [0, 1]):
        for index in range(OBJECTS_PER_ROUND):
            name = 'two-%d' % index
            status = put_status(conn, container, name, name.encode())
            statuses.append(status)
            if status == 201:
                acknowledged[name] = name.encode()
    assert statuses == [201] * OBJECTS_PER_ROUND
    with Outage(cluster, [0, 1, 2]):
        refused = []
        for index in range(OBJECTS_PER_ROUND):
            name = 'three-%d' % index
            status = put_status(conn, container, name, name.encode())
            if status == 201:
                acknowledged[name] = name.encode()
            else:
                refused.append(status)
        assert refused == [503] * OBJECTS_PER_ROUND
    missing = []
    for name, body in acknowledged.items():
        try:
            if conn.get_object(container, name)[1] != body:
                missing.append(name)
        except ClientException:
            missing.append(name)
    assert missing == []
