"""RelayedResponse sends what webob's Response (common.http) would."""

import pytest

from objstore.common.http import RelayedResponse, Response


def sent(answer, method):
    started = []
    body = answer({'REQUEST_METHOD': method, 'wsgi.url_scheme': 'http',
                   'HTTP_HOST': 'proxy:8080', 'SCRIPT_NAME': '',
                   'PATH_INFO': '/v1/a/c/o'},
                  lambda status, headers, exc_info=None:
                  started.append((status, sorted(headers))))
    chunks = list(body)
    getattr(body, 'close', lambda: None)()
    return started, chunks


HEADERS = [
    [('Content-Type', 'text/plain'), ('Content-Length', '3'),
     ('Etag', '"x"'), ('X-Object-Meta-A', 'b')],
    [('Etag', '"x"')],
    [('Content-Length', '3'), ('Location', '/v1/a/c/other')],
]


@pytest.mark.parametrize('headers', HEADERS)
@pytest.mark.parametrize('method', ['GET', 'HEAD'])
@pytest.mark.parametrize('status', [200, 204, 206, 299])
def test_relayed_as_webob_would(headers, method, status):
    body = [] if method == 'HEAD' else [b'abc']
    assert sent(RelayedResponse(status, list(headers), list(body)),
                method) == \
        sent(Response(status=status, headerlist=list(headers),
                      app_iter=list(body)), method)


def test_headers_view_edits_the_list():
    answer = RelayedResponse(200, [('Content-Length', '0')], [])
    answer.headers['Access-Control-Allow-Origin'] = '*'
    assert ('Access-Control-Allow-Origin', '*') in answer.headerlist
    assert answer.status == '200 OK'
