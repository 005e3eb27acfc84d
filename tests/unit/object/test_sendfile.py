"""GET bodies sent with sendfile (green.FileSpan): same bytes, same checks.

The object server answers a GET of a whole object or of ranges with spans
of its data file that the WSGI server sends with os.sendfile, the MD5 of a
whole-object GET checked in a native thread meanwhile. These tests drive
real servers over loopback: the in-process harness (a spy on os.sendfile
tells that the path was taken) and a real server process (native threads,
as in production) for the client that goes away mid-body.
"""

import glob
import hashlib
import os
import socket

import pytest

from objstore.common.ranges import split_multipart_byteranges
from objstore.common.timestamp import Timestamp
from objstore.object.diskfile_reader import (
    VERIFY_READ_BYTES, VERIFY_TRIP_BYTES)
from tests.helpers import wait_for
from tests.unit.object.conftest import (
    ServerProcess, data_path, opath, read_cut_short, server_put)

CHUNK = 262144    # the object server's default disk_chunk_size
BODY = os.urandom(4 * CHUNK + 12345)


def test_whole_object_get_is_sent_with_sendfile(server, sendfile_calls):
    server_put(server, BODY)
    status, headers, body = server.request('GET', opath())
    assert status == 200
    assert body == BODY
    assert headers['etag'] == hashlib.md5(BODY).hexdigest()
    assert sendfile_calls
    # Only the last chunk waits for the MD5 and goes out as bytes.
    assert sum(count for _offset, count in sendfile_calls) >= \
        len(BODY) - CHUNK - 65536


def test_small_object_get_reads_as_before(server, sendfile_calls):
    server_put(server, b'small body')
    assert server.request('GET', opath())[2] == b'small body'
    assert sendfile_calls == []


@pytest.mark.parametrize('value, start, stop', [
    ('bytes=1000-700000', 1000, 700001),
    ('bytes=-300000', len(BODY) - 300000, len(BODY)),
    ('bytes=70000-', 70000, len(BODY)),
])
def test_single_range_is_sent_with_sendfile(server, sendfile_calls, value,
                                            start, stop):
    server_put(server, BODY)
    status, headers, body = server.request('GET', opath(), {'Range': value})
    assert status == 206
    assert body == BODY[start:stop]
    assert headers['content-range'] == 'bytes %d-%d/%d' % (
        start, stop - 1, len(BODY))
    assert sendfile_calls


def test_multiple_ranges_are_sent_with_sendfile(server, sendfile_calls):
    server_put(server, BODY)
    status, headers, body = server.request(
        'GET', opath(), {'Range': 'bytes=5-200000,300000-900000,-10'})
    assert status == 206
    assert int(headers['content-length']) == len(body)
    boundary = headers['content-type'].split('=', 1)[1]
    assert [(s, e, d) for s, e, _, d in split_multipart_byteranges(
        body, boundary)] == [
        (5, 200001, BODY[5:200001]), (300000, 900001, BODY[300000:900001]),
        (len(BODY) - 10, len(BODY), BODY[-10:])]
    assert sendfile_calls


def test_corrupt_file_is_cut_short_and_quarantined(server, devices,
                                                   sendfile_calls):
    server_put(server, BODY)
    with open(data_path(devices), 'r+b') as data:
        data.seek(CHUNK + 17)
        data.write(bytes([BODY[CHUNK + 17] ^ 0xff]))
    length, got = read_cut_short(server.host, server.port)
    assert length == len(BODY)
    # Everything but the last chunk went out before the MD5 was known.
    assert got == len(BODY) - CHUNK
    assert sendfile_calls
    assert glob.glob(os.path.join(devices, 'sda', 'quarantined', 'objects',
                                  '*', '*.data'))
    assert server.request('GET', opath())[0] == 404


# Two native-thread trips of the MD5 check and a part of a third, the
# last trip ending inside a read piece.
MANY_TRIPS_BODY = os.urandom(2 * VERIFY_TRIP_BYTES + VERIFY_READ_BYTES + 999)


def test_many_trip_object_is_verified_whole(server, sendfile_calls):
    server_put(server, MANY_TRIPS_BODY)
    status, headers, body = server.request('GET', opath())
    assert status == 200
    assert body == MANY_TRIPS_BODY
    assert headers['etag'] == hashlib.md5(MANY_TRIPS_BODY).hexdigest()
    assert sendfile_calls


@pytest.mark.parametrize('where', [
    VERIFY_TRIP_BYTES + VERIFY_READ_BYTES + 3,   # second trip, second read
    2 * VERIFY_TRIP_BYTES + VERIFY_READ_BYTES + 5,   # the last partial read
])
def test_corrupt_byte_in_a_later_trip_is_caught(server, devices,
                                                sendfile_calls, where):
    server_put(server, MANY_TRIPS_BODY)
    with open(data_path(devices), 'r+b') as data:
        data.seek(where)
        data.write(bytes([MANY_TRIPS_BODY[where] ^ 0xff]))
    length, got = read_cut_short(server.host, server.port)
    assert length == len(MANY_TRIPS_BODY)
    assert got == len(MANY_TRIPS_BODY) - CHUNK
    assert glob.glob(os.path.join(devices, 'sda', 'quarantined', 'objects',
                                  '*', '*.data'))


def test_short_file_is_quarantined_before_any_span(server, devices,
                                                   sendfile_calls):
    # Opening checks the size against the metadata: sendfile never meets
    # a file shorter than its Content-Length.
    server_put(server, BODY)
    os.truncate(data_path(devices), len(BODY) - 1000)
    assert server.request('GET', opath())[0] == 404
    assert glob.glob(os.path.join(devices, 'sda', 'quarantined', 'objects',
                                  '*', '*.data'))
    assert sendfile_calls == []


def open_fds(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


def test_client_gone_mid_sendfile_leaves_nothing_open(tmp_path):
    server = ServerProcess(tmp_path)
    server.start()
    try:
        body = os.urandom(48 * 1024 * 1024)
        assert server.request('PUT', opath(), {
            'X-Timestamp': Timestamp.now().internal,
            'Content-Type': 'application/octet-stream'}, body)[0] == 201
        assert server.request('GET', opath()) == (200, body)
        baseline = open_fds(server.proc.pid)
        for _ in range(3):
            client = socket.create_connection(('127.0.0.1', server.port), 10)
            # A small receive buffer: the server is mid-body, waiting for
            # room on the socket, when the client goes.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            client.sendall(('GET %s HTTP/1.1\r\nHost: x\r\n\r\n'
                            % opath()).encode())
            assert client.recv(65536).startswith(b'HTTP/1.1 200')
            client.close()
        assert wait_for(lambda: open_fds(server.proc.pid) <= baseline), \
            'the data file or socket of an abandoned GET stayed open'
        assert server.request('GET', opath()) == (200, body)
    finally:
        server.kill()
