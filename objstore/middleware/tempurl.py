"""tempurl: temporary URLs, Swift's TempURL middleware.

A URL carrying ``temp_url_sig`` and ``temp_url_expires`` grants its method
on one object (or, with ``temp_url_prefix``, on every object under a
prefix) until it expires, without a token: the signature is an HMAC
(common.digest) of ``[ip=<range>\\n]<METHOD>\\n<expires>\\n<path>`` with one
of the keys in the account's or the container's metadata
(``X-Account-Meta-Temp-URL-Key[-2]``, ``X-Container-Meta-Temp-URL-Key[-2]``;
the proxy shows and takes them from owners only). A HEAD may use a GET,
PUT or POST signature. ``temp_url_ip_range`` limits the client addresses,
``filename``/``inline`` shape the Content-Disposition of a GET.

Owns checking the signature and claiming the request (common.access) with
the key's scope: an account key's URL is authorized for its account, a
container key's for its container only, so that middlewares further down
(large objects, symlinks) stay inside what the key could sign. A request
whose signature fails gets Swift's 401 ``Temp URL invalid``; one without
the query parameters passes through untouched. It also owns the header
filtering Swift applies to such requests (``incoming_*``/``outgoing_*``
options) and refuses a PUT/POST that would store a pointer to other data
(X-Object-Manifest, X-Symlink-Target, X-Copy-From).

FormPost checks its signatures with the same keys (``scoped_keys``).
"""

import calendar
import dataclasses
import ipaddress
import os
import time
from urllib.parse import parse_qs, quote, urlencode

from objstore.common.access import (
    claim, realm_of, swift_error, unauthorized_realm)
from objstore.common.conditional import http_date
from objstore.common.config import ConfBase
from objstore.common.digest import (
    allowed_digests, find_signer, parse_signature)
from objstore.common.exceptions import ConfigError
from objstore.common.http import (
    HTTPBadRequest, HTTPUnauthorized, Request, Response, html_error,
    is_success, split_path)
from objstore.common.info import get_account_info, get_container_info
from objstore.common.log import get_logger
from objstore.common.subrequest import add_capability

ACCOUNT_SCOPE = 'account'
CONTAINER_SCOPE = 'container'
KEY_NAMES = ('temp-url-key', 'temp-url-key-2')
EXPIRES_ISO8601 = '%Y-%m-%dT%H:%M:%SZ'
# A HEAD only reads what any of these could: it may use their signatures.
HEAD_SIGNED_AS = ('HEAD', 'GET', 'POST', 'PUT')
# Headers that would make the stored object point at data the URL could
# not reach (a manifest, a symlink, a copy source).
DISALLOWED_INCOMING_HEADERS = ('x-object-manifest', 'x-symlink-target',
                               'x-copy-from')
INVALID_BODY = b'401 Unauthorized: Temp URL invalid\n'
# What marks a tempurl request for middlewares further down (staticweb).
REMOTE_USER = '.wsgi.tempurl'


@dataclasses.dataclass(frozen=True)
class TempURLConf(ConfBase):
    """The options; lists are whitespace-separated, header names may end
    in ``*`` for a prefix. Empty ``allowed_digests``: all supported."""
    methods: str = 'GET HEAD PUT POST DELETE'
    incoming_remove_headers: str = 'x-timestamp x-open-expired'
    incoming_allow_headers: str = ''
    outgoing_remove_headers: str = 'x-object-meta-*'
    outgoing_allow_headers: str = 'x-object-meta-public-*'
    allowed_digests: str = 'sha1 sha256 sha512'
    log_name: str = 'tempurl'

    def validate(self):
        try:
            allowed_digests(self.allowed_digests)
        except ValueError as err:
            raise ConfigError('allowed_digests: %s' % err)


# --------------------------------------------------------------- pure parts

def tempurl_keys(meta):
    """The TempURL keys in an info dict's ``meta`` (names lower-case).

    >>> tempurl_keys({'temp-url-key-2': 'b', 'color': 'red',
    ...               'temp-url-key': 'a'})
    ['a', 'b']
    """
    return [meta[name] for name in KEY_NAMES if meta.get(name)]


def scoped_keys(account_info, container_info):
    """[(key, scope)]: the account's keys first, then the container's."""
    return ([(key, ACCOUNT_SCOPE)
             for key in tempurl_keys(account_info.get('meta') or {})] +
            [(key, CONTAINER_SCOPE)
             for key in tempurl_keys(container_info.get('meta') or {})])


