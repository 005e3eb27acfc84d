"""staticweb in front of a stand-in proxy: a container whose web
metadata and objects are dicts, answering HEAD (info), object GETs and
JSON listings, and authorizing reads with the container's read ACL as
the real proxy does. Also the page builders, directly."""

import json

import pytest

from objstore.common.http import Request, Response
from objstore.middleware import staticweb as staticweb_module
from objstore.middleware.staticweb import (
    StaticWeb, StaticWebConf, human_readable, listing_page)
from tests.helpers import assert_sample_matches


class FakeProxy:
    def __init__(self, meta, objects, read_acl='.r:*,.rlistings'):
        self.meta = meta
        self.objects = objects
        self.read_acl = read_acl

    def __call__(self, environ, start_response):
        req = Request(environ)
        parts = req.path_info.split('/', 4)
        if len(parts) == 4:
            return self.container(req)(environ, start_response)
        body, content_type = self.objects.get(parts[4], (None, None))
        if body is None:
            return Response(status=404)(environ, start_response)
        return Response(body=body, content_type=content_type,
                        charset=None)(environ, start_response)

    def container(self, req):
        if req.method == 'HEAD':
            headers = {'X-Container-Meta-Web-%s' % k: v
                       for k, v in self.meta.items()}
            headers['X-Container-Read'] = self.read_acl
            return Response(status=204, headers=headers)
        prefix = req.GET.get('prefix', '')
        rows, subdirs = [], set()
        for name, (body, content_type) in sorted(self.objects.items()):
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix):]
            if '/' in rest:
                subdirs.add(prefix + rest.split('/')[0] + '/')
                continue
            rows.append({'name': name, 'bytes': len(body),
                         'content_type': content_type,
                         'last_modified': '2024-05-06T07:08:09.123456'})
        rows += [{'subdir': s} for s in sorted(subdirs)]
        return Response(body=json.dumps(rows).encode(),
                        content_type='application/json', charset=None)


def anonymous_allowed(req):
    """tempauth's verdict for an anonymous reader: .r:* lets objects
    through, .rlistings containers too."""
    acl = req.environ.get('swift.acl') or ''
    is_container = req.path_info.rstrip('/').count('/') == 3
    if '.r:*' in acl and (not is_container or '.rlistings' in acl):
        return None
    return Response(status=401)


def get(app, path, **headers):
    req = Request.blank(path, headers=headers,
                        environ={'swift.authorize': anonymous_allowed,
                                 'HTTP_HOST': 'example.com'})
    return req.get_response(app)


def site(meta, objects, conf=None, **kwargs):
    return StaticWeb(FakeProxy(meta, objects, **kwargs), conf or {})


def test_container_without_slash_redirects_to_url_base():
    app = site({'Index': 'index.html'}, {'index.html': (b'hi', 'text/html')},
               conf={'url_base': 'https://web.example.org'})
    resp = get(app, '/v1/AUTH_a/c')
    assert resp.status_int == 301
    assert resp.headers['Location'] == \
        'https://web.example.org/v1/AUTH_a/c/'
    assert get(app, '/v1/AUTH_a/c/').body == b'hi'


def test_error_page_replaces_body_keeps_status():
    app = site({'Index': 'index.html', 'Error': '.html'},
               {'404.html': (b'lost', 'text/html')})
    resp = get(app, '/v1/AUTH_a/c/missing')
    assert (resp.status_int, resp.body) == (404, b'lost')


def test_directory_marker_serves_index_of_its_directory():
    app = site({'Index': 'index.html', 'Directory-Type': 'x/dir'},
               {'d': (b'', 'x/dir'), 'd/index.html': (b'in d', 'text/html')})
    assert get(app, '/v1/AUTH_a/c/d').status_int == 301
    assert get(app, '/v1/AUTH_a/c/d/').body == b'in d'


def test_listing_needs_rlistings():
    objects = {'a.txt': (b'a', 'text/plain')}
    app = site({'Listings': 'on'}, objects, read_acl='.r:*')
    assert get(app, '/v1/AUTH_a/c/').status_int == 401
    app = site({'Listings': 'on'}, objects)
    page = get(app, '/v1/AUTH_a/c/').body.decode()
    assert '<td class="coldate">2024-05-06 07:08:09</td>' in page


def test_authenticated_request_passes_untouched():
    app = site({'Index': 'index.html'}, {'index.html': (b'hi', 'text/html')})
    req = Request.blank('/v1/AUTH_a/c', environ={
        'swift.authorize': anonymous_allowed, 'REMOTE_USER': 'test,AUTH_a'})
    assert req.get_response(app).content_type == 'application/json'


def test_listing_page_escapes_names_and_label():
    page = listing_page('<b>', [
        {'subdir': 'p/<s>/'},
        {'name': 'p/"q"&.txt', 'bytes': 2048, 'content_type': 'a/<b>',
         'last_modified': '2024-01-01T00:00:00.5'}], 'p/', '')
    assert '<title>Listing of &lt;b&gt;</title>' in page
    assert '<a href="./%3Cs%3E/">&lt;s&gt;/</a>' in page
    assert '<a href="./%22q%22%26%2Etxt">&quot;q&quot;&amp;.txt</a>' in page
    assert 'class="item type-a type-&lt;b&gt;"' in page
    assert '<td class="colsize">2Ki</td>' in page


def test_human_readable_matches_swift():
    assert [human_readable(n) for n in (0, 1023, 1024, 1535, 1536,
                                        5 * 1024 ** 3)] == \
        ['0', '1023', '1Ki', '1Ki', '2Ki', '5Gi']


def test_sample_config_lists_every_option():
    assert_sample_matches(StaticWebConf, 'etc/proxy-server.conf-sample',
                          'filter:staticweb', ignore=('use',))


def test_authenticated_request_passes_without_a_request_object(monkeypatch):
    """A logged-in user's GET (no X-Web-Mode) is no web request: told from
    the environ alone, before any Request is built (most requests)."""
    monkeypatch.setattr(staticweb_module, 'Request', lambda *_a, **_k: pytest.fail(
        'Request built for a plain request'))
    seen = []

    def app(environ, start_response):
        seen.append(environ['PATH_INFO'])
        start_response('200 OK', [('Content-Length', '0')])
        return [b'']
    environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/v1/AUTH_a/c/o',
               'swift.authorize': lambda req: None,
               'REMOTE_USER': 'AUTH_a,test:tester', 'wsgi.input': None}
    StaticWeb(app, {})(environ, lambda *_a: None)
    assert seen == ['/v1/AUTH_a/c/o']
