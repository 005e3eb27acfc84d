"""The container server over real loopback sockets and real SQLite."""

import concurrent.futures
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from objstore.account.server import AccountController
from objstore.common.db_layout import db_path
from objstore.common.hashing import hash_path
from objstore.common.listing import ListingParams
from objstore.container.backend import ContainerBroker
from objstore.container.server import ContainerController, ContainerServerConf
from tests.helpers import assert_sample_matches, capture_logs, ts
from tests.unit.container.db_server_helpers import (
    HASH_CONF, POLICIES, Client, devices_dir, running, server_conf)

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'container-server.conf-sample')


@pytest.fixture
def devices():
    with devices_dir('sda') as root:
        yield root


@pytest.fixture
def server(devices):
    app = ContainerController(server_conf(devices), hash_conf=HASH_CONF,
                              policies=POLICIES)
    with running(app) as handle:
        yield Client(handle.port)


@pytest.fixture
def account_server(devices):
    app = AccountController(server_conf(devices), hash_conf=HASH_CONF)
    with running(app) as handle:
        yield handle


def put_container(server, path='/sda/1/a/c', offset=0, **headers):
    headers.setdefault('X-Timestamp', ts(offset))
    return server.request('PUT', path, headers)


def put_row(server, name, offset=1, size=3, path='/sda/1/a/c', **extra):
    headers = {'X-Timestamp': ts(offset), 'X-Size': str(size),
               'X-Content-Type': 'text/plain', 'X-Etag': 'etag-%s' % name}
    headers.update(extra)
    return server.request('PUT', '%s/%s' % (path, name), headers)


def broker_file(devices, account='a', container='c'):
    return db_path(os.path.join(devices, 'sda'), 'container', 1,
                   hash_path(account, container, hash_conf=HASH_CONF))


# -- config ------------------------------------------------------------------

def test_sample_config_matches_dataclass():
    assert_sample_matches(ContainerServerConf, SAMPLE, 'app:container-server',
                          ignore=('use',))


# -- container verbs ---------------------------------------------------------

def test_put_creates_at_design_path(server, devices):
    status, _, body = put_container(server)
    assert status == 201 and body == b''
    assert os.path.exists(broker_file(devices))
    status, _, _ = put_container(server, offset=1)
    assert status == 202


def test_head_reports_stats_and_metadata(server):
    put_container(server, **{'X-Container-Meta-Color': 'red',
                             'X-Container-Sysmeta-Owner': 'me',
                             'X-Container-Read': '.r:*',
                             'X-Container-Write': 'a:b'})
    put_row(server, 'o1', size=5)
    put_row(server, 'o2', size=7)
    status, headers, body = server.request('HEAD', '/sda/1/a/c')
    assert status == 204 and body == b''
    assert headers['x-container-object-count'] == '2'
    assert headers['x-container-bytes-used'] == '12'
    assert headers['x-put-timestamp'] == ts(0)
    assert headers['x-backend-storage-policy-index'] == '0'
    assert 'x-timestamp' in headers and 'x-backend-timestamp' in headers
    assert headers['x-container-meta-color'] == 'red'
    assert headers['x-container-sysmeta-owner'] == 'me'
    assert headers['x-container-read'] == '.r:*'
    assert headers['x-container-write'] == 'a:b'


def test_post_sets_and_removes_metadata(server):
    put_container(server, **{'X-Container-Meta-A': '1',
                             'X-Container-Meta-B': '2',
                             'X-Container-Sysmeta-S': 'sys'})
    status, _, _ = server.request('POST', '/sda/1/a/c', {
        'X-Timestamp': ts(1), 'X-Container-Meta-A': '',
        'X-Remove-Container-Meta-B': 'x', 'X-Container-Meta-C': '3'})
    assert status == 204
    _, headers, _ = server.request('HEAD', '/sda/1/a/c')
    assert 'x-container-meta-a' not in headers
    assert 'x-container-meta-b' not in headers
    assert headers['x-container-meta-c'] == '3'
    assert headers['x-container-sysmeta-s'] == 'sys'
    # An older POST does not undo a newer removal.
    server.request('POST', '/sda/1/a/c', {'X-Timestamp': ts(0.5),
                                          'X-Container-Meta-A': 'stale'})
    _, headers, _ = server.request('HEAD', '/sda/1/a/c')
    assert 'x-container-meta-a' not in headers


