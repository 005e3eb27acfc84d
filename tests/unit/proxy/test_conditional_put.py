"""A conditional PUT that fails its quorum after some nodes stored it: the
proxy takes its data back from those nodes (a DELETE with
X-Backend-Withdraw-Put at the PUT's timestamp) and answers 409 when
other nodes refused it for its condition; one that wins lets the nodes
that stored it update the container (a PUT with X-Backend-Announce-Put).
Scripted backends."""

from objstore.common.conditional import (
    ANNOUNCE_PUT_HEADER, WITHDRAW_PUT_HEADER)
from tests.unit.proxy.test_scripted import call, make_container

PATH = '/v1/AUTH_a/c/o'


def refuse_at_commit(backend):
    """The backend reads the body, then answers 412 (a concurrent
    conditional writer committed there first)."""
    stored = backend.handle

    def handle(method, path, headers, body):
        if method == 'PUT' and path.count('/') >= 5:
            return 412, {}, b''
        return stored(method, path, headers, body)
    backend.handle = handle


def object_requests(backend, method):
    return [headers for got, path, headers in backend.requests
            if got == method and path.count('/') >= 5]


def test_loser_withdraws_what_it_stored(scripted):
    make_container(scripted)
    _part, primaries, _handoffs = scripted.nodes('object', 'AUTH_a', 'c',
                                                 'o')
    for node in primaries[1:]:
        refuse_at_commit(scripted.backend_of(node))
    resp = call(scripted, 'PUT', PATH, {'If-None-Match': '*'}, b'loser')
    assert resp.status_int == 409
    stored_on = scripted.backend_of(primaries[0])
    put_timestamp = object_requests(stored_on, 'PUT')[0]['x-timestamp']
    withdrawals = object_requests(stored_on, 'DELETE')
    assert [(h[WITHDRAW_PUT_HEADER.lower()], h['x-timestamp'])
            for h in withdrawals] == [('true', put_timestamp)]
    for node in primaries[1:]:
        assert object_requests(scripted.backend_of(node), 'DELETE') == []
    assert not [h for backend in scripted.backends
                for h in object_requests(backend, 'PUT')
                if ANNOUNCE_PUT_HEADER.lower() in h]


def announcements(backend):
    return [h['x-timestamp'] for h in object_requests(backend, 'PUT')
            if h.get(ANNOUNCE_PUT_HEADER.lower()) == 'true']


def test_winner_and_unconditional_writes_withdraw_nothing(scripted):
    make_container(scripted)
    _part, primaries, _handoffs = scripted.nodes('object', 'AUTH_a', 'c',
                                                 'o')
    refuse_at_commit(scripted.backend_of(primaries[2]))
    assert call(scripted, 'PUT', PATH, {'If-None-Match': '*'},
                b'winner').status_int == 201
    for backend in scripted.backends:
        assert object_requests(backend, 'DELETE') == []
    put_timestamp = object_requests(scripted.backend_of(primaries[0]),
                                    'PUT')[0]['x-timestamp']
    assert [announcements(scripted.backend_of(node))
            for node in primaries] == [[put_timestamp]] * 2 + [[]]
    # Each announcing node updates every container replica: the node that
    # refused the PUT updates none.
    announced = [h for h in object_requests(scripted.backend_of(
        primaries[0]), 'PUT') if ANNOUNCE_PUT_HEADER.lower() in h][0]
    _cpart, container_nodes, _more = scripted.nodes('container', 'AUTH_a',
                                                    'c')
    assert len(announced['x-container-host'].split(',')) == len(
        container_nodes)
    for node in primaries[1:]:
        refuse_at_commit(scripted.backend_of(node))
    # Without a condition a failed quorum is the plain failure, and what
    # the one node stored stays (Swift's behaviour).
    assert call(scripted, 'PUT', PATH, body=b'plain').status_int == 412
    for backend in scripted.backends:
        assert object_requests(backend, 'DELETE') == []
    assert not [h for backend in scripted.backends
                for h in object_requests(backend, 'PUT')
                if ANNOUNCE_PUT_HEADER.lower() in h and
                h['x-timestamp'] != put_timestamp]