def parse_expires(value, now):
    """The expiry of a URL as an int, 0 when it is unreadable or past.

    >>> parse_expires('2000', 1000), parse_expires('999', 1000)
    (2000, 0)
    >>> parse_expires('2026-12-01T00:00:00Z', 0), parse_expires('x', 0)
    (1796083200, 0)
    """
    try:
        expires = int(value)
    except ValueError:
        try:
            expires = calendar.timegm(time.strptime(value, EXPIRES_ISO8601))
        except ValueError:
            return 0
    return expires if expires >= now else 0


@dataclasses.dataclass(frozen=True)
class TempURLParams:
    """The query parameters of a temporary URL (None when absent)."""
    sig: str = None
    expires: str = None
    prefix: str = None
    filename: str = None
    inline: bool = False
    ip_range: str = None

    @classmethod
    def from_query(cls, query_string):
        """
        >>> TempURLParams.from_query('temp_url_sig=s&inline&filename=a+b')
        ... # doctest: +NORMALIZE_WHITESPACE
        TempURLParams(sig='s', expires=None, prefix=None, filename='a b',
                      inline=True, ip_range=None)
        """
        if not query_string:
            # Most requests: nothing to parse.
            return cls()
        query = parse_qs(query_string, keep_blank_values=True)

        def first(name):
            return query[name][0] if name in query else None
        return cls(sig=first('temp_url_sig'),
                   expires=first('temp_url_expires'),
                   prefix=first('temp_url_prefix'),
                   filename=first('filename'), inline='inline' in query,
                   ip_range=first('temp_url_ip_range'))

    def forwarded_query(self):
        """The query the request goes on with: its tempurl parameters
        only (staticweb builds its links from them), as Swift leaves it."""
        query = {'temp_url_sig': self.sig, 'temp_url_expires': self.expires}
        if self.prefix is not None:
            query['temp_url_prefix'] = self.prefix
        if self.filename:
            query['filename'] = self.filename
        if self.inline:
            query['inline'] = ''
        return urlencode(query)


def signed_path(account, container, obj, prefix):
    """The path a signature covers: the object's, or ``prefix:`` and the
    prefix's.

    >>> signed_path('a', 'c', 'o', None), signed_path('a', 'c', 'p/o', 'p/')
    ('/v1/a/c/o', 'prefix:/v1/a/c/p/')
    """
    if prefix is None:
        return '/v1/%s/%s/%s' % (account, container, obj)
    return 'prefix:/v1/%s/%s/%s' % (account, container, prefix)


def hmac_message(method, expires, path, ip_range=None):
    """What a temporary URL's signature signs. The IP range comes first:
    a path may hold a newline, and must not pass for one.

    >>> hmac_message('GET', 10, '/v1/a/c/o', '1.2.3.0/24')
    'ip=1.2.3.0/24\\nGET\\n10\\n/v1/a/c/o'
    """
    message = '%s\n%s\n%s' % (method, expires, path)
    return 'ip=%s\n%s' % (ip_range, message) if ip_range else message


def ip_allowed(ip_range, client_address):
    """Whether ``client_address`` is in ``ip_range`` (an address or a
    network); False when either is malformed.

    >>> ip_allowed('10.0.0.0/8', '10.1.2.3'), ip_allowed('10.0.0.1/8', 'x')
    (True, False)
    """
    try:
        return ipaddress.ip_address(client_address) in \
            ipaddress.ip_network(ip_range)
    except ValueError:
        return False


def disposition(kind, filename):
    """A Content-Disposition value naming ``filename`` (RFC 6266: a quoted
    ASCII form and a UTF-8 ``filename*``), written as Swift writes it.

    >>> disposition('attachment', 'r\\u00e9sum\\u00e9 1.pdf')
    'attachment; filename="r%C3%A9sum%C3%A9 1.pdf"; \
filename*=UTF-8\\'\\'r%C3%A9sum%C3%A9%201.pdf'
    """
    return "%s; filename=\"%s\"; filename*=UTF-8''%s" % (
        kind, quote(filename, safe=' /'), quote(filename))


def response_disposition(params, existing, object_path):
    """The Content-Disposition of a successful GET/HEAD: ``inline`` when
    asked (with the filename when given), else an attachment named by the
    query's filename, else the object's own disposition, else its name."""
    if params.inline:
        if params.filename:
            return disposition('inline', params.filename)
        return 'inline'
    if params.filename:
        return disposition('attachment', params.filename)
    if existing:
        return existing
    return disposition('attachment',
                       os.path.basename(object_path.rstrip('/')))


