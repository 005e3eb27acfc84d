"""The object server over real sockets and real tmp devices: every verb."""

import functools
import hashlib
import http.client
import json
import logging
import os
import socket
import time

import pytest

from objstore.common.conditional import http_date
from objstore.common.constraints import MAX_FILE_SIZE
from objstore.common.ranges import split_multipart_byteranges
from objstore.common.timestamp import Timestamp
from objstore.object import asyncpending, diskfile_writer, expiring
from objstore.object import server as object_server
from tests.unit.object.conftest import (
    ObjectServerHarness, RecordingBackend, ServerProcess, object_files, opath,
    put_object, tmp_files)
from tests.helpers import capture_logs, ts as ts_after, wait_for

NOW = time.time()
# An X-Delete-At still ahead however long after collection a test runs
# (a full suite on a loaded machine takes well over the 1,000 s once used).
LATER = int(NOW) + 30 * 86400
# Offsets from the real now: X-Delete-At and Last-Modified are checked
# against it.
ts = functools.partial(ts_after, base=NOW)


def put(server, obj='o', body=b'body', timestamp=None, **headers):
    send = {'X-Timestamp': timestamp or ts(),
            'Content-Type': 'text/plain'}
    send.update({k.replace('_', '-'): v for k, v in headers.items()})
    return server.request('PUT', opath(obj), send, body)


def device(server):
    return os.path.join(server.devices, 'sda')


# -- PUT / GET / HEAD round trips --------------------------------------------

def test_put_get_head_roundtrip(server):
    body = os.urandom(100000)
    stamp = ts()
    status, headers, _ = server.request('PUT', opath('dir/ö'), {
        'X-Timestamp': stamp, 'Content-Type': 'image/png',
        'Content-Length': str(len(body)),
        'X-Object-Meta-Color': 'blue', 'Content-Disposition': 'inline',
        'Content-Encoding': 'gzip', 'X-Object-Sysmeta-Owner': 'me',
        'X-Delete-At': str(int(NOW) + 3600)}, body)
    assert status == 201
    assert headers['etag'] == hashlib.md5(body).hexdigest()
    assert headers['last-modified'] == http_date(int(NOW) + 1)
    for method in ('GET', 'HEAD'):
        status, headers, got = server.request(method, opath('dir/ö'))
        assert status == 200
        assert got == (body if method == 'GET' else b'')
        assert headers['content-length'] == str(len(body))
        assert headers['content-type'] == 'image/png'
        assert headers['etag'] == hashlib.md5(body).hexdigest()
        assert headers['x-timestamp'] == Timestamp(stamp).normal
        assert headers['x-backend-timestamp'] == Timestamp(stamp).internal
        assert headers['last-modified'] == http_date(int(NOW) + 1)
        assert headers['x-object-meta-color'] == 'blue'
        assert headers['content-disposition'] == 'inline'
        assert headers['content-encoding'] == 'gzip'
        assert headers['x-object-sysmeta-owner'] == 'me'
        assert headers['x-delete-at'] == str(int(NOW) + 3600)
    assert tmp_files(device(server)) == []


def test_chunked_put(server):
    def pieces():
        for i in range(10):
            yield bytes([i]) * 7000
    # http.client sends an iterable without Content-Length chunked.
    status, headers, _ = server.request(
        'PUT', opath(), {'X-Timestamp': ts(), 'Content-Type': 'x/y'},
        pieces())
    assert status == 201
    body = b''.join(pieces())
    assert headers['etag'] == hashlib.md5(body).hexdigest()
    assert server.request('GET', opath())[2] == body


def test_zero_byte_object(server):
    assert put(server, body=b'')[0] == 201
    status, headers, body = server.request('GET', opath())
    assert (status, body, headers['content-length']) == (200, b'', '0')
    assert headers['etag'] == hashlib.md5(b'').hexdigest()


def test_etag_checked(server):
    good = hashlib.md5(b'body').hexdigest()
    assert put(server, ETag='"%s"' % good)[0] == 201
    status, _, msg = put(server, timestamp=ts(1), ETag='0' * 32)
    assert status == 422 and b'does not match' in msg
    assert server.request('GET', opath())[1]['x-timestamp'] == \
        Timestamp(ts()).normal
    assert tmp_files(device(server)) == []


def test_if_none_match_star_on_put(server):
    assert put(server, **{'If-None-Match': '*'})[0] == 201
    assert put(server, timestamp=ts(1), **{'If-None-Match': '*'})[0] == 412


# -- timestamps --------------------------------------------------------------

