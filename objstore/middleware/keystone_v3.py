"""keystone_v3: a Keystone v3-compatible identity endpoint over tempauth's
users, so that Keystone clients (keystoneauth1, python-swiftclient's
``--auth-version 3``, Glance's swift store) work with no Keystone.

Owns the identity protocol: reading ``POST /v3/auth/tokens`` bodies, the
token document (user, project, roles, service catalog), token validation
(``GET``/``HEAD /v3/auth/tokens``), version discovery (``GET /v3``, ``GET
/``) and Keystone's JSON error bodies. It owns no users and no tokens:
tempauth hands it an ``Identity`` (its users, its token signer, its
storage URLs), routes these paths to it, and so a token issued here *is*
a tempauth token, accepted by the proxy with the same groups.

How tempauth's users look in Keystone terms (one domain, ``Default``, id
``default``):

* a project is a tempauth account: ``test`` has id and name ``test`` and
  its object-store endpoint is the account's storage URL
  (``http://<host>/v1/AUTH_test``), the same for the public, internal and
  admin interfaces, in region ``RegionOne`` (``region`` option);
* a user ``<account>:<user>`` (``test:tester``) has that as its id and
  name, and the account as its only (and default) project. Its name may
  also be given short (``tester``) when the request scopes to the project
  by name or id (then ``tester`` in project ``test`` is ``test:tester``)
  or when only one account has a user of that name;
* roles: every user has ``reader``; ``.admin`` adds ``member`` and
  ``admin`` (the account's owner), ``.reseller_admin`` adds
  ``ResellerAdmin``. They describe the tempauth groups, which are what the
  proxy goes by.

Scope, as Keystone does it: a request naming no scope gets a token scoped
to the user's default project (its account); ``"scope": "unscoped"``
gets an unscoped token (no project, roles or catalog), which the identity
endpoint accepts (for the ``token`` method, to rescope it) and the proxy
refuses; a project other than the user's own is 401. Tokens cannot be
revoked (tempauth's are signed, not stored), so ``DELETE`` is 405. A
token holds only its subject and expiry, so validating one reports the
``password`` method and an issue time of expiry less ``token_life``.

Pure but for ``KeystoneV3.__call__``: parsing, resolving and documents take
values (``now`` passed in) and are tested without sockets.
"""

import base64
import dataclasses
import datetime
import hashlib
import hmac
import json
from urllib.parse import parse_qs, quote

from objstore.common.http import Response
from objstore.common.subrequest import sent_content_type

TOKENS_PATH = '/v3/auth/tokens'
VERSION_PATH = '/v3'
UNSCOPED_MARK = '\0unscoped\0'
DEFAULT_DOMAIN = {'id': 'default', 'name': 'Default'}
DEFAULT_REGION = 'RegionOne'
# Keystone's default max_request_body_size.
MAX_BODY_BYTES = 114688
SUPPORTED_METHODS = ('password', 'token')
V3_VERSION = {
    'id': 'v3.14', 'status': 'stable', 'updated': '2020-04-07T00:00:00Z',
    'media-types': [{'base': 'application/json',
                     'type': 'application/vnd.openstack.identity-v3+json'}],
}
ERROR_TITLES = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
    404: 'Not Found', 405: 'Method Not Allowed',
    413: 'Request Entity Too Large',
}
UNAUTHORIZED_TEXT = 'The request you have made requires authentication.'
VALIDATION_TEXT = (
    'Expecting to find %s in %s. The server could not comply with the '
    'request since it is either malformed or otherwise incorrect. The '
    'client is assumed to be in error.')


class KeystoneError(Exception):
    """An answer in Keystone's error shape: status and message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def validation_error(attribute, target):
    """Keystone's 400 for something missing or wrong in the request.

    >>> validation_error('password', 'user').message[:35]
    'Expecting to find password in user.'
    """
    return KeystoneError(400, VALIDATION_TEXT % (attribute, target))


def unauthorized():
    """Keystone's 401: it says no more, so as not to help a guesser."""
    return KeystoneError(401, UNAUTHORIZED_TEXT)


