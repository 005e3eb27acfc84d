"""Bad client input through the real proxy (raw http.client, bytes as the
client sent them): every case gets a 4xx with a one-line reason, or is
ignored where Swift and the RFCs say so (Range, If-Modified-Since); never
a 5xx, and never an error charged to a healthy storage node."""

import http.client
import os
import socket
import time
import uuid
from urllib.parse import quote, urlparse
from xml.etree import ElementTree

import pytest

from objstore.common.backend_client import direct_request
from tests.helpers import send_raw

BODY = b'0123456789'
CHARGED_MARKERS = (b'ERROR with', b'error-limited')


class Client:
    """Raw requests under the test account's storage URL."""

    def __init__(self, cluster):
        self.cluster = cluster
        url, self.token = cluster.get_token('test:tester')
        parsed = urlparse(url)
        self.host, self.port, self.base = parsed.hostname, parsed.port, \
            parsed.path

    def request(self, method, path='', headers=None, body=None, query=''):
        """(status, headers, body) of one request; ``path`` is sent as is."""
        sent = {'X-Auth-Token': self.token}
        sent.update(headers or {})
        return send_raw(self.host, self.port, method,
                        self.base + path + query, sent, body)


@pytest.fixture(scope='module')
def client(cluster):
    return Client(cluster)


@pytest.fixture
def container(client):
    name = 'bad-' + uuid.uuid4().hex[:8]
    assert client.request('PUT', '/' + name)[0] in (201, 202)
    return name


@pytest.fixture
def obj(client, container):
    path = '/%s/o' % container
    assert client.request('PUT', path, body=BODY)[0] == 201
    return path


def proxy_log(cluster):
    return os.path.join(cluster.aio.dirs.logs, 'proxy-server.log')


@pytest.fixture
def uncharged(cluster, client):
    """Asserts, after the test, that no node was charged with an error and
    that a good request still succeeds."""
    log = proxy_log(cluster)
    start = os.path.getsize(log)
    yield
    marker = 'probe-' + uuid.uuid4().hex
    status, _headers, _body = client.request('HEAD', '/' + marker)
    assert status == 404
    new = _wait_for(log, start, marker.encode())
    charged = [line for line in new.splitlines()
               if any(m in line for m in CHARGED_MARKERS)]
    assert charged == []
    name = 'good-' + uuid.uuid4().hex[:8]
    assert client.request('PUT', '/' + name)[0] in (201, 202)
    assert client.request('PUT', '/%s/o' % name, body=BODY)[0] == 201
    assert client.request('GET', '/%s/o' % name)[2] == BODY


def _wait_for(log, start, text, timeout=10):
    """The log's bytes after ``start`` once they hold ``text``: the log
    is copied by the supervisor, so it may trail the response a little."""
    deadline = time.monotonic() + timeout
    while True:
        with open(log, 'rb') as stream:
            stream.seek(start)
            new = stream.read()
        if text in new or time.monotonic() > deadline:
            return new
        time.sleep(0.1)


def assert_client_error(answer, status, reason):
    got, _headers, body = answer
    assert got == status, body
    assert body.decode('utf-8').strip() == reason


# -- ignored as the RFCs and Swift say -----------------------------------

def test_range_with_non_ascii_digit_is_ignored(client, obj, uncharged):
    status, _headers, body = client.request(
        'GET', obj, headers={'Range': b'bytes=\xb2-'})
    assert (status, body) == (200, BODY)


def test_if_modified_since_beyond_any_calendar_is_ignored(client, obj,
                                                          uncharged):
    status, _headers, body = client.request(
        'GET', obj,
        headers={'If-Modified-Since': 'Thu, 01 Jan 10000000000 00:00:00 GMT'})
    assert (status, body) == (200, BODY)


def test_listing_prefix_of_the_last_code_point(client, container, uncharged):
    top = '\U0010ffff'
    name = quote(('x' + top).encode('utf-8'))
    assert client.request('PUT', '/%s/%s' % (container, name),
                          body=b'')[0] == 201
    status, _headers, body = client.request(
        'GET', '/' + container, query='?prefix=%F4%8F%BF%BF')
    assert status == 204 and body == b''
    status, _headers, body = client.request(
        'GET', '/' + container, query='?prefix=x%F4%8F%BF%BF')
    assert (status, body.decode('utf-8')) == (200, 'x' + top + '\n')


# -- refused before anything is written ------------------------------------

@pytest.mark.parametrize('headers, reason', [
    ({'X-Delete-After': '9' * 400},
     'X-Delete-After too far in the future'),
    ({'X-Delete-After': b'\xb2'}, 'Non-integer X-Delete-After'),
    ({'X-Delete-After': '-5'}, 'X-Delete-After in past'),
    ({'X-Delete-At': '1' * 300}, 'X-Delete-At too far in the future'),
    ({'X-Delete-At': b'\xb2\xb2'}, 'Non-integer X-Delete-At'),
    ({'X-Delete-At': '1_700_000_000_000'}, 'Non-integer X-Delete-At'),
    ({'X-Delete-At': '5'}, 'X-Delete-At in past'),
])
def test_bad_expiry_is_refused_and_nothing_written(cluster, client, container,
                                                   headers, reason,
                                                   uncharged):
    path = '/%s/o' % container
    assert_client_error(client.request('PUT', path, headers=headers,
                                       body=BODY), 400, reason)
    assert client.request('HEAD', path)[0] == 404
    assert client.request('GET', '/' + container)[0] == 204
    assert _nodes_holding(cluster, 'AUTH_test', container, 'o') == []


