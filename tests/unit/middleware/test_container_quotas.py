"""container_quotas in front of a stand-in proxy that answers container
HEADs from a dict and authorizes writes as the real one does (it calls
``swift.authorize`` with the container's write ACL)."""

from objstore.common.http import Request, Response
from objstore.middleware.container_quotas import ContainerQuotaMiddleware


class FakeProxy:
    """Container HEADs answer ``headers``; object PUTs call the request's
    decision first, then answer 201; every request is recorded."""

    def __init__(self, headers):
        self.headers = headers
        self.calls = []

    def __call__(self, environ, start_response):
        req = Request(environ)
        self.calls.append((req.method, req.path_info))
        if req.method == 'HEAD':
            return Response(status=204, headers=self.headers)(
                environ, start_response)
        authorize = environ.get('swift.authorize')
        if authorize is not None:
            environ['swift.acl'] = self.headers.get('X-Container-Write')
            denied = authorize(req)
            if denied is not None:
                return denied(environ, start_response)
        return Response(status=201)(environ, start_response)


def allow(_req):
    return None


def deny(_req):
    return Response(status=401)


def put(app, path, body=b'', authorize=allow, **headers):
    environ = {'REQUEST_METHOD': 'PUT'}
    if authorize is not None:
        environ['swift.authorize'] = authorize
    req = Request.blank(path, environ=environ, headers=headers)
    req.body = body
    return req.get_response(app)


def quota_app(**meta):
    headers = {'X-Container-Object-Count': '1',
               'X-Container-Bytes-Used': '8'}
    headers.update(meta)
    proxy = FakeProxy(headers)
    return ContainerQuotaMiddleware(proxy), proxy


def test_invalid_quota_values_are_400_before_the_proxy():
    app, proxy = quota_app()
    for name, value, reason in (
            ('X-Container-Meta-Quota-Bytes', '-1', b'Invalid bytes quota.'),
            ('X-Container-Meta-Quota-Bytes', '1.5', b'Invalid bytes quota.'),
            ('X-Container-Meta-Quota-Count', 'abc', b'Invalid count quota.')):
        for method in ('PUT', 'POST'):
            resp = Request.blank('/v1/AUTH_a/c', method=method,
                                 headers={name: value}).get_response(app)
            assert (resp.status_int, resp.body) == (400, reason)
    assert proxy.calls == []


def test_valid_or_removed_quota_passes():
    app, proxy = quota_app()
    for value in ('0', '100', ''):
        resp = put(app, '/v1/AUTH_a/c',
                   **{'X-Container-Meta-Quota-Bytes': value})
        assert resp.status_int == 201
    assert proxy.calls == [('PUT', '/v1/AUTH_a/c')] * 3


def test_upload_over_bytes_quota_is_413():
    app, _proxy = quota_app(**{'X-Container-Meta-Quota-Bytes': '10'})
    assert put(app, '/v1/AUTH_a/c/o', body=b'xx').status_int == 201
    resp = put(app, '/v1/AUTH_a/c/o', body=b'xxx')
    assert (resp.status_int, resp.body) == (413, b'Upload exceeds quota.')


def test_upload_over_count_quota_is_413():
    app, _proxy = quota_app(**{'X-Container-Meta-Quota-Count': '1'})
    resp = put(app, '/v1/AUTH_a/c/o')
    assert (resp.status_int, resp.body) == (413, b'Upload exceeds quota.')
    app, _proxy = quota_app(**{'X-Container-Meta-Quota-Count': '2'})
    assert put(app, '/v1/AUTH_a/c/o').status_int == 201


def test_denied_client_sees_its_denial_not_the_quota():
    app, _proxy = quota_app(**{'X-Container-Meta-Quota-Count': '0'})
    assert put(app, '/v1/AUTH_a/c/o', authorize=deny).status_int == 401


def test_non_numeric_stored_quota_is_ignored():
    app, _proxy = quota_app(**{'X-Container-Meta-Quota-Bytes': 'lots'})
    assert put(app, '/v1/AUTH_a/c/o', body=b'x' * 100).status_int == 201
