"""symlink: objects that point at other objects, as Swift's symlink
middleware offers them.

Owns the symlink's life in the proxy pipeline; the storage servers know
nothing of symlinks, only of the system metadata this module stores:

* **PUT** with ``X-Symlink-Target: <container>/<object>`` (and optionally
  ``X-Symlink-Target-Account``) stores a zero-byte object whose
  ``X-Object-Sysmeta-Symlink-Target[-Account]`` name the target. With
  ``X-Symlink-Target-Etag`` the link is *static*: the target must exist
  now with that ETag (409 otherwise), and its ETag and size are kept in
  ``-Etag``/``-Bytes`` sysmeta. The target's name also goes into the
  container listing's etag, as parameters of the container-update override
  (``<etag>; symlink_target=c/o; ...``), so that listings can show it.
* **GET/HEAD** follow the link (and links to links, at most ``symloop_max``
  of them, 409 past that) and answer with the target's object plus
  ``Content-Location`` naming it; a static link whose target's ETag changed
  answers 409. ``?symlink=get`` answers with the symlink itself, its
  sysmeta shown as ``X-Symlink-Target*`` headers.
* **POST** to a symlink applies the metadata to the symlink and answers
  307 with the target in ``Location``; ``X-Symlink-Target`` on a POST is a
  400. DELETE deletes the symlink, never its target.
* **Container GET**: JSON listings turn the etag parameters into
  ``symlink_path`` (and ``symlink_etag``/``symlink_bytes`` of static
  links); other formats only lose the parameters from ``hash``.

COPY needs nothing here: the copy middleware's source GET comes through
this one, so a copy of a symlink is a copy of its target, and with
``?symlink=get`` a copy of the symlink (its sysmeta travels with it).

Must not touch storage directly: every lookup is a subrequest authorized
as the client, so the target's container ACLs apply to the one who reads.
"""

import json
import re
from urllib.parse import quote, unquote

from objstore.common.constraints import ALLOW_RESERVED_HEADER
from objstore.common.http import (
    HTTPBadRequest, HTTPConflict, HTTPPreconditionFailed, Request, Response,
    is_success, request_headers, split_path, text_error)
from objstore.common.subrequest import (
    Answer, add_capability, call_app, make_preauthed_subrequest,
    make_subrequest, path_parts, query_params, sent_content_type)

DEFAULT_SYMLOOP_MAX = 2
# An ETag of the empty body: what a symlink object's own ETag is.
MD5_OF_EMPTY = 'd41d8cd98f00b204e9800998ecf8427e'

TARGET = 'X-Symlink-Target'
TARGET_ACCOUNT = 'X-Symlink-Target-Account'
TARGET_ETAG = 'X-Symlink-Target-Etag'
TARGET_BYTES = 'X-Symlink-Target-Bytes'
SYSMETA_PREFIX = 'X-Object-Sysmeta-'
SYSMETA_TARGET = SYSMETA_PREFIX + 'Symlink-Target'
SYSMETA_TARGET_ACCOUNT = SYSMETA_PREFIX + 'Symlink-Target-Account'
SYSMETA_TARGET_ETAG = SYSMETA_PREFIX + 'Symlink-Target-Etag'
# The header of an answer that makes it a symlink's (lower case).
SYMLINK_ANSWER_HEADERS = frozenset((SYSMETA_TARGET.lower(),))
SYSMETA_TARGET_BYTES = SYSMETA_PREFIX + 'Symlink-Target-Bytes'
# A hop that does not count toward symloop_max (versioning's links to the
# versions it keeps are an implementation detail the client never made).
SYSMETA_SYMLOOP_EXTEND = SYSMETA_PREFIX + 'Symloop-Extend'
# A link into reserved names (versioning's link to the current version):
# it is followed by a pre-authorized subrequest allowed to reach them, the
# client having been authorized for the link itself.
SYSMETA_ALLOW_RESERVED = SYSMETA_PREFIX + 'Allow-Reserved-Names'
# Set by a middleware that PUTs a static link whose target it just wrote:
# X-Symlink-Target-Etag/-Bytes are taken as they are, not looked up.
SYMLINK_OVERRIDE_KEY = 'swift.symlink_override'
ETAG_OVERRIDE = SYSMETA_PREFIX + 'Container-Update-Override-Etag'
SLO_ETAG = SYSMETA_PREFIX + 'Slo-Etag'
SLO_SIZE = SYSMETA_PREFIX + 'Slo-Size'
# Client header -> the sysmeta that stores it (and shows it on symlink=get).
USER_TO_SYSMETA = ((TARGET, SYSMETA_TARGET),
                   (TARGET_ACCOUNT, SYSMETA_TARGET_ACCOUNT),
                   (TARGET_ETAG, SYSMETA_TARGET_ETAG),
                   (TARGET_BYTES, SYSMETA_TARGET_BYTES))
