"""Object bodies verified by the CRC32C stored at PUT, MD5 without one.

The writer stores the body's CRC32C in the .data's metadata (an internal
key no client sees); a whole-body read checks it instead of the MD5, on
the iterator path (DiskFileReader.__iter__, as the auditor reads) and on
the sendfile path (spans(), checked in a native thread). Objects written
before CRC32Cs were stored have none and are checked by MD5.

To tell which check ran, some tests corrupt a byte and then "fix up" the
stored ETag to the MD5 of the corrupt bytes: only the CRC32C can catch
that; others spoil only the stored CRC32C, which only a CRC32C check can
notice. Real files, real xattrs, real sockets.
"""

import glob
import hashlib
import os
import time

import crc32c
import pytest

from objstore.common.exceptions import DiskFileQuarantined
from objstore.common.timestamp import Timestamp
from objstore.object import metadata as md
from objstore.object.body_checksum import CRC32C_KEY
from objstore.object.memdiskfile import InMemoryDiskFileManager
from tests.unit.object.conftest import (
    HASH_CONF, ServerProcess, data_path, opath, put_object, read_cut_short,
    server_put)
from tests.unit.test_daemon_imports import modules_loaded_by

CHUNK = 262144    # the object server's default disk_chunk_size
BODY = os.urandom(4 * CHUNK + 12345)
FLIP_AT = CHUNK + 17
T1 = Timestamp(time.time() - 10).internal


def crc_hex(body):
    return '%08x' % crc32c.crc32c(body)


def quarantined(devices):
    return glob.glob(os.path.join(devices, 'sda', 'quarantined', 'objects',
                                  '*', '*.data'))


def stored_metadata(path):
    return md.read_metadata(path)


def rewrite_metadata(path, **changes):
    """Replace the file's metadata (xattrs) with ``changes`` applied; a
    None value removes the key."""
    meta = stored_metadata(path)
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    fd = os.open(path, os.O_RDWR)
    try:
        assert md.write_metadata(fd, meta, os.path.dirname(path)) is None
    finally:
        os.close(fd)


def corrupt(path, body, where=FLIP_AT, fix_up_md5=False):
    """Flip the byte at ``where``; with ``fix_up_md5`` the stored ETag
    becomes the MD5 of the corrupt bytes (only the CRC32C can tell)."""
    with open(path, 'r+b') as data:
        data.seek(where)
        data.write(bytes([body[where] ^ 0xff]))
    if fix_up_md5:
        with open(path, 'rb') as data:
            rewrite_metadata(path, ETag=hashlib.md5(data.read()).hexdigest())


def make_old_style(path):
    """The metadata as written before CRC32Cs were stored."""
    rewrite_metadata(path, **{CRC32C_KEY: None})


# -- what the writer stores --------------------------------------------------

def test_writer_stores_the_crc32c_of_the_body(mgr):
    # The CRC-32C check value of RFC 3720's test vector.
    df = put_object(mgr, 'vector', b'123456789', T1)
    assert df.open()[CRC32C_KEY] == 'e3069283'
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    with df.create(len(BODY)) as writer:
        for start in range(0, len(BODY), 65536):
            writer.write(BODY[start:start + 65536])
        writer.put({'X-Timestamp': T1})
    meta = df.open()
    assert meta[CRC32C_KEY] == crc_hex(BODY)
    assert meta['ETag'] == hashlib.md5(BODY).hexdigest()
    reader = df.reader()
    assert reader.checked_with == 'crc32c'
    assert b''.join(reader) == BODY


def test_a_body_the_etag_does_not_describe_keeps_the_md5_check(mgr):
    # A CRC32C stands in for the MD5 only for a body whose MD5 the ETag
    # is; a caller's own ETag (or a stale CRC32C it passed) is not that.
    df = put_object(mgr, 'o', b'body', T1, extra={
        'ETag': 'f' * 32, CRC32C_KEY: crc_hex(b'body')})
    assert CRC32C_KEY not in df.open()
    reader = df.reader()
    assert reader.checked_with == 'md5'
    with pytest.raises(DiskFileQuarantined):
        list(reader)


def test_the_crc32c_never_reaches_a_client(server, devices):
    server_put(server, BODY)
    crc = stored_metadata(data_path(devices))[CRC32C_KEY]
    assert crc == crc_hex(BODY)

    def assert_not_leaked(headers):
        assert not [name for name in headers if 'crc' in name]
        assert not [value for value in headers.values() if crc in value]
    for method in ('GET', 'HEAD'):
        status, headers, _body = server.request(method, opath())
        assert status == 200
        assert_not_leaked(headers)
    assert server.request('POST', opath(), {
        'X-Timestamp': Timestamp.now().internal,
        'X-Object-Meta-Color': 'blue'})[0] == 202
    for method in ('GET', 'HEAD'):
        status, headers, body = server.request(method, opath())
        assert status == 200 and headers['x-object-meta-color'] == 'blue'
        assert_not_leaked(headers)
    assert body == b''
    # The POST's .meta has no CRC32C; the data file keeps its own.
    assert stored_metadata(data_path(devices))[CRC32C_KEY] == crc


# -- the iterator path (as the auditor reads) --------------------------------

def open_reader(mgr, obj='o'):
    df = mgr.get_diskfile('sda', '0', 'a', 'c', obj)
    df.open()
    return df.reader()


def read_until_quarantined(reader):
    got = []
    with pytest.raises(DiskFileQuarantined):
        for chunk in reader:
            got.append(chunk)
    return len(b''.join(got))