class HeaderFilter:
    """Which header names a remove list drops, less its allow list; a
    name ending in ``*`` matches as a prefix (case-insensitive).

    >>> drop = HeaderFilter('x-object-meta-*', 'x-object-meta-public-*')
    >>> drop('X-Object-Meta-Secret'), drop('x-object-meta-public-a')
    (True, False)
    """

    def __init__(self, remove, allow):
        self.remove = self._patterns(remove)
        self.allow = self._patterns(allow)

    @staticmethod
    def _patterns(names):
        exact = frozenset(n.lower() for n in names.split()
                          if not n.endswith('*'))
        prefixes = tuple(n.lower()[:-1] for n in names.split()
                         if n.endswith('*'))
        return exact, prefixes

    @staticmethod
    def _matches(name, patterns):
        exact, prefixes = patterns
        return name in exact or name.startswith(prefixes)

    def __call__(self, name):
        name = name.lower()
        return self._matches(name, self.remove) and \
            not self._matches(name, self.allow)


def environ_header_name(key):
    """The header an environ key holds, or None when it holds none.

    >>> environ_header_name('HTTP_X_OBJECT_MANIFEST')
    'x-object-manifest'
    >>> environ_header_name('CONTENT_TYPE'), environ_header_name('PATH_INFO')
    ('content-type', None)
    """
    if key.startswith('HTTP_'):
        return key[5:].replace('_', '-').lower()
    if key in ('CONTENT_TYPE', 'CONTENT_LENGTH'):
        return key.replace('_', '-').lower()
    return None


def scope_authorizer(account, container=None):
    """The claim of a signed request: allowed within the key's account (or
    the key's container), a 401 anywhere else."""
    def authorize(req):
        try:
            _v, acc, cont, _rest = split_path(req.path_info, 2, 4, True)
        except (ValueError, UnicodeDecodeError):
            return swift_error(HTTPUnauthorized, req.method)
        if acc == account and (container is None or cont == container):
            return None
        return unauthorized_realm(realm_of(req.path_info), req.method)
    return authorize


@dataclasses.dataclass(frozen=True)
class Grant:
    """What a valid signature grants: the object addressed, the scope
    of the key that signed it, and until when."""
    account: str
    container: str
    obj: str
    scope: str
    expires: int


def signature_refused(environ, body):
    """Swift's 401 for a signature that does not hold: ``body`` (none to
    a HEAD), realm ``unknown`` (FormPost's too): Swift builds this answer
    without its request, so swob cannot name the account."""
    method = environ.get('REQUEST_METHOD')
    return HTTPUnauthorized(
        body=b'' if method == 'HEAD' else body,
        content_type='text/html', charset='UTF-8',
        headers={'Www-Authenticate': 'Swift realm="unknown"'})


def invalid(environ):
    """Swift's 401 for a temporary URL that does not hold."""
    return signature_refused(environ, INVALID_BODY)


# --------------------------------------------------------------- middleware

