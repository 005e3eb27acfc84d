"""formpost in front of a small storage stand-in: it answers the info
lookups with the keys a test sets and, for a PUT, asks ``swift.authorize``
as the proxy does, then reads the body the way the proxy does (chunks until
EOF; a ValueError is a failed client read, 499) and keeps it."""

import base64
import hashlib
import hmac
import io

import pytest

from objstore.common.access import AUTHORIZE_KEY
from objstore.common.exceptions import ConfigError
from objstore.common.http import Request
from objstore.common.info import INFO_LOOKUP_KEY
from objstore.common.subrequest import CAPABILITIES_KEY
from objstore.middleware import formpost
from tests.helpers import SAMPLE_DIR, assert_sample_matches, make_logger

NOW = 1700000000
LATER = NOW + 600
KEY = 'account-secret'
CONTAINER_KEY = 'container-secret'
PATH = '/v1/AUTH_test/c/up/'
BOUNDARY = 'XyZboundary'


class Storage:
    def __init__(self, account_meta=None, container_meta=None):
        self.meta = {'/v1/AUTH_test': ('Account', account_meta or {}),
                     '/v1/AUTH_test/c': ('Container', container_meta or {})}
        self.stored = {}
        self.puts = []
        self.on_first_chunk = None

    def __call__(self, environ, start_response):
        req = Request(environ)
        if environ.get(INFO_LOOKUP_KEY):
            level, meta = self.meta.get(req.path_info, ('Account', {}))
            start_response('204 No Content', [
                ('X-%s-Meta-%s' % (level, name), value)
                for name, value in meta.items()])
            return [b'']
        if req.method != 'PUT':
            start_response('200 OK', [('Content-Length', '2')])
            return [b'ok']
        self.puts.append(environ)
        denied = environ[AUTHORIZE_KEY](req)
        if denied is not None:
            return denied(environ, start_response)
        data = b''
        try:
            while True:
                chunk = environ['wsgi.input'].read(65536)
                if not chunk:
                    break
                if not data and self.on_first_chunk:
                    self.on_first_chunk()
                data += chunk
        except ValueError:
            start_response('499 Client Disconnect', [('Content-Length', '0')])
            return [b'']
        self.stored[req.path_info] = data
        start_response('201 Created', [
            ('Content-Length', '0'), ('Etag', hashlib.md5(data).hexdigest()),
            ('Access-Control-Expose-Headers', 'etag')])
        return [b'']


def sign(key, path=PATH, redirect='', max_size=1024, max_count=5,
         expires=LATER, algo='sha256'):
    message = '%s\n%s\n%s\n%s\n%s' % (path, redirect, max_size, max_count,
                                      expires)
    return hmac.new(key.encode(), message.encode(), getattr(hashlib, algo))


def form(files, key=KEY, path=PATH, redirect='', max_size=1024, max_count=5,
         expires=LATER, signature=None, extra=(), after=()):
    """The body of a form: attributes, ``extra`` fields, the files, then
    ``after`` fields."""
    if signature is None:
        signature = sign(key, path, redirect, max_size, max_count,
                         expires).hexdigest()
    fields = [('redirect', redirect), ('max_file_size', str(max_size)),
              ('max_file_count', str(max_count)), ('expires', str(expires)),
              ('signature', signature)] + list(extra)
    chunks = []
    for name, value in fields:
        chunks.append('--%s\r\nContent-Disposition: form-data; name="%s"'
                      '\r\n\r\n%s\r\n' % (BOUNDARY, name, value))
    body = ''.join(chunks).encode()
    for name, content, content_type in files:
        body += ('--%s\r\nContent-Disposition: form-data; name="file"; '
                 'filename="%s"\r\n' % (BOUNDARY, name)).encode()
        if content_type:
            body += ('Content-Type: %s\r\n' % content_type).encode()
        body += b'\r\n' + content + b'\r\n'
    for name, value in after:
        body += ('--%s\r\nContent-Disposition: form-data; name="%s"'
                 '\r\n\r\n%s\r\n' % (BOUNDARY, name, value)).encode()
    return body + ('--%s--\r\n' % BOUNDARY).encode()


def post(storage, body, path=PATH, conf=None, content_type=None,
         wsgi_input=None):
    app = formpost.FormPost(storage, conf or {}, logger=make_logger('fp'),
                            clock=lambda: NOW)
    req = Request.blank(path, method='POST')
    req.environ['CONTENT_TYPE'] = content_type or \
        'multipart/form-data; boundary=%s' % BOUNDARY
    req.environ['wsgi.input'] = wsgi_input or io.BytesIO(body)
    req.environ['CONTENT_LENGTH'] = str(len(body))
    req.environ['REMOTE_USER'] = 'someone'
    return req.get_response(app)


