"""console: the operators' read-only web console at ``/console``.

Owns the routes, who may see what, and the login. Every other path goes
down the pipeline untouched; ``/console...`` never does (the console
answers it), so nothing else has to claim it (common.access).

Who: a user logs in with the form at ``/console/login`` (account:user and
key). The console asks the auth middleware further down for a token
(``GET /auth/v1.0``, a subrequest) and keeps it in a cookie that is
``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's
page sends it) and scoped to ``/console``. On each request it learns the
token's user by a subrequest carrying the token: the auth middleware sets
``REMOTE_USER`` to the user's groups (common.access), which the console
reads back from the subrequest's environ. Cluster-wide pages need
``.reseller_admin``; the object browser needs an owner of the account
(``.admin``), and shows the logged-in user's own account through
subrequests carrying the user's token, so the proxy authorizes each as
that user. Anyone else gets 403; anonymous requests are sent to the login
form (303). Only GET and HEAD read; the only POSTs are login and logout,
and a POST whose ``Origin`` is another site is refused (403).

Downloads are sent as attachments, sandboxed (``Content-Security-Policy:
sandbox``), never rendered as a page of the console's origin, so a
stored HTML object cannot script the console. Pages carry a CSP that
allows no script at all.

Where the figures come from is console.cluster; the last hour's samples,
taken when pages load, are console.history (its docstring says why not a
background sampler); the markup is console.pages and console.svg.
"""

import dataclasses
import json
import time
from urllib.parse import quote, urlencode, urlparse

from objstore.common import green
from objstore.common.config import ConfBase
from objstore.common.exceptions import RingError
from objstore.common.http import (
    HTTPBadRequest, HTTPForbidden, HTTPLengthRequired, HTTPMethodNotAllowed,
    HTTPRequestEntityTooLarge, Request, Response, text_error)
from objstore.common.log import get_logger
from objstore.common.subrequest import make_subrequest
from objstore.middleware.console import cluster, pages
from objstore.middleware.console.history import (
    History, rates_between, sample_values)

PREFIX = pages.PREFIX
COOKIE = 'objstore_console'
MAX_LOGIN_BODY = 4096
FORM_TYPE = 'application/x-www-form-urlencoded'
# The rates page counts the requests of this many seconds.
RATE_PAUSE = 1.0
PAGE_HEADERS = {
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; style-src "
                               "'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'",
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    # same-origin, not no-referrer: with no-referrer a browser sends
    # 'Origin: null' on the login POST, which same_origin refuses.
    'Referrer-Policy': 'same-origin',
}
DOWNLOAD_HEADERS = ('Content-Type', 'Content-Length', 'ETag',
                    'Last-Modified')
CLUSTER_PAGES = ('', 'rings', 'nodes', 'rates')
ACCOUNT_PAGES = ('browse', 'download')
READ_METHODS = ('GET', 'HEAD')


