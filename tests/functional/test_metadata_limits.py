"""The largest metadata Swift allows, end to end against the real cluster.

An account, container or object holding 90 metadata items (4,096 bytes,
the /info limits) answers more than 100 header lines, past http.client's
and eventlet's defaults: every hop (client -> proxy -> storage server and
back) must still carry it. And a DB's metadata, grown over many POSTs that
are each within the limits, is bounded by the same limits as one request.

Each test works in a fresh account (reseller admin token), so a failure
here cannot leave the shared test account unusable for other tests.
"""

import http.client
import json
import uuid
from urllib.parse import quote, urlparse

import pytest

# The test's own client must read answers with 100+ header lines.
CLIENT_MAX_HEADERS = 1000
# Swift's defaults, which /info must advertise (the first test checks).
META_COUNT = 90
META_OVERALL_SIZE = 4096


def largest_metadata(prefix, count=META_COUNT, overall=META_OVERALL_SIZE):
    """``count`` items of exactly ``overall`` bytes (names + values)."""
    names = ['k%02d' % i for i in range(count)]
    room = overall - sum(len(n) for n in names)
    base, extra = divmod(room, count)
    return {prefix + name: 'v' * (base + (1 if i < extra else 0))
            for i, name in enumerate(names)}


def meta_size(headers, prefix):
    return sum(len(k) - len(prefix) + len(v) for k, v in headers.items())


class Client:
    """Raw HTTP to one account's storage URL."""

    def __init__(self, cluster):
        url, self.token = cluster.get_token('admin:admin')
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.path = '/v1/AUTH_meta%s' % uuid.uuid4().hex[:12]

    def request(self, method, path='', headers=None, body=None):
        headers = dict(headers or {}, **{'X-Auth-Token': self.token})
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, self.path + quote(path), body=body,
                         headers=headers)
            resp = conn.getresponse()
            return (resp.status,
                    {k.lower(): v for k, v in resp.getheaders()},
                    resp.read())
        finally:
            conn.close()

    def info(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request('GET', '/info')
            return json.loads(conn.getresponse().read())['swift']
        finally:
            conn.close()


@pytest.fixture
def client(cluster, monkeypatch):
    monkeypatch.setattr(http.client, '_MAXHEADERS', CLIENT_MAX_HEADERS)
    return Client(cluster)


def assert_has(headers, meta):
    missing = {k: v for k, v in meta.items() if headers.get(k) != v}
    assert not missing


def test_info_advertises_the_limits_used_here(client):
    info = client.info()
    assert (info['max_meta_count'], info['max_meta_overall_size']) == \
        (META_COUNT, META_OVERALL_SIZE)


def test_account_with_largest_metadata_stays_usable(client):
    meta = largest_metadata('x-account-meta-')
    assert meta_size(meta, 'x-account-meta-') == META_OVERALL_SIZE
    assert client.request('POST', headers=meta)[0] == 204
    status, headers, _ = client.request('HEAD')
    assert status == 204
    assert_has(headers, meta)
    assert client.request('PUT', '/c')[0] == 201
    status, headers, body = client.request('GET')
    assert (status, body) == (200, b'c\n')
    assert_has(headers, meta)
    assert client.request('DELETE', '/c')[0] == 204
    assert client.request('POST', headers={k: '' for k in meta})[0] == 204
    status, headers, _ = client.request('HEAD')
    assert status == 204
    assert not [k for k in headers if k.startswith('x-account-meta-')]


def test_container_with_largest_metadata_stays_usable(client):
    meta = largest_metadata('x-container-meta-')
    assert client.request('PUT', '/c', headers=meta)[0] == 201
    assert client.request('POST', '/c', headers=meta)[0] == 204
    for method in ('HEAD', 'GET'):
        status, headers, _ = client.request(method, '/c')
        assert status == 204
        assert_has(headers, meta)
    status, _, body = client.request('GET')
    assert (status, body) == (200, b'c\n')
    assert client.request('DELETE', '/c')[0] == 204
    assert client.request('HEAD', '/c')[0] == 404


def test_object_with_longest_name_and_largest_metadata(client):
    meta = largest_metadata('x-object-meta-')
    name = 'o' * 1024
    assert client.request('PUT', '/c')[0] == 201
    assert client.request('PUT', '/c/' + name, meta, b'data')[0] == 201
    status, headers, body = client.request('GET', '/c/' + name)
    assert (status, body) == (200, b'data')
    assert_has(headers, meta)
    newer = {k: v.replace('v', 'w') for k, v in meta.items()}
    assert client.request('POST', '/c/' + name, newer)[0] == 202
    status, headers, _ = client.request('HEAD', '/c/' + name)
    assert status == 200
    assert_has(headers, newer)
    status, _, body = client.request('GET', '/c')
    assert (status, body) == (200, name.encode() + b'\n')
    assert client.request('DELETE', '/c/' + name)[0] == 204
    assert client.request('DELETE', '/c')[0] == 204


@pytest.mark.parametrize('path, prefix', [
    ('', 'x-account-meta-'), ('/c', 'x-container-meta-')])
def test_metadata_count_accumulated_over_posts_is_bounded(
        client, path, prefix):
    assert client.request('PUT', '/c')[0] == 201
    first = {'%sa%d' % (prefix, i): 'v' for i in range(60)}
    second = {'%sb%d' % (prefix, i): 'v' for i in range(31)}
    assert client.request('POST', path, first)[0] == 204
    status, _, body = client.request('POST', path, second)
    assert (status, body.strip()) == (
        400, b'Too many metadata items; max 90')
    status, headers, _ = client.request('HEAD', path)
    assert not [k for k in headers if k.startswith(prefix + 'b')]
    # Removing keys frees room in the same request.
    freed = dict(second, **{'%sa%d' % (prefix, i): '' for i in range(1)})
    assert client.request('POST', path, freed)[0] == 204
    status, headers, _ = client.request('HEAD', path)
    assert sum(k.startswith(prefix) for k in headers) == 90


@pytest.mark.parametrize('path, prefix', [
    ('', 'x-account-meta-'), ('/c', 'x-container-meta-')])
def test_metadata_size_accumulated_over_posts_is_bounded(
        client, path, prefix):
    assert client.request('PUT', '/c')[0] == 201
    whole = largest_metadata(prefix)
    half = dict(list(whole.items())[:45])
    rest = dict(list(whole.items())[45:])
    assert client.request('POST', path, half)[0] == 204
    assert client.request('POST', path, rest)[0] == 204
    status, headers, _ = client.request('HEAD', path)
    assert_has(headers, whole)
    one_more_byte = {next(iter(half)): half[next(iter(half))] + 'v'}
    status, _, body = client.request('POST', path, one_more_byte)
    assert (status, body.strip()) == (
        400, b'Total metadata too large; max 4096')


def test_container_put_counts_existing_metadata(client):
    first = {'x-container-meta-a%d' % i: 'v' for i in range(90)}
    assert client.request('PUT', '/c', first)[0] == 201
    status, _, body = client.request('PUT', '/c',
                                     {'x-container-meta-extra': 'v'})
    assert (status, body.strip()) == (
        400, b'Too many metadata items; max 90')
