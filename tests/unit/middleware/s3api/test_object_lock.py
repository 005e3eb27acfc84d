"""S3 Object Lock's pure parts (lock_rules: documents, PutObject headers,
which retention changes are allowed; common.retention: the stored facts
and the delete rule), and object_versioning's refusal to delete a locked
version, around a recording inner app. The whole flow runs on a real
cluster in tests/functional/test_s3_object_lock.py."""

import doctest

import pytest

from objstore.common import retention
from objstore.common.http import Request, Response
from objstore.common.infocache import INFOCACHE_KEY, cache_key
from objstore.common.retention import (
    BYPASS_GOVERNANCE_HEADER, LEGAL_HOLD_SYSMETA, RETENTION_SYSMETA,
    Retention, deletion_refusal, parse_retention)
from objstore.middleware import versioning
from objstore.middleware.s3api import lock_rules
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.lock_rules import (
    change_allowed, default_retention, parse_legal_hold_document,
    parse_lock_configuration, parse_retention_document, requested_lock)

NOW = 1893456000.0      # 2030-01-01T00:00:00Z
DAY = 86400


def code_of(call, *args):
    with pytest.raises(S3Error) as caught:
        call(*args)
    return caught.value.code, caught.value.status


def test_doctests():
    assert doctest.testmod(lock_rules).failed == 0
    assert doctest.testmod(retention).failed == 0


def config_document(rule=''):
    return ('<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/'
            '2006-03-01/"><ObjectLockEnabled>Enabled</ObjectLockEnabled>%s'
            '</ObjectLockConfiguration>' % rule).encode()


def test_configuration_round_trip():
    for stored in ({}, {'Mode': 'GOVERNANCE', 'Days': 3},
                   {'Mode': 'COMPLIANCE', 'Years': 2}):
        document = lock_rules.lock_configuration_xml(stored)
        assert parse_lock_configuration(document) == stored


@pytest.mark.parametrize('rule, expected', [
    ('<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days>'
     '<Years>1</Years></DefaultRetention></Rule>', ('MalformedXML', 400)),
    ('<Rule><DefaultRetention><Days>1</Days></DefaultRetention></Rule>',
     ('MalformedXML', 400)),
    ('<Rule><DefaultRetention><Mode>STRICT</Mode><Days>1</Days>'
     '</DefaultRetention></Rule>', ('MalformedXML', 400)),
    ('<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>x</Days>'
     '</DefaultRetention></Rule>', ('MalformedXML', 400)),
    ('<Rule></Rule>', ('MalformedXML', 400)),
    ('<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>-1</Days>'
     '</DefaultRetention></Rule>', ('InvalidArgument', 400)),
    ('<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>36501</Days>'
     '</DefaultRetention></Rule>', ('InvalidArgument', 400)),
])
def test_bad_configurations(rule, expected):
    assert code_of(parse_lock_configuration, config_document(rule)) == \
        expected


def test_configuration_must_say_enabled():
    assert code_of(parse_lock_configuration, config_document().replace(
        b'>Enabled<', b'>Disabled<')) == ('MalformedXML', 400)
    assert code_of(parse_lock_configuration, b'<Other/>') == (
        'MalformedXML', 400)
    assert code_of(parse_lock_configuration, b'not xml') == (
        'MalformedXML', 400)


def test_default_retention_periods():
    assert default_retention({}, NOW) is None
    assert default_retention({'Mode': 'GOVERNANCE', 'Days': 2}, NOW) == \
        Retention('GOVERNANCE', NOW + 2 * DAY)
    assert default_retention({'Mode': 'COMPLIANCE', 'Years': 1}, NOW) == \
        Retention('COMPLIANCE', NOW + 365 * DAY)


def test_requested_lock_headers():
    assert requested_lock({}, NOW) == (None, None)
    assert requested_lock({
        'x-amz-object-lock-mode': 'COMPLIANCE',
        'x-amz-object-lock-retain-until-date': '2030-01-02T00:00:00Z',
        'x-amz-object-lock-legal-hold': 'OFF'}, NOW) == (
        Retention('COMPLIANCE', NOW + DAY), 'OFF')


@pytest.mark.parametrize('headers', [
    {'x-amz-object-lock-mode': 'GOVERNANCE'},
    {'x-amz-object-lock-retain-until-date': '2030-01-02T00:00:00Z'},
    {'x-amz-object-lock-mode': 'SOFT',
     'x-amz-object-lock-retain-until-date': '2030-01-02T00:00:00Z'},
    {'x-amz-object-lock-mode': 'GOVERNANCE',
     'x-amz-object-lock-retain-until-date': '2029-12-31T00:00:00Z'},
    {'x-amz-object-lock-mode': 'GOVERNANCE',
     'x-amz-object-lock-retain-until-date': 'tomorrow'},
    {'x-amz-object-lock-legal-hold': 'on'},
])
def test_bad_lock_headers(headers):
    assert code_of(requested_lock, headers, NOW) == ('InvalidArgument', 400)