def test_older_or_equal_put_conflicts(server):
    assert put(server, body=b'new', timestamp=ts(10))[0] == 201
    for stamp in (ts(5), ts(10)):
        status, headers, _ = put(server, body=b'old', timestamp=stamp)
        assert status == 409
        assert headers['x-backend-timestamp'] == ts(10)
    assert server.request('GET', opath())[2] == b'new'
    assert len(object_files(device(server))) == 1


def test_timestamp_offsets_order_writes(server):
    base = Timestamp(NOW)
    assert put(server, body=b'a', timestamp=base.internal)[0] == 201
    later = Timestamp(base, offset=1).internal
    assert put(server, body=b'b', timestamp=later)[0] == 201
    assert server.request('GET', opath())[2] == b'b'


# -- bad input ---------------------------------------------------------------

BAD_PUTS = [
    ({'X-Timestamp': None}, 400, b'Missing X-Timestamp'),
    ({'X-Timestamp': 'yesterday'}, 400, b'Invalid X-Timestamp'),
    # The WSGI server itself refuses these, with an empty body.
    ({'Content-Length': '-1'}, 400, None),
    ({'Content-Length': 'abc'}, 400, None),
    ({'Content-Length': str(MAX_FILE_SIZE + 1)}, 413, b'too large'),
    ({'X-Delete-At': 'soon'}, 400, b'X-Delete-At'),
    ({'X-Delete-At': '1000'}, 400, b'X-Delete-At in past'),
    # Digits int() cannot read, and values no expirer queue can hold.
    ({'X-Delete-At': '\xb2\xb2'}, 400, b'Non-integer X-Delete-At'),
    ({'X-Delete-At': '1_999_999_999'}, 400, b'Non-integer X-Delete-At'),
    ({'X-Delete-At': '1' * 300}, 400, b'X-Delete-At too far in the future'),
    ({'X-Timestamp': '1_700_000_000'}, 400, b'Invalid X-Timestamp'),
    ({'X-Timestamp': '\xb2'}, 400, b'Invalid X-Timestamp'),
    ({'X-Backend-Storage-Policy-Index': '\xb2'}, 400, b'Policy-Index'),
    ({'X-Backend-Storage-Policy-Index': 'x'}, 400, b'Policy-Index'),
    ({'X-Object-Meta-' + 'k' * 200: 'v'}, 400, b'Metadata name too long'),
    ({'X-Object-Meta-Big': 'v' * 300}, 400, b'Metadata value longer than 256'),
    ({'X-Object-Meta-Bad': 'caf\xe9'}, 400, b'not valid UTF-8'),
]


@pytest.mark.parametrize('headers, status, message', BAD_PUTS)
def test_bad_put_headers(server, headers, status, message):
    send = {'X-Timestamp': ts(), 'Content-Length': '4'}
    send.update(headers)
    send = {k: v for k, v in send.items() if v is not None}
    got_status, _, body = server.request('PUT', opath(), send, b'body'
                                         if send.get('Content-Length') == '4'
                                         else None)
    assert got_status == status
    if message is not None:
        assert message in body and b'\n' not in body
    assert object_files(device(server)) == []
    assert tmp_files(device(server)) == []


def test_put_without_length_or_chunked_is_411(server):
    conn_status = raw_request(server, b'PUT ' + opath().encode() +
                              b' HTTP/1.1\r\nHost: x\r\nX-Timestamp: ' +
                              ts().encode() + b'\r\n\r\n')
    assert conn_status.startswith(b'HTTP/1.1 411')
    assert object_files(device(server)) == []


def test_utf8_metadata_roundtrips_as_bytes(server):
    value = 'caf\u00e9'.encode('utf-8').decode('latin-1')
    assert put(server, **{'X-Object-Meta-Word': value})[0] == 201
    assert server.request('HEAD', opath())[1]['x-object-meta-word'] == value
    status, _, _ = server.request('POST', opath(), {
        'X-Timestamp': ts(1), 'X-Object-Meta-Word': 'caf\xe9'})
    assert status == 400


def test_post_with_unusable_delete_at_changes_nothing(server):
    assert put(server)[0] == 201
    status, _, body = server.request('POST', opath(), {
        'X-Timestamp': ts(1), 'X-Object-Meta-New': 'x',
        'X-Delete-At': '1' * 300})
    assert (status, body) == (400, b'X-Delete-At too far in the future')
    assert 'x-object-meta-new' not in server.request('HEAD', opath())[1]
    assert not [name for name in os.listdir(device(server))
                if name.startswith('expiring')]


@pytest.mark.parametrize('name', ['.', '..', 'x/../y', '../../../../etc/o',
                                  'a/./b'])
