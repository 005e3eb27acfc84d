"""recon: ``GET /recon/<what>`` on a storage server, for ``objstore-recon``.

Answers from this node's disks and the daemons' status files (the format
is ``objstore.common.daemon``'s), as JSON; every other request goes down
the pipeline untouched. Endpoints:

* ``/recon/replication[/<kind>]``: per replicator daemon (``<kind>``
  filters to object, container or account) and device, the last pass's
  start, end, duration, age (seconds since it ended) and counts.
* ``/recon/daemons[/<kind>]``: the same for every daemon.
* ``/recon/async``: async pendings waiting on each device, counted now,
  and the object-updater's last pass counts.
* ``/recon/quarantined``: entries in ``quarantined/{objects,containers,
  accounts}`` per device, and totals.
* ``/recon/diskusage``: size, used and available bytes of each device.

Must not: write anything, or read object data or DBs.
"""

import dataclasses
import json
import os
import time

from objstore.common.config import ConfBase
from objstore.common.daemon import read_status_file, usable_device_path

PREFIX = '/recon/'
KINDS = ('object', 'container', 'account')
QUARANTINE_KINDS = ('objects', 'containers', 'accounts')


@dataclasses.dataclass(frozen=True)
class ReconConf(ConfBase):
    devices: str = '/srv/node'
    mount_check: bool = True
    recon_cache_path: str = '/var/cache/objstore'


def _listdir(path):
    try:
        return sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []


def daemon_status(recon_cache_path, now, kind=None, suffix=''):
    """{daemon: {device: status + age}} of the status files present."""
    found = {}
    for daemon in _listdir(recon_cache_path):
        if kind and not daemon.startswith(kind + '-'):
            continue
        if suffix and not daemon.endswith(suffix):
            continue
        devices = {}
        for entry in _listdir(os.path.join(recon_cache_path, daemon)):
            if not entry.endswith('.json') or entry.startswith('.'):
                continue
            device = entry[:-len('.json')]
            record = read_status_file(recon_cache_path, daemon, device)
            if not isinstance(record, dict):
                continue
            end = record.get('pass_end')
            if isinstance(end, (int, float)):
                record['age'] = round(max(0.0, now - end), 3)
            devices[device] = record
        if devices:
            found[daemon] = devices
    return found


def count_files(root):
    total = 0
    for _dirpath, _dirnames, filenames in os.walk(root):
        total += sum(1 for name in filenames if not name.startswith('.'))
    return total


def async_pending(devices_root, mount_check):
    """{'total': n, 'devices': {device: n}} of files in async_pending*/."""
    per_device = {}
    for device in _listdir(devices_root):
        path = usable_device_path(devices_root, device, mount_check)
        if path is None:
            continue
        per_device[device] = sum(
            count_files(os.path.join(path, name)) for name in _listdir(path)
            if name == 'async_pending' or name.startswith('async_pending-'))
    return {'total': sum(per_device.values()), 'devices': per_device}


def quarantined(devices_root, mount_check):
    """Quarantined entries per kind, per device and in total."""
    totals = dict.fromkeys(QUARANTINE_KINDS, 0)
    per_device = {}
    for device in _listdir(devices_root):
        path = usable_device_path(devices_root, device, mount_check)
        if path is None:
            continue
        counts = {kind: len(_listdir(os.path.join(path, 'quarantined', kind)))
                  for kind in QUARANTINE_KINDS}
        per_device[device] = counts
        for kind, count in counts.items():
            totals[kind] += count
    return dict(totals, devices=per_device)


def disk_usage(devices_root, mount_check):
    """[{device, mounted, size, used, avail}] of the devices dir entries."""
    usage = []
    for device in _listdir(devices_root):
        path = usable_device_path(devices_root, device, mount_check)
        if path is None:
            usage.append({'device': device, 'mounted': False})
            continue
        try:
            stat = os.statvfs(path)
        except OSError as err:
            usage.append({'device': device, 'mounted': False,
                          'error': err.strerror})
            continue
        size = stat.f_blocks * stat.f_frsize
        avail = stat.f_bavail * stat.f_frsize
        used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
        usage.append({'device': device, 'mounted': True, 'size': size,
                      'used': used, 'avail': avail})
    return usage


class Recon:
    """The filter; ``clock`` is injectable for the age arithmetic."""

    def __init__(self, app, conf, clock=time.time):
        self.app = app
        self.conf = ReconConf.from_conf(conf)
        self.clock = clock

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '')
        if not path.startswith(PREFIX):
            return self.app(environ, start_response)
        if environ.get('REQUEST_METHOD') not in ('GET', 'HEAD'):
            return _reply(start_response, '405 Method Not Allowed',
                          {'error': 'only GET'}, [('Allow', 'GET, HEAD')])
        parts = path[len(PREFIX):].split('/')
        handler = self.handlers().get(parts[0])
        kind = parts[1] if len(parts) > 1 else None
        if handler is None or len(parts) > 2 or (
                len(parts) == 2 and kind not in KINDS):
            return _reply(start_response, '404 Not Found',
                          {'error': 'unknown recon path %s' % path})
        body = _reply(start_response, '200 OK', handler(kind))
        return [] if environ['REQUEST_METHOD'] == 'HEAD' else body

    def handlers(self):
        conf = self.conf
        return {
            'replication': lambda kind: daemon_status(
                conf.recon_cache_path, self.clock(), kind, '-replicator'),
            'daemons': lambda kind: daemon_status(conf.recon_cache_path,
                                                  self.clock(), kind),
            'async': lambda _kind: dict(
                async_pending(conf.devices, conf.mount_check),
                updater=daemon_status(conf.recon_cache_path, self.clock(),
                                      'object', '-updater').get(
                                          'object-updater', {})),
            'quarantined': lambda _kind: quarantined(conf.devices,
                                                     conf.mount_check),
            'diskusage': lambda _kind: disk_usage(conf.devices,
                                                  conf.mount_check),
        }


def _reply(start_response, status, payload, extra_headers=()):
    body = json.dumps(payload, sort_keys=True).encode('utf-8')
    start_response(status, [('Content-Type', 'application/json'),
                            ('Content-Length', str(len(body)))] +
                   list(extra_headers))
    return [body]


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: Recon(app, conf)
