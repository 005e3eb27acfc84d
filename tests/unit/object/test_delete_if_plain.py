"""The object server's DELETE with ``X-Backend-Delete-If-Plain`` (s3api's
DeleteObject of a key it expects to be plain): refused with 412, and
nothing changed, when the node holds a multipart manifest or a symlink;
a plain object, a missing one and an expired one are deleted as by any
DELETE. Real sockets, real tmp devices."""

import functools
import time

import pytest

from objstore.common.conditional import DELETE_IF_PLAIN_HEADER
from tests.unit.object.conftest import opath, put_object
from tests.helpers import ts as ts_after

NOW = time.time()
ts = functools.partial(ts_after, base=NOW)

MANIFEST = {'X-Static-Large-Object': 'True'}
SYMLINK = {'X-Object-Sysmeta-Symlink-Target': 'c/target'}
VERSION_LINK = {'X-Object-Sysmeta-Symlink-Target': '%00versions%00c/o',
                'X-Object-Sysmeta-Versions-Symlink': 'true'}


def put(server, headers, obj='o', timestamp=None):
    send = {'X-Timestamp': timestamp or ts(), 'Content-Type': 'text/plain'}
    send.update(headers)
    status, _, _ = server.request('PUT', opath(obj), send, b'body')
    assert status == 201


def delete_if_plain(server, obj='o', timestamp=None):
    return server.request('DELETE', opath(obj), {
        'X-Timestamp': timestamp or ts(1), DELETE_IF_PLAIN_HEADER: 'true'})


@pytest.mark.parametrize('kind', [MANIFEST, SYMLINK, VERSION_LINK],
                         ids=['manifest', 'symlink', 'version-link'])
def test_refuses_a_manifest_or_a_link_and_keeps_it(server, kind):
    put(server, kind)
    status, _, body = delete_if_plain(server)
    assert (status, body) == (
        412, b'Not a plain object: a manifest or a symlink')
    status, headers, _ = server.request('HEAD', opath())
    assert status == 200
    assert headers['x-backend-timestamp'] == ts()
    # Without the header it is any DELETE.
    assert server.request('DELETE', opath(), {
        'X-Timestamp': ts(2)})[0] == 204


def test_deletes_a_plain_object(server):
    put(server, {'X-Object-Meta-Color': 'blue',
                 'X-Static-Large-Object': 'false'})
    status, headers, _ = delete_if_plain(server)
    assert status == 204 and headers['x-backend-timestamp'] == ts(1)
    assert server.request('HEAD', opath())[0] == 404


def test_missing_or_expired_object_is_deleted_as_usual(server, mgr):
    status, _, _ = delete_if_plain(server, obj='ghost')
    assert status == 404
    # The tombstone it wrote makes an older write lose.
    assert server.request('PUT', opath('ghost'), {
        'X-Timestamp': ts(), 'Content-Type': 'text/plain'}, b'x')[0] == 409
    put_object(mgr, 'expired', b'x', ts(-20),
               dict(MANIFEST, **{'X-Delete-At': str(int(NOW) - 10)}))
    status, headers, _ = delete_if_plain(server, obj='expired')
    assert status == 404 and headers['x-backend-timestamp'] == ts(1)


def test_newer_write_still_wins_first(server):
    put(server, MANIFEST, timestamp=ts(5))
    status, headers, _ = delete_if_plain(server, timestamp=ts(1))
    assert status == 409 and headers['x-backend-timestamp'] == ts(5)