def error_document(status, message):
    """Keystone's JSON error body.

    >>> error_document(401, 'x')
    {'error': {'code': 401, 'message': 'x', 'title': 'Unauthorized'}}
    """
    return {'error': {'code': status, 'message': message,
                      'title': ERROR_TITLES.get(status, 'Error')}}


# ------------------------------------------------------- the request body


@dataclasses.dataclass(frozen=True)
class Ref:
    """A user, project or domain named by id and/or name."""
    id: str = None
    name: str = None
    domain: 'Ref' = None


@dataclasses.dataclass(frozen=True)
class TokenAsk:
    """What a ``POST /v3/auth/tokens`` asks for. ``scope`` is None (the
    user's default project), UNSCOPED, or a project Ref."""
    method: str
    user: Ref = None
    password: str = None
    token: str = None
    scope: object = None


UNSCOPED = 'unscoped'


def _schema_error(path, message):
    where = "Invalid input for field '%s': " % path if path else ''
    return KeystoneError(400, where + message)


def _member(obj, key, kind, path, required=False):
    """``obj[key]`` checked to be of ``kind`` (None when absent and not
    required), with Keystone's schema error texts."""
    if key not in obj:
        if required:
            raise _schema_error(path, "'%s' is a required property" % key)
        return None
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        name = {dict: 'object', str: 'string', list: 'array'}[kind]
        raise _schema_error('/'.join(filter(None, (path, key))),
                            'not of type %r' % name)
    return value


def _ref(obj, path):
    """A Ref of ``{"id": .., "name": .., "domain": {..}}``."""
    domain = _member(obj, 'domain', dict, path)
    return Ref(_member(obj, 'id', str, path), _member(obj, 'name', str, path),
               None if domain is None else _ref(domain, path + '/domain'))


def decode_body(body, content_type):
    """The JSON object of a request body (``{}`` when empty).

    >>> decode_body(b'{"auth": {}}', 'application/json')
    {'auth': {}}
    """
    if not body:
        return {}
    if content_type and content_type.split(';')[0].strip().lower() != \
            'application/json':
        raise validation_error('application/json', 'Content-Type header')
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        document = None
    if not isinstance(document, dict):
        raise validation_error('valid JSON', 'request body')
    return document


def parse_token_ask(document):
    """The TokenAsk of a decoded ``POST /v3/auth/tokens`` body.

    >>> ask = parse_token_ask({'auth': {'identity': {
    ...     'methods': ['password'], 'password': {'user': {
    ...         'name': 'tester', 'domain': {'id': 'default'},
    ...         'password': 'testing'}}}}})
    >>> ask.method, ask.user.name, ask.scope
    ('password', 'tester', None)
    """
    auth = document.get('auth', {})
    if not isinstance(auth, dict):
        raise _schema_error('auth', 'not of type \'object\'')
    identity = _member(auth, 'identity', dict, '', required=True)
    methods = _member(identity, 'methods', list, 'identity', required=True)
    if not all(isinstance(m, str) for m in methods):
        raise _schema_error('identity/methods', "items not of type 'string'")
    if len(methods) != 1 or methods[0] not in SUPPORTED_METHODS:
        raise KeystoneError(
            401, 'Attempted to authenticate with an unsupported method.')
    method = methods[0]
    payload = _member(identity, method, dict, 'identity')
    if payload is None:
        raise validation_error(method, 'identity')
    scope = _read_scope(auth)
    if method == 'token':
        token = _member(payload, 'id', str, 'identity/token', required=True)
        return TokenAsk('token', token=token, scope=scope)
    user = _member(payload, 'user', dict, 'identity/password')
    if user is None:
        raise validation_error('user', 'password')
    ref = _ref(user, 'identity/password/user')
    password = _member(user, 'password', str, 'identity/password/user')
    if not ref.id and not ref.name:
        raise validation_error('id or name', 'user')
    if password is None:
        raise validation_error('password', 'user')
    if not ref.id and ref.domain is None:
        raise validation_error('domain', 'user')
    return TokenAsk('password', user=ref, password=password, scope=scope)


