"""The container-updater (``objstore-container-updater``).

Owns telling accounts what their containers hold: for every local
container DB whose current stats (put/delete timestamps, object count,
bytes used) differ from what it last reported (the broker's
``reported_*`` columns), it PUTs the stats to every replica of the account
and records them as reported once a quorum of account replicas took them.
The container server reports synchronously on container PUT/DELETE; this
daemon catches up on everything else (object rows arrive without an
account update, and synchronous updates may have failed).

Must not: change object rows, or create accounts (an account that answers
404 is counted and left; the report is retried next pass).
"""

import dataclasses
import sqlite3

from objstore.common.backend_client import direct_request
from objstore.common.daemon import (
    Daemon, DaemonConf, DaemonStats, RateLimiter, run_concurrently, run_daemon)
from objstore.common.db_layout import DATADIRS, iter_db_files
from objstore.common.exceptions import ConfigError, DatabaseError
from objstore.common.http_basics import is_success
from objstore.common.row_update import RowUpdateClient
from objstore.container.account_report import report_headers
from objstore.container.backend import ContainerBroker, stats_need_report
from objstore.ring.ring import Ring, quorum_size

SUMMARY_COUNTS = ('successes', 'failures', 'no_changes', 'account_missing',
                  'errors')


@dataclasses.dataclass(frozen=True)
class ContainerUpdaterConf(DaemonConf):
    """Options of [container-updater]."""

    bind_port: int = 6201
    interval: float = 300.0
    concurrency: int = 4
    node_timeout: float = 3.0
    conn_timeout: float = 0.5
    containers_per_second: float = 50.0

    def validate(self):
        DaemonConf.validate(self)
        if self.concurrency < 1:
            raise ConfigError('concurrency must be >= 1')
        if self.node_timeout <= 0 or self.conn_timeout <= 0:
            raise ConfigError('node_timeout and conn_timeout must be > 0')
        if self.containers_per_second < 0:
            raise ConfigError('containers_per_second must be >= 0')


class ContainerUpdater(Daemon):
    """See the module doc."""

    name = 'container-updater'
    first_pass_jitter = True
    conf_class = ContainerUpdaterConf

    def __init__(self, conf, logger=None, container_ring=None,
                 account_ring=None, request=direct_request):
        super().__init__(conf, logger)
        dconf = self.daemon_conf
        self.container_ring = container_ring or Ring(dconf.conf_dir,
                                                     'container')
        self.account_ring = account_ring or Ring(dconf.conf_dir, 'account')
        self.row_updates = RowUpdateClient(
            self.logger, dconf.conn_timeout, dconf.node_timeout,
            request=request)
        self.limiter = RateLimiter(
            items_per_second=dconf.containers_per_second)

    def run_once(self, devices=None, partitions=None, once=False):
        return self.run_device_pass(
            self.container_ring, devices,
            lambda dev, device_path: self.update_device(device_path,
                                                        partitions),
            SUMMARY_COUNTS, once)

    def update_device(self, device_path, partitions=None):
        stats = DaemonStats()

        def one(db_file):
            self.limiter.wait()
            self.process_container(db_file, stats)

        def failed(db_file, exc):
            stats.incr('errors')
            self.logger.error('%s: unexpected error on %s: %s', self.name,
                              db_file, exc)

        db_files = (db_file for _part, _hash, db_file in iter_db_files(
            device_path, DATADIRS['container'], partitions))
        run_concurrently(one, db_files,
                         self.daemon_conf.concurrency,
                         should_stop=lambda: self.stopping, on_error=failed)
        return stats

    def process_container(self, db_file, stats):
        broker = ContainerBroker(db_file, logger=self.logger)
        try:
            info = broker.get_info()
            if not stats_need_report(info):
                stats.incr('no_changes')
                return
            if self.report(info, stats):
                broker.set_reported(
                    put_timestamp=info['put_timestamp'],
                    delete_timestamp=info['delete_timestamp'],
                    object_count=info['object_count'],
                    bytes_used=info['bytes_used'])
                stats.incr('successes')
            else:
                stats.incr('failures')
        except (DatabaseError, sqlite3.DatabaseError) as err:
            stats.incr('errors')
            self.logger.warning('%s: cannot read %s: %s', self.name, db_file,
                                err)
        finally:
            broker.close()

    def report(self, info, stats):
        """Send the stats to every account replica; True on a quorum."""
        account, container = info['account'], info['container']
        part, nodes = self.account_ring.get_nodes(account)
        headers = report_headers(info)
        accepted = 0
        for node in nodes:
            status = self._put(node, part, account, container, headers)
            if status is not None and is_success(status):
                accepted += 1
            elif status == 404:
                stats.incr('account_missing')
        ok = accepted >= quorum_size(len(nodes))
        log = self.logger.debug if ok else self.logger.warning
        log('%s: %s/%s: %d/%d account replicas updated (objects=%s, '
            'bytes=%s)', self.name, account, container, accepted, len(nodes),
            info['object_count'], info['bytes_used'])
        return ok

    def _put(self, node, part, account, container, headers):
        path = '/%s/%s/%s/%s' % (node['device'], part, account, container)
        return self.row_updates.send(node['ip'], node['port'], 'PUT', path,
                                     headers)


def main(argv=None):
    return run_daemon(ContainerUpdater, argv)
