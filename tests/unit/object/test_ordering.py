"""Timestamp ordering: out-of-order PUT/POST/DELETE converge on one node.

Each scenario is a set of writes with their timestamps; every arrival
order (or a deterministic sample of them) is replayed against a fresh
object name and the final state must be the same: the one the timestamps
say, whatever the order.
"""

import functools
import itertools
import random
import time

import pytest

from tests.helpers import ts as ts_after
from tests.unit.object.conftest import opath

NOW = time.time()
ts = functools.partial(ts_after, base=NOW)


def apply(server, obj, op):
    kind, offset, payload = op
    headers = {'X-Timestamp': ts(offset)}
    if kind == 'PUT':
        return server.request('PUT', opath(obj), headers, payload)[0]
    if kind == 'POST':
        headers['X-Object-Meta-Tag'] = payload
        return server.request('POST', opath(obj), headers)[0]
    return server.request('DELETE', opath(obj), headers)[0]


def final_state(server, obj):
    status, headers, body = server.request('GET', opath(obj))
    return (status, body, headers.get('x-object-meta-tag'),
            headers.get('x-backend-timestamp'))


def orders(ops, limit, seed):
    """All orders of ``ops`` if few, else ``limit`` shuffles plus the
    reversed order (deterministic: the seed is fixed)."""
    perms = list(itertools.permutations(ops))
    if len(perms) <= limit:
        return perms
    rng = random.Random(seed)
    return [tuple(reversed(ops))] + [tuple(rng.sample(ops, len(ops)))
                                     for _ in range(limit - 1)]


SCENARIOS = {
    'newest put wins': (
        [('PUT', 1, b'one'), ('PUT', 3, b'three'), ('PUT', 2, b'two'),
         ('DELETE', 2.5, None)],
        (200, b'three', None, ts(3))),
    'newest delete wins': (
        [('PUT', 1, b'one'), ('DELETE', 4, None), ('PUT', 3, b'three'),
         ('DELETE', 2, None), ('PUT', 2.5, b'x')],
        (404, None, None, ts(4))),
    'newest post applies to the newest put': (
        [('PUT', 2, b'two'), ('POST', 3, 'old-meta'), ('POST', 5, 'new-meta'),
         ('PUT', 4, b'four')],
        (200, b'four', 'new-meta', ts(5))),
    'post older than the newest put is dropped': (
        [('PUT', 2, b'two'), ('POST', 3, 'stale'), ('PUT', 4, b'four')],
        (200, b'four', None, ts(4))),
}


@pytest.mark.parametrize('name', sorted(SCENARIOS))
def test_out_of_order_writes_converge(server, name):
    ops, expected = SCENARIOS[name]
    base, rest = ops[0], ops[1:]
    for index, order in enumerate(orders(rest, 24, seed=len(name))):
        obj = 'o-%d' % index
        # The first PUT lands first: a POST to a node that has never held
        # the object is a 404 by design (replication brings it later).
        for op in (base,) + tuple(order):
            assert apply(server, obj, op) in (201, 202, 204, 404, 409)
        status, body, tag, stamp = final_state(server, obj)
        want_status, want_body, want_tag, want_stamp = expected
        assert status == want_status, (order, status)
        if want_body is not None:
            assert body == want_body, order
        assert tag == want_tag, order
        assert stamp == want_stamp, order


def test_replayed_writes_conflict_and_change_nothing(server):
    ops = [('PUT', 1, b'one'), ('POST', 2, 'm'), ('DELETE', 3, None)]
    for op in ops:
        apply(server, 'o', op)
    before = final_state(server, 'o')
    for op in ops:
        assert apply(server, 'o', op) in (404, 409)
    assert final_state(server, 'o') == before