def test_put_with_other_policy_conflicts(server):
    put_container(server, **{'X-Backend-Storage-Policy-Index': '1'})
    status, headers, body = put_container(
        server, offset=1, **{'X-Backend-Storage-Policy-Index': '2'})
    assert status == 409
    assert headers['x-backend-storage-policy-index'] == '1'
    assert body.startswith(b'<html><h1>Conflict</h1>')  # swob's page
    status, _, _ = put_container(server, offset=2)
    assert status == 202
    _, headers, _ = server.request('HEAD', '/sda/1/a/c')
    assert headers['x-backend-storage-policy-index'] == '1'


def test_delete_empty_nonempty_and_missing(server):
    assert server.request('DELETE', '/sda/1/a/c',
                          {'X-Timestamp': ts(1)})[0] == 404
    put_container(server)
    put_row(server, 'o')
    status, _, body = server.request('DELETE', '/sda/1/a/c',
                                     {'X-Timestamp': ts(2)})
    # Swift's servers give no reason, swob's page
    assert status == 409 and body.startswith(b'<html><h1>Conflict</h1>')
    server.request('DELETE', '/sda/1/a/c/o', {'X-Timestamp': ts(3)})
    assert server.request('DELETE', '/sda/1/a/c',
                          {'X-Timestamp': ts(4)})[0] == 204
    status, headers, _ = server.request('HEAD', '/sda/1/a/c')
    assert status == 404
    assert headers['x-backend-timestamp'] == ts(4)
    assert headers['x-backend-delete-timestamp'] == ts(4)
    assert headers['x-backend-storage-policy-index'] == '0'
    assert server.request('GET', '/sda/1/a/c')[0] == 404
    assert server.request('POST', '/sda/1/a/c',
                          {'X-Timestamp': ts(5)})[0] == 404
    assert server.request('DELETE', '/sda/1/a/c',
                          {'X-Timestamp': ts(6)})[0] == 404


def test_delete_older_than_put_conflicts(server):
    put_container(server, offset=5)
    status, _, _ = server.request('DELETE', '/sda/1/a/c',
                                  {'X-Timestamp': ts(4)})
    assert status == 409
    assert server.request('HEAD', '/sda/1/a/c')[0] == 204


def test_put_revives_deleted_container_only_if_newer(server):
    put_container(server)
    server.request('DELETE', '/sda/1/a/c', {'X-Timestamp': ts(2)})
    assert put_container(server, offset=1)[0] == 409
    assert put_container(server, offset=3,
                         **{'X-Backend-Storage-Policy-Index': '2'})[0] == 201
    _, headers, _ = server.request('HEAD', '/sda/1/a/c')
    assert headers['x-backend-storage-policy-index'] == '2'


def test_missing_container_404(server):
    for method in ('HEAD', 'GET'):
        assert server.request(method, '/sda/1/a/nope')[0] == 404
    assert server.request('POST', '/sda/1/a/nope',
                          {'X-Timestamp': ts(1)})[0] == 404
    assert put_row(server, 'o', path='/sda/1/a/nope')[0] == 404
    assert server.request('DELETE', '/sda/1/a/nope/o',
                          {'X-Timestamp': ts(1)})[0] == 404


# -- object rows --------------------------------------------------------------

def test_object_rows_newest_wins(server):
    put_container(server)
    assert put_row(server, 'o', offset=5, size=50)[0] == 201
    assert put_row(server, 'o', offset=3, size=30)[0] == 201
    assert server.request('DELETE', '/sda/1/a/c/o',
                          {'X-Timestamp': ts(4)})[0] == 204
    _, _, body = server.request('GET', '/sda/1/a/c?format=json')
    assert [(e['name'], e['bytes']) for e in json.loads(body)] == [('o', 50)]
    server.request('DELETE', '/sda/1/a/c/o', {'X-Timestamp': ts(6)})
    status, _, body = server.request('GET', '/sda/1/a/c')
    assert status == 204 and body == b''


