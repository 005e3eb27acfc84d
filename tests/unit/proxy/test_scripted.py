"""The proxy against scripted backends on real sockets: quorum, handoffs,
error limiting, timeouts, grace after quorum, mid-stream resume, X-Newest,
the headers it sends to storage servers, and request validation."""

import hashlib
import time

from objstore.common import green
from objstore.common.http import Request
from objstore.common.log import get_txn_id, set_txn_id
from objstore.proxy.errorlimit import ErrorLimiter
from objstore.proxy.fanout import Backend, BackendResult, gather
from tests.unit.proxy.conftest import sleeper


def as_owner(req):
    """The authorizer an auth middleware would claim requests with
    (common.access): these tests act as the account's owner."""
    req.environ['swift_owner'] = True


def call(harness, method, path, headers=None, body=None):
    req = Request.blank(path, method=method, headers=headers or {},
                        environ={'swift.authorize': as_owner})
    if body is not None:
        req.body = body
    resp = req.get_response(harness.app)
    resp.body  # noqa: B018 -- drain the body while the backends are up
    return resp


def make_container(harness, account='AUTH_a', container='c'):
    resp = call(harness, 'PUT', '/v1/%s/%s' % (account, container))
    assert resp.status_int in (201, 202), resp.status
    return resp


def stop(harness, kind, *names, which=(0,)):
    _part, primaries, _handoffs = harness.nodes(kind, *names)
    for index in which:
        harness.backend_of(primaries[index]).stop()
    return primaries


def test_container_put_autocreates_account_and_pairs_account_nodes(scripted):
    make_container(scripted)
    apart, anodes, _ = scripted.nodes('account', 'AUTH_a')
    cpart, cnodes, _ = scripted.nodes('container', 'AUTH_a', 'c')
    for node in anodes:
        assert 'AUTH_a' in scripted.backend_of(node).store
    hosts = set()
    for node in cnodes:
        backend = scripted.backend_of(node)
        puts = [h for m, p, h in backend.requests
                if m == 'PUT' and p == '/%s/%s/AUTH_a/c' % (node['device'],
                                                           cpart)]
        assert puts, 'container PUT missing on %s' % node
        headers = puts[-1]
        assert headers['x-account-partition'] == str(apart)
        assert 'x-timestamp' in headers and 'x-trans-id' in headers
        hosts.add((headers['x-account-host'], headers['x-account-device']))
    assert hosts == {('127.0.0.1:%s' % n['port'], n['device'])
                     for n in anodes}


def test_object_put_get_roundtrip_with_container_pairing(scripted):
    make_container(scripted)
    body = b'hello world' * 100
    resp = call(scripted, 'PUT', '/v1/AUTH_a/c/dir/o.txt', body=body,
                headers={'X-Object-Meta-Color': 'blue'})
    assert resp.status_int == 201
    assert resp.headers['Etag'] == hashlib.md5(body).hexdigest()
    opart, onodes, _ = scripted.nodes('object', 'AUTH_a', 'c', 'dir/o.txt')
    cpart, cnodes, _ = scripted.nodes('container', 'AUTH_a', 'c')
    hosts = set()
    for node in onodes:
        stored = scripted.backend_of(node).store['AUTH_a/c/dir/o.txt']
        assert stored['body'] == body
        assert stored['headers']['content-type'] == 'text/plain'
        assert stored['headers']['x-object-meta-color'] == 'blue'
        assert stored['headers']['x-container-partition'] == str(cpart)
        hosts.add(stored['headers']['x-container-host'])
    assert hosts == {'127.0.0.1:%s' % n['port'] for n in cnodes}
    resp = call(scripted, 'GET', '/v1/AUTH_a/c/dir/o.txt')
    assert resp.status_int == 200 and resp.body == body
    assert 'X-Backend-Timestamp' not in resp.headers


def test_put_with_one_primary_down_uses_handoff(scripted):
    make_container(scripted)
    primaries = stop(scripted, 'object', 'AUTH_a', 'c', 'o')
    _part, _p, handoffs = scripted.nodes('object', 'AUTH_a', 'c', 'o')
    resp = call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=b'data')
    assert resp.status_int == 201
    holders = [b for b in scripted.backends if 'AUTH_a/c/o' in b.store]
    assert len(holders) == 3
    assert scripted.backend_of(handoffs[0]) in holders
    assert scripted.backend_of(primaries[0]) not in holders
    assert any('handoff' in m for m in scripted.logger.handler.messages(
        'WARNING'))
    assert call(scripted, 'GET', '/v1/AUTH_a/c/o').body == b'data'


