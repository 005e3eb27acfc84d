"""tempurl in front of a small storage stand-in: the stand-in answers the
info lookups with the keys a test sets and, as the proxy does, asks the
request's ``swift.authorize`` before it answers anything else."""

import base64
import hashlib
import hmac
from urllib.parse import quote

import pytest

from objstore.common import digest
from objstore.common.access import AUTHORIZE_KEY, OVERRIDE_KEY
from objstore.common.exceptions import ConfigError
from objstore.common.http import Request
from objstore.common.info import INFO_LOOKUP_KEY
from objstore.common.subrequest import CAPABILITIES_KEY
from objstore.middleware import tempurl
from tests.helpers import SAMPLE_DIR, assert_sample_matches, make_logger

NOW = 1700000000
LATER = NOW + 3600
ACCOUNT_KEY = 'account-secret'
CONTAINER_KEY = 'container-secret'
OBJ = '/v1/AUTH_test/c/dir/o.txt'


class Storage:
    """The rest of the pipeline: info lookups, then authorize, then 200."""

    def __init__(self, account_meta=None, container_meta=None,
                 object_headers=None):
        self.meta = {'/v1/AUTH_test': ('Account', account_meta or {}),
                     '/v1/AUTH_test/c': ('Container', container_meta or {})}
        self.object_headers = object_headers or {}
        self.seen = []

    def __call__(self, environ, start_response):
        req = Request(environ)
        if environ.get(INFO_LOOKUP_KEY):
            level, meta = self.meta.get(req.path_info, ('Account', None))
            if meta is None:
                start_response('404 Not Found', [('Content-Length', '0')])
                return [b'']
            headers = [('X-%s-Meta-%s' % (level, name), value)
                       for name, value in meta.items()]
            start_response('204 No Content', headers)
            return [b'']
        self.seen.append(environ)
        authorize = environ.get(AUTHORIZE_KEY)
        if authorize is None:
            start_response('401 Unauthorized', [('Content-Length', '0')])
            return [b'']
        denied = authorize(req)
        if denied is not None:
            return denied(environ, start_response)
        headers = [('Content-Type', 'text/plain'), ('Content-Length', '4')]
        headers += list(self.object_headers.items())
        start_response('200 OK', headers)
        return [b'body']


def signature(key, method, path, expires=LATER, algo='sha256',
              ip_range=None):
    message = '%s\n%s\n%s' % (method, expires, path)
    if ip_range:
        message = 'ip=%s\n%s' % (ip_range, message)
    return hmac.new(key.encode(), message.encode(),
                    getattr(hashlib, algo)).hexdigest()


def b64_signature(key, method, path, algo, urlsafe=False):
    raw = bytes.fromhex(signature(key, method, path, algo=algo))
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return '%s:%s' % (algo, encode(raw).decode())


def send(storage, path, method='GET', query='', conf=None, **environ):
    app = tempurl.TempURL(storage, conf or {}, logger=make_logger('tu'),
                          clock=lambda: NOW)
    req = Request.blank(path, method=method, environ=environ)
    req.environ['QUERY_STRING'] = query
    return req.get_response(app)


def temp_query(sig, expires=LATER, extra=''):
    query = 'temp_url_sig=%s&temp_url_expires=%s' % (sig, expires)
    return query + ('&' + extra if extra else '')


@pytest.fixture
def storage():
    return Storage(account_meta={'Temp-URL-Key': ACCOUNT_KEY},
                   container_meta={'Temp-URL-Key-2': CONTAINER_KEY})


def test_account_key_get_is_claimed_and_shaped(storage):
    resp = send(storage, OBJ, query=temp_query(
        signature(ACCOUNT_KEY, 'GET', OBJ), extra='other=1'))
    assert resp.status_int == 200 and resp.body == b'body'
    assert resp.headers['Content-Disposition'] == \
        'attachment; filename="o.txt"; filename*=UTF-8\'\'o.txt'
    assert resp.headers['Expires'] == 'Tue, 14 Nov 2023 23:13:20 GMT'
    env = storage.seen[0]
    assert env['REMOTE_USER'] == '.wsgi.tempurl'
    assert env[OVERRIDE_KEY] is True
    assert 'other=' not in env['QUERY_STRING']
    assert 'temp_url_sig=' in env['QUERY_STRING']


