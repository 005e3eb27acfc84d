"""staticweb: a container served as a static web site, as Swift's.

Owns what anonymous GET/HEAD requests (and an authenticated one that sends
``X-Web-Mode: true``) of a container or object see when the container's
metadata asks for a web site:

* ``X-Container-Meta-Web-Index``: the object served for a directory path
  (``<dir>/<index>``); a directory path without its trailing slash is
  redirected (301) to the slashed one.
* ``X-Container-Meta-Web-Listings: true``: an HTML listing of a directory
  that has no index (names escaped, ``-Web-Listings-CSS`` as the style
  sheet, ``-Web-Listings-Label`` in place of the account path), else a 404
  page that says listings are off.
* ``X-Container-Meta-Web-Error``: an error answer's body is the object
  ``<status><suffix>`` (``404error.html``) when there is one.
* ``X-Container-Meta-Web-Directory-Type`` (default
  ``application/directory``): an object of that type with at most one
  byte is a directory marker, treated as a directory.

Anonymous access still needs the container's read ACL (``.r:*``, and
``.rlistings`` for listings): every object and listing read is a
subrequest carrying the client's identity and decision, and the
container page first asks the decision with the read ACL. It sits after
the auth middleware, whose ``swift.authorize`` it needs; without one it
does nothing. Must not write anything.
"""

import dataclasses
import html
import json
from urllib.parse import quote, urlparse

from objstore.common.config import ConfBase, config_true_value
from objstore.common.http import (
    HTTPNotFound, Request, Response, default_body, is_success)
from objstore.common.info import get_container_info
from objstore.common.log import get_logger
from objstore.common.subrequest import (
    add_capability, make_subrequest, path_parts)

DEFAULT_DIRECTORY_TYPE = 'application/directory'
HTML_TYPE = 'text/html; charset=UTF-8'
SIZE_SUFFIXES = 'KMGTPEZY'
LISTING_STYLE = (
    '  <style type="text/css">\n'
    '   h1 {font-size: 1em; font-weight: bold;}\n'
    '   th {text-align: left; padding: 0px 1em 0px 1em;}\n'
    '   td {padding: 0px 1em 0px 1em;}\n'
    '   a {text-decoration: none;}\n'
    '  </style>\n')
DISABLED_STYLE = (
    '  <style type="text/css">\n'
    '   h1 {font-size: 1em; font-weight: bold;}\n'
    '   p {font-size: 2}\n'
    '  </style>\n')


@dataclasses.dataclass(frozen=True)
class StaticWebConf(ConfBase):
    # scheme://host[:port] the redirects name instead of the request's.
    url_base: str = ''
    log_name: str = 'staticweb'


def human_readable(value):
    """Swift's listing size: bytes, then rounded binary units.

    >>> human_readable(1000), human_readable(1536), human_readable(1048576)
    ('1000', '2Ki', '1Mi')
    """
    value = float(value)
    index = -1
    while value >= 1024 and index + 1 < len(SIZE_SUFFIXES):
        index += 1
        value = round(value / 1024)
    if index == -1:
        return '%d' % value
    return '%d%si' % (round(value), SIZE_SUFFIXES[index])


def href(name):
    """A listing link to ``name``, relative to the page (dots quoted so
    that ``..`` cannot climb).

    >>> href('a b/..')
    'a%20b/%2E%2E'
    """
    return quote(name).replace('.', '%2E')


def css_path(css, prefix):
    """The style sheet's URL from a page listing ``prefix``.

    >>> css_path('s.css', 'a/b/'), css_path('/abs/s.css', 'a/')
    ('../../s.css', '/abs/s.css')
    """
    if css.startswith(('/', 'http://', 'https://')):
        return quote(css, ':/')
    return '../' * prefix.count('/') + quote(css)


@dataclasses.dataclass
class WebMeta:
    """The container's web settings (empty strings when unset)."""
    index: str = ''
    error: str = ''
    listings: str = ''
    listings_css: str = ''
    listings_label: str = ''
    directory_type: str = ''

    @classmethod
    def from_info(cls, info):
        if not is_success(info['status']):
            return cls()
        meta = info.get('meta', {})
        return cls(**{field.name: meta.get(
            'web-' + field.name.replace('_', '-'), '').strip()
            for field in dataclasses.fields(cls)})


