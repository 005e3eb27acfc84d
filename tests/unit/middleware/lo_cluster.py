"""An in-process cluster whose proxy pipeline has slo and dlo (between
copy and the proxy app, their place in Swift's pipeline), and a small raw
HTTP client for it, shared by the large object tests."""

import http.client
import json
from urllib.parse import quote, urlparse

from objstore.middleware import (
    catch_errors, copy, dlo, gatekeeper, healthcheck, proxy_logging, slo,
    tempauth)
from tests.unit.proxy.cluster import USERS, InProcessCluster

ACCOUNT = 'AUTH_test'


class LargeObjectCluster(InProcessCluster):
    """``logger`` is slo's and dlo's; ``slo_conf`` slo's options."""

    def __init__(self, root, logger, slo_conf=None):
        self.lo_logger = logger
        self.slo_conf = slo_conf or {}
        super().__init__(root)

    def _pipeline(self, app):
        conf = dict(USERS, log_level='WARNING')
        app = dlo.DynamicLargeObject(app, {}, logger=self.lo_logger)
        app = slo.StaticLargeObject(app, self.slo_conf,
                                    logger=self.lo_logger)
        app = copy.filter_factory({})(app)
        app = tempauth.filter_factory({}, **conf)(app)
        app = proxy_logging.filter_factory({}, log_level='WARNING')(app)
        app = healthcheck.filter_factory({})(app)
        app = gatekeeper.filter_factory({}, log_level='WARNING')(app)
        return catch_errors.filter_factory({}, log_level='WARNING')(app)


class Client:
    """Raw HTTP to the proxy as one user."""

    def __init__(self, url, user='test:tester', key='testing'):
        self.url = urlparse(url)
        status, headers, _body = self.raw(
            'GET', '/auth/v1.0', {'X-Auth-User': user, 'X-Auth-Key': key})
        assert status == 200, status
        self.token = headers['x-auth-token']

    def raw(self, method, target, headers=None, body=None):
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port,
                                          timeout=30)
        try:
            conn.request(method, target, body=body, headers=headers or {})
            resp = conn.getresponse()
            return (resp.status, {k.lower(): v for k, v in
                                  resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def __call__(self, method, path, headers=None, body=None, query='',
                 account=ACCOUNT):
        sent = dict(headers or {})
        sent.setdefault('X-Auth-Token', self.token)
        target = '/v1/%s%s' % (account, quote(path))
        if query:
            target += '?' + query
        return self.raw(method, target, sent, body)

    def put_manifest(self, path, segments, query='', headers=None):
        return self('PUT', path, headers,
                    json.dumps(segments).encode('utf-8'),
                    query='multipart-manifest=put' + query)
