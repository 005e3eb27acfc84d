"""make_subrequest keeps the client's identity and nothing of its body."""

import pytest

from objstore.common.http import Request, split_path
from objstore.common.subrequest import (
    IterReader, add_capability, make_subrequest, path_parts, query_params)


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


PATHS = ('/v1/a/c/o/with/slash', '/v1/a/c/', '/v1/a/', '/v1/', '/v1', '/',
         '', 'v1/a', '/v1//c', '/v1/a/c/o/', '/info', '/v1/\xc3\xa9/c',
         '/v1/\xff/c')


@pytest.mark.parametrize('path', PATHS)
@pytest.mark.parametrize('minsegs', (1, 2, 3, 4))
def test_path_parts_agrees_with_split_path(path, minsegs):
    env = {'PATH_INFO': path}
    try:
        expected = split_path(path.encode('latin-1').decode('utf-8'),
                              minsegs, 4, True)
    except ValueError as err:
        expected = type(err)
    for _ in range(2):  # the second answer comes from the environ's copy
        try:
            got = list(path_parts(env, minsegs))
        except ValueError as err:
            got = type(err)
        assert got == expected


def test_path_parts_follows_a_rewritten_path():
    env = {'PATH_INFO': '/v1/a/c/o'}
    assert path_parts(env) == ('v1', 'a', 'c', 'o')
    env['PATH_INFO'] = '/v1/AUTH_b/web/index.html'
    assert path_parts(env, 4) == ('v1', 'AUTH_b', 'web', 'index.html')
    env['PATH_INFO'] = '/v1/a'
    with pytest.raises(ValueError):
        path_parts(env, 3)


def test_query_params_of_no_query():
    assert query_params({}) == {}
    assert query_params({'QUERY_STRING': ''}) == {}
    assert query_params({'QUERY_STRING': 'a=1&a=2&b'}) == {'a': '2', 'b': ''}
