"""The account server over real loopback sockets and real SQLite."""

import json
import os
import xml.etree.ElementTree as ET

import pytest

from objstore.account.backend import AccountBroker
from objstore.account.server import AccountController, AccountServerConf
from objstore.common.hashing import hash_path
from tests.helpers import assert_sample_matches, ts
from tests.unit.container.db_server_helpers import (
    HASH_CONF, Client, devices_dir, running, server_conf)

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'account-server.conf-sample')


@pytest.fixture
def devices():
    with devices_dir('sda') as root:
        yield root


@pytest.fixture
def server(devices):
    app = AccountController(server_conf(devices), hash_conf=HASH_CONF)
    with running(app) as handle:
        yield Client(handle.port)


def put_account(server, offset=0, path='/sda/1/a', **headers):
    headers.setdefault('X-Timestamp', ts(offset))
    return server.request('PUT', path, headers)


def report(server, container, put=1, delete=0, objects=0, nbytes=0,
           path='/sda/1/a'):
    return server.request('PUT', '%s/%s' % (path, container), {
        'X-Put-Timestamp': ts(put),
        'X-Delete-Timestamp': ts(delete) if delete else '0',
        'X-Object-Count': str(objects), 'X-Bytes-Used': str(nbytes),
        'X-Timestamp': ts(put)})


def test_sample_config_matches_dataclass():
    assert_sample_matches(AccountServerConf, SAMPLE, 'app:account-server',
                          ignore=('use',))


def test_put_creates_then_accepts(server):
    status, _, body = put_account(server)
    assert (status, body) == (201, b'')
    assert put_account(server, 1)[0] == 202


def test_head_and_get_stats(server):
    put_account(server, **{'X-Account-Meta-Quota': '10',
                           'X-Account-Sysmeta-Core': 'x'})
    assert report(server, 'c1', objects=2, nbytes=20)[0] == 201
    assert report(server, 'c2', objects=1, nbytes=5)[0] == 201
    status, headers, body = server.request('HEAD', '/sda/1/a')
    assert status == 204 and body == b''
    assert headers['x-account-container-count'] == '2'
    assert headers['x-account-object-count'] == '3'
    assert headers['x-account-bytes-used'] == '25'
    assert headers['x-put-timestamp'] == ts(0)
    assert 'x-timestamp' in headers
    assert headers['x-account-meta-quota'] == '10'
    assert headers['x-account-sysmeta-core'] == 'x'
    status, headers, body = server.request('GET', '/sda/1/a?format=json')
    assert status == 200
    assert json.loads(body) == [
        {'name': 'c1', 'count': 2, 'bytes': 20,
         'last_modified': '2023-11-14T22:13:21.000000',
         'storage_policy': 'Policy-0'},
        {'name': 'c2', 'count': 1, 'bytes': 5,
         'last_modified': '2023-11-14T22:13:21.000000',
         'storage_policy': 'Policy-0'}]


def test_listing_parameters_and_formats(server):
    put_account(server)
    for name in ('a1', 'b-1', 'b-2', 'c'):
        report(server, name)
    _, _, body = server.request('GET', '/sda/1/a?delimiter=-&marker=a1')
    assert body == b'b-\nc\n'
    _, _, body = server.request('GET', '/sda/1/a?prefix=b&reverse=1&limit=1')
    assert body == b'b-2\n'
    _, _, body = server.request('GET', '/sda/1/a?end_marker=b-2')
    assert body == b'a1\nb-1\n'
    status, headers, body = server.request(
        'GET', '/sda/1/a', {'Accept': 'application/xml'})
    assert headers['content-type'] == 'application/xml; charset=utf-8'
    root = ET.fromstring(body)
    assert root.tag == 'account' and root.get('name') == 'a'
    assert [c.find('name').text for c in root] == ['a1', 'b-1', 'b-2', 'c']
    assert server.request('GET', '/sda/1/a?limit=10001')[0] == 412
    assert server.request('GET', '/sda/1/a',
                          {'Accept': 'text/csv'})[0] == 406


def test_empty_listings(server):
    put_account(server)
    assert server.request('GET', '/sda/1/a')[0] == 204
    assert server.request('GET', '/sda/1/a?format=json')[2] == b'[]'
    status, _, body = server.request('GET', '/sda/1/a?format=xml')
    assert status == 200 and len(ET.fromstring(body)) == 0


def test_container_deletion_report(server):
    put_account(server)
    report(server, 'c', put=1)
    status, _, _ = report(server, 'c', put=1, delete=2)
    assert status == 204
    _, headers, body = server.request('GET', '/sda/1/a')
    assert headers['x-account-container-count'] == '0'
    assert body == b''


def test_report_for_missing_or_deleted_account(server):
    assert report(server, 'c')[0] == 404
    put_account(server)
    server.request('DELETE', '/sda/1/a', {'X-Timestamp': ts(5)})
    status, headers, _ = report(server, 'c', put=6)
    assert status == 404 and headers['x-account-status'] == 'Deleted'


def test_auto_created_account(server):
    assert report(server, 'c', path='/sda/1/.expiring')[0] == 201
    _, headers, _ = server.request('HEAD', '/sda/1/.expiring')
    assert headers['x-account-container-count'] == '1'


