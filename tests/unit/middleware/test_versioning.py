"""Object versioning's pure parts: version names (inverted timestamps, so
a listing is newest first), the ``?versions`` listing's query, and the
container read around a recording inner app. The whole flow runs on a
real cluster in tests/functional/test_versioning.py."""

import doctest
import json
from urllib.parse import parse_qs

import pytest

from objstore.common.http import Request
from objstore.common.infocache import INFOCACHE_KEY, cache_key
from objstore.middleware import versioning
from objstore.middleware.versioning import (
    ContainerRead, VersioningError, invert_timestamp,
    parse_version_object_name, version_object_name)


def test_doctests():
    assert doctest.testmod(versioning).failed == 0


def test_newer_versions_sort_first():
    ids = ['1700000000.00001', '1700000000.00002', '1800000000.00000']
    names = [version_object_name('o', v) for v in ids]
    assert sorted(names) == list(reversed(names))
    assert [parse_version_object_name(n) for n in names] == [
        ('o', v) for v in ids]


def test_inversion_is_its_own_inverse():
    for value in ('0000000000.00000', '1700000000.12345', '9999999999.99999'):
        assert invert_timestamp(invert_timestamp(value)) == value


def query_for(params):
    read = ContainerRead(None, Request.blank('/v1/a/c'), ['v1', 'a', 'c'])
    return {k: v[0] for k, v in parse_qs(read.versions_query(params)).items()}


def test_versions_query_translates_names():
    query = query_for({'prefix': 'ph', 'marker': 'photo', 'limit': '2'})
    assert query['prefix'] == '\x00ph'
    assert query['marker'] == '\x00photo\x00:'
    assert query['limit'] == '2'
    query = query_for({'marker': 'o', 'version_marker': '1700000000.5'})
    assert query['marker'] == version_object_name('o', '1700000000.5')
    assert query_for({'marker': 'o', 'version_marker': 'null'})['marker'] \
        == '\x00o\x00'


@pytest.mark.parametrize('params, body', [
    ({'version_marker': '1'}, b'version_marker param requires marker'),
    ({'delimiter': '1'}, b'invalid delimiter param'),
    ({'marker': 'o', 'version_marker': 'x'}, b'Invalid version parameter'),
])
def test_versions_query_refusals(params, body):
    with pytest.raises(VersioningError) as caught:
        query_for(params)
    assert (caught.value.response.status_int,
            caught.value.response.body) == (400, body)


class Listing:
    """A container that answers GETs with a JSON listing of ``items``
    (what the symlink middleware hands up) and records the queries."""

    def __init__(self, items, headers=()):
        self.items = items
        self.headers = list(headers)
        self.queries = []

    def __call__(self, environ, start_response):
        self.queries.append(environ.get('QUERY_STRING'))
        body = json.dumps(self.items).encode()
        start_response('200 OK', self.headers + [
            ('Content-Type', 'application/json; charset=utf-8'),
            ('Content-Length', str(len(body)))])
        return [body]


def read_listing(items, query, sysmeta):
    app = Listing(items)
    req = Request.blank('/v1/a/c' + query)
    req.environ[INFOCACHE_KEY] = {cache_key('a', 'c'): {
        'status': 200, 'sysmeta': sysmeta}}
    resp = versioning.filter_factory({})(app)
    return req.get_response(resp), app


def test_listing_shows_the_version_behind_a_link():
    link = {'name': 'o', 'hash': 'e; slo_etag=x', 'bytes': 0,
            'content_type': 'text/plain',
            'symlink_path': '/v1/a/%00versions%00c/%00o%00'
                            '8299999999.87654',
            'symlink_etag': 'realetag', 'symlink_bytes': 42}
    resp, app = read_listing([link], '?format=json',
                             {'versions-container': '%00versions%00c'})
    (item,) = json.loads(resp.body)
    assert (item['bytes'], item['hash']) == (42, 'realetag; slo_etag=x')
    assert item['symlink_path'] == \
        '/v1/a/c/o?version-id=1700000000.12345'
    assert 'format=json' in app.queries[0]


def test_plain_listing_of_unversioned_container_is_untouched():
    resp, app = read_listing([], '', {})
    assert app.queries == ['']
