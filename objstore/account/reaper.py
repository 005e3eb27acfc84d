"""The account-reaper (``objstore-account-reaper``).

Owns emptying accounts marked deleted (``DELETE`` on the account, status
DELETED): once ``delay_reaping`` seconds have passed since the delete, it
deletes every object of every container of the account on the object
servers (each DELETE names the container replica to update, as the proxy
does), then the containers on the container servers, marks their rows
deleted in the local account DB, and finally marks the account reaped.
Every account replica node reaps its own share of the containers (by a
hash of the container name), so the work is spread and not repeated.
Deletes are rate limited (``deletes_per_second``) and progress is logged.

Must not: delete the account DB itself (the account-replicator reclaims
it after ``reclaim_age``, once it lists no container), or use anything but
HTTP to reach containers and objects.
"""

import dataclasses
import hashlib
import json
import sqlite3
import time
from urllib.parse import quote

from objstore.account.backend import AccountBroker
from objstore.common.backend_client import BACKEND_ERRORS, direct_request
from objstore.common.daemon import (
    Daemon, DaemonConf, DaemonStats, RateLimiter, run_daemon)
from objstore.common.db_layout import DATADIRS, iter_db_files
from objstore.common.exceptions import ConfigError, DatabaseError
from objstore.common.http_basics import POLICY_HEADER, is_success
from objstore.common.row_update import make_host
from objstore.common.storage_policy import policy_ring_name
from objstore.common.timestamp import Timestamp
from objstore.ring.ring import Ring, quorum_size

REAPED_KEY = 'X-Backend-Reaped-At'
LISTING_BATCH = 1000
SUMMARY_COUNTS = ('accounts_reaped', 'accounts_delayed', 'containers_deleted',
                  'containers_remaining', 'objects_deleted',
                  'objects_remaining', 'errors')


@dataclasses.dataclass(frozen=True)
class AccountReaperConf(DaemonConf):
    """Options of [account-reaper]."""

    bind_port: int = 6202
    interval: float = 3600.0
    delay_reaping: float = 0.0
    reap_warn_after: float = 2592000.0
    node_timeout: float = 10.0
    conn_timeout: float = 0.5
    deletes_per_second: float = 100.0

    def validate(self):
        DaemonConf.validate(self)
        if self.delay_reaping < 0 or self.reap_warn_after < 0:
            raise ConfigError('delay_reaping and reap_warn_after must be >= 0')
        if self.node_timeout <= 0 or self.conn_timeout <= 0:
            raise ConfigError('node_timeout and conn_timeout must be > 0')
        if self.deletes_per_second < 0:
            raise ConfigError('deletes_per_second must be >= 0')


def container_shard(container, shards):
    """Which account replica (0..shards-1) reaps ``container``.

    >>> container_shard('photos', 3) in (0, 1, 2)
    True
    """
    digest = hashlib.md5(container.encode('utf-8', 'surrogateescape'),
                         usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], 'big') % shards


def account_is_deleted(info):
    """True for an account marked deleted, by its status or its times.

    The node that served the DELETE sets status DELETED; a replica that
    missed it learns only the newer delete timestamp from replication,
    and must reap its share all the same.

    >>> account_is_deleted({'status': '', 'put_timestamp': '1.00000',
    ...                     'delete_timestamp': '2.00000'})
    True
    """
    return info['status'] == 'DELETED' or (
        Timestamp(info['delete_timestamp']) > Timestamp(info['put_timestamp']))


def live_container_rows(broker):
    """Rows of containers not deleted, read in ROWID batches."""
    point = -1
    while True:
        rows = broker.get_items_since(point, LISTING_BATCH)
        if not rows:
            return
        point = rows[-1]['ROWID']
        for row in rows:
            if not row['deleted']:
                yield row


