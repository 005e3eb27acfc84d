"""The small middlewares of the aio's default pipeline, over raw HTTP
against the session cluster: name_check, etag_quoter, domain_remap,
crossdomain, list_endpoints, listing_formats."""

import json
import uuid
from urllib.parse import urlparse

import pytest

from tests.helpers import send_raw


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


def test_name_check_refuses_forbidden_names(user, container):
    status, headers, body = user('PUT', container + '/a%3Cb', body=b'x')
    assert status == 400
    assert body == (b'Object/Container/Account name contains forbidden '
                    b'chars from \'"`<>')
    status, _, body = user('PUT', container + '/' + 'n' * 300, body=b'x')
    assert (status, body) == (400, b'Object/Container/Account name longer '
                                   b'than the allowed maximum 255')
    assert user('PUT', container + '/fine.txt', body=b'x')[0] == 201
    status, _, body = user.send('GET', '/info', token=False)
    assert json.loads(body)['name_check']['maximum_length'] == 255
