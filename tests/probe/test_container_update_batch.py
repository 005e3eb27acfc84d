"""Batched container updates survive a container server killed mid-stream.

16 clients PUT objects into one container while one of its container
servers is SIGKILLed and later restarted. Object servers coalesce the
updates in flight to one container into UPDATE batches (common.row_update)
and keep what a dead server did not take as async pendings; after one
object-updater pass every acknowledged object is listed, and counted, on
every container replica.
"""

import concurrent.futures
import glob
import json
import os
import signal
import threading
import time

from objstore.common.backend_client import direct_request
from tests.helpers import node_of
from tests.probe.test_object_consistency import (
    account_of, listing, proxy_request, put_many)

OBJECTS = 600
CONTAINER = 'batched'


def container_replica(dev, part, account):
    """(object count, listed names) of one container server's replica."""
    path = '/%s/%d/%s/%s' % (dev['device'], part, account, CONTAINER)
    status, headers, body = direct_request(
        dev['ip'], dev['port'], 'GET', path, {}, query='format=json',
        node_timeout=10)
    assert status == 200, (dev['device'], status)
    return (int(headers['x-container-object-count']),
            [item['name'] for item in json.loads(body)])


def async_pendings(cluster):
    return sum(len(files) for node in range(cluster.nodes)
               for _dir, _subdirs, files in os.walk(os.path.join(
                   cluster.device_path(node), 'async_pending')))


def update_lines(cluster, verb):
    """Access lines of ``verb`` requests in the container servers' logs."""
    count = 0
    for path in glob.glob(os.path.join(cluster.aio.dirs.logs,
                                       'container-server-*.log')):
        with open(path, errors='replace') as log:
            count += sum(1 for line in log if verb in line)
    return count


def test_every_acknowledged_put_is_listed_after_a_container_server_dies(
        cluster):
    account = account_of(cluster)
    assert proxy_request(cluster, 'PUT', '/' + CONTAINER)[0] in (201, 202)
    part, primaries = cluster.ring('container').get_nodes(account, CONTAINER)
    victim = 'container-server-%d' % node_of(primaries[0])
    names = ['obj-%04d' % i for i in range(OBJECTS)]
    killed = threading.Event()

    def kill_mid_stream():
        # Wait until updates are flowing, then kill without warning.
        time.sleep(1.0)
        cluster.aio.supervisor.hold(victim, signal.SIGKILL)
        killed.set()

    with concurrent.futures.ThreadPoolExecutor(1) as killer:
        kill = killer.submit(kill_mid_stream)
        statuses = put_many(cluster, CONTAINER, names, lambda n: b'')
        kill.result()
    assert killed.is_set()
    assert set(statuses) == {201}
    cluster.aio.start_node('container', node_of(primaries[0]))
    # The dead server's updates were kept for the updater.
    assert async_pendings(cluster) > 0

    cluster.run_daemon('object-updater')
    assert async_pendings(cluster) == 0

    for dev in primaries:
        count, listed = container_replica(dev, part, account)
        assert (count, listed) == (OBJECTS, names), dev['device']
    assert listing(cluster, CONTAINER) == names
    assert update_lines(cluster, '"UPDATE /') > 0
