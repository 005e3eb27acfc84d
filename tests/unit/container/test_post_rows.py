"""The container server takes an object POST's row update (its
X-Content-Type-Timestamp and X-Meta-Timestamp) over a real socket into
real SQLite, whatever order the updates arrive in, and lists an SLO
manifest as Swift does."""

import json

import pytest

from objstore.container.server import ContainerController
from tests.helpers import ts
from tests.unit.container.db_server_helpers import (
    HASH_CONF, POLICIES, Client, devices_dir, running, server_conf)


@pytest.fixture
def server():
    with devices_dir('sda') as root:
        app = ContainerController(server_conf(root), hash_conf=HASH_CONF,
                                  policies=POLICIES)
        with running(app) as handle:
            client = Client(handle.port)
            assert client.request('PUT', '/sda/1/a/c',
                                  {'X-Timestamp': ts(0)})[0] == 201
            yield client


def row_update(server, offset, content_type, size=300, **extra):
    headers = {'X-Timestamp': ts(offset), 'X-Size': str(size),
               'X-Content-Type': content_type, 'X-Etag': 'e%s' % offset}
    headers.update((k.replace('_', '-'), v) for k, v in extra.items())
    return server.request('PUT', '/sda/1/a/c/o', headers)[0]


def listing(server):
    status, headers, body = server.request('GET', '/sda/1/a/c?format=json')
    assert status == 200
    return headers, json.loads(body)


def test_newer_post_type_survives_an_older_put_arriving_late(server):
    assert row_update(server, 1, 'a/b;swift_bytes=9000') == 201
    assert row_update(server, 1, 'c/d;swift_bytes=9000',
                      X_Content_Type_Timestamp=ts(3),
                      X_Meta_Timestamp=ts(3)) == 201
    assert row_update(server, 0.5, 'e/f', size=5) == 201
    headers, [item] = listing(server)
    assert (item['content_type'], item['bytes'], item['hash']) == (
        'c/d', 9000, 'e1')
    assert {k.lower(): v for k, v in headers.items()}[
        'x-container-bytes-used'] == '300'


def test_bad_post_timestamp_is_400(server):
    assert row_update(server, 1, 'a/b',
                      X_Content_Type_Timestamp='soon') == 400
    assert listing(server)[1] == []
