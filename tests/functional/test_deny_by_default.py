"""Deny by default against the running aio cluster, with raw http.client:
no verb, level, API prefix (``/v1``, ``/v1.0``) or spelling of a path
reaches storage without a valid token (the ``/v1.0/`` bypass of issue 9),
and the answer is Swift's 401."""

import http.client
import json
import uuid
from urllib.parse import urlparse

import pytest

from tests.helpers import (
    AUTH_VERBS, BAD_TOKENS, denied_status, spelled_object_paths)

ORIGINAL = b'written by the owner'
WRITE_HEADERS = {
    'X-Object-Meta-Evil': '1', 'X-Container-Meta-Evil': '1',
    'X-Account-Meta-Evil': '1', 'X-Container-Read': '.r:*,.rlistings',
    'Content-Type': 'text/plain'}


class Raw:
    def __init__(self, cluster):
        proxy = urlparse(cluster.proxy_url)
        self.host, self.port = proxy.hostname, proxy.port

    def __call__(self, method, target, token=None, headers=None, body=None):
        headers = dict(headers or {})
        if token is not None:
            headers['X-Auth-Token'] = token
        if method in ('PUT', 'POST') and body is None:
            body = b'evil'
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in
                                 resp.getheaders()}, resp.read()
        finally:
            conn.close()


@pytest.fixture(scope='module')
def owned(cluster):
    """(raw client, owner token, account, container) with object ``o``."""
    raw = Raw(cluster)
    url, token = cluster.get_token('test:tester')
    account = urlparse(url).path.split('/')[2]
    container = 'deny-%s' % uuid.uuid4().hex[:8]
    base = '/v1/%s/%s' % (account, container)
    assert raw('PUT', base, token)[0] == 201
    assert raw('PUT', base + '/o', token, body=ORIGINAL)[0] == 201
    return raw, token, account, container


def assert_untouched(raw, token, account, container):
    base = '/v1/%s/%s' % (account, container)
    status, headers, body = raw('GET', base + '/o', token)
    assert (status, body) == (200, ORIGINAL)
    assert 'x-object-meta-evil' not in headers
    status, headers, body = raw('GET', base + '?format=json', token)
    assert [item['name'] for item in json.loads(body)] == ['o']
    assert 'x-container-meta-evil' not in headers
    assert 'x-container-read' not in headers
    status, headers, _ = raw('HEAD', '/v1/%s' % account, token)
    assert 'x-account-meta-evil' not in headers


def test_the_reported_bypass_is_closed(owned):
    raw, token, account, container = owned
    target = '/v1.0/%s/%s/o' % (account, container)
    status, headers, body = raw('PUT', target, body=b'evil')
    assert status == 401
    assert headers['www-authenticate'] == 'Swift realm="%s"' % account
    assert b'could not verify that you are authorized' in body
    assert raw('GET', target)[0] == 401
    assert_untouched(raw, token, account, container)


@pytest.mark.parametrize('version', ['v1', 'v1.0'])
def test_every_verb_and_level_needs_a_valid_token(owned, version):
    raw, token, account, container = owned
    headers = dict(WRITE_HEADERS, Destination='%s/copied' % container)
    wrong = []
    for level, suffix in ((1, ''), (2, '/' + container),
                          (3, '/%s/o' % container)):
        target = '/%s/%s%s' % (version, account, suffix)
        for verb in AUTH_VERBS:
            for bad in BAD_TOKENS:
                status, _, body = raw(verb, target, bad, headers)
                if status != denied_status(verb, level, bad) or \
                        ORIGINAL in body:
                    wrong.append((verb, target, bad, status))
    assert wrong == []
    assert_untouched(raw, token, account, container)


def test_no_spelling_of_a_path_slips_by(owned):
    raw, token, account, container = owned
    wrong = []
    for target, expected in spelled_object_paths(account, container, 'o'):
        for verb in ('GET', 'PUT', 'POST', 'DELETE'):
            status, _, body = raw(verb, target, None, WRITE_HEADERS)
            if status != expected or ORIGINAL in body:
                wrong.append((verb, target, status))
    assert wrong == []
    assert_untouched(raw, token, account, container)
