"""Shared test fixtures' machinery: real aio clusters on free ports.

Functional and probe tests start their clusters through
``objstore.cli.aio.AioCluster`` (the code path of ``objstore-aio``), on
free loopback ports in a temp data dir, and stop them by PID afterwards.
"""

import http.client
import os
import random
import shutil
import subprocess
import sys
import tempfile
from urllib.parse import urlparse

from objstore.cli.aio import AioCluster, port_is_free
from objstore.cli.aio_layout import AioUser
from objstore.common.backend_client import direct_request
from objstore.common.hashing import load_hash_conf
from objstore.ring.ring import Ring

TEST_USERS = (
    AioUser('admin', 'admin', 'adminpw', ('.admin', '.reseller_admin')),
    AioUser('test', 'tester', 'testing', ('.admin',)),
    AioUser('test2', 'tester2', 'testing2', ('.admin',)),
    AioUser('test', 'tester3', 'testing3', ()),
)
DAEMON_TIMEOUT = 180

# Deny by default (objstore.common.access): what the auth tests try.
AUTH_VERBS = ('GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'COPY', 'OPTIONS')
BAD_TOKENS = (None, 'garbage', 'AUTH_tk' + '0' * 80)


def denied_status(verb, level, token):
    """What the proxy answers ``verb`` at ``level`` (1 account, 2 container,
    3 object) of an API path without a valid token: 401, except that with
    no token at all, as in Swift, OPTIONS is 200 (it needs no auth; no
    CORS asked) and a verb the proxy does not serve there (COPY above
    objects; account PUT/DELETE without allow_account_management) is 405,
    before any storage is touched."""
    if verb == 'OPTIONS' and token is None:
        return 200
    unserved = (verb == 'COPY' and level < 3) or (
        verb in ('PUT', 'DELETE') and level == 1)
    return 405 if unserved and token is None else 401


def spelled_object_paths(account, container, obj):
    """[(raw request target, status without a valid token)]: the API
    prefixes the proxy routes and spellings of them that must not slip by
    (the proxy denies what auth did not claim; as Swift, before auth, an
    unknown version is 400 and an empty segment 404)."""
    rest = '%s/%s/%s' % (account, container, obj)
    return [
        ('/v1/' + rest, 401),
        ('/v1.0/' + rest, 401),
        ('//v1/' + rest, 401),
        ('//v1.0/' + rest, 401),
        ('/V1/' + rest, 400),
        ('/V1.0/' + rest, 400),
        ('/v1%2F' + rest, 401),
        ('/%76%31/' + rest, 401),
        ('/v1/%s%%2F%s/%s' % (account, container, obj), 401),
        ('/v2/' + rest, 400),
        ('/v1//' + rest, 404),
        ('/v1.0//' + rest, 404),
    ]


def free_port_block(devices, bind='127.0.0.1', attempts=200):
    """(proxy_port, storage_port_base) with every port the aio needs free.

    Drawn below Linux's ephemeral range (32768+): a port up there can be
    taken between two runs by any client connection's local end.
    """
    rng = random.Random()
    for _ in range(attempts):
        base = rng.randrange(10010, 32700 - 10 * devices, 10)
        proxy = base - 7
        ports = [proxy] + [base + 10 * n + k for n in range(devices)
                           for k in range(4)]
        if all(port_is_free(bind, p) for p in ports):
            return proxy, base
    raise RuntimeError('no free block of ports found')


class RunningCluster:
    """An aio cluster for one test session or module."""

    def __init__(self, devices=4, replicas=3, part_power=6, daemons=False):
        self.data_dir = tempfile.mkdtemp(prefix='objstore-test-')
        proxy_port, base = free_port_block(devices)
        self.aio = AioCluster(
            self.data_dir,
            {'devices': devices, 'replicas': replicas,
             'part_power': part_power, 'proxy_port': proxy_port,
             'storage_port_base': base, 'users': TEST_USERS},
            daemons=daemons)
        self.aio.prepare()
        self.aio.start()
        self.nodes = devices
        self.users = {u.name: u.key for u in TEST_USERS}
        self.conf_dir = self.aio.dirs.etc
        self.hash_conf = load_hash_conf(self.conf_dir)

    @property
    def proxy_url(self):
        return self.aio.proxy_url

    @property
    def auth_url(self):
        return self.aio.auth_url

    def ring(self, kind):
        return Ring(self.conf_dir, kind, hash_conf=self.hash_conf)

    def server_conf(self, kind, node):
        return self.aio.dirs.server_conf(kind, node)

    def device_path(self, node):
        return self.aio.dirs.device_path(node)

    def stop_node(self, kind, node):
        self.aio.stop_node(kind, node)

    def start_node(self, kind, node):
        self.aio.start_node(kind, node)

    def get_token(self, user='admin:admin'):
        host, port = self.aio.layout.bind, self.aio.layout.proxy_port
        conn = http.client.HTTPConnection(host, port, timeout=10)
        try:
            conn.request('GET', '/auth/v1.0', headers={
                'X-Auth-User': user, 'X-Auth-Key': self.users[user]})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise AssertionError('auth for %s answered %d'
                                     % (user, resp.status))
            return (resp.getheader('X-Storage-Url'),
                    resp.getheader('X-Auth-Token'))
        finally:
            conn.close()

    def run_daemon(self, name, nodes=None, args=()):
        kind = name.split('-', 1)[0]
        script = os.path.join(os.path.dirname(sys.executable),
                              'objstore-' + name)
        results = []
        for node in (range(self.nodes) if nodes is None else nodes):
            result = subprocess.run(
                [script, self.server_conf(kind, node), '--once'] + list(args),
                capture_output=True, timeout=DAEMON_TIMEOUT)
            if result.returncode != 0:
                raise AssertionError('%s on node %d exited %d:\n%s' % (
                    name, node, result.returncode,
                    result.stdout.decode() + result.stderr.decode()))
            results.append(result)
        return results

    def close(self):
        try:
            self.aio.stop()
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)


# -- probe helpers: requests through the proxy and straight to a node --------

def node_of(dev):
    """The aio node number of a ring device (devices are named ``d<N>``)."""
    return int(dev['device'][1:])


def proxy_request(cluster, user, method, path, body=None):
    """(status, body) of ``method`` on ``path`` below ``user``'s storage URL,
    through the cluster's proxy."""
    storage_url, token = cluster.get_token(user)
    parsed = urlparse(storage_url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port,
                                      timeout=30)
    try:
        conn.request(method, parsed.path + path, body=body,
                     headers={'X-Auth-Token': token})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def direct_to(dev, method, path, headers=None, query=None):
    """(status, headers, body) of a backend request straight to ``dev``'s
    server, bypassing the proxy."""
    return direct_request(dev['ip'], dev['port'], method, path,
                          headers=headers, query=query, conn_timeout=5,
                          node_timeout=30)
