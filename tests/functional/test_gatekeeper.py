"""The gatekeeper, both ways, against the running cluster: a client can
neither set system metadata or X-Backend-* headers (checked straight at
the storage nodes) nor see them, even when they are on disk; and a
middleware after the gatekeeper in a real pipeline (tests/functional/
sysmeta_probe.py, loaded by PasteDeploy from the aio's proxy config) keeps
and reads its own sysmeta at account, container and object level."""

import http.client
import time
import uuid
from urllib.parse import quote, urlparse

import pytest

from objstore.common.backend_client import direct_request
from objstore.common.timestamp import Timestamp
from objstore.common.wsgi import load_app, serve_in_thread
from tests.helpers import direct_to

ACCOUNT = 'AUTH_test'
PRIVATE = ('x-account-sysmeta-', 'x-container-sysmeta-', 'x-object-sysmeta-',
           'x-object-transient-sysmeta-', 'x-backend-')


def forbidden_headers(tag):
    """One header of each kind a client must not set, named uniquely."""
    return {'X-Account-Sysmeta-%s' % tag: 'forged',
            'X-Container-Sysmeta-%s' % tag: 'forged',
            'X-Object-Sysmeta-%s' % tag: 'forged',
            'X-Object-Transient-Sysmeta-%s' % tag: 'forged',
            'X-Backend-%s' % tag: 'forged'}


def leaked(headers, tag):
    """The headers of an answer that carry the forbidden names."""
    return sorted(name for name in headers
                  if name.lower().endswith('-' + tag.lower()) and
                  ('sysmeta' in name.lower() or
                   name.lower().startswith('x-backend-')))


class Client:
    """Raw HTTP to one proxy as test:tester."""

    def __init__(self, url, token):
        self.url = urlparse(url)
        self.token = token

    def __call__(self, method, path='', headers=None, body=None):
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port,
                                          timeout=30)
        try:
            send = dict(headers or {}, **{'X-Auth-Token': self.token})
            conn.request(method, '/v1/%s%s' % (ACCOUNT, quote(path)),
                         body=body, headers=send)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()


@pytest.fixture(scope='module')
def client(cluster):
    return Client(cluster.proxy_url, cluster.get_token('test:tester')[1])


@pytest.fixture
def tag():
    return 'Gk' + uuid.uuid4().hex[:10]


@pytest.fixture
def names(client):
    container = 'gk-' + uuid.uuid4().hex[:8]
    assert client('PUT', '/' + container)[0] == 201
    return container, 'obj'


def primaries(cluster, kind, *names):
    part, nodes = cluster.ring(kind).get_nodes(ACCOUNT, *names)
    path = '/'.join(quote(n) for n in (ACCOUNT,) + names)
    return [(dev, '/%s/%d/%s' % (dev['device'], part, path)) for dev in nodes]


def stored_at_nodes(cluster, kind, names, tag):
    """The forbidden headers any primary of the path answers a HEAD with."""
    found = []
    for dev, path in primaries(cluster, kind, *names):
        status, headers, _ = direct_to(dev, 'HEAD', path)
        assert status // 100 == 2, (kind, dev, status)
        found.extend(leaked(headers, tag))
    return found


# -- requests: nothing forbidden is stored -----------------------------------

def test_client_cannot_set_object_sysmeta_or_backend_headers(
        cluster, client, names, tag):
    container, obj = names
    path = '/%s/%s' % names
    assert client('PUT', path, forbidden_headers(tag), b'data')[0] == 201
    assert stored_at_nodes(cluster, 'object', (container, obj), tag) == []
    assert client('POST', path, forbidden_headers(tag))[0] == 202
    assert stored_at_nodes(cluster, 'object', (container, obj), tag) == []


def test_client_cannot_set_container_sysmeta(cluster, client, names, tag):
    container, _ = names
    assert client('PUT', '/' + container, forbidden_headers(tag))[0] == 202
    assert client('POST', '/' + container, forbidden_headers(tag))[0] == 204
    assert stored_at_nodes(cluster, 'container', (container,), tag) == []


def test_client_cannot_set_account_sysmeta(cluster, client, tag):
    assert client('POST', '', forbidden_headers(tag))[0] == 204
    assert stored_at_nodes(cluster, 'account', (), tag) == []


# -- responses: nothing forbidden is seen, even when stored ------------------