def listing_rows(listing, prefix):
    """The table rows of a listing: subdirectories, then objects."""
    rows = []
    for item in listing:
        if 'subdir' in item:
            subdir = item['subdir'][len(prefix):]
            rows.append(
                '   <tr class="item subdir">\n'
                '    <td class="colname"><a href="./%s">%s</a></td>\n'
                '    <td class="colsize">&nbsp;</td>\n'
                '    <td class="coldate">&nbsp;</td>\n'
                '   </tr>\n' % (href(subdir), html.escape(subdir)))
    for item in listing:
        if 'name' in item:
            name = item['name'][len(prefix):]
            types = ' '.join('type-' + html.escape(part.lower())
                             for part in item['content_type'].split('/'))
            modified = html.escape(item['last_modified']).split('.')[0]
            rows.append(
                '   <tr class="item %s">\n'
                '    <td class="colname"><a href="./%s">%s</a></td>\n'
                '    <td class="colsize">%s</td>\n'
                '    <td class="coldate">%s</td>\n'
                '   </tr>\n' % (types, href(name), html.escape(name),
                                human_readable(item['bytes']),
                                modified.replace('T', ' ')))
    return rows


def listing_page(label, listing, prefix, css):
    """The HTML listing of ``prefix`` (Swift's page)."""
    parts = ['<!DOCTYPE html>\n<html>\n <head>\n'
             '  <title>Listing of %s</title>\n' % html.escape(label)]
    if css:
        parts.append('  <link rel="stylesheet" type="text/css" '
                     'href="%s" />\n' % css_path(css, prefix))
    else:
        parts.append(LISTING_STYLE)
    parts.append(' </head>\n <body>\n'
                 '  <h1 id="title">Listing of %s</h1>\n'
                 '  <table id="listing">\n'
                 '   <tr id="heading">\n'
                 '    <th class="colname">Name</th>\n'
                 '    <th class="colsize">Size</th>\n'
                 '    <th class="coldate">Date</th>\n'
                 '   </tr>\n' % html.escape(label))
    if prefix:
        parts.append('   <tr id="parent" class="item">\n'
                     '    <td class="colname"><a href="../">../</a></td>\n'
                     '    <td class="colsize">&nbsp;</td>\n'
                     '    <td class="coldate">&nbsp;</td>\n'
                     '   </tr>\n')
    parts.extend(listing_rows(listing, prefix))
    parts.append('  </table>\n </body>\n</html>\n')
    return ''.join(parts)


def disabled_page(label, prefix, css, index):
    """The 404 page of a directory when listings are off (Swift's)."""
    parts = ['<!DOCTYPE html>\n<html>\n<head>\n'
             '<title>Listing of %s</title>\n' % html.escape(label)]
    if css:
        parts.append('  <link rel="stylesheet" type="text/css" '
                     'href="%s" />\n' % css_path(css, prefix))
    else:
        parts.append(DISABLED_STYLE)
    parts.append(
        '</head>\n<body>'
        '  <h1>Web Listing Disabled</h1>'
        '   <p>The owner of this web site has disabled web listing.'
        '   <p>If you are the owner of this web site, you can enable'
        '   web listing by setting X-Container-Meta-Web-Listings.</p>')
    if index:
        parts.append('<h1>Index File Not Found</h1>'
                     ' <p>The owner of this web site has set '
                     ' <b>X-Container-Meta-Web-Index: %s</b>. '
                     ' However, this file is not found.</p>'
                     % html.escape(index))
    parts.append(' </body>\n</html>\n')
    return ''.join(parts)


def is_found(status):
    """A success or a redirection: what a site serves as it is."""
    return 200 <= status < 400