def _read_scope(auth):
    """None, UNSCOPED or the project Ref of ``auth['scope']``; a domain,
    system or trust scope is a Ref no user here has a role on."""
    if 'scope' not in auth:
        return None
    scope = auth['scope']
    if scope == UNSCOPED:
        return UNSCOPED
    if not isinstance(scope, dict):
        raise _schema_error('scope', "not of type 'object'")
    project = _member(scope, 'project', dict, 'scope')
    if project is None:
        return Ref()
    ref = _ref(project, 'scope/project')
    if not ref.id and not ref.name:
        raise validation_error('id or name', 'project')
    if not ref.id and ref.domain is None:
        raise validation_error('domain', 'project')
    return ref


# ---------------------------------------------------- users and projects


def in_default_domain(domain):
    """Whether a domain Ref (None: not given) names ``Default``."""
    return domain is None or (
        (domain.id is None or domain.id == DEFAULT_DOMAIN['id']) and
        (domain.name is None or domain.name == DEFAULT_DOMAIN['name']) and
        (domain.id or domain.name) is not None)


def project_name(ref):
    """The account a project Ref names, or None (other domain, no name)."""
    if ref.id is not None:
        return ref.id
    return ref.name if in_default_domain(ref.domain) else None


def find_user(users, user, scope):
    """The User (tempauth's) a user Ref names, or None.

    ``account:user`` by id or name; a short name is looked up in the
    project the request scopes to, else among every account.

    >>> from types import SimpleNamespace as U
    >>> users = {'test:tester': U(account='test', name='tester')}
    >>> find_user(users, Ref(name='tester', domain=Ref('default')), None)
    namespace(account='test', name='tester')
    """
    if user.id is not None:
        return users.get(user.id)
    if not in_default_domain(user.domain):
        return None
    if user.name in users:
        return users[user.name]
    if isinstance(scope, Ref) and project_name(scope):
        return users.get('%s:%s' % (project_name(scope), user.name))
    named = [u for u in users.values() if u.name == user.name]
    return named[0] if len(named) == 1 else None


def scoped_project(user, scope):
    """The account a token for ``user`` is scoped to (None: unscoped);
    401 for any project but the user's own."""
    if scope is None:
        return user.account
    if scope == UNSCOPED:
        return None
    if project_name(scope) != user.account:
        raise unauthorized()
    return user.account


def token_subject(user_id, project):
    """What the token carries: the user id, marked when unscoped (the
    proxy then knows no such user and refuses it)."""
    return user_id if project is not None else UNSCOPED_MARK + user_id


def read_subject(subject):
    """(user id, scoped?) of a token's subject."""
    if subject.startswith(UNSCOPED_MARK):
        return subject[len(UNSCOPED_MARK):], False
    return subject, True


def roles_of(groups):
    """Keystone roles standing for tempauth groups.

    >>> roles_of(('.admin',))
    ['reader', 'member', 'admin']
    """
    roles = ['reader']
    if '.admin' in groups:
        roles += ['member', 'admin']
    if '.reseller_admin' in groups:
        roles.append('ResellerAdmin')
    return roles


# -------------------------------------------------------------- documents


def iso_time(epoch):
    """Keystone's time format.

    >>> iso_time(0)
    '1970-01-01T00:00:00.000000Z'
    """
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def audit_id(token):
    """A short id of a token, for logs (Keystone's is 22 url-safe chars)."""
    digest = hashlib.sha256(token.encode('utf-8')).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b'=').decode('ascii')


def stable_id(*parts):
    """A fixed hex id for a catalog entry (clients only compare them)."""
    return hashlib.sha256('\0'.join(parts).encode('utf-8')).hexdigest()[:32]


def service(kind, name, url, region):
    """A catalog entry with a public, internal and admin endpoint."""
    return {
        'type': kind, 'name': name, 'id': stable_id(kind),
        'endpoints': [{
            'id': stable_id(kind, interface), 'interface': interface,
            'region': region, 'region_id': region, 'url': url,
        } for interface in ('public', 'internal', 'admin')],
    }


