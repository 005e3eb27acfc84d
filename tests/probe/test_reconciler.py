"""A split-brained container is reconciled on a real aio cluster.

One container primary creates the container in ``silver`` (policy 1)
first; the two others, cut off from it, create it later in Policy-0 and
take object writes there. Objects and container rows are written straight
to the storage servers (no proxy), as the partitioned proxies would have.
After the container-replicator every replica holds silver (created
first), and after the container-reconciler (``--once`` on every node;
one object was moved by a reconciler that crashed before fixing its row)
every object reads through the proxy with its newest content, the
misplaced copies are tombstones in Policy-0, no replica keeps a misplaced
row, and a second reconciler pass changes nothing. A reconciler run
before the replicas agree moves nothing.
"""

import hashlib
import os
import time
from collections import Counter
from urllib.parse import quote, urlparse

from objstore.common.backend_client import direct_request
from objstore.common.daemon import read_status_file
from objstore.common.db_layout import db_path
from objstore.common.hashing import hash_path
from objstore.common.timestamp import Timestamp
from objstore.container.backend import ContainerBroker
from tests.helpers import direct_to, node_of, proxy_request

USER = 'test:tester'
CONTAINER = 'splitbrain'
WINNER, LOSER = 1, 0
RINGS = {0: 'object', 1: 'object-1'}
POLICY = 'X-Backend-Storage-Policy-Index'


def account_of(cluster):
    return urlparse(cluster.get_token(USER)[0]).path.rsplit('/', 1)[-1]


class SplitBrain:
    """Backend writes for one account's CONTAINER, as partitioned proxies
    would send them."""

    def __init__(self, cluster, account):
        self.cluster = cluster
        self.account = account
        self.cpart, self.cnodes = cluster.ring('container').get_nodes(
            account, CONTAINER)

    def create_container(self, nodes, policy, timestamp):
        for dev in nodes:
            status, _h, body = direct_to(
                dev, 'PUT', '/%s/%d/%s/%s' % (dev['device'], self.cpart,
                                               self.account, CONTAINER),
                {'X-Timestamp': timestamp.internal, POLICY: str(policy)})
            assert status == 201, (status, body)

    def object_nodes(self, policy, obj):
        return self.cluster.ring(RINGS[policy]).get_nodes(
            self.account, CONTAINER, obj)

    def put_object(self, policy, obj, body, timestamp, row_nodes):
        part, nodes = self.object_nodes(policy, obj)
        for dev in nodes:
            status, _h, _b = direct_request(
                dev['ip'], dev['port'], 'PUT', self._opath(dev, part, obj),
                {'X-Timestamp': timestamp.internal, POLICY: str(policy),
                 'Content-Type': 'text/plain',
                 'Content-Length': str(len(body)), 'X-Object-Meta-Tag': obj},
                body=body, conn_timeout=5, node_timeout=30)
            assert status == 201, status
        self._rows(row_nodes, 'PUT', obj, policy, {
            'X-Timestamp': timestamp.internal, 'X-Size': str(len(body)),
            'X-Content-Type': 'text/plain',
            'X-Etag': hashlib.md5(body).hexdigest()})

    def delete_object(self, policy, obj, timestamp, row_nodes):
        part, nodes = self.object_nodes(policy, obj)
        for dev in nodes:
            status, _h, _b = direct_to(
                dev, 'DELETE', self._opath(dev, part, obj),
                {'X-Timestamp': timestamp.internal, POLICY: str(policy)})
            assert status in (204, 404), status
        self._rows(row_nodes, 'DELETE', obj, policy,
                   {'X-Timestamp': timestamp.internal})

    def _rows(self, row_nodes, method, obj, policy, headers):
        for dev in row_nodes:
            status, _h, body = direct_to(
                dev, method, '/%s/%d/%s/%s/%s' % (
                    dev['device'], self.cpart, self.account, CONTAINER,
                    quote(obj)), dict(headers, **{POLICY: str(policy)}))
            assert status in (201, 204), (status, body)

    def _opath(self, dev, part, obj):
        return '/%s/%d/%s/%s/%s' % (dev['device'], part, self.account,
                                    CONTAINER, quote(obj))

    def object_answers(self, policy, obj):
        part, nodes = self.object_nodes(policy, obj)
        return [direct_to(dev, 'GET', self._opath(dev, part, obj),
                          {POLICY: str(policy)}) for dev in nodes]

    def replica_policies(self):
        return [direct_to(dev, 'HEAD', '/%s/%d/%s/%s' % (
            dev['device'], self.cpart, self.account, CONTAINER))[1][
                POLICY.lower()] for dev in self.cnodes]

    def misplaced_rows(self):
        name_hash = hash_path(self.account, CONTAINER,
                              hash_conf=self.cluster.hash_conf)
        found = []
        for dev in self.cnodes:
            broker = ContainerBroker(db_path(
                self.cluster.device_path(node_of(dev)), 'container',
                self.cpart, name_hash))
            try:
                found.extend(row['name'] for row in
                             broker.get_misplaced_rows())
            finally:
                broker.close()
        return found