# Listing etag parameters this module writes -> what JSON listings show.
LISTING_PARAMS = {'symlink_target_etag': 'symlink_etag',
                  'symlink_target_bytes': 'symlink_bytes'}

TARGET_FORM_ERROR = ('X-Symlink-Target header must be of the form '
                     '<container name>/<object name>')
POST_REDIRECT_BODY = ('The requested POST was applied to a symlink. POST '
                      'directly to the target to apply requested metadata.')
TRUE_VALUES = ('true', '1', 'yes', 'on', 't', 'y')


class SymlinkError(Exception):
    """A request this middleware answers itself with ``response``."""

    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


def fail(exc_class, message, **headers):
    raise SymlinkError(text_error(exc_class, message, headers=headers))


def normalize_etag(value):
    """An ETag without its quotes (clients may send either form).

    >>> normalize_etag('"abc"'), normalize_etag('abc'), normalize_etag(None)
    ('abc', 'abc', None)
    """
    if value is None:
        return None
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return value[1:-1]
    return value


def parse_target(value):
    """The quoted ``container/object`` of an X-Symlink-Target value.

    >>> parse_target('c/dir/o%20x')
    'c/dir/o%20x'
    >>> parse_target('/c/o')
    Traceback (most recent call last):
    ...
    ValueError: X-Symlink-Target header must be of the form \
<container name>/<object name>
    """
    path = unquote(value)
    if path.startswith('/'):
        raise ValueError(TARGET_FORM_ERROR)
    try:
        container, obj = split_path('/' + path, 2, 2, True)
    except ValueError:
        raise ValueError(TARGET_FORM_ERROR)
    return quote('%s/%s' % (container, obj))


def check_account(value):
    """The unquoted account of X-Symlink-Target-Account; ValueError with
    Swift's reason when it cannot name an account.

    >>> check_account('AUTH_t%C3%A9')
    'AUTH_t\\xe9'
    """
    account = unquote(value)
    if not account:
        raise ValueError('Account name cannot be empty')
    if '/' in account:
        raise ValueError('Account name cannot contain slashes')
    return account


def listing_etag(base, target, account=None, etag=None, size=None):
    """The container-update etag of a symlink: the listing's ``hash`` plus
    the link as parameters.

    >>> listing_etag(MD5_OF_EMPTY, 'c/o', 'AUTH_b', 'e1', '5')
    'd41d8cd98f00b204e9800998ecf8427e; symlink_target=c/o; \
symlink_target_account=AUTH_b; symlink_target_etag=e1; symlink_target_bytes=5'
    """
    parts = [base, 'symlink_target=%s' % target]
    if account:
        parts.append('symlink_target_account=%s' % account)
    if etag:
        parts.append('symlink_target_etag=%s' % etag)
        parts.append('symlink_target_bytes=%s' % size)
    return '; '.join(parts)


def split_etag_params(value):
    """(etag, [(key, value)]) of a listing hash with ``; k=v`` parameters.

    >>> split_etag_params('abc; symlink_target=c/o; slo_etag=x')
    ('abc', [('symlink_target', 'c/o'), ('slo_etag', 'x')])
    """
    etag, *params = value.split(';')
    pairs = []
    for param in params:
        key, _eq, param_value = param.strip().partition('=')
        pairs.append((key.strip().lower(), param_value.strip().strip('"')))
    return etag.strip(), pairs


def symlink_listing_entry(entry, version, account):
    """A JSON listing entry with its symlink parameters made fields.

    >>> symlink_listing_entry({'hash': 'e; symlink_target=c/o; '
    ...     'symlink_target_etag=t; symlink_target_bytes=3'}, 'v1', 'a')
    {'hash': 'e', 'symlink_etag': 't', 'symlink_bytes': 3, \
'symlink_path': '/v1/a/c/o'}
    """
    if 'hash' not in entry:
        return entry
    etag, params = split_etag_params(entry['hash'])
    target = None
    kept = [etag]
    for key, value in params:
        if key == 'symlink_target':
            target = value
        elif key == 'symlink_target_account':
            account = value
        elif key == 'symlink_target_bytes':
            entry['symlink_bytes'] = int(value)
        elif key in LISTING_PARAMS:
            entry[LISTING_PARAMS[key]] = value
        else:
            kept.append('%s=%s' % (key, value))
    entry['hash'] = '; '.join(kept)
    if target:
        entry['symlink_path'] = '/%s/%s/%s' % (version, account, target)
    return entry


