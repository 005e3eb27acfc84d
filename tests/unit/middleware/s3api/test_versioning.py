"""The pure parts of s3api's versioning: its configuration document,
version ids, copy sources, version headers and listing entries."""

import json
from urllib.parse import parse_qsl

import pytest

from objstore.common.http import Response
from objstore.middleware.s3api import versioning
from objstore.middleware.s3api.context import error_response
from objstore.middleware.s3api.errors import S3Error


def config(status, mfa=None):
    body = '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/' \
        '2006-03-01/">'
    if status is not None:
        body += '<Status>%s</Status>' % status
    if mfa is not None:
        body += '<MfaDelete>%s</MfaDelete>' % mfa
    return (body + '</VersioningConfiguration>').encode()


@pytest.mark.parametrize('status', ['Enabled', 'Suspended'])
def test_config_statuses(status):
    assert versioning.parse_versioning_config(config(status)) == status
    assert versioning.parse_versioning_config(
        config(status, 'Disabled')) == status


@pytest.mark.parametrize('body, code', [
    (b'<VersioningConfiguration><Status>Enabled', 'MalformedXML'),
    (b'<Other><Status>Enabled</Status></Other>', 'MalformedXML'),
    (config(None), 'MalformedXML'),
    (config('enabled'), 'IllegalVersioningConfigurationException'),
    (config('Disabled'), 'IllegalVersioningConfigurationException'),
    (config(''), 'IllegalVersioningConfigurationException'),
    (config('Enabled', 'Maybe'), 'MalformedXML'),
    (config('Enabled', 'Enabled'), 'NotImplemented'),
])
def test_config_errors(body, code):
    with pytest.raises(S3Error) as caught:
        versioning.parse_versioning_config(body)
    assert caught.value.code == code
    assert caught.value.status in (400, 501)


@pytest.mark.parametrize('value, valid', [
    ('1700000000.12345', True), ('null', True), ('1', True),
    ('', False), ('abc', False), ('NULL', False), ('-5', False)])
def test_version_ids(value, valid):
    assert versioning.is_version_id(value) is valid


def test_copy_source_versions():
    assert versioning.copy_source_query('/b/k') == ''
    assert versioning.copy_source_query(
        '/b/k%20x?versionId=1700000000.12345') == \
        'version-id=1700000000.12345'
    assert versioning.copy_source_query('b/k?versionId=null') == \
        'version-id=null'
    for value, code in (('/b/k?versionId=bad', 'InvalidArgument'),
                        ('/b/k?partNumber=1', 'InvalidArgument')):
        with pytest.raises(S3Error) as caught:
            versioning.copy_source_query(value)
        assert caught.value.code == code


def test_version_headers_of_writes_and_reads():
    assert versioning.version_headers({}) == {}
    assert versioning.version_headers({'X-Object-Version-Id': 'null'}) == {}
    assert versioning.version_headers(
        {'X-Object-Version-Id': '1700000000.12345'}) == {
        'x-amz-version-id': '1700000000.12345'}
    assert versioning.read_version_headers(
        {'X-Object-Version-Id': 'null'}) == {'x-amz-version-id': 'null'}
    assert versioning.read_version_headers({}) == {}


def test_error_headers_reach_the_answer():
    err = versioning.error_with_headers(
        'NoSuchKey', {'x-amz-delete-marker': 'true'}, Key='k')
    resp = error_response(err, '/b/k', 'tx1', 'HEAD')
    assert resp.status_int == 404
    assert resp.headers['x-amz-delete-marker'] == 'true'
    assert resp.body == b''


def test_listing_query():
    query = versioning._listing_query({'key-marker': 'k',
                                       'version-id-marker': 'null',
                                       'prefix': 'p', 'delimiter': '/'}, 5)
    assert query == {'limit': '7', 'prefix': 'p', 'delimiter': '/',
                     'marker': 'k', 'version_marker': 'null'}
    assert 'version_marker' not in versioning._listing_query(
        {'key-marker': 'k'}, 5)
    for params in ({'version-id-marker': 'null'},
                   {'key-marker': 'k', 'version-id-marker': 'x'}):
        with pytest.raises(S3Error) as caught:
            versioning._listing_query(params, 5)
        assert caught.value.code == 'InvalidArgument'


def test_listed_versions_and_markers():
    entry = {'name': 'k', 'version_id': '1700000000.12345',
             'is_latest': True, 'hash': 'abc', 'bytes': 3,
             'content_type': 'text/plain',
             'last_modified': '2023-11-14T22:13:20.123450'}
    name, children = versioning._listed_version(entry, str, 'a:u')
    assert name == 'Version'
    assert dict(children)['ETag'] == '"abc"'
    assert dict(children)['IsLatest'] is True
    marker = dict(entry, content_type=versioning.DELETE_MARKER_CONTENT_TYPE)
    name, children = versioning._listed_version(marker, str, 'a:u')
    assert name == 'DeleteMarker'
    assert 'ETag' not in dict(children)


class ListingCtx:
    """The edge of the versioning module: ``call`` answers a container's
    ``?versions`` listing of ``entries`` (sorted as Swift sorts them),
    honouring prefix, limit, marker and version_marker."""

    def __init__(self, entries):
        self.entries = entries
        self.queries = []

    def call(self, method, container=None, obj=None, headers=None,
             body=None, query=None):
        params = dict(parse_qsl(query, keep_blank_values=True))
        self.queries.append(params)
        listed = [e for e in self.entries
                  if e['name'].startswith(params.get('prefix', ''))]
        if 'marker' in params:
            position = [(e['name'], e['version_id']) for e in listed].index(
                (params['marker'], params['version_marker']))
            listed = listed[position + 1:]
        page = listed[:int(params['limit'])]
        return Response(status=200, body=json.dumps(page).encode())


def test_key_versions_pages_through_many_versions():
    versions = [{'name': 'k', 'version_id': '%010d.00000' % (2000 - n),
                 'content_type': 'text/plain'} for n in range(250)]
    ctx = ListingCtx(versions + [
        {'name': 'k2', 'version_id': 'null', 'content_type': 'text/plain'}])
    found = versioning.key_versions(ctx, 'b', 'k')
    assert found == versions
    assert len(ctx.queries) == 3
    assert versioning.newest_version(ctx, 'b', 'k') == versions[0]
    assert versioning.newest_version(ctx, 'b', 'nothing') is None
