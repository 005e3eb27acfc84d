"""The container server's UPDATE batch of object rows (common.row_update),
over a real socket and real SQLite: per-row statuses, one append and one
sync per batch, and whole-batch failures the sender keeps per row."""

import json

import pytest

from objstore.common.group_fsync import CoalescingFsync
from objstore.common.row_update import (
    MAX_BATCH_ROWS, BatchRow, encode_batch)
from objstore.container.backend import ContainerBroker
from objstore.container.server import ContainerController
from tests.helpers import ts
from tests.unit.container.db_server_helpers import (
    HASH_CONF, POLICIES, Client, devices_dir, running, server_conf)
from tests.unit.container.test_container_server import (
    broker_file, put_container)


@pytest.fixture
def devices():
    with devices_dir('sda') as root:
        yield root


class CountingSync:
    """The pending syncer, counting the syncs per file."""

    def __init__(self):
        self.calls = []
        self.real = CoalescingFsync(pause=lambda: None)

    def __call__(self, path):
        self.calls.append(path)
        self.real(path)


@pytest.fixture
def syncs():
    return CountingSync()


@pytest.fixture
def server(devices, syncs):
    app = ContainerController(server_conf(devices), hash_conf=HASH_CONF,
                              policies=POLICIES)
    app.pending_sync = syncs
    with running(app) as handle:
        yield Client(handle.port)


def put_row(name, offset=1, size=3, **extra):
    headers = {'X-Timestamp': ts(offset), 'X-Size': str(size),
               'X-Content-Type': 'text/plain', 'X-Etag': 'etag-%s' % name,
               'X-Backend-Storage-Policy-Index': '0'}
    headers.update(extra)
    return BatchRow('PUT', name, headers)


def send_batch(server, rows, path='/sda/1/a/c'):
    body = rows if isinstance(rows, bytes) else encode_batch(rows)
    return server.request('UPDATE', path, {'Content-Length': str(len(body))},
                          body)


def listed(devices, account='a', container='c'):
    broker = ContainerBroker(broker_file(devices, account, container))
    return {row['name']: row for row in broker.get_items_since(-1, 1000)}


def test_batch_lists_every_row_with_one_sync(server, devices, syncs):
    assert put_container(server)[0] == 201
    rows = [put_row('o%d' % i, size=i) for i in range(5)]
    rows.append(BatchRow('DELETE', 'gone', {'X-Timestamp': ts(2)}))
    status, headers, body = send_batch(server, rows)
    assert status == 200
    assert headers['content-type'].startswith('application/json')
    assert json.loads(body) == [201] * 5 + [204]
    # The whole batch was made durable by one sync of its pending file.
    assert syncs.calls == [broker_file(devices) + '.pending']
    found = listed(devices)
    assert {name: row['size'] for name, row in found.items()
            if not row['deleted']} == {'o%d' % i: i for i in range(5)}
    assert found['gone']['deleted'] == 1
    assert found['o3']['etag'] == 'etag-o3'


def test_one_bad_row_gets_400_and_the_others_land(server, devices):
    assert put_container(server)[0] == 201
    no_etag = put_row('bad')
    del no_etag.headers['X-Etag']
    rows = [put_row('a'), no_etag, put_row('b', **{'X-Size': 'many'}),
            BatchRow('PUT', 'c', {'X-Size': '1'}), put_row('d')]
    raw = json.loads(encode_batch(rows))
    raw.insert(1, {'op': 'POST', 'obj': 'x', 'headers': {}})
    raw.insert(2, {'op': 'PUT', 'obj': '', 'headers': {}})
    raw.insert(3, {'op': 'PUT', 'obj': 'x' * 1025,
                   'headers': put_row('x').headers})
    status, _headers, body = send_batch(server, json.dumps(raw).encode())
    assert status == 200
    assert json.loads(body) == [201, 400, 400, 400, 400, 400, 400, 201]
    assert sorted(listed(devices)) == ['a', 'd']


def test_a_row_is_read_as_its_single_update_would_be(server, devices):
    """Header names in any case, and an older row never replaces a newer
    one, whichever way it came."""
    assert put_container(server)[0] == 201
    newer = put_row('o', offset=5, size=50)
    older = BatchRow('PUT', 'o', {k.lower(): v for k, v in
                                  put_row('o', offset=3, size=30)
                                  .headers.items()})
    assert json.loads(send_batch(server, [newer, older])[2]) == [201, 201]
    assert listed(devices)['o']['size'] == 50


def test_batch_to_a_missing_db_is_404_whole(server, devices):
    status, _headers, _body = send_batch(server, [put_row('o')])
    assert status == 404


def test_batch_to_an_internal_account_creates_its_container(server,
                                                            devices):
    status, _headers, body = send_batch(server, [put_row('o')],
                                        path='/sda/1/.expiring/c')
    assert (status, json.loads(body)) == (200, [201])
    assert list(listed(devices, '.expiring', 'c')) == ['o']


def test_batch_to_a_missing_device_is_507(server):
    status, _headers, _body = send_batch(server, [put_row('o')],
                                         path='/sdz/1/a/c')
    assert status == 507


@pytest.mark.parametrize('body, reason', [
    (b'{not json', b'batch body is not JSON'),
    (b'{"op": "PUT"}', b'batch body is not a JSON list'),
    (json.dumps([{}] * (MAX_BATCH_ROWS + 1)).encode(), b'rows; max'),
])
def test_a_body_that_is_no_batch_is_400(server, body, reason):
    assert put_container(server)[0] == 201
    status, _headers, answer = send_batch(server, body)
    assert status == 400 and reason in answer and b'\n' not in answer


def test_batch_on_an_object_path_is_400(server):
    assert put_container(server)[0] == 201
    status, _headers, _body = send_batch(server, [put_row('o')],
                                         path='/sda/1/a/c/o')
    assert status == 400


def test_a_huge_body_is_413(server):
    assert put_container(server)[0] == 201
    status, _headers, _body = send_batch(server, b' ' * (3 << 20))
    assert status == 413


def test_a_batch_row_is_stored_as_the_same_single_update(server, devices):
    """Names and header values outside ASCII (WSGI hands header values
    over as latin-1 text of their bytes) land as a single update puts
    them."""
    assert put_container(server)[0] == 201
    headers = put_row('x').headers
    headers['X-Content-Type'] = 'text/plain; charset=caf\xc3\xa9'
    single, batched = 'caf\u00e9/single', 'caf\u00e9/batched'
    assert server.request('PUT', '/sda/1/a/c/' + single, dict(
        headers, **{'Content-Length': '0'}))[0] == 201
    assert json.loads(send_batch(server, [
        BatchRow('PUT', batched, headers)])[2]) == [201]
    rows = listed(devices)
    for column in ('created_at', 'size', 'content_type', 'etag',
                   'deleted', 'storage_policy_index'):
        assert rows[single][column] == rows[batched][column], column