def test_auto_create_account_prefix(server):
    assert put_row(server, 'o', path='/sda/1/.expiring/c')[0] == 201
    _, headers, _ = server.request('HEAD', '/sda/1/.expiring/c')
    assert headers['x-container-object-count'] == '1'


def test_object_row_policy_index_is_stored(server, devices):
    put_container(server)
    put_row(server, 'o', **{'X-Backend-Storage-Policy-Index': '4'})
    broker = ContainerBroker(broker_file(devices))
    assert broker.get_object_row('o')['storage_policy_index'] == 4


# -- listings -----------------------------------------------------------------

@pytest.fixture
def listed(server):
    put_container(server)
    for name in ('a', 'b/1', 'b/2', 'c/x/y', 'd', 'caf\u00e9'):
        put_row(server, name, size=len(name))
    return server


def names_of(listed, query, accept=None):
    headers = {'Accept': accept} if accept else {}
    status, resp_headers, body = listed.request(
        'GET', '/sda/1/a/c?format=json&' + query, headers)
    assert status == 200, body
    return [e.get('name', e.get('subdir')) for e in json.loads(body)]


@pytest.mark.parametrize('query, expected', [
    ('', ['a', 'b/1', 'b/2', 'c/x/y', 'caf\u00e9', 'd']),
    ('limit=2', ['a', 'b/1']),
    ('marker=b/1', ['b/2', 'c/x/y', 'caf\u00e9', 'd']),
    ('end_marker=c', ['a', 'b/1', 'b/2']),
    ('prefix=b/', ['b/1', 'b/2']),
    ('delimiter=/', ['a', 'b/', 'c/', 'caf\u00e9', 'd']),
    ('prefix=c/&delimiter=/', ['c/x/']),
    ('reverse=true', ['d', 'caf\u00e9', 'c/x/y', 'b/2', 'b/1', 'a']),
    ('reverse=on&delimiter=/&limit=3', ['d', 'caf\u00e9', 'c/']),
    ('marker=b/&delimiter=/', ['c/', 'caf\u00e9', 'd']),
    ('prefix=caf%C3%A9', ['caf\u00e9']),
])
def test_listing_parameters(listed, query, expected):
    assert names_of(listed, query) == expected


def test_listing_formats(listed):
    status, headers, body = listed.request('GET', '/sda/1/a/c')
    assert status == 200
    assert headers['content-type'] == 'text/plain; charset=utf-8'
    assert body.decode('utf-8').splitlines()[0] == 'a'
    status, headers, body = listed.request('GET', '/sda/1/a/c?format=xml')
    assert headers['content-type'] == 'application/xml; charset=utf-8'
    root = ET.fromstring(body)
    assert root.get('name') == 'c'
    assert root[0].find('name').text == 'a'
    assert root[0].find('bytes').text == '1'
    assert root[0].find('hash').text == 'etag-a'
    status, headers, body = listed.request(
        'GET', '/sda/1/a/c', {'Accept': 'application/json'})
    assert headers['content-type'] == 'application/json; charset=utf-8'
    entry = json.loads(body)[0]
    assert set(entry) == {'name', 'hash', 'bytes', 'content_type',
                          'last_modified'}
    _, headers, _ = listed.request('HEAD', '/sda/1/a/c?format=json')
    assert headers['content-type'] == 'application/json; charset=utf-8'


def test_empty_listing_statuses(server):
    put_container(server)
    assert server.request('GET', '/sda/1/a/c')[0] == 204
    status, _, body = server.request('GET', '/sda/1/a/c?format=json')
    assert (status, body) == (200, b'[]')
    status, _, body = server.request('GET', '/sda/1/a/c?format=xml')
    assert status == 200 and len(ET.fromstring(body)) == 0


@pytest.mark.parametrize('query, headers, status', [
    ('limit=10001', {}, 412),
    ('prefix=%FF', {}, 400),
    ('', {'Accept': 'image/png'}, 406),
    ('', {'Accept': 'bogus'}, 400),
])
def test_bad_listing_requests(listed, query, headers, status):
    got, _, body = listed.request('GET', '/sda/1/a/c?' + query, headers)
    assert got == status
    assert body and b'\n' not in body


