"""The metrics filter over a small WSGI app and a real devices dir and
recon cache: what it counts, and the node figures it reports."""

import io
import os

from prometheus_client.parser import text_string_to_metric_families

from objstore.common.daemon import STATUS_FORMAT, write_status_file
from objstore.middleware.metrics import Metrics
from objstore.proxy.errorlimit import ErrorLimiter


def echo_app(environ, start_response):
    body = environ['wsgi.input'].read()
    status = '201 Created' if environ['REQUEST_METHOD'] == 'PUT' else \
        '404 Not Found'
    start_response(status, [('Content-Length', str(len(body) * 2))])
    return [body, body]


def call(app, method, path, body=b''):
    environ = {'REQUEST_METHOD': method, 'PATH_INFO': path,
               'wsgi.input': io.BytesIO(body),
               'CONTENT_LENGTH': str(len(body))}
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer['status'] = status
        answer['headers'] = dict(headers)
    data = b''.join(app(environ, start_response))
    return answer['status'], answer['headers'], data


def samples(app):
    status, headers, body = call(app, 'GET', '/metrics')
    assert status == '200 OK'
    assert headers['Content-Type'].startswith('text/plain')
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples}


def test_requests_are_counted_by_verb_status_and_bytes():
    app = Metrics(echo_app, {'log_name': 'unit-echo'})
    before = samples(app)
    assert call(app, 'PUT', '/a/c/o', b'12345')[2] == b'1234512345'
    call(app, 'GET', '/a/c/missing')
    after = samples(app)

    def moved(name, **labels):
        key = (name, frozenset(dict(labels, server='unit-echo').items()))
        return after.get(key, 0) - before.get(key, 0)
    assert moved('objstore_requests_total', method='PUT', status='2xx') == 1
    assert moved('objstore_requests_total', method='GET', status='4xx') == 1
    assert moved('objstore_received_bytes_total') == 5
    assert moved('objstore_sent_bytes_total') == 10
    assert moved('objstore_request_duration_seconds_count',
                 method='PUT') == 1


def test_head_of_metrics_has_no_body_and_other_paths_pass():
    app = Metrics(echo_app, {})
    assert call(app, 'HEAD', '/metrics')[2] == b''
    assert call(app, 'PUT', '/metrics', b'ab')[0] == '201 Created'


def test_node_stats_report_daemons_devices_and_backlogs(tmp_path):
    devices = tmp_path / 'devices'
    pending = devices / 'd1' / 'async_pending' / 'abc'
    pending.mkdir(parents=True)
    (pending / 'hash-1').write_bytes(b'x')
    (pending / 'hash-2').write_bytes(b'x')
    (devices / 'd1' / 'quarantined' / 'objects' / 'bad').mkdir(parents=True)
    cache = tmp_path / 'recon'
    write_status_file(str(cache), 'object-replicator', 'd1', {
        'format': STATUS_FORMAT, 'daemon': 'object-replicator',
        'device': 'd1', 'pass_start': 100.0, 'pass_end': 130.0,
        'duration': 30.0, 'once': False,
        'counts': {'partitions': 12, 'failures': 2, 'errors': 1},
        'timings': {}})
    app = Metrics(echo_app, {
        'node_stats': 'true', 'devices': str(devices),
        'mount_check': 'false', 'recon_cache_path': str(cache)},
        clock=lambda: 190.0)
    found = samples(app)

    def gauge(name, **labels):
        return found[(name, frozenset(labels.items()))]
    replicator = {'daemon': 'object-replicator', 'device': 'd1'}
    assert gauge('objstore_daemon_pass_duration_seconds', **replicator) == 30
    assert gauge('objstore_daemon_pass_age_seconds', **replicator) == 60
    assert gauge('objstore_daemon_pass_failures', **replicator) == 3
    assert gauge('objstore_daemon_pass_items', count='partitions',
                 **replicator) == 12
    assert gauge('objstore_async_pendings', device='d1') == 2
    assert gauge('objstore_quarantined', device='d1', kind='objects') == 1
    assert gauge('objstore_device_mounted', device='d1') == 1
    assert gauge('objstore_device_size_bytes', device='d1') == \
        os.statvfs(devices / 'd1').f_blocks * \
        os.statvfs(devices / 'd1').f_frsize


def test_backend_errors_and_limited_nodes_are_counted():
    app = Metrics(echo_app, {})
    node = {'ip': '10.9.9.9', 'port': 6200, 'device': 'unit-d'}
    label = frozenset({('node', '10.9.9.9:6200/unit-d')})
    before = samples(app)
    limiter = ErrorLimiter(interval=60, limit=3, clock=lambda: 1000.0)
    for _ in range(4):
        limiter.record_error(node)
    limiter.make_limited(node)
    after = samples(app)
    errors = ('objstore_backend_errors_total', label)
    limited = ('objstore_error_limited_total', label)
    assert after[errors] - before.get(errors, 0) == 4
    assert after[limited] - before.get(limited, 0) == 2