def test_dot_segment_names_are_objects_of_their_own(server, name):
    """Swift stores them as any name: hashed, never joined to a path, so
    the file lands in the device's objects dir, and 'y' is not 'x/../y'."""
    assert put(server, obj=name, body=name.encode())[0] == 201
    status, _, body = server.request('GET', opath(name))
    assert (status, body) == (200, name.encode())
    folded = os.path.normpath(name).lstrip('./') or 'o'
    assert server.request('GET', opath(folded))[0] == 404
    files = object_files(device(server))
    assert len(files) == 1
    assert os.path.realpath(files[0]).startswith(
        os.path.realpath(device(server)) + '/objects')


def test_too_many_metadata_items(server):
    headers = {'X-Object-Meta-K%d' % i: 'v' for i in range(91)}
    assert put(server, **headers)[0] == 400


@pytest.mark.parametrize('path', [
    '/sda/0/a/c', '/sda/0/a', '/sda/x/a/c/o', '/sda/0/a/c/%FF%FE',
    '/sda/0/a/c/with%00nul', '/sda/0/a/c/' + 'o' * 1025,
    '/sda/0/' + 'a' * 257 + '/c/o', '/sda/%C2%B2/a/c/o',
])
def test_bad_object_paths(server, path):
    for method in ('PUT', 'GET', 'HEAD', 'POST', 'DELETE'):
        status, _, body = server.request(method, path, {
            'X-Timestamp': ts(), 'Content-Length': '0'}, b'')
        assert status == 400, (method, path)
        if method != 'HEAD':
            assert body and b'\n' not in body, body
    assert object_files(device(server)) == []


def test_unknown_method(server):
    assert server.request('PATCH', opath())[0] == 405


def test_longest_name_and_largest_metadata_roundtrip(server, monkeypatch):
    # http.client refuses answers with over 100 headers; this one has 100+.
    monkeypatch.setattr(http.client, '_MAXHEADERS', 1000)
    name = 'n' * 1024
    meta = {'X-Object-Meta-K%02d' % i: 'v' * (43 if i < 46 else 42)
            for i in range(90)}
    assert put(server, obj=name, **meta)[0] == 201
    status, headers, _ = server.request('HEAD', opath(name))
    assert status == 200
    assert all(headers[k.lower()] == v for k, v in meta.items())
    assert any(f.endswith('.data.mdjson') for f in
               object_files(device(server)))


# -- ranges ------------------------------------------------------------------

BODY = bytes(range(256)) * 40   # 10,240 bytes


@pytest.fixture
def ranged(server):
    assert put(server, body=BODY)[0] == 201
    return server


@pytest.mark.parametrize('value, span', [
    ('bytes=0-9', (0, 10)), ('bytes=10000-', (10000, 10240)),
    ('bytes=-40', (10200, 10240)), ('bytes=10230-99999', (10230, 10240)),
    ('bytes=99999-, 5-5', (5, 6)),
])
def test_single_ranges(ranged, value, span):
    status, headers, body = ranged.request('GET', opath(), {'Range': value})
    assert status == 206
    assert body == BODY[span[0]:span[1]]
    assert headers['content-range'] == 'bytes %d-%d/10240' % (span[0],
                                                              span[1] - 1)


def test_multiple_ranges(ranged):
    status, headers, body = ranged.request(
        'GET', opath(), {'Range': 'bytes=0-99,5000-5099,-10'})
    assert status == 206
    ctype = headers['content-type']
    assert ctype.startswith('multipart/byteranges;boundary=')
    assert int(headers['content-length']) == len(body)
    parts = split_multipart_byteranges(body, ctype.split('=', 1)[1])
    assert [(s, e, d) for s, e, _, d in parts] == [
        (0, 100, BODY[:100]), (5000, 5100, BODY[5000:5100]),
        (10230, 10240, BODY[10230:])]


@pytest.mark.parametrize('value', ['bytes=10240-', 'bytes=20000-30000',
                                   'bytes=-0'])
def test_unsatisfiable_range(ranged, value):
    status, headers, _ = ranged.request('GET', opath(), {'Range': value})
    assert status == 416
    assert headers['content-range'] == 'bytes */10240'


@pytest.mark.parametrize('value', ['bytes=5-1', 'pages=1-2', 'bytes=x'])
def test_invalid_range_is_ignored(ranged, value):
    status, _, body = ranged.request('GET', opath(), {'Range': value})
    assert (status, body) == (200, BODY)


# -- conditional requests ----------------------------------------------------