@pytest.fixture
def storage():
    return Storage(account_meta={'Temp-URL-Key': KEY},
                   container_meta={'Temp-URL-Key': CONTAINER_KEY})


def test_upload_without_redirect(storage):
    resp = post(storage, form([('a.txt', b'alpha', 'text/plain'),
                               ('b.bin', b'\x00beta', None)]))
    assert resp.status_int == 201
    assert resp.body == b'201 Created'
    assert resp.headers['Content-Type'] == 'text/plain'
    assert resp.headers['Access-Control-Expose-Headers'] == 'etag'
    assert storage.stored == {'/v1/AUTH_test/c/up/a.txt': b'alpha',
                              '/v1/AUTH_test/c/up/b.bin': b'\x00beta'}
    first, second = storage.puts
    assert first['CONTENT_TYPE'] == 'text/plain'
    assert 'REMOTE_USER' not in first
    assert first['HTTP_USER_AGENT'].endswith('FormPost')
    assert 'CONTENT_TYPE' not in second  # the proxy will guess it


def test_upload_with_redirect(storage):
    redirect = 'https://example.com/done?x=1'
    resp = post(storage, form([('a.txt', b'alpha', None)],
                              redirect=redirect))
    assert resp.status_int == 303
    location = redirect + '&status=201&message='
    assert resp.headers['Location'] == location
    assert resp.body == ('<html><body><p><a href="%s">Click to continue...'
                         '</a></p></body></html>' % location).encode()


def test_bare_container_path_gets_a_slash(storage):
    path = '/v1/AUTH_test/c'
    resp = post(storage, form([('f', b'x', None)], path=path), path=path)
    assert resp.status_int == 201
    assert list(storage.stored) == ['/v1/AUTH_test/c/f']


@pytest.mark.parametrize('kwargs, message', [
    ({'key': 'wrong'}, b'FormPost: Invalid Signature'),
    ({'signature': 'nothex'}, b'FormPost: Invalid Signature'),
    ({'signature': 'md5:AAAA'}, b'FormPost: Invalid Signature'),
    ({'expires': NOW - 1}, b'FormPost: Form Expired'),
])
def test_signature_failures_are_401(storage, kwargs, message):
    resp = post(storage, form([('a.txt', b'alpha', None)], **kwargs))
    assert resp.status_int == 401
    assert resp.body == message
    assert resp.headers['Www-Authenticate'] == 'Swift realm="unknown"'
    assert storage.stored == {}


def test_signature_covers_path_and_limits(storage):
    body = form([('a.txt', b'alpha', None)], path='/v1/AUTH_test/c/other/')
    assert post(storage, body).status_int == 401
    forged = form([('a.txt', b'x' * 10, None)], max_size=1024,
                  signature=sign(KEY, max_size=5).hexdigest())
    assert post(storage, forged).status_int == 401
    assert storage.stored == {}


def test_no_keys_and_non_container_paths(storage):
    assert post(Storage(), form([('a', b'x', None)])).status_int == 401
    resp = post(storage, form([('a', b'x', None)], path='/v1/AUTH_test'),
                path='/v1/AUTH_test')
    assert resp.status_int == 401


def test_max_file_size_stores_nothing(storage):
    resp = post(storage, form([('big', b'x' * 2000, None)], max_size=1000))
    assert resp.status_int == 400
    assert resp.body == b'FormPost: max_file_size exceeded'
    assert storage.stored == {} and len(storage.puts) == 1


def test_max_file_count(storage):
    files = [('a', b'1', None), ('b', b'2', None)]
    resp = post(storage, form(files, max_count=1))
    assert resp.status_int == 400
    assert resp.body == b'400 Bad Request\r\nFormPost: Max File Count Exceeded'
    assert list(storage.stored) == ['/v1/AUTH_test/c/up/a']
    redirect = 'http://x/'
    resp = post(storage, form(files, max_count=1, redirect=redirect))
    assert resp.headers['Location'] == \
        'http://x/?status=400&message=max%20file%20count%20exceeded'


def test_no_files(storage):
    resp = post(storage, form([]))
    assert resp.status_int == 400
    assert resp.body == b'400 Bad Request\r\nFormPost: No Files To Process'


@pytest.mark.parametrize('field, value, message', [
    ('x_delete_at', 'soon',
     b'FormPost: x_delete_at not an integer: Unix timestamp required.'),
    ('x_delete_after', '1.5',
     b'FormPost: x_delete_after not an integer: Number of seconds required.'),
    ('x_delete_at', '',
     b'FormPost: x_delete_at not an integer: Unix timestamp required.'),
])
def test_bad_attributes_are_400(storage, field, value, message):
    resp = post(storage, form([('a', b'x', None)], extra=[(field, value)]))
    assert (resp.status_int, resp.body) == (400, message)


