"""Small object PUTs go to the object servers with their body in one
request, without Expect: 100-continue (proxy.obj.WHOLE_PUT_MAX); larger
ones, conditional ones and those whose client waits for 100 Continue keep
the 100-continue handshake. Scripted backends on real sockets."""

from objstore.proxy.obj import WHOLE_PUT_MAX
from tests.unit.proxy.test_scripted import call, make_container


def object_puts(harness, name='o'):
    """The headers of each object PUT with data the backends saw for
    ``name`` (not a conditional PUT's body-less announcement)."""
    return [headers for backend in harness.backends
            for method, path, headers in backend.requests
            if method == 'PUT' and path.endswith('/AUTH_a/c/' + name)
            and 'x-backend-announce-put' not in headers]


def test_small_put_sends_no_expect(scripted):
    make_container(scripted)
    resp = call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=b'x' * 4096)
    assert resp.status_int == 201
    puts = object_puts(scripted)
    assert len(puts) == 3
    assert all('expect' not in headers for headers in puts)
    for backend in scripted.backends:
        if 'AUTH_a/c/o' in backend.store:
            assert backend.store['AUTH_a/c/o']['body'] == b'x' * 4096
    assert call(scripted, 'GET', '/v1/AUTH_a/c/o').body == b'x' * 4096


def test_large_put_keeps_the_continue_handshake(scripted):
    make_container(scripted)
    body = b'x' * (WHOLE_PUT_MAX + 1)
    assert call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=body).status_int \
        == 201
    assert all(h.get('expect') == '100-continue'
               for h in object_puts(scripted))


def test_conditional_put_keeps_the_continue_handshake(scripted):
    make_container(scripted)
    resp = call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=b'data',
                headers={'If-None-Match': '*'})
    assert resp.status_int == 201
    assert all(h.get('expect') == '100-continue'
               for h in object_puts(scripted))


def test_small_put_moves_past_a_full_node_to_a_handoff(scripted):
    make_container(scripted)
    part, primaries, handoffs = scripted.nodes('object', 'AUTH_a', 'c', 'o')
    full = scripted.backend_of(primaries[0])
    full.override = lambda m, p, h: (507, {}, b'') \
        if m == 'PUT' and p.count('/') >= 5 else None
    resp = call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=b'data')
    assert resp.status_int == 201
    holders = [b for b in scripted.backends if 'AUTH_a/c/o' in b.store]
    assert len(holders) == 3
    assert full not in holders
    assert scripted.backend_of(handoffs[0]) in holders


def test_small_put_refused_by_a_quorum_gets_their_answer(scripted):
    make_container(scripted)
    for backend in scripted.backends:
        backend.override = lambda m, p, h: (
            400, {'Content-Type': 'text/plain'}, b'bad header') \
            if m == 'PUT' and p.count('/') >= 5 else None
    resp = call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=b'data')
    assert (resp.status_int, resp.body) == (400, b'bad header')
