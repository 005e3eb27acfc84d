"""Answers shaped as Swift's where the second harness run still differed
(issue 10, docs/compat.md "Results"): container errors typed as swob's
pages, listing-parameter reasons without a line end, the 202 of a PUT to
an existing container, the empty 412 of a conditional GET, metadata and
name reasons in Swift's words and types. Raw http.client against the
session aio cluster."""

import json
import socket
import uuid
from urllib.parse import urlparse

import pytest

from tests.helpers import send_raw

HTML = 'text/html; charset=UTF-8'
NOT_FOUND = (b'<html><h1>Not Found</h1><p>The resource could not be '
             b'found.</p></html>')
CONFLICT = (b'<html><h1>Conflict</h1><p>There was a conflict when trying '
            b'to complete your request.</p></html>')
ACCEPTED = (b'<html><h1>Accepted</h1><p>The request is accepted for '
            b'processing.</p></html>')


class Raw:
    """Requests sent as written, as the test user."""

    def __init__(self, cluster):
        url, self.token = cluster.get_token('test:tester')
        parsed = urlparse(url)
        self.host, self.port, self.base = parsed.hostname, parsed.port, \
            parsed.path

    def __call__(self, method, path='', headers=None, body=None):
        sent = {'X-Auth-Token': self.token}
        sent.update(headers or {})
        return send_raw(self.host, self.port, method, self.base + path, sent,
                        body)


@pytest.fixture(scope='module')
def raw(cluster):
    return Raw(cluster)


@pytest.fixture
def container(raw):
    name = '/answers-%s' % uuid.uuid4().hex
    assert raw('PUT', name)[0] == 201
    return name


def test_missing_container_errors_are_swobs_html_pages(raw):
    missing = '/nope-%s' % uuid.uuid4().hex
    for method in ('GET', 'POST', 'DELETE'):
        status, headers, body = raw(method, missing)
        assert (status, body) == (404, NOT_FOUND), method
        assert headers['content-type'] == HTML, method
    status, headers, body = raw('HEAD', missing)
    assert (status, body, headers['content-type']) == (404, b'', HTML)
    status, headers, body = raw('GET', missing + '?format=json')
    assert (status, headers['content-type']) == (404, HTML)


def test_deleting_a_full_container_is_swobs_conflict(raw, container):
    assert raw('PUT', container + '/o', body=b'x')[0] == 201
    status, headers, body = raw('DELETE', container)
    assert (status, body, headers['content-type']) == (409, CONFLICT, HTML)


def test_put_to_an_existing_container_is_swobs_accepted(raw, container):
    status, headers, body = raw('PUT', container)
    assert (status, body, headers['content-type']) == (202, ACCEPTED, HTML)
    assert headers['content-length'] == str(len(ACCEPTED))


@pytest.mark.parametrize('level', ['', '/c'])
def test_listing_limit_reason_has_no_line_end(raw, level):
    if level:
        level = '/limit-%s' % uuid.uuid4().hex
        assert raw('PUT', level)[0] == 201
    status, headers, body = raw('GET', level + '?limit=10001')
    assert (status, body) == (412, b'Maximum limit is 10000')
    assert headers['content-type'] == HTML


@pytest.mark.parametrize('param', ['marker', 'delimiter'])
def test_listing_bad_utf8_reason_is_plain_text(raw, container, param):
    status, headers, body = raw('GET', '%s?%s=%%FF' % (container, param))
    assert (status, body) == (
        400, b'"%s" parameter not valid UTF-8' % param.encode())
    assert headers['content-type'] == 'text/plain'


@pytest.mark.parametrize('condition', [
    {'If-Match': '"nope"'},
    {'If-Unmodified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT'}])
def test_conditional_get_412_is_empty(raw, container, condition):
    assert raw('PUT', container + '/o', body=b'hello')[0] == 201
    status, headers, body = raw('GET', container + '/o', condition)
    assert (status, body) == (412, b'')
    assert headers['content-length'] == '0'
    assert headers['content-type'] == HTML
    assert headers['etag'] == '5d41402abc4b2a76b9719d911017c592'


def test_if_match_star_on_nothing_is_an_empty_412(raw, container):
    status, headers, body = raw('GET', container + '/none',
                                {'If-Match': '*'})
    assert (status, body, headers['content-length']) == (412, b'', '0')


@pytest.mark.parametrize('level,method', [
    ('', 'POST'), ('/c', 'PUT'), ('/c/o', 'PUT')])
