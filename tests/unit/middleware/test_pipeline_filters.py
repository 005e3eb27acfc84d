"""catch_errors, proxy_logging and healthcheck around tiny inner apps."""

import re

from objstore.common.http import Request
from objstore.common.log import OPERATION_KEY, get_txn_id
from objstore.middleware.catch_errors import CatchErrors, make_txn_id
from objstore.middleware.healthcheck import Healthcheck
from objstore.middleware.proxy_logging import ProxyLogging
from tests.helpers import make_logger

TXN = re.compile(r'^tx[0-9a-f]{21}-[0-9a-f]{10}')


def ok_app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', '5')])
    return [b'hello']


def broken_app(environ, start_response):
    raise RuntimeError('boom')


def test_txn_id_format_and_uniqueness():
    ids = {make_txn_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(TXN.match(t) for t in ids)
    assert make_txn_id('-mine').endswith('-mine')
    assert make_txn_id(extra='a b').endswith('a%20b')


def test_catch_errors_adds_ids_and_sets_environ():
    seen = {}

    def inner(environ, start_response):
        seen['env'] = environ['swift.trans_id']
        seen['log'] = get_txn_id()
        return ok_app(environ, start_response)
    resp = Request.blank('/x').get_response(CatchErrors(inner, {}))
    assert resp.status_int == 200
    txn = resp.headers['X-Trans-Id']
    assert TXN.match(txn)
    assert resp.headers['X-Openstack-Request-Id'] == txn
    assert seen == {'env': txn, 'log': txn}


def test_catch_errors_turns_exception_into_500_with_logged_txn():
    logger = make_logger('catch')
    resp = Request.blank('/x').get_response(
        CatchErrors(broken_app, {}, logger=logger))
    assert resp.status_int == 500
    assert TXN.match(resp.headers['X-Trans-Id'])
    errors = logger.handler.messages('ERROR')
    assert errors and 'unhandled exception' in errors[0]


def test_healthcheck_ok_and_disabled(tmp_path):
    flag = tmp_path / 'disable'
    app = Healthcheck(broken_app, {'disable_path': str(flag)})
    resp = Request.blank('/healthcheck').get_response(app)
    assert (resp.status_int, resp.body) == (200, b'OK')
    flag.write_text('')
    resp = Request.blank('/healthcheck').get_response(app)
    assert (resp.status_int, resp.body) == (503, b'DISABLED BY FILE')
    passthrough = Healthcheck(ok_app, {})
    assert Request.blank('/other').get_response(passthrough).body == \
        b'hello'


def test_proxy_logging_one_line_per_request():
    logger = make_logger('access')
    app = CatchErrors(ProxyLogging(ok_app, {}, logger=logger), {})
    resp = Request.blank('/v1/AUTH_a/c?format=json',
                         environ={'REMOTE_ADDR': '10.0.0.1'}).get_response(
                             app)
    assert resp.body == b'hello'
    logged = logger.handler.messages()
    assert len(logged) == 1
    line = logged[0]
    assert '10.0.0.1 "GET /v1/AUTH_a/c?format=json" 200 5' in line
    assert resp.headers['X-Trans-Id'] in line


def test_proxy_logging_client_disconnect_is_499():
    logger = make_logger('access2')

    def long_app(environ, start_response):
        start_response('200 OK', [('Content-Length', '10')])
        return iter([b'12345', b'67890'])
    app = ProxyLogging(long_app, {}, logger=logger)
    body = app(Request.blank('/x').environ, lambda *a: None)
    next(iter(body))
    body.close()
    assert '" 499 5 ' in logger.handler.messages('INFO')[0]


def test_proxy_logging_names_the_operation_an_inner_filter_set():
    logger = make_logger('access-op')

    def s3_like(environ, start_response):
        environ[OPERATION_KEY] = 'ListBuckets'
        return ok_app(environ, start_response)
    for path, app in (('/', s3_like), ('/v1/a', ok_app)):
        # Reading the body closes it: the line is written then.
        assert Request.blank(path).get_response(ProxyLogging(
            app, {}, logger=logger)).body == b'hello'
    first, second = logger.handler.messages()
    assert first.endswith(' op:ListBuckets')
    assert ' op:' not in second