def test_put_without_quorum_is_503(scripted):
    make_container(scripted)
    for backend in scripted.backends[1:]:
        backend.override = lambda m, p, h: (507, {}, b'') \
            if p.count('/') >= 5 else None
    resp = call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=b'data')
    assert resp.status_int == 503


def test_put_client_error_from_quorum_is_returned(scripted):
    make_container(scripted)
    for backend in scripted.backends:
        backend.override = lambda m, p, h: (409, {}, b'older') \
            if m == 'PUT' and p.count('/') >= 5 else None
    resp = call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=b'data')
    assert resp.status_int == 409


def test_etag_mismatch_is_422(scripted):
    make_container(scripted)
    resp = call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=b'data',
                headers={'Etag': 'f' * 32})
    assert resp.status_int == 422


def test_error_limiting_skips_node_and_logs(tmp_path):
    from tests.unit.proxy.conftest import Scripted
    harness = Scripted(tmp_path, error_suppression_limit='2')
    try:
        make_container(harness)
        call(harness, 'PUT', '/v1/AUTH_a/c/o', body=b'x')
        _part, primaries, _ = harness.nodes('object', 'AUTH_a', 'c', 'o')
        bad = harness.backend_of(primaries[0])
        bad.override = lambda m, p, h: (500, {}, b'')
        for _ in range(2):
            assert call(harness, 'PUT', '/v1/AUTH_a/c/o',
                        body=b'y').status_int == 201
        assert any('error-limited' in m for m in
                   harness.logger.handler.messages('WARNING'))
        before = len(bad.requests)
        for _ in range(3):
            assert call(harness, 'GET', '/v1/AUTH_a/c/o').status_int == 200
        assert len(bad.requests) == before
    finally:
        harness.close()


def test_client_errors_never_count_against_a_node(tmp_path):
    """4xx answers are the client's doing: with a limit of one error, none
    of them may limit a node or be logged as a node error; a 500 does."""
    from tests.unit.proxy.conftest import Scripted
    harness = Scripted(tmp_path, error_suppression_limit='1')
    try:
        make_container(harness)
        assert call(harness, 'PUT', '/v1/AUTH_a/c/o',
                    body=b'x').status_int == 201
        for status in (400, 408, 409, 412, 416, 422, 499):
            for backend in harness.backends:
                backend.override = lambda m, p, h, s=status: (
                    (s, {}, b'no\n') if p.count('/') >= 5 else None)
            for method in ('GET', 'HEAD', 'POST', 'DELETE', 'PUT'):
                call(harness, method, '/v1/AUTH_a/c/o', body=b'y'
                     if method == 'PUT' else None)
        _part, primaries, handoffs = harness.nodes('object', 'AUTH_a', 'c',
                                                  'o')
        assert not [n for n in primaries + handoffs
                    if harness.app.limiter.is_limited(n)]
        assert not [m for m in harness.logger.handler.messages('WARNING')
                    if 'ERROR with' in m or 'error-limited' in m]
        harness.backend_of(primaries[0]).override = \
            lambda m, p, h: (500, {}, b'') if p.count('/') >= 5 else None
        call(harness, 'POST', '/v1/AUTH_a/c/o')
        assert harness.app.limiter.is_limited(primaries[0])
    finally:
        harness.close()


def test_all_nodes_limited_are_tried_anyway(scripted):
    make_container(scripted)
    assert call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=b'x').status_int \
        == 201
    for backend in scripted.backends:
        for node in scripted.rings['object'].devs:
            if node and node['port'] == backend.port:
                scripted.app.limiter.make_limited(node)
    resp = call(scripted, 'GET', '/v1/AUTH_a/c/o')
    assert resp.status_int == 200 and resp.body == b'x'


