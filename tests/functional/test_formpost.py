"""FormPost against the cluster over raw HTTP, as a browser posts a form:
files stored under the signed prefix (one of several MiB streamed
through), redirect or text answers with Swift's status and message,
expiry and deletion attributes, and what a form does not grant."""

import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import urlparse

import pytest

from tests.helpers import send_raw

KEY = 'form-key-' + uuid.uuid4().hex
BOUNDARY = '----objstoreFormBoundary' + uuid.uuid4().hex[:8]


def signature(path, redirect, max_size, max_count, expires, key=KEY):
    message = '%s\n%s\n%s\n%s\n%s' % (path, redirect, max_size, max_count,
                                      expires)
    return hmac.new(key.encode(), message.encode(),
                    hashlib.sha256).hexdigest()


def form_body(fields, files):
    body = b''
    for name, value in fields:
        body += ('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n'
                 '%s\r\n' % (BOUNDARY, name, value)).encode()
    for filename, content in files:
        body += ('--%s\r\nContent-Disposition: form-data; name="file"; '
                 'filename="%s"\r\nContent-Type: application/x-test\r\n\r\n'
                 % (BOUNDARY, filename)).encode() + content + b'\r\n'
    return body + ('--%s--\r\n' % BOUNDARY).encode()


class Cluster:
    def __init__(self, cluster):
        proxy = urlparse(cluster.proxy_url)
        self.host, self.port = proxy.hostname, proxy.port
        self.token = cluster.get_token('test:tester')[1]

    def owner(self, method, path, headers=None, body=None):
        headers = dict(headers or {}, **{'X-Auth-Token': self.token})
        if body is None and method in ('PUT', 'POST'):
            body = b''
        return send_raw(self.host, self.port, method, path, headers, body)

    def post_form(self, path, files, redirect='', max_size=1 << 20,
                  max_count=5, expires=None, key=KEY, extra=()):
        expires = expires or int(time.time() + 300)
        fields = [('redirect', redirect), ('max_file_size', max_size),
                  ('max_file_count', max_count), ('expires', expires),
                  ('signature', signature(path, redirect, max_size,
                                          max_count, expires, key))]
        body = form_body(fields + list(extra), files)
        return send_raw(self.host, self.port, 'POST', path, {
            'Content-Type': 'multipart/form-data; boundary=%s' % BOUNDARY},
            body)


@pytest.fixture(scope='module')
def site(cluster):
    """AUTH_test's container with a TempURL key, set by its owner."""
    client = Cluster(cluster)
    container = 'fp-' + uuid.uuid4().hex[:8]
    assert client.owner('PUT', '/v1/AUTH_test/' + container, {
        'X-Container-Meta-Temp-URL-Key': KEY})[0] == 201
    return client, container


def test_files_land_under_the_prefix(site):
    client, container = site
    path = '/v1/AUTH_test/%s/uploads/' % container
    big = uuid.uuid4().bytes * (3 * 1024 * 1024 // 16)
    status, headers, body = client.post_form(
        path, [('small.txt', b'small file'), ('big.bin', big)],
        max_size=len(big))
    assert (status, body) == (201, b'201 Created')
    assert headers['content-type'] == 'text/plain'
    status, headers, body = client.owner('GET', path + 'big.bin')
    assert status == 200 and hashlib.md5(body).digest() == \
        hashlib.md5(big).digest()
    assert headers['content-type'] == 'application/x-test'
    assert client.owner('GET', path + 'small.txt')[2] == b'small file'


def test_redirect_carries_status_and_message(site):
    client, container = site
    path = '/v1/AUTH_test/%s/r-' % container
    redirect = 'https://example.com/after?step=2'
    status, headers, body = client.post_form(
        path, [('a', b'1')], redirect=redirect)
    assert status == 303
    location = redirect + '&status=201&message='
    assert headers['location'] == location
    assert b'Click to continue...' in body
    assert client.owner('GET', path + 'a')[2] == b'1'
    status, headers, _b = client.post_form(
        path, [('b', b'2'), ('c', b'3')], redirect=redirect, max_count=1)
    assert status == 303
    assert headers['location'] == \
        redirect + '&status=400&message=max%20file%20count%20exceeded'
    assert client.owner('GET', path + 'c')[0] == 404


def test_forms_that_do_not_hold(site):
    client, container = site
    path = '/v1/AUTH_test/%s/' % container
    status, headers, body = client.post_form(path, [('x', b'x')],
                                             key='not-the-key')
    assert (status, body) == (401, b'FormPost: Invalid Signature')
    assert headers['www-authenticate'] == 'Swift realm="unknown"'
    status, _h, body = client.post_form(path, [('x', b'x')],
                                        expires=int(time.time() - 5))
    assert (status, body) == (401, b'FormPost: Form Expired')
    status, _h, body = client.post_form(path, [('x', b'x' * 200)],
                                        max_size=100)
    assert (status, body) == (400, b'FormPost: max_file_size exceeded')
    assert client.owner('GET', path + 'x')[0] == 404
    status, _h, body = client.post_form(path, [])
    assert (status, body) == (
        400, b'400 Bad Request\r\nFormPost: No Files To Process')
    # Signed for this container: no other container of the account.
    other = '/v1/AUTH_test/%s-other/' % container
    assert client.owner('PUT', other.rstrip('/'))[0] == 201
    status, _h, _b = client.post_form(other, [('x', b'x')])
    assert status == 401
    status, _h, body = send_raw(
        client.host, client.port, 'POST', path,
        {'Content-Type': 'multipart/form-data; boundary=%s' % BOUNDARY},
        b'not a form at all')
    assert (status, body) == (400, b'FormPost: invalid starting boundary')


def test_delete_after(site):
    client, container = site
    path = '/v1/AUTH_test/%s/tmp-' % container
    before = int(time.time())
    status, _h, _b = client.post_form(path, [('t', b'temp')],
                                      extra=[('x_delete_after', '3600')])
    assert status == 201
    _s, headers, _b = client.owner('HEAD', path + 't')
    assert before + 3600 <= int(headers['x-delete-at']) <= \
        int(time.time()) + 3600
    status, _h, body = client.post_form(path, [('u', b'x')],
                                        extra=[('x_delete_at', 'soon')])
    assert (status, body) == (
        400, b'FormPost: x_delete_at not an integer: Unix timestamp '
        b'required.')


def test_info_lists_formpost(site):
    client, _container = site
    _s, _h, body = send_raw(client.host, client.port, 'GET', '/info', {})
    assert json.loads(body)['formpost'] == {
        'allowed_digests': ['sha1', 'sha256', 'sha512'],
        'deprecated_digests': ['sha1']}
