"""The object server's erasure-coded data path: non-durable archives,
the commit request, and what GET/HEAD of an archive return."""

import hashlib
import http.client
import os
import time

import pytest

from objstore.common.exceptions import StoragePolicyUnavailable
from objstore.common.timestamp import Timestamp
from objstore.object.memdiskfile import InMemoryDiskFileManager
from objstore.object.server import ObjectController
from tests.unit.object.conftest import HASH_CONF, ObjectServerHarness, opath
from tests.unit.object.test_policies import POLICIES_CONF

EC = {'X-Backend-Storage-Policy-Index': '2'}
WHOLE_ETAG = hashlib.md5(b'the whole object').hexdigest()
FOOTER = {'X-Object-Sysmeta-Ec-Etag': WHOLE_ETAG,
          'X-Object-Sysmeta-Ec-Content-Length': '16'}


@pytest.fixture
def ec_server(devices, tmp_path):
    (tmp_path / 'objstore.conf').write_text(POLICIES_CONF)
    harness = ObjectServerHarness(devices, conf_dir=str(tmp_path))
    yield harness
    harness.stop()


def stamp(offset=0):
    return Timestamp(time.time() + offset).internal


def put_archive(server, timestamp, body=b'archive', frag_index='3'):
    headers = dict(EC, **{'X-Timestamp': timestamp,
                          'Content-Type': 'text/plain',
                          'X-Object-Sysmeta-Ec-Frag-Index': frag_index})
    return server.request('PUT', opath(), headers, body)


def commit(server, timestamp, frag_index='3'):
    headers = dict(EC, **FOOTER)
    headers.update({'X-Timestamp': timestamp, 'X-Backend-Ec-Commit': 'yes',
                    'X-Object-Sysmeta-Ec-Frag-Index': frag_index,
                    'Content-Length': '0'})
    return server.request('PUT', opath(), headers, b'')


def hash_dir_names(devices):
    root = os.path.join(devices, 'sda', 'objects-2')
    return sorted(name for _dir, _subdirs, names in os.walk(root)
                  for name in names
                  if name.endswith(('.data', '.ts', '.meta')))


def test_put_stores_a_non_durable_archive_not_served(ec_server, devices):
    t1 = stamp()
    status, headers, _ = put_archive(ec_server, t1)
    assert status == 201
    assert headers['etag'] == hashlib.md5(b'archive').hexdigest()
    assert hash_dir_names(devices) == [t1 + '#3.data']
    assert ec_server.request('GET', opath(), EC)[0] == 404


def test_commit_makes_it_durable_with_the_footer(ec_server, devices):
    t1 = stamp()
    put_archive(ec_server, t1)
    status, _, _ = commit(ec_server, t1)
    assert status == 201
    assert hash_dir_names(devices) == [t1 + '#3#d.data']
    status, headers, body = ec_server.request('GET', opath(), EC)
    assert (status, body) == (200, b'archive')
    assert headers['x-object-sysmeta-ec-etag'] == WHOLE_ETAG
    assert headers['x-object-sysmeta-ec-content-length'] == '16'
    assert headers['x-object-sysmeta-ec-frag-index'] == '3'
    assert headers['content-length'] == '7'
    # A repeated commit changes nothing.
    assert commit(ec_server, t1)[0] == 201


def test_put_without_frag_index_is_400(ec_server, devices):
    status, _, body = ec_server.request('PUT', opath(), dict(
        EC, **{'X-Timestamp': stamp(), 'Content-Type': 'text/plain'}), b'x')
    assert status == 400
    assert b'Frag-Index' in body
    assert hash_dir_names(devices) == []


def test_commit_without_archive_is_404(ec_server):
    assert commit(ec_server, stamp())[0] == 404


def test_newer_uncommitted_archive_leaves_older_served(ec_server, devices):
    t1, t2 = stamp(), stamp(1)
    put_archive(ec_server, t1, b'old')
    commit(ec_server, t1)
    assert put_archive(ec_server, t2, b'new')[0] == 201
    status, headers, body = ec_server.request('GET', opath(), EC)
    assert (status, body) == (200, b'old')
    assert hash_dir_names(devices) == [t1 + '#3#d.data', t2 + '#3.data']
    commit(ec_server, t2)
    assert ec_server.request('GET', opath(), EC)[2] == b'new'
    assert hash_dir_names(devices) == [t2 + '#3#d.data']


def test_conditions_compare_the_etag_named_by_etag_is_at(ec_server):
    t1 = stamp()
    put_archive(ec_server, t1)
    commit(ec_server, t1)
    headers = dict(EC, **{'If-None-Match': WHOLE_ETAG,
                          'X-Backend-Etag-Is-At':
                              'X-Object-Sysmeta-Ec-Etag'})
    status, resp_headers, _ = ec_server.request('GET', opath(), headers)
    assert status == 304
    assert resp_headers['etag'] == WHOLE_ETAG
    headers['If-None-Match'] = 'other'
    assert ec_server.request('GET', opath(), headers)[0] == 200


def test_delete_and_post_on_archives(ec_server, devices):
    t1 = stamp()
    put_archive(ec_server, t1)
    commit(ec_server, t1)
    t2 = stamp(1)
    status = ec_server.request('POST', opath(), dict(
        EC, **{'X-Timestamp': t2, 'X-Object-Meta-Color': 'blue'}))[0]
    assert status == 202
    headers = ec_server.request('HEAD', opath(), EC)[1]
    assert headers['x-object-meta-color'] == 'blue'
    t3 = stamp(2)
    assert ec_server.request('DELETE', opath(), dict(
        EC, **{'X-Timestamp': t3}))[0] == 204
    assert hash_dir_names(devices) == [t3 + '.ts']


def test_server_without_ec_storage_refuses_ec_policy(tmp_path):
    (tmp_path / 'objstore.conf').write_text(POLICIES_CONF)
    app = ObjectController(
        {'conf_dir': str(tmp_path), 'log_level': 'ERROR'},
        diskfile_manager=InMemoryDiskFileManager(('sda',), HASH_CONF))
    with pytest.raises(StoragePolicyUnavailable):
        app.manager_for(2)


def test_commit_with_metadata_in_a_sidecar(ec_server, devices, monkeypatch):
    # http.client refuses answers with over 100 headers; this one has 100+.
    monkeypatch.setattr(http.client, '_MAXHEADERS', 1000)
    # Metadata too large for ext4's xattr block goes to a sidecar file,
    # which must follow the archive to its durable name.
    t1 = stamp()
    big = {'X-Object-Meta-K%02d' % n: 'v' * (43 if n < 46 else 42)
           for n in range(90)}
    headers = dict(EC, **big)
    headers.update({'X-Timestamp': t1, 'Content-Type': 'text/plain',
                    'X-Object-Sysmeta-Ec-Frag-Index': '1'})
    assert ec_server.request('PUT', opath(), headers, b'archive')[0] == 201
    assert commit(ec_server, t1, frag_index='1')[0] == 201
    root = os.path.join(devices, 'sda', 'objects-2')
    names = sorted(name for _d, _s, files in os.walk(root) for name in files
                   if '#' in name)
    assert names == [t1 + '#1#d.data', t1 + '#1#d.data.mdjson']
    status, resp_headers, body = ec_server.request('GET', opath(), EC)
    assert (status, body) == (200, b'archive')
    assert resp_headers['x-object-meta-k89'] == 'v' * 42
    assert resp_headers['x-object-sysmeta-ec-etag'] == WHOLE_ETAG