def test_conditional_get(ranged):
    etag = hashlib.md5(BODY).hexdigest()
    cases = [
        ({'If-Match': '"%s"' % etag}, 200),
        ({'If-Match': '"nope"'}, 412),
        ({'If-None-Match': '"%s"' % etag}, 304),
        ({'If-None-Match': '"nope"'}, 200),
        ({'If-Modified-Since': http_date(NOW + 100)}, 304),
        ({'If-Modified-Since': http_date(NOW - 100)}, 200),
        ({'If-Unmodified-Since': http_date(NOW - 100)}, 412),
        ({'If-Unmodified-Since': http_date(NOW + 100)}, 200),
    ]
    for headers, expected in cases:
        for method in ('GET', 'HEAD'):
            status, got_headers, _ = ranged.request(method, opath(), headers)
            assert status == expected, (method, headers)
            if status == 304:
                assert got_headers['etag'] == etag


def test_an_unconditional_read_evaluates_no_conditions(ranged, monkeypatch):
    # Nearly every GET and HEAD carries no If-* header: they skip the
    # evaluation (and its four header lookups) and answer as before.
    def unexpected(*_args):
        raise AssertionError('conditions evaluated for a plain read')
    monkeypatch.setattr(object_server, 'evaluate_conditions', unexpected)
    for method in ('GET', 'HEAD'):
        status, headers, _ = ranged.request(method, opath())
        assert (status, headers['etag']) == (
            200, hashlib.md5(BODY).hexdigest())


# -- POST --------------------------------------------------------------------

def test_post_replaces_user_metadata_keeps_the_rest(server):
    assert put(server, timestamp=ts(), **{
        'X-Object-Meta-Old': '1', 'X-Object-Sysmeta-Keep': 'k',
        'Content-Type': 'text/csv'})[0] == 201
    status, _, _ = server.request('POST', opath(), {
        'X-Timestamp': ts(1), 'X-Object-Meta-New': '2'})
    assert status == 202
    status, headers, body = server.request('GET', opath())
    assert (status, body) == (200, b'body')
    assert 'x-object-meta-old' not in headers
    assert headers['x-object-meta-new'] == '2'
    assert headers['x-object-sysmeta-keep'] == 'k'
    assert headers['content-type'] == 'text/csv'
    assert headers['x-timestamp'] == Timestamp(ts(1)).normal
    assert headers['x-backend-data-timestamp'] == ts()


def test_post_conflicts_and_missing(server):
    assert server.request('POST', opath(), {'X-Timestamp': ts()})[0] == 404
    assert server.request('POST', opath(), {})[0] == 400
    put(server, timestamp=ts(5))
    status, headers, _ = server.request('POST', opath(),
                                        {'X-Timestamp': ts(4)})
    assert status == 409 and headers['x-backend-timestamp'] == ts(5)


# -- DELETE ------------------------------------------------------------------

def test_delete_then_get_404_with_tombstone_time(server):
    put(server, timestamp=ts())
    status, headers, _ = server.request('DELETE', opath(),
                                        {'X-Timestamp': ts(1)})
    assert status == 204 and headers['x-backend-timestamp'] == ts(1)
    status, headers, _ = server.request('GET', opath())
    assert status == 404 and headers['x-backend-timestamp'] == ts(1)
    status, headers, _ = server.request('DELETE', opath(),
                                        {'X-Timestamp': ts(1)})
    assert status == 409 and headers['x-backend-timestamp'] == ts(1)


def test_delete_of_nothing_is_404_but_writes_tombstone(server):
    status, _, _ = server.request('DELETE', opath('ghost'),
                                  {'X-Timestamp': ts()})
    assert status == 404
    files = object_files(device(server))
    assert [os.path.basename(f) for f in files] == [ts() + '.ts']
    # The tombstone makes an older PUT arriving late lose.
    assert put(server, obj='ghost', timestamp=ts(-1))[0] == 409


def test_delete_requires_timestamp(server):
    assert server.request('DELETE', opath(), {})[0] == 400
    assert server.request('DELETE', opath(),
                          {'X-Timestamp': 'nope'})[0] == 400


def test_x_if_delete_at(server):
    delete_at = str(LATER)
    put(server, timestamp=ts(), **{'X-Delete-At': delete_at})
    status, _, _ = server.request('DELETE', opath(), {
        'X-Timestamp': ts(1), 'X-If-Delete-At': str(LATER - 1)})
    assert status == 412
    status, _, _ = server.request('DELETE', opath(), {
        'X-Timestamp': ts(1), 'X-If-Delete-At': delete_at})
    assert status == 204
    # Nothing ever stored: 404 as in Swift, and no tombstone written.
    assert server.request('DELETE', opath('nothing'), {
        'X-Timestamp': ts(1), 'X-If-Delete-At': delete_at})[0] == 404
    assert 'x-backend-timestamp' not in server.request(
        'HEAD', opath('nothing'))[1]