def test_metadata_reasons_are_swifts_words(raw, level, method):
    kind = {'': 'account', '/c': 'container', '/c/o': 'object'}[level]
    if level:
        base = '/meta-%s' % uuid.uuid4().hex
        assert raw('PUT', base)[0] == 201
        level = base + level[2:]
    prefix = 'X-%s-Meta-' % kind.capitalize()
    cases = [({prefix + 'N' * 129: 'v'},
              'Metadata name too long: x-%s-meta-N%s' % (kind, 'n' * 128)),
             ({prefix + 'V': 'v' * 257},
              'Metadata value longer than 256: x-%s-meta-V' % kind),
             ({prefix: 'v'}, 'Metadata name cannot be empty')]
    for headers, reason in cases:
        status, answer, body = raw(method, level, headers, body=b'')
        assert (status, body) == (400, reason.encode()), headers
        assert answer['content-type'] == 'text/plain'


def test_reasons_swift_sends_as_html_pages_are_typed_so(raw, container):
    name = '/' + 'c' * 257
    status, headers, body = raw('PUT', name)
    assert (status, body) == (400, b'Container name length of 257 longer '
                                   b'than 256')
    assert headers['content-type'] == HTML
    status, headers, body = raw('PUT', container + '/o', {
        'Content-Type': 'text/plain; swift_bytes=3'}, body=b'x')
    assert status == 400 and headers['content-type'] == HTML
    status, headers, body = raw('COPY', container + '/o')
    assert (status, body) == (412, b'Destination header required')
    assert headers['content-type'] == HTML


@pytest.mark.parametrize('header,acl,reason', [
    ('X-Container-Read', '.r:',
     "No host/domain value after referrer designation in ACL: '.r:'"),
    ('X-Container-Write', '.r:*',
     "Referrers not allowed in write ACL: '.r:*'")])
def test_acl_reasons_are_swifts(raw, container, header, acl, reason):
    status, headers, body = raw('POST', container, {header: acl})
    assert (status, body) == (400, reason.encode())
    assert headers['content-type'] == HTML


def test_oversized_content_length_reason_is_swifts(raw, container):
    status, _headers, body = raw('PUT', container + '/o',
                                 {'Content-Length': '9' * 40}, body=b'')
    assert (status, body) == (413, b'Your request is too large.')


def test_allowed_preflight_has_no_content_type(raw, container):
    assert raw('POST', container, {
        'X-Container-Meta-Access-Control-Allow-Origin':
            'http://example.com'})[0] == 204
    status, headers, body = send_raw(
        raw.host, raw.port, 'OPTIONS', raw.base + container + '/o',
        {'Origin': 'http://example.com',
         'Access-Control-Request-Method': 'GET'})
    assert (status, body) == (200, b'')
    assert headers['access-control-allow-origin'] == 'http://example.com'
    assert 'content-type' not in headers


def test_container_sharding_is_shown_to_resellers_only(cluster, raw,
                                                       container):
    status, headers, _ = raw('HEAD', container)
    assert status == 204 and 'x-container-sharding' not in headers
    url, token = cluster.get_token('admin:admin')
    status, headers, _ = send_raw(raw.host, raw.port, 'HEAD',
                                  raw.base + container,
                                  {'X-Auth-Token': token})
    assert status == 204 and headers['x-container-sharding'] == 'False'


@pytest.mark.parametrize('method', ['GET', 'HEAD'])
def test_container_sharding_is_shown_to_resellers_on_a_404(cluster, raw,
                                                           method):
    """path-dotdot-account-admin, path-star-admin: Swift shows it on a
    missing container's answer too, when the account exists
    (verb-container-get-missing, path-dotdot-x-admin: not when it does
    not)."""
    url, token = cluster.get_token('admin:admin')
    status, headers, _ = send_raw(raw.host, raw.port, method,
                                  raw.base + '/no-such-container',
                                  {'X-Auth-Token': token})
    assert status == 404 and headers['x-container-sharding'] == 'False'
    assert headers['content-type'] == 'text/html; charset=UTF-8'
    status, headers, _ = raw(method, '/no-such-container')
    assert status == 404 and 'x-container-sharding' not in headers
    status, headers, _ = send_raw(
        raw.host, raw.port, method,
        '/v1/AUTH_no%s/c' % uuid.uuid4().hex[:8], {'X-Auth-Token': token})
    assert status == 404 and 'x-container-sharding' not in headers


