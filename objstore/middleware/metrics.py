"""metrics: Prometheus metrics of a server at ``GET /metrics``, and the
request counts behind them.

Every request that passes this filter is counted (common.metrics): verb,
status class, latency, bytes of the request body read and of the answer
sent. ``GET``/``HEAD /metrics`` answers in Prometheus' text format. In
the proxy the path is public, as a scrape target is (it shows counts and
node names, no data); on a storage server it is a path the proxy never
forwards (the proxy only sends ``/<device>/<partition>/...`` there).

With ``node_stats = true`` (one server per node: the aio sets it on the
object server) the answer also has the node's figures, read from disk at
scrape time as ``/recon`` reads them (middleware.recon): each daemon's
last pass per device (duration, end time, age, its counts, failures),
async pendings, quarantined entries and disk usage per device.
"""

import dataclasses
import time

from objstore.common import metrics
from objstore.common.config import ConfBase
from objstore.middleware.recon import (
    QUARANTINE_KINDS, async_pending, daemon_status, disk_usage, quarantined)

METRICS_PATH = '/metrics'
FAILURE_COUNTS = ('failures', 'errors')


@dataclasses.dataclass(frozen=True)
class MetricsConf(ConfBase):
    log_name: str = 'objstore'
    node_stats: bool = False
    devices: str = '/srv/node'
    mount_check: bool = True
    recon_cache_path: str = '/var/cache/objstore'


class CountingInput:
    """``wsgi.input`` that counts the bytes the app reads."""

    def __init__(self, raw):
        self._raw = raw
        self.count = 0

    def read(self, *args):
        data = self._raw.read(*args)
        self.count += len(data)
        return data

    def readline(self, *args):
        data = self._raw.readline(*args)
        self.count += len(data)
        return data

    def __iter__(self):
        return iter(self.readline, b'')

    def __getattr__(self, name):
        return getattr(self._raw, name)


class Metrics:
    def __init__(self, app, conf, clock=time.time):
        self.app = app
        self.conf = MetricsConf.from_conf(conf)
        self.clock = clock

    def __call__(self, environ, start_response):
        if environ.get('PATH_INFO') == METRICS_PATH and \
                environ.get('REQUEST_METHOD') in ('GET', 'HEAD'):
            return self.scrape(environ, start_response)
        return self.counted(environ, start_response)

    def scrape(self, environ, start_response):
        body, content_type = metrics.render(
            self.node_samples() if self.conf.node_stats else ())
        start_response('200 OK', [('Content-Type', content_type),
                                  ('Content-Length', str(len(body)))])
        return [] if environ['REQUEST_METHOD'] == 'HEAD' else [body]

    def counted(self, environ, start_response):
        started = time.monotonic()
        counting = environ['wsgi.input'] = CountingInput(
            environ['wsgi.input'])
        answer = {}

        def remember_status(status, headers, exc_info=None):
            answer['status'] = int(status.split(' ', 1)[0])
            return start_response(status, headers, exc_info)

        app_iter = self.app(environ, remember_status)
        return self._iter_counted(app_iter, environ['REQUEST_METHOD'],
                                  answer, counting, started)

    def _iter_counted(self, app_iter, method, answer, counting, started):
        sent = 0
        try:
            for chunk in app_iter:
                sent += len(chunk)
                yield chunk
        finally:
            close = getattr(app_iter, 'close', None)
            if close is not None:
                close()
            metrics.observe_request(
                self.conf.log_name, method, answer.get('status'),
                time.monotonic() - started, counting.count, sent)

    def node_samples(self):
        """The node's figures as gauges (see the module doc)."""
        conf = self.conf
        samples = []
        for daemon, devices in daemon_status(conf.recon_cache_path,
                                             self.clock()).items():
            for device, record in devices.items():
                samples.extend(_pass_samples(daemon, device, record))
        pending = async_pending(conf.devices, conf.mount_check)
        for device, count in pending['devices'].items():
            samples.append(metrics.Sample(
                'objstore_async_pendings', 'Container updates waiting',
                {'device': device}, count))
        held = quarantined(conf.devices, conf.mount_check)
        for device, counts in held['devices'].items():
            for kind in QUARANTINE_KINDS:
                samples.append(metrics.Sample(
                    'objstore_quarantined', 'Quarantined entries',
                    {'device': device, 'kind': kind}, counts[kind]))
        for usage in disk_usage(conf.devices, conf.mount_check):
            samples.extend(_disk_samples(usage))
        return samples


def _pass_samples(daemon, device, record):
    labels = {'daemon': daemon, 'device': device}
    found = []
    for name, key, documentation in (
            ('objstore_daemon_pass_duration_seconds', 'duration',
             'Duration of the last pass'),
            ('objstore_daemon_pass_end_timestamp_seconds', 'pass_end',
             'When the last pass ended'),
            ('objstore_daemon_pass_age_seconds', 'age',
             'Seconds since the last pass ended')):
        if isinstance(record.get(key), (int, float)):
            found.append(metrics.Sample(name, documentation, labels,
                                        record[key]))
    counts = record.get('counts') or {}
    for count, value in counts.items():
        found.append(metrics.Sample(
            'objstore_daemon_pass_items', 'Counts of the last pass',
            dict(labels, count=count), value))
    found.append(metrics.Sample(
        'objstore_daemon_pass_failures', 'Failures and errors of the last '
        'pass', labels, sum(counts.get(name, 0) for name in FAILURE_COUNTS)))
    return found


def _disk_samples(usage):
    labels = {'device': usage['device']}
    found = [metrics.Sample('objstore_device_mounted', '1 when usable',
                            labels, 1 if usage['mounted'] else 0)]
    for key in ('size', 'used', 'avail'):
        if key in usage:
            found.append(metrics.Sample(
                'objstore_device_%s_bytes' % key, 'Device %s bytes' % key,
                labels, usage[key]))
    return found


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)

    def metrics_filter(app):
        return Metrics(app, conf)
    return metrics_filter