def test_x_if_delete_at_not_a_time_is_400(server):
    put(server, timestamp=ts(), **{'X-Delete-At': str(LATER)})
    for value in ('abc', ''):
        status, _, body = server.request('DELETE', opath(), {
            'X-Timestamp': ts(1), 'X-If-Delete-At': value})
        assert (status, body) == (400, b'Bad X-If-Delete-At header value')


def test_expirer_delete_of_expired_object(server, mgr):
    expired_at = str(int(NOW) - 10)
    put_object(mgr, 'gone', b'x', ts(-20), {'X-Delete-At': expired_at})
    status, _, _ = server.request('DELETE', opath('gone'), {
        'X-Timestamp': Timestamp(expired_at).internal,
        'X-If-Delete-At': expired_at})
    assert status == 404
    status, headers, _ = server.request('HEAD', opath('gone'))
    assert headers['x-backend-timestamp'] == Timestamp(expired_at).internal


# -- expiry ------------------------------------------------------------------

def test_x_delete_at_queues_entry_and_expired_is_404(server, mgr):
    delete_at = LATER
    put(server, timestamp=ts(), **{'X-Delete-At': str(delete_at)})
    entries = list(expiring.iter_expired(device(server), 0, delete_at))
    assert len(entries) == 1
    entry = entries[0][1]
    assert (entry['account'], entry['container'], entry['obj'],
            entry['delete_at'], entry['timestamp']) == \
        ('a', 'c', 'o', delete_at, ts())
    # POST moving X-Delete-At queues another; the old entry stays.
    server.request('POST', opath(), {'X-Timestamp': ts(1),
                                     'X-Delete-At': str(delete_at + 5)})
    assert len(list(expiring.iter_expired(device(server), 0,
                                          delete_at + 5))) == 2
    # An object whose time has passed answers 404 with its timestamp.
    put_object(mgr, 'expired', b'x', ts(), {'X-Delete-At': str(int(NOW))})
    status, headers, _ = server.request('GET', opath('expired'))
    assert status == 404 and headers['x-backend-timestamp'] == ts()
    assert server.request('POST', opath('expired'),
                          {'X-Timestamp': ts(1)})[0] == 404


# -- corruption --------------------------------------------------------------

def test_corrupt_object_quarantined_and_stream_cut(server):
    body = os.urandom(300000)
    put(server, body=body)
    [data_file] = object_files(device(server))
    with open(data_file, 'r+b') as data:
        data.seek(1000)
        data.write(b'\0' if body[1000] else b'\1')
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    conn.request('GET', opath())
    resp = conn.getresponse()
    assert resp.status == 200
    with pytest.raises(http.client.IncompleteRead) as caught:
        resp.read()
    assert len(caught.value.partial) < len(body)
    conn.close()
    assert server.request('GET', opath())[0] == 404
    assert os.path.isdir(os.path.join(device(server), 'quarantined',
                                      'objects'))


# -- REPLICATE ---------------------------------------------------------------

def test_replicate_returns_suffix_hashes(server):
    assert server.request('REPLICATE', '/sda/0')[2] == b'{}'
    put(server, obj='a1')
    put(server, obj='a2')
    status, _, body = server.request('REPLICATE', '/sda/0')
    hashes = json.loads(body)
    assert status == 200 and 1 <= len(hashes) <= 2
    suffix = sorted(hashes)[0]
    status, _, body = server.request('REPLICATE',
                                     '/sda/0/%s-abc' % suffix)
    assert json.loads(body) == hashes
    assert server.request('REPLICATE', '/sda/x')[0] == 400
    assert server.request('REPLICATE', '/sdz/0')[0] == 507


# -- devices -----------------------------------------------------------------

def test_missing_device_is_507(server):
    status, _, _ = server.request('PUT', opath(device='sdz'), {
        'X-Timestamp': ts(), 'Content-Length': '1'}, b'x')
    assert status == 507
    assert server.request('GET', opath(device='sdz'))[0] == 507


def test_mount_check_unmounted_is_507(devices):
    harness = ObjectServerHarness(devices, mount_check='true')
    try:
        assert put(harness)[0] == 507
        assert harness.request('GET', opath())[0] == 507
    finally:
        harness.stop()


