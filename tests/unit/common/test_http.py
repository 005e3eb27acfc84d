import pytest

from objstore.common import http


@pytest.mark.parametrize('path,args,expected', [
    ('/a', (1, 3), ['a', None, None]),
    ('/a/c/o', (1, 3), ['a', 'c', 'o']),
    ('/d/p/a/c/o/x/y', (3, 5, True), ['d', 'p', 'a', 'c', 'o/x/y']),
    ('/d/p/a', (3, 5, True), ['d', 'p', 'a', None, None]),
    ('/a/', (1, 2), ['a', None]),
])
def test_split_path(path, args, expected):
    assert http.split_path(path, *args) == expected


@pytest.mark.parametrize('path,args', [
    ('a', (1, 1)), ('/', (1, 1)), ('/a/b', (1, 1)), ('//a', (1, 2)),
    ('/a//c', (1, 3)), ('/d/p', (3, 5, True)), ('/d//a/c', (3, 5, True))])
def test_split_path_rejects(path, args):
    with pytest.raises(ValueError):
        http.split_path(path, *args)


def test_status_classes_and_text_error():
    assert http.is_success(201) and not http.is_success(304)
    assert http.is_client_error(404) and http.is_server_error(507)
    resp = http.text_error(http.HTTPBadRequest, 'Missing X-Timestamp')
    assert resp.status_int == 400
    assert resp.body == b'Missing X-Timestamp'
    assert resp.headers['Content-Type'] == 'text/plain'
    assert http.HTTPClientDisconnect().status_int == 499


def _answer(resp, method='GET'):
    return http.Request.blank('/', method=method).get_response(resp)


@pytest.mark.parametrize('resp, body', [
    (http.HTTPNotFound(), b'<html><h1>Not Found</h1><p>The resource could '
                          b'not be found.</p></html>'),
    (http.HTTPAccepted(), b'<html><h1>Accepted</h1><p>The request is '
                          b'accepted for processing.</p></html>'),
    (http.Response(status=403), b'<html><h1>Forbidden</h1><p>Access was '
                                b'denied to this resource.</p></html>'),
    (http.HTTPCreated(), b''), (http.HTTPNoContent(), b''),
])
def test_body_less_answers_get_swifts_default_body(resp, body):
    answer = _answer(resp)
    assert answer.body == body
    assert answer.headers['Content-Type'] == 'text/html; charset=UTF-8'
    assert answer.headers['Content-Length'] == str(len(body))


def test_status_exceptions_are_responses_and_exceptions():
    for resp in (http.HTTPRequestTimeout(), http.HTTPClientDisconnect()):
        assert isinstance(resp, http.Response)
        assert isinstance(resp, http.HTTPException)


def test_head_answer_gets_no_default_body_and_keeps_its_length():
    assert _answer(http.HTTPNotFound(), 'HEAD').headers[
        'Content-Length'] == '0'
    resp = http.Response(status=200, app_iter=[],
                         headerlist=[('Content-Length', '11')])
    assert _answer(resp, 'HEAD').headers['Content-Length'] == '11'


def test_answer_with_a_body_keeps_it():
    answer = _answer(http.html_error(http.HTTPPreconditionFailed, 'Bad URL'))
    assert answer.body == b'Bad URL'
    assert answer.headers['Content-Type'] == 'text/html; charset=UTF-8'


def test_request_headers_name_headers_as_webobs_view_does():
    environ = {'REQUEST_METHOD': 'PUT', 'PATH_INFO': '/a',
               'CONTENT_TYPE': 'text/plain', 'CONTENT_LENGTH': '3',
               'HTTP_X_OBJECT_META_COLOR_NAME': 'red',
               'HTTP_ETAG': 'e', 'HTTP_X_TIMESTAMP': '1.00000',
               'wsgi.input': None, 'SERVER_PORT': '80'}
    snapshot = http.request_headers(environ)
    assert snapshot == dict(http.Request(environ).headers.items())
    assert snapshot['X-Object-Meta-Color-Name'] == 'red'
