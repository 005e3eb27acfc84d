"""Account and container listings through the proxy, byte for byte as
upstream Swift 2.38 answers the same requests (issue 10, compat cases
``list-*``): JSON field order and escaping, content type parameters, XML
layout, multi-character delimiters, ``path=``, NUL and bad UTF-8 in the
parameters."""

import http.client
import re
import uuid
from urllib.parse import quote, urlparse

import pytest

DATE = re.compile(rb'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}')
HELLO_MD5 = b'5d41402abc4b2a76b9719d911017c592'


class Account:
    """Raw HTTP as admin:admin to a fresh account (a reseller admin: the
    account is autocreated on first use)."""

    def __init__(self, url, token):
        self.url = urlparse(url)
        self.token = token
        self.name = 'AUTH_list%s' % uuid.uuid4().hex[:12]

    def __call__(self, method, path='', query='', headers=None, body=None):
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port,
                                          timeout=30)
        try:
            target = '/v1/%s%s' % (self.name, quote(path))
            if query:
                target += '?' + query
            conn.request(method, target, body=body, headers=dict(
                headers or {}, **{'X-Auth-Token': self.token}))
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def put(self, path, body=b'hello', headers=None):
        status = self('PUT', path, headers=headers, body=body)[0]
        assert status == 201, path


@pytest.fixture(scope='module')
def admin_token(cluster):
    return cluster.get_token('admin:admin')[1]


@pytest.fixture
def account(cluster, admin_token):
    return Account(cluster.proxy_url, admin_token)


def masked(body):
    return DATE.sub(b'<date>', body)


def test_container_json_is_swifts_field_order_and_ascii_escapes(account):
    account.put('/c', body=None)
    account.put('/c/\u00e9"\x7f', headers={'Content-Type': 'text/plain; a=b'})
    status, headers, body = account('GET', '/c', 'format=json')
    assert status == 200
    assert headers['Content-Type'] == 'application/json; charset=utf-8'
    assert masked(body) == (
        b'[{"bytes": 5, "hash": "' + HELLO_MD5 + b'", '
        b'"name": "\\u00e9\\"\\u007f", "content_type": "text/plain;a=b", '
        b'"last_modified": "<date>"}]')


def test_multi_character_delimiters_are_legal(account):
    account.put('/c', body=None)
    for name in ('a', 'a/b', 'b/x/y', 'bab'):
        account.put('/c/' + name)
    status, _, body = account('GET', '/c', 'delimiter=/x')
    assert (status, body) == (200, b'a\na/b\nb/x\nbab\n')
    status, _, body = account('GET', '/c', 'delimiter=ab')
    assert (status, body) == (200, b'a\na/b\nb/x/y\nbab\n')
    status, _, body = account('GET', '', 'delimiter=ab')
    assert (status, body) == (200, b'c\n')


def test_path_lists_the_names_directly_under_it(account):
    account.put('/c', body=None)
    for name in ('a', 'a/', 'a/b', 'a/c/d', 'b/x/y', 'z'):
        account.put('/c/' + name)
    assert account('GET', '/c', 'path=a')[2] == b'a/b\n'
    assert account('GET', '/c', 'path=')[2] == b'a\na/\nz\n'
    assert account('GET', '/c', 'path=b/x&delimiter=-')[2] == b'b/x/y\n'


def test_nul_prefix_lists_nothing_and_bad_utf8_is_400(account):
    account.put('/c', body=None)
    account.put('/c/o')
    status, headers, body = account('GET', '/c', 'prefix=%00')
    assert (status, body) == (204, b'')
    assert headers['X-Container-Object-Count'] == '1'
    status, _, body = account('GET', '/c', 'marker=%FF')
    assert status == 400
    assert body.startswith(b'"marker" parameter not valid UTF-8')


def test_xml_listings_are_laid_out_as_swifts(account):
    account.put('/c', body=None)
    status, _, body = account('GET', '/c', 'format=xml')
    assert (status, body) == (200, b'<?xml version="1.0" encoding="UTF-8"?>'
                                   b'\n<container name="c" />')
    account.put('/a-b', body=None)
    status, _, body = account('GET', '', 'format=xml&delimiter=-')
    assert status == 200
    assert masked(body) == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<account name="%s">\n'
        b'<subdir name="a-" />\n'
        b'<container><name>c</name><count>0</count><bytes>0</bytes>'
        b'<last_modified><date></last_modified>'
        b'<storage_policy>Policy-0</storage_policy></container>\n'
        b'</account>' % account.name.encode('ascii'))


def test_account_json_names_each_containers_policy(account):
    account.put('/c\u00e9', body=None)
    account.put('/d', body=None, headers={'X-Storage-Policy': 'reduced'})
    status, _, body = account('GET', '', 'format=json')
    assert status == 200
    assert masked(body) == (
        b'[{"name": "c\\u00e9", "count": 0, "bytes": 0, '
        b'"last_modified": "<date>", "storage_policy": "Policy-0"}, '
        b'{"name": "d", "count": 0, "bytes": 0, '
        b'"last_modified": "<date>", "storage_policy": "silver"}]')
