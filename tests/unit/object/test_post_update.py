"""An object POST's container update (real sockets, tmp devices): as in
Swift, the data's timestamp and fields, the POST's content-type and
metadata timestamps, the data's ``swift_bytes`` kept; an update that
fails is kept apart from the PUT's."""

import functools
import os
import time

from objstore.object import asyncpending
from tests.helpers import ts as ts_after
from tests.unit.object.conftest import RecordingBackend, opath

ts = functools.partial(ts_after, base=time.time())


def container_headers(*backends):
    return {'X-Container-Host': ','.join(b.host for b in backends),
            'X-Container-Partition': ','.join('7' for _ in backends),
            'X-Container-Device': ','.join('cd' for _ in backends)}


def put_manifest_like(server, headers):
    """A PUT whose Content-Type carries swift_bytes, as SLO stores one."""
    return server.request('PUT', opath(), dict(headers, **{
        'X-Timestamp': ts(0), 'Content-Type': 'a/b;swift_bytes=1000',
        'Content-Length': '3'}), b'abc')[0]


def test_post_with_content_type_updates_the_row(server, container_backend):
    headers = container_headers(container_backend)
    assert put_manifest_like(server, headers) == 201
    assert server.request('POST', opath(), dict(headers, **{
        'X-Timestamp': ts(1), 'Content-Type': 'c/d'}))[0] == 202
    method, path, got = container_backend.requests[-1]
    assert (method, path) == ('PUT', '/cd/7/a/c/o')
    assert got['X-Timestamp'] == ts(0)
    assert got['X-Content-Type-Timestamp'] == ts(1)
    assert got['X-Meta-Timestamp'] == ts(1)
    assert got['X-Content-Type'] == 'c/d;swift_bytes=1000'
    assert got['X-Size'] == '3'


def test_post_without_content_type_sends_the_datas(server,
                                                   container_backend):
    headers = container_headers(container_backend)
    assert put_manifest_like(server, headers) == 201
    assert server.request('POST', opath(), dict(headers, **{
        'X-Timestamp': ts(1), 'X-Object-Meta-A': '1'}))[0] == 202
    got = container_backend.requests[-1][2]
    assert got['X-Content-Type'] == 'a/b;swift_bytes=1000'
    assert got['X-Meta-Timestamp'] == ts(1)


def test_failed_post_update_keeps_the_puts_pending(server):
    dead = RecordingBackend()
    dead.stop()
    headers = container_headers(dead)
    assert put_manifest_like(server, headers) == 201
    assert server.request('POST', opath(), dict(headers, **{
        'X-Timestamp': ts(1), 'Content-Type': 'c/d'}))[0] == 202
    updates = sorted(
        (update['headers'].get('X-Meta-Timestamp', ''),
         update['headers']['X-Content-Type'])
        for _path, update in asyncpending.iter_async_pendings(
            os.path.join(server.devices, 'sda'), 0))
    assert updates == [('', 'a/b;swift_bytes=1000'),
                       (ts(1), 'c/d;swift_bytes=1000')]


def test_post_without_type_keeps_an_earlier_posts(server, container_backend):
    headers = container_headers(container_backend)
    assert put_manifest_like(server, headers) == 201
    assert server.request('POST', opath(), dict(headers, **{
        'X-Timestamp': ts(1), 'Content-Type': 'c/d'}))[0] == 202
    assert server.request('POST', opath(), dict(headers, **{
        'X-Timestamp': ts(2), 'X-Object-Meta-A': '1'}))[0] == 202
    status, got, _body = server.request('HEAD', opath())
    assert (status, got['content-type']) == (200, 'c/d')
    update = container_backend.requests[-1][2]
    assert update['X-Content-Type'] == 'c/d;swift_bytes=1000'
    assert update['X-Content-Type-Timestamp'] == ts(2)
