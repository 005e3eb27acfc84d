"""The small middlewares of the aio's default pipeline, over raw HTTP
against the session cluster: name_check, etag_quoter, domain_remap,
crossdomain, list_endpoints, listing_formats."""

import json
import uuid
from urllib.parse import urlparse

import pytest

from objstore.middleware.name_check import FORBIDDEN_REGEXP
from tests.helpers import ReconfiguredProxy, send_raw


class User:
    """Raw requests as the test user (or anonymous) to the aio proxy."""

    def __init__(self, cluster):
        url, self.token = cluster.get_token('test:tester')
        parsed = urlparse(url)
        self.host, self.port, self.base = parsed.hostname, parsed.port, \
            parsed.path
        self.account = self.base.rsplit('/', 1)[1]

    def send(self, method, target, headers=None, body=None, token=True):
        sent = {'X-Auth-Token': self.token} if token else {}
        sent.update(headers or {})
        return send_raw(self.host, self.port, method, target, sent, body)

    def __call__(self, method, path='', headers=None, body=None, token=True):
        return self.send(method, self.base + path, headers, body, token)


@pytest.fixture(scope='module')
def user(cluster):
    return User(cluster)


@pytest.fixture
def container(user):
    name = '/small-%s' % uuid.uuid4().hex
    assert user('PUT', name)[0] == 201
    return name


def test_name_check_refuses_only_what_the_api_would(user, container):
    """The aio's name_check refuses paths longer than any valid one (and
    nothing Swift's API accepts: its default pipeline has none)."""
    assert user('PUT', container + '/a%3Cb/./c', body=b'x')[0] == 201
    info = json.loads(user.send('GET', '/info', token=False)[2])
    longest = info['name_check']['maximum_length']
    assert info['name_check']['forbidden_chars'] == ''
    status, _, body = user('PUT', container + '/' + 'n' * longest,
                           body=b'x')
    assert (status, body) == (400, (
        'Object/Container/Account name longer than the allowed maximum '
        '%d' % longest).encode())


def test_name_check_with_swifts_defaults(cluster, tmp_path, user):
    proxy = ReconfiguredProxy(cluster, str(tmp_path), {
        'filter:name_check': {'forbidden_chars': '\'"`<>',
                              'maximum_length': '255',
                              'forbidden_regexp': FORBIDDEN_REGEXP}})
    try:
        target = user.base + '/c/a%3Cb'
        status, _, body = proxy.request('PUT', target, {
            'X-Auth-Token': user.token}, b'x')
        assert (status, body) == (400, b'Object/Container/Account name '
                                       b'contains forbidden chars from '
                                       b'\'"`<>')
        status, _, _ = proxy.request('GET', user.base + '/c/./o', {
            'X-Auth-Token': user.token})
        assert status == 400
    finally:
        proxy.close()


def etag_of(user, path):
    status, headers, _ = user('HEAD', path)
    assert status == 200
    return headers['etag']


def test_etag_quoter_by_container_then_account(user, container):
    assert user('PUT', container + '/o', body=b'x')[0] == 201
    bare = etag_of(user, container + '/o')
    assert not bare.startswith('"')
    status, _, _ = user('POST', container, {
        'X-Container-Rfc-Compliant-Etags': 'yes'})
    assert status == 204
    status, headers, _ = user('HEAD', container)
    assert headers['x-container-rfc-compliant-etags'] == 'True'
    assert not any('sysmeta' in name for name in headers)
    assert etag_of(user, container + '/o') == '"%s"' % bare
    status, headers, _ = user('GET', container + '/o')
    assert (status, headers['etag']) == (200, '"%s"' % bare)
    # Removed from the container: the account's setting decides.
    assert user('POST', container, {
        'X-Remove-Container-Rfc-Compliant-Etags': 'x'})[0] == 204
    assert etag_of(user, container + '/o') == bare
    assert user('POST', '', {'X-Account-Rfc-Compliant-Etags': 'true'})[0] \
        == 204
    try:
        assert etag_of(user, container + '/o') == '"%s"' % bare
        assert user('POST', container, {
            'X-Container-Rfc-Compliant-Etags': 'false'})[0] == 204
        assert etag_of(user, container + '/o') == bare
    finally:
        assert user('POST', '', {'X-Account-Rfc-Compliant-Etags': ''})[0] \
            == 204
    info = json.loads(user.send('GET', '/info', token=False)[2])
    assert info['etag_quoter'] == {'enable_by_default': False}