def test_retention_documents():
    document = lock_rules.retention_document(Retention('GOVERNANCE',
                                                       NOW + DAY))
    assert b'<RetainUntilDate>2030-01-02T00:00:00.000Z<' in document
    assert parse_retention_document(document, NOW) == Retention(
        'GOVERNANCE', NOW + DAY)
    assert parse_retention_document(b'<Retention/>', NOW) is None
    for body in (b'<Retention><Mode>GOVERNANCE</Mode></Retention>',
                 b'<Retention><RetainUntilDate>2030-01-02T00:00:00Z'
                 b'</RetainUntilDate></Retention>', b'<Hold/>'):
        assert code_of(parse_retention_document, body, NOW) == (
            'MalformedXML', 400)
    assert code_of(parse_retention_document, document, NOW + 2 * DAY) == (
        'InvalidArgument', 400)


def test_legal_hold_documents():
    for status in ('ON', 'OFF'):
        assert parse_legal_hold_document(
            lock_rules.legal_hold_document(status)) == status
    assert code_of(parse_legal_hold_document,
                   b'<LegalHold><Status>on</Status></LegalHold>') == (
        'MalformedXML', 400)


@pytest.mark.parametrize('old, new, bypass, allowed', [
    (None, None, False, True),
    (Retention('COMPLIANCE', NOW - 1), None, False, True),
    (Retention('COMPLIANCE', NOW + DAY),
     Retention('COMPLIANCE', NOW + 2 * DAY), False, True),
    (Retention('COMPLIANCE', NOW + DAY), Retention('COMPLIANCE', NOW + 1),
     True, False),
    (Retention('COMPLIANCE', NOW + DAY), Retention('GOVERNANCE', NOW + DAY),
     True, False),
    (Retention('COMPLIANCE', NOW + DAY), None, True, False),
    (Retention('GOVERNANCE', NOW + DAY), Retention('COMPLIANCE', NOW + DAY),
     False, True),
    (Retention('GOVERNANCE', NOW + DAY), Retention('GOVERNANCE', NOW + 1),
     False, False),
    (Retention('GOVERNANCE', NOW + DAY), Retention('GOVERNANCE', NOW + 1),
     True, True),
    (Retention('GOVERNANCE', NOW + DAY), None, False, False),
    (Retention('GOVERNANCE', NOW + DAY), None, True, True),
])
def test_retention_changes(old, new, bypass, allowed):
    assert change_allowed(old, new, NOW, bypass) is allowed


def test_deletion_refusals():
    governed = {RETENTION_SYSMETA: 'GOVERNANCE 2030-01-02T00:00:00.000Z'}
    complied = {RETENTION_SYSMETA: 'COMPLIANCE 2030-01-02T00:00:00.000Z'}
    held = {LEGAL_HOLD_SYSMETA: 'ON'}
    assert deletion_refusal({}, NOW) is None
    assert deletion_refusal(governed, NOW) is not None
    assert deletion_refusal(governed, NOW, bypass_governance=True) is None
    assert deletion_refusal(complied, NOW, bypass_governance=True) is not None
    assert deletion_refusal(complied, NOW + DAY) is None
    assert deletion_refusal(held, NOW, bypass_governance=True) is not None
    assert deletion_refusal({LEGAL_HOLD_SYSMETA: 'OFF'}, NOW) is None
    assert parse_retention('GOVERNANCE not-a-date') is None
    assert parse_retention('SOFT 2030-01-02T00:00:00.000Z') is None


# ------------------------------------- object_versioning's refusal


class VersionStore:
    """The pipeline below object_versioning: answers HEADs with the
    headers of ``stored`` (path -> headers), DELETEs with 204, and records
    every request's (method, path)."""

    def __init__(self, stored):
        self.stored = stored
        self.seen = []

    def __call__(self, environ, start_response):
        req = Request(environ)
        self.seen.append((req.method, req.path_info))
        if req.method == 'HEAD':
            headers = self.stored.get(req.path_info)
            if headers is None:
                return Response(status=404)(environ, start_response)
            return Response(status=200, headers=headers)(
                environ, start_response)
        return Response(status=204)(environ, start_response)


VERSION = '1700000000.12345'
VERSION_PATH = '/v1/a/\x00versions\x00c/' + versioning.version_object_name(
    'o', VERSION)


