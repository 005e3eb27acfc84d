"""bulk in front of a stand-in store (an in-memory account that answers
container/object HEAD, PUT and DELETE the way the proxy does): extract
archives of each kind, bulk deletes, the report's three formats, limits,
heartbeats, and that an archive streams through without being held."""

import http.client
import io
import json
import tarfile
import time

import pytest

from objstore.common import green
from objstore.common.http import Request, Response
from objstore.common.wsgi import serve_in_thread
from objstore.middleware.bulk import Bulk, BulkConf, Heartbeat
from tests.helpers import FakeClock, assert_sample_matches

READ_SIZE = 65536


class FakeStore:
    """/v1/AUTH_a/<container>[/<object>] in dicts; ``fail`` maps a path to
    the status its writes answer; records the largest body read asked."""

    def __init__(self, containers=(), fail=None):
        self.containers = {name: {} for name in containers}
        self.fail = fail or {}
        self.requests = []
        self.metadata = {}

    def __call__(self, environ, start_response):
        req = Request(environ)
        path = req.path_info
        self.requests.append((req.method, path))
        _, _v, _a, container, *rest = path.split('/', 4)
        obj = rest[0] if rest else None
        status = self.fail.get(path) or self.handle(req, container, obj)
        return Response(status=status)(environ, start_response)

    def handle(self, req, container, obj):
        objects = self.containers.get(container)
        if req.method in ('HEAD', 'GET'):
            return 200 if objects is not None else 404
        if obj is None:
            return self.container_write(req.method, container, objects)
        if objects is None:
            return 404
        if req.method == 'DELETE':
            return 204 if objects.pop(obj, None) is not None else 404
        objects[obj] = self.read_body(req)
        self.metadata[(container, obj)] = dict(req.headers)
        return 201

    def container_write(self, method, container, objects):
        if method == 'PUT':
            self.containers.setdefault(container, {})
            return 201
        if objects is None:
            return 404
        if objects:
            return 409
        del self.containers[container]
        return 204

    @staticmethod
    def read_body(req):
        left = req.content_length or 0
        data = b''
        while left:
            chunk = req.environ['wsgi.input'].read(min(left, READ_SIZE))
            if not chunk:
                break
            data += chunk
            left -= len(chunk)
        return data