class AccountReaper(Daemon):
    """See the module doc."""

    name = 'account-reaper'
    first_pass_jitter = True
    conf_class = AccountReaperConf

    def __init__(self, conf, logger=None, account_ring=None,
                 container_ring=None, object_rings=None,
                 request=direct_request, clock=time.time):
        super().__init__(conf, logger)
        dconf = self.daemon_conf
        self.account_ring = account_ring or Ring(dconf.conf_dir, 'account')
        self.container_ring = container_ring or Ring(dconf.conf_dir,
                                                     'container')
        self.object_rings = dict(object_rings or {})
        self.request = request
        self.clock = clock
        self.limiter = RateLimiter(items_per_second=dconf.deletes_per_second)

    # -- the pass ---------------------------------------------------------

    def run_once(self, devices=None, partitions=None, once=False):
        return self.run_device_pass(
            self.account_ring, devices,
            lambda dev, device_path: self.reap_device(
                dev, device_path, partitions),
            SUMMARY_COUNTS, once)

    def reap_device(self, dev, device_path, partitions=None):
        stats = DaemonStats()
        for part, _hash, db_file in iter_db_files(
                device_path, DATADIRS['account'], partitions):
            if self.stopping:
                break
            self.reap_db(dev, part, db_file, stats)
        return stats

    def reap_db(self, dev, part, db_file, stats):
        broker = AccountBroker(db_file, logger=self.logger)
        try:
            info = broker.get_info()
            if not account_is_deleted(info):
                return
            nodes = self.account_ring.get_part_nodes(part)
            shard = next((i for i, node in enumerate(nodes)
                          if node['id'] == dev['id']), None)
            if shard is None:
                # A handoff copy: the replicator moves it home first.
                return
            deleted_for = self.clock() - float(Timestamp(
                info['delete_timestamp']))
            if deleted_for < self.daemon_conf.delay_reaping:
                stats.incr('accounts_delayed')
                return
            self.reap_account(broker, info, shard, len(nodes), stats,
                              deleted_for)
        except (DatabaseError, sqlite3.DatabaseError) as err:
            stats.incr('errors')
            self.logger.warning('%s: cannot read %s: %s', self.name, db_file,
                                err)
        finally:
            broker.close()

    def reap_account(self, broker, info, shard, shards, stats, deleted_for):
        account = info['account']
        started = time.monotonic()
        done = DaemonStats()
        remaining = 0
        for row in list(live_container_rows(broker)):
            if self.stopping:
                break
            if container_shard(row['name'], shards) != shard:
                # Another replica's share; its deleted row comes back to
                # this DB by account replication.
                remaining += 1
                continue
            if self.reap_container(account, row['name'], done):
                broker.put_container(row['name'], row['put_timestamp'],
                                     Timestamp.now(), 0, 0,
                                     row['storage_policy_index'])
            else:
                remaining += 1
        stats.merge(done)
        self.logger.info(
            '%s: pass on %s: %d containers and %d objects deleted, %d '
            'containers and %d objects remaining, %.2fs', self.name, account,
            done.get('containers_deleted'), done.get('objects_deleted'),
            done.get('containers_remaining'), done.get('objects_remaining'),
            time.monotonic() - started)
        if remaining == 0 and not self.stopping:
            self._mark_reaped(broker, stats)
        elif deleted_for > self.daemon_conf.reap_warn_after:
            self.logger.warning('%s: %s deleted %.0fs ago still has '
                                'containers', self.name, account,
                                deleted_for)

    def _mark_reaped(self, broker, stats):
        if REAPED_KEY in broker.metadata:
            return
        now = Timestamp.now().internal
        broker.update_metadata({REAPED_KEY: (now, now)})
        stats.incr('accounts_reaped')
        self.logger.info('%s: account %s reaped', self.name,
                         broker.get_info()['account'])

    # -- containers and objects -------------------------------------------

    def reap_container(self, account, container, stats):
        """Delete every object, then the container; True when all gone."""
        part, nodes = self.container_ring.get_nodes(account, container)
        marker = ''
        objects_left = False
        while not self.stopping:
            listing, policy = self._list_objects(account, container, part,
                                                 nodes, marker)
            if listing is None:
                stats.incr('containers_remaining')
                return False
            if not listing:
                break
            for entry in listing:
                self.limiter.wait()
                if not self.reap_object(account, container, entry['name'],
                                        policy, part, nodes):
                    objects_left = True
                    stats.incr('objects_remaining')
                else:
                    stats.incr('objects_deleted')
            marker = listing[-1]['name']
        if objects_left or self.stopping:
            stats.incr('containers_remaining')
            return False
        self.limiter.wait()
        if self._delete_container(account, container, part, nodes):
            stats.incr('containers_deleted')
            return True
        stats.incr('containers_remaining')
        return False

    def _list_objects(self, account, container, part, nodes, marker):
        """(one listing page, policy index) from the first node that
        answers; ([], 0) when the container is gone; (None, 0) when no
        node answered."""
        query = 'format=json&limit=%d' % LISTING_BATCH
        if marker:
            query += '&marker=' + quote(marker, safe='')
        answered_404 = False
        for node in nodes:
            path = '/%s/%s/%s/%s' % (node['device'], part, account,
                                     container)
            status, headers, body = self._call(node, 'GET', path, {}, query)
            if status == 404:
                answered_404 = True
            if status is None or not is_success(status):
                continue
            try:
                listing = json.loads(body) if status != 204 else []
            except ValueError:
                continue
            return listing, int(headers.get(POLICY_HEADER.lower(), 0))
        return ([], 0) if answered_404 else (None, 0)

    def reap_object(self, account, container, obj, policy, cpart, cnodes):
        ring = self._object_ring(policy)
        part, nodes = ring.get_nodes(account, container, obj)
        timestamp = Timestamp.now().internal
        ok = 0
        for index, node in enumerate(nodes):
            # Each object replica updates one container replica, as the
            # proxy arranges it, so every container DB gets the tombstone.
            cnode = cnodes[index % len(cnodes)]
            headers = {'X-Timestamp': timestamp,
                       'X-Container-Host': make_host(cnode['ip'],
                                                     cnode['port']),
                       'X-Container-Partition': str(cpart),
                       'X-Container-Device': cnode['device'],
                       POLICY_HEADER: str(policy)}
            path = '/%s/%s/%s/%s/%s' % (node['device'], part, account,
                                        container, obj)
            status, _h, _b = self._call(node, 'DELETE', path, headers)
            if status is not None and (is_success(status) or status == 404):
                ok += 1
        return ok >= quorum_size(len(nodes))

    def _delete_container(self, account, container, part, nodes):
        timestamp = Timestamp.now().internal
        ok = 0
        for node in nodes:
            path = '/%s/%s/%s/%s' % (node['device'], part, account,
                                     container)
            # No X-Account-* headers: the account is deleted and would
            # refuse the report; the reaper updates its own row instead.
            status, _h, _b = self._call(node, 'DELETE', path,
                                        {'X-Timestamp': timestamp})
            if status is not None and (is_success(status) or status == 404):
                ok += 1
        return ok >= quorum_size(len(nodes))

    def _object_ring(self, policy):
        name = policy_ring_name(policy)
        if name not in self.object_rings:
            self.object_rings[name] = Ring(self.daemon_conf.conf_dir, name)
        return self.object_rings[name]

    def _call(self, node, method, path, headers, query=None):
        dconf = self.daemon_conf
        try:
            return self.request(node['ip'], node['port'], method, path,
                                headers=headers, query=query,
                                conn_timeout=dconf.conn_timeout,
                                node_timeout=dconf.node_timeout)
        except BACKEND_ERRORS as err:
            self.logger.debug('%s: %s %s:%s%s failed: %s', self.name, method,
                              node['ip'], node['port'], path, err)
            return None, {}, b''


def main(argv=None):
    return run_daemon(AccountReaper, argv)
