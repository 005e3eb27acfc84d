"""name_check: Swift's 400s for forbidden characters, long paths and
forbidden substrings; other paths pass untouched; its conf and sample."""

import os

import pytest

from objstore.common.exceptions import ConfigError
from objstore.common.http import Request
from objstore.middleware.name_check import (
    NameCheckConf, NameCheckMiddleware, filter_factory)
from tests.helpers import SAMPLE_DIR, assert_sample_matches

SAMPLE = os.path.join(SAMPLE_DIR, 'proxy-server.conf-sample')


def passed(environ, start_response):
    start_response('204 No Content', [('Content-Length', '0')])
    return [b'']


def send(path, **conf):
    return Request.blank(path).get_response(NameCheckMiddleware(passed,
                                                                conf))


@pytest.mark.parametrize('path,reason', [
    ('/v1/a/c/o%3Cscript', 'Object/Container/Account name contains '
     'forbidden chars from \'"`<>'),
    ('/v1/a/c/' + 'o' * 250, 'Object/Container/Account name longer than '
     'the allowed maximum 255'),
    ('/v1/a/c/../o', 'Object/Container/Account name contains a forbidden '
     'substring from regular expression /\\./|/\\.\\./|/\\.$|/\\.\\.$'),
    ('/v1/a/c/.', 'Object/Container/Account name contains a forbidden '
     'substring from regular expression /\\./|/\\.\\./|/\\.$|/\\.\\.$'),
])
def test_refused_with_swifts_reason(path, reason):
    resp = send(path)
    assert resp.status_int == 400
    assert resp.body.decode() == reason
    assert resp.content_type == 'text/html'


def test_length_counts_bytes():
    # 4 + 2 + 2 + 2 * 124 = 256 bytes in 132 characters.
    assert send('/v1/a/c/' + '%C3%A9' * 124).status_int == 400
    assert send('/v1/a/c/' + '%C3%A9' * 123).status_int == 204


def test_ordinary_and_configured_paths():
    assert send('/v1/a/c/dir/o.txt..x').status_int == 204
    assert send('/v1/a/c/o%3C', forbidden_chars='!').status_int == 204
    assert send('/v1/a/c/o!', forbidden_chars='!').status_int == 400
    assert send('/v1/a/c/./o', forbidden_regexp='').status_int == 204
    assert send('/v1/a/c/o', maximum_length='8').status_int == 400


def test_info_lists_the_settings():
    environ = Request.blank('/info').environ
    NameCheckMiddleware(passed, {})(environ, lambda *a: None)
    assert environ['objstore.capabilities']['name_check'] == {
        'forbidden_chars': '\'"`<>', 'maximum_length': 255,
        'forbidden_regexp': '/\\./|/\\.\\./|/\\.$|/\\.\\.$'}


def test_bad_conf_stops_the_filter():
    with pytest.raises(ConfigError):
        filter_factory({}, forbidden_regexp='(')
    with pytest.raises(ConfigError):
        filter_factory({}, maximum_length='0')


def test_sample_matches_dataclass():
    assert_sample_matches(NameCheckConf, SAMPLE, 'filter:name_check',
                          ignore=('use',))