class TempURL:
    def __init__(self, app, conf, logger=None, clock=time.time):
        self.app = app
        self.conf = TempURLConf.from_conf(conf)
        self.logger = logger or get_logger(conf, self.conf.log_name)
        self.clock = clock
        self.methods = tuple(self.conf.methods.split())
        self.digests, deprecated, unsupported = allowed_digests(
            self.conf.allowed_digests)
        if unsupported:
            self.logger.warning('The following digest algorithms are '
                                'configured but not supported: %s',
                                ', '.join(sorted(unsupported)))
        self.incoming_dropped = HeaderFilter(
            self.conf.incoming_remove_headers,
            self.conf.incoming_allow_headers)
        self.outgoing_dropped = HeaderFilter(
            self.conf.outgoing_remove_headers,
            self.conf.outgoing_allow_headers)
        self.info = {
            'methods': list(self.methods),
            'incoming_remove_headers':
                self.conf.incoming_remove_headers.split(),
            'incoming_allow_headers':
                self.conf.incoming_allow_headers.split(),
            'outgoing_remove_headers':
                self.conf.outgoing_remove_headers.split(),
            'outgoing_allow_headers':
                self.conf.outgoing_allow_headers.split(),
            'allowed_digests': sorted(self.digests)}
        if deprecated:
            self.info['deprecated_digests'] = sorted(deprecated)

    def __call__(self, environ, start_response):
        add_capability(environ, 'tempurl', **self.info)
        if environ.get('REQUEST_METHOD') == 'OPTIONS':
            return self.app(environ, start_response)
        params = TempURLParams.from_query(environ.get('QUERY_STRING', ''))
        if params.sig is None and params.expires is None:
            return self.app(environ, start_response)
        grant = self.check(environ, params)
        if grant is None:
            return invalid(environ)(environ, start_response)
        refused = self.refuse_pointers(environ)
        if refused is not None:
            return refused(environ, start_response)
        self.admit(environ, params, grant)
        return self.answer(environ, params, grant)(environ, start_response)

    # ----------------------------------------------------------- checking

    def check(self, environ, params):
        """The Grant of a valid temporary URL, else None."""
        expires = parse_expires(params.expires or '', self.clock())
        if not params.sig or not expires:
            return None
        try:
            digest, signature = parse_signature(params.sig)
        except ValueError:
            return None
        if digest not in self.digests:
            return None
        names = self.object_names(environ, params.prefix)
        if names is None:
            return None
        if params.ip_range and not ip_allowed(
                params.ip_range, environ.get('REMOTE_ADDR', '')):
            return None
        account, container, obj = names
        if params.prefix is not None and not obj.startswith(params.prefix):
            return None
        keys = scoped_keys(get_account_info(environ, self.app, 'TU'),
                           get_container_info(environ, self.app, 'TU'))
        path = signed_path(account, container, obj, params.prefix)
        method = environ['REQUEST_METHOD']
        methods = HEAD_SIGNED_AS if method == 'HEAD' else (method,)
        scope = find_signer(signature, digest, [
            (key, hmac_message(signed_as, expires, path, params.ip_range),
             scope)
            for key, scope in keys for signed_as in methods])
        if scope is None:
            return None
        return Grant(account, container, obj, scope, expires)

    def object_names(self, environ, prefix):
        """(account, container, object) a temporary URL may address: an
        object with a configured method; a container's root only for a
        GET/HEAD with an empty prefix (staticweb's index). None else."""
        method = environ['REQUEST_METHOD']
        if method not in self.methods:
            return None
        root_allowed = method in ('GET', 'HEAD') and prefix == ''
        try:
            version, account, container, obj = split_path(
                Request(environ).path_info, 3 if root_allowed else 4, 4,
                True)
        except (ValueError, UnicodeDecodeError):
            return None
        if version != 'v1' or not (root_allowed or obj.strip('/')):
            return None
        return account, container, obj or ''

    # ------------------------------------------------------------ passing

    def refuse_pointers(self, environ):
        """Swift's 400 for a write naming other data (see module doc)."""
        if environ['REQUEST_METHOD'] in ('GET', 'HEAD', 'OPTIONS'):
            return None
        for key in environ:
            name = environ_header_name(key)
            if name in DISALLOWED_INCOMING_HEADERS:
                return html_error(
                    HTTPBadRequest,
                    'The header %r is not allowed in this tempurl'
                    % '-'.join(p.capitalize() for p in name.split('-')))
        return None

    def admit(self, environ, params, grant):
        """Drop the filtered headers and claim the request for the key's
        scope, as the anonymous tempurl user."""
        for key in list(environ):
            name = environ_header_name(key)
            if name is not None and self.incoming_dropped(name):
                del environ[key]
        container = grant.container if grant.scope == CONTAINER_SCOPE \
            else None
        claim(environ, scope_authorizer(grant.account, container),
              override=True)
        environ['REMOTE_USER'] = REMOTE_USER
        environ['QUERY_STRING'] = params.forwarded_query()

    def answer(self, environ, params, grant):
        """The rest of the pipeline's answer, its headers filtered and, for
        a successful GET/HEAD, given Content-Disposition and Expires."""
        resp = Request(environ).get_response(self.app)
        headers = [(name, value) for name, value in resp.headerlist
                   if not self.outgoing_dropped(name)]
        if environ['REQUEST_METHOD'] in ('GET', 'HEAD') and \
                is_success(resp.status_int):
            generator = resp.headers.get('X-Backend-Content-Generator')
            if generator != 'staticweb' and not grant.obj:
                # A container's root is signed for staticweb's pages only.
                close = getattr(resp.app_iter, 'close', None)
                if close is not None:
                    close()
                return invalid(environ)
            if generator == 'staticweb':
                params = dataclasses.replace(params, inline=True)
            existing = resp.headers.get('Content-Disposition')
            headers = [(name, value) for name, value in headers
                       if name.lower() != 'content-disposition']
            value = response_disposition(
                params, existing, Request(environ).path_info)
            headers.append(('Content-Disposition',
                            value.replace('\n', '%0A')))
            headers.append(('Expires', http_date(grant.expires)))
        return Response(status=resp.status, headerlist=headers,
                        app_iter=resp.app_iter)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    TempURLConf.from_conf(conf)  # a bad option fails at start-up
    return lambda app: TempURL(app, conf)
