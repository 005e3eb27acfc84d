"""DeleteObject's Swift requests, in process (s3api over tempauth over a
scripted app standing for the proxy, the edge): a key of a bucket that
never had versioning goes with one DELETE carrying
``X-Backend-Delete-If-Plain``, no HEAD; the object servers' 412 (a
multipart manifest, a symlink) or a 404 sends it the HEAD-then-delete
way; a versioned bucket, a first request of an access key and a signer
who does not own the account take that way from the start."""

import json
from urllib.parse import parse_qs

import pytest

from objstore.common.conditional import DELETE_IF_PLAIN_HEADER
from objstore.common.http import Request, Response
from objstore.common.info import is_info_lookup
from objstore.middleware.s3api.registry import REGISTRY_ACCOUNT
from tests.unit.middleware.s3api.test_middleware import (
    s3_pipeline, signed_environ)


class ScriptedObjects:
    """The app below tempauth: one bucket ``b`` of AUTH_test holding
    ``objects`` (name -> 'plain' or 'manifest'), its container headers
    ``bucket_headers``; records (method, path, query, plain-only) of
    every request but info lookups."""

    def __init__(self):
        self.objects = {}
        self.bucket_headers = {}
        self.seen = []

    def _bucket(self, req):
        """The bucket's (or the account's) HEAD."""
        return Response(status=204, headers=self.bucket_headers)

    def _head(self, name):
        kind = self.objects.get(name)
        if kind is None:
            return Response(status=404)
        return Response(status=200, headers={
            'X-Static-Large-Object': 'True' if kind == 'manifest'
            else 'False'})

    def _delete(self, req, name, query):
        kind = self.objects.get(name)
        if kind is None:
            return Response(status=404)
        if kind != 'plain' and DELETE_IF_PLAIN_HEADER in req.headers:
            return Response(status=412)
        del self.objects[name]
        if query.get('multipart-manifest') == ['delete']:
            return Response(status=200, body=json.dumps(
                {'Response Status': '200 OK'}).encode())
        return Response(status=204)

    def answer(self, req):
        parts = req.path.split('/', 4)
        query = parse_qs(req.query_string, keep_blank_values=True)
        if len(parts) < 5:
            return self._bucket(req)
        if req.method == 'HEAD':
            return self._head(parts[4])
        return self._delete(req, parts[4], query)

    def __call__(self, environ, start_response):
        req = Request(environ)
        if req.path.startswith('/v1/%s/' % REGISTRY_ACCOUNT):
            return Response(status=404)(environ, start_response)
        if not is_info_lookup(environ):
            self.seen.append((req.method, req.path, req.query_string,
                              DELETE_IF_PLAIN_HEADER in req.headers))
        denied = environ['swift.authorize'](req)
        if denied is not None:
            return denied(environ, start_response)
        return self.answer(req)(environ, start_response)


@pytest.fixture
def pipeline(monkeypatch):
    objects = ScriptedObjects()
    return s3_pipeline(monkeypatch, objects, {
        'user_test_tester': 'testing .admin',
        'user_test_other': 'other'}), objects


def delete(middleware, key, **signer):
    return signed_environ('DELETE', '/b/' + key, **signer).get_response(
        middleware)


def known_signer(pipeline, **signer):
    """The middleware and app after one request of the access key."""
    middleware, objects = pipeline
    delete(middleware, 'warm-up', **signer)
    objects.seen.clear()
    return middleware, objects


def test_plain_key_is_one_delete_without_head(pipeline):
    middleware, objects = known_signer(pipeline)
    objects.objects['k'] = 'plain'
    assert delete(middleware, 'k').status_int == 204
    assert objects.seen == [('DELETE', '/v1/AUTH_test/b/k', '', True)]
    assert objects.objects == {}


def test_first_request_of_an_access_key_looks_first(pipeline):
    middleware, objects = pipeline
    objects.objects['k'] = 'plain'
    assert delete(middleware, 'k').status_int == 204
    assert objects.seen == [
        ('HEAD', '/v1/AUTH_test/b/k', 'symlink=get', False),
        ('DELETE', '/v1/AUTH_test/b/k', '', False)]


def test_refused_manifest_goes_with_its_segments(pipeline):
    middleware, objects = known_signer(pipeline)
    objects.objects['mp'] = 'manifest'
    assert delete(middleware, 'mp').status_int == 204
    assert objects.seen == [
        ('DELETE', '/v1/AUTH_test/b/mp', '', True),
        ('HEAD', '/v1/AUTH_test/b/mp', 'symlink=get', False),
        ('DELETE', '/v1/AUTH_test/b/mp', 'multipart-manifest=delete',
         False)]
    assert objects.objects == {}


def test_missing_key_is_looked_at_once_more(pipeline):
    """A 404 may hide a manifest on fewer nodes than a quorum: the HEAD
    (which tries every node) tells; when it finds nothing either, the
    DELETE already wrote its tombstones and none is sent again."""
    middleware, objects = known_signer(pipeline)
    assert delete(middleware, 'ghost').status_int == 204
    assert objects.seen == [
        ('DELETE', '/v1/AUTH_test/b/ghost', '', True),
        ('HEAD', '/v1/AUTH_test/b/ghost', 'symlink=get', False),
        ('HEAD', '/v1/AUTH_test/b', '', False)]


@pytest.mark.parametrize('sysmeta', [
    'X-Container-Sysmeta-Versions-Enabled',
    'X-Container-Sysmeta-Versions-Container',
    'X-Container-Sysmeta-Versions-Location',
    'X-Container-Sysmeta-S3api-Object-Lock'])
def test_versioned_or_locked_bucket_keeps_its_way(pipeline, sysmeta):
    middleware, objects = known_signer(pipeline)
    objects.bucket_headers[sysmeta] = 'x'
    objects.objects['k'] = 'plain'
    assert delete(middleware, 'k').status_int == 204
    assert objects.seen == [
        ('HEAD', '/v1/AUTH_test/b/k', 'symlink=get', False),
        ('DELETE', '/v1/AUTH_test/b/k', '', False)]


def test_signer_who_does_not_own_the_account_looks_first(pipeline):
    """The HEAD that Swift's s3api sends first needs read access, which an
    ACL may refuse: for anyone but the account's owner it stays."""
    signer = {'user': 'test:other', 'secret': 'other'}
    middleware, objects = known_signer(pipeline, **signer)
    objects.objects['k'] = 'plain'
    resp = delete(middleware, 'k', **signer)
    assert (resp.status_int, b'AccessDenied' in resp.body) == (403, True)
    assert objects.seen == [
        ('HEAD', '/v1/AUTH_test/b/k', 'symlink=get', False)]
    assert objects.objects == {'k': 'plain'}
