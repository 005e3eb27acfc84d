"""Prometheus metrics: the one module that imports prometheus_client.

Owns the request metrics every server keeps (counts by verb and status
class, latency histograms by verb, bytes in and out), the proxy's backend
error counter, gauges built at scrape time from values a caller supplies
(``Sample``), rendering the text format, and parsing it (``parse_samples``).

Prefork workers each count in their own process; a scrape reaches one of
them, so the counts of all workers of a server are kept in files
(prometheus_client's multiprocess mode) and summed when rendered. The
mode is chosen when prometheus_client is first imported, so the server's
parent calls ``use_multiprocess_dir`` before it forks and before any
metric exists; that is why this module imports prometheus_client only in
``_client()``. A process that never calls it (in-process test servers,
tools) keeps its metrics in memory. ``worker_exited`` tells the files of
a dead worker apart (its counters are kept: counts never go back).

Metric objects are process-wide, made on first use per name (a registry
holds each name once); the ``server`` label tells the servers of one
process apart. Their labelled children are kept here too, per label
values: a request's counting is then a dict lookup per metric rather
than prometheus_client's ``labels()`` (argument checks, a lock).
"""

import dataclasses
import importlib
import os
import shutil

MULTIPROC_ENV = 'PROMETHEUS_MULTIPROC_DIR'
# Upper bounds (seconds) of the latency histogram's buckets.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0)

_metrics = {}
# (metric name, label values) -> that metric's child with those labels.
_children = {}


def _client():
    return importlib.import_module('prometheus_client')


def use_multiprocess_dir(path):
    """Keep this process's and its children's metrics in files under
    ``path`` (emptied first: counts start again with the server)."""
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)
    os.environ[MULTIPROC_ENV] = path


def worker_exited(pid):
    """Forget the live gauges of a dead worker (counters stay)."""
    if os.environ.get(MULTIPROC_ENV):
        importlib.import_module('prometheus_client.multiprocess') \
            .mark_process_dead(pid)


def _metric(kind, name, documentation, labels, **options):
    metric = _metrics.get(name)
    if metric is None:
        metric = getattr(_client(), kind)(name, documentation, labels,
                                          **options)
        _metrics[name] = metric
    return metric


def _child(kind, name, documentation, labels, values, **options):
    child = _children.get((name, values))
    if child is None:
        child = _metric(kind, name, documentation, labels,
                        **options).labels(*values)
        _children[name, values] = child
    return child


def _add(child, amount):
    # In multiprocess mode every inc() is a locked write to a file-backed
    # value; adding nothing (the body bytes of a HEAD) is skipped.
    if amount:
        child.inc(amount)


def status_class(status):
    """'2xx' for 204; 'other' for what is not an HTTP status.

    >>> status_class(204), status_class(499), status_class(None)
    ('2xx', '4xx', 'other')
    """
    if isinstance(status, int) and 100 <= status < 600:
        return '%dxx' % (status // 100)
    return 'other'


def observe_request(server, method, status, seconds, bytes_in, bytes_out):
    """Count one request a server answered."""
    _child('Counter', 'objstore_requests', 'Requests answered',
           ('server', 'method', 'status'),
           (server, method, status_class(status))).inc()
    _child('Histogram', 'objstore_request_duration_seconds',
           'Time from request to the end of the answer',
           ('server', 'method'), (server, method),
           buckets=LATENCY_BUCKETS).observe(seconds)
    _add(_child('Counter', 'objstore_received_bytes', 'Request body bytes',
                ('server',), (server,)), bytes_in)
    _add(_child('Counter', 'objstore_sent_bytes', 'Answer body bytes',
                ('server',), (server,)), bytes_out)


def count_backend_error(node):
    """Count one error of a storage node the proxy talked to."""
    _child('Counter', 'objstore_backend_errors',
           'Errors of storage nodes seen by the proxy',
           ('node',), (node,)).inc()


def count_error_limited(node):
    """Count one time a node was error-limited (skipped for a while)."""
    _child('Counter', 'objstore_error_limited',
           'Times the proxy started skipping a storage node',
           ('node',), (node,)).inc()


@dataclasses.dataclass(frozen=True)
class Sample:
    """One gauge value computed at scrape time."""

    name: str
    documentation: str
    labels: dict
    value: float


def _gauge_families(samples):
    core = importlib.import_module('prometheus_client.core')
    families = {}
    for sample in samples:
        family = families.get(sample.name)
        if family is None:
            family = families[sample.name] = core.GaugeMetricFamily(
                sample.name, sample.documentation,
                labels=sorted(sample.labels))
        family.add_metric([str(sample.labels[key])
                           for key in sorted(sample.labels)], sample.value)
    return list(families.values())


class _SampleCollector:
    def __init__(self, samples):
        self._samples = samples

    def collect(self):
        return _gauge_families(self._samples)


def render(samples=()):
    """(body, content type) of every metric of this server (all its
    workers' in multiprocess mode) plus the gauges ``samples``."""
    client = _client()
    registry = client.CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        importlib.import_module('prometheus_client.multiprocess') \
            .MultiProcessCollector(registry)
    else:
        for metric in _metrics.values():
            registry.register(metric)
    registry.register(_SampleCollector(list(samples)))
    return client.generate_latest(registry), client.CONTENT_TYPE_LATEST


def parse_samples(text):
    """[(sample name, {label: value}, value)] of a text-format scrape,
    for readers of other servers' ``/metrics`` (the proxy's console)."""
    parser = importlib.import_module('prometheus_client.parser')
    return [(sample.name, dict(sample.labels), sample.value)
            for family in parser.text_string_to_metric_families(text)
            for sample in family.samples]