def test_bad_expiry_on_post_is_refused(client, obj, uncharged):
    assert_client_error(client.request(
        'POST', obj, headers={'X-Delete-At': '1' * 300}),
        400, 'X-Delete-At too far in the future')
    assert 'x-delete-at' not in client.request('HEAD', obj)[1]


def _nodes_holding(cluster, account, container, obj):
    ring = cluster.ring('object')
    part, nodes = ring.get_nodes(account, container, obj)
    holding = []
    for node in list(nodes) + list(ring.get_more_nodes(part)):
        status, _headers, _body = direct_request(
            node['ip'], node['port'], 'HEAD',
            '/%s/%s/%s/%s/%s' % (node['device'], part, account, container,
                                 obj), {})
        if status != 404:
            holding.append((node['device'], status))
    return holding


# -- other parsers ---------------------------------------------------------

def test_huge_content_length(client, container, uncharged):
    assert_client_error(client.request(
        'PUT', '/%s/o' % container, headers={'Content-Length': '9' * 40},
        body=b''), 413, 'Your request is too large.')


@pytest.mark.parametrize('length', ['-1', b'\xb2'])
def test_content_length_not_a_length(client, container, length, uncharged):
    # The WSGI server (eventlet, as under Swift) refuses these itself,
    # before any app runs, with an empty 400.
    got, _headers, body = client.request(
        'PUT', '/%s/o' % container, headers={'Content-Length': length},
        body=b'')
    assert got == 400, body
    assert client.request('HEAD', '/%s/o' % container)[0] == 404


def test_content_length_int_reads_but_http_does_not(client, container,
                                                    uncharged):
    # int('1_0') is 10; HTTP says a length is ASCII digits only
    got, _headers, body = client.request(
        'PUT', '/%s/o' % container, headers={'Content-Length': '1_0'},
        body=BODY)
    assert got == 400, body
    assert client.request('HEAD', '/%s/o' % container)[0] == 404


@pytest.mark.parametrize('coding, status, reason', [
    ('gzip', 400, 'Invalid Transfer-Encoding header value'),
    ('gzip, chunked', 501, 'Unsupported Transfer-Coding header value '
                           'specified in Transfer-Encoding header')])
def test_transfer_coding_other_than_chunked(client, container, coding,
                                            status, reason, uncharged):
    # 501 is Swift's answer to a list of codings: not ours to support
    assert_client_error(client.request(
        'PUT', '/%s/o' % container, headers={'Transfer-Encoding': coding}),
        status, reason)
    assert client.request('HEAD', '/%s/o' % container)[0] == 404


def test_listing_limit_with_thousands_of_digits(client, container,
                                                uncharged):
    assert_client_error(
        client.request('GET', '/' + container, query='?limit=' + '9' * 5000),
        412, 'Maximum limit is 10000')


def test_metadata_not_utf8(client, container, uncharged):
    got, _headers, body = client.request(
        'PUT', '/%s/o' % container, headers={'X-Object-Meta-A': b'\xff\xfe'},
        body=BODY)
    assert got == 400, body
    assert client.request('HEAD', '/%s/o' % container)[0] == 404


def test_path_not_utf8(client, container, uncharged):
    got, _headers, body = client.request('PUT', '/%s/%%FF%%FE' % container,
                                         body=BODY)
    assert 400 <= got < 500, body
    assert body.strip()


# -- XML listings with control characters ----------------------------------

def test_xml_listing_of_names_with_control_chars(client, container,
                                                 uncharged):
    names = ['tab\there', 'bell\x07', 'esc\x1b[0m', 'del\x7f']
    for name in names:
        assert client.request('PUT', '/%s/%s' % (container, quote(name)),
                              body=b'')[0] == 201
    status, _headers, body = client.request(
        'GET', '/' + container, query='?format=xml')
    assert status == 200
    root = ElementTree.fromstring(body)
    listed = [el.findtext('name') for el in root.iter('object')]
    assert listed == [_xml_visible(n) for n in sorted(names)]


def _xml_visible(name):
    """What a name looks like in XML: chars XML 1.0 forbids, as U+FFFD."""
    return ''.join('\ufffd' if ord(c) < 0x20 and c not in '\t\n\r' else c
                   for c in name)


# -- query strings the proxy must forward intact ----------------------------

def raw_get_status(client, target):
    """Status of a GET whose request line holds ``target`` byte for byte
    (http.client refuses to send raw bytes outside ASCII)."""
    with socket.create_connection((client.host, client.port), 30) as sock:
        sock.sendall(b'GET ' + client.base.encode() + target +
                     b' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
                     b'X-Auth-Token: ' + client.token.encode() + b'\r\n\r\n')
        resp = http.client.HTTPResponse(sock, method='GET')
        resp.begin()
        resp.read()
        return resp.status


@pytest.mark.parametrize('query', [b'?end_marker=\xff', b'?prefix=\xe2\x98'])
def test_raw_bytes_in_a_listing_query_are_no_server_error(
        client, container, query, uncharged):
    for target in (b'', b'/' + container.encode()):
        assert raw_get_status(client, target + query) < 500


def test_query_name_not_utf8_is_ignored_as_swift_does(client, container,
                                                      uncharged):
    # Swift checks only the listing parameters it knows; an unknown one is
    # ignored whatever it holds, and the listing is served.
    for target in ('', '/' + container):
        status, _headers, body = client.request('GET', target,
                                                query='?%FF=%FF')
        assert status in (200, 204), body
