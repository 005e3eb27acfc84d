"""The erasure-coding data path on a real 7-device aio (``ec42``: 4 data
+ 2 parity fragments, one archive per node of six, the seventh a
handoff): what goes in comes out byte for byte, whole or by range, with
any two object servers down; each primary holds one durable archive of
its own index; a PUT while a node is down lands that archive on a
handoff; POST and DELETE reach every node; an archive node killed
mid-GET is replaced; the auditor quarantines a corrupt archive.
"""

import hashlib
import http.client
import json
import os
import signal
from urllib.parse import urlparse

import pytest

from objstore.common.hashing import hash_path
from objstore.object import ondisk
from tests.helpers import RunningCluster, node_of
from tests.probe.test_object_consistency import (
    proxy_request, run_object_daemon)

EC_INDEX = 2
SEGMENT = 1024 * 1024
SIZES = (0, 1, SEGMENT - 1, SEGMENT + 1, 3 * SEGMENT + 7)


@pytest.fixture(scope='module')
def cluster():
    test_cluster = RunningCluster(devices=7, replicas=3, daemons=False)
    yield test_cluster
    test_cluster.close()


@pytest.fixture(scope='module')
def container(cluster):
    status, _h, _b = proxy_request(cluster, 'PUT', '/ec',
                                   headers={'X-Storage-Policy': 'ec42'})
    assert status in (201, 202)
    return 'ec'