def test_bad_signature_is_swifts_401(storage):
    resp = send(storage, OBJ, query=temp_query(
        signature('wrong', 'GET', OBJ)))
    assert resp.status_int == 401
    assert resp.body == b'401 Unauthorized: Temp URL invalid\n'
    assert resp.headers['Www-Authenticate'] == 'Swift realm="unknown"'
    assert storage.seen == []
    head = send(storage, OBJ, 'HEAD', query=temp_query(
        signature('wrong', 'GET', OBJ)))
    assert (head.status_int, head.body) == (401, b'')


@pytest.mark.parametrize('query', [
    'temp_url_sig=abc',
    'temp_url_expires=%d' % LATER,
    temp_query('nothex' * 8),
    temp_query('ab' * 33),
    temp_query('sha256:***'),
])
def test_malformed_params_are_401_not_500(storage, query):
    resp = send(storage, OBJ, query=query)
    assert resp.status_int == 401
    assert b'Temp URL invalid' in resp.body


def test_expired_and_iso8601_expiry(storage):
    past = NOW - 1
    resp = send(storage, OBJ, query=temp_query(
        signature(ACCOUNT_KEY, 'GET', OBJ, expires=past), expires=past))
    assert resp.status_int == 401
    iso, unix = '2026-12-01T00:00:00Z', 1796083200
    resp = send(storage, OBJ, query=temp_query(
        signature(ACCOUNT_KEY, 'GET', OBJ, expires=unix), expires=iso))
    assert resp.status_int == 200
    assert resp.headers['Expires'] == 'Tue, 01 Dec 2026 00:00:00 GMT'


def test_signature_grants_its_method_only_head_rides_along(storage):
    get_sig = signature(ACCOUNT_KEY, 'GET', OBJ)
    assert send(storage, OBJ, 'PUT', temp_query(get_sig)).status_int == 401
    assert send(storage, OBJ, 'DELETE',
                temp_query(get_sig)).status_int == 401
    assert send(storage, OBJ, 'HEAD', temp_query(get_sig)).status_int == 200
    put_sig = signature(ACCOUNT_KEY, 'PUT', OBJ)
    assert send(storage, OBJ, 'HEAD', temp_query(put_sig)).status_int == 200
    assert send(storage, OBJ, 'PUT', temp_query(put_sig)).status_int == 200
    delete_sig = signature(ACCOUNT_KEY, 'DELETE', OBJ)
    assert send(storage, OBJ, 'HEAD',
                temp_query(delete_sig)).status_int == 401


def test_signature_grants_its_path_only(storage):
    sig = signature(ACCOUNT_KEY, 'GET', OBJ)
    for other in ('/v1/AUTH_test/c/dir/other', '/v1/AUTH_test/c2/dir/o.txt',
                  '/v1/AUTH_other/c/dir/o.txt', '/v1.0/AUTH_test/c/dir/o.txt',
                  '/v1/AUTH_test/c'):
        assert send(storage, other, query=temp_query(sig)).status_int == 401


def test_methods_come_from_config(storage):
    sig = signature(ACCOUNT_KEY, 'DELETE', OBJ)
    assert send(storage, OBJ, 'DELETE', temp_query(sig)).status_int == 200
    resp = send(storage, OBJ, 'DELETE', temp_query(sig),
                conf={'methods': 'GET HEAD'})
    assert resp.status_int == 401


def test_sha1_allowed_by_default_and_disabled_by_config(storage):
    sig = signature(ACCOUNT_KEY, 'GET', OBJ, algo='sha1')
    assert send(storage, OBJ, query=temp_query(sig)).status_int == 200
    resp = send(storage, OBJ, query=temp_query(sig),
                conf={'allowed_digests': 'sha256 sha512'})
    assert resp.status_int == 401