def test_bad_limits_are_400(storage):
    body = form([('a', b'x', None)]).replace(
        b'\r\n\r\n1024\r\n', b'\r\n\r\nlots\r\n')
    resp = post(storage, body)
    assert (resp.status_int, resp.body) == (
        400, b'FormPost: max_file_size not an integer')


def test_delete_and_type_attributes_reach_the_put(storage):
    resp = post(storage, form([('a', b'x', 'image/png')], extra=[
        ('x_delete_after', '60'), ('x_delete_at', str(NOW + 99)),
        ('content-type', 'text/html'), ('content-encoding', 'gzip')]))
    assert resp.status_int == 201
    put = storage.puts[0]
    assert put['HTTP_X_DELETE_AFTER'] == '60'
    assert put['HTTP_X_DELETE_AT'] == str(NOW + 99)
    assert put['CONTENT_TYPE'] == 'text/html'
    assert put['HTTP_CONTENT_ENCODING'] == 'gzip'


def test_fields_after_a_file_apply_to_later_files_only(storage):
    resp = post(storage, form([('a', b'x', None)],
                              after=[('content-type', 'text/csv')]))
    assert resp.status_int == 201
    assert 'CONTENT_TYPE' not in storage.puts[0]


@pytest.mark.parametrize('content_type, body', [
    ('multipart/form-data; boundary=%s' % BOUNDARY, b'garbage'),
    ('multipart/form-data; boundary=%s' % BOUNDARY, b'--other\r\n\r\n'),
    ('multipart/form-data; boundary="a\nb"', b'--a\nb\r\n'),
])
def test_invalid_starting_boundary(storage, content_type, body):
    resp = post(storage, body, content_type=content_type)
    assert (resp.status_int, resp.body) == (
        400, b'FormPost: invalid starting boundary')


def test_cut_short_form_stores_nothing(storage):
    body = form([('a', b'x' * 500, None)])
    cut = body[:body.index(b'x' * 500) + 100]
    resp = post(storage, cut)
    assert resp.status_int == 400
    assert storage.stored == {}


def test_digests_and_scopes(storage):
    mac = sign(KEY, algo='sha512')
    b64 = 'sha512:' + base64.urlsafe_b64encode(mac.digest()).decode()
    assert post(storage, form([('a', b'x', None)],
                              signature=b64)).status_int == 201
    sha1 = sign(KEY, algo='sha1').hexdigest()
    assert post(storage, form([('a', b'x', None)],
                              signature=sha1)).status_int == 201
    assert post(storage, form([('a', b'x', None)], signature=sha1),
                conf={'allowed_digests': 'sha256 sha512'}).status_int == 401
    authorize = storage.puts[0][AUTHORIZE_KEY]
    assert authorize(Request.blank('/v1/AUTH_test/c2/x')) is None
    assert authorize(Request.blank('/v1/AUTH_other/c/x')).status_int == 401

    storage.puts.clear()
    post(storage, form([('a', b'x', None)], key=CONTAINER_KEY))
    authorize = storage.puts[0][AUTHORIZE_KEY]
    assert authorize(Request.blank('/v1/AUTH_test/c/x')) is None
    assert authorize(Request.blank('/v1/AUTH_test/c2/x')).status_int == 401


class CountingInput(io.BytesIO):
    """wsgi.input that tells how much of it was read so far."""

    def __init__(self, data):
        super().__init__(data)
        self.consumed = 0

    def read(self, size=-1):
        data = super().read(size)
        self.consumed += len(data)
        return data


def test_files_are_streamed(storage):
    size = 4 * 1024 * 1024
    body = form([('big', b'z' * size, None)], max_size=size)
    wsgi_input = CountingInput(body)
    seen = []
    storage.on_first_chunk = lambda: seen.append(wsgi_input.consumed)
    resp = post(storage, body, wsgi_input=wsgi_input)
    assert resp.status_int == 201
    assert len(storage.stored['/v1/AUTH_test/c/up/big']) == size
    # The PUT had its first bytes after a few reads of the form, not all.
    assert seen and seen[0] <= 4 * formpost.READ_CHUNK_SIZE < size


def test_other_requests_pass_through(storage):
    resp = post(storage, b'a=b', content_type='application/x-www-form-'
                'urlencoded')
    assert resp.body == b'ok'


def test_info_and_config(storage):
    app = formpost.FormPost(storage, {'allowed_digests': 'sha256'})
    req = Request.blank('/info')
    req.get_response(app)
    assert req.environ[CAPABILITIES_KEY]['formpost'] == {
        'allowed_digests': ['sha256']}
    with pytest.raises(ConfigError):
        formpost.filter_factory({}, allowed_digests='md5')
    assert_sample_matches(formpost.FormPostConf,
                          SAMPLE_DIR + '/proxy-server.conf-sample',
                          'filter:formpost', ignore=('use',))
