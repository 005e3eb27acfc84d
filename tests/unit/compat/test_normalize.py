"""The harness's normalizer, request builder and placeholders: no
cluster."""

from compat.client import build_request
from compat.corpus import Request
from compat.normalize import Answer, Secrets, differences, normalize
from compat.runner import fill, wire_path

SWIFT = Secrets(host='127.0.0.1:1111', tokens=('AUTH_tkswift',))
OURS = Secrets(host='127.0.0.1:2222', tokens=('AUTH_tkours',))


def answer(status=200, headers=(), body=b''):
    return Answer(status=status, headers=tuple(headers), body=body)


def test_volatile_headers_are_masked_but_kept():
    swift = normalize(answer(headers=[
        ('X-Trans-Id', 'tx1'), ('Date', 'Mon, 30 Nov 2026 10:00:00 GMT'),
        ('X-Timestamp', '1700000000.00000'),
        ('X-Auth-Token', 'AUTH_tkswift')]), SWIFT)
    ours = normalize(answer(headers=[
        ('x-trans-id', 'tx2'), ('Date', 'Mon, 30 Nov 2026 10:00:01 GMT'),
        ('X-Timestamp', '1700000001.00000'),
        ('X-Auth-Token', 'AUTH_tkours')]), OURS)
    assert differences(swift, ours) == []
    missing = normalize(answer(headers=[('X-Trans-Id', 'tx2')]), OURS)
    assert differences(swift, missing) == [
        'header only from swift: Date: <date>',
        'header only from swift: X-Auth-Token: <token>',
        'header only from swift: X-Timestamp: <ts>']


def test_body_dates_hosts_tokens_and_trans_ids_are_masked():
    swift = normalize(answer(
        headers=[('X-Trans-Id', 'txabc'), ('Etag', 'aaa')],
        body=b'[{"last_modified": "2026-11-30T10:00:00.123450"}] '
             b'http://127.0.0.1:1111/v1 AUTH_tkswift txabc 1700000000.12345'),
        SWIFT)
    ours = normalize(answer(
        headers=[('X-Trans-Id', 'txdef'), ('Etag', 'bbb')],
        body=b'[{"last_modified": "2026-11-30T10:00:02.000010"}] '
             b'http://127.0.0.1:2222/v1 AUTH_tkours txdef 1700000002.00000'),
        OURS)
    assert differences(swift, ours) == []
    assert swift.body == (b'[{"last_modified": "<date>"}] http://<host>/v1 '
                          b'<token> <txid> <ts>')


def test_staticweb_listing_dates_are_masked():
    page = b'<td class="coldate">%s</td>'
    swift = normalize(answer(body=page % b'2026-11-30 14:37:12'), SWIFT)
    ours = normalize(answer(body=page % b'2026-11-30 14:37:15'), OURS)
    assert differences(swift, ours) == []
    assert swift.body == page % b'<date>'


def test_etag_of_an_unmasked_body_is_compared():
    swift = normalize(answer(headers=[('Etag', 'aaa')], body=b'x'), SWIFT)
    ours = normalize(answer(headers=[('Etag', 'bbb')], body=b'x'), OURS)
    assert differences(swift, ours) == ["header Etag: swift 'aaa', "
                                        "objstore 'bbb'"]


def test_status_header_and_body_differences_are_each_listed():
    swift = normalize(answer(412, [('Content-Type', 'text/html')],
                             b'<html>'), SWIFT)
    ours = normalize(answer(200, [('content-type', 'text/plain'),
                                  ('X-Extra', '1')], b'ok'), OURS)
    assert differences(swift, ours) == [
        'status: swift 412, objstore 200',
        "header Content-Type: swift 'text/html', objstore 'text/plain'",
        'header only from objstore: X-Extra: 1',
        "body: swift b'<html>', objstore b'ok'"]


def test_repeated_headers_are_joined():
    one = normalize(answer(headers=[('Vary', 'a'), ('vary', 'b')]), SWIFT)
    assert dict(one.headers)['vary'] == ('Vary', 'a, b')


