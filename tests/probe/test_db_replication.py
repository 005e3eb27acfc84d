"""Container and account DBs converge on a real aio cluster (4 nodes,
3 replicas, real rsync daemon, daemons run with --once).

A container node is stopped during 200 object PUTs and restarted; after
one object-updater and one container-replicator pass every container
replica lists all 200 objects with the right stats (checked on each
primary directly), and after one container-updater pass every account
replica agrees on the totals. A container DB removed from one primary
comes back whole by rsync, and a corrupt one is quarantined by the
auditor and restored by the replicator; objstore-recon reports it all.
"""

import concurrent.futures
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from urllib.parse import quote, urlparse

from objstore.common.db_layout import db_path
from objstore.common.hashing import hash_path
from tests.helpers import direct_to, node_of, proxy_request

# SQLite's default page size, which objstore's DBs keep.
PAGE_SIZE = 4096

OBJECTS = 200
CONTAINER = 'dbprobe'
USER = 'test:tester'


def proxy(cluster, method, path, body=None):
    return proxy_request(cluster, USER, method, path, body)


def account_of(cluster):
    return urlparse(cluster.get_token(USER)[0]).path.rsplit('/', 1)[-1]


def body_of(index):
    return b'x' * (index % 17 + 1)


def put_objects(cluster, names):
    def put(name):
        return proxy(cluster, 'PUT', '/%s/%s' % (CONTAINER, quote(name)),
                     body_of(int(name[4:])))[0]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        return list(pool.map(put, names))


def replica_listing(dev, part, account):
    """(names, object count, bytes used) of one container replica."""
    path = '/%s/%d/%s/%s' % (dev['device'], part, account, CONTAINER)
    names, marker = [], ''
    while True:
        query = 'format=json&marker=%s' % quote(marker)
        status, headers, body = direct_to(dev, 'GET', path, query=query)
        assert status in (200, 204), (dev['device'], status)
        page = json.loads(body) if status == 200 else []
        if not page:
            return (names, int(headers['x-container-object-count']),
                    int(headers['x-container-bytes-used']))
        names.extend(item['name'] for item in page)
        marker = names[-1]


def account_totals(dev, part, account):
    status, headers, _ = direct_to(dev, 'HEAD', '/%s/%d/%s' % (
        dev['device'], part, account))
    assert status == 204, (dev['device'], status)
    return (int(headers['x-account-container-count']),
            int(headers['x-account-object-count']),
            int(headers['x-account-bytes-used']))


def container_db_file(cluster, dev, part, account):
    name_hash = hash_path(account, CONTAINER, hash_conf=cluster.hash_conf)
    return db_path(cluster.device_path(node_of(dev)), 'container', part,
                   name_hash)


def test_container_node_down_during_puts_converges(cluster):
    account = account_of(cluster)
    assert proxy(cluster, 'PUT', '/' + CONTAINER)[0] in (201, 202)
    cpart, cnodes = cluster.ring('container').get_nodes(account, CONTAINER)
    down = node_of(cnodes[1])
    names = ['obj-%03d' % i for i in range(OBJECTS)]
    cluster.stop_node('container', down)
    try:
        statuses = put_objects(cluster, names)
    finally:
        cluster.start_node('container', down)
    assert set(statuses) == {201}
    expected_bytes = sum(len(body_of(i)) for i in range(OBJECTS))
    # The restarted replica missed every object row.
    missed, _count, _bytes = replica_listing(cnodes[1], cpart, account)
    assert len(missed) < OBJECTS

    cluster.run_daemon('object-updater')
    cluster.run_daemon('container-replicator')

    for dev in cnodes:
        listed, count, used = replica_listing(dev, cpart, account)
        assert listed == names, dev['device']
        assert (count, used) == (OBJECTS, expected_bytes), dev['device']

    cluster.run_daemon('container-updater')
    apart, anodes = cluster.ring('account').get_nodes(account)
    totals = {account_totals(dev, apart, account) for dev in anodes}
    assert totals == {(1, OBJECTS, expected_bytes)}


def corrupt_db_file(path):
    """Overwrite every page of the DB file but the first with garbage,
    after folding its WAL in: a page written to the main file only (one
    the WAL shadows, or a free one) can go unnoticed by SQLite's check."""
    conn = sqlite3.connect(path)
    try:
        conn.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    finally:
        conn.close()
    size = os.path.getsize(path)
    with open(path, 'r+b') as db:
        db.seek(PAGE_SIZE)
        db.write(b'\xff' * (size - PAGE_SIZE))


def test_lost_db_comes_back_by_rsync_and_corrupt_db_is_replaced(cluster):
    account = account_of(cluster)
    cpart, cnodes = cluster.ring('container').get_nodes(account, CONTAINER)
    lost = container_db_file(cluster, cnodes[0], cpart, account)
    # A lost disk loses the DB with its pending, WAL and shared-memory
    # files: the whole hash dir.
    shutil.rmtree(os.path.dirname(lost))
    assert direct_to(cnodes[0], 'HEAD', '/%s/%d/%s/%s' % (
        cnodes[0]['device'], cpart, account, CONTAINER))[0] == 404
    cluster.run_daemon('container-replicator',
                       nodes=[node_of(d) for d in cnodes[1:]])
    listed, count, _used = replica_listing(cnodes[0], cpart, account)
    assert len(listed) == OBJECTS and count == OBJECTS

    bad = container_db_file(cluster, cnodes[2], cpart, account)
    corrupt_db_file(bad)
    cluster.run_daemon('container-auditor', nodes=[node_of(cnodes[2])])
    quarantined = os.path.join(cluster.device_path(node_of(cnodes[2])),
                               'quarantined', 'containers')
    assert os.listdir(quarantined)
    assert not os.path.exists(bad)
    cluster.run_daemon('container-replicator',
                       nodes=[node_of(d) for d in cnodes[:2]])
    listed, count, _used = replica_listing(cnodes[2], cpart, account)
    assert len(listed) == OBJECTS and count == OBJECTS


def test_recon_reports_the_passes_and_the_quarantine(cluster):
    """After the passes above, objstore-recon sees them on every node."""
    script = os.path.join(os.path.dirname(sys.executable), 'objstore-recon')
    done = subprocess.run([script, cluster.conf_dir, '--json', '-r', '-q'],
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    data = json.loads(done.stdout)
    answers = data['replication']['container']
    assert len(answers) == cluster.nodes
    for where, answer in answers.items():
        records = answer['container-replicator']
        assert len(records) == 1, where
        record = next(iter(records.values()))
        assert record['once'] is True
        assert 0 <= record['age'] < 600
    quarantined = [answer['containers'] for answer in
                   data['quarantined']['all'].values()]
    assert max(quarantined) >= 1
    text = subprocess.run([script, cluster.conf_dir], capture_output=True,
                          timeout=60)
    assert text.returncode == 0
    assert b'[replication] container-replicator' in text.stdout
