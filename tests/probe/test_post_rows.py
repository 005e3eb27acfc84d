"""An object POST that changes Content-Type reaches every container
replica on a real aio cluster (4 nodes, 3 replicas, daemons --once),
whatever order its row update and older ones arrive in.

A container node is down during the POST: it keeps the PUT's row while
its peers take the POST's; a stale update of an older PUT then reaches a
peer after the POST's. One container-replicator pass and one
object-updater pass later, every replica lists the POST's content type
with the PUT's size and ETag and the POST's time.
"""

import hashlib
import json
from urllib.parse import urlparse

from swiftclient import client as swift

from objstore.common.timestamp import Timestamp
from tests.helpers import direct_to, node_of

CONTAINER = 'ctprobe'
USER = 'test:tester'
BODY = b'hello world'


def replica_row(dev, part, account):
    status, headers, body = direct_to(
        dev, 'GET', '/%s/%d/%s/%s' % (dev['device'], part, account,
                                      CONTAINER), query='format=json')
    assert status == 200, (dev['device'], status)
    [item] = json.loads(body)
    return item, headers['x-container-bytes-used']


def test_post_content_type_converges_on_every_replica(cluster):
    conn = swift.Connection(cluster.auth_url, USER, cluster.users[USER],
                            retries=0)
    account = urlparse(conn.get_auth()[0]).path.rsplit('/', 1)[-1]
    conn.put_container(CONTAINER)
    put_time = Timestamp.now()
    conn.put_object(CONTAINER, 'o', BODY, content_type='a/b')
    cpart, cnodes = cluster.ring('container').get_nodes(account, CONTAINER)
    down = node_of(cnodes[1])
    cluster.stop_node('container', down)
    try:
        conn.post_object(CONTAINER, 'o', {'Content-Type': 'text/x-new'})
    finally:
        cluster.start_node('container', down)
    assert replica_row(cnodes[1], cpart, account)[0]['content_type'] == \
        'a/b'
    # An update of a PUT older than the object's, arriving late.
    status, _headers, _body = direct_to(
        cnodes[0], 'PUT', '/%s/%d/%s/%s/o' % (
            cnodes[0]['device'], cpart, account, CONTAINER), headers={
            'X-Timestamp': Timestamp(float(put_time) - 60).internal,
            'X-Size': '3', 'X-Etag': 'stale', 'X-Content-Type': 'old/type',
            'X-Backend-Storage-Policy-Index': '0'})
    assert status == 201

    cluster.run_daemon('container-replicator')
    cluster.run_daemon('object-updater')

    rows = [replica_row(dev, cpart, account) for dev in cnodes]
    for item, used in rows:
        assert item['content_type'] == 'text/x-new'
        assert (item['bytes'], item['hash']) == (
            len(BODY), hashlib.md5(BODY).hexdigest())
        assert used == str(len(BODY))
    assert len({item['last_modified'] for item, _used in rows}) == 1
    assert conn.head_object(CONTAINER, 'o')['content-type'] == 'text/x-new'
