"""The CRC32C each object server stores beside a body stays internal: no
header of a GET, HEAD or POST-then-GET through the proxy names it or
carries its value. Real cluster, python-swiftclient and raw HTTP."""

import os
import uuid

import crc32c
import pytest
from swiftclient.client import Connection

BODY = os.urandom(3 * 1024 * 1024 + 7)


@pytest.fixture(scope='module')
def conn(cluster):
    return Connection(cluster.auth_url, 'test:tester',
                      cluster.users['test:tester'], retries=0, timeout=30)


def assert_internal(headers, crc):
    assert not [name for name in headers if 'crc' in name.lower()]
    assert not [value for value in headers.values() if crc in value]


def test_stored_crc32c_reaches_no_client(conn):
    container = 'crc-' + uuid.uuid4().hex[:8]
    conn.put_container(container)
    conn.put_object(container, 'o', BODY)
    crc = '%08x' % crc32c.crc32c(BODY)
    headers, body = conn.get_object(container, 'o')
    assert body == BODY
    assert_internal(headers, crc)
    assert_internal(conn.head_object(container, 'o'), crc)
    conn.post_object(container, 'o', {'X-Object-Meta-Color': 'red'})
    headers, body = conn.get_object(container, 'o')
    assert body == BODY and headers['x-object-meta-color'] == 'red'
    assert_internal(headers, crc)
    assert_internal(conn.head_object(container, 'o'), crc)
    headers, body = conn.get_object(container, 'o',
                                    headers={'Range': 'bytes=5-9'})
    assert body == BODY[5:10]
    assert_internal(headers, crc)
