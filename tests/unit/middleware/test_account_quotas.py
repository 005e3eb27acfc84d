"""account_quotas in front of a stand-in proxy: account HEADs answer
from a dict, writes are recorded with their headers and authorized as the
real proxy does (it calls ``swift.authorize``)."""

from objstore.common.http import Request, Response
from objstore.middleware.account_quotas import AccountQuotaMiddleware


class FakeProxy:
    def __init__(self, headers):
        self.headers = headers
        self.writes = []

    def __call__(self, environ, start_response):
        req = Request(environ)
        if req.method in ('HEAD', 'GET'):
            return Response(status=204, headers=self.headers)(
                environ, start_response)
        denied = environ['swift.authorize'](req)
        if denied is not None:
            return denied(environ, start_response)
        self.writes.append((req.method, req.path_info, dict(req.headers)))
        return Response(status=201)(environ, start_response)


def allow(_req):
    return None


def make_app(**headers):
    base = {'X-Account-Bytes-Used': '8', 'X-Account-Object-Count': '1'}
    base.update(headers)
    proxy = FakeProxy(base)
    return AccountQuotaMiddleware(proxy), proxy


def send(app, method, path, reseller=False, body=b'', **headers):
    environ = {'REQUEST_METHOD': method, 'swift.authorize': allow}
    if reseller:
        environ['reseller_request'] = True
    req = Request.blank(path, environ=environ, headers=headers)
    req.body = body
    return req.get_response(app)


def test_only_reseller_admin_sets_quota_into_sysmeta():
    app, proxy = make_app()
    for name in ('X-Account-Meta-Quota-Bytes', 'X-Account-Quota-Bytes',
                 'X-Account-Quota-Count'):
        resp = send(app, 'POST', '/v1/AUTH_a', **{name: '10'})
        assert resp.status_int == 403
    assert proxy.writes == []
    resp = send(app, 'POST', '/v1/AUTH_a', reseller=True,
                **{'X-Account-Meta-Quota-Bytes': '10'})
    assert resp.status_int == 201
    assert proxy.writes[0][2]['X-Account-Sysmeta-Quota-Bytes'] == '10'


def test_reseller_removes_quota_with_x_remove():
    app, proxy = make_app()
    send(app, 'POST', '/v1/AUTH_a', reseller=True,
         **{'X-Remove-Account-Quota-Bytes': 't'})
    assert proxy.writes[0][2]['X-Account-Sysmeta-Quota-Bytes'] == ''


def test_bad_quota_values_are_400():
    app, proxy = make_app()
    for value in ('-1', 'ten', '1.5'):
        resp = send(app, 'PUT', '/v1/AUTH_a', reseller=True,
                    **{'X-Account-Quota-Bytes': value})
        assert resp.status_int == 400
    assert proxy.writes == []


def test_head_shows_quota_from_sysmeta():
    app, _proxy = make_app(**{'X-Account-Sysmeta-Quota-Bytes': '99'})
    resp = send(app, 'HEAD', '/v1/AUTH_a')
    assert resp.headers['X-Account-Quota-Bytes'] == '99'


def test_upload_over_account_quota_is_413_but_not_for_reseller():
    app, proxy = make_app(**{'X-Account-Sysmeta-Quota-Bytes': '10'})
    assert send(app, 'PUT', '/v1/AUTH_a/c/o', body=b'xx').status_int == 201
    resp = send(app, 'PUT', '/v1/AUTH_a/c/o', body=b'xxx')
    assert (resp.status_int, resp.body) == (413, b'Upload exceeds quota.')
    assert send(app, 'PUT', '/v1/AUTH_a/c/o', reseller=True,
                body=b'xxx').status_int == 201
    assert len(proxy.writes) == 2


def test_legacy_meta_quota_and_count_quota_enforced():
    app, _proxy = make_app(**{'X-Account-Meta-Quota-Bytes': '5'})
    assert send(app, 'PUT', '/v1/AUTH_a/c/o').status_int == 413
    app, _proxy = make_app(**{'X-Account-Sysmeta-Quota-Count': '1'})
    assert send(app, 'PUT', '/v1/AUTH_a/c/o').status_int == 413
