"""StaticWeb against the running cluster over raw HTTP, as an anonymous
browser sees a site: index pages, redirects of directory paths, HTML
listings (escaped, CSS, label), custom error pages, directory markers,
the read ACL (.r:* for pages, .rlistings for listings) and X-Web-Mode for
an authenticated client."""

import json
import uuid

import pytest

from tests.functional.raw_client import UserClient


@pytest.fixture(scope='module')
def tester(cluster):
    return UserClient(cluster, 'test:tester')


def make_site(client, acl='.r:*,.rlistings', objects=None, **meta):
    """A new container with web metadata ``meta`` and ``objects``."""
    container = '/web-%s' % uuid.uuid4().hex[:10]
    headers = {'X-Container-Read': acl}
    headers.update({'X-Container-Meta-Web-%s' % name.replace('_', '-'): v
                    for name, v in meta.items()})
    assert client('PUT', container, headers)[0] in (201, 202)
    for name, (body, content_type) in (objects or {}).items():
        status, _h, _b = client('PUT', '%s/%s' % (container, name),
                                {'Content-Type': content_type}, body)
        assert status == 201
    return container


def anonymous(client, path, method='GET', **headers):
    return client(method, path, headers, token=False)


SITE = {'index.html': (b'<p>home</p>', 'text/html'),
        'docs/index.html': (b'<p>docs</p>', 'text/html'),
        'docs/a&b <x>.txt': (b'amp', 'text/plain'),
        'empty/': (b'', 'application/directory'),
        'empty/index.html': (b'<p>marker dir</p>', 'text/html'),
        'files/one.txt': (b'1', 'text/plain'),
        '404error.html': (b'<p>custom missing</p>', 'text/html')}


def test_index_redirects_and_error_page(tester):
    site = make_site(tester, objects=SITE, index='index.html',
                     error='error.html')
    status, headers, body = anonymous(tester, site + '/')
    assert (status, body) == (200, b'<p>home</p>')
    status, headers, body = anonymous(tester, site)
    assert status == 301
    assert headers['location'].endswith(tester.account_path + site + '/')
    status, headers, _b = anonymous(tester, site + '/docs')
    assert status == 301 and headers['location'].endswith(site + '/docs/')
    assert anonymous(tester, site + '/docs/')[2] == b'<p>docs</p>'
    assert anonymous(tester, site + '/empty/')[2] == b'<p>marker dir</p>'
    status, headers, body = anonymous(tester, site + '/nothing/here')
    assert (status, body) == (404, b'<p>custom missing</p>')
    status, _h, body = anonymous(tester, site + '/', method='HEAD')
    assert (status, body) == (200, b'')


def test_listing_is_escaped_with_css_and_label(tester):
    site = make_site(tester, objects=SITE, listings='true',
                     listings_css='style.css', listings_label='My Site')
    status, headers, body = anonymous(tester, site + '/docs/')
    assert status == 200
    assert headers['content-type'] == 'text/html; charset=UTF-8'
    page = body.decode()
    assert '<title>Listing of My Site/docs/</title>' in page
    assert 'a&amp;b &lt;x&gt;%2Etxt' not in page
    assert '<a href="./a%26b%20%3Cx%3E%2Etxt">a&amp;b &lt;x&gt;.txt</a>' \
        in page
    assert '<a href="../">../</a>' in page
    assert 'href="../style.css"' in page
    root = anonymous(tester, site + '/')[2].decode()
    assert '<a href="./docs/">docs/</a>' in root
    assert '<a href="./index%2Ehtml">index.html</a>' in root
    assert anonymous(tester, site + '/nope/')[0] == 404


def test_listing_disabled_page(tester):
    site = make_site(tester, objects={'d/x': (b'x', 'text/plain')},
                     index='index.html', listings='false')
    status, _h, body = anonymous(tester, site + '/d/')
    assert status == 404
    assert b'Web Listing Disabled' in body
    assert b'X-Container-Meta-Web-Index: index.html' in body


def test_read_acl_governs_anonymous_access(tester):
    private = make_site(tester, acl='', objects=SITE, index='index.html')
    assert anonymous(tester, private + '/')[0] == 401
    assert anonymous(tester, private + '/index.html')[0] == 401
    no_listings = make_site(tester, acl='.r:*', objects=SITE,
                            listings='true')
    assert anonymous(tester, no_listings + '/files/one.txt')[2] == b'1'
    assert anonymous(tester, no_listings + '/files/')[0] == 401


def test_authenticated_clients_need_web_mode(tester):
    site = make_site(tester, objects=SITE, index='index.html')
    status, _h, body = tester('GET', site + '/')
    assert status == 200 and b'index.html' in body      # a plain listing
    status, _h, body = tester('GET', site + '/', {'X-Web-Mode': 'true'})
    assert (status, body) == (200, b'<p>home</p>')
    plain = make_site(tester)
    assert tester('GET', plain, {'X-Web-Mode': 'true'})[0] == 404


def test_not_a_site_passes_through(tester):
    plain = make_site(tester, objects={'o': (b'data', 'text/plain')})
    assert anonymous(tester, plain + '/o')[2] == b'data'
    assert anonymous(tester, plain + '/missing')[0] == 404
    status, _h, _b = tester('PUT', plain + '/o', body=b'x', token=False)
    assert status == 401


def test_info_lists_staticweb(tester):
    info = json.loads(tester('GET', '', account_path='/info')[2])
    assert 'staticweb' in info