def make_tar(members, mode='w', pax=None):
    """An archive of {name: bytes}; ``pax`` gives a member pax headers."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode,
                      format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.pax_headers = (pax or {}).get(name, {})
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def send(app, method, path, body=b'', **headers):
    req = Request.blank(path, method=method, headers=headers)
    req.body = body
    resp = req.get_response(app)
    return resp, resp.body


def text_report(body):
    """{key: value} of a text report, and its error lines."""
    head, _, errors = body.decode().strip().partition('Errors:')
    fields = dict(line.split(': ', 1) for line in head.strip().splitlines())
    return fields, [e for e in errors.strip().splitlines() if e]


@pytest.mark.parametrize('kind,mode', [('tar', 'w'), ('tar.gz', 'w:gz'),
                                       ('tar.bz2', 'w:bz2')])
def test_extract_each_archive_kind_creates_containers(kind, mode):
    store = FakeStore()
    archive = make_tar({'c1/a.txt': b'aaa', 'c2/d/b.txt': b'bb',
                        'top.txt': b'ignored'}, mode)
    resp, body = send(Bulk(store, {}), 'PUT',
                      '/v1/AUTH_a?extract-archive=' + kind, archive)
    assert resp.status_int == 200
    fields, errors = text_report(body)
    assert fields['Number Files Created'] == '2'
    assert fields['Response Status'] == '201 Created'
    assert errors == []
    assert store.containers == {'c1': {'a.txt': b'aaa'},
                                'c2': {'d/b.txt': b'bb'}}


def test_extract_below_a_path_and_pax_metadata():
    store = FakeStore(containers=['base'])
    archive = make_tar({'./x/y': b'1', 'z': b'2'}, pax={'z': {
        'SCHILY.xattr.user.mime_type': 'text/x-thing',
        'SCHILY.xattr.user.meta.color': 'red'}})
    resp, body = send(Bulk(store, {}), 'PUT',
                      '/v1/AUTH_a/base/pre/?extract-archive=tar', archive,
                      **{'X-Object-Meta-Batch': '7',
                         'Accept': 'application/json'})
    report = json.loads(body)
    assert resp.content_type == 'application/json'
    assert report['Number Files Created'] == 2
    assert store.containers['base'] == {'pre/x/y': b'1', 'pre/z': b'2'}
    headers = store.metadata[('base', 'pre/z')]
    assert headers['Content-Type'] == 'text/x-thing'
    assert headers['X-Object-Meta-Color'] == 'red'
    assert headers['X-Object-Meta-Batch'] == '7'


def test_extract_reports_per_file_errors_in_xml():
    store = FakeStore(fail={'/v1/AUTH_a/c/bad': 413,
                            '/v1/AUTH_a/d/o': 503})
    archive = make_tar({'c/ok': b'1', 'c/bad': b'2', 'd/o': b'3'})
    _resp, body = send(Bulk(store, {}), 'PUT',
                       '/v1/AUTH_a?extract-archive=tar', archive,
                       Accept='application/xml')
    assert body.startswith(b'<extract>\n')
    assert b'<number_files_created>1</number_files_created>' in body
    assert b'<response_status>502 Bad Gateway</response_status>' in body
    assert (b'<object><name>c/bad</name><status>413 Request Entity Too '
            b'Large</status></object>') in body
    assert b'<object><name>d/o</name><status>503 Service Unavailable' in body


def test_extract_bad_input():
    app = Bulk(FakeStore(), {})
    resp, body = send(app, 'PUT', '/v1/AUTH_a?extract-archive=zip', b'x')
    assert (resp.status_int, body) == (400, b'Unsupported archive format')
    _resp, body = send(app, 'PUT', '/v1/AUTH_a?extract-archive=tar.gz',
                       b'not a tarball at all' * 30)
    fields, _errors = text_report(body)
    assert fields['Response Status'] == '400 Bad Request'
    assert fields['Response Body'].startswith('Invalid Tar File')
    _resp, body = send(app, 'PUT', '/v1/AUTH_a?extract-archive=tar',
                       make_tar({'top-only': b'x'}))
    fields, _errors = text_report(body)
    assert fields['Response Body'] == 'Invalid Tar File: No Valid Files'
    _resp, body = send(app, 'PUT', '/v1/AUTH_a?extract-archive=tar',
                       make_tar({'c/o': b'x'}), Accept='image/png')
    assert text_report(body)[0]['Response Status'] == '406 Not Acceptable'


def test_extract_container_limit_and_failure_limit():
    store = FakeStore()
    archive = make_tar({'c%d/o' % i: b'x' for i in range(4)})
    _resp, body = send(Bulk(store, {'max_containers_per_extraction': '2'}),
                       'PUT', '/v1/AUTH_a?extract-archive=tar', archive)
    fields, _errors = text_report(body)
    assert fields['Response Body'] == \
        'More than 2 containers to create from tar.'
    assert len(store.containers) == 3
    store = FakeStore(containers=['c'], fail={
        '/v1/AUTH_a/c/o%d' % i: 403 for i in range(5)})
    archive = make_tar({'c/o%d' % i: b'x' for i in range(5)})
    _resp, body = send(Bulk(store, {'max_failed_extractions': '2'}),
                       'PUT', '/v1/AUTH_a?extract-archive=tar', archive)
    assert len(text_report(body)[1]) == 2


class CountingInput(io.RawIOBase):
    """A request body made on the fly, that records its largest read."""

    def __init__(self, data_chunks):
        self.chunks = iter(data_chunks)
        self.buffer = b''
        self.largest_read = 0

    def read(self, size=-1):
        self.largest_read = max(self.largest_read, size)
        while size < 0 or len(self.buffer) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.buffer += chunk
        size = len(self.buffer) if size < 0 else size
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


def streamed_tar(count, size):
    """Chunks of an archive of ``count`` members of ``size`` bytes each,
    produced one block at a time."""
    for index in range(count):
        info = tarfile.TarInfo('c/o%d' % index)
        info.size = size
        yield info.tobuf(format=tarfile.USTAR_FORMAT)
        for _ in range(size // 65536):
            yield b'z' * 65536
    yield b'\0' * 1024


def test_extract_streams_the_archive():
    size = 4 * 1024 * 1024
    store = FakeStore()
    source = CountingInput(streamed_tar(3, size))
    req = Request.blank('/v1/AUTH_a?extract-archive=tar', method='PUT',
                        environ={'wsgi.input': source},
                        headers={'Transfer-Encoding': 'chunked'})
    resp = req.get_response(Bulk(store, {}))
    assert text_report(resp.body)[0]['Number Files Created'] == '3'
    assert [len(store.containers['c']['o%d' % i]) for i in range(3)] == \
        [size] * 3
    assert 0 < source.largest_read <= READ_SIZE


def test_extract_without_length_is_411():
    req = Request.blank('/v1/AUTH_a?extract-archive=tar', method='PUT')
    assert 'Content-Length' not in req.headers
    body = req.get_response(Bulk(FakeStore(), {})).body
    assert text_report(body)[0]['Response Status'] == '411 Length Required'


def test_bulk_delete_objects_then_containers():
    store = FakeStore(containers=['c', 'full'])
    store.containers['c'].update({'a b': b'1', 'x': b'2'})
    store.containers['full']['keep'] = b'3'
    names = b'c\nc/a%20b\n/c/x\nc/missing\nfull\n'
    for method in ('POST', 'DELETE'):
        resp, body = send(Bulk(store, {}), method, '/v1/AUTH_a?bulk-delete',
                          names, Accept='application/json')
        report = json.loads(body)
        if method == 'POST':
            assert report['Number Deleted'] == 3
            assert report['Number Not Found'] == 1
            assert report['Errors'] == [['full', '409 Conflict']]
            assert report['Response Status'] == '400 Bad Request'
    assert set(store.containers) == {'full'}
    deletes = [path for method, path in store.requests if method == 'DELETE']
    assert deletes.index('/v1/AUTH_a/c') > deletes.index('/v1/AUTH_a/c/x')


def test_bulk_delete_limits_and_bad_input():
    app = Bulk(FakeStore(), {'max_deletes_per_request': '2'})
    _resp, body = send(app, 'DELETE', '/v1/AUTH_a?bulk-delete',
                       b'c/1\nc/2\nc/3\n')
    fields, _errors = text_report(body)
    assert fields['Response Status'] == '413 Request Entity Too Large'
    assert fields['Response Body'] == 'Maximum Bulk Deletes: 2 per request'
    _resp, body = send(app, 'DELETE', '/v1/AUTH_a?bulk-delete', b'\n\n')
    assert text_report(body)[0]['Response Body'] == 'Invalid bulk delete.'
    _resp, body = send(app, 'DELETE', '/v1/AUTH_a?bulk-delete', b'c/o',
                       **{'Content-Type': 'application/json'})
    assert text_report(body)[0]['Response Status'] == '406 Not Acceptable'
    _resp, body = send(app, 'DELETE', '/v1/AUTH_a?bulk-delete',
                       b'x' * 5000)
    assert text_report(body)[0]['Response Body'] == 'Invalid File Name'
    _resp, body = send(app, 'DELETE', '/v1/AUTH_a?bulk-delete',
                       b'c/%FF%FE')
    assert text_report(body)[1] == ['c/%FF%FE, 412 Precondition Failed']


def test_other_requests_pass_through():
    store = FakeStore(containers=['c'])
    resp, _body = send(Bulk(store, {}), 'PUT', '/v1/AUTH_a/c/o', b'data')
    assert resp.status_int == 201
    resp, _body = send(Bulk(store, {}), 'GET', '/v1/AUTH_a/c?bulk-delete')
    assert store.requests[-1] == ('GET', '/v1/AUTH_a/c')


def test_heartbeat_spaces_then_report_after_blank_line():
    clock = FakeClock()
    heartbeat = Heartbeat('application/xml', 10, clock)
    assert heartbeat.beat() == b'' and heartbeat.separator == b''
    clock.sleep(11)
    assert heartbeat.beat() == b'<?xml version="1.0" encoding="UTF-8"?>\n'
    clock.sleep(11)
    assert heartbeat.beat() == b' '
    assert heartbeat.separator == b'\r\n\r\n'


def test_slow_delete_sends_heartbeats():
    clock = FakeClock()

    class SlowStore(FakeStore):
        def handle(self, req, container, obj):
            clock.sleep(6)
            return super().handle(req, container, obj)
    store = SlowStore(containers=['c'])
    store.containers['c'].update({'o%d' % i: b'' for i in range(4)})
    app = Bulk(store, {'yield_frequency': '5'}, clock=clock)
    _resp, body = send(app, 'DELETE', '/v1/AUTH_a?bulk-delete',
                       b'c/o0\nc/o1\nc/o2\nc/o3\n')
    assert body.startswith(b' ')
    assert b' \r\n\r\nNumber Deleted: 4\n' in body


def test_sample_config_lists_every_option():
    assert_sample_matches(BulkConf, 'etc/proxy-server.conf-sample',
                          'filter:bulk', ignore=('use',))


def test_query_not_utf8_passes_through():
    store = FakeStore(containers=['c'])
    resp, _body = send(Bulk(store, {}), 'GET', '/v1/AUTH_a/c?prefix=%ED%A0')
    assert resp.status_int == 200
    resp, body = send(Bulk(store, {}), 'DELETE',
                      '/v1/AUTH_a?bulk-delete&x=%ED%A0', b'c')
    assert text_report(body)[0]['Number Deleted'] == '1'


def test_heartbeats_reach_the_client_while_the_job_runs():
    """Through the real WSGI server: the first beat is on the wire long
    before the report (the server's write buffering is off for it)."""

    class SlowStore(FakeStore):
        def handle(self, req, container, obj):
            green.sleep(0.4)
            return super().handle(req, container, obj)
    store = SlowStore(containers=['c'])
    store.containers['c'].update({'o%d' % i: b'' for i in range(4)})
    server = serve_in_thread(Bulk(store, {'yield_frequency': '0.3',
                                          'delete_concurrency': '1'}))
    conn = http.client.HTTPConnection('127.0.0.1', server.port, timeout=10)
    try:
        started = time.monotonic()
        conn.request('DELETE', '/v1/AUTH_a?bulk-delete',
                     body=b'c/o0\nc/o1\nc/o2\nc/o3\n')
        resp = conn.getresponse()
        first = resp.read(1)
        first_at = time.monotonic() - started
        rest = resp.read()
        done_at = time.monotonic() - started
    finally:
        conn.close()
        server.stop()
    assert first == b' '
    assert first_at < 1.0 < 1.6 <= done_at
    assert b'\r\n\r\nNumber Deleted: 4\n' in rest
