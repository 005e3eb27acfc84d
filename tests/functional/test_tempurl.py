"""TempURL against the cluster: URLs made by hand over raw HTTP and by
``swift tempurl`` (python-swiftclient), with account keys (AUTH_test2)
and container keys (AUTH_test, set by the owner only), every digest and
spelling, prefixes, IP ranges and Content-Disposition; what a URL does
not grant is refused."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import uuid
from urllib.parse import quote, urlparse

import pytest

from tests.helpers import send_raw

SWIFT = os.path.join(os.path.dirname(sys.executable), 'swift')
ACCOUNT_KEY = 'acct-key-' + uuid.uuid4().hex
CONTAINER_KEY = 'cont-key-' + uuid.uuid4().hex


class Client:
    """Raw HTTP to the proxy, with a token or without."""

    def __init__(self, cluster, user=None):
        proxy = urlparse(cluster.proxy_url)
        self.host, self.port = proxy.hostname, proxy.port
        self.token = cluster.get_token(user)[1] if user else None

    def __call__(self, method, target, headers=None, body=None):
        headers = dict(headers or {})
        if self.token:
            headers['X-Auth-Token'] = self.token
        if body is None and method in ('PUT', 'POST'):
            body = b''
        return send_raw(self.host, self.port, method, target, headers, body)


def sign(key, method, path, expires, algo='sha256', ip_range=None):
    message = '%s\n%s\n%s' % (method, expires, path)
    if ip_range:
        message = 'ip=%s\n%s' % (ip_range, message)
    return hmac.new(key.encode(), message.encode(), getattr(hashlib, algo))


def temp_url(key, method, path, seconds=300, algo='sha256', extra=''):
    expires = int(time.time() + seconds)
    sig = sign(key, method, path, expires, algo).hexdigest()
    url = '%s?temp_url_sig=%s&temp_url_expires=%d' % (quote(path), sig,
                                                      expires)
    return url + ('&' + extra if extra else '')


@pytest.fixture(scope='module')
def test2(cluster):
    """AUTH_test2 with an account key and a container holding one object."""
    owner = Client(cluster, 'test2:tester2')
    assert owner('POST', '/v1/AUTH_test2', {
        'X-Account-Meta-Temp-URL-Key': ACCOUNT_KEY})[0] == 204
    container = 'tu-' + uuid.uuid4().hex[:8]
    assert owner('PUT', '/v1/AUTH_test2/' + container)[0] == 201
    assert owner('PUT', '/v1/AUTH_test2/%s/dir/o.txt' % container, {
        'X-Object-Meta-Secret': 'hidden', 'X-Object-Meta-Public-Tag': 'shown'},
        b'hello tempurl')[0] == 201
    yield owner, container
    owner('POST', '/v1/AUTH_test2',
          {'X-Remove-Account-Meta-Temp-URL-Key': 'x'})


def test_account_key_get_head_put_delete(cluster, test2):
    owner, container = test2
    anonymous = Client(cluster)
    path = '/v1/AUTH_test2/%s/dir/o.txt' % container
    assert anonymous('GET', quote(path))[0] == 401
    status, headers, body = anonymous('GET',
                                      temp_url(ACCOUNT_KEY, 'GET', path))
    assert (status, body) == (200, b'hello tempurl')
    assert headers['content-disposition'] == \
        'attachment; filename="o.txt"; filename*=UTF-8\'\'o.txt'
    assert 'expires' in headers
    assert 'x-object-meta-secret' not in headers
    assert headers['x-object-meta-public-tag'] == 'shown'
    status, headers, body = anonymous(
        'HEAD', temp_url(ACCOUNT_KEY, 'GET', path))
    assert (status, headers['content-length']) == (200, '13')

    new = '/v1/AUTH_test2/%s/uploaded' % container
    status, _h, _b = anonymous('PUT', temp_url(ACCOUNT_KEY, 'PUT', new),
                               body=b'put by url')
    assert status == 201
    assert owner('GET', new)[2] == b'put by url'
    assert anonymous('DELETE', temp_url(ACCOUNT_KEY, 'DELETE', new))[0] == 204
    assert owner('GET', new)[0] == 404


def test_what_a_url_does_not_grant(cluster, test2):
    owner, container = test2
    anonymous = Client(cluster)
    path = '/v1/AUTH_test2/%s/dir/o.txt' % container
    get_url = temp_url(ACCOUNT_KEY, 'GET', path)
    status, headers, body = anonymous('PUT', get_url, body=b'overwrite')
    assert (status, body) == (401, b'401 Unauthorized: Temp URL invalid\n')
    assert headers['www-authenticate'] == 'Swift realm="unknown"'
    assert anonymous('DELETE', get_url)[0] == 401
    other = get_url.replace('o.txt', 'other')
    assert anonymous('GET', other)[0] == 401
    cross = get_url.replace('AUTH_test2', 'AUTH_test')
    assert anonymous('GET', cross)[0] == 401
    assert anonymous('GET', temp_url('wrong', 'GET', path))[0] == 401
    assert anonymous('GET', temp_url(ACCOUNT_KEY, 'GET', path,
                                     seconds=-10))[0] == 401
    assert anonymous('GET', get_url.replace(
        'temp_url_sig=', 'temp_url_sig=0'))[0] == 401
    put_url = temp_url(ACCOUNT_KEY, 'PUT', path)
    status, _h, body = anonymous('PUT', put_url, {
        'X-Object-Manifest': '%s/dir/' % container}, b'')
    assert (status, body) == (
        400, b"The header 'X-Object-Manifest' is not allowed in this tempurl")
    assert owner('GET', path)[2] == b'hello tempurl'


@pytest.mark.parametrize('algo', ['sha1', 'sha256', 'sha512'])
def test_digests_hex_and_base64(cluster, test2, algo):
    _owner, container = test2
    anonymous = Client(cluster)
    path = '/v1/AUTH_test2/%s/dir/o.txt' % container
    expires = int(time.time() + 300)
    mac = sign(ACCOUNT_KEY, 'GET', path, expires, algo)
    for sig in (mac.hexdigest(),
                '%s:%s' % (algo, base64.b64encode(mac.digest()).decode()),
                '%s:%s' % (algo, base64.urlsafe_b64encode(
                    mac.digest()).decode().rstrip('='))):
        target = '%s?temp_url_sig=%s&temp_url_expires=%d' % (
            path, quote(sig, safe=''), expires)
        assert anonymous('GET', target)[0] == 200, sig


def test_iso8601_expiry_prefix_and_ip_range(cluster, test2):
    _owner, container = test2
    anonymous = Client(cluster)
    path = '/v1/AUTH_test2/%s/dir/o.txt' % container
    expires = int(time.time() + 300)
    iso = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(expires))
    sig = sign(ACCOUNT_KEY, 'GET', path, expires).hexdigest()
    assert anonymous('GET', '%s?temp_url_sig=%s&temp_url_expires=%s' % (
        path, sig, iso))[0] == 200

    prefix_path = 'prefix:/v1/AUTH_test2/%s/dir/' % container
    sig = sign(ACCOUNT_KEY, 'GET', prefix_path, expires).hexdigest()
    query = '?temp_url_sig=%s&temp_url_expires=%d&temp_url_prefix=dir/' % (
        sig, expires)
    assert anonymous('GET', path + query)[0] == 200
    assert anonymous('GET', '/v1/AUTH_test2/%s/o.txt%s' % (
        container, query))[0] == 401

    for ip_range, status in (('127.0.0.1', 200), ('127.0.0.0/8', 200),
                             ('10.0.0.0/8', 401)):
        sig = sign(ACCOUNT_KEY, 'GET', path, expires,
                   ip_range=ip_range).hexdigest()
        target = '%s?temp_url_sig=%s&temp_url_expires=%d&' \
            'temp_url_ip_range=%s' % (path, sig, expires, ip_range)
        assert anonymous('GET', target)[0] == status, ip_range


def test_inline_and_filename(cluster, test2):
    _owner, container = test2
    anonymous = Client(cluster)
    path = '/v1/AUTH_test2/%s/dir/o.txt' % container
    for extra, expected in (
            ('inline', 'inline'),
            ('filename=My+Report.pdf',
             'attachment; filename="My Report.pdf"; '
             'filename*=UTF-8\'\'My%20Report.pdf'),
            ('inline&filename=a.txt',
             'inline; filename="a.txt"; filename*=UTF-8\'\'a.txt')):
        _s, headers, _b = anonymous(
            'GET', temp_url(ACCOUNT_KEY, 'GET', path, extra=extra))
        assert headers['content-disposition'] == expected


@pytest.fixture
def swift_tempurl(test2):
    def run(*args):
        result = subprocess.run([SWIFT, 'tempurl'] + list(args),
                                capture_output=True, timeout=60, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()
    return run


@pytest.mark.parametrize('options', [
    [], ['--digest', 'sha1'], ['--digest', 'sha512'], ['--iso8601'],
    ['--ip-range', '127.0.0.1']])
def test_swift_tempurl_urls_work(cluster, test2, swift_tempurl, options):
    owner, container = test2
    anonymous = Client(cluster)
    path = '/v1/AUTH_test2/%s/dir/o.txt' % container
    url = swift_tempurl(*(options + ['GET', '120', path, ACCOUNT_KEY]))
    status, _h, body = anonymous('GET', url)
    assert (status, body) == (200, b'hello tempurl')
    put = swift_tempurl(*(options + [
        'PUT', '120', '/v1/AUTH_test2/%s/cli-put' % container, ACCOUNT_KEY]))
    assert anonymous('PUT', put, body=b'cli')[0] == 201
    assert owner('GET', '/v1/AUTH_test2/%s/cli-put' % container)[2] == b'cli'


def test_swift_tempurl_prefix_based(cluster, test2, swift_tempurl):
    _owner, container = test2
    anonymous = Client(cluster)
    url = swift_tempurl('--prefix-based', 'GET', '120',
                        '/v1/AUTH_test2/%s/dir/' % container, ACCOUNT_KEY)
    base, query = url.split('?', 1)
    assert anonymous('GET', base + 'o.txt?' + query)[0] == 200
    assert anonymous('GET', '/v1/AUTH_test2/%s/other?%s' % (
        container, query))[0] == 401


def test_container_keys_belong_to_owners(cluster):
    owner = Client(cluster, 'test:tester')
    plain = Client(cluster, 'test:tester3')
    anonymous = Client(cluster)
    container = 'tu-c-' + uuid.uuid4().hex[:8]
    other = container + '-other'
    for name in (container, other):
        assert owner('PUT', '/v1/AUTH_test/' + name, {
            'X-Container-Read': 'test:tester3',
            'X-Container-Write': 'test:tester3'})[0] == 201
        assert owner('PUT', '/v1/AUTH_test/%s/o' % name, body=b'x')[0] == 201
    assert owner('POST', '/v1/AUTH_test/' + container, {
        'X-Container-Meta-Temp-URL-Key-2': CONTAINER_KEY})[0] == 204

    # The owner sees the key; a user the ACLs let read and write objects
    # neither sees nor sets it (a container POST is the owner's, as in Swift).
    assert owner('HEAD', '/v1/AUTH_test/' + container)[1][
        'x-container-meta-temp-url-key-2'] == CONTAINER_KEY
    status, headers, _b = plain('HEAD', '/v1/AUTH_test/' + container)
    assert status == 204 and 'x-container-meta-temp-url-key-2' not in headers
    assert plain('POST', '/v1/AUTH_test/' + other, {
        'X-Container-Meta-Temp-URL-Key': 'mine'})[0] == 403
    assert 'x-container-meta-temp-url-key' not in owner(
        'HEAD', '/v1/AUTH_test/' + other)[1]
    assert anonymous('GET', temp_url(
        'mine', 'GET', '/v1/AUTH_test/%s/o' % other))[0] == 401

    path = '/v1/AUTH_test/%s/o' % container
    status, _h, body = anonymous('GET', temp_url(CONTAINER_KEY, 'GET', path))
    assert (status, body) == (200, b'x')
    # The container's key signs for that container only.
    assert anonymous('GET', temp_url(
        CONTAINER_KEY, 'GET', '/v1/AUTH_test/%s/o' % other))[0] == 401


def test_info_lists_tempurl(cluster):
    _s, _h, body = Client(cluster)('GET', '/info')
    info = json.loads(body)['tempurl']
    assert info['methods'] == ['GET', 'HEAD', 'PUT', 'POST', 'DELETE']
    assert info['allowed_digests'] == ['sha1', 'sha256', 'sha512']
    assert info['deprecated_digests'] == ['sha1']
    assert info['outgoing_allow_headers'] == ['x-object-meta-public-*']


def test_url_works_whatever_token_the_client_also_sends(cluster, test2):
    _owner, container = test2
    path = '/v1/AUTH_test2/%s/dir/o.txt' % container
    stranger = Client(cluster, 'test:tester')
    for token in ('garbage', 'AUTH_tk' + '0' * 80, stranger.token):
        status, _h, body = send_raw(
            stranger.host, stranger.port, 'GET',
            temp_url(ACCOUNT_KEY, 'GET', path), {'X-Auth-Token': token})
        assert (status, body) == (200, b'hello tempurl'), token