@pytest.mark.parametrize('fix_up_md5', [False, True])
def test_flipped_byte_is_caught_by_the_crc32c_when_iterating(
        mgr, device_path, fix_up_md5):
    body = os.urandom(3 * 4096 + 100)   # the mgr fixture reads 4096 a time
    df = put_object(mgr, 'o', body, T1)
    corrupt(data_path(os.path.dirname(device_path)), body, 5000, fix_up_md5)
    reader = open_reader(mgr)
    assert reader.checked_with == 'crc32c'
    # The last chunk is held back: fewer bytes than the object's length.
    assert read_until_quarantined(reader) == 3 * 4096
    assert not os.path.exists(df.hash_dir)
    assert quarantined(os.path.dirname(device_path))


def test_spoilt_crc32c_with_a_good_md5_is_corrupt_when_iterating(
        mgr, device_path):
    body = os.urandom(3 * 4096 + 100)
    put_object(mgr, 'o', body, T1)
    rewrite_metadata(data_path(os.path.dirname(device_path)),
                     **{CRC32C_KEY: crc_hex(body + b'x')})
    assert read_until_quarantined(open_reader(mgr)) == 3 * 4096
    assert quarantined(os.path.dirname(device_path))


def test_object_without_a_crc32c_is_checked_by_md5_when_iterating(
        mgr, device_path):
    devices = os.path.dirname(device_path)
    body = os.urandom(3 * 4096 + 100)
    put_object(mgr, 'o', body, T1)
    make_old_style(data_path(devices))
    reader = open_reader(mgr)
    assert reader.checked_with == 'md5'
    assert b''.join(reader) == body
    corrupt(data_path(devices), body, 5000)
    assert read_until_quarantined(open_reader(mgr)) == 3 * 4096
    assert quarantined(devices)


# -- the sendfile path ------------------------------------------------------

@pytest.mark.parametrize('fix_up_md5', [False, True])
def test_flipped_byte_is_caught_by_the_crc32c_beside_sendfile(
        server, devices, sendfile_calls, fix_up_md5):
    server_put(server, BODY)
    corrupt(data_path(devices), BODY, fix_up_md5=fix_up_md5)
    length, got = read_cut_short(server.host, server.port)
    assert (length, got) == (len(BODY), len(BODY) - CHUNK)
    assert sendfile_calls
    assert quarantined(devices)
    assert server.request('GET', opath())[0] == 404


def test_spoilt_crc32c_with_a_good_md5_is_corrupt_beside_sendfile(
        server, devices, sendfile_calls):
    server_put(server, BODY)
    rewrite_metadata(data_path(devices), **{CRC32C_KEY: crc_hex(b'other')})
    assert read_cut_short(server.host, server.port) == (
        len(BODY), len(BODY) - CHUNK)
    assert sendfile_calls
    assert quarantined(devices)


def test_object_without_a_crc32c_is_checked_by_md5_beside_sendfile(
        server, devices, sendfile_calls):
    server_put(server, BODY)
    make_old_style(data_path(devices))
    assert server.request('GET', opath())[2] == BODY
    assert sendfile_calls and not quarantined(devices)
    corrupt(data_path(devices), BODY)
    assert read_cut_short(server.host, server.port) == (
        len(BODY), len(BODY) - CHUNK)
    assert quarantined(devices)


def test_crc32c_checked_in_native_threads_of_a_real_server(tmp_path):
    # As in production: monkey patched, the check runs in the native
    # thread pool (several trips) beside sendfile.
    body = os.urandom(20 * 1024 * 1024 + 5)
    server = ServerProcess(tmp_path)
    server.start()
    try:
        server_put(server, body)
        assert server.request('GET', opath()) == (200, body)
        devices = os.path.dirname(server.device_path)
        corrupt(data_path(devices), body, 17 * 1024 * 1024 + 3,
                fix_up_md5=True)
        length, got = read_cut_short('127.0.0.1', server.port)
        assert length == len(body) and got < length
        assert quarantined(devices)
    finally:
        server.kill()


# -- who loads the crc32c package ------------------------------------------

@pytest.mark.parametrize('module', [
    'objstore.replicator.object_replicator',
    'objstore.replicator.reconstructor',
    'objstore.object.expirer',
])
def test_daemons_that_never_hash_a_body_do_not_load_crc32c(module):
    # Its package init loads importlib.metadata: ~1 MiB of RSS each.
    loaded = modules_loaded_by('import %s' % module)
    assert 'objstore.object.diskfile' in loaded
    assert 'crc32c' not in loaded


# -- the in-memory twin ------------------------------------------------------

def test_in_memory_twin_stores_and_checks_the_crc32c():
    mgr = InMemoryDiskFileManager(('sda',), HASH_CONF, chunk_size=1000)
    df = mgr.get_diskfile('sda', '0', 'a', 'c', 'o')
    body = os.urandom(2500)
    with df.create(len(body)) as writer:
        writer.write(body)
        writer.put({'X-Timestamp': T1})
    assert df.open()[CRC32C_KEY] == crc_hex(body)
    assert b''.join(df.reader()) == body
    [(name, (stored, meta))] = mgr.objects[df.key].items()
    mgr.objects[df.key][name] = (stored, dict(
        meta, **{CRC32C_KEY: crc_hex(b'other')}))
    df.open()
    with pytest.raises(DiskFileQuarantined):
        list(df.reader())