@pytest.mark.parametrize('algo', ['sha256', 'sha512'])
@pytest.mark.parametrize('urlsafe', [False, True])
def test_base64_signatures(storage, algo, urlsafe):
    sig = b64_signature(ACCOUNT_KEY, 'GET', OBJ, algo, urlsafe)
    query = temp_query(sig.replace('+', '%2B').replace('/', '%2F')
                       .replace('=', '%3D'))
    assert send(storage, OBJ, query=query).status_int == 200
    hex_sig = signature(ACCOUNT_KEY, 'GET', OBJ, algo='sha512')
    assert send(storage, OBJ, query=temp_query(hex_sig)).status_int == 200


def test_base64_signature_of_another_digest_fails(storage):
    sig = b64_signature(ACCOUNT_KEY, 'GET', OBJ, 'sha256')
    wrong = 'sha512' + sig[len('sha256'):]
    assert send(storage, OBJ, query=temp_query(
        wrong.replace('+', '%2B').replace('/', '%2F'))).status_int == 401
    assert send(storage, OBJ, query=temp_query(
        'md5' + sig[len('sha256'):])).status_int == 401


def test_prefix_signature_covers_its_prefix_only(storage):
    sig = signature(ACCOUNT_KEY, 'GET', 'prefix:/v1/AUTH_test/c/dir/')
    query = temp_query(sig, extra='temp_url_prefix=dir/')
    assert send(storage, OBJ, query=query).status_int == 200
    assert send(storage, '/v1/AUTH_test/c/dir/deeper/x',
                query=query).status_int == 200
    assert send(storage, '/v1/AUTH_test/c/other',
                query=query).status_int == 401
    assert send(storage, '/v1/AUTH_test/c2/dir/o.txt',
                query=query).status_int == 401
    # A prefix signature is no object signature, nor the other way round.
    assert send(storage, OBJ, query=temp_query(sig)).status_int == 401
    whole = signature(ACCOUNT_KEY, 'GET', OBJ)
    assert send(storage, OBJ, query=temp_query(
        whole, extra='temp_url_prefix=dir/')).status_int == 401


def test_container_root_is_signed_for_staticweb_only(storage):
    sig = signature(ACCOUNT_KEY, 'GET', 'prefix:/v1/AUTH_test/c/')
    query = temp_query(sig, extra='temp_url_prefix=')
    assert send(storage, '/v1/AUTH_test/c/', query=query).status_int == 401
    storage.object_headers = {'X-Backend-Content-Generator': 'staticweb'}
    resp = send(storage, '/v1/AUTH_test/c/', query=query)
    assert resp.status_int == 200
    assert resp.headers['Content-Disposition'] == 'inline'


def test_ip_range(storage):
    for ip_range, addr, status in (
            ('10.1.2.3', '10.1.2.3', 200), ('10.1.2.0/24', '10.1.2.77', 200),
            ('10.1.2.0/24', '10.1.3.1', 401), ('10.1.2.3', '127.0.0.1', 401),
            ('::1', '::1', 200), ('10.1.2.3/24', '10.1.2.3', 401)):
        sig = signature(ACCOUNT_KEY, 'GET', OBJ, ip_range=ip_range)
        query = temp_query(sig, extra='temp_url_ip_range=%s' % ip_range)
        resp = send(storage, OBJ, query=query, REMOTE_ADDR=addr)
        assert resp.status_int == status, (ip_range, addr)
    # The range is signed: naming another one breaks the signature.
    sig = signature(ACCOUNT_KEY, 'GET', OBJ, ip_range='10.1.2.3')
    resp = send(storage, OBJ, query=temp_query(
        sig, extra='temp_url_ip_range=0.0.0.0/0'), REMOTE_ADDR='10.1.2.3')
    assert resp.status_int == 401


