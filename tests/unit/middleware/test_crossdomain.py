"""crossdomain: the policy document at /crossdomain.xml (default and
configured), everything else passed on, and the sample config."""

import os

from objstore.common.http import Request
from objstore.middleware.crossdomain import CrossDomainConf, filter_factory
from tests.helpers import SAMPLE_DIR, assert_sample_matches

SAMPLE = os.path.join(SAMPLE_DIR, 'proxy-server.conf-sample')


def passed(environ, start_response):
    start_response('204 No Content', [('Content-Length', '0')])
    return [b'']


def test_configured_policy_lines():
    policy = ('<allow-access-from domain="*.example.com" />\n'
              '<allow-access-from domain="www.example.com" secure="false" />')
    app = filter_factory({}, cross_domain_policy=policy)(passed)
    resp = Request.blank('/crossdomain.xml').get_response(app)
    assert resp.status_int == 200
    assert resp.headers['Content-Type'] == 'application/xml'
    assert resp.body.decode().splitlines()[2:] == [
        '<cross-domain-policy>', policy.splitlines()[0],
        policy.splitlines()[1], '</cross-domain-policy>']


def test_other_requests_pass():
    app = filter_factory({})(passed)
    for path, method in (('/crossdomain.xml', 'HEAD'),
                         ('/crossdomain.xml', 'PUT'),
                         ('/v1/a/crossdomain.xml', 'GET')):
        resp = Request.blank(path, method=method).get_response(app)
        assert resp.status_int == 204, (path, method)


def test_sample_matches_dataclass():
    assert_sample_matches(CrossDomainConf, SAMPLE, 'filter:crossdomain',
                          ignore=('use',))