# A listing hash's symlink parameters, as an XML listing shows them.
XML_SYMLINK_PARAMS = re.compile(r';\s*symlink_target[a-z_]*=[^;<]*')


def strip_xml_symlink_params(body):
    """An XML listing with the symlink parameters taken out of ``<hash>``.

    >>> strip_xml_symlink_params(
    ...     '<hash>e; symlink_target=c/o; symlink_target_account=a</hash>')
    '<hash>e</hash>'
    """
    return XML_SYMLINK_PARAMS.sub('', body)


def is_true(value):
    return (value or '').lower() in TRUE_VALUES


class LinkWalk:
    """One GET/HEAD's walk from a symlink to what it finally points at."""

    def __init__(self, app, environ, symloop_max):
        self.app = app
        self.environ = environ
        self.symloop_max = symloop_max
        self.hops = 0
        self.last_path = None

    def target_request(self, req, resp, method, headers):
        """The subrequest to the target that ``resp`` (a symlink) names."""
        version, account, _rest = split_path(req.path_info, 2, 3, True)
        account = resp.headers.get(SYSMETA_TARGET_ACCOUNT) or quote(account)
        self.last_path = '/%s/%s/%s' % (
            version, account, resp.headers[SYSMETA_TARGET].lstrip('/'))
        path = unquote(self.last_path)
        if is_true(resp.headers.get(SYSMETA_ALLOW_RESERVED)):
            return make_preauthed_subrequest(
                self.environ, method, path,
                headers=dict(headers, **{ALLOW_RESERVED_HEADER: 'true'}),
                source='symlink')
        return make_subrequest(self.environ, method, path, headers=headers,
                               source='symlink')

    def conflict(self, message):
        fail(HTTPConflict, message, **{'Content-Location': self.last_path})

    def walk(self, req, expected_etag=None, follow_dynamic=True,
             first=None):
        """The final answer; SymlinkError on a loop or an ETag mismatch.

        ``expected_etag`` is the static link's ETag the next object must
        have; ``follow_dynamic=False`` stops at a dynamic symlink (a static
        link to it pins the symlink object itself). ``first``: the app's
        answer to ``req`` when the caller has it already.
        """
        sent = header_environ(req.environ)
        headers = None
        while True:
            resp = req.get_response(self.app) if first is None else first
            first = None
            link_etag = normalize_etag(resp.headers.get(SYSMETA_TARGET_ETAG))
            if not resp.headers.get(SYSMETA_TARGET) or not (
                    link_etag or follow_dynamic):
                break
            close_body(resp)
            found = link_etag or normalize_etag(resp.headers.get('Etag'))
            if expected_etag and expected_etag != found:
                self.conflict('X-Symlink-Target-Etag headers do not match')
            if self.hops >= self.symloop_max:
                fail(HTTPConflict, 'Too many levels of symbolic links, '
                     'maximum allowed is %d' % self.symloop_max)
            if not is_true(resp.headers.get(SYSMETA_SYMLOOP_EXTEND)):
                self.hops += 1
            expected_etag = link_etag
            if headers is None:
                headers = request_headers(sent)
            req = self.target_request(req, resp, req.method, headers)
        final = normalize_etag(resp.headers.get('Etag'))
        if final and expected_etag and final != expected_etag:
            close_body(resp)
            self.conflict('Object Etag %r does not match X-Symlink-Target-Etag'
                          ' header %r' % (final, expected_etag))
        return resp


def header_environ(environ):
    """The client's headers as they are now, in their environ form: the
    headers a link's target request repeats, turned into names only when
    a link is followed (most objects are none, and naming every header of
    every GET costs more than the rest of this middleware)."""
    return {key: value for key, value in environ.items()
            if key.startswith('HTTP_') or key in ('CONTENT_TYPE',
                                                  'CONTENT_LENGTH')}


def close_body(resp):
    close = getattr(resp.app_iter, 'close', None)
    if close is not None:
        close()


def show_symlink_headers(resp):
    """Add the client's X-Symlink-* names of the symlink's sysmeta.

    The sysmeta stays: a copy with ``?symlink=get`` carries it to the copy
    (the gatekeeper strips it from what the client sees).
    """
    for user_name, sysmeta_name in USER_TO_SYSMETA:
        if sysmeta_name in resp.headers:
            resp.headers[user_name] = resp.headers[sysmeta_name]


