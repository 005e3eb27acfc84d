"""Swift compatibility (issue 10) of copies, conditional requests, expiry
guards and POST's Content-Type, against the running cluster over raw HTTP:
each test pins what upstream Swift 2.38 answers to the same request (the
differential harness's cases named in each docstring)."""

import uuid

import pytest

from tests.functional.test_gatekeeper import (  # noqa: F401 -- fixture
    PRIVATE, Client, probe_proxy, probe_read)

ETAG = '5eb63bbbe01eeed093cb22bb8f5acdc3'  # md5 of b'hello world'
PRECONDITION_FAILED = (
    b'<html><h1>Precondition Failed</h1><p>A precondition for this request '
    b'was not met.</p></html>')


@pytest.fixture(scope='module')
def client(cluster):
    return Client(cluster.proxy_url, cluster.get_token('test:tester')[1])


@pytest.fixture
def container(client):
    name = 'cc-' + uuid.uuid4().hex[:8]
    assert client('PUT', '/' + name)[0] == 201
    return name


@pytest.fixture
def source(client, container):
    """``/<container>/o`` holding ``hello world``; its path."""
    path = '/%s/o' % container
    assert client('PUT', path, {'Content-Type': 'a/b'}, b'hello world')[0] \
        == 201
    return path


# -- copy ------------------------------------------------------------------

def test_copy_with_range_copies_that_range(client, container, source):
    """copy-with-range-then-get, copy-from-range-then-get."""
    status, headers, _ = client('COPY', source, {
        'Destination': '%s/o2' % container, 'Range': 'bytes=1-3'})
    assert status == 201
    assert client('GET', '/%s/o2' % container)[2] == b'ell'
    assert client('PUT', '/%s/o3' % container, {
        'X-Copy-From': source, 'Range': 'bytes=-5'})[0] == 201
    status, headers, body = client('GET', '/%s/o3' % container)
    assert body == b'world' and headers['Content-Type'] == 'a/b'


def test_copy_unsatisfiable_range_is_416(client, container, source):
    """copy-with-bad-range, copy-from-range-unsatisfiable: nothing copied."""
    assert client('COPY', source, {'Destination': '%s/o2' % container,
                                   'Range': 'bytes=50-60'})[0] == 416
    assert client('PUT', '/%s/o2' % container, {
        'X-Copy-From': source, 'Range': 'bytes=100-'})[0] == 416
    assert client('HEAD', '/%s/o2' % container)[0] == 404


def test_copy_from_with_a_body_is_400(client, container, source):
    """copy-from-with-body, bad-x-copy-from-and-body-length."""
    status, headers, body = client('PUT', '/%s/o2' % container,
                                   {'X-Copy-From': source}, b'body too')
    assert (status, body) == (400, b'Copy requests require a zero byte body')
    assert headers['Content-Type'] == 'text/plain'
    assert client('HEAD', '/%s/o2' % container)[0] == 404


def test_empty_copy_headers_are_ignored(client, container, source):
    """copy-from-empty: a plain PUT; copy-from-account-empty: the request's
    own account is the source's."""
    status, headers, _ = client('PUT', '/%s/o2' % container,
                                {'X-Copy-From': ''}, b'')
    assert status == 201
    assert client('GET', '/%s/o2' % container)[2] == b''
    status, headers, _ = client('PUT', '/%s/o3' % container, {
        'X-Copy-From': source, 'X-Copy-From-Account': ''})
    assert status == 201 and headers['X-Copied-From-Account'] == 'AUTH_test'
    assert client('GET', '/%s/o3' % container)[2] == b'hello world'


def test_copy_answer_lists_the_copy_metadata(client, container):
    """copy-with-meta: the answer shows the old and the new metadata."""
    path = '/%s/o' % container
    assert client('PUT', path, {'X-Object-Meta-Old': '1'}, b'x')[0] == 201
    status, headers, _ = client('COPY', path, {
        'Destination': '%s/o2' % container, 'X-Object-Meta-New': 'yes'})
    assert status == 201
    assert (headers.get('X-Object-Meta-Old'),
            headers.get('X-Object-Meta-New')) == ('1', 'yes')


@pytest.mark.parametrize('fresh, expected', [
    (None, 'both'), ('true', 'sysmeta only')])
