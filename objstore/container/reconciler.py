"""The container-reconciler (``objstore-container-reconciler``).

Owns moving *misplaced* objects: when primaries created one container with
different storage policies during a partition, container replication makes
every replica agree on one policy (``backend.policy_winner``), and the
object rows written under the losing policy are left pointing at objects
the proxy no longer looks for. For each such row in a local container DB
(``ContainerBroker.get_misplaced_rows``) this daemon

1. reads the newest copy of the object from the row's (wrong) policy;
2. writes it into the container's policy with the SAME timestamp, so that
   newest-wins holds: an object server holding an equal or newer version
   answers 409 and keeps it;
3. tombstones the wrong policy's copy, one offset tick after that
   timestamp (an equal one would be refused as not newer);
4. rewrites the row in the container's policy at the same timestamp,
   which replaces the misplaced row here and, by replication, everywhere.

A deleted row moves as a DELETE in both policies. Every step repeats
harmlessly, and the row is fixed last, so a crash between any two steps
leaves a misplaced row the next pass finishes: a copy already tombstoned
in the wrong policy is then found in the right one.

Scanning local container DBs (rather than a queue the replicator fills, as
Swift's ``.misplaced_objects`` account) keeps the state in one place, the
rows themselves; a misplaced row is cheap to find by its policy column.
Every replica's reconciler may move the same object; the steps are
idempotent, so that only costs requests.

Before moving a container's rows it asks every container primary for its
policy (HEAD) and moves only if the local replica holds the one they all
will converge on: a replica that has not heard of the winner yet would
otherwise move objects the wrong way. Such a container is counted
``unsettled`` and left to the replicator.

Must not: move a row whose policy is not configured here (it is counted
and left), or write anything newer than what it read.
"""

import dataclasses
import sqlite3

from objstore.common.backend_client import BACKEND_ERRORS, direct_request
from objstore.common.daemon import (
    Daemon, DaemonConf, DaemonStats, RateLimiter, run_daemon)
from objstore.common.db_layout import DATADIRS, iter_db_files
from objstore.common.exceptions import ConfigError, DatabaseError
from objstore.common.http import is_success
from objstore.common.storage_policy import load_policies, policy_ring_name
from objstore.common.timestamp import Timestamp
from objstore.container.backend import ContainerBroker, policy_winner
from objstore.ring.ring import Ring, quorum_size

SUMMARY_COUNTS = ('moved', 'deletes_moved', 'already_moved', 'unresolved',
                  'unsettled', 'unknown_policy', 'failures', 'errors')
POLICY_HEADER = 'X-Backend-Storage-Policy-Index'
# Answer headers of an object GET that are the server's, not the object's.
NOT_COPIED = frozenset((
    'content-length', 'x-timestamp', 'last-modified', 'accept-ranges',
    'date', 'connection', 'transfer-encoding', 'x-trans-id'))
# A write in the right policy is done when a node stored it or holds
# something at least as new.
WRITE_DONE = (409,)
# A tombstone is done likewise; 404 means nothing was there to delete.
DELETE_DONE = (404, 409)


@dataclasses.dataclass(frozen=True)
class ContainerReconcilerConf(DaemonConf):
    """Options of [container-reconciler]."""

    bind_port: int = 6201
    interval: float = 300.0
    node_timeout: float = 10.0
    conn_timeout: float = 0.5
    objects_per_second: float = 50.0
    rows_per_container: int = 1000

    def validate(self):
        DaemonConf.validate(self)
        if self.node_timeout <= 0 or self.conn_timeout <= 0:
            raise ConfigError('node_timeout and conn_timeout must be > 0')
        if self.objects_per_second < 0:
            raise ConfigError('objects_per_second must be >= 0')
        if self.rows_per_container < 1:
            raise ConfigError('rows_per_container must be >= 1')


@dataclasses.dataclass(frozen=True)
class Copy:
    """One object server's answer for an object: its data timestamp, or
    its tombstone's (``deleted``), with headers and body of a live one."""

    timestamp: Timestamp
    deleted: bool
    headers: dict = dataclasses.field(default_factory=dict)
    body: bytes = b''


@dataclasses.dataclass(frozen=True)
class ObjectTarget:
    """The object a row names; ``str`` is its path below a partition."""

    account: str
    container: str
    obj: str

    def __str__(self):
        return '%s/%s/%s' % (self.account, self.container, self.obj)


