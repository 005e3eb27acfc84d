"""The symlink middleware around an in-memory object store (the edge of
the unit: the real proxy is exercised by tests/functional/test_symlink.py):
what it stores on PUT, how GET/HEAD walk links, POST's 307, and the
listing rewrite."""

import doctest
import io
import hashlib
import json

from objstore.common.http import Request
from objstore.middleware import symlink
from objstore.middleware.symlink import filter_factory, header_environ

EMPTY = hashlib.md5(b'').hexdigest()


def test_doctests():
    assert doctest.testmod(symlink).failed == 0


class MemoryStore:
    """Objects by path: PUT keeps headers and body, GET/HEAD answer them
    (404 when absent), POST answers 202 with the object's sysmeta, and a
    container GET lists the objects as JSON with their etag override."""

    def __init__(self):
        self.objects = {}
        self.requests = []

    def __call__(self, environ, start_response):
        req = Request(environ)
        self.requests.append((req.method, req.path_info, req.query_string))
        if req.path_info.count('/') == 3:
            return self.listing(req, start_response)
        stored = self.objects.get(req.path_info)
        if req.method == 'PUT':
            body = req.body
            headers = {k: v for k, v in req.headers.items()
                       if k.lower().startswith(('x-object-', 'content-type'))}
            headers['Etag'] = hashlib.md5(body).hexdigest()
            self.objects[req.path_info] = (headers, body)
            start_response('201 Created', [('Content-Length', '0')])
            return [b'']
        if stored is None:
            start_response('404 Not Found', [('Content-Length', '0')])
            return [b'']
        headers, body = stored
        if req.method == 'POST':
            sysmeta = [(k, v) for k, v in headers.items()
                       if k.lower().startswith('x-object-sysmeta-')]
            start_response('202 Accepted', sysmeta + [('Content-Length',
                                                       '0')])
            return [b'']
        start_response('200 OK', list(headers.items()) + [
            ('Content-Length', str(len(body)))])
        return [b''] if req.method == 'HEAD' else [body]

    def listing(self, req, start_response):
        entries = []
        for path, (headers, body) in sorted(self.objects.items()):
            etag = headers.get(symlink.ETAG_OVERRIDE, headers['Etag'])
            entries.append({'bytes': len(body), 'hash': etag,
                            'name': path.split('/', 4)[4]})
        body = json.dumps(entries).encode()
        start_response('200 OK', [('Content-Type', 'application/json'),
                                  ('Content-Length', str(len(body)))])
        return [body]


def make(conf=None):
    store = MemoryStore()
    return store, filter_factory({}, **(conf or {}))(store)


def call(app, method, path, headers=None, body=b'', query=''):
    req = Request.blank(path + query, method=method, headers=headers or {})
    req.body = body
    return req.get_response(app)


def link(app, name, target, **extra):
    headers = dict({'X-Symlink-Target': target}, **extra)
    return call(app, 'PUT', '/v1/a/c/' + name, headers)


def test_put_stores_target_as_sysmeta_and_listing_etag():
    store, app = make()
    assert link(app, 'l', 'c2/o', **{
        'X-Symlink-Target-Account': 'b'}).status_int == 201
    headers, body = store.objects['/v1/a/c/l']
    assert body == b''
    assert headers['X-Object-Sysmeta-Symlink-Target'] == 'c2/o'
    assert headers['X-Object-Sysmeta-Symlink-Target-Account'] == 'b'
    assert headers[symlink.ETAG_OVERRIDE] == (
        EMPTY + '; symlink_target=c2/o; symlink_target_account=b')
    assert headers['Content-Type'] == 'application/symlink'
    assert 'X-Symlink-Target' not in headers


def test_get_follows_chain_within_limit():
    store, app = make({'symloop_max': '3'})
    call(app, 'PUT', '/v1/a/c/data', body=b'hello')
    link(app, 'l1', 'c/data')
    link(app, 'l2', 'c/l1')
    link(app, 'l3', 'c/l2')
    resp = call(app, 'GET', '/v1/a/c/l3')
    assert (resp.status_int, resp.body) == (200, b'hello')
    assert resp.headers['Content-Location'] == '/v1/a/c/data'
    link(app, 'l4', 'c/l3')
    resp = call(app, 'GET', '/v1/a/c/l4')
    assert resp.status_int == 409
    assert resp.body == (b'Too many levels of symbolic links, maximum '
                         b'allowed is 3')


