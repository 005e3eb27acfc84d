"""The container-reconciler (``objstore-container-reconciler``).

Owns moving *misplaced* objects: when primaries created one container with
different storage policies during a partition, container replication makes
every replica agree on one policy (``backend.policy_winner``), and the
object rows written under the losing policy are left pointing at objects
the proxy no longer looks for. For each such row in a local container DB
(``ContainerBroker.get_misplaced_rows``) this daemon

1. finds the newest copy of the object in the row's (wrong) policy (a HEAD
   to each of its primaries);
2. streams it into the container's policy with the SAME timestamp (one GET
   from the node holding it per PUT to a right primary, chunk by chunk:
   an object of any size moves in bounded memory), so that newest-wins
   holds: an object server holding an equal or newer version answers 409
   and keeps it;
3. tombstones the wrong policy's copy, one offset tick after that
   timestamp (an equal one would be refused as not newer);
4. rewrites the row in the container's policy at the same timestamp on
   every container replica (a row update to each of the others, as an
   object server sends, then the local row): at the same timestamp a row in
   the container's policy replaces a misplaced one. Replication alone could
   not carry it: the rows' hash (name and timestamp) does not change. The
   local row is fixed only once every other replica took the update, so a
   replica that missed it is retried next pass.

A deleted row moves as a DELETE in both policies. Every step repeats
harmlessly, and the row is fixed last, so a crash between any two steps
leaves a misplaced row the next pass finishes: a copy already tombstoned
in the wrong policy is then found in the right one.

Scanning local container DBs (rather than a queue the replicator fills, as
Swift's ``.misplaced_objects`` account) keeps the state in one place, the
rows themselves; a misplaced row is cheap to find by its policy column.

Before moving a container's rows it asks every container primary for its
policy (HEAD) and moves only if the local replica holds the one they all
will converge on: a replica that has not heard of the winner yet would
otherwise move objects the wrong way. Such a container is counted
``unsettled`` and left to the replicator. Of the replicas, only the first
primary (in ring order) that answered moves the rows (the others count the
container ``deferred``), so one object is moved once, not once per
replica; when that primary is down, the next one that answers takes over.
The steps are idempotent, so two reconcilers that both believe they lead
(an answer lost in between) only cost requests.

Must not: move a row whose policy is not configured here (it is counted
and left), or write anything newer than what it read.
"""

import dataclasses
import sqlite3

from objstore.common.backend_client import BACKEND_ERRORS, BackendClient
from objstore.common.daemon import (
    Daemon, DaemonConf, DaemonStats, RateLimiter, run_daemon)
from objstore.common.db_layout import DATADIRS, iter_db_files
from objstore.common.exceptions import ConfigError, DatabaseError
from objstore.common.http_basics import is_success
from objstore.common.row_update import RowUpdateClient
from objstore.common.storage_policy import load_policies, policy_ring_name
from objstore.common.timestamp import Timestamp
from objstore.container.backend import ContainerBroker, policy_winner
from objstore.ring.ring import Ring, quorum_size

SUMMARY_COUNTS = ('moved', 'deletes_moved', 'already_moved', 'unresolved',
                  'unsettled', 'deferred', 'unknown_policy', 'failures',
                  'errors')
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
    chunk_size: int = 65536
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
        if self.chunk_size < 1:
            raise ConfigError('chunk_size must be >= 1')


@dataclasses.dataclass(frozen=True)
class Copy:
    """One object server's answer for an object: its data timestamp, or
    its tombstone's (``deleted``), with the headers of a live one and the
    node that holds it."""

    timestamp: Timestamp
    deleted: bool
    headers: dict = dataclasses.field(default_factory=dict)
    node: dict = None


@dataclasses.dataclass(frozen=True)
class ObjectTarget:
    """The object a row names; ``str`` is its path below a partition."""

    account: str
    container: str
    obj: str

    def __str__(self):
        return '%s/%s/%s' % (self.account, self.container, self.obj)