def test_post_metadata(server):
    put_account(server, **{'X-Account-Meta-A': '1', 'X-Account-Meta-B': '2'})
    assert server.request('POST', '/sda/1/a', {
        'X-Timestamp': ts(1), 'X-Account-Meta-A': '',
        'X-Remove-Account-Meta-B': 'y', 'X-Account-Meta-C': '3'})[0] == 204
    _, headers, _ = server.request('HEAD', '/sda/1/a')
    assert 'x-account-meta-a' not in headers
    assert 'x-account-meta-b' not in headers
    assert headers['x-account-meta-c'] == '3'
    assert server.request('POST', '/sda/1/nope',
                          {'X-Timestamp': ts(1)})[0] == 404


def test_delete_account(server):
    assert server.request('DELETE', '/sda/1/a',
                          {'X-Timestamp': ts(1)})[0] == 404
    put_account(server, **{'X-Account-Meta-A': '1'})
    report(server, 'c', objects=1, nbytes=1)
    assert server.request('DELETE', '/sda/1/a',
                          {'X-Timestamp': ts(2)})[0] == 204
    for method in ('HEAD', 'GET'):
        status, headers, _ = server.request(method, '/sda/1/a')
        assert status == 404
        assert headers['x-account-status'] == 'Deleted'
        assert headers['x-backend-timestamp'] == ts(2)
    status, _, body = put_account(server, 3)
    assert status == 403 and body == b'Recently deleted\n'
    assert server.request('DELETE', '/sda/1/a',
                          {'X-Timestamp': ts(4)})[0] == 404


@pytest.mark.parametrize('method, path, headers, status', [
    ('PUT', '/sda/1/a', {}, 400),
    ('PUT', '/sda/1/a', {'X-Timestamp': 'soon'}, 400),
    ('POST', '/sda/1/a', {}, 400),
    ('DELETE', '/sda/1/a', {}, 400),
    ('PUT', '/sda/1/a/c', {}, 400),
    ('PUT', '/sda/1/a/c', {'X-Put-Timestamp': ts(1),
                           'X-Object-Count': '-1'}, 400),
    ('PUT', '/sda/1/a/c', {'X-Put-Timestamp': ts(1),
                           'X-Bytes-Used': 'lots'}, 400),
    ('PUT', '/sda/1/a/c', {'X-Put-Timestamp': ts(1),
                           'X-Delete-Timestamp': 'x'}, 400),
    ('DELETE', '/sda/1/a/c', {'X-Timestamp': ts(1)}, 400),
    ('POST', '/sda/1/a/c', {'X-Timestamp': ts(1)}, 400),
    ('GET', '/sda/1/a/c', {}, 400),
    ('PUT', '/sda/1/a/c/o', {'X-Timestamp': ts(1)}, 400),
    ('PUT', '/sda/1/' + 'a' * 257, {'X-Timestamp': ts(1)}, 400),
    ('PUT', '/sda/p/a', {'X-Timestamp': ts(1)}, 400),
    ('PUT', '/sda/1/a', {'X-Timestamp': ts(1),
                         'X-Account-Meta-' + 'n' * 129: 'v'}, 400),
    ('PATCH', '/sda/1/a', {}, 405),
])
def test_bad_requests_write_nothing(server, devices, method, path, headers,
                                    status):
    got, _, body = server.request(method, path, headers)
    assert got == status
    assert body and b'\n' not in body  # one line, as Swift's reasons
    assert not os.path.exists(os.path.join(devices, 'sda', 'accounts'))


@pytest.mark.parametrize('raw_path', [b'/sda/1/a%FF', b'/sda/1/a%00b',
                                      b'/sda/1/a/c%FF', b'/sda/1/a/c/d'])
def test_bad_names_write_nothing(server, devices, raw_path):
    got, _, _ = server.request('PUT', raw_path, {
        'X-Timestamp': ts(1), 'X-Put-Timestamp': ts(1)})
    assert got == 400
    assert not os.path.exists(os.path.join(devices, 'sda', 'accounts'))


def test_missing_device_is_507(server):
    assert put_account(server, path='/sdq/1/a')[0] == 507
    assert server.request('HEAD', '/sdq/1/a')[0] == 507


def test_replicate_on_account_db(server, devices, tmp_path):
    put_account(server)
    report(server, 'c1', objects=1, nbytes=1)
    peer = AccountBroker(str(tmp_path / 'peer.db'), account='a')
    peer.initialize(ts(0))
    peer.put_container('c2', ts(2), 0, 5, 50)
    rows = peer.get_items_since(-1, 10)
    path = '/sda/1/%s' % hash_path('a', hash_conf=HASH_CONF)
    status, headers, body = server.request(
        'REPLICATE', path, {}, json.dumps({
            'op': 'sync', 'info': peer.get_replication_info()}).encode())
    assert status == 200 and json.loads(body)['point'] == -1
    status, _, _ = server.request('REPLICATE', path, {}, json.dumps({
        'op': 'merge_items', 'items': rows,
        'source_id': peer.get_info()['id']}).encode())
    assert status == 202
    _, headers, body = server.request('GET', '/sda/1/a')
    assert body == b'c1\nc2\n'
    assert headers['x-account-object-count'] == '6'
    bad_rows = [dict(rows[0], name='has/slash')]
    status, _, _ = server.request('REPLICATE', path, {}, json.dumps({
        'op': 'merge_items', 'items': bad_rows}).encode())
    assert status == 400