def test_get_times_out_on_hung_node_and_reads_another(scripted):
    make_container(scripted)
    call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=b'x')
    _part, primaries, _ = scripted.nodes('object', 'AUTH_a', 'c', 'o')
    stall = sleeper(3)

    def hang_object_requests(method, path, headers):
        # The node's container and account answers stay prompt, so each GET
        # meets exactly one hung request: the bound below is one node
        # timeout (1 s) per GET plus slack.
        if len(path.split('/', 5)) == 6:
            return stall(method, path, headers)
        return None
    scripted.backend_of(primaries[0]).override = hang_object_requests
    started = time.monotonic()
    for _ in range(3):
        resp = call(scripted, 'GET', '/v1/AUTH_a/c/o')
        assert resp.status_int == 200 and resp.body == b'x'
    assert time.monotonic() - started < 3 * 1.5 + 1


def test_get_resumes_mid_stream_with_range_and_if_match(scripted):
    make_container(scripted)
    body = bytes(range(256)) * 1024
    call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=body)
    _part, primaries, _ = scripted.nodes('object', 'AUTH_a', 'c', 'o')
    etag = hashlib.md5(body).hexdigest()

    def breaking(method, path, headers):
        if method != 'GET' or 'range' in headers:
            return None

        def first_half_then_die():
            yield body[:100000]
            raise IOError('disk went away')
        return 200, {'Content-Length': str(len(body)), 'Etag': etag,
                     'X-Backend-Timestamp': '1'}, first_half_then_die()
    for node in primaries:
        scripted.backend_of(node).override = breaking
    seen_ranges = []

    def record(method, path, headers):
        if 'range' in headers:
            seen_ranges.append((headers['range'], headers.get('if-match')))
        return breaking(method, path, headers)
    for node in primaries:
        scripted.backend_of(node).override = record
    resp = call(scripted, 'GET', '/v1/AUTH_a/c/o')
    assert resp.status_int == 200
    assert resp.body == body
    assert seen_ranges == [('bytes=100000-', etag)]


def test_get_range_resume_keeps_range_end(scripted):
    make_container(scripted)
    body = b'abcdefghij' * 20000
    call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=body)
    etag = hashlib.md5(body).hexdigest()
    _part, primaries, _ = scripted.nodes('object', 'AUTH_a', 'c', 'o')
    seen = []

    def breaking(method, path, headers):
        if method != 'GET':
            return None
        seen.append(headers.get('range'))
        if len(seen) > 1:
            return None

        def part_then_die():
            yield body[10:60010]
            raise IOError('gone')
        return 206, {'Content-Length': str(100000), 'Etag': etag,
                     'Content-Range': 'bytes 10-100009/%d' % len(body)}, \
            part_then_die()
    for node in primaries:
        scripted.backend_of(node).override = breaking
    resp = call(scripted, 'GET', '/v1/AUTH_a/c/o',
                headers={'Range': 'bytes=10-100009'})
    assert resp.status_int == 206
    assert resp.body == body[10:100010]
    assert seen[1] == 'bytes=60010-100009'


def test_x_newest_returns_newest_copy(scripted):
    make_container(scripted)
    call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=b'old')
    _part, primaries, _ = scripted.nodes('object', 'AUTH_a', 'c', 'o')
    newest = scripted.backend_of(primaries[2])
    newest.store['AUTH_a/c/o'].update(body=b'new', timestamp='9999999999.0')
    bodies = {call(scripted, 'GET', '/v1/AUTH_a/c/o',
                   headers={'X-Newest': 'true'}).body for _ in range(5)}
    assert bodies == {b'new'}


def backend_with_grace(seconds):
    """A Backend whose only use here is its post-quorum grace."""
    return Backend(None, ErrorLimiter(), None, seconds, 65536)


def test_stragglers_get_only_the_grace_time():

    def answer(status, delay):
        def call():
            green.sleep(delay)
            return BackendResult(status)
        return call
    started = time.monotonic()
    results = gather(backend_with_grace(0.2),
                     [answer(201, 0), answer(201, 0.05), answer(201, 3)],
                     quorum=2)
    assert [r.status for r in results] == [201, 201]
    assert time.monotonic() - started < 1.0
    started = time.monotonic()
    results = gather(backend_with_grace(0.2),
                     [answer(201, 0), answer(503, 0.05), answer(201, 0.3)],
                     quorum=2)
    assert sorted(r.status for r in results) == [201, 201, 503]
    assert time.monotonic() - started >= 0.3


def test_account_management_is_off_by_default(scripted):
    assert call(scripted, 'PUT', '/v1/AUTH_x').status_int == 405
    assert call(scripted, 'DELETE', '/v1/AUTH_x').status_int == 405