def pass_counts(cluster):
    """The counts of the last reconciler pass, summed over the nodes."""
    total = Counter()
    for node in range(cluster.nodes):
        record = read_status_file(cluster.aio.dirs.recon_cache(node),
                                  'container-reconciler', 'd%d' % node)
        total.update(record['counts'] if record else {})
    return total


def object_files(cluster):
    """Every file under every node's objects dirs (both policies)."""
    found = set()
    for node in range(cluster.nodes):
        root = cluster.device_path(node)
        for top in ('objects', 'objects-1'):
            for dirpath, _dirs, files in os.walk(os.path.join(root, top)):
                found.update(os.path.join(dirpath, name) for name in files
                             if not name.endswith('.json'))
    return found


def test_split_brain_container_converges_and_objects_move(cluster):
    # The proxy creates the account; the split container is made below it.
    assert proxy_request(cluster, USER, 'PUT', '/other')[0] in (201, 202)
    brain = SplitBrain(cluster, account_of(cluster))
    minority, majority = brain.cnodes[:1], brain.cnodes[1:]
    base = time.time() - 100
    stamp = [Timestamp(base + step) for step in range(10)]
    brain.create_container(minority, WINNER, stamp[0])
    brain.create_container(majority, LOSER, stamp[1])
    # Written in the losing policy only: must move.
    brain.put_object(LOSER, 'moved', b'moved body', stamp[2], majority)
    # Many of the reconciler's chunks long: streamed across, not buffered.
    big = os.urandom(3 * 1024 * 1024 + 17)
    brain.put_object(LOSER, 'big', big, stamp[2], majority)
    # Right from the start.
    brain.put_object(WINNER, 'right', b'right body', stamp[2], minority)
    # Older in the loser, newer in the winner: the newer row replaces the
    # misplaced one when the replicas merge, and the newer object stays.
    brain.put_object(LOSER, 'both', b'old both', stamp[3], majority)
    brain.put_object(WINNER, 'both', b'new both', stamp[4], minority)
    # Moved by a reconciler that crashed before fixing the row (below).
    brain.put_object(LOSER, 'halfway', b'halfway body', stamp[2], majority)
    # Written in the winner, deleted later in the loser: the delete moves.
    brain.put_object(WINNER, 'gone', b'gone body', stamp[3], minority)
    brain.delete_object(LOSER, 'gone', stamp[5], majority)
    # A row in the winning policy on a replica that still holds the
    # loser: misplaced there, but moving it would go the wrong way.
    brain.put_object(WINNER, 'early', b'early body', stamp[6], majority[:1])
    assert set(brain.replica_policies()) == {str(WINNER), str(LOSER)}
    cluster.run_daemon('container-reconciler')
    counts = pass_counts(cluster)
    assert counts['unsettled'] == 1 and counts['moved'] == 0

    cluster.run_daemon('container-replicator')
    assert brain.replica_policies() == [str(WINNER)] * 3
    assert sorted(set(brain.misplaced_rows())) == ['big', 'gone', 'halfway',
                                                   'moved']
    brain.put_object(WINNER, 'halfway', b'halfway body', stamp[2], [])
    brain.delete_object(LOSER, 'halfway', Timestamp(stamp[2], offset=1), [])

    cluster.run_daemon('container-reconciler')
    counts = pass_counts(cluster)
    # One replica (the first primary) moves each object once: the others
    # defer to it, or find their rows already fixed by its row updates
    # (which, depends on the order the nodes' reconcilers ran in).
    assert (counts['moved'], counts['already_moved'],
            counts['deletes_moved']) == (2, 1, 1)
    assert counts['failures'] == counts['unresolved'] == 0
    cluster.run_daemon('container-replicator')
    assert brain.misplaced_rows() == []
    for obj, body in (('moved', b'moved body'), ('big', big),
                      ('right', b'right body'),
                      ('both', b'new both'), ('halfway', b'halfway body'),
                      ('early', b'early body')):
        assert proxy_request(cluster, USER, 'GET', '/%s/%s' % (
            CONTAINER, obj)) == (200, body), obj
    assert proxy_request(cluster, USER, 'GET',
                         '/%s/gone' % CONTAINER)[0] == 404
    status, listing = proxy_request(cluster, USER, 'GET', '/' + CONTAINER)
    assert (status, listing.split()) == (
        200, [b'big', b'both', b'early', b'halfway', b'moved', b'right'])
    # The moved copy is a tombstone in the losing policy, one tick after
    # the version it replaced.
    answers = brain.object_answers(LOSER, 'moved')
    assert [status for status, _h, _b in answers] == [404] * 3
    assert {h['x-backend-timestamp'] for _s, h, _b in answers} == {
        Timestamp(stamp[2], offset=1).internal}
    # The move kept the object's timestamp and metadata.
    for status, headers, _body in brain.object_answers(WINNER, 'moved'):
        assert status == 200
        assert headers['x-backend-timestamp'] == stamp[2].internal
        assert headers['x-object-meta-tag'] == 'moved'

    before = object_files(cluster)
    cluster.run_daemon('container-reconciler')
    assert object_files(cluster) == before
    assert sum(pass_counts(cluster).values()) == 0
    assert brain.misplaced_rows() == []
    assert brain.replica_policies() == [str(WINNER)] * 3
