"""The shape of the proxy's answers is Swift's (issue 10, compat items 4,
5, 9, 10, 22, 23): body-less answers carry swob's default one-line HTML
body, reasons are one line of text/plain, empty 2xx answers are typed
``text/html; charset=UTF-8`` with ``Content-Length: 0``, the Allow lists
and OPTIONS (with and without a CORS preflight) and the answers to paths
the API cannot route. Raw http.client against the session aio cluster."""

import uuid
from urllib.parse import urlparse

import pytest

from tests.helpers import send_raw

HTML = 'text/html; charset=UTF-8'
NOT_FOUND = (b'<html><h1>Not Found</h1><p>The resource could not be '
             b'found.</p></html>')
UNAUTHORIZED = (b'<html><h1>Unauthorized</h1><p>This server could not verify '
                b'that you are authorized to access the document you '
                b'requested.</p></html>')
ACCEPTED = (b'<html><h1>Accepted</h1><p>The request is accepted for '
            b'processing.</p></html>')
NOT_ALLOWED = (b'<html><h1>Method Not Allowed</h1><p>The method is not '
               b'allowed for this resource.</p></html>')
BAD_REQUEST = (b'<html><h1>Bad Request</h1><p>The server could not comply '
               b'with the request since it is either malformed or otherwise '
               b'incorrect.</p></html>')
CONTAINER_VERBS = {'GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS'}


class Raw:
    """Requests sent as written, as the test user (or anonymous)."""

    def __init__(self, cluster):
        url, self.token = cluster.get_token('test:tester')
        parsed = urlparse(url)
        self.host, self.port, self.base = parsed.hostname, parsed.port, \
            parsed.path

    def send(self, method, target, headers=None, body=None, token=True):
        sent = {'X-Auth-Token': self.token} if token else {}
        sent.update(headers or {})
        return send_raw(self.host, self.port, method, target, sent, body)

    def __call__(self, method, path='', headers=None, body=None, token=True):
        return self.send(method, self.base + path, headers, body, token)


@pytest.fixture(scope='module')
def raw(cluster):
    return Raw(cluster)


@pytest.fixture
def container(raw):
    name = 'shape-%s' % uuid.uuid4().hex
    assert raw('PUT', '/' + name)[0] == 201
    return '/' + name


def allow(headers):
    return {verb.strip() for verb in headers['allow'].split(',')}


def assert_empty_html(status, headers, body, expected):
    assert (status, body) == (expected, b'')
    assert headers['content-type'] == HTML
    assert headers['content-length'] == '0'


def test_generic_errors_are_swifts_one_line_html(raw, container):
    for method in ('GET', 'POST', 'DELETE'):
        status, headers, body = raw(method, container + '/missing')
        assert (status, body) == (404, NOT_FOUND), method
        assert headers['content-type'] == HTML
    status, headers, body = raw('GET', container + '/missing/x', token=False)
    assert (status, body) == (401, UNAUTHORIZED)


def test_head_of_missing_has_no_body_and_zero_length(raw, container):
    status, headers, body = raw('HEAD', container + '/missing')
    assert (status, body) == (404, b'')
    assert headers['content-length'] == '0'
    assert headers['content-type'] == HTML


def test_reasons_are_one_plain_line(raw, container):
    status, headers, body = raw('PUT', container + '/o',
                                {'X-Delete-At': '1'}, b'x')
    assert (status, body) == (400, b'X-Delete-At in past')
    assert headers['content-type'] == 'text/plain'


def test_empty_successes_are_typed_as_swifts(raw):
    name = '/shape-%s' % uuid.uuid4().hex
    assert_empty_html(*raw('PUT', name), 201)
    assert_empty_html(*raw('POST', name, {'X-Container-Meta-K': 'v'}), 204)
    assert_empty_html(*raw('PUT', name + '/o', body=b'hello'), 201)
    status, headers, body = raw('POST', name + '/o', {'X-Object-Meta-K': 'v'})
    assert (status, body, headers['content-type']) == (202, ACCEPTED, HTML)
    assert_empty_html(*raw('DELETE', name + '/o'), 204)
    assert_empty_html(*raw('DELETE', name), 204)


def test_allow_lists_and_options(raw, container):
    for path, verbs in (('', {'GET', 'HEAD', 'OPTIONS', 'POST'}),
                        (container, CONTAINER_VERBS),
                        (container + '/o', CONTAINER_VERBS | {'COPY'})):
        status, headers, body = raw('OPTIONS', path, token=False)
        assert_empty_html(status, headers, body, 200)
        assert allow(headers) == verbs, path
        status, headers, body = raw('BOGUS', path)
        assert (status, body) == (405, NOT_ALLOWED)
        assert allow(headers) == verbs - {'COPY'}, path
    status, headers, body = raw('PUT', '')
    assert (status, body) == (405, NOT_ALLOWED)
    assert allow(headers) == {'GET', 'HEAD', 'OPTIONS', 'POST'}
    status, headers, _ = raw.send('OPTIONS', '/info', token=False)
    assert status == 200
    assert allow(headers) == {'GET', 'HEAD', 'OPTIONS'}


