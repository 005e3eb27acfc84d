"""The object consistency daemons on a real aio cluster (4 nodes, 3
replicas, real rsync daemon, daemons run with --once as processes):

- a node that missed 500 PUTs is repaired and the handoffs are emptied;
- a DELETE made while a primary was down sticks, and the tombstones are
  reclaimed after reclaim_age;
- a flipped byte is quarantined by the auditor and restored by the
  replicator;
- an object with X-Delete-After: 1 is gone after one expirer pass.
"""

import concurrent.futures
import configparser
import hashlib
import http.client
import json
import os
import subprocess
import sys
import time
from urllib.parse import quote, urlparse

from objstore.common.backend_client import direct_request
from objstore.common.hashing import hash_path
from objstore.object import ondisk
from tests.helpers import node_of, wait_for

OBJECTS = 500
DOWN = 1
BODY = b'replicated body %d '


def proxy_request(cluster, method, path, headers=None, body=None):
    """(status, headers, body) of one request to the proxy's storage URL;
    the headers look names up in any case, as HTTP's do."""
    storage_url, token = cluster.get_token()
    parsed = urlparse(storage_url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port,
                                      timeout=20)
    try:
        send = {'X-Auth-Token': token}
        send.update(headers or {})
        conn.request(method, parsed.path + path, body=body, headers=send)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def account_of(cluster):
    return urlparse(cluster.get_token()[0]).path.rsplit('/', 1)[-1]


def put_many(cluster, container, names, body_of):
    storage_url, token = cluster.get_token()
    parsed = urlparse(storage_url)

    def put(name):
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port,
                                          timeout=30)
        try:
            conn.request('PUT', '%s/%s/%s' % (parsed.path, container,
                                              quote(name)),
                         body=body_of(name), headers={'X-Auth-Token': token})
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        return list(pool.map(put, names))


def direct(dev, method, part, path):
    return direct_request(dev['ip'], dev['port'], method,
                          '/%s/%d%s' % (dev['device'], part, path),
                          {'X-Backend-Storage-Policy-Index': '0'},
                          node_timeout=10)


def hash_dir(cluster, node, part, obj_hash):
    return os.path.join(cluster.device_path(node), ondisk.hash_dir_relpath(
        0, part, obj_hash))


def listing(cluster, container):
    names = []
    marker = ''
    while True:
        status, _h, body = proxy_request(
            cluster, 'GET', '/%s?format=json&marker=%s' % (
                container, quote(marker)))
        assert status == 200
        page = json.loads(body)
        if not page:
            return names
        names.extend(item['name'] for item in page)
        marker = names[-1]


