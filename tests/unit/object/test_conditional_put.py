"""Conditional PUTs on the object server (real sockets, tmp devices): the
condition holds when the PUT arrives and is tested again, under the
partition lock, when its file becomes visible; a writer that committed
meanwhile makes the later one fail with nothing stored. The proxy's
withdrawal of what a PUT that failed its quorum stored, and its
announcement of one that won (only then is the container updated)."""

import fcntl
import functools
import http.client
import os
import time

import pytest

from objstore.common.conditional import (
    ANNOUNCE_PUT_HEADER, PUT_IF_MATCH_HEADER, WITHDRAW_PUT_HEADER)
from objstore.common.exceptions import DiskFileNotExist, WriteConditionFailed
from objstore.object import asyncpending, ondisk
from objstore.object.diskfile import DiskFileManager, DiskFileSettings
from objstore.object.memdiskfile import InMemoryDiskFileManager
from tests.helpers import ts as ts_after
from tests.unit.object.conftest import (
    HASH_CONF, object_files, opath, put_object, tmp_files)

ts = functools.partial(ts_after, base=time.time())
BODY = b'x' * 1000


def start_put(server, timestamp, headers):
    """A PUT whose headers and first half of the body are sent; the
    connection, to finish with ``finish_put``."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    conn.putrequest('PUT', opath())
    for name, value in dict(headers, **{
            'X-Timestamp': timestamp, 'Content-Type': 'text/plain',
            'Content-Length': str(len(BODY))}).items():
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(BODY[:500])
    return conn


def finish_put(conn):
    conn.send(BODY[500:])
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status


def put(server, timestamp, body=BODY, **headers):
    headers.update({'X-Timestamp': timestamp, 'Content-Type': 'text/plain'})
    return server.request('PUT', opath(), headers, body)[0]


def test_creator_loses_to_one_that_committed_while_it_streamed(
        server, device_path):
    slow = start_put(server, ts(2), {'If-None-Match': '*'})
    assert put(server, ts(1), b'quick', **{'If-None-Match': '*'}) == 201
    assert finish_put(slow) == 412
    assert server.request('GET', opath())[2] == b'quick'
    assert [os.path.basename(path) for path in object_files(device_path)
            if path.endswith('.data')] == [ts(1) + '.data']


def test_unconditional_put_streaming_meanwhile_still_wins(server):
    slow = start_put(server, ts(2), {})
    assert put(server, ts(1), b'quick', **{'If-None-Match': '*'}) == 201
    assert finish_put(slow) == 201
    assert server.request('GET', opath())[2] == BODY


def test_if_match_is_tested_again_at_commit(server):
    assert put(server, ts(1), b'v1') == 201
    etag_v1 = server.request('HEAD', opath())[1]['etag']
    slow = start_put(server, ts(3), {PUT_IF_MATCH_HEADER: etag_v1})
    assert put(server, ts(2), b'v2', **{PUT_IF_MATCH_HEADER: etag_v1}) == 201
    assert finish_put(slow) == 412
    assert server.request('GET', opath())[2] == b'v2'


def test_if_match_on_nothing_and_on_another_etag(server):
    assert put(server, ts(1), **{PUT_IF_MATCH_HEADER: '"abc"'}) == 412
    assert put(server, ts(2), b'v1') == 201
    assert put(server, ts(3), **{PUT_IF_MATCH_HEADER: '"abc"'}) == 412
    assert put(server, ts(4), **{PUT_IF_MATCH_HEADER: '*'}) == 201


def test_if_match_compares_the_item_etag_is_at_names(server):
    assert put(server, ts(1), b'v1', **{
        'X-Object-Sysmeta-S3api-Etag': 'abc-2'}) == 201
    at = {'X-Backend-Etag-Is-At': 'X-Object-Sysmeta-S3api-Etag'}
    assert put(server, ts(2), **dict(at, **{
        PUT_IF_MATCH_HEADER: '"def-2"'})) == 412
    assert put(server, ts(3), **dict(at, **{
        PUT_IF_MATCH_HEADER: '"abc-2"'})) == 201


def test_check_runs_under_the_partition_lock_and_can_refuse(mgr,
                                                             device_path):
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    lock_path = os.path.join(os.path.dirname(os.path.dirname(df.hash_dir)),
                             ondisk.PARTITION_LOCK_FILE)

    def refuse():
        with open(lock_path, 'w') as other:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        raise WriteConditionFailed('someone else was first')
    with pytest.raises(WriteConditionFailed):
        with df.create(3) as writer:
            writer.write(b'abc')
            writer.put({'X-Timestamp': ts(1)}, check=refuse)
    assert not os.path.exists(df.hash_dir)
    assert tmp_files(device_path) == []


def withdraw(server, timestamp):
    return server.request('DELETE', opath(), {
        'X-Timestamp': timestamp, WITHDRAW_PUT_HEADER: 'true'})[0]


def test_withdraw_removes_that_put_and_leaves_no_tombstone(server,
                                                           device_path):
    assert put(server, ts(1), b'loser') == 201
    assert withdraw(server, ts(1)) == 204
    assert server.request('GET', opath())[0] == 404
    assert object_files(device_path) == []


def test_withdraw_never_touches_another_write(server, device_path):
    assert put(server, ts(1), b'first') == 201
    assert withdraw(server, ts(2)) == 404
    assert put(server, ts(3), b'newer') == 201
    assert withdraw(server, ts(1)) == 404
    assert server.request('GET', opath())[2] == b'newer'
    assert server.request('DELETE', opath(), {'X-Timestamp': ts(4)})[0] == 204
    assert withdraw(server, ts(3)) == 404
    assert server.request('GET', opath())[0] == 404


@pytest.mark.parametrize('kind', ['disk', 'memory'])
def test_withdraw_contract(kind, devices):
    if kind == 'disk':
        mgr = DiskFileManager(DiskFileSettings(devices=devices,
                                               hash_conf=HASH_CONF))
    else:
        mgr = InMemoryDiskFileManager(('sda',), HASH_CONF)
    df = put_object(mgr, 'o', b'body', ts(1))
    assert df.withdraw(ts(2)) is False
    assert df.withdraw(ts(1)) is True
    with pytest.raises(DiskFileNotExist):
        mgr.get_diskfile('sda', '0', 'a', 'c', 'o').open()
    assert df.withdraw(ts(1)) is False


def container_headers(backend):
    return {'X-Container-Host': backend.host, 'X-Container-Partition': '1',
            'X-Container-Device': 'sdc'}


def pending_updates(device_path):
    return [path for path, _update in asyncpending.iter_async_pendings(
        device_path)]


def test_conditional_put_is_listed_only_once_announced(
        server, device_path, container_backend):
    assert put(server, ts(1), b'won', **dict(
        container_headers(container_backend), **{'If-None-Match': '*'})) \
        == 201
    assert container_backend.requests == []
    assert len(pending_updates(device_path)) == 1
    assert server.request('PUT', opath(), {
        'X-Timestamp': ts(1), ANNOUNCE_PUT_HEADER: 'true'})[0] == 204
    [(method, _path, headers)] = container_backend.requests
    assert (method, headers['X-Timestamp'], headers['X-Size']) == (
        'PUT', ts(1), '3')
    assert pending_updates(device_path) == []
    assert server.request('PUT', opath(), {
        'X-Timestamp': ts(1), ANNOUNCE_PUT_HEADER: 'true'})[0] == 404


def test_withdrawn_put_is_never_listed(server, device_path,
                                       container_backend):
    assert put(server, ts(1), b'lost', **dict(
        container_headers(container_backend), **{'If-None-Match': '*'})) \
        == 201
    assert withdraw(server, ts(1)) == 204
    assert pending_updates(device_path) == []
    assert container_backend.requests == []


def test_unconditional_put_updates_the_container_at_once(
        server, device_path, container_backend):
    assert put(server, ts(1), b'x', **container_headers(
        container_backend)) == 201
    assert len(container_backend.requests) == 1
    assert pending_updates(device_path) == []
