"""list_endpoints: path parsing, the v1/v2 documents, and the sample
config (the whole middleware runs against the aio in
tests/functional/test_small_middlewares.py)."""

import json
import os

import pytest

from objstore.middleware.list_endpoints import (
    ListEndpointsConf, endpoints_body, parse_endpoints_path)
from tests.helpers import SAMPLE_DIR, assert_sample_matches

SAMPLE = os.path.join(SAMPLE_DIR, 'proxy-server.conf-sample')


@pytest.mark.parametrize('path,parsed', [
    ('/AUTH_a/c', (1.0, 'AUTH_a', 'c', None)),
    ('/v1/AUTH_a/c/o', (1.0, 'AUTH_a', 'c', 'o')),
    ('/v2.0/AUTH_a', (2.0, 'AUTH_a', None, None)),
    ('/v_x/c', (1.0, 'v_x', 'c', None)),
    ('/1/a', (1.0, 'a', None, None)),
])
def test_paths(path, parsed):
    assert parse_endpoints_path(path) == parsed


@pytest.mark.parametrize('path,reason', [
    ('/', 'No account specified'),
    ('/v1', 'No account specified'),
    ('/v3/a', "Unsupported version 'v3'"),
    ('/vx/a', "Unsupported version 'vx'"),
])
def test_bad_paths(path, reason):
    with pytest.raises(ValueError) as err:
        parse_endpoints_path(path)
    assert str(err.value) == reason


def test_documents():
    assert json.loads(endpoints_body(1.0, ['u'], 1)) == ['u']
    assert json.loads(endpoints_body(2.0, ['u'], None)) == {
        'endpoints': ['u'], 'headers': {}}
    assert json.loads(endpoints_body(2.0, ['u'], 2))['headers'] == {
        'X-Backend-Storage-Policy-Index': '2'}


def test_sample_matches_dataclass():
    assert_sample_matches(ListEndpointsConf, SAMPLE, 'filter:list_endpoints',
                          ignore=('use',))