@dataclasses.dataclass(frozen=True)
class Grant:
    """What a token says: who, scoped to which account (None: unscoped),
    with which tempauth groups, when issued and until when."""
    user_id: str
    project: str
    groups: tuple
    methods: tuple
    issued: float
    expires: float


def token_document(grant, token, urls, region):
    """The ``{"token": ...}`` body. ``urls`` is (object-store URL,
    identity URL), None for no catalog (``?nocatalog``)."""
    body = {
        'methods': list(grant.methods),
        'user': {'id': grant.user_id, 'name': grant.user_id,
                 'domain': dict(DEFAULT_DOMAIN),
                 'password_expires_at': None},
        'audit_ids': [audit_id(token)],
        'expires_at': iso_time(grant.expires),
        'issued_at': iso_time(grant.issued),
    }
    if grant.project is not None:
        body['project'] = {'id': grant.project, 'name': grant.project,
                           'domain': dict(DEFAULT_DOMAIN)}
        body['is_domain'] = False
        body['roles'] = [{'id': role, 'name': role}
                         for role in roles_of(grant.groups)]
        if urls is not None:
            body['catalog'] = [
                service('object-store', 'swift', urls[0], region),
                service('identity', 'keystone', urls[1], region)]
    return {'token': body}


def version_entry(base_url):
    """The v3 entry of a discovery document, its link at ``base_url``."""
    entry = dict(V3_VERSION)
    entry['links'] = [{'rel': 'self', 'href': base_url + '/v3/'}]
    return entry


# ------------------------------------------------------------ the handler


@dataclasses.dataclass(frozen=True)
class Identity:
    """What the endpoint is given by the middleware that owns users and
    tokens: ``users`` ({'account:user': User}), ``issue(subject, expires)
    -> token``, ``verify(token, now) -> (subject, expires) | None``,
    ``storage_url(req, user)``, the token life in seconds and the
    catalog's region."""
    users: dict
    issue: object
    verify: object
    storage_url: object
    token_life: int
    region: str = DEFAULT_REGION


def handles(path):
    """Whether ``path`` is the identity endpoint's.

    >>> handles('/v3/auth/tokens'), handles('/'), handles('/v1/a')
    (True, True, False)
    """
    return path in ('/', VERSION_PATH) or path.startswith(VERSION_PATH + '/')