def test_objects_keep_swifts_allowed_headers(raw, container):
    sent = {'Cache-Control': 'no-cache', 'Content-Language': 'fr',
            'Expires': 'never', 'X-Robots-Tag': 'none'}
    assert raw('PUT', container + '/o', sent, body=b'x')[0] == 201
    for method in ('GET', 'HEAD'):
        status, headers, _ = raw(method, container + '/o')
        assert status == 200
        assert {name: headers.get(name.lower()) for name in sent} == sent
    assert raw('POST', container + '/o', {'Expires': 'soon'})[0] == 202
    status, headers, _ = raw('HEAD', container + '/o')
    assert (headers['expires'], headers.get('cache-control')) == ('soon',
                                                                  None)


@pytest.mark.parametrize('accept,content_type', [
    (None, 'text/plain'), ('application/xml', 'application/xml')])
def test_bulk_delete_report_is_typed_without_charset(raw, container, accept,
                                                     content_type):
    assert raw('PUT', container + '/o', body=b'x')[0] == 201
    headers = {'Content-Type': 'text/plain'}
    if accept:
        headers['Accept'] = accept
    status, answer, body = raw('POST', '?bulk-delete', headers,
                               body=('%s/o\n' % container).encode())
    assert status == 200
    assert b'Number Deleted: 1' in body or \
        b'<number_deleted>1</number_deleted>' in body
    assert answer['content-type'] == content_type


def test_bad_x_if_delete_at_and_manifest_reasons_are_html(raw, container):
    assert raw('PUT', container + '/o', body=b'x')[0] == 201
    status, headers, body = raw('DELETE', container + '/o',
                                {'X-If-Delete-At': 'soon'})
    assert (status, body) == (400, b'Bad X-If-Delete-At header value')
    assert headers['content-type'] == HTML
    status, headers, body = raw('PUT', container + '/m',
                                {'X-Object-Manifest': 'no-slash'}, body=b'')
    assert (status, body) == (400, b'X-Object-Manifest must be in the '
                                   b'format container/prefix')
    assert headers['content-type'] == HTML


@pytest.mark.parametrize('target,realm', [
    ('/v1/AUTH_test%23frag', 'AUTH_test%23frag'),
    ('/v1/AUTH_test#frag', 'AUTH_test%23frag'),
    ('/v1/AUTH_%C3%A9t%C3%A9/c', 'AUTH_%C3%A9t%C3%A9')])
def test_realm_quotes_the_account_once(raw, target, realm):
    status, headers, _ = send_raw(raw.host, raw.port, 'GET', target, {})
    assert status == 401
    assert headers['www-authenticate'] == 'Swift realm="%s"' % realm


def send_request_line(raw, method, target, body=b''):
    """Status and body of one request whose target goes out byte for byte
    (http.client refuses control bytes in a target)."""
    head = b'%s %s HTTP/1.1\r\nHost: %s\r\nX-Auth-Token: %s\r\n' \
        b'Content-Length: %d\r\nConnection: close\r\n\r\n' % (
            method, target, raw.host.encode(), raw.token.encode(), len(body))
    with socket.create_connection((raw.host, raw.port), timeout=30) as sock:
        sock.sendall(head + body)
        answer = b''
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _sep, rest = answer.partition(b'\r\n')
    return int(status_line.split(b' ')[1]), rest.partition(b'\r\n\r\n')[2]


@pytest.mark.parametrize('raw_name, name', [
    (b'voil\xc3\xa0', 'voil\u00e0'),      # 0xA0: NBSP to the stdlib
    (b'\xc3\x85ngstr\xc3\xb6m', '\u00c5ngstr\u00f6m'),   # 0x85: NEL
    (b'a\tb', 'a\tb')])
def test_raw_names_with_bytes_python_calls_whitespace_round_trip(
        raw, container, raw_name, name):
    """Swift splits the request line on spaces only; the stdlib's parser
    split on every whitespace, refusing a raw tab and cutting a raw "à"
    (its second byte is NBSP in Latin-1) out of the name it stored."""
    target = (raw.base + container).encode() + b'/' + raw_name
    assert send_request_line(raw, b'GET', target)[0] == 404
    assert send_request_line(raw, b'PUT', target, b'data')[0] == 201
    assert send_request_line(raw, b'GET', target) == (200, b'data')
    status, _headers, body = raw('GET', container + '?format=json')
    assert status == 200
    assert [row['name'] for row in json.loads(body)] == [name]