# -- bad input ----------------------------------------------------------------

@pytest.mark.parametrize('method, path, headers, status', [
    ('PUT', '/sda/1/a/c', {}, 400),
    ('PUT', '/sda/1/a/c', {'X-Timestamp': 'yesterday'}, 400),
    ('PUT', '/sda/1/a/c', {'X-Timestamp': '-5'}, 400),
    ('POST', '/sda/1/a/c', {}, 400),
    ('DELETE', '/sda/1/a/c', {}, 400),
    ('PUT', '/sda/1/a', {'X-Timestamp': '1'}, 400),
    ('PUT', '/sda/x/a/c', {'X-Timestamp': '1'}, 400),
    ('PUT', '/sda', {'X-Timestamp': '1'}, 400),
    ('PUT', '/sda/1/a/' + 'c' * 257, {'X-Timestamp': '1'}, 400),
    ('PUT', '/sda/1/a/c', {'X-Timestamp': '1',
                           'X-Container-Meta-' + 'k' * 129: 'v'}, 400),
    ('PUT', '/sda/1/a/c', {'X-Timestamp': '1',
                           'X-Container-Meta-K': 'v' * 257}, 400),
    ('PUT', '/sda/1/a/c', {'X-Timestamp': '1',
                           'X-Backend-Storage-Policy-Index': 'x'}, 400),
    ('PUT', '/sda/1/a/c', {'X-Timestamp': '1',
                           'X-Account-Host': '127.0.0.1:1'}, 400),
    ('PUT', '/sda/1/a/c', {'X-Timestamp': '1', 'X-Account-Host': 'nope',
                           'X-Account-Partition': '1',
                           'X-Account-Device': 'sda'}, 400),
    ('COPY', '/sda/1/a/c', {}, 405),
])
def test_bad_container_requests_write_nothing(server, devices, method, path,
                                              headers, status):
    got, _, body = server.request(method, path, headers)
    assert got == status
    assert body and b'\n' not in body
    assert not os.path.exists(os.path.join(devices, 'sda', 'containers'))


@pytest.mark.parametrize('raw_path', [
    b'/sda/1/a/c%FF', b'/sda/1/a%00/c', b'/sda/1/a/c/o%00', b'/sda/1/a/c/%FE',
    b'/sda/1//c', b'/sda/1/a/c/' + b'o' * 1025])
def test_bad_names_are_rejected(server, devices, raw_path):
    put_container(server)
    got, _, body = server.request('PUT', raw_path, {
        'X-Timestamp': ts(1), 'X-Size': '1', 'X-Content-Type': 'a/b',
        'X-Etag': 'e'})
    assert got == 400 and body and b'\n' not in body
    broker = ContainerBroker(broker_file(devices))
    assert broker.get_info()['object_count'] == 0


@pytest.mark.parametrize('drop, value', [
    ('X-Size', None), ('X-Size', '-1'), ('X-Size', 'big'),
    ('X-Content-Type', None), ('X-Etag', None), ('X-Timestamp', None),
    ('X-Timestamp', 'nan')])
def test_bad_object_row_headers(server, devices, drop, value):
    put_container(server)
    headers = {'X-Timestamp': ts(1), 'X-Size': '1', 'X-Content-Type': 'a/b',
               'X-Etag': 'e'}
    if value is None:
        del headers[drop]
    else:
        headers[drop] = value
    got, _, body = server.request('PUT', '/sda/1/a/c/o', headers)
    assert got == 400 and body and b'\n' not in body
    broker = ContainerBroker(broker_file(devices))
    assert broker.get_info()['object_count'] == 0


