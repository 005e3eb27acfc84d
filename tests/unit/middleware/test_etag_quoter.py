"""etag_quoter over a tiny storage app: which answers get a quoted ETag
(container setting, else account, else enable_by_default), the settings'
names both ways, and the sample config."""

import os

from objstore.common.http import Request
from objstore.middleware.etag_quoter import (
    EtagQuoterConf, EtagQuoterMiddleware)
from tests.helpers import SAMPLE_DIR, assert_sample_matches

SAMPLE = os.path.join(SAMPLE_DIR, 'proxy-server.conf-sample')


class Storage:
    """HEADs of /v1/a and /v1/a/c carry the sysmeta the test sets; an
    object answers with a bare ETag; requests are recorded."""

    def __init__(self, account=None, container=None):
        self.sysmeta = {2: account, 3: container}
        self.seen = []

    def __call__(self, environ, start_response):
        depth = environ['PATH_INFO'].count('/')
        self.seen.append(dict(environ))
        headers = [('Content-Length', '0')]
        if depth in self.sysmeta:
            level = 'Account' if depth == 2 else 'Container'
            if self.sysmeta[depth] is not None:
                headers.append(('X-%s-Sysmeta-Rfc-Compliant-Etags' % level,
                                self.sysmeta[depth]))
            start_response('204 No Content', headers)
        else:
            start_response('200 OK', headers + [('Etag', 'abc')])
        return [b'']


def etag(storage, **conf):
    resp = Request.blank('/v1/a/c/o').get_response(
        EtagQuoterMiddleware(storage, conf))
    return resp.headers['Etag']


def test_container_then_account_then_default():
    assert etag(Storage()) == 'abc'
    assert etag(Storage(), enable_by_default='true') == '"abc"'
    assert etag(Storage(account='True')) == '"abc"'
    assert etag(Storage(account='True', container='False')) == 'abc'
    assert etag(Storage(container='True'),
                enable_by_default='false') == '"abc"'


def test_setting_goes_to_sysmeta_and_comes_back_named():
    storage = Storage(container='True')
    app = EtagQuoterMiddleware(storage, {})
    resp = Request.blank('/v1/a/c', method='POST', headers={
        'X-Container-Rfc-Compliant-Etags': 'on'}).get_response(app)
    assert storage.seen[-1][
        'HTTP_X_CONTAINER_SYSMETA_RFC_COMPLIANT_ETAGS'] == 'True'
    assert resp.headers['X-Container-Rfc-Compliant-Etags'] == 'True'
    Request.blank('/v1/a', method='POST', headers={
        'X-Remove-Account-Rfc-Compliant-Etags': '1'}).get_response(app)
    assert storage.seen[-1][
        'HTTP_X_ACCOUNT_SYSMETA_RFC_COMPLIANT_ETAGS'] == ''


def test_sample_matches_dataclass():
    assert_sample_matches(EtagQuoterConf, SAMPLE, 'filter:etag_quoter',
                          ignore=('use',))