def delete_version(stored, headers=None):
    store = VersionStore(stored)
    req = Request.blank('/v1/a/c/o?version-id=' + VERSION, method='DELETE',
                        headers=headers or {})
    req.environ[INFOCACHE_KEY] = {cache_key('a', 'c'): {
        'status': 200, 'sysmeta': {
            'versions-container': '%00versions%00c',
            'versions-enabled': 'True'}}}
    resp = req.get_response(versioning.filter_factory({})(store))
    return resp, [seen for seen in store.seen if seen[0] == 'DELETE']


def test_locked_version_is_not_deleted():
    future = {RETENTION_SYSMETA: 'GOVERNANCE 2999-01-01T00:00:00.000Z'}
    resp, deletes = delete_version({VERSION_PATH: future})
    assert resp.status_int == 403 and b'GOVERNANCE' in resp.body
    assert deletes == []
    resp, deletes = delete_version({VERSION_PATH: {
        LEGAL_HOLD_SYSMETA: 'ON'}}, {BYPASS_GOVERNANCE_HEADER: 'true'})
    assert resp.status_int == 403 and deletes == []


def test_unlocked_or_bypassed_version_is_deleted():
    past = {RETENTION_SYSMETA: 'COMPLIANCE 2000-01-01T00:00:00.000Z'}
    resp, deletes = delete_version({VERSION_PATH: past})
    assert (resp.status_int, deletes) == (204, [('DELETE', VERSION_PATH)])
    future = {RETENTION_SYSMETA: 'GOVERNANCE 2999-01-01T00:00:00.000Z'}
    resp, deletes = delete_version({VERSION_PATH: future},
                                   {BYPASS_GOVERNANCE_HEADER: 'true'})
    assert (resp.status_int, deletes) == (204, [('DELETE', VERSION_PATH)])


class RecordingStore(VersionStore):
    """A VersionStore that also answers GETs (the version's headers and
    body) and keeps each PUT's headers and body."""

    def __init__(self, stored, body=b'data'):
        super().__init__(stored)
        self.body = body
        self.puts = []

    def __call__(self, environ, start_response):
        req = Request(environ)
        if req.method == 'GET':
            self.seen.append(('GET', req.path_info))
            headers = self.stored.get(req.path_info)
            if headers is None:
                return Response(status=404)(environ, start_response)
            return Response(status=200, body=self.body, headers=dict(
                headers, **{'Content-Length': str(len(self.body))}))(
                environ, start_response)
        if req.method == 'PUT':
            self.puts.append((req.path_info, {
                name.lower(): value for name, value in req.headers.items()},
                req.body))
            return Response(status=201)(environ, start_response)
        return super().__call__(environ, start_response)


def post_version(store, environ):
    req = Request.blank('/v1/a/c/o?version-id=' + VERSION, method='POST')
    req.environ[INFOCACHE_KEY] = {cache_key('a', 'c'): {
        'status': 200, 'sysmeta': {
            'versions-container': '%00versions%00c',
            'versions-enabled': 'True'}}}
    req.environ.update(environ)
    return req.get_response(versioning.filter_factory({})(store))


def test_version_sysmeta_is_rewritten_in_place():
    store = RecordingStore({VERSION_PATH: {
        'Content-Type': 'text/plain',
        'Etag': '8d777f385d3dfec8815d20f7496026dc',
        'X-Object-Meta-Color': 'blue', LEGAL_HOLD_SYSMETA: 'ON'}})
    resp = post_version(store, {versioning.SYSMETA_UPDATE_KEY: {
        LEGAL_HOLD_SYSMETA: 'OFF'}})
    assert resp.status_int == 202
    assert resp.headers[versioning.VERSION_ID] == VERSION
    ((path, headers, body),) = store.puts
    assert (path, body) == (VERSION_PATH, b'data')
    assert headers[LEGAL_HOLD_SYSMETA.lower()] == 'OFF'
    assert headers['x-object-meta-color'] == 'blue'
    assert headers['etag'] == '8d777f385d3dfec8815d20f7496026dc'


def test_version_sysmeta_update_needs_the_environ_key():
    store = RecordingStore({VERSION_PATH: {'Content-Type': 'text/plain'}})
    resp = post_version(store, {})
    assert resp.status_int == 400 and store.puts == []
    resp = post_version(RecordingStore({}), {
        versioning.SYSMETA_UPDATE_KEY: {LEGAL_HOLD_SYSMETA: 'OFF'}})
    assert resp.status_int == 404


def test_versioning_of_a_locked_container_cannot_be_suspended():
    store = VersionStore({})
    req = Request.blank('/v1/a/c', method='POST',
                        headers={'X-Versions-Enabled': 'false'})
    req.environ[INFOCACHE_KEY] = {cache_key('a', 'c'): {
        'status': 204, 'sysmeta': {
            'versions-container': '%00versions%00c',
            'versions-enabled': 'True', 's3api-object-lock': '{}'}}}
    resp = req.get_response(versioning.filter_factory({})(store))
    assert resp.status_int == 409 and store.seen == []