@dataclasses.dataclass(frozen=True)
class RowFix:
    """Where a moved row is rewritten: the local replica's ``broker`` on
    ``dev``, for ``target``, in policy ``policy``."""

    broker: object
    dev: dict
    target: ObjectTarget
    policy: int


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
                 policies=None, client=None):
        super().__init__(conf, logger)
        dconf = self.daemon_conf
        self.container_ring = container_ring or Ring(dconf.conf_dir,
                                                     'container')
        self.policies = policies or load_policies(dconf.conf_dir)
        self.object_rings = {}
        self.client = client or BackendClient(dconf.conn_timeout,
                                              dconf.node_timeout)
        self.limiter = RateLimiter(items_per_second=dconf.objects_per_second)
        self.row_updates = RowUpdateClient(self.logger, dconf.conn_timeout,
                                           dconf.node_timeout)

    def run_once(self, devices=None, partitions=None, once=False):
        return self.run_device_pass(
            self.container_ring, devices,
            lambda dev, device_path: self.reconcile_device(dev, device_path,
                                                           partitions),
            SUMMARY_COUNTS, once)

    def reconcile_device(self, dev, device_path, partitions=None):
        stats = DaemonStats()
        for _part, _hash, db_file in iter_db_files(
                device_path, DATADIRS['container'], partitions):
            if self.stopping:
                break
            self.reconcile_container(dev, db_file, stats)
        return stats

    def reconcile_container(self, dev, db_file, stats):
        broker = ContainerBroker(db_file, logger=self.logger)
        try:
            rows = broker.get_misplaced_rows(
                self.daemon_conf.rows_per_container)
            if not rows:
                return
            info = broker.get_info()
            verdict = self._verdict(info, dev)
            if verdict is not None:
                stats.incr(verdict)
                return
            for row in rows:
                if self.stopping:
                    break
                self.limiter.wait()
                outcome = self.move_row(info, row, broker, dev)
                stats.incr(outcome)
        except (DatabaseError, sqlite3.DatabaseError) as err:
            stats.incr('errors')
            self.logger.warning('%s: cannot read %s: %s', self.name, db_file,
                                err)
        finally:
            broker.close()

    def _verdict(self, info, dev):
        """None if this replica moves the container's rows now, else why
        not: ``unsettled`` unless the local policy is the one all replicas
        will hold, ``deferred`` unless ``dev`` leads (see the module doc).
        """
        part, nodes = self.container_ring.get_nodes(info['account'],
                                                    info['container'])
        path = '%s/%s' % (info['account'], info['container'])
        replicas, answered = [], []
        for node in nodes:
            answer = self._call(node, part, path, 'HEAD', {})
            if answer is not None:
                replicas.append(replica_info(answer[1]))
                answered.append(node['id'])
        if agreed_policy(info, replicas) != info['storage_policy_index']:
            return 'unsettled'
        if answered and answered[0] != dev['id']:
            return 'deferred'
        return None

    def _ring(self, index):
        if self.policies.get_by_index(index) is None:
            return None
        if index not in self.object_rings:
            self.object_rings[index] = Ring(self.daemon_conf.conf_dir,
                                            policy_ring_name(index))
        return self.object_rings[index]

    def move_row(self, info, row, broker, dev):
        """Move one misplaced row's object; the outcome's counter name."""
        wrong = row['storage_policy_index']
        right = info['storage_policy_index']
        target = ObjectTarget(info['account'], info['container'],
                              row['name'])
        rows = RowFix(broker, dev, target, right)
        if self._ring(wrong) is None or self._ring(right) is None:
            return 'unknown_policy'
        timestamp = Timestamp(row['created_at'])
        if row['deleted']:
            return self._move_delete(target, wrong, right, timestamp, rows)
        found = newest(self._read(target, wrong))
        if found is not None and not found.deleted and \
                found.timestamp >= timestamp:
            return self._move_copy(target, wrong, right, found, rows)
        # Not (any longer) in the wrong policy: moved by an earlier pass or
        # another replica's reconciler, then crashed before the row fix.
        placed = newest(self._read(target, right))
        if placed is None or placed.deleted or placed.timestamp < timestamp:
            self.logger.warning('%s: %s: no copy at %s in policy %s or %s',
                                self.name, target, timestamp.internal,
                                wrong, right)
            return 'unresolved'
        if not self._fix_rows(rows, placed.timestamp, placed.headers):
            return 'failures'
        return 'already_moved'

    def _move_copy(self, target, wrong, right, found, rows):
        if not self._copy_to_all(target, wrong, right, found):
            return 'failures'
        if not self._tombstone(target, wrong, found.timestamp):
            return 'failures'
        if not self._fix_rows(rows, found.timestamp, found.headers):
            return 'failures'
        self.logger.info('%s: moved %s at %s from policy %s to %s',
                         self.name, target, found.timestamp.internal, wrong,
                         right)
        return 'moved'

    def _move_delete(self, target, wrong, right, timestamp, rows):
        headers = {'X-Timestamp': timestamp.internal}
        if not self._write_all(target, right, 'DELETE', headers,
                               DELETE_DONE):
            return 'failures'
        if not self._tombstone(target, wrong, timestamp):
            return 'failures'
        if not self._fix_rows(rows, timestamp, None):
            return 'failures'
        return 'deletes_moved'

    def _tombstone(self, target, policy, timestamp):
        after = Timestamp(timestamp, offset=1)
        return self._write_all(target, policy, 'DELETE',
                               {'X-Timestamp': after.internal}, DELETE_DONE)

    def _fix_rows(self, rows, timestamp, headers):
        """Rewrite the row in the right policy on every container replica
        (``headers`` of the object's copy, None for a deletion); the local
        row last, and only if every other replica took it."""
        part, nodes = self.container_ring.get_nodes(
            rows.target.account, rows.target.container)
        update = {'X-Timestamp': timestamp.internal,
                  POLICY_HEADER: str(rows.policy)}
        method = 'DELETE'
        if headers is not None:
            method = 'PUT'
            update.update({
                'X-Size': headers.get('content-length') or '0',
                'X-Content-Type': headers.get('content-type', ''),
                'X-Etag': headers.get('etag', '').strip('"')})
        for node in nodes:
            if node['id'] == rows.dev['id']:
                continue
            status = self.row_updates.send(
                node['ip'], node['port'], method, '/%s/%s/%s' % (
                    node['device'], part, rows.target), update)
            if status is None or not is_success(status):
                return False
        if headers is None:
            rows.broker.delete_object(rows.target.obj, timestamp,
                                      storage_policy_index=rows.policy)
        else:
            rows.broker.put_object(
                rows.target.obj, timestamp, int(update['X-Size']),
                update['X-Content-Type'], update['X-Etag'],
                storage_policy_index=rows.policy)
        return True

    def _read(self, target, policy):
        """A Copy from every primary of ``policy`` that answered with one."""
        ring = self._ring(policy)
        part, nodes = ring.get_nodes(target.account, target.container,
                                     target.obj)
        copies = []
        for node in nodes:
            answer = self._call(node, part, target, 'HEAD',
                                {POLICY_HEADER: str(policy)})
            if answer is None:
                continue
            status, headers, _body = answer
            if status == 200:
                stamp = headers.get('x-backend-data-timestamp') or \
                    headers['x-backend-timestamp']
                copies.append(Copy(Timestamp(stamp), False, headers, node))
            elif status == 404 and 'x-backend-timestamp' in headers:
                copies.append(Copy(Timestamp(headers['x-backend-timestamp']),
                                   True))
        return copies

    def _write_all(self, target, policy, method, headers, done):
        """``method`` (no body) to every primary of ``policy``; True on a
        quorum of 2xx or ``done`` statuses."""
        part, nodes = self._ring(policy).get_nodes(
            target.account, target.container, target.obj)
        headers = dict(headers, **{POLICY_HEADER: str(policy)})
        good = 0
        for node in nodes:
            answer = self._call(node, part, target, method, headers)
            if answer is not None and (is_success(answer[0]) or
                                       answer[0] in done):
                good += 1
        return good >= quorum_size(len(nodes))

    def _copy_to_all(self, target, wrong, right, found):
        """Stream ``found`` (in policy ``wrong``) to every primary of
        ``right``; True on a quorum of 2xx or WRITE_DONE answers."""
        part, nodes = self._ring(right).get_nodes(
            target.account, target.container, target.obj)
        headers = copy_headers(found.headers, found.timestamp)
        headers[POLICY_HEADER] = str(right)
        good = 0
        for node in nodes:
            try:
                status = self._stream_copy(target, wrong, found, node, part,
                                           headers)
            except BACKEND_ERRORS as err:
                self.logger.debug('%s: copy of %s to %s:%s failed: %s',
                                  self.name, target, node['ip'],
                                  node['port'], err)
                continue
            if status is not None and (is_success(status) or
                                       status in WRITE_DONE):
                good += 1
        return good >= quorum_size(len(nodes))

    def _stream_copy(self, target, wrong, found, node, part, headers):
        """GET ``found`` from its holder and PUT it to ``node`` chunk by
        chunk; the PUT's status, or None when the source changed."""
        source = found.node
        source_part = self._ring(wrong).get_part(
            target.account, target.container, target.obj)
        reader = self.client.request(
            source['ip'], source['port'], 'GET',
            '/%s/%s/%s' % (source['device'], source_part, target),
            {POLICY_HEADER: str(wrong)})
        try:
            stamp = reader.headers.get('x-backend-data-timestamp') or \
                reader.headers.get('x-backend-timestamp')
            if reader.status != 200 or stamp != found.timestamp.internal:
                return None
            headers = dict(headers,
                           **{'Content-Length': reader.headers[
                               'content-length']})
            put = self.client.start_put(
                node['ip'], node['port'],
                '/%s/%s/%s' % (node['device'], part, target), headers,
                chunked=False)
            if put.final is None:
                self._pump(reader, put)
                put.final = put.finish()
            put.final.read()
            return put.final.status
        finally:
            reader.close()

    def _pump(self, reader, put):
        while True:
            data = reader.read(self.daemon_conf.chunk_size)
            if not data:
                return
            put.send(data)

    def _call(self, node, part, target, method, headers):
        """(status, headers, body) of a bodiless request, None on error."""
        path = '/%s/%s/%s' % (node['device'], part, target)
        try:
            return self.client.request_full(node['ip'], node['port'], method,
                                            path, headers=headers)
        except BACKEND_ERRORS as err:
            self.logger.debug('%s: %s %s:%s%s failed: %s', self.name, method,
                              node['ip'], node['port'], path, err)
            return None


def main(argv=None):
    return run_daemon(ContainerReconciler, argv)