class SymlinkMiddleware:
    def __init__(self, app, conf):
        self.app = app
        self.conf = conf
        self.symloop_max = symloop_max_of(conf)

    def __call__(self, environ, start_response):
        add_capability(environ, 'symlink', symloop_max=self.symloop_max,
                       static_links=True)
        try:
            version, account, container, obj = path_parts(environ, 3)
        except ValueError:
            return self.app(environ, start_response)
        req = Request(environ)
        try:
            if obj is None:
                resp = self.handle_container(req, version, account)
            else:
                resp = self.handle_object(req, account, container, obj)
        except SymlinkError as err:
            resp = err.response
        if resp is None:
            return self.app(environ, start_response)
        if isinstance(resp, Answer):
            return resp.send(start_response)
        return resp(environ, start_response)

    # ------------------------------------------------------------ objects

    def handle_object(self, req, account, container, obj):
        """The answer to an object request (a Response, or an Answer to
        hand on as it is), or None to pass the request on."""
        method = req.method
        if method in ('GET', 'HEAD'):
            if query_params(req.environ).get('symlink') == 'get':
                resp = req.get_response(self.app)
                show_symlink_headers(resp)
                return resp
            answer = call_app(self.app, req.environ)
            if not answer.has_any(SYMLINK_ANSWER_HEADERS):
                # Not a symlink (most objects): the answer as it is.
                return answer
            return self.handle_get_head(req, answer.response(req))
        if method == 'PUT' and TARGET in req.headers:
            return self.handle_put(req, account, container, obj)
        if method == 'POST':
            return self.handle_post(req)
        return None

    def handle_get_head(self, req, first):
        walk = LinkWalk(self.app, req.environ, self.symloop_max)
        resp = walk.walk(req, first=first)
        if walk.last_path:
            resp.headers['Content-Location'] = walk.last_path
        return resp

    def handle_put(self, req, account, container, obj):
        check_empty_body(req)
        try:
            target = parse_target(req.headers[TARGET])
            target_account = None
            if TARGET_ACCOUNT in req.headers:
                target_account = check_account(req.headers[TARGET_ACCOUNT])
        except ValueError as err:
            fail(HTTPPreconditionFailed, str(err))
        if (target_account or account, unquote(target)) == (
                account, '%s/%s' % (container, obj)):
            fail(HTTPBadRequest, 'Symlink cannot target itself')
        etag = normalize_etag(req.headers.pop(TARGET_ETAG, None))
        if etag and any(char in etag for char in ';"\\'):
            fail(HTTPBadRequest, 'Bad %s format' % TARGET_ETAG)
        req.headers.pop(TARGET, None)
        req.headers.pop(TARGET_ACCOUNT, None)
        size = req.headers.pop(TARGET_BYTES, None)
        req.headers[SYSMETA_TARGET] = target
        if target_account:
            req.headers[SYSMETA_TARGET_ACCOUNT] = quote(target_account)
        version = split_path(req.path_info, 1, 2, True)[0]
        path = '/%s/%s/%s' % (version, target_account or account,
                              unquote(target))
        if etag and req.environ.get(SYMLINK_OVERRIDE_KEY):
            req.headers[SYSMETA_TARGET_ETAG] = etag
            req.headers[SYSMETA_TARGET_BYTES] = size
        elif etag:
            self.pin_static_target(req, path, etag)
        elif sent_content_type(req.environ) is None:
            set_content_type(req, 'application/symlink')
        req.headers[ETAG_OVERRIDE] = listing_etag(
            req.headers.get(ETAG_OVERRIDE, MD5_OF_EMPTY), target,
            req.headers.get(SYSMETA_TARGET_ACCOUNT),
            req.headers.get(SYSMETA_TARGET_ETAG),
            req.headers.get(SYSMETA_TARGET_BYTES))
        return req.get_response(self.app)

    def pin_static_target(self, req, path, etag):
        """Check a static link's target and keep its ETag and size."""
        walk = LinkWalk(self.app, req.environ, self.symloop_max)
        walk.last_path = quote(path)
        head = make_subrequest(req.environ, 'HEAD', path, source='symlink')
        target = walk.walk(head, expected_etag=etag, follow_dynamic=False)
        if target.status_int == 404:
            walk.conflict('X-Symlink-Target does not exist')
        if not is_success(target.status_int):
            raise SymlinkError(Response(status=target.status_int))
        override = target.headers.get(ETAG_OVERRIDE)
        if override and ETAG_OVERRIDE not in req.headers:
            _etag, sep, params = override.partition(';')
            req.headers[ETAG_OVERRIDE] = MD5_OF_EMPTY + sep + params
        if SLO_ETAG in target.headers and ETAG_OVERRIDE not in req.headers:
            req.headers[ETAG_OVERRIDE] = '%s; slo_etag=%s' % (
                MD5_OF_EMPTY, target.headers[SLO_ETAG])
        req.headers[SYSMETA_TARGET_BYTES] = (
            target.headers.get(SLO_SIZE) or
            target.headers.get('Content-Length', '0'))
        req.headers[SYSMETA_TARGET_ETAG] = etag
        if sent_content_type(req.environ) is None:
            set_content_type(req, target.headers.get(
                'Content-Type', 'application/octet-stream'))

    def handle_post(self, req):
        if TARGET in req.headers:
            fail(HTTPBadRequest,
                 'A PUT request is required to set a symlink target')
        resp = req.get_response(self.app)
        target = resp.headers.get(SYSMETA_TARGET)
        if not is_success(resp.status_int) or not target:
            return resp
        close_body(resp)
        version, account, _rest = split_path(req.path_info, 2, 3, True)
        account = resp.headers.get(SYSMETA_TARGET_ACCOUNT) or quote(account)
        headers = {name: value for name, value in resp.headers.items()
                   if name.lower().startswith(SYSMETA_PREFIX.lower())}
        headers['Location'] = '/%s/%s/%s' % (version, account, target)
        if resp.headers.get(SYSMETA_TARGET_ETAG):
            headers[TARGET_ETAG] = resp.headers[SYSMETA_TARGET_ETAG]
        return RelativeRedirect(headers)

    # --------------------------------------------------------- containers

    def handle_container(self, req, version, account):
        if req.method != 'GET':
            return None
        resp = req.get_response(self.app)
        if not is_success(resp.status_int) or resp.status_int == 204:
            return resp
        content_type = (resp.content_type or '').lower()
        if content_type == 'application/json':
            entries = json.loads(resp.body)
            resp.body = json.dumps([
                symlink_listing_entry(entry, version, account)
                for entry in entries]).encode('ascii')
        elif content_type.endswith('/xml'):
            resp.body = strip_xml_symlink_params(
                resp.body.decode('utf-8')).encode('utf-8')
        return resp