def newest(copies):
    """The newest Copy (a tombstone beats data of equal time), or None.

    >>> newest([Copy(Timestamp(1), False), Copy(Timestamp(2), True)]).deleted
    True
    >>> newest([]) is None
    True
    """
    return max(copies, key=lambda c: (c.timestamp, c.deleted), default=None)


def copy_headers(answer_headers, timestamp):
    """Headers of the PUT that writes a read copy into another policy."""
    headers = {key: value for key, value in answer_headers.items()
               if key not in NOT_COPIED and not key.startswith('x-backend-')}
    headers['X-Timestamp'] = timestamp.internal
    return headers


def replica_info(headers):
    """What ``policy_winner`` compares, from a container HEAD answer's
    (lower-case) headers; None if it names no policy."""
    if POLICY_HEADER.lower() not in headers:
        return None
    return {
        'storage_policy_index': int(headers[POLICY_HEADER.lower()]),
        'put_timestamp': headers.get('x-backend-put-timestamp', '0'),
        'delete_timestamp': headers.get('x-backend-delete-timestamp', '0'),
        'status_changed_at': headers.get('x-backend-status-changed-at', '0'),
        'object_count': int(headers.get('x-container-object-count', 0))}


def agreed_policy(local, replicas):
    """The policy index every replica will converge on (pure).

    >>> old = {'storage_policy_index': 1, 'put_timestamp': '1',
    ...        'delete_timestamp': '0', 'status_changed_at': '1'}
    >>> agreed_policy(dict(old, storage_policy_index=0, put_timestamp='2',
    ...                    status_changed_at='2'), [None, old])
    1
    """
    winner = local
    for replica in replicas:
        if replica is not None:
            winner = policy_winner(winner, replica)
    return int(winner['storage_policy_index'])