def test_no_space_is_507_and_leaves_nothing(devices):
    harness = ObjectServerHarness(devices, fallocate_reserve=str(10 ** 18))
    try:
        assert put(harness, body=b'x' * 1000)[0] == 507
        assert harness.request('DELETE', opath(),
                               {'X-Timestamp': ts()})[0] == 507
        assert object_files(os.path.join(devices, 'sda')) == []
        assert tmp_files(os.path.join(devices, 'sda')) == []
    finally:
        harness.stop()


# -- container updates -------------------------------------------------------

def container_headers(*backends, partition='7', device='cd'):
    return {'X-Container-Host': ','.join(b.host for b in backends),
            'X-Container-Partition': ','.join(partition for _ in backends),
            'X-Container-Device': ','.join(device for _ in backends)}


def test_container_updates_reuse_one_connection(server, container_backend):
    headers = container_headers(container_backend)
    for number in range(3):
        assert put(server, obj='o%d' % number, body=b'x',
                   timestamp=ts(number), **headers)[0] == 201
    server.request('DELETE', opath('o0'), dict(headers, **{
        'X-Timestamp': ts(5)}))
    assert len(container_backend.requests) == 4
    # One kept-alive connection carried them all, not one per update.
    assert len(container_backend.client_ports) == 1


def test_put_and_delete_update_every_container(server, container_backend):
    other = RecordingBackend()
    try:
        headers = container_headers(container_backend, other)
        assert put(server, obj='ö', body=b'12345', timestamp=ts(),
                   **{'X-Trans-Id': 'tx1'}, **headers)[0] == 201
        for backend in (container_backend, other):
            [(method, path, got)] = backend.requests
            assert (method, path) == ('PUT', '/cd/7/a/c/ö'.encode()
                                      .decode('latin-1'))
            assert got['X-Size'] == '5'
            assert got['X-Etag'] == hashlib.md5(b'12345').hexdigest()
            assert got['X-Content-Type'] == 'text/plain'
            assert got['X-Timestamp'] == ts()
            assert got['X-Trans-Id'] == 'tx1'
            assert got['X-Backend-Storage-Policy-Index'] == '0'
        server.request('DELETE', opath('ö'), dict(headers, **{
            'X-Timestamp': ts(1)}))
        assert container_backend.requests[-1][0] == 'DELETE'
        assert container_backend.requests[-1][2]['X-Timestamp'] == ts(1)
    finally:
        other.stop()
    pending = os.path.join(device(server), 'async_pending')
    assert not os.path.exists(pending)


def test_listing_overrides_replace_stored_values(server, container_backend):
    headers = container_headers(container_backend)
    headers.update({'X-Backend-Container-Update-Override-Etag': 'e' * 32,
                    'X-Backend-Container-Update-Override-Size': '123456'})
    assert put(server, body=b'frag', **headers)[0] == 201
    [(_method, _path, got)] = container_backend.requests
    assert (got['X-Etag'], got['X-Size'], got['X-Content-Type']) == \
        ('e' * 32, '123456', 'text/plain')
    assert server.request('HEAD', opath())[1]['content-length'] == '4'


SYSMETA_OVERRIDE = 'X-Object-Sysmeta-Container-Update-Override-'
BACKEND_OVERRIDE = 'X-Backend-Container-Update-Override-'


def test_sysmeta_overrides_replace_listing_values(server, container_backend):
    headers = container_headers(container_backend)
    headers.update({SYSMETA_OVERRIDE + 'Etag': 'abc; slo_etag=def',
                    SYSMETA_OVERRIDE + 'Size': '1999',
                    SYSMETA_OVERRIDE + 'Content-Type': 'over/ride'})
    assert put(server, body=b'stuff', **headers)[0] == 201
    [(_method, _path, got)] = container_backend.requests
    assert (got['X-Etag'], got['X-Size'], got['X-Content-Type']) == \
        ('abc; slo_etag=def', '1999', 'over/ride')
    # The object itself keeps its real values and the override sysmeta.
    _status, stored, body = server.request('GET', opath())
    assert body == b'stuff'
    assert (stored['etag'], stored['content-type']) == (
        hashlib.md5(b'stuff').hexdigest(), 'text/plain')
    assert stored[(SYSMETA_OVERRIDE + 'Size').lower()] == '1999'


def test_sysmeta_override_wins_over_backend_override(server,
                                                     container_backend):
    headers = container_headers(container_backend)
    headers.update({BACKEND_OVERRIDE + 'Etag': 'backend-etag',
                    BACKEND_OVERRIDE + 'Size': '7',
                    SYSMETA_OVERRIDE + 'Etag': 'sysmeta-etag'})
    assert put(server, body=b'stuff', **headers)[0] == 201
    [(_method, _path, got)] = container_backend.requests
    assert (got['X-Etag'], got['X-Size'], got['X-Content-Type']) == \
        ('sysmeta-etag', '7', 'text/plain')