class WebSite:
    """One request to a container's web site (see module doc)."""

    def __init__(self, staticweb, req, names):
        self.staticweb = staticweb
        self.app = staticweb.app
        self.req = req
        self.version, self.account, self.container, self.obj = names
        self.container_path = '/%s/%s/%s' % (self.version, self.account,
                                             self.container)
        self.info = get_container_info(req.environ, self.app,
                                       swift_source='SW')
        self.meta = WebMeta.from_info(self.info)

    # ----------------------------------------------------- subrequests

    def _variant(self, path_info):
        """The client's own request (method, headers, identity) for
        another path of the container."""
        environ = dict(self.req.environ)
        environ['swift.source'] = 'SW'
        variant = Request(environ)
        variant.path_info = path_info
        return variant.get_response(self.app)

    def _get(self, path, query=''):
        sub = make_subrequest(self.req.environ, 'GET', path, source='SW')
        sub.environ['QUERY_STRING'] = query
        return sub.get_response(self.app)

    def _list(self, query):
        """(status, rows) of a JSON listing of the container."""
        resp = self._get(self.container_path, 'format=json&' + query)
        if not is_success(resp.status_int):
            return resp, None
        return resp, json.loads(resp.body or b'[]')

    # --------------------------------------------------------- answers

    def error_answer(self, resp):
        """``resp``, with the container's error page as its body when the
        site has one for that status."""
        if not self.meta.error:
            return resp
        page = self._get('%s/%d%s' % (self.container_path, resp.status_int,
                                      self.meta.error))
        if not is_success(page.status_int):
            return resp
        return Response(status=resp.status, headerlist=page.headerlist,
                        app_iter=page.app_iter)

    def redirect_with_slash(self):
        environ = dict(self.req.environ)
        url_base = self.staticweb.conf.url_base
        if url_base:
            parsed = urlparse(url_base)
            environ['wsgi.url_scheme'] = parsed.scheme
            environ['HTTP_HOST'] = parsed.netloc
        location = Request(environ).host_url + quote(
            self.req.path_info + '/')
        return Response(status=301, location=location,
                        body=default_body(301), content_type=HTML_TYPE,
                        charset=None)

    def label(self):
        path = self.req.path_info
        if self.meta.listings_label:
            return '%s/%s' % (self.meta.listings_label,
                              '/'.join(path.split('/')[4:]))
        return path

    def listing(self, prefix=''):
        """The HTML listing of ``prefix`` (a directory, with its '/')."""
        if not config_true_value(self.meta.listings):
            return self.error_answer(HTTPNotFound(
                body=disabled_page(self.label(), prefix,
                                   self.meta.listings_css,
                                   self.meta.index).encode('utf-8'),
                content_type=HTML_TYPE, charset=None))
        query = 'delimiter=/'
        if prefix:
            query += '&prefix=' + quote(prefix)
        resp, rows = self._list(query)
        if rows is None:
            return self.error_answer(resp)
        if prefix and not rows:
            return self.error_answer(HTTPNotFound())
        page = listing_page(self.label(), rows, prefix,
                            self.meta.listings_css)
        resp = Response(body=page.encode('utf-8'), content_type=HTML_TYPE,
                        charset=None)
        resp.headers['X-Backend-Content-Generator'] = 'staticweb'
        return resp

    # -------------------------------------------------------- handlers

    def handle_container(self):
        """None to pass the request on as it is, else the answer."""
        check = Request(dict(self.req.environ))
        check.environ['swift.acl'] = self.info.get('read_acl')
        denied = check.environ['swift.authorize'](check)
        if denied is not None:
            return self.error_answer(denied)
        if not self.meta.listings and not self.meta.index:
            if config_true_value(self.req.headers.get('X-Web-Mode', 'f')):
                return HTTPNotFound()
            return None
        if not self.req.path_info.endswith('/'):
            return self.redirect_with_slash()
        if not self.meta.index:
            return self.listing()
        resp = self._variant(self.req.path_info + self.meta.index)
        if resp.status_int == 404:
            return self.listing()
        if not is_found(resp.status_int):
            return self.error_answer(resp)
        return resp

    def _is_directory_marker(self, resp):
        marker_type = self.meta.directory_type or DEFAULT_DIRECTORY_TYPE
        return resp.headers.get('Content-Type') == marker_type and \
            (resp.content_length or 0) <= 1

    def handle_object(self):
        resp = self._variant(self.req.path_info)
        if is_found(resp.status_int) and not self._is_directory_marker(resp):
            return resp
        if is_found(resp.status_int):
            resp = HTTPNotFound()
        if resp.status_int != 404 or not (self.meta.listings or
                                          self.meta.index):
            return resp
        path = self.req.path_info
        if self.meta.index:
            index = self._variant(path.rstrip('/') + '/' + self.meta.index)
            if is_found(index.status_int):
                if not path.endswith('/'):
                    return self.redirect_with_slash()
                return index
            if index.status_int != 404:
                return self.error_answer(index)
        if path.endswith('/'):
            return self.listing(self.obj)
        return self._directory_redirect()

    def _directory_redirect(self):
        """A path naming a directory without its slash: redirected when
        the directory has anything in it, else 404."""
        _resp, rows = self._list('limit=1&delimiter=/&prefix=' +
                                 quote(self.obj + '/'))
        if not rows:
            return self.error_answer(HTTPNotFound())
        return self.redirect_with_slash()


class StaticWeb:
    def __init__(self, app, conf, logger=None):
        self.app = app
        self.conf = StaticWebConf.from_conf(conf)
        self.logger = logger or get_logger(conf, self.conf.log_name)

    def __call__(self, environ, start_response):
        add_capability(environ, 'staticweb')
        answer = self.web_answer(environ)
        if answer is None:
            return self.app(environ, start_response)
        return answer(environ, start_response)

    def web_answer(self, environ):
        """The site's answer, or None when the request is not a web one."""
        if environ.get('REQUEST_METHOD') not in ('GET', 'HEAD') or \
                'swift.authorize' not in environ:
            return None
        # An authenticated user's request is no web one unless it says so:
        # told from the environ before any Request is built, as most are.
        remote_user = environ.get('REMOTE_USER')
        if remote_user and remote_user != '.wsgi.tempurl' and \
                not config_true_value(environ.get('HTTP_X_WEB_MODE', 'f')):
            return None
        try:
            names = path_parts(environ, 3)
        except ValueError:
            return None
        site = WebSite(self, Request(environ), names)
        if names[3] is not None:
            return site.handle_object()
        return site.handle_container()


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: StaticWeb(app, conf)