@dataclasses.dataclass(frozen=True)
class ConsoleConf(ConfBase):
    log_name: str = 'proxy-server'
    conf_dir: str = '/etc/objstore'
    reseller_prefix: str = 'AUTH'
    auth_path: str = '/auth/v1.0'
    node_timeout: float = 2.0
    sample_interval: float = 10.0
    history_seconds: float = 3600.0
    listing_limit: int = 100


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who a valid token belongs to, from its groups (tempauth's: the
    account name, ``account:user``, the account id when an owner,
    ``.reseller_admin``)."""

    user: str
    account: str
    groups: tuple

    @classmethod
    def from_groups(cls, remote_user, account_prefix):
        groups = tuple(g for g in remote_user.split(',') if g)
        user = next((g for g in groups if ':' in g), '')
        return cls(user=user, groups=groups,
                   account=account_prefix + user.split(':', 1)[0])

    @property
    def reseller_admin(self):
        return '.reseller_admin' in self.groups

    @property
    def account_owner(self):
        return bool(self.user) and self.account in self.groups


def _page(body, status=200, headers=None):
    resp = Response(status=status, body=body, content_type='text/html',
                    charset='UTF-8')
    resp.headers.update(dict(PAGE_HEADERS, **(headers or {})))
    return resp


def _redirect(location, headers=None):
    return Response(status=303, headers=dict(
        PAGE_HEADERS, Location=location, **(headers or {})))


def _route(path):
    """(page, rest) of a console path: ``/console/browse/c/o`` gives
    ('browse', 'c/o'); ``/console`` and ``/console/`` give ('', '')."""
    parts = path[len(PREFIX):].lstrip('/').split('/', 1)
    return parts[0], parts[1] if len(parts) > 1 else ''


def _unicode_path(environ):
    """PATH_INFO as text (WSGI gives latin-1 of the bytes), or None when
    it is not UTF-8 or holds a NUL."""
    try:
        path = environ.get('PATH_INFO', '').encode('latin-1').decode(
            'utf-8')
    except UnicodeError:
        return None
    return None if '\x00' in path else path


class Console:
    """The filter; ``clock`` is injectable for the history's times."""

    def __init__(self, app, conf, logger=None, clock=time.time):
        self.app = app
        self.conf = ConsoleConf.from_conf(conf)
        self.logger = logger or get_logger(conf, self.conf.log_name)
        self.clock = clock
        self.account_prefix = self.conf.reseller_prefix + '_' \
            if self.conf.reseller_prefix else ''
        self.history = History(self.conf.history_seconds,
                               self.conf.sample_interval)

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '')
        if path != PREFIX and not path.startswith(PREFIX + '/'):
            return self.app(environ, start_response)
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, req):
        path = _unicode_path(req.environ)
        if path is None:
            return text_error(HTTPBadRequest,
                              'Invalid UTF8 or contains NULL')
        name, rest = _route(path)
        if name in ('login', 'logout') and not rest:
            return self.handle_session(req, name)
        if req.method not in READ_METHODS:
            return text_error(HTTPMethodNotAllowed,
                              'The console is read-only',
                              headers={'Allow': 'GET, HEAD'})
        if name not in CLUSTER_PAGES + ACCOUNT_PAGES:
            return _page(pages.message_page('Not found',
                                            'No such console page'), 404)
        token = req.cookies.get(COOKIE)
        who = self.identify(req.environ, token) if token else None
        if who is None:
            return _redirect(PREFIX + '/login')
        if name in ACCOUNT_PAGES:
            if not (who.account_owner or who.reseller_admin):
                return self.forbidden(who)
            return self.handle_account(req, who, token, name, rest)
        if not who.reseller_admin:
            if who.account_owner and name == '':
                return _redirect(PREFIX + '/browse')
            return self.forbidden(who)
        return self.handle_cluster(who, name, rest)

    @staticmethod
    def forbidden(who):
        return _page(pages.message_page(
            'Forbidden', 'The console shows this page to administrators '
            'only; %s is not one.' % who.user, who.user), 403)

    # -- login -------------------------------------------------------

    def handle_session(self, req, name):
        if name == 'login' and req.method in READ_METHODS:
            return _page(pages.login_page())
        if req.method != 'POST':
            allow = 'GET, HEAD, POST' if name == 'login' else 'POST'
            return text_error(HTTPMethodNotAllowed,
                              'Allowed methods: %s' % allow,
                              headers={'Allow': allow})
        if not self.same_origin(req):
            return text_error(HTTPForbidden,
                              'Cross-origin request refused')
        if name == 'logout':
            return _redirect(PREFIX + '/login', headers={
                'Set-Cookie': self.cookie(req, '', 0)})
        return self.login(req)

    @staticmethod
    def same_origin(req):
        """False when the browser says the form came from another site."""
        origin = req.headers.get('Origin')
        if origin is None:
            return True
        parsed = urlparse(origin)
        return parsed.netloc == req.host and parsed.scheme == req.scheme

    def login(self, req):
        if req.content_length is None:
            return text_error(HTTPLengthRequired,
                              'The login form needs a Content-Length')
        if req.content_length > MAX_LOGIN_BODY:
            return text_error(HTTPRequestEntityTooLarge,
                              'The login form is too large')
        if req.content_type != FORM_TYPE:
            return text_error(HTTPBadRequest,
                              'The login form must be %s' % FORM_TYPE)
        form = req.POST
        user, key = form.get('user', '').strip(), form.get('key', '')
        if not user or not key:
            return _page(pages.login_page('User and key are required.'),
                         400)
        sub = make_subrequest(req.environ, 'GET', self.conf.auth_path,
                              headers={'X-Auth-User': user,
                                       'X-Auth-Key': key},
                              source='CONSOLE')
        resp = sub.get_response(self.app)
        token = resp.headers.get('X-Auth-Token')
        if resp.status_int != 200 or not token:
            self.logger.info('console login failed for %r', user)
            return _page(pages.login_page('Login failed: wrong user or '
                                          'key.'), 401)
        life = int(resp.headers.get('X-Auth-Token-Expires') or 3600)
        return _redirect(PREFIX + '/', headers={
            'Set-Cookie': self.cookie(req, token, life)})

    @staticmethod
    def cookie(req, value, max_age):
        secure = '; Secure' if req.scheme == 'https' else ''
        return '%s=%s; Path=%s; Max-Age=%d; HttpOnly; SameSite=Strict%s' % (
            COOKIE, value, PREFIX, max_age, secure)

    def identify(self, environ, token):
        """The Identity of a valid token, or None.

        Any path works: the auth middleware identifies a token before it
        looks at the path. ``/info`` is public and touches no storage."""
        sub = make_subrequest(environ, 'HEAD', '/info',
                              headers={'X-Auth-Token': token},
                              source='CONSOLE')
        sub.environ.pop('REMOTE_USER', None)
        sub.get_response(self.app)
        groups = sub.environ.get('REMOTE_USER')
        if not groups:
            return None
        return Identity.from_groups(groups, self.account_prefix)

    # -- cluster pages -----------------------------------------------

    def handle_cluster(self, who, name, rest):
        if rest and name != 'rings':
            return _page(pages.message_page('Not found',
                                            'No such console page',
                                            who.user), 404)
        try:
            rings = cluster.read_rings(self.conf.conf_dir)
            if name == 'rings':
                return self.ring_pages(who, rings, rest)
            status, totals, rates = self.observe(
                self.clock(), measure_rates=name == 'rates')
        except RingError as err:
            return _page(pages.message_page('Rings unreadable', str(err),
                                            who.user), 503)
        now = self.clock()
        if name == 'nodes':
            body = pages.nodes_body(status, self.history, now)
            title = 'Replication and updaters'
        elif name == 'rates':
            body = pages.rates_body(totals, rates, self.history, now)
            title = 'Request rates'
        else:
            body = pages.overview_body(status, rings)
            title = 'Cluster overview'
        return _page(pages.page(title, body, who.user))

    def ring_pages(self, who, rings, rest):
        if not rest:
            return _page(pages.page('Rings', pages.rings_body(rings),
                                    who.user))
        found = [ring for ring in rings if ring.name == rest]
        if not found:
            return _page(pages.message_page('Not found', 'No ring %s'
                                            % rest, who.user), 404)
        return _page(pages.page('Ring %s' % rest,
                                pages.ring_body(found[0]), who.user))

    def observe(self, now, measure_rates=False):
        """(ClusterStatus, request totals, live rates per second), kept in
        the history when a sample is due.

        Live rates count the requests of a short pause in which the
        console itself asks the storage servers nothing (their status is
        asked after it), so they show the clients' traffic alone."""
        timeout = self.conf.node_timeout
        totals = cluster.gather_request_totals(self.conf.conf_dir, timeout)
        rates = {}
        if measure_rates:
            green.sleep(RATE_PAUSE)
            later = self.clock()
            newer = cluster.gather_request_totals(self.conf.conf_dir,
                                                  timeout)
            rates = rates_between(totals, now, newer, later)
            totals, now = newer, later
        status = cluster.gather_status(self.conf.conf_dir, timeout)
        if self.history.due(now):
            self.history.add(now, sample_values(status, totals))
        return status, totals, rates

    # -- object browser ----------------------------------------------

    def handle_account(self, req, who, token, name, rest):
        container, _, obj = rest.partition('/')
        if name == 'download':
            if not container or not obj:
                return _page(pages.message_page(
                    'Not found', 'Name a container and an object',
                    who.user), 404)
            return self.download(req, who, token, container, obj)
        marker = req.GET.get('marker', '')
        if not container:
            return self.browse(req, who, token, (), marker)
        if not obj:
            return self.browse(req, who, token, (container,), marker)
        resp = self.storage(req, token, 'HEAD', who.account, container, obj)
        if resp.status_int // 100 != 2:
            return self.storage_error(resp, who)
        headers = {key: value for key, value in resp.headers.items()
                   if key.lower() not in ('content-length',)}
        return _page(pages.page('Object', pages.object_body(
            container, obj, headers), who.user))

    def browse(self, req, who, token, names, marker):
        query = {'format': 'json', 'limit': self.conf.listing_limit}
        if marker:
            query['marker'] = marker
        resp = self.storage(req, token, 'GET', who.account, *names,
                            query=query)
        if resp.status_int // 100 != 2:
            return self.storage_error(resp, who)
        try:
            listing = json.loads(resp.body or b'[]')
        except ValueError:
            return _page(pages.message_page(
                'Bad listing', 'The proxy sent a listing that is not JSON',
                who.user), 502)
        more = listing[-1]['name'] if len(listing) >= \
            self.conf.listing_limit else ''
        if names:
            body = pages.container_body(names[0], resp.headers, listing,
                                        more)
            title = 'Container'
        else:
            body = pages.account_body(who.account, resp.headers, listing,
                                      more)
            title = 'Account'
        return _page(pages.page(title, body, who.user))

    def download(self, req, who, token, container, obj):
        resp = self.storage(req, token, 'GET', who.account, container, obj)
        if resp.status_int != 200:
            return self.storage_error(resp, who)
        headers = {key: resp.headers[key] for key in DOWNLOAD_HEADERS
                   if key in resp.headers}
        headers.update({
            'Content-Disposition': "attachment; filename*=UTF-8''%s"
                                   % quote(obj.rsplit('/', 1)[-1], safe=''),
            'Content-Security-Policy': 'sandbox',
            'X-Content-Type-Options': 'nosniff',
            'Cache-Control': 'no-store'})
        return Response(status=200, headers=headers, app_iter=resp.app_iter)

    def storage(self, req, token, method, *names, query=None):
        """The proxy's answer to ``method`` on /v1/<names...>, asked as the
        logged-in user."""
        sub = make_subrequest(req.environ, method, '/v1/' + '/'.join(names),
                              headers={'X-Auth-Token': token},
                              source='CONSOLE')
        sub.environ.pop('REMOTE_USER', None)
        if query:
            sub.environ['QUERY_STRING'] = urlencode(query)
        return sub.get_response(self.app)

    @staticmethod
    def storage_error(resp, who):
        status = resp.status_int
        if status == 404:
            return _page(pages.message_page('Not found', 'No such container '
                                            'or object', who.user), 404)
        if status in (401, 403):
            return _page(pages.message_page('Forbidden', 'Access denied by '
                                            'the proxy', who.user), 403)
        return _page(pages.message_page(
            'Storage error', 'The proxy answered %d' % status, who.user),
            502)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: Console(app, conf)