class KeystoneV3:
    """Answers the identity paths (``handles``) of a request."""

    def __init__(self, identity, clock, logger):
        self.identity = identity
        self.clock = clock
        self.logger = logger

    def __call__(self, req):
        try:
            return self._route(req)
        except KeystoneError as err:
            return self._error(req, err)

    def _route(self, req):
        path = req.path_info
        if path == '/' or path.rstrip('/') == VERSION_PATH:
            if req.method not in ('GET', 'HEAD'):
                raise KeystoneError(
                    405, 'The method is not allowed for the requested URL.')
            return self._discovery(req, path == '/')
        if path.rstrip('/') != TOKENS_PATH:
            raise KeystoneError(404, 'The resource could not be found.')
        if req.method == 'POST':
            return self._issue(req)
        if req.method in ('GET', 'HEAD'):
            return self._validate(req)
        raise KeystoneError(
            405, 'The method is not allowed for the requested URL.')

    @staticmethod
    def _base_url(req):
        return req.host_url

    def _json(self, req, status, document, headers=None):
        body = json.dumps(document).encode('utf-8')
        headers = dict(headers or {}, **{'Content-Type': 'application/json'})
        resp = Response(status=status, headers=headers)
        resp.body = body
        if req.method == 'HEAD':
            resp.app_iter = []
            resp.content_length = len(body)
        return resp

    def _error(self, req, err):
        headers = {}
        if err.status == 401:
            # Quoted: the Host header is the client's and may hold '"'.
            headers['WWW-Authenticate'] = 'Keystone uri="%s"' % quote(
                self._base_url(req), safe=':/[]@')
        return self._json(req, err.status,
                          error_document(err.status, err.message), headers)

    def _discovery(self, req, every_version):
        entry = version_entry(self._base_url(req))
        if every_version:
            return self._json(req, 300, {'versions': {'values': [entry]}})
        return self._json(req, 200, {'version': entry})

    def _read_body(self, req):
        if not req.is_body_readable:
            return b''
        body = req.body_file.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            raise KeystoneError(413, 'Request is too large.')
        return body

    def _issue(self, req):
        """``POST /v3/auth/tokens``: 201 with the token, or an error."""
        if req.content_length is not None and \
                req.content_length > MAX_BODY_BYTES:
            raise KeystoneError(413, 'Request is too large.')
        ask = parse_token_ask(decode_body(
            self._read_body(req), sent_content_type(req.environ)))
        now = self.clock()
        if ask.method == 'password':
            user = self._check_password(ask)
            expires = int(now) + self.identity.token_life
            methods = ('password',)
        else:
            user, expires = self._check_token(ask.token, now)
            methods = ('token',)
        project = scoped_project(user, ask.scope)
        token = self.identity.issue(
            token_subject(user.user_id, project), expires)
        grant = Grant(user.user_id, project, tuple(user.groups), methods,
                      now, expires)
        self.logger.info('keystone v3 token for %s (project %s)',
                         user.user_id, project)
        return self._token_response(req, 201, grant, token)

    def _check_password(self, ask):
        user = find_user(self.identity.users, ask.user, ask.scope)
        # surrogatepass: a JSON password may hold lone surrogates.
        if user is None or not hmac.compare_digest(
                user.key.encode('utf-8'),
                ask.password.encode('utf-8', 'surrogatepass')):
            self.logger.info('keystone v3 auth failed for %r',
                             ask.user.id or ask.user.name)
            raise unauthorized()
        return user

    def _verify(self, token, now):
        """The signer's (subject, expires), None for a bad token. A token
        is ASCII: anything else (a JSON string may even hold lone
        surrogates, which no codec takes) is none of ours."""
        return self.identity.verify(token, now) if token.isascii() else None

    def _check_token(self, token, now):
        """(User, expires) of a valid token, scoped or not; else 401."""
        verified = self._verify(token, now)
        if verified is None:
            raise unauthorized()
        user_id, _ = read_subject(verified[0])
        user = self.identity.users.get(user_id)
        if user is None:
            raise unauthorized()
        return user, verified[1]

    def _validate(self, req):
        """``GET``/``HEAD /v3/auth/tokens``: the subject token's document
        for its own user or a reseller admin."""
        now = self.clock()
        caller, _ = self._check_token(
            req.headers.get('X-Auth-Token', ''), now)
        subject = req.headers.get('X-Subject-Token')
        if not subject:
            raise validation_error('X-Subject-Token', 'header')
        verified = self._verify(subject, now)
        user_id, scoped = read_subject(verified[0]) if verified \
            else (None, False)
        user = self.identity.users.get(user_id)
        if user is None:
            raise KeystoneError(404, 'Could not find token: %s.' % subject)
        if caller.user_id != user.user_id and \
                '.reseller_admin' not in caller.groups:
            raise KeystoneError(403, 'You are not authorized to perform '
                                'the requested action: '
                                'identity:validate_token.')
        expires = verified[1]
        grant = Grant(user.user_id, user.account if scoped else None,
                      tuple(user.groups), ('password',),
                      expires - self.identity.token_life, expires)
        return self._token_response(req, 200, grant, subject)

    def _token_response(self, req, status, grant, token):
        urls = None
        # parse_qs, not req.GET: webob raises on a query that is not UTF-8.
        query = parse_qs(req.query_string, keep_blank_values=True)
        if 'nocatalog' not in query and grant.project is not None:
            users = self.identity.users
            urls = (self.identity.storage_url(req, users[grant.user_id]),
                    self._base_url(req) + VERSION_PATH)
        document = token_document(grant, token, urls, self.identity.region)
        return self._json(req, status, document, {
            'X-Subject-Token': token, 'Vary': 'X-Auth-Token'})