def body_of(size, seed=b'x'):
    block = hashlib.sha256(seed + str(size).encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def put(cluster, name, body, headers=None):
    return proxy_request(cluster, 'PUT', '/ec/' + name, body=body,
                         headers=headers)


def get(cluster, name, headers=None):
    return proxy_request(cluster, 'GET', '/ec/' + name, headers=headers)


def archives_on(cluster, obj):
    """{node: [file names]} of the object's hash dir on every node."""
    account = urlparse(cluster.get_token()[0]).path.rsplit('/', 1)[-1]
    ring = cluster.ring('object-%d' % EC_INDEX)
    part = ring.get_part(account, 'ec', obj)
    obj_hash = hash_path(account, 'ec', obj, hash_conf=cluster.hash_conf)
    found = {}
    for node in range(cluster.nodes):
        path = os.path.join(cluster.device_path(node),
                            ondisk.hash_dir_relpath(EC_INDEX, part, obj_hash))
        if os.path.isdir(path):
            found[node] = sorted(n for n in os.listdir(path)
                                 if n.endswith(('.data', '.ts', '.meta')))
    return found, [node_of(d) for d in ring.get_part_nodes(part)]


@pytest.mark.parametrize('size', SIZES)
def test_put_get_byte_identical(cluster, container, size):
    body = body_of(size)
    status, headers, _ = put(cluster, 'size-%d' % size, body)
    assert status == 201
    assert headers['Etag'] == hashlib.md5(body).hexdigest()
    status, headers, got = get(cluster, 'size-%d' % size)
    assert status == 200
    assert got == body
    assert headers['Etag'] == hashlib.md5(body).hexdigest()
    assert int(headers['Content-Length']) == size
    status, headers, _ = proxy_request(cluster, 'HEAD', '/ec/size-%d' % size)
    assert (status, int(headers['Content-Length'])) == (200, size)


def test_each_primary_holds_its_own_durable_archive(cluster, container):
    put(cluster, 'placed', body_of(SEGMENT + 1))
    found, primaries = archives_on(cluster, 'placed')
    indexes = set()
    for node in primaries:
        (name,) = found[node]
        parsed = ondisk.parse_filename(name)
        assert parsed.durable
        indexes.add(parsed.frag_index)
    assert indexes == set(range(6))


def test_listing_shows_the_whole_object(cluster, container):
    body = body_of(SEGMENT + 1, b'listed')
    put(cluster, 'listed', body)
    status, _h, listing = proxy_request(cluster, 'GET', '/ec?format=json')
    entry = next(e for e in json.loads(listing) if e['name'] == 'listed')
    assert (entry['bytes'], entry['hash']) == (
        len(body), hashlib.md5(body).hexdigest())


@pytest.mark.parametrize('spec,start,stop', [
    ('bytes=0-0', 0, 1), ('bytes=5-20', 5, 21),
    ('bytes=%d-%d' % (SEGMENT - 3, SEGMENT + 3), SEGMENT - 3, SEGMENT + 4),
    ('bytes=-10', 3 * SEGMENT - 3, 3 * SEGMENT + 7),
    ('bytes=%d-' % (2 * SEGMENT), 2 * SEGMENT, 3 * SEGMENT + 7)])
def test_ranged_get(cluster, container, spec, start, stop):
    body = body_of(3 * SEGMENT + 7, b'ranged')
    put(cluster, 'ranged', body)
    status, headers, got = get(cluster, 'ranged', {'Range': spec})
    assert status == 206
    assert got == body[start:stop]
    assert headers['Content-Range'] == 'bytes %d-%d/%d' % (
        start, stop - 1, len(body))


def test_multi_range_and_unsatisfiable(cluster, container):
    body = body_of(SEGMENT + 1, b'multi')
    put(cluster, 'multi', body)
    status, headers, got = get(cluster, 'multi',
                               {'Range': 'bytes=0-1,-2'})
    assert status == 206
    assert headers['Content-Type'].startswith('multipart/byteranges')
    assert body[:2] in got and body[-2:] in got
    status, headers, _ = get(cluster, 'multi',
                             {'Range': 'bytes=%d-' % (SEGMENT + 5)})
    assert status == 416
    assert headers['Content-Range'] == 'bytes */%d' % len(body)


def test_conditional_get_uses_the_whole_object_etag(cluster, container):
    body = body_of(100, b'cond')
    put(cluster, 'cond', body)
    etag = hashlib.md5(body).hexdigest()
    assert get(cluster, 'cond', {'If-None-Match': etag})[0] == 304
    assert get(cluster, 'cond', {'If-Match': 'nope'})[0] == 412
    assert get(cluster, 'cond', {'If-Match': etag})[2] == body


def test_etag_mismatch_is_422_and_stores_nothing(cluster, container):
    status, _h, _b = put(cluster, 'bad-etag', b'abc',
                         {'ETag': hashlib.md5(b'abd').hexdigest()})
    assert status == 422
    assert get(cluster, 'bad-etag')[0] == 404


def test_chunked_put(cluster, container):
    body = body_of(SEGMENT + 99, b'chunked')
    storage_url, token = cluster.get_token()
    parsed = urlparse(storage_url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port,
                                      timeout=30)
    try:
        conn.request('PUT', parsed.path + '/ec/chunked',
                     body=iter([body[:1000], body[1000:]]),
                     headers={'X-Auth-Token': token},
                     encode_chunked=True)
        assert conn.getresponse().status == 201
    finally:
        conn.close()
    assert get(cluster, 'chunked')[2] == body


@pytest.mark.slow
def test_get_with_two_object_servers_down(cluster, container):
    body = body_of(3 * SEGMENT + 7, b'degraded')
    put(cluster, 'degraded', body)
    _found, primaries = archives_on(cluster, 'degraded')
    stopped = primaries[:2]
    for node in stopped:
        cluster.stop_node('object', node)
    try:
        status, _h, got = get(cluster, 'degraded')
        assert (status, got == body) == (200, True)
        status, _h, got = get(cluster, 'degraded',
                              {'Range': 'bytes=%d-' % SEGMENT})
        assert (status, got == body[SEGMENT:]) == (206, True)
    finally:
        for node in stopped:
            cluster.start_node('object', node)


@pytest.mark.slow
def test_put_with_a_node_down_lands_on_a_handoff(cluster, container):
    body = body_of(SEGMENT + 1, b'handoff')
    _found, primaries = archives_on(cluster, 'handoff')
    down = primaries[0]
    cluster.stop_node('object', down)
    try:
        status, _h, _b = put(cluster, 'handoff', body)
        assert status == 201
        found, _ = archives_on(cluster, 'handoff')
        assert down not in found
        (handoff,) = set(found) - set(primaries)
        (name,) = found[handoff]
        parsed = ondisk.parse_filename(name)
        assert (parsed.frag_index, parsed.durable) == (0, True)
        held = [ondisk.parse_filename(name).frag_index
                for names in found.values() for name in names]
        assert sorted(held) == list(range(6))
        assert get(cluster, 'handoff')[2] == body
    finally:
        cluster.start_node('object', down)


def test_post_and_delete_reach_every_archive(cluster, container):
    put(cluster, 'meta', b'some bytes')
    status, _h, _b = proxy_request(cluster, 'POST', '/ec/meta',
                                   headers={'X-Object-Meta-Color': 'blue'})
    assert status == 202
    status, headers, got = get(cluster, 'meta')
    assert (got, headers['X-Object-Meta-Color']) == (b'some bytes', 'blue')
    assert proxy_request(cluster, 'DELETE', '/ec/meta')[0] == 204
    assert get(cluster, 'meta')[0] == 404
    found, primaries = archives_on(cluster, 'meta')
    for node in primaries:
        assert [n.endswith('.ts') for n in found[node]] == [True]


def archive_path(cluster, obj, node):
    found, _ = archives_on(cluster, obj)
    account = urlparse(cluster.get_token()[0]).path.rsplit('/', 1)[-1]
    ring = cluster.ring('object-%d' % EC_INDEX)
    part = ring.get_part(account, 'ec', obj)
    obj_hash = hash_path(account, 'ec', obj, hash_conf=cluster.hash_conf)
    return os.path.join(cluster.device_path(node), ondisk.hash_dir_relpath(
        EC_INDEX, part, obj_hash), found[node][0])


@pytest.mark.slow
def test_auditor_quarantines_a_corrupt_archive(cluster, container):
    body = body_of(SEGMENT + 1, b'audited')
    put(cluster, 'audited', body)
    _found, primaries = archives_on(cluster, 'audited')
    node = primaries[1]
    path = archive_path(cluster, 'audited', node)
    with open(path, 'r+b') as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xff]))
    run_object_daemon(cluster, 'object-auditor', {'files_per_second': 0},
                      nodes=[node])
    found, _ = archives_on(cluster, 'audited')
    assert found.get(node, []) == []
    quarantined = os.path.join(cluster.device_path(node), 'quarantined',
                               'objects-%d' % EC_INDEX)
    assert os.listdir(quarantined)
    assert get(cluster, 'audited')[2] == body


@pytest.mark.slow
def test_archive_node_killed_mid_stream_is_replaced(cluster, container):
    body = body_of(48 * SEGMENT, b'killed')
    put(cluster, 'killed', body)
    _found, primaries = archives_on(cluster, 'killed')
    storage_url, token = cluster.get_token()
    parsed = urlparse(storage_url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port,
                                      timeout=60)
    victim = primaries[0]  # the getter reads primaries in ring order
    try:
        conn.request('GET', parsed.path + '/ec/killed',
                     headers={'X-Auth-Token': token})
        resp = conn.getresponse()
        assert resp.status == 200
        first = resp.read(SEGMENT)
        cluster.aio.supervisor.hold('object-server-%d' % victim,
                                    signal.SIGKILL)
        rest = resp.read()
    finally:
        conn.close()
        cluster.start_node('object', victim)
    assert first + rest == body
    with open(os.path.join(cluster.aio.dirs.logs, 'proxy-server.log')) as f:
        assert 'archive 0 replaced by archive' in f.read()