def plant(cluster, kind, names, headers, body=b''):
    """Write ``headers`` straight to every primary, past the proxy."""
    stamp = Timestamp(time.time()).internal
    for dev, path in primaries(cluster, kind, *names):
        send = dict(headers, **{'X-Timestamp': stamp})
        method = 'POST'
        if kind == 'object':
            method = 'PUT'
            send.update({'Content-Type': 'text/plain',
                         'Content-Length': str(len(body))})
        status, _, _ = direct_request(dev['ip'], dev['port'], method, path,
                                      headers=send, body=body,
                                      conn_timeout=5, node_timeout=30)
        assert status // 100 == 2, (kind, dev, status)


def test_client_never_sees_stored_sysmeta(cluster, client, names, tag):
    container, obj = names
    planted = forbidden_headers(tag)
    plant(cluster, 'account', (), planted)
    plant(cluster, 'container', (container,), planted)
    assert client('PUT', '/%s/%s' % names, {}, b'data')[0] == 201
    plant(cluster, 'object', (container, obj), planted, body=b'data')
    assert stored_at_nodes(cluster, 'object', (container, obj), tag)
    assert stored_at_nodes(cluster, 'container', (container,), tag)
    for path in ('', '/' + container, '/%s/%s' % names):
        for method in ('HEAD', 'GET'):
            status, headers, _ = client(method, path)
            assert status // 100 == 2, (method, path, status)
            assert leaked(headers, tag) == [], (method, path)
            assert not [h for h in headers if h.lower().startswith(PRIVATE)]


# -- a middleware after the gatekeeper keeps its state in sysmeta ------------

@pytest.fixture(scope='module')
def probe_proxy(cluster, tmp_path_factory):
    """A second proxy over the same cluster whose pipeline has the probe
    right after tempauth, loaded from the aio's own proxy config."""
    with open(cluster.aio.dirs.proxy_conf) as conf:
        text = conf.read()
    text = text.replace(' tempauth ', ' tempauth sysmeta_probe ')
    text += ('\n[filter:sysmeta_probe]\n'
             'use = call:tests.functional.sysmeta_probe:filter_factory\n')
    path = tmp_path_factory.mktemp('probe') / 'proxy-server.conf'
    path.write_text(text)
    server = serve_in_thread(load_app(str(path)))
    yield Client(server.url, cluster.get_token('test:tester')[1])
    server.stop()


def probe_read(proxy, path, tag):
    found = {}
    for method in ('HEAD', 'GET'):
        status, headers, _ = proxy(method, path)
        assert status // 100 == 2, (method, path, status)
        assert [h for h in headers if h.lower().startswith(PRIVATE)] == []
        found[method] = (headers.get('X-Probe-Kept'),
                         headers.get('X-Probe-Transient'))
    assert found['HEAD'] == found['GET'], path
    return found['HEAD']


def test_sysmeta_round_trip_account(probe_proxy, tag):
    assert probe_proxy('POST', '', {'X-Probe-Set': tag})[0] == 204
    assert probe_read(probe_proxy, '', tag) == (tag, None)


def test_sysmeta_round_trip_container(probe_proxy, names, tag):
    container, _ = names
    assert probe_proxy('PUT', '/' + container, {'X-Probe-Set': tag})[0] \
        == 202
    assert probe_read(probe_proxy, '/' + container, tag) == (tag, None)
    assert probe_proxy('POST', '/' + container, {'X-Probe-Set': 'b'})[0] \
        == 204
    assert probe_read(probe_proxy, '/' + container, tag) == ('b', None)


def test_sysmeta_round_trip_object(probe_proxy, names, tag):
    path = '/%s/%s' % names
    assert probe_proxy('PUT', path, {'X-Probe-Set': tag}, b'x')[0] == 201
    assert probe_read(probe_proxy, path, tag) == (tag, tag)
    # A POST changes transient sysmeta only; another POST drops it.
    assert probe_proxy('POST', path, {'X-Probe-Set': 'b'})[0] == 202
    assert probe_read(probe_proxy, path, tag) == (tag, 'b')
    assert probe_proxy('POST', path)[0] == 202
    assert probe_read(probe_proxy, path, tag) == (tag, None)


def test_middleware_reads_sysmeta_through_a_subrequest(probe_proxy, names,
                                                       tag):
    path = '/%s/%s' % names
    assert probe_proxy('PUT', path, {'X-Probe-Set': tag}, b'x')[0] == 201
    status, headers, _ = probe_proxy('GET', path, {'X-Probe-Lookup': '1'})
    assert status == 200
    assert headers['X-Probe-Looked-Up'] == tag