def test_copy_carries_the_source_sysmeta(probe_proxy, container, fresh,
                                         expected):
    """Swift's copy keeps the source's sysmeta always, its transient sysmeta
    unless X-Fresh-Metadata; the client still never sees either."""
    tag = 'Cp' + uuid.uuid4().hex[:10]
    path = '/%s/o' % container
    assert probe_proxy('PUT', path, {'X-Probe-Set': tag}, b'x')[0] == 201
    headers = {'Destination': '%s/o2' % container}
    if fresh:
        headers['X-Fresh-Metadata'] = fresh
    status, answer, _ = probe_proxy('COPY', path, headers)
    assert status == 201
    assert [h for h in answer if h.lower().startswith(PRIVATE)] == []
    found = probe_read(probe_proxy, '/%s/o2' % container, tag)
    assert found == {'both': (tag, tag), 'sysmeta only': (tag, None)}[
        expected]


# -- conditional requests --------------------------------------------------

@pytest.mark.parametrize('method', ['GET', 'HEAD'])
def test_swift_conditional_answers(client, container, source, method):
    """cond-*-if-match-6, cond-*-missing-if-match,
    cond-*-im-fail-and-inm-match."""
    assert client(method, source, {'If-Match': ''})[0] == 412
    assert client(method, '/%s/nothing' % container,
                  {'If-Match': '*'})[0] == 412
    assert client(method, source, {'If-Match': 'x',
                                   'If-None-Match': ETAG})[0] == 304
    assert client(method, '/%s/nothing' % container,
                  {'If-None-Match': '*'})[0] == 404


@pytest.mark.parametrize('value', [ETAG, 'abc', ''])
def test_put_if_none_match_only_supports_star(client, container, source,
                                              value):
    """cond-put-if-none-match-{new,exists}-{2,4,5}: nothing written."""
    for path in (source, '/%s/new' % container):
        status, _, body = client('PUT', path, {'If-None-Match': value}, b'x')
        assert (status, body.rstrip(b'\n')) == (
            400, b'If-None-Match only supports *')
    assert client('GET', source)[2] == b'hello world'
    assert client('HEAD', '/%s/new' % container)[0] == 404


@pytest.mark.parametrize('value', ['*', '"*"', '*, abc'])
def test_put_if_none_match_star_forms(client, container, source, value):
    """cond-put-if-none-match-{new,exists}-{0,1,3}."""
    status, _, body = client('PUT', source, {'If-None-Match': value}, b'x')
    assert (status, body) == (412, PRECONDITION_FAILED)
    assert client('PUT', '/%s/new' % container, {'If-None-Match': value},
                  b'x')[0] == 201


# -- expiry ------------------------------------------------------------------

@pytest.mark.parametrize('value', ['abc', ''])
def test_if_delete_at_not_a_time_is_400(client, container, value):
    """if-delete-at-garbage, if-delete-at-empty: the object stays."""
    path = '/%s/o' % container
    assert client('PUT', path, {'X-Delete-At': '4000000000'}, b'x')[0] == 201
    status, _, body = client('DELETE', path, {'X-If-Delete-At': value})
    assert status == 400
    assert body.startswith(b'Bad X-If-Delete-At header value')
    assert client('HEAD', path)[0] == 200


def test_if_delete_at_on_a_missing_object_is_404(client, container):
    """if-delete-at-missing-object."""
    assert client('DELETE', '/%s/nothing' % container,
                  {'X-If-Delete-At': '4000000000'})[0] == 404


def test_if_delete_at_mismatch_text(client, container):
    """if-delete-at-mismatch: Swift's words."""
    path = '/%s/o' % container
    assert client('PUT', path, {'X-Delete-At': '4000000000'}, b'x')[0] == 201
    status, _, body = client('DELETE', path,
                             {'X-If-Delete-At': '4000000001'})
    assert status == 412
    assert body.startswith(b'X-If-Delete-At and X-Delete-At do not match')


@pytest.mark.parametrize('method', ['PUT', 'POST'])
def test_delete_after_zero_names_x_delete_after(client, source, method):
    """expire-put-after-0, expire-post-after-0."""
    status, _, body = client(method, source, {'X-Delete-After': '0'},
                             b'x' if method == 'PUT' else None)
    assert status == 400 and body.startswith(b'X-Delete-After in past')


# -- POST and Content-Type ---------------------------------------------------

def test_post_keeps_or_changes_content_type(client, source):
    """meta-object-post-replaces, post-content-type-change."""
    assert client('POST', source, {'X-Object-Meta-B': '2'})[0] == 202
    assert client('HEAD', source)[1]['Content-Type'] == 'a/b'
    assert client('POST', source, {'Content-Type': 'text/x'})[0] == 202
    assert client('HEAD', source)[1]['Content-Type'] == 'text/x'