def test_multipart_boundaries_are_masked():
    def ranges(boundary):
        return answer(206, [('Content-Type', 'multipart/byteranges; '
                                             'boundary=' + boundary)],
                      b'--%s\r\nhe\r\n--%s--' % (boundary.encode(),
                                                 boundary.encode()))
    swift = normalize(ranges('abc123'), SWIFT)
    assert differences(swift, normalize(ranges('ffee99'), OURS)) == []
    assert swift.body == b'--<boundary>\r\nhe\r\n--<boundary>--'


def test_allow_is_compared_as_a_set():
    swift = normalize(answer(405, [('Allow', 'HEAD, GET, POST')]), SWIFT)
    ours = normalize(answer(405, [('Allow', 'GET, HEAD, POST')]), OURS)
    assert differences(swift, ours) == []
    fewer = normalize(answer(405, [('Allow', 'GET, HEAD')]), OURS)
    assert differences(swift, fewer) == [
        "header Allow: swift 'GET, HEAD, POST', objstore 'GET, HEAD'"]


def test_no_answer_is_a_difference_only_when_the_other_answered():
    gone = Answer(status=0, error='timed out after 30s')
    assert differences(gone, gone) == []
    assert differences(normalize(answer(), SWIFT), gone) == [
        "no answer: swift '', objstore 'timed out after 30s'"]


def test_placeholders():
    values = {'acct': 'AUTH_k0001', 'acct2': 'AUTH_k0001b',
              'home': 'AUTH_test', 'token': 't'}
    assert fill('${acct}/${acct2}/${home}/${token}/${x}', values, 0) == \
        'AUTH_k0001/AUTH_k0001b/AUTH_test/t/${x}'
    assert fill('${now+60} ${now-1}', values, 1000.7) == '1060 999'
    assert fill('${httpdate+86400}', values, 0) == \
        'Fri, 02 Jan 1970 00:00:00 GMT'


def test_wire_path_relative_absolute_and_raw_bytes():
    values = {'acct': 'AUTH_k7'}
    assert wire_path(Request('GET', ''), values, 0) == b'/v1/AUTH_k7'
    assert wire_path(Request('GET', '?format=json'), values, 0) == \
        b'/v1/AUTH_k7?format=json'
    assert wire_path(Request('GET', 'c/\xe9'), values, 0) == \
        b'/v1/AUTH_k7/c/\xc3\xa9'
    assert wire_path(Request('GET', 'c/\xff', encoding='latin-1'),
                     values, 0) == b'/v1/AUTH_k7/c/\xff'
    assert wire_path(Request('GET', '/info'), values, 0) == b'/info'


def test_request_bytes_frame_the_body_once():
    raw = build_request('PUT', b'/v1/a/c/\xff', [('X-A', b'1')], b'abc',
                        'h:1')
    assert raw == (b'PUT /v1/a/c/\xff HTTP/1.1\r\nHost: h:1\r\nX-A: 1\r\n'
                   b'Content-Length: 3\r\nConnection: close\r\n\r\nabc')
    chunked = build_request('PUT', b'/p', [('Transfer-Encoding',
                                            b'chunked')], b'0\r\n\r\n', 'h')
    assert b'Content-Length' not in chunked
    assert b'Content-Length' not in build_request('GET', b'/p', [], b'', 'h')


def test_slo_listing_rows_mask_the_manifest_md5_only():
    def row(manifest_md5, slo_etag):
        return ('[{"bytes": 10, "hash": "%s", "name": "m", "slo_etag": '
                '"\\"%s\\""}, {"bytes": 5, "hash": "%s", "name": "s"}]'
                % (manifest_md5, slo_etag, 'c' * 32)).encode()
    swift = normalize(answer(body=row('a' * 32, 'e' * 32)), SWIFT)
    ours = normalize(answer(body=row('b' * 32, 'e' * 32)), OURS)
    assert differences(swift, ours) == []
    assert ('"hash": "%s"' % ('c' * 32)).encode() in ours.body
    other_slo = normalize(answer(body=row('b' * 32, 'f' * 32)), OURS)
    assert differences(swift, other_slo) != []