def set_content_type(req, value):
    """Give a request the Content-Type its client left out, so that the
    proxy takes it as sent (it trusts the raw headers the WSGI server kept:
    common.subrequest.sent_content_type)."""
    req.headers['Content-Type'] = value
    raw = req.environ.get('headers_raw')
    if raw is not None:
        req.environ['headers_raw'] = tuple(
            (name, old) for name, old in raw
            if name.lower() != 'content-type') + (('Content-Type', value),)


def check_empty_body(req):
    """400 unless a symlink PUT has no body (a chunked one is peeked at)."""
    if req.content_length is None:
        has_body = req.environ['wsgi.input'].read(1) != b''
        req.headers.pop('Transfer-Encoding', None)
        req.headers['Content-Length'] = '0'
    else:
        has_body = req.content_length != 0
    if has_body:
        fail(HTTPBadRequest, 'Symlink requests require a zero byte body')


class RelativeRedirect:
    """307 to a symlink's target with ``Location`` as a path, as Swift
    sends it (webob would make it absolute)."""

    def __init__(self, headers):
        self.headers = headers

    def __call__(self, environ, start_response):
        body = POST_REDIRECT_BODY.encode('utf-8')
        headers = [('Content-Type', 'text/plain'),
                   ('Content-Length', str(len(body)))]
        headers.extend(self.headers.items())
        start_response('307 Temporary Redirect', headers)
        if environ['REQUEST_METHOD'] == 'HEAD':
            return [b'']
        return [body]


def symloop_max_of(conf):
    """``symloop_max`` from the conf; under 1 means
    the default, as in Swift.

    >>> symloop_max_of({'symloop_max': '5'}), symloop_max_of({})
    (5, 2)
    >>> symloop_max_of({'symloop_max': '0'})
    2
    """
    value = int(conf.get('symloop_max', DEFAULT_SYMLOOP_MAX))
    return value if value >= 1 else DEFAULT_SYMLOOP_MAX


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: SymlinkMiddleware(app, conf)