def test_domain_remap_names_from_the_host(user, container):
    assert user('PUT', container + '/o', body=b'remapped')[0] == 201
    name = container.lstrip('/')
    for host, path in (('%s.%s.example.com' % (name, user.account), '/o'),
                       ('%s.example.com:8080' % user.account.replace(
                           'AUTH_', 'auth-'), container + '/o')):
        status, _, body = user.send('GET', path, {'Host': host})
        assert (status, body) == (200, b'remapped'), host
    status, _, body = user.send('GET', '/o', {'Host': 'a.b.c.example.com'})
    assert (status, body) == (400, b'Bad domain in host header')
    # Hosts outside the storage domain are not remapped: /o names no
    # account.
    status, _, body = user.send('GET', '/o', {'Host': 'c.AUTH_x.example.org'})
    assert (status, body) == (412, b'Bad URL')
    info = json.loads(user.send('GET', '/info', token=False)[2])
    assert info['domain_remap'] == {'default_reseller_prefix': None}


def test_crossdomain_policy_is_public(user):
    status, headers, body = user.send('GET', '/crossdomain.xml',
                                      token=False)
    assert status == 200
    assert headers['content-type'] == 'application/xml'
    assert b'<allow-access-from domain="*" secure="false" />' in body
    assert body.startswith(b'<?xml version="1.0"?>\n<!DOCTYPE '
                           b'cross-domain-policy')
    info = json.loads(user.send('GET', '/info', token=False)[2])
    assert info['crossdomain'] == {}


def test_list_endpoints_follow_the_rings_and_policies(cluster, user):
    name = 'ends-%s' % uuid.uuid4().hex
    assert user('PUT', '/' + name, {'X-Storage-Policy': 'silver'})[0] == 201
    account = user.account
    for version in ('', 'v1/'):
        status, headers, body = user.send(
            'GET', '/endpoints/%s%s/%s/o%%20x' % (version, account, name),
            token=False)
        assert status == 200
        assert headers['content-type'] == 'application/json'
        part, nodes = cluster.ring('object-1').get_nodes(account, name,
                                                         'o x')
        assert json.loads(body) == [
            'http://%s:%s/%s/%s/%s/%s/o%%20x' % (
                n['ip'], n['port'], n['device'], part, account, name)
            for n in nodes]
    status, _, body = user.send('GET', '/endpoints/v2/%s/%s' % (
        account, name), token=False)
    part, nodes = cluster.ring('container').get_nodes(account, name)
    assert json.loads(body) == {'endpoints': [
        'http://%s:%s/%s/%s/%s/%s' % (n['ip'], n['port'], n['device'], part,
                                      account, name) for n in nodes],
        'headers': {}}
    status, _, body = user.send('GET', '/endpoints/v2/%s/%s/o' % (
        account, name), token=False)
    assert json.loads(body)['headers'] == {
        'X-Backend-Storage-Policy-Index': '1'}
    assert len(json.loads(body)['endpoints']) == 2
    status, _, body = user.send('GET', '/endpoints/v3/%s' % account,
                                token=False)
    assert (status, body) == (400, b"Unsupported version 'v3'")
    assert user.send('GET', '/endpoints/', token=False)[::2] == (
        400, b'No account specified')
    status, headers, _ = user.send('PUT', '/endpoints/a', body=b'',
                                   token=False)
    assert (status, headers['allow']) == (405, 'GET')


NOT_ACCEPTABLE = (b'<html><h1>Not Acceptable</h1><p>The resource is not '
                  b'available in a format acceptable to your browser.</p>'
                  b'</html>')


def test_listing_formats_negotiates_before_auth(user, container):
    status, _, body = user(
        'GET', container, {'Accept': 'image/png'}, token=False)
    assert (status, body) == (406, NOT_ACCEPTABLE)
    status, _, body = user('GET', container, {'Accept': 'bad header'})
    assert (status, body) == (400, b'Invalid Accept header')
    status, headers, _ = user('GET', container,
                              {'Accept': 'text/xml;q=0.5, image/png'})
    assert status == 200
    assert headers['content-type'] == 'text/xml; charset=utf-8'
    assert headers['vary'] == 'Accept'
    status, headers, _ = user('HEAD', container + '?format=json',
                              {'Accept': 'text/xml'})
    assert headers['content-type'] == 'application/json; charset=utf-8'
    assert 'vary' not in headers


def test_listing_vary_follows_cors_vary(user, container):
    """Swift's order: the proxy's CORS Vary first, then the listing's."""
    assert user('POST', container, {
        'X-Container-Meta-Access-Control-Allow-Origin': 'http://a.test'}
    )[0] == 204
    status, headers, _ = user('GET', container, {'Origin': 'http://a.test'})
    assert (status, headers['vary']) == (204, 'Origin, Accept')