def test_async_pending_keeps_the_overrides(server, container_backend):
    container_backend.status = 503
    headers = container_headers(container_backend)
    headers.update({SYSMETA_OVERRIDE + 'Etag': 'sysmeta-etag',
                    BACKEND_OVERRIDE + 'Size': '42'})
    assert put(server, body=b'abc', **headers)[0] == 201
    [(_path, update)] = list(asyncpending.iter_async_pendings(
        device(server), 0))
    sent = container_backend.requests[0][2]
    for name in ('X-Etag', 'X-Size', 'X-Content-Type'):
        assert update['headers'][name] == sent[name]
    assert (sent['X-Etag'], sent['X-Size']) == ('sysmeta-etag', '42')


@pytest.mark.parametrize('prefix', [SYSMETA_OVERRIDE, BACKEND_OVERRIDE])
@pytest.mark.parametrize('size', ['', '-1', '1.5', 'big', '\xb2'])
def test_override_size_not_a_count_is_400(server, container_backend,
                                          prefix, size):
    headers = container_headers(container_backend)
    headers[prefix + 'Size'] = size
    status, _headers, body = put(server, body=b'abc', **headers)
    assert status == 400
    assert body.startswith(b'invalid ' + prefix.encode() + b'Size')
    assert container_backend.requests == []
    assert server.request('HEAD', opath())[0] == 404


def test_failed_container_update_writes_async_pending(server,
                                                      container_backend):
    container_backend.status = 503
    dead = RecordingBackend()
    dead.stop()
    headers = container_headers(container_backend, dead)
    assert put(server, body=b'abc', **headers)[0] == 201
    [(path, update)] = list(asyncpending.iter_async_pendings(
        device(server), 0))
    assert update['op'] == 'PUT' and update['obj'] == 'o'
    assert update['headers']['X-Size'] == '3'
    assert update['headers']['X-Timestamp'] == ts()
    assert {n['host'] for n in update['container_nodes']} == {
        container_backend.host, dead.host}


# Background container updates need a monkey-patched process (the backend
# client's sockets must be green), as servers run in production: these
# tests use a real server process.

def test_slow_container_update_finishes_in_background(tmp_path):
    server = ServerProcess(tmp_path, container_update_timeout='0.2',
                           node_timeout='5')
    slow = RecordingBackend(delay=1.2)
    try:
        server.start()
        started = time.monotonic()
        status, _ = server.request('PUT', opath(), dict(
            container_headers(slow), **{'X-Timestamp': ts(),
                                        'X-Delete-At': str(int(NOW) + 86400)}),
            b'x')
        assert status == 201
        assert time.monotonic() - started < 1.0
        # Written from the server's main thread, through its thread pool.
        assert len(list(expiring.iter_expired(server.device_path, 0,
                                              NOW + 86400))) == 1
        assert slow.answered == 0
        assert wait_for(lambda: slow.answered == 1)
        time.sleep(0.2)
        assert list(asyncpending.iter_async_pendings(
            server.device_path, 0)) == []
    finally:
        slow.stop()
        server.kill()


def test_container_update_past_node_timeout_goes_async(tmp_path):
    server = ServerProcess(tmp_path, container_update_timeout='0.2',
                           node_timeout='0.5')
    stuck = RecordingBackend(delay=2.0)
    try:
        server.start()
        status, _ = server.request('PUT', opath(), dict(
            container_headers(stuck), **{'X-Timestamp': ts()}), b'x')
        assert status == 201
        pendings = wait_for(lambda: list(asyncpending.iter_async_pendings(
            server.device_path, 0)))
        [(_path, update)] = pendings
        assert update['container_nodes'][0]['host'] == stuck.host
    finally:
        stuck.stop()
        server.kill()


def test_mismatched_container_headers_do_not_fail_the_write(server,
                                                            container_backend):
    headers = container_headers(container_backend)
    headers['X-Container-Device'] = 'd1,d2'
    assert put(server, **headers)[0] == 201
    assert container_backend.requests == []


# -- raw sockets: Expect: 100-continue and disconnects -----------------------

def raw_request(server, data, read_until=b'\r\n\r\n'):
    sock = socket.create_connection((server.host, server.port), timeout=10)
    try:
        sock.sendall(data)
        answer = b''
        while read_until not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer
    finally:
        sock.close()


def put_head(server, length, timestamp, expect=True):
    lines = ['PUT %s HTTP/1.1' % opath(), 'Host: x',
             'X-Timestamp: %s' % timestamp, 'Content-Length: %d' % length]
    if expect:
        lines.append('Expect: 100-continue')
    return ('\r\n'.join(lines) + '\r\n\r\n').encode()