def test_symloop_extend_hops_do_not_count():
    store, app = make()
    call(app, 'PUT', '/v1/a/c/data', body=b'x')
    link(app, 'l1', 'c/data')
    link(app, 'l2', 'c/l1')
    link(app, 'l3', 'c/l2')
    store.objects['/v1/a/c/l3'][0][symlink.SYSMETA_SYMLOOP_EXTEND] = 'true'
    assert call(app, 'GET', '/v1/a/c/l3').body == b'x'


def test_symlink_get_passes_query_and_shows_headers():
    store, app = make()
    link(app, 'l', 'c/t')
    resp = call(app, 'HEAD', '/v1/a/c/l', query='?symlink=get')
    assert resp.status_int == 200
    assert resp.headers['X-Symlink-Target'] == 'c/t'
    assert 'Content-Location' not in resp.headers


def test_static_link_records_target_and_checks_it_on_read():
    store, app = make()
    call(app, 'PUT', '/v1/a/c/t', body=b'abc',
         headers={'Content-Type': 'text/x-t'})
    etag = hashlib.md5(b'abc').hexdigest()
    assert link(app, 's', 'c/t', **{
        'X-Symlink-Target-Etag': etag}).status_int == 201
    headers = store.objects['/v1/a/c/s'][0]
    assert headers[symlink.SYSMETA_TARGET_ETAG] == etag
    assert headers[symlink.SYSMETA_TARGET_BYTES] == '3'
    assert headers['Content-Type'] == 'text/x-t'
    assert headers[symlink.ETAG_OVERRIDE].endswith(
        'symlink_target_etag=%s; symlink_target_bytes=3' % etag)
    call(app, 'PUT', '/v1/a/c/t', body=b'changed')
    resp = call(app, 'GET', '/v1/a/c/s')
    assert resp.status_int == 409
    assert resp.headers['Content-Location'] == '/v1/a/c/t'


def test_static_link_to_dynamic_link_pins_the_link_object():
    store, app = make()
    link(app, 'dyn', 'c/nothing')
    assert link(app, 's', 'c/dyn', **{
        'X-Symlink-Target-Etag': EMPTY}).status_int == 201


def test_static_link_to_missing_target_is_409():
    store, app = make()
    resp = link(app, 's', 'c/gone', **{'X-Symlink-Target-Etag': 'e'})
    assert (resp.status_int, resp.body) == (
        409, b'X-Symlink-Target does not exist')
    assert '/v1/a/c/s' not in store.objects


def test_chunked_put_with_body_is_refused():
    store, app = make()
    req = Request.blank('/v1/a/c/l', method='PUT',
                        headers={'X-Symlink-Target': 'c/t',
                                 'Transfer-Encoding': 'chunked'})
    req.body_file = io.BytesIO(b'data')
    req.content_length = None
    resp = req.get_response(app)
    assert (resp.status_int, resp.body) == (
        400, b'Symlink requests require a zero byte body')


def test_post_to_symlink_is_relative_307():
    store, app = make()
    link(app, 'l', 'c/t')
    statuses = []

    def start_response(status, headers):
        statuses.append((status, dict(headers)))

    env = Request.blank('/v1/a/c/l', method='POST').environ
    body = b''.join(app(env, start_response))
    status, headers = statuses[0]
    assert status.startswith('307')
    assert headers['Location'] == '/v1/a/c/t'
    assert body.startswith(b'The requested POST was applied to a symlink.')


def test_json_listing_gets_symlink_fields():
    store, app = make()
    call(app, 'PUT', '/v1/a/c/plain', body=b'x')
    link(app, 'l', 'c2/o%20x')
    resp = call(app, 'GET', '/v1/a/c', query='?format=json')
    entries = {e['name']: e for e in json.loads(resp.body)}
    assert entries['l']['symlink_path'] == '/v1/a/c2/o%20x'
    assert entries['l']['hash'] == EMPTY
    assert 'symlink_path' not in entries['plain']


def test_capability_on_info():
    store, app = make({'symloop_max': '0'})
    env = Request.blank('/info').environ
    app(env, lambda *a: None)
    assert env['objstore.capabilities']['symlink'] == {
        'symloop_max': 2, 'static_links': True}


def test_header_environ_keeps_only_the_headers_in_environ_form():
    """What a link's target request repeats, taken before the walk (the
    names are made only when a link is followed)."""
    environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/v1/a/c/o',
               'HTTP_X_AUTH_TOKEN': 't', 'HTTP_RANGE': 'bytes=0-1',
               'CONTENT_TYPE': 'text/plain', 'wsgi.input': None}
    assert header_environ(environ) == {
        'HTTP_X_AUTH_TOKEN': 't', 'HTTP_RANGE': 'bytes=0-1',
        'CONTENT_TYPE': 'text/plain'}