def test_delete_of_missing_object_is_404(scripted):
    make_container(scripted)
    assert call(scripted, 'DELETE', '/v1/AUTH_a/c/nope').status_int == 404


def test_object_in_missing_container_is_404(scripted):
    call(scripted, 'PUT', '/v1/AUTH_a/c2')
    assert call(scripted, 'PUT', '/v1/AUTH_a/nocont/o',
                body=b'x').status_int == 404


def test_container_info_is_cached_and_invalidated(tmp_path):
    from tests.unit.proxy.conftest import Scripted
    harness = Scripted(tmp_path, recheck_container_existence='60')
    try:
        make_container(harness)
        call(harness, 'PUT', '/v1/AUTH_a/c/o1', body=b'x')
        heads = sum(1 for b in harness.backends for m, p, _ in b.requests
                    if m == 'HEAD' and p.endswith('/AUTH_a/c'))
        call(harness, 'PUT', '/v1/AUTH_a/c/o2', body=b'x')
        heads_after = sum(1 for b in harness.backends
                          for m, p, _ in b.requests
                          if m == 'HEAD' and p.endswith('/AUTH_a/c'))
        assert heads_after == heads
        call(harness, 'POST', '/v1/AUTH_a/c',
             headers={'X-Container-Meta-A': 'b'})
        call(harness, 'PUT', '/v1/AUTH_a/c/o3', body=b'x')
        heads_final = sum(1 for b in harness.backends
                          for m, p, _ in b.requests
                          if m == 'HEAD' and p.endswith('/AUTH_a/c'))
        assert heads_final == heads + 1
    finally:
        harness.close()


def test_delete_after_becomes_delete_at(scripted):
    make_container(scripted)
    now = time.time()
    call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=b'x',
         headers={'X-Delete-After': '100'})
    _part, primaries, _ = scripted.nodes('object', 'AUTH_a', 'c', 'o')
    stored = scripted.backend_of(primaries[0]).store['AUTH_a/c/o']
    assert abs(int(stored['headers']['x-delete-at']) - (now + 100)) <= 2
    assert 'x-delete-after' not in stored['headers']


def test_bad_requests(scripted):
    make_container(scripted)
    cases = [
        ('PUT', '/v1/AUTH_a/c/o', {'X-Delete-At': '1'}, b'x', 400),
        ('PUT', '/v1/AUTH_a/c/o', {'X-Delete-At': 'soon'}, b'x', 400),
        ('PUT', '/v1/AUTH_a/c/o', {'X-Delete-After': '-5'}, b'x', 400),
        ('PUT', '/v1/AUTH_a/c/o', {'X-Object-Meta-' + 'k' * 200: 'v'},
         b'x', 400),
        ('PUT', '/v1/AUTH_a/' + 'c' * 257, {}, None, 400),
        ('PUT', '/v1/AUTH_a/c/' + 'o' * 1025, {}, b'x', 400),
        ('PUT', '/v1/AUTH_a/c/o', {'Content-Length': str(6 * 1024 ** 3)},
         None, 413),
        ('PUT', '/v1/AUTH_a/c2', {'X-Storage-Policy': 'gold'}, None, 400),
        ('GET', '/v2/AUTH_a', {}, None, 400),
        ('GET', '/v1', {}, None, 412),
        ('PATCH', '/v1/AUTH_a/c', {}, None, 405),
    ]
    for method, path, headers, body, status in cases:
        resp = call(scripted, method, path, headers, body)
        assert resp.status_int == status, (method, path, headers,
                                           resp.status, resp.body)


def test_put_without_length_is_411(scripted):
    make_container(scripted)
    req = Request.blank('/v1/AUTH_a/c/o', method='PUT',
                        environ={'swift.authorize': as_owner})
    req.environ.pop('CONTENT_LENGTH', None)
    assert req.get_response(scripted.app).status_int == 411


def test_content_type_guessed_or_kept(scripted):
    make_container(scripted)
    call(scripted, 'PUT', '/v1/AUTH_a/c/p.json', body=b'{}')
    call(scripted, 'PUT', '/v1/AUTH_a/c/q.json', body=b'{}',
         headers={'Content-Type': 'text/x-mine'})
    assert call(scripted, 'HEAD', '/v1/AUTH_a/c/p.json').headers[
        'Content-Type'] == 'application/json'
    assert call(scripted, 'HEAD', '/v1/AUTH_a/c/q.json').headers[
        'Content-Type'] == 'text/x-mine'


