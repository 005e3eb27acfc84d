"""RowBatcher: row updates in flight to one DB coalesce into one batch,
and every caller still gets its own row's status (None: not delivered).

The node is a scripted client (the edge of this unit): it holds each
request until the test lets it go, so the test decides what is in flight.
The wire format and the receiving side are tested with a real container
server in tests/unit/container/test_row_batch.py.
"""

import json
import logging

from objstore.common import green
from objstore.common.row_update import (
    MAX_BATCH_BYTES, BatchRow, RowBatcher, decode_batch)

DB = '/sda/1/a/c'


class GatedClient:
    """A RowUpdateClient stand-in: records each request, holds it until
    ``release()``, then answers per ``answer(rows)``."""

    def __init__(self, answer=None):
        self.logger = logging.getLogger('test_row_batcher')
        self.requests = []
        self.body_sizes = []
        self.gate = green.Event()
        self.answer = answer or (lambda rows: (200, json.dumps(
            [400 if row.obj.startswith('bad') else 201
             for row in rows]).encode()))

    def release(self):
        self.gate.send()

    def send(self, ip, port, method, path, headers):
        self.requests.append((method, path))
        self.gate.wait()
        return 201

    def exchange(self, ip, port, method, path, headers, body=b''):
        rows = decode_batch(body)
        self.body_sizes.append(len(body))
        self.requests.append((method, path, [row.obj for row in rows]))
        self.gate.wait()
        return self.answer(rows)


def row(name):
    return BatchRow('PUT', name, {'X-Timestamp': '0000000001.00000'})


def send_all(batcher, names, db=DB):
    """Start one sender per name, all at once, and let them reach their
    request (in flight, held by the client) or the queue."""
    threads = {name: green.spawn(batcher.send, '127.0.0.1', 6201, db,
                                 row(name)) for name in names}
    for _ in range(3):
        green.sleep(0)
    return threads


def results(threads):
    return {name: thread.wait() for name, thread in threads.items()}


def test_updates_sent_together_go_as_one_batch():
    client = GatedClient()
    batcher = RowBatcher(client)
    threads = send_all(batcher, ['a', 'bad', 'b'])
    client.release()
    assert results(threads) == {'a': 201, 'bad': 400, 'b': 201}
    assert client.requests == [('UPDATE', DB, ['a', 'bad', 'b'])]


def test_one_update_alone_is_a_single_request():
    client = GatedClient()
    client.release()
    assert results(send_all(RowBatcher(client), ['a'])) == {'a': 201}
    assert client.requests == [('PUT', DB + '/a')]


def test_updates_queued_behind_one_in_flight_go_as_the_next_batch():
    client = GatedClient()
    batcher = RowBatcher(client)
    threads = send_all(batcher, ['first'])
    threads.update(send_all(batcher, ['a', 'bad', 'b']))
    assert client.requests == [('PUT', DB + '/first')]
    client.release()
    assert results(threads) == {'first': 201, 'a': 201, 'bad': 400,
                                'b': 201}
    assert client.requests == [('PUT', DB + '/first'),
                               ('UPDATE', DB, ['a', 'bad', 'b'])]


def test_different_dbs_do_not_wait_for_each_other():
    client = GatedClient()
    batcher = RowBatcher(client)
    threads = send_all(batcher, ['x'], db='/sda/1/a/c1')
    threads.update(send_all(batcher, ['y'], db='/sda/1/a/c2'))
    assert client.requests == [('PUT', '/sda/1/a/c1/x'),
                               ('PUT', '/sda/1/a/c2/y')]
    client.release()
    assert results(threads) == {'x': 201, 'y': 201}


def test_long_queues_are_split_at_max_rows():
    client = GatedClient()
    batcher = RowBatcher(client, max_rows=2)
    threads = send_all(batcher, ['a', 'b', 'c'])
    client.release()
    assert set(results(threads).values()) == {201}
    assert client.requests == [('UPDATE', DB, ['a', 'b']),
                               ('PUT', DB + '/c')]


def test_a_batch_over_the_receivers_size_limit_is_split():
    client = GatedClient()
    client.release()
    batcher = RowBatcher(client)
    # JSON writes each of these characters in six bytes: 48 KB a row.
    headers = {'X-Content-Type': '\xe9' * 8000}
    names = ['o%02d' % i for i in range(60)]
    threads = {name: green.spawn(batcher.send, '127.0.0.1', 6201, DB,
                                 BatchRow('PUT', name, headers))
               for name in names}
    assert results(threads) == dict.fromkeys(names, 201)
    assert sorted(sum((request[2] for request in client.requests),
                      [])) == names
    assert max(client.body_sizes) <= MAX_BATCH_BYTES


def test_a_batch_refused_whole_gives_each_row_that_status():
    client = GatedClient(answer=lambda rows: (507, b'Insufficient storage'))
    batcher = RowBatcher(client)
    threads = send_all(batcher, ['first'])
    threads.update(send_all(batcher, ['a', 'b']))
    client.release()
    assert results(threads) == {'first': 201, 'a': 507, 'b': 507}


def test_a_node_without_batches_gets_one_request_per_row():
    client = GatedClient(answer=lambda rows: (405, b'Method not allowed'))
    client.release()
    threads = send_all(RowBatcher(client), ['a', 'b'])
    assert results(threads) == {'a': 201, 'b': 201}
    assert client.requests == [('UPDATE', DB, ['a', 'b']),
                               ('PUT', DB + '/a'), ('PUT', DB + '/b')]


def test_an_undelivered_or_garbled_batch_is_none_for_each_row():
    for answer in (lambda rows: None, lambda rows: (200, b'[201]'),
                   lambda rows: (200, b'not json'),
                   lambda rows: (202, b'')):
        client = GatedClient(answer=answer)
        batcher = RowBatcher(client)
        threads = send_all(batcher, ['first'])
        threads.update(send_all(batcher, ['a', 'b']))
        client.release()
        assert results(threads) == {'first': 201, 'a': None, 'b': None}
        assert batcher._waiting == {}


def test_a_failing_client_still_wakes_every_waiter():
    client = GatedClient()

    def broken(*args, **kwargs):
        client.gate.wait()
        raise RuntimeError('client bug')
    client.exchange = broken
    batcher = RowBatcher(client)
    threads = send_all(batcher, ['first'])
    threads.update(send_all(batcher, ['a', 'b']))
    client.release()
    assert results(threads) == {'first': 201, 'a': None, 'b': None}
