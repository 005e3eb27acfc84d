"""make_subrequest keeps the client's identity and nothing of its body."""

from objstore.common.http import Request
from objstore.common.subrequest import (
    IterReader, add_capability, make_subrequest)


def test_subrequest_inherits_identity_not_body():
    auth = object()
    original = Request.blank('/v1/AUTH_a/c/o', method='PUT', body=b'orig',
                             environ={'REMOTE_USER': 'a,a:u',
                                      'swift.authorize': auth,
                                      'swift.trans_id': 'tx1',
                                      'swift_owner': True},
                             headers={'X-Copy-From': '/c/x',
                                      'If-Match': 'abc'})
    sub = make_subrequest(original.environ, 'GET', '/v1/AUTH_a/c/x y',
                          headers={'X-Newest': 'true'}, source='copy')
    assert sub.method == 'GET'
    assert sub.path_info == '/v1/AUTH_a/c/x y'
    assert sub.environ['PATH_INFO'] == '/v1/AUTH_a/c/x y'
    assert sub.environ['swift.authorize'] is auth
    assert sub.environ['REMOTE_USER'] == 'a,a:u'
    assert sub.environ['swift.trans_id'] == 'tx1'
    assert sub.environ['swift.source'] == 'copy'
    assert 'swift_owner' not in sub.environ
    assert 'If-Match' not in sub.headers
    assert sub.headers['X-Newest'] == 'true'
    assert sub.environ['wsgi.input'].read() == b''


def test_subrequest_with_unicode_path_and_iter_body():
    sub = make_subrequest({}, 'PUT', '/v1/AUTH_a/c/\u00e9',
                          body=[b'ab', b'cd', b'e'])
    assert sub.path_info == '/v1/AUTH_a/c/\u00e9'
    reader = sub.environ['wsgi.input']
    assert reader.read(3) == b'abc'
    assert reader.read() == b'de'
    assert reader.read(5) == b''


def test_iter_reader_closes_source():
    closed = []

    class Source:
        def __iter__(self):
            return iter([b'x'])

        def close(self):
            closed.append(True)
    reader = IterReader(Source())
    reader.close()
    assert closed == [True]


def test_add_capability_only_on_info():
    env = {'PATH_INFO': '/info'}
    add_capability(env, 'copy')
    add_capability(env, 'tempauth', account_acls=False)
    assert env['objstore.capabilities'] == {
        'copy': {}, 'tempauth': {'account_acls': False}}
    other = {'PATH_INFO': '/v1/a'}
    add_capability(other, 'copy')
    assert 'objstore.capabilities' not in other
