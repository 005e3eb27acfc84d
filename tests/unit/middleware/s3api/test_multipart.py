"""multipart's pure parts (ETag maths, part names, the Complete body) and
the heartbeat answer of a slow CompleteMultipartUpload, with a scripted
context at the edge in place of the pipeline."""

import hashlib

import pytest

from objstore.common.http import Response
from objstore.middleware.s3api import multipart
from objstore.middleware.s3api.context import xml_response
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.request import S3Request

ETAG = 'd41d8cd98f00b204e9800998ecf8427e'


def test_s3_etag_is_md5_of_raw_part_md5s():
    parts = [b'a' * 10, b'b']
    expected = hashlib.md5(b''.join(hashlib.md5(p).digest()
                                    for p in parts)).hexdigest() + '-2'
    assert multipart.s3_multipart_etag(
        [hashlib.md5(p).hexdigest() for p in parts]) == expected


def test_upload_ids_never_look_like_part_numbers():
    ids = {multipart.new_upload_id() for _ in range(200)}
    assert len(ids) == 200
    assert not any(multipart.PART_NUMBER.match(i) for i in ids)


def complete_xml(*parts):
    return ('<CompleteMultipartUpload>%s</CompleteMultipartUpload>' % ''.join(
        '<Part><PartNumber>%s</PartNumber><ETag>"%s"</ETag></Part>' % part
        for part in parts)).encode()


def test_complete_body_order_and_shape():
    assert multipart.parse_complete_body(
        complete_xml((1, ETAG), (3, ETAG)), 'u') == [
        (1, ETAG, {}), (3, ETAG, {})]
    for body, code in ((complete_xml((2, ETAG), (1, ETAG)),
                        'InvalidPartOrder'),
                       (complete_xml((1, ETAG), (1, ETAG)),
                        'InvalidPartOrder'),
                       (complete_xml((1, 'nothex')), 'InvalidPart'),
                       (complete_xml((10001, ETAG)), 'InvalidArgument'),
                       (complete_xml(), 'MalformedXML'),
                       (b'<oops', 'MalformedXML')):
        with pytest.raises(S3Error) as caught:
            multipart.parse_complete_body(body, 'u')
        assert caught.value.code == code


class ScriptedContext:
    """What Completion uses of an S3Context: ``call`` answers from a
    script and records the requests."""

    def __init__(self, put_body):
        self.put_body = put_body
        self.calls = []
        self.environ = {'HTTP_HOST': 'h'}
        self.trans_id = 'tx1'
        self.s3req = S3Request('POST', '/b/k', '/b/k', [('uploadId', 'u')],
                               {}, 'b', 'k')

    def call(self, method, container=None, obj=None, headers=None,
             body=None, query=None):
        self.calls.append((method, container, obj, query))
        if method == 'PUT':
            return Response(status=202, app_iter=iter(self.put_body))
        return Response(status=204)

    def xml(self, body, status=200, headers=None):
        return xml_response(body, status, headers, self.trans_id)


@pytest.fixture
def no_grace(monkeypatch):
    monkeypatch.setattr(multipart, 'HEARTBEAT_GRACE', -1)


def store(ctx):
    completion = multipart.Completion(ctx, 'u', ETAG + '-1', {})
    return completion.store({}, [{'name': 'k/u/1', 'hash': ETAG,
                                  'bytes': 0}])


def test_quick_completion_answers_plainly():
    ctx = ScriptedContext([b' ', b'\r\n\r\n{"Response Status": '
                           b'"201 Created", "Errors": []}'])
    resp = store(ctx)
    assert resp.status_int == 200
    assert b'<ETag>"%s-1"</ETag>' % ETAG.encode() in resp.body
    assert ('DELETE', 'b+segments', 'k/u', None) in ctx.calls
    assert ctx.calls[0][3] == 'multipart-manifest=put&heartbeat=on'


def test_quick_failure_keeps_its_status():
    ctx = ScriptedContext([b' ', b'{"Response Status": "400 Bad Request", '
                           b'"Errors": [["/b+segments/k/u/1", "Etag '
                           b'Mismatch"]]}'])
    with pytest.raises(S3Error) as caught:
        store(ctx)
    assert caught.value.code == 'InvalidPart'
    assert not any(call[0] == 'DELETE' for call in ctx.calls)


def test_slow_completion_sends_spaces_then_the_result(no_grace):
    ctx = ScriptedContext([b' ', b' ', b'\r\n\r\n{"Response Status": '
                           b'"201 Created", "Errors": []}'])
    resp = store(ctx)
    assert resp.status_int == 200
    body = b''.join(resp.app_iter)
    assert body.startswith(multipart.XML_DECLARATION + b' ')
    assert body.count(b'<?xml') == 1
    assert b'<CompleteMultipartUploadResult' in body
    assert ('DELETE', 'b+segments', 'k/u', None) in ctx.calls


def test_slow_failure_is_an_error_document(no_grace):
    ctx = ScriptedContext([b' ', b' ', b'{"Response Status": '
                           b'"400 Bad Request", "Errors": []}'])
    body = b''.join(store(ctx).app_iter)
    assert body.count(b'<?xml') == 1
    assert b'<Code>InvalidPart</Code>' in body
    assert not any(call[0] == 'DELETE' for call in ctx.calls)