@pytest.mark.parametrize('extra, existing, expected', [
    ('inline', None, 'inline'),
    ('inline&filename=My+File.pdf', None,
     'inline; filename="My File.pdf"; filename*=UTF-8\'\'My%20File.pdf'),
    ('filename=r%C3%A9sum%C3%A9.pdf', None,
     'attachment; filename="r%C3%A9sum%C3%A9.pdf"; '
     'filename*=UTF-8\'\'r%C3%A9sum%C3%A9.pdf'),
    ('', 'attachment; filename="stored"', 'attachment; filename="stored"'),
    ('filename=q', 'attachment; filename="stored"',
     'attachment; filename="q"; filename*=UTF-8\'\'q'),
])
def test_content_disposition(storage, extra, existing, expected):
    if existing:
        storage.object_headers = {'Content-Disposition': existing}
    resp = send(storage, OBJ, query=temp_query(
        signature(ACCOUNT_KEY, 'GET', OBJ), extra=extra))
    assert resp.headers['Content-Disposition'] == expected
    if 'filename=' in extra:
        assert 'filename=' in storage.seen[0]['QUERY_STRING']


def test_no_disposition_on_put(storage):
    resp = send(storage, OBJ, 'PUT', temp_query(
        signature(ACCOUNT_KEY, 'PUT', OBJ)))
    assert resp.status_int == 200
    assert 'Content-Disposition' not in resp.headers
    assert 'Expires' not in resp.headers


@pytest.mark.parametrize('header', ['X-Object-Manifest', 'X-Symlink-Target',
                                    'X-Copy-From'])
def test_write_may_not_point_elsewhere(storage, header):
    resp = send(storage, OBJ, 'PUT', temp_query(
        signature(ACCOUNT_KEY, 'PUT', OBJ)),
        **{'HTTP_' + header.upper().replace('-', '_'): 'c/other'})
    assert resp.status_int == 400
    assert resp.body == ("The header '%s' is not allowed in this tempurl"
                         % header).encode()
    assert storage.seen == []
    # A GET with such a header reads only what it was signed for.
    resp = send(storage, OBJ, 'GET', temp_query(
        signature(ACCOUNT_KEY, 'GET', OBJ)),
        **{'HTTP_' + header.upper().replace('-', '_'): 'c/other'})
    assert resp.status_int == 200


def test_container_key_is_scoped_to_its_container(storage):
    sig = signature(CONTAINER_KEY, 'GET', OBJ)
    resp = send(storage, OBJ, query=temp_query(sig))
    assert resp.status_int == 200
    authorize = storage.seen[0][AUTHORIZE_KEY]
    for path, allowed in (('/v1/AUTH_test/c/seg', True),
                          ('/v1/AUTH_test/c2/seg', False),
                          ('/v1/AUTH_other/c/seg', False)):
        denied = authorize(Request.blank(path))
        assert (denied is None) == allowed, path
        if denied is not None:
            assert denied.status_int == 401


def test_account_key_is_scoped_to_its_account(storage):
    send(storage, OBJ, query=temp_query(signature(ACCOUNT_KEY, 'GET', OBJ)))
    authorize = storage.seen[0][AUTHORIZE_KEY]
    assert authorize(Request.blank('/v1/AUTH_test/c2/seg')) is None
    assert authorize(Request.blank('/v1/AUTH_other/c/o')).status_int == 401


def test_non_ascii_object_names_are_signed_decoded(storage):
    name = '/v1/AUTH_test/c/r\u00e9sum\u00e9'
    resp = send(storage, quote(name), query=temp_query(
        signature(ACCOUNT_KEY, 'GET', name)))
    assert resp.status_int == 200
    assert resp.headers['Content-Disposition'] == \
        'attachment; filename="r%C3%A9sum%C3%A9"; ' \
        'filename*=UTF-8\'\'r%C3%A9sum%C3%A9'
    resp = send(storage, '/v1/AUTH_test/c/%FF', query=temp_query(
        signature(ACCOUNT_KEY, 'GET', '/v1/AUTH_test/c/\ufffd')))
    assert resp.status_int == 401