def test_missing_device_is_507(devices):
    app = ContainerController(server_conf(devices), hash_conf=HASH_CONF)
    with running(app) as handle:
        client = Client(handle.port)
        assert put_container(client, '/sdz/1/a/c')[0] == 507
        assert client.request('HEAD', '/sdz/1/a/c')[0] == 507
    app = ContainerController(server_conf(devices, mount_check='true'),
                              hash_conf=HASH_CONF)
    with running(app) as handle:
        # sda is a plain directory, not a mount point.
        assert put_container(Client(handle.port))[0] == 507
    assert not os.path.exists(os.path.join(devices, 'sda', 'containers'))


# -- account updates ----------------------------------------------------------

def account_headers(port, device='sda'):
    return {'X-Account-Host': '127.0.0.1:%d' % port,
            'X-Account-Partition': '7', 'X-Account-Device': device}


def test_container_put_and_delete_update_the_account(server, account_server,
                                                     devices):
    accounts = Client(account_server.port)
    assert accounts.request('PUT', '/sda/7/a', {'X-Timestamp': ts(0)})[0] \
        == 201
    assert put_container(server, offset=1,
                         **account_headers(account_server.port))[0] == 201
    _, headers, body = accounts.request('GET', '/sda/7/a')
    assert body == b'c\n'
    assert headers['x-account-container-count'] == '1'
    broker = ContainerBroker(broker_file(devices))
    assert broker.get_info()['reported_put_timestamp'] == ts(1)
    status, _, _ = server.request('DELETE', '/sda/1/a/c', dict(
        account_headers(account_server.port), **{'X-Timestamp': ts(2)}))
    assert status == 204
    _, headers, _ = accounts.request('HEAD', '/sda/7/a')
    assert headers['x-account-container-count'] == '0'


def test_missing_account_makes_container_put_404(server, account_server):
    status, _, body = put_container(server,
                                    **account_headers(account_server.port))
    assert status == 404 and b'Account' in body


def test_unreachable_account_is_left_for_the_updater(server, devices):
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    dead_port = sock.getsockname()[1]
    sock.close()
    status, _, _ = put_container(server, **account_headers(dead_port))
    assert status == 201
    info = ContainerBroker(broker_file(devices)).get_info()
    assert info['reported_put_timestamp'] == '0'
    assert info['put_timestamp'] == ts(0)


# -- concurrency --------------------------------------------------------------

def test_concurrent_object_rows_lose_nothing(server, devices):
    put_container(server)

    def worker(index):
        for i in range(25):
            status = put_row(server, 'w%02d-%02d' % (index, i),
                             offset=1 + i, size=1)[0]
            assert status == 201

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(worker, range(16)))
    _, headers, _ = server.request('HEAD', '/sda/1/a/c')
    assert headers['x-container-object-count'] == '400'
    _, _, body = server.request('GET', '/sda/1/a/c')
    assert len(body.decode().splitlines()) == 400


# -- logging and crash safety -------------------------------------------------

def test_one_access_line_per_request_with_txn_id(devices):
    logger = logging.getLogger('test-container-access')
    with capture_logs(logger, logging.INFO) as handler:
        app = ContainerController(server_conf(devices), logger=logger,
                                  hash_conf=HASH_CONF)
        with running(app) as handle:
            client = Client(handle.port)
            put_container(client, **{'X-Trans-Id': 'tx-create'})
            status, headers, _ = client.request(
                'HEAD', '/sda/1/a/c', {'X-Trans-Id': 'tx-head'})
            client.request('PUT', '/sda/1/a/c', {'X-Trans-Id': 'tx-bad'})
    lines = handler.messages()
    assert headers['x-trans-id'] == 'tx-head'
    assert len(lines) == 3
    assert '"PUT /sda/1/a/c" 201' in lines[0]
    assert lines[0].endswith('txn:tx-create')
    assert '"HEAD /sda/1/a/c" 204' in lines[1]
    assert '"PUT /sda/1/a/c" 400' in lines[2]
    assert lines[2].endswith('txn:tx-bad')


