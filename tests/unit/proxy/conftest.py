"""Shared fixtures of the proxy tests.

* ``scripted``: four in-memory storage backends on real loopback sockets
  (one device each), tmp rings (3 replicas) pointing at them, and a proxy
  Application over those rings. Each backend keeps what it is sent in a
  dict and can be scripted per test (``backend.override``) to fail, stall,
  break a body mid-stream or be stopped.
* ``cluster``: the real account, container and object servers on port 0
  with tmp devices, real rings (4 devices, 3 replicas) and the proxy
  pipeline in front (see cluster.py).
"""

import hashlib
import json
import os
import socket

import pytest

from objstore.common import green
from objstore.common.hashing import HashConf
from objstore.common.wsgi import serve_in_thread
from objstore.proxy.server import Application
from objstore.ring.builder import RingBuilder
from objstore.ring.ring import Ring
from tests.helpers import make_logger
from tests.unit.proxy.cluster import InProcessCluster

REPLICAS = 3
DEVICES = 4
HASH_CONF = HashConf(b'pre', b'suf')


def write_ring(tmpdir, name, ports, replicas=REPLICAS, part_power=4):
    """A real ring file with one device per port; returns a Ring."""
    builder = RingBuilder(part_power, replicas, 0)
    for index, port in enumerate(ports):
        builder.add_dev({'region': 1, 'zone': index + 1, 'ip': '127.0.0.1',
                         'port': port, 'device': 'd%d' % index,
                         'weight': 100})
    builder.rebalance(seed=1)
    path = os.path.join(str(tmpdir), '%s.ring.gz' % name)
    builder.get_ring().save(path)
    return Ring(path, hash_conf=HASH_CONF)


def _depth(path):
    return len(path.strip('/').split('/', 4)) - 2


class ScriptedBackend:
    """A storage server stand-in: keeps state in memory, scriptable."""

    def __init__(self, port=0):
        self.store = {}
        self.requests = []
        self.override = None
        self.server = serve_in_thread(self.app, port=port)
        self.port = self.server.port

    def stop(self):
        self.server.stop()

    def restart(self):
        self.server = serve_in_thread(self.app, port=self.port)

    def app(self, environ, start_response):
        method = environ['REQUEST_METHOD']
        path = environ['PATH_INFO'].encode('latin-1').decode('utf-8')
        headers = {k[5:].replace('_', '-').lower(): v
                   for k, v in environ.items() if k.startswith('HTTP_')}
        if environ.get('CONTENT_TYPE'):
            headers['content-type'] = environ['CONTENT_TYPE']
        self.requests.append((method, path, headers))
        answer = self.override(method, path, headers) \
            if self.override else None
        if answer is None:
            body = environ['wsgi.input'].read() \
                if method in ('PUT', 'POST') else b''
            answer = self.handle(method, path, headers, body)
        status, resp_headers, body = answer
        if isinstance(body, bytes):
            resp_headers = dict(resp_headers)
            resp_headers.setdefault('Content-Length', str(len(body)))
            body = [body] if method != 'HEAD' else [b'']
        start_response('%d Status' % status, list(resp_headers.items()))
        return body

    def handle(self, method, path, headers, body):
        key = path.split('/', 3)[3]
        stored = self.store.get(key)
        if method == 'PUT':
            etag = hashlib.md5(body).hexdigest()
            if headers.get('etag') and headers['etag'] != etag:
                return 422, {}, b''
            self.store[key] = {'headers': headers, 'body': body,
                               'etag': etag,
                               'timestamp': headers.get('x-timestamp')}
            created = 202 if stored and _depth(path) < 3 else 201
            return created, {'Etag': etag}, b''
        if stored is None:
            return 404, {}, b''
        if method == 'DELETE':
            del self.store[key]
            return 204, {}, b''
        if method == 'POST':
            stored['headers'].update(headers)
            return 202, {}, b''
        return self._read(path, stored, headers)

    def _read(self, path, stored, headers):
        depth = _depth(path)
        meta = {k.title(): v for k, v in stored['headers'].items()
                if k.startswith(('x-container-', 'x-account-', 'x-object-'))}
        meta['X-Backend-Timestamp'] = stored['timestamp'] or '0'
        meta['X-Timestamp'] = stored['timestamp'] or '0'
        if depth < 3:
            body = json.dumps([]).encode()
            return 200, dict(meta, **{'Content-Type': 'application/json'}), \
                body
        body = stored['body']
        meta.update({'Etag': stored['etag'], 'Content-Type':
                     stored['headers'].get('content-type', '')})
        if headers.get('if-match') and \
                headers['if-match'] != stored['etag']:
            return 412, {}, b''
        wanted = headers.get('range')
        if wanted:
            first, _, last = wanted[len('bytes='):].partition('-')
            start = int(first)
            stop = int(last) + 1 if last else len(body)
            meta['Content-Range'] = 'bytes %d-%d/%d' % (start, stop - 1,
                                                        len(body))
            return 206, meta, body[start:stop]
        return 200, meta, body


def dead_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class Scripted:
    """Four scripted backends, rings over them and a proxy app."""

    def __init__(self, tmpdir, **conf):
        self.backends = [ScriptedBackend() for _ in range(DEVICES)]
        ports = [b.port for b in self.backends]
        self.rings = {name: write_ring(tmpdir, name, ports)
                      for name in ('account', 'container', 'object')}
        self.logger = make_logger('proxy-test')
        base = {'node_timeout': '1', 'conn_timeout': '0.5',
                'post_quorum_timeout': '0.2', 'recheck_account_existence':
                '0', 'recheck_container_existence': '0'}
        base.update(conf)
        self.app = Application(
            base, logger=self.logger, account_ring=self.rings['account'],
            container_ring=self.rings['container'],
            object_ring=self.rings['object'])

    def backend_of(self, node):
        return next(b for b in self.backends if b.port == node['port'])

    def nodes(self, kind, *names):
        ring = self.rings[kind]
        part, primaries = ring.get_nodes(*names)
        return part, primaries, list(ring.get_more_nodes(part))

    def close(self):
        for backend in self.backends:
            backend.stop()
        self.app.client.pool.close_all()


@pytest.fixture
def scripted(tmp_path):
    harness = Scripted(tmp_path)
    yield harness
    harness.close()


def sleeper(seconds):
    """An override that stalls every request (a hung node)."""
    def stall(method, path, headers):
        green.sleep(seconds)
        return None
    return stall


@pytest.fixture
def cluster(tmp_path):
    handle = InProcessCluster(tmp_path, logger=make_logger('cluster'))
    yield handle
    handle.stop()