def test_storage_policy_default_accepted(scripted):
    resp = call(scripted, 'PUT', '/v1/AUTH_a/c3',
                headers={'X-Storage-Policy': 'Policy-0'})
    assert resp.status_int == 201


def test_info(scripted):
    resp = call(scripted, 'GET', '/info')
    assert resp.status_int == 200
    info = resp.json
    assert info['swift']['max_file_size'] == 5 * 1024 ** 3 + 2
    assert info['swift']['container_listing_limit'] == 10000
    assert call(scripted, 'POST', '/info').status_int == 405


def test_parallel_calls_log_with_the_request_txn_id():
    set_txn_id('tx-parent')
    try:
        results = gather(backend_with_grace(0.1), [
            lambda: BackendResult(201, {'txn': get_txn_id()})] * 2,
            quorum=2)
    finally:
        set_txn_id(None)
    assert [r.headers['txn'] for r in results] == ['tx-parent'] * 2


def test_node_dying_mid_upload_does_not_fail_the_put(scripted):
    make_container(scripted)
    _part, primaries, _ = scripted.nodes('object', 'AUTH_a', 'c', 'big')
    dying = scripted.backend_of(primaries[1])

    def die_after_some(method, path, headers):
        if method != 'PUT' or path.count('/') < 5:
            return None
        raise ConnectionResetError('node died')
    dying.override = die_after_some
    body = b'z' * (3 * 1024 * 1024)
    resp = call(scripted, 'PUT', '/v1/AUTH_a/c/big', body=body)
    assert resp.status_int == 201
    assert call(scripted, 'GET', '/v1/AUTH_a/c/big').body == body
    holders = [b for b in scripted.backends if 'AUTH_a/c/big' in b.store]
    assert dying not in holders and len(holders) >= 2


def every_backend_answers(harness, status, body):
    for backend in harness.backends:
        backend.override = lambda m, p, h: (status, {}, body)


def test_backend_server_errors_reach_the_client_as_503(scripted):
    """quorum.CLIENT_STATUS: a quorum of 5xx on a write, or nothing but
    5xx on a read, is the cluster's trouble: 503, never the node's own
    status or body."""
    make_container(scripted)
    every_backend_answers(scripted, 500, b'Traceback (most recent call)')
    resp = call(scripted, 'POST', '/v1/AUTH_a/c',
                headers={'X-Container-Meta-A': 'b'})
    assert resp.status_int == 503
    assert b'Traceback' not in resp.body
    every_backend_answers(scripted, 507, b'full')
    assert call(scripted, 'GET', '/v1/AUTH_a/c').status_int == 503
    assert call(scripted, 'DELETE', '/v1/AUTH_a/c').status_int == 503


def test_each_object_server_updates_the_container_on_its_own_disk(scripted):
    make_container(scripted)
    _part, container_nodes, _ = scripted.nodes('container', 'AUTH_a', 'c')
    container_devices = {node['device'] for node in container_nodes}
    paired = 0
    for number in range(20):
        name = 'o%d' % number
        assert call(scripted, 'PUT', '/v1/AUTH_a/c/' + name,
                    body=b'x').status_int == 201
        for backend in scripted.backends:
            for method, path, headers in backend.requests:
                device = path.split('/')[1]
                if method == 'PUT' and path.endswith('/c/' + name) and \
                        device in container_devices:
                    assert headers['x-container-device'] == device
                    paired += 1
    assert paired >= 20


def test_replicated_get_and_head_authorize_once(scripted):
    """A GET or HEAD of a replicated object checks the container and asks
    the auth middleware once (each check is a container info lookup and
    an ACL decision: the proxy's CPU per request)."""
    make_container(scripted)
    call(scripted, 'PUT', '/v1/AUTH_a/c/o', body=b'x')
    for method in ('GET', 'HEAD'):
        asked = []

        def counting_owner(req):
            asked.append(req.method)
            as_owner(req)
        resp = Request.blank('/v1/AUTH_a/c/o', method=method, environ={
            'swift.authorize': counting_owner}).get_response(scripted.app)
        assert resp.status_int == 200
        assert asked == [method]