def test_acknowledged_rows_survive_sigkill(devices, tmp_path):
    """A server killed with SIGKILL right after answering keeps every row
    it acknowledged: the records are in the pending file, and the next
    reader merges them."""
    with open(tmp_path / 'objstore.conf', 'w') as conf:
        conf.write('[objstore-hash]\npath_hash_prefix = test-prefix\n'
                   'path_hash_suffix = test-suffix\n')
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    conf_path = tmp_path / 'container-server.conf'
    conf_path.write_text(
        '[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = %d\nworkers = 0\n'
        'log_level = WARNING\n\n[pipeline:main]\npipeline = cs\n\n'
        '[app:cs]\nuse = egg:objstore#container\ndevices = %s\n'
        'mount_check = false\nconf_dir = %s\nlog_level = WARNING\n'
        % (port, devices, tmp_path))
    proc = subprocess.Popen(
        [sys.executable, '-m', 'objstore.cli.server', str(conf_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(('127.0.0.1', port), 0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, 'server did not start'
                time.sleep(0.05)
        client = Client(port)
        assert put_container(client)[0] == 201
        acked = [name for name in ('row-%03d' % i for i in range(60))
                 if put_row(client, name)[0] == 201]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert len(acked) == 60
    broker = ContainerBroker(broker_file(devices))
    assert os.path.getsize(broker.pending_file) > 0
    names = [e.name for e in broker.list_objects(ListingParams(limit=100))]
    assert names == acked


def test_reads_go_stale_and_writes_503_while_pending_is_locked(devices):
    app = ContainerController(server_conf(devices, pending_timeout='0.3'),
                              hash_conf=HASH_CONF)
    with running(app) as handle:
        client = Client(handle.port)
        put_container(client)
        put_row(client, 'queued')
        pending = ContainerBroker(broker_file(devices)).pending_file
        holder = os.open(pending, os.O_RDWR)
        fcntl.flock(holder, fcntl.LOCK_EX)
        try:
            started = time.monotonic()
            status, headers, _ = client.request('HEAD', '/sda/1/a/c')
            assert time.monotonic() - started < 2
            assert status == 204
            assert headers['x-container-object-count'] == '0'
            status, _, body = put_row(client, 'blocked')
            assert status == 503 and body and b'\n' not in body
        finally:
            os.close(holder)
        _, headers, _ = client.request('HEAD', '/sda/1/a/c')
        assert headers['x-container-object-count'] == '1'


def test_policy_default_header_binds_only_a_new_container(server):
    default = {'X-Backend-Storage-Policy-Default': '1'}
    assert put_container(server, **default)[0] == 201
    _, headers, _ = server.request('HEAD', '/sda/1/a/c')
    assert headers['x-backend-storage-policy-index'] == '1'
    status, _, _ = put_container(
        server, offset=1, **{'X-Backend-Storage-Policy-Default': '0'})
    assert status == 202
    _, headers, _ = server.request('HEAD', '/sda/1/a/c')
    assert headers['x-backend-storage-policy-index'] == '1'


def test_revived_container_gets_the_default_policy(server):
    put_container(server, **{'X-Backend-Storage-Policy-Index': '2'})
    server.request('DELETE', '/sda/1/a/c', {'X-Timestamp': ts(2)})
    assert put_container(
        server, offset=3, **{'X-Backend-Storage-Policy-Default': '1'})[0] \
        == 201
    _, headers, _ = server.request('HEAD', '/sda/1/a/c')
    assert headers['x-backend-storage-policy-index'] == '1'


def test_stale_put_leaves_deleted_container_policy(server):
    put_container(server, **{'X-Backend-Storage-Policy-Index': '2'})
    server.request('DELETE', '/sda/1/a/c', {'X-Timestamp': ts(2)})
    assert put_container(server, offset=1,
                         **{'X-Backend-Storage-Policy-Index': '1'})[0] == 409
    _, headers, _ = server.request('HEAD', '/sda/1/a/c')
    assert headers['x-backend-storage-policy-index'] == '2'


def test_put_binding_an_unknown_policy_is_400(server):
    for headers in ({'X-Backend-Storage-Policy-Index': '9'},
                    {'X-Backend-Storage-Policy-Default': '9'}):
        status, _, body = put_container(server, **headers)
        assert (status, body) == (
            400, b'Invalid X-Backend-Storage-Policy-Index 9')
    assert server.request('HEAD', '/sda/1/a/c')[0] == 404
