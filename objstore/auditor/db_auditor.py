"""The account and container auditors.

Entry points ``objstore-container-auditor`` and ``objstore-account-auditor``.

Owns the audit pass over a node's DBs: SQLite's integrity check on each,
rate limited (``databases_per_second``), and the quarantine of a DB that
fails it: its whole hash dir moves to
``<device>/quarantined/<accounts|containers>/<hash>/`` where an operator
can inspect it, and the replicator, no longer finding it, lets the other
replicas push a good copy back.

Must not: repair a DB or delete one; quarantine only moves.
"""

import dataclasses
import os
import sqlite3
import uuid

from objstore.account.backend import AccountBroker
from objstore.common.daemon import (
    Daemon, DaemonConf, DaemonStats, RateLimiter, run_daemon)
from objstore.common.db_layout import iter_db_files
from objstore.common.durable import fsync_dir
from objstore.common.exceptions import (
    ConfigError, DatabaseCorrupt, DatabaseNotFound, LockTimeout)
from objstore.container.backend import ContainerBroker
from objstore.ring.ring import Ring

SUMMARY_COUNTS = ('passes', 'quarantines', 'errors')


@dataclasses.dataclass(frozen=True)
class DBAuditorConf(DaemonConf):
    """Options of [container-auditor] and [account-auditor]."""

    interval: float = 1800.0
    databases_per_second: float = 200.0

    def validate(self):
        DaemonConf.validate(self)
        if self.databases_per_second < 0:
            raise ConfigError('databases_per_second must be >= 0')


@dataclasses.dataclass(frozen=True)
class ContainerAuditorConf(DBAuditorConf):
    bind_port: int = 6201


@dataclasses.dataclass(frozen=True)
class AccountAuditorConf(DBAuditorConf):
    bind_port: int = 6202


def quarantine_db_dir(device_path, datadir, db_hash, db_file):
    """Move the DB's hash dir under ``quarantined/<datadir>/``; the new path.

    A second quarantine of the same hash gets a unique suffix instead of
    replacing the evidence of the first.
    """
    hash_dir = os.path.dirname(db_file)
    target_root = os.path.join(device_path, 'quarantined', datadir)
    os.makedirs(target_root, exist_ok=True)
    target = os.path.join(target_root, db_hash)
    if os.path.exists(target):
        target = '%s-%s' % (target, uuid.uuid4().hex)
    os.rename(hash_dir, target)
    fsync_dir(target_root)
    fsync_dir(os.path.dirname(hash_dir))
    return target


class DBAuditor(Daemon):
    """Integrity-checks every local DB of one kind."""

    name = None
    first_pass_jitter = True
    conf_class = DBAuditorConf
    broker_class = None
    datadir = None
    ring_name = None

    def __init__(self, conf, logger=None, ring=None):
        super().__init__(conf, logger)
        dconf = self.daemon_conf
        self.ring = ring or Ring(dconf.conf_dir, self.ring_name)
        self.limiter = RateLimiter(items_per_second=dconf.databases_per_second)

    def run_once(self, devices=None, partitions=None, once=False):
        return self.run_device_pass(
            self.ring, devices,
            lambda dev, device_path: self.audit_device(device_path,
                                                       partitions),
            SUMMARY_COUNTS, once)

    def audit_device(self, device_path, partitions=None):
        stats = DaemonStats()
        for _part, db_hash, db_file in iter_db_files(
                device_path, self.datadir, partitions):
            if self.stopping:
                break
            self.limiter.wait()
            self.audit_db(device_path, db_hash, db_file, stats)
        return stats

    def audit_db(self, device_path, db_hash, db_file, stats):
        broker = self.broker_class(db_file, logger=self.logger)
        try:
            broker.check_integrity()
        except DatabaseCorrupt as err:
            broker.close()
            self._quarantine(device_path, db_hash, db_file, err, stats)
            return
        except (DatabaseNotFound, LockTimeout, sqlite3.OperationalError,
                OSError) as err:
            # Gone meanwhile (a handoff pushed home) or busy: not corrupt.
            stats.incr('errors')
            self.logger.warning('%s: could not audit %s: %s', self.name,
                                db_file, err)
            return
        finally:
            broker.close()
        stats.incr('passes')

    def _quarantine(self, device_path, db_hash, db_file, reason, stats):
        try:
            target = quarantine_db_dir(device_path, self.datadir, db_hash,
                                       db_file)
        except OSError as err:
            stats.incr('errors')
            self.logger.error('%s: %s is corrupt (%s) but could not be '
                              'quarantined: %s', self.name, db_file, reason,
                              err)
            return
        stats.incr('quarantines')
        self.logger.warning('%s: quarantined %s to %s: %s', self.name,
                            db_file, target, reason)


class ContainerAuditor(DBAuditor):
    name = 'container-auditor'
    conf_class = ContainerAuditorConf
    broker_class = ContainerBroker
    datadir = 'containers'
    ring_name = 'container'


class AccountAuditor(DBAuditor):
    name = 'account-auditor'
    conf_class = AccountAuditorConf
    broker_class = AccountBroker
    datadir = 'accounts'
    ring_name = 'account'


def container_main(argv=None):
    return run_daemon(ContainerAuditor, argv)


def account_main(argv=None):
    return run_daemon(AccountAuditor, argv)