def test_expect_100_continue(server):
    sock = socket.create_connection((server.host, server.port), timeout=10)
    try:
        sock.sendall(put_head(server, 5, ts()))
        assert sock.recv(1024).startswith(b'HTTP/1.1 100 Continue')
        sock.sendall(b'hello')
        assert sock.recv(1024).startswith(b'HTTP/1.1 201')
    finally:
        sock.close()
    # A refused PUT gets its final answer instead of 100 Continue.
    answer = raw_request(server, put_head(server, 5, ts(-1)))
    assert answer.startswith(b'HTTP/1.1 409')


def test_client_disconnect_mid_body_leaves_nothing(server):
    put(server, body=b'original', timestamp=ts())
    sock = socket.create_connection((server.host, server.port), timeout=10)
    sock.sendall(put_head(server, 1000000, ts(1)))
    assert sock.recv(1024).startswith(b'HTTP/1.1 100')
    sock.sendall(b'x' * 100000)
    sock.close()
    assert wait_for(lambda: tmp_files(device(server)) == [])
    assert server.request('GET', opath())[2] == b'original'
    assert len(object_files(device(server))) == 1


# -- more edges: POST Content-Type, slow clients, a disk that fills, logs ----

def test_post_content_type_only_when_sent(server):
    put(server, timestamp=ts(), **{'Content-Type': 'text/csv'})
    server.request('POST', opath(), {'X-Timestamp': ts(1)})
    assert server.request('HEAD', opath())[1]['content-type'] == 'text/csv'
    server.request('POST', opath(), {'X-Timestamp': ts(2),
                                     'Content-Type': 'image/gif'})
    assert server.request('HEAD', opath())[1]['content-type'] == 'image/gif'
    # As in Swift, a POST without a type keeps an earlier POST's: it is
    # carried into the newest .meta, which alone decides, so replicas
    # holding the same files agree.
    server.request('POST', opath(), {'X-Timestamp': ts(3)})
    assert server.request('HEAD', opath())[1]['content-type'] == 'image/gif'


def test_put_without_content_type_gets_octet_stream(server):
    server.request('PUT', opath(), {'X-Timestamp': ts()}, b'x')
    assert server.request('HEAD', opath())[1]['content-type'] == \
        'application/octet-stream'


def test_client_that_stops_sending_gets_408(devices):
    harness = ObjectServerHarness(devices, client_timeout='0.3')
    sock = socket.create_connection((harness.host, harness.port), timeout=10)
    try:
        sock.sendall(put_head(harness, 100, ts()))
        assert sock.recv(1024).startswith(b'HTTP/1.1 100')
        sock.sendall(b'x' * 10)
        answer = sock.recv(1024)
        assert answer.startswith(b'HTTP/1.1 408'), answer
        assert tmp_files(os.path.join(devices, 'sda')) == []
        assert object_files(os.path.join(devices, 'sda')) == []
    finally:
        sock.close()
        harness.stop()


def test_disk_full_mid_write_is_507_and_leaves_nothing(server, monkeypatch):
    real_write = os.write
    calls = {'n': 0}

    def filling_write(fd, data):
        calls['n'] += 1
        if calls['n'] > 2:
            raise OSError(28, 'No space left on device')
        return real_write(fd, data)

    # Only the DiskFile layer's writes see the full disk.
    monkeypatch.setattr(diskfile_writer.os, 'write', filling_write)
    body = b'z' * 1000000  # several network chunks: the third write fails
    status, _, msg = server.request('PUT', opath(), {
        'X-Timestamp': ts(), 'Content-Length': str(len(body))}, body)
    monkeypatch.undo()
    assert status == 507 and b'No space' in msg
    assert tmp_files(device(server)) == []
    assert object_files(device(server)) == []


def test_one_access_line_per_request_with_txn_id(server):
    with capture_logs(server.app.logger, logging.INFO) as handler:
        put(server, **{'X-Trans-Id': 'tx-put-1'})
        server.request('GET', opath(), {'X-Trans-Id': 'tx-get-1'})
        server.request('GET', opath('missing'), {'X-Trans-Id': 'tx-404'})
    lines = handler.messages()
    assert len(lines) == 3
    assert '"PUT /sda/0/a/c/o" 201 4' in lines[0] and 'tx-put-1' in lines[0]
    assert '"GET /sda/0/a/c/o" 200 4' in lines[1] and 'tx-get-1' in lines[1]
    assert '404' in lines[2] and 'tx-404' in lines[2]
