"""Container-update overrides against the running cluster: a middleware
after the gatekeeper (tests/functional/override_probe.py, loaded by
PasteDeploy into a copy of the aio's proxy pipeline) sets the override
sysmeta on a PUT; the listing shows the overridden etag, size and
content type while the object keeps its own, a later POST keeps the
overrides, and a client cannot set them itself."""

import hashlib
import http.client
import json
import uuid
from urllib.parse import quote, urlparse

import pytest

from objstore.common.wsgi import load_app, serve_in_thread
from tests.helpers import wait_for

ACCOUNT = 'AUTH_test'
OVERRIDES = {'X-Probe-Override-Etag': 'f' * 32,
             'X-Probe-Override-Size': '1999',
             'X-Probe-Override-Content-Type': 'over/ride'}


class Client:
    """Raw HTTP to one proxy as test:tester."""

    def __init__(self, url, token):
        self.url = urlparse(url)
        self.token = token

    def __call__(self, method, path, headers=None, body=None, query=''):
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port,
                                          timeout=30)
        try:
            send = dict(headers or {}, **{'X-Auth-Token': self.token})
            target = '/v1/%s%s' % (ACCOUNT, quote(path))
            conn.request(method, target + query, body=body, headers=send)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def listed(self, container, obj):
        """(hash, bytes, content_type) of ``obj`` in the JSON listing."""
        status, _headers, body = self('GET', '/' + container,
                                      query='?format=json')
        assert status == 200, status
        for entry in json.loads(body):
            if entry['name'] == obj:
                return entry['hash'], entry['bytes'], entry['content_type']
        return None


@pytest.fixture(scope='module')
def token(cluster):
    return cluster.get_token('test:tester')[1]


@pytest.fixture(scope='module')
def client(cluster, token):
    return Client(cluster.proxy_url, token)


@pytest.fixture(scope='module')
def probe_proxy(cluster, token, tmp_path_factory):
    """A second proxy over the same cluster with the override probe right
    after tempauth (so after the gatekeeper)."""
    with open(cluster.aio.dirs.proxy_conf) as conf:
        text = conf.read()
    assert ' tempauth ' in text
    text = text.replace(' tempauth ', ' tempauth override_probe ')
    text += ('\n[filter:override_probe]\n'
             'use = call:tests.functional.override_probe:filter_factory\n')
    path = tmp_path_factory.mktemp('override') / 'proxy-server.conf'
    path.write_text(text)
    server = serve_in_thread(load_app(str(path)))
    yield Client(server.url, token)
    server.stop()


@pytest.fixture
def container(client):
    name = 'ovr-' + uuid.uuid4().hex[:8]
    assert client('PUT', '/' + name)[0] == 201
    return name


REAL = (hashlib.md5(b'stuff').hexdigest(), 5, 'text/plain')
OVERRIDDEN = ('f' * 32, 1999, 'over/ride')


def test_listing_shows_the_overrides_and_a_post_keeps_them(
        probe_proxy, client, container):
    path = '/%s/o' % container
    headers = dict(OVERRIDES, **{'Content-Type': 'text/plain'})
    assert probe_proxy('PUT', path, headers, b'stuff')[0] == 201
    assert wait_for(lambda: client.listed(container, 'o') == OVERRIDDEN), \
        client.listed(container, 'o')
    status, got, body = client('GET', path)
    assert (status, body) == (200, b'stuff')
    assert (got['Etag'], int(got['Content-Length']), got['Content-Type']) \
        == REAL
    assert client('POST', path, {'X-Object-Meta-Color': 'red',
                                 'Content-Type': 'new/type'})[0] == 202
    assert client('HEAD', path)[1]['X-Object-Meta-Color'] == 'red'
    assert client.listed(container, 'o') == OVERRIDDEN


def test_a_client_cannot_set_the_override_sysmeta(client, container):
    path = '/%s/o' % container
    headers = {'Content-Type': 'text/plain'}
    for name, value in OVERRIDES.items():
        headers[name.replace('X-Probe-Override-',
                             'X-Object-Sysmeta-Container-Update-Override-')] \
            = value
    assert client('PUT', path, headers, b'stuff')[0] == 201
    assert wait_for(lambda: client.listed(container, 'o') == REAL), \
        client.listed(container, 'o')
