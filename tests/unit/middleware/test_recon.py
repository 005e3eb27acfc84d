"""The recon filter: status files, async pendings, quarantines, disk usage."""

import json
import os

import pytest

from objstore.common.backend_client import direct_request
from objstore.common.daemon import DaemonStats, write_status_file
from objstore.common.exceptions import ConfigError
from objstore.common.wsgi import serve_in_thread
from objstore.middleware.recon import Recon, filter_factory

NOW = 1700000100.0


def downstream(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'from the app']


def call(app, path, method='GET'):
    seen = {}

    def start_response(status, headers):
        seen['status'] = status
        seen['headers'] = dict(headers)

    body = b''.join(app({'PATH_INFO': path, 'REQUEST_METHOD': method},
                        start_response))
    return int(seen['status'].split()[0]), seen['headers'], body


@pytest.fixture
def node(tmp_path):
    devices = tmp_path / 'devices'
    for dev in ('d1', 'd2'):
        (devices / dev).mkdir(parents=True)
    cache = tmp_path / 'recon'
    return {'devices': str(devices), 'recon_cache_path': str(cache),
            'mount_check': 'false'}


def status(daemon, device, end, **counts):
    stats = DaemonStats(clock=lambda: end - 2.0)
    for name, value in counts.items():
        stats.incr(name, value)
    stats.end = end
    return stats.status_record(daemon, device)


def test_other_requests_go_to_the_app(node):
    app = Recon(downstream, node)
    assert call(app, '/d1/0/a')[2] == b'from the app'
    assert call(app, '/reconx')[2] == b'from the app'


def test_replication_reports_age_and_counts_per_daemon(node):
    cache = node['recon_cache_path']
    write_status_file(cache, 'object-replicator', 'd1',
                      status('object-replicator', 'd1', NOW - 30,
                             successes=5, rsync=2))
    write_status_file(cache, 'container-replicator', 'd2',
                      status('container-replicator', 'd2', NOW - 10,
                             failures=1))
    write_status_file(cache, 'container-auditor', 'd2',
                      status('container-auditor', 'd2', NOW - 10))
    app = Recon(downstream, node, clock=lambda: NOW)
    code, headers, body = call(app, '/recon/replication')
    assert code == 200 and headers['Content-Type'] == 'application/json'
    data = json.loads(body)
    assert set(data) == {'object-replicator', 'container-replicator'}
    assert data['object-replicator']['d1']['age'] == 30
    assert data['object-replicator']['d1']['counts'] == {'successes': 5,
                                                        'rsync': 2}
    only = json.loads(call(app, '/recon/replication/container')[2])
    assert set(only) == {'container-replicator'}
    every = json.loads(call(app, '/recon/daemons/container')[2])
    assert set(every) == {'container-replicator', 'container-auditor'}


def test_unreadable_status_files_are_ignored(node):
    broken = os.path.join(node['recon_cache_path'], 'object-replicator')
    os.makedirs(broken)
    with open(os.path.join(broken, 'd1.json'), 'w') as out:
        out.write('{not json')
    app = Recon(downstream, node, clock=lambda: NOW)
    assert json.loads(call(app, '/recon/replication')[2]) == {}


def test_async_pendings_are_counted_per_device(node):
    d1 = os.path.join(node['devices'], 'd1')
    for sub, name in (('async_pending/abc', 'x-1'),
                      ('async_pending/abd', 'y-2'),
                      ('async_pending-1/abc', 'z-3'),
                      ('async_pending/abc', '.tmp-half-written')):
        os.makedirs(os.path.join(d1, sub), exist_ok=True)
        open(os.path.join(d1, sub, name), 'w').close()
    data = json.loads(call(Recon(downstream, node), '/recon/async')[2])
    assert data['total'] == 3
    assert data['devices'] == {'d1': 3, 'd2': 0}


def test_quarantined_entries_are_counted(node):
    d2 = os.path.join(node['devices'], 'd2')
    for kind, names in (('objects', ['a', 'b']), ('containers', ['c'])):
        for name in names:
            os.makedirs(os.path.join(d2, 'quarantined', kind, name))
    data = json.loads(call(Recon(downstream, node), '/recon/quarantined')[2])
    assert (data['objects'], data['containers'], data['accounts']) == (2, 1, 0)
    assert data['devices']['d2']['objects'] == 2
    assert data['devices']['d1'] == {'objects': 0, 'containers': 0,
                                     'accounts': 0}


def test_disk_usage_per_device_and_unmounted_devices(node):
    data = json.loads(call(Recon(downstream, node), '/recon/diskusage')[2])
    assert [entry['device'] for entry in data] == ['d1', 'd2']
    for entry in data:
        assert entry['mounted'] is True
        assert entry['size'] >= entry['used'] > 0
        assert entry['avail'] <= entry['size']
    # With mount_check, plain directories are not mounted disks.
    strict = Recon(downstream, dict(node, mount_check='true'))
    data = json.loads(call(strict, '/recon/diskusage')[2])
    assert all(entry['mounted'] is False for entry in data)


@pytest.mark.parametrize('path', ['/recon/', '/recon/nothing',
                                  '/recon/replication/bogus',
                                  '/recon/replication/object/extra'])
def test_unknown_recon_paths_are_404(node, path):
    assert call(Recon(downstream, node), path)[0] == 404


def test_only_get_and_head(node):
    app = Recon(downstream, node)
    code, headers, _body = call(app, '/recon/async', method='PUT')
    assert code == 405 and 'GET' in headers['Allow']
    code, _h, body = call(app, '/recon/async', method='HEAD')
    assert code == 200 and body == b''


def test_bad_config_is_refused(node):
    with pytest.raises(ConfigError):
        filter_factory({}, mount_check='perhaps')(downstream)


def test_served_over_http(node):
    server = serve_in_thread(filter_factory({}, **node)(downstream))
    try:
        status, headers, body = direct_request(
            '127.0.0.1', server.port, 'GET', '/recon/diskusage',
            conn_timeout=5, node_timeout=20)
        assert status == 200 and len(json.loads(body)) == 2
        status, _h, body = direct_request('127.0.0.1', server.port, 'GET',
                                          '/d1/0/a', conn_timeout=5,
                                          node_timeout=20)
        assert (status, body) == (200, b'from the app')
    finally:
        server.stop()
