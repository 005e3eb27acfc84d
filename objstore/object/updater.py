"""The object updater: delivers container updates the object server could not.

Owns retrying the async pendings of this node's devices
(``<device>/async_pending[-N]/``, format in ``objstore.object.asyncpending``):
each is sent, as the object server would have, to every container node it
lists (``PUT|DELETE /<cdev>/<cpart>/<account>/<container>/<obj>`` with the
stored headers; those sent to one container at once go as one batch,
common.row_update.RowBatcher). The file is removed once every one of them answered 2xx;
otherwise it stays for the next pass. It must not touch object files and
does not decide listing contents: the container server merges rows by
timestamp, so resending an update is harmless and order does not matter.

Superseded updates: files of one object sort oldest first (their names
end in the write's timestamp). An older update is dropped unsent when a
newer one for the same object exists, because the newer write's update
went to every container replica: each one either has the newer row or is
listed in the newer file, which wins the timestamp merge anyway.

Unreadable files are moved to ``<device>/quarantined/async_pending[-N]/``
for an operator to inspect, never silently deleted.
"""

import dataclasses
import os
import time

from objstore.common import green
from objstore.common.backend_client import direct_request
from objstore.common.daemon import (
    Daemon, DaemonConf, DaemonStats, RateLimiter, run_concurrently, run_daemon)
from objstore.common.exceptions import ConfigError
from objstore.common.http_basics import is_success
from objstore.common.row_update import (
    BatchRow, RowBatcher, RowUpdateClient, parse_host)
from objstore.object import asyncpending, hashdir, ondisk

SUMMARY_COUNTS = ('async_pendings', 'successes', 'failures', 'superseded',
                  'quarantines')


@dataclasses.dataclass(frozen=True)
class ContainerUpdateDaemonConf(DaemonConf):
    """Options shared by the daemons that send container updates (this
    updater and the object-expirer)."""

    interval: float = 300.0
    concurrency: int = 8
    conn_timeout: float = 0.5
    node_timeout: float = 10.0

    def validate(self):
        super().validate()
        if self.concurrency < 1:
            raise ConfigError('concurrency must be >= 1')
        if self.conn_timeout <= 0 or self.node_timeout <= 0:
            raise ConfigError('conn_timeout and node_timeout must be > 0')


@dataclasses.dataclass(frozen=True)
class ObjectUpdaterConf(ContainerUpdateDaemonConf):
    """Options of [object-updater] (DaemonConf's come from [DEFAULT])."""

    objects_per_second: float = 50.0

    def validate(self):
        super().validate()
        if self.objects_per_second < 0:
            raise ConfigError('objects_per_second must be >= 0')


def group_superseded(pendings):
    """Yield (path, update, superseded) with ``superseded`` True for every
    pending followed by a newer one of the same object hash.

    ``pendings`` is (path, update) in name order, as ``iter_async_pendings``
    yields them, so one object's files come together, oldest first.
    """
    held = None
    for path, update in pendings:
        obj_hash = os.path.basename(path).partition('-')[0]
        if held is not None:
            yield held[0], held[1], held[2] == obj_hash
        held = (path, update, obj_hash)
    if held is not None:
        yield held[0], held[1], False


class ObjectUpdater(Daemon):
    """``objstore-object-updater``; ``http`` (direct_request-like) and
    ``clock``/``sleep`` may be injected by tests."""

    name = 'object-updater'
    first_pass_jitter = True
    conf_class = ObjectUpdaterConf

    def __init__(self, conf, logger=None, http=direct_request,
                 clock=time.monotonic, sleep=green.sleep):
        super().__init__(conf, logger)
        # The pendings left by an outage are mostly for a few containers:
        # those sent at once to one container go as one batch.
        self.row_updates = RowBatcher(RowUpdateClient(
            self.logger, self.daemon_conf.conn_timeout,
            self.daemon_conf.node_timeout, request=http))
        self._clock = clock
        self._sleep = sleep

    def run_once(self, devices=None, once=False, **_kw):
        return self.run_local_device_pass(devices, self.update_device,
                                          SUMMARY_COUNTS, once)

    def update_device(self, device, once=False):
        """Retry every async pending of one device; write its status."""
        stats = DaemonStats()
        device_path = os.path.join(self.daemon_conf.devices, device)
        limiter = RateLimiter(self.daemon_conf.objects_per_second,
                              clock=self._clock, sleep=self._sleep)
        for policy_index in hashdir.policy_indexes(device_path,
                                                   ondisk.ASYNC_PENDING):
            items = group_superseded(
                asyncpending.iter_async_pendings(device_path, policy_index))
            run_concurrently(
                lambda item: self.process(device_path, policy_index, item,
                                          limiter, stats),
                items, self.daemon_conf.concurrency,
                should_stop=lambda: self.stopping,
                on_error=lambda item, exc: self._failed(item, exc, stats))
        stats.finish()
        self.write_device_status(device, stats, once)
        return stats

    def _failed(self, item, exc, stats):
        stats.incr('failures')
        self.logger.error('async pending %s failed: %s', item[0], exc,
                          exc_info=exc)

    def process(self, device_path, policy_index, item, limiter, stats):
        path, update, superseded = item
        stats.incr('async_pendings')
        if update is None:
            self.quarantine(device_path, policy_index, path)
            stats.incr('quarantines')
            return
        if superseded:
            asyncpending.remove_async_pending(path)
            stats.incr('superseded')
            return
        limiter.wait()
        if self.send_update(update):
            asyncpending.remove_async_pending(path)
            stats.incr('successes')
        else:
            stats.incr('failures')

    def send_update(self, update):
        """True when every container node the update lists took it."""
        nodes = update.get('container_nodes') or []
        if not nodes:
            self.logger.error('async pending for /%s/%s/%s names no '
                              'container node', update['account'],
                              update['container'], update['obj'])
            return False
        results = [self._send_one(update, node) for node in nodes]
        return all(results)

    def _send_one(self, update, node):
        try:
            ip, port = parse_host(node['host'])
            db_path = '/%s/%s/%s/%s' % (node['device'], node['partition'],
                                        update['account'],
                                        update['container'])
        except (KeyError, TypeError, ValueError) as err:
            self.logger.error('bad container node %r: %s', node, err)
            return False
        path = '%s/%s' % (db_path, update['obj'])
        status = self.row_updates.send(ip, port, db_path, BatchRow(
            update['op'], update['obj'], update['headers']))
        if status is not None and not is_success(status):
            self.logger.warning('update %s %s to %s answered %s',
                                update['op'], path, node['host'], status)
        return status is not None and is_success(status)

    def quarantine(self, device_path, policy_index, path):
        target_dir = os.path.join(
            device_path, ondisk.QUARANTINED,
            ondisk.policy_dir(ondisk.ASYNC_PENDING, policy_index))
        os.makedirs(target_dir, exist_ok=True)
        target = os.path.join(target_dir, os.path.basename(path))
        os.replace(path, target)
        hashdir.remove_dir_if_empty(os.path.dirname(path))
        self.logger.warning('quarantined unreadable async pending %s to %s',
                            path, target)


def main(argv=None):
    return run_daemon(ObjectUpdater, argv)


if __name__ == '__main__':
    raise SystemExit(main())