def test_cors_preflight(raw, container):
    preflight = {'Origin': 'http://example.com',
                 'Access-Control-Request-Method': 'GET'}
    status, headers, body = raw('OPTIONS', container + '/o', preflight,
                                token=False)
    assert (status, body) == (401, UNAUTHORIZED)
    assert raw('POST', container, {
        'X-Container-Meta-Access-Control-Allow-Origin':
            'http://example.com'})[0] == 204
    status, headers, body = raw('OPTIONS', container + '/o', preflight,
                                token=False)
    assert (status, body) == (200, b'')
    assert headers['access-control-allow-origin'] == 'http://example.com'
    assert headers['vary'] == 'Origin'
    assert allow(headers) == CONTAINER_VERBS | {'COPY'}
    assert {verb.strip() for verb in headers[
        'access-control-allow-methods'].split(',')} == allow(headers)
    status, _, _ = raw('OPTIONS', container + '/o', dict(
        preflight, **{'Access-Control-Request-Method': 'BOGUS'}),
        token=False)
    assert status == 401


@pytest.mark.parametrize('target, status, body, content_type', [
    ('/v1', 412, b'Bad URL', HTML),
    ('/v1/', 412, b'Bad URL', HTML),
    ('/info/', 412, b'Bad URL', HTML),
    # Not a bucket name: /nothing, unsigned, is an anonymous S3 request
    # for that bucket (test_s3_policy).
    ('/Nothing', 412, b'Bad URL', HTML),
    ('/v2/AUTH_test', 400, BAD_REQUEST, HTML),
    ('/V1/AUTH_test/c', 400, BAD_REQUEST, HTML),
    ('/v1/AUTH_test/c/with%00nul', 412, b'Invalid UTF8 or contains NULL',
     HTML),
    ('/v1/AUTH_test/c/%FF%FE', 412, b'Invalid UTF8 or contains NULL', HTML),
])
def test_paths_the_api_cannot_route(raw, target, status, body, content_type):
    for token in (True, False):
        got_status, headers, got_body = raw.send('GET', target, token=token)
        assert (got_status, got_body) == (status, body), (target, token)
        assert headers['content-type'] == content_type


def test_listing_headers_are_swifts(raw, container):
    for method in ('GET', 'HEAD'):
        status, headers, _ = raw(method, container)
        assert status == 204 if method == 'GET' else status in (200, 204)
        assert headers['accept-ranges'] == 'bytes'
        assert headers['vary'] == 'Accept'
        assert headers['last-modified'].endswith(' GMT')
        assert 'x-put-timestamp' not in headers
        status, headers, _ = raw(method, '')
        assert status in (200, 204)
        assert headers['accept-ranges'] == 'bytes'
        assert headers['vary'] == 'Accept'
        assert 'x-put-timestamp' not in headers


@pytest.mark.parametrize('name', ['..', '.', '../o', 'a/./b', 'x/../../y'])
def test_dot_segment_names_are_stored_as_written(raw, container, name):
    """Swift keeps '.' and '..' segments: no folding, each is its own
    object (listed under its own name), nothing escapes the container."""
    assert raw('PUT', '%s/%s' % (container, name), body=b'dots')[0] == 201
    status, _, body = raw('GET', '%s/%s' % (container, name))
    assert (status, body) == (200, b'dots')
    status, _, listing = raw('GET', container)
    assert listing.decode().splitlines() == [name]
    folded = container + '/' + name.split('/')[-1]
    if folded != '%s/%s' % (container, name):
        assert raw('GET', folded)[0] == 404


def test_listing_in_a_named_format_does_not_vary_on_accept(raw, container):
    status, headers, _ = raw('GET', container + '?format=json')
    assert status == 200
    assert 'vary' not in headers


def test_304_and_416_keep_the_objects_headers(raw, container):
    path = container + '/o'
    assert raw('PUT', path, {'Content-Type': 'text/x-kept'},
               b'hello world')[0] == 201
    etag = raw('HEAD', path)[1]['etag']
    for method in ('GET', 'HEAD'):
        status, headers, body = raw(method, path,
                                    {'If-None-Match': '"%s"' % etag})
        assert (status, body) == (304, b'')
        assert headers['content-type'] == 'text/x-kept'
        assert headers['accept-ranges'] == 'bytes'
        assert headers['content-length'] == '0'
    status, headers, body = raw('GET', path, {'Range': 'bytes=50-60'})
    assert status == 416
    assert body == (b'<html><h1>Requested Range Not Satisfiable</h1><p>The '
                    b'Range requested is not available.</p></html>')
    assert headers['content-type'] == 'text/x-kept'
    assert headers['etag'] == etag
    assert headers['content-range'] == 'bytes */11'
    assert 'x-timestamp' in headers
    status, headers, _ = raw('GET', path, {'Range': 'bytes=0-1,4-5'})
    assert status == 206
    assert headers['content-type'].startswith(
        'multipart/byteranges;boundary=')


def test_over_long_names_are_refused_on_put_only(raw, container):
    long_name = '%s/%s' % (container, 'n' * 1025)
    status, headers, body = raw('PUT', long_name, body=b'x')
    assert (status, body) == (400, b'Object name length of 1025 longer '
                                    b'than 1024')
    for method in ('GET', 'HEAD', 'POST', 'DELETE'):
        assert raw(method, long_name)[0] == 404, method
    # Counted in bytes: 513 two-byte characters are 1,026 bytes.
    status, _, body = raw('PUT', container + '/' + '%C3%A9' * 513,
                          body=b'x')
    assert (status, body) == (400, b'Object name length of 1026 longer '
                                    b'than 1024')
    assert raw('GET', '/' + 'c' * 257)[0] == 404
    assert raw('PUT', '/' + 'c' * 257)[:3:2] == (
        400, b'Container name length of 257 longer than 256')


def test_over_long_account_name_is_refused_on_every_verb(raw):
    for method in ('GET', 'HEAD', 'POST'):
        status, _, _ = raw.send(method, '/v1/AUTH_' + 'a' * 300)
        assert status == 400, method