def run_object_daemon(cluster, name, overrides=None, nodes=None,
                      args=()):
    """Run objstore-<name> --once on each node, with option overrides set
    in a copy of that node's object-server.conf."""
    script = os.path.join(os.path.dirname(sys.executable),
                          'objstore-' + name)
    for node in range(cluster.nodes) if nodes is None else nodes:
        conf = cluster.server_conf('object', node)
        if overrides:
            parser = configparser.ConfigParser(interpolation=None)
            parser.read(conf)
            if not parser.has_section(name):
                parser.add_section(name)
            for key, value in overrides.items():
                parser.set(name, key, str(value))
            conf = conf + '.%s.probe' % name
            with open(conf, 'w') as out:
                parser.write(out)
        proc = subprocess.run([script, conf, '--once'] + list(args),
                              capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode()[-3000:]


def test_node_that_missed_500_puts_is_repaired(cluster):
    ring = cluster.ring('object')
    account = account_of(cluster)
    status, _h, _b = proxy_request(cluster, 'PUT', '/repl')
    assert status in (201, 202)
    cluster.stop_node('object', DOWN)
    try:
        names = ['obj-%03d' % i for i in range(OBJECTS)]
        statuses = put_many(cluster, 'repl', names,
                            lambda n: BODY % int(n[4:]))
        assert set(statuses) == {201}
    finally:
        cluster.start_node('object', DOWN)
    missed = [n for n in names if DOWN in
              [node_of(d) for d in ring.get_nodes(account, 'repl', n)[1]]]
    assert missed, 'the stopped node should be a primary of some objects'

    started = time.monotonic()
    cluster.run_daemon('object-replicator')
    elapsed = time.monotonic() - started

    for name in names:
        part, primaries = ring.get_nodes(account, 'repl', name)
        expected = BODY % int(name[4:])
        for dev in primaries:
            status, headers, body = direct(dev, 'GET', part,
                                           '/%s/repl/%s' % (account, name))
            assert status == 200, (name, dev['device'], status)
            assert body == expected
            assert headers['etag'].strip('"') == hashlib.md5(
                expected).hexdigest()
        obj_hash = ring_hash(cluster, account, 'repl', name)
        others = set(range(cluster.nodes)) - {node_of(d) for d in primaries}
        for node in others:
            assert not os.path.exists(hash_dir(cluster, node, part,
                                               obj_hash)), (name, node)
    assert listing(cluster, 'repl') == names
    assert elapsed < 90


def ring_hash(cluster, account, container, obj):
    return hash_path(account, container, obj, hash_conf=cluster.hash_conf)


def test_delete_while_primary_down_stays_deleted_then_is_reclaimed(cluster):
    ring = cluster.ring('object')
    account = account_of(cluster)
    assert proxy_request(cluster, 'PUT', '/del')[0] in (201, 202)
    name = 'doomed'
    assert proxy_request(cluster, 'PUT', '/del/' + name,
                         body=b'soon gone')[0] == 201
    part, primaries = ring.get_nodes(account, 'del', name)
    path = '/%s/del/%s' % (account, name)
    # The proxy answers after a quorum and may have used a handoff for a
    # node it error-limited in an earlier test: make sure the primary we
    # stop holds the object, as the scenario requires.
    if not wait_for(lambda: direct(primaries[0], 'GET', part, path)[0]
                    == 200, timeout=3):
        cluster.run_daemon('object-replicator')
    assert direct(primaries[0], 'GET', part, path)[0] == 200
    down = node_of(primaries[0])
    cluster.stop_node('object', down)
    try:
        assert proxy_request(cluster, 'DELETE', '/del/' + name)[0] == 204
    finally:
        cluster.start_node('object', down)
    # The recovered primary still holds the old data...
    assert direct(primaries[0], 'GET', part,
                  '/%s/del/%s' % (account, name))[0] == 200
    cluster.run_daemon('object-replicator')
    # ...until replication: now every primary answers 404 with the
    # tombstone's timestamp, and no handoff copy remains.
    stamps = set()
    for dev in primaries:
        status, headers, _ = direct(dev, 'HEAD', part,
                                    '/%s/del/%s' % (account, name))
        assert status == 404, dev['device']
        stamps.add(headers.get('x-backend-timestamp'))
    assert len(stamps) == 1 and None not in stamps
    # A second pass must not resurrect it.
    cluster.run_daemon('object-replicator')
    assert proxy_request(cluster, 'GET', '/del/' + name)[0] == 404
    obj_hash = ring_hash(cluster, account, 'del', name)
    tombstones = [hash_dir(cluster, node_of(d), part, obj_hash)
                  for d in primaries]
    assert all(any(f.endswith('.ts') for f in os.listdir(p))
               for p in tombstones)
    others = set(range(cluster.nodes)) - {node_of(d) for d in primaries}
    assert not any(os.path.exists(hash_dir(cluster, n, part, obj_hash))
                   for n in others)

    time.sleep(2.5)
    only_part = ['--partitions', str(part)]
    run_object_daemon(cluster, 'object-auditor',
                      {'reclaim_age': 2, 'files_per_second': 0},
                      args=only_part)
    run_object_daemon(cluster, 'object-replicator', {'reclaim_age': 2},
                      args=only_part)
    assert not any(os.path.exists(p) for p in tombstones)
    assert proxy_request(cluster, 'GET', '/del/' + name)[0] == 404


def data_file_of(cluster, node, part, obj_hash):
    directory = hash_dir(cluster, node, part, obj_hash)
    names = [n for n in os.listdir(directory) if n.endswith('.data')]
    assert len(names) == 1, names
    return os.path.join(directory, names[0])


def test_flipped_byte_is_quarantined_and_restored(cluster):
    ring = cluster.ring('object')
    account = account_of(cluster)
    body = os.urandom(100000)
    assert proxy_request(cluster, 'PUT', '/audit')[0] in (201, 202)
    assert proxy_request(cluster, 'PUT', '/audit/victim', body=body)[0] == 201
    part, primaries = ring.get_nodes(account, 'audit', 'victim')
    obj_hash = ring_hash(cluster, account, 'audit', 'victim')
    # A primary the proxy wrote to (one that was just restarted may still
    # be error-limited by the proxy, which then used a handoff).
    victim = next(node_of(d) for d in primaries if os.path.isdir(
        hash_dir(cluster, node_of(d), part, obj_hash)))
    path = data_file_of(cluster, victim, part, obj_hash)
    with open(path, 'r+b') as f:
        f.seek(4321)
        byte = f.read(1)
        f.seek(4321)
        f.write(bytes([byte[0] ^ 0x01]))

    run_object_daemon(cluster, 'object-auditor', nodes=[victim],
                      args=['--partitions', str(part)])
    quarantine = os.path.join(cluster.device_path(victim), 'quarantined',
                              'objects', obj_hash)
    assert os.path.isdir(quarantine)
    assert not os.path.exists(hash_dir(cluster, victim, part, obj_hash))

    cluster.run_daemon('object-replicator')
    for dev in primaries:
        status, _h, got = direct(dev, 'GET', part,
                                 '/%s/audit/victim' % account)
        assert status == 200 and got == body, dev['device']
    assert proxy_request(cluster, 'GET', '/audit/victim')[2] == body


def test_x_delete_after_is_gone_after_one_expirer_pass(cluster):
    assert proxy_request(cluster, 'PUT', '/exp')[0] in (201, 202)
    assert proxy_request(cluster, 'PUT', '/exp/keep', body=b'k')[0] == 201
    assert proxy_request(cluster, 'PUT', '/exp/short', body=b's',
                         headers={'X-Delete-After': '1'})[0] == 201
    assert listing(cluster, 'exp') == ['keep', 'short']
    time.sleep(1.2)
    cluster.run_daemon('object-expirer')
    assert proxy_request(cluster, 'GET', '/exp/short')[0] == 404
    assert proxy_request(cluster, 'GET', '/exp/keep')[0] == 200
    assert listing(cluster, 'exp') == ['keep']