class ContainerReconciler(Daemon):
    """See the module doc."""

    name = 'container-reconciler'
    conf_class = ContainerReconcilerConf

    def __init__(self, conf, logger=None, container_ring=None,
                 policies=None, request=direct_request):
        super().__init__(conf, logger)
        dconf = self.daemon_conf
        self.container_ring = container_ring or Ring(dconf.conf_dir,
                                                     'container')
        self.policies = policies or load_policies(dconf.conf_dir)
        self.object_rings = {}
        self.request = request
        self.limiter = RateLimiter(items_per_second=dconf.objects_per_second)

    def run_once(self, devices=None, partitions=None, once=False):
        return self.run_device_pass(
            self.container_ring, devices,
            lambda dev, device_path: self.reconcile_device(device_path,
                                                           partitions),
            SUMMARY_COUNTS, once)

    def reconcile_device(self, device_path, partitions=None):
        stats = DaemonStats()
        for _part, _hash, db_file in iter_db_files(
                device_path, DATADIRS['container'], partitions):
            if self.stopping:
                break
            self.reconcile_container(db_file, stats)
        return stats

    def reconcile_container(self, db_file, stats):
        broker = ContainerBroker(db_file, logger=self.logger)
        try:
            rows = broker.get_misplaced_rows(
                self.daemon_conf.rows_per_container)
            if not rows:
                return
            info = broker.get_info()
            if not self._settled(info):
                stats.incr('unsettled')
                return
            for row in rows:
                if self.stopping:
                    break
                self.limiter.wait()
                outcome = self.move_row(info, row, broker)
                stats.incr(outcome)
        except (DatabaseError, sqlite3.DatabaseError) as err:
            stats.incr('errors')
            self.logger.warning('%s: cannot read %s: %s', self.name, db_file,
                                err)
        finally:
            broker.close()

    def _settled(self, info):
        """True if the local policy is the one all replicas will hold."""
        part, nodes = self.container_ring.get_nodes(info['account'],
                                                    info['container'])
        path = '%s/%s' % (info['account'], info['container'])
        replicas = []
        for node in nodes:
            answer = self._call(node, part, path, 'HEAD', {})
            if answer is not None:
                replicas.append(replica_info(answer[1]))
        return agreed_policy(info, replicas) == info['storage_policy_index']

    def _ring(self, index):
        if self.policies.get_by_index(index) is None:
            return None
        if index not in self.object_rings:
            self.object_rings[index] = Ring(self.daemon_conf.conf_dir,
                                            policy_ring_name(index))
        return self.object_rings[index]

    def move_row(self, info, row, broker):
        """Move one misplaced row's object; the outcome's counter name."""
        wrong = row['storage_policy_index']
        right = info['storage_policy_index']
        target = ObjectTarget(info['account'], info['container'],
                              row['name'])
        if self._ring(wrong) is None or self._ring(right) is None:
            return 'unknown_policy'
        timestamp = Timestamp(row['created_at'])
        if row['deleted']:
            return self._move_delete(target, wrong, right, timestamp, broker)
        found = newest(self._read(target, wrong))
        if found is not None and not found.deleted and \
                found.timestamp >= timestamp:
            return self._move_copy(target, wrong, right, found, broker)
        # Not (any longer) in the wrong policy: moved by an earlier pass or
        # another replica's reconciler, then crashed before the row fix.
        placed = newest(self._read(target, right))
        if placed is None or placed.deleted or placed.timestamp < timestamp:
            self.logger.warning('%s: %s: no copy at %s in policy %s or %s',
                                self.name, target, timestamp.internal,
                                wrong, right)
            return 'unresolved'
        self._fix_row(broker, row['name'], placed, right)
        return 'already_moved'

    def _move_copy(self, target, wrong, right, found, broker):
        headers = copy_headers(found.headers, found.timestamp)
        if not self._write_all(target, right, 'PUT', headers, found.body,
                               WRITE_DONE):
            return 'failures'
        if not self._tombstone(target, wrong, found.timestamp):
            return 'failures'
        self._fix_row(broker, target.obj, found, right)
        self.logger.info('%s: moved %s at %s from policy %s to %s',
                         self.name, target, found.timestamp.internal, wrong,
                         right)
        return 'moved'

    def _move_delete(self, target, wrong, right, timestamp, broker):
        headers = {'X-Timestamp': timestamp.internal}
        if not self._write_all(target, right, 'DELETE', headers, b'',
                               DELETE_DONE):
            return 'failures'
        if not self._tombstone(target, wrong, timestamp):
            return 'failures'
        broker.delete_object(target.obj, timestamp,
                             storage_policy_index=right)
        return 'deletes_moved'

    def _tombstone(self, target, policy, timestamp):
        after = Timestamp(timestamp, offset=1)
        return self._write_all(target, policy, 'DELETE',
                               {'X-Timestamp': after.internal}, b'',
                               DELETE_DONE)

    @staticmethod
    def _fix_row(broker, name, copy, policy):
        headers = copy.headers
        broker.put_object(name, copy.timestamp,
                          int(headers.get('content-length') or
                              len(copy.body)),
                          headers.get('content-type', ''),
                          headers.get('etag', '').strip('"'),
                          storage_policy_index=policy)

    def _read(self, target, policy):
        """A Copy from every primary of ``policy`` that answered with one."""
        ring = self._ring(policy)
        part, nodes = ring.get_nodes(target.account, target.container,
                                     target.obj)
        copies = []
        for node in nodes:
            answer = self._call(node, part, target, 'GET',
                                {POLICY_HEADER: str(policy)})
            if answer is None:
                continue
            status, headers, body = answer
            if status == 200:
                stamp = headers.get('x-backend-data-timestamp') or \
                    headers['x-backend-timestamp']
                copies.append(Copy(Timestamp(stamp), False, headers, body))
            elif status == 404 and 'x-backend-timestamp' in headers:
                copies.append(Copy(Timestamp(headers['x-backend-timestamp']),
                                   True))
        return copies

    def _write_all(self, target, policy, method, headers, body, done):
        """``method`` to every primary of ``policy``; True on a quorum of
        2xx or ``done`` statuses."""
        ring = self._ring(policy)
        part, nodes = ring.get_nodes(target.account, target.container,
                                     target.obj)
        headers = dict(headers, **{POLICY_HEADER: str(policy)})
        if method == 'PUT':
            headers['Content-Length'] = str(len(body))
        good = 0
        for node in nodes:
            answer = self._call(node, part, target, method, headers, body)
            if answer is not None and (is_success(answer[0]) or
                                       answer[0] in done):
                good += 1
        return good >= quorum_size(len(nodes))

    def _call(self, node, part, target, method, headers, body=b''):
        path = '/%s/%s/%s' % (node['device'], part, target)
        dconf = self.daemon_conf
        try:
            return self.request(node['ip'], node['port'], method, path,
                                headers=headers, body=body,
                                conn_timeout=dconf.conn_timeout,
                                node_timeout=dconf.node_timeout)
        except BACKEND_ERRORS as err:
            self.logger.debug('%s: %s %s:%s%s failed: %s', self.name, method,
                              node['ip'], node['port'], path, err)
            return None


def main(argv=None):
    return run_daemon(ContainerReconciler, argv)