def test_keys_of_either_slot_and_none_set():
    only_second = Storage(account_meta={'Temp-URL-Key-2': 'k2'})
    resp = send(only_second, OBJ, query=temp_query(
        signature('k2', 'GET', OBJ)))
    assert resp.status_int == 200
    resp = send(Storage(), OBJ, query=temp_query(signature('', 'GET', OBJ)))
    assert resp.status_int == 401


def test_header_filtering(storage):
    storage.object_headers = {'X-Object-Meta-Secret': 's',
                              'X-Object-Meta-Public-Name': 'n'}
    resp = send(storage, OBJ, query=temp_query(
        signature(ACCOUNT_KEY, 'GET', OBJ)), HTTP_X_TIMESTAMP='1',
        HTTP_X_OPEN_EXPIRED='true', HTTP_X_OTHER='kept')
    assert 'X-Object-Meta-Secret' not in resp.headers
    assert resp.headers['X-Object-Meta-Public-Name'] == 'n'
    env = storage.seen[0]
    assert 'HTTP_X_TIMESTAMP' not in env and 'HTTP_X_OPEN_EXPIRED' not in env
    assert env['HTTP_X_OTHER'] == 'kept'
    conf = {'incoming_remove_headers': 'x-other*',
            'incoming_allow_headers': 'x-other-ok',
            'outgoing_remove_headers': 'x-object-meta-public-*',
            'outgoing_allow_headers': ''}
    storage.seen.clear()
    resp = send(storage, OBJ, query=temp_query(
        signature(ACCOUNT_KEY, 'GET', OBJ)), conf=conf, HTTP_X_OTHER='x',
        HTTP_X_OTHER_OK='y', HTTP_X_TIMESTAMP='1')
    assert resp.headers['X-Object-Meta-Secret'] == 's'
    assert 'X-Object-Meta-Public-Name' not in resp.headers
    env = storage.seen[0]
    assert 'HTTP_X_OTHER' not in env
    assert env['HTTP_X_OTHER_OK'] == 'y' and env['HTTP_X_TIMESTAMP'] == '1'


def test_requests_without_params_pass_untouched(storage):
    resp = send(storage, OBJ, query='format=json')
    assert resp.status_int == 401  # nobody claimed it
    assert AUTHORIZE_KEY not in storage.seen[0]
    options = send(storage, OBJ, 'OPTIONS', temp_query('bad'))
    assert options.status_int == 401 and storage.seen[1]


def test_info_lists_settings(storage):
    app = tempurl.TempURL(storage, {'allowed_digests': 'sha1 sha512'})
    req = Request.blank('/info')
    req.get_response(app)
    assert req.environ[CAPABILITIES_KEY]['tempurl'] == {
        'methods': ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
        'incoming_remove_headers': ['x-timestamp', 'x-open-expired'],
        'incoming_allow_headers': [],
        'outgoing_remove_headers': ['x-object-meta-*'],
        'outgoing_allow_headers': ['x-object-meta-public-*'],
        'allowed_digests': ['sha1', 'sha512'],
        'deprecated_digests': ['sha1']}


def test_bad_config_fails_at_start():
    with pytest.raises(ConfigError, match='allowed_digests'):
        tempurl.filter_factory({}, allowed_digests='md5')
    logger = make_logger('tu-conf')
    tempurl.TempURL(Storage(), {'allowed_digests': 'sha256 md5'},
                    logger=logger)
    assert 'md5' in logger.handler.messages('WARNING')[0]


def test_digest_parsing_rejects_garbage():
    for bad in ('', 'ab' * 10, 'zz' * 32, 'sha256:a', 'sha256:ab$d'):
        with pytest.raises(ValueError):
            digest.parse_signature(bad)
    name, raw = digest.parse_signature('sha256:' + base64.b64encode(
        bytes(32)).decode().rstrip('='))
    assert (name, raw) == ('sha256', bytes(32))


def test_sample_config_lists_every_option():
    assert_sample_matches(tempurl.TempURLConf,
                          SAMPLE_DIR + '/proxy-server.conf-sample',
                          'filter:tempurl', ignore=('use',))

