"""tempauth: users and keys from the config, signed tokens, Swift's ACLs.

Owns: the ``/auth/v1.0`` token endpoint, turning a request's token into the
user's groups (``REMOTE_USER``), and the authorization decision the proxy
asks for through ``environ['swift.authorize']`` (account owners, reseller
admins, container ACLs ``X-Container-Read``/``X-Container-Write``, and
account ACLs ``X-Account-Access-Control``, whose syntax and matching live
in common.acl). It must not touch storage: the proxy reads the container's
ACL and puts it on the request (``req.acl``) before it calls
``swift.authorize`` a second time; the account's ACL it reads through an
account info lookup (common.info), only when nothing else lets a user in.
It validates a client's account ACL (Swift's 400 texts) and moves it to
the account sysmeta that keeps it, behind the gatekeeper.

It offers its users' credentials to signing middlewares (s3api) through
``lookup_credentials`` and honours the signatures they verify with it; the
contract is in common.access.

It serves the Keystone v3 identity paths (``/v3/...`` and ``/``, the
``keystone_v3`` option) through middleware.keystone_v3, handing it these
users and this token signer: a Keystone token is then a tempauth token,
accepted here with the same groups, with no second filter that would need
a new contract to reach the users and the signing key.

It claims (common.access) every path the proxy routes, token or not: both
take the API versions from common.access, and the proxy answers 401 to
whatever nobody claimed, so the two cannot drift into a bypass again.

Users are declared in the filter section as Swift's tempauth does::

    user_<account>_<user> = <key> [.admin] [.reseller_admin] [<storage url>]
    user64_<b64 account>_<b64 user> = ...   (names with '_' in them)

Tokens are self-contained and signed, not stored: ``AUTH_tk`` + hex of
(nonce, expiry, user) + an HMAC-SHA256 tag. Any worker process of any proxy
that has the same config (the same ``token_secret``, or when it is empty the
same users and keys, from which the secret is then derived) validates a
token without shared state, so prefork workers and several proxies need no
memcached. The price: a token cannot be revoked before it expires except by
changing the secret (or the user's key when the secret is derived).

Groups of a user, as Swift defines them: the account name (``test``), the
user (``test:tester``), the account id (``AUTH_test``) when the user has
``.admin`` (an owner of the account), and ``.reseller_admin`` (owner of
every account of this reseller prefix).
"""

import base64
import binascii
import dataclasses
import hashlib
import hmac
import os
import struct
import time
from urllib.parse import quote

from objstore.common.access import (
    Credentials, api_version, claim, is_overridden, publish_lookup,
    signature_verifier, swift_error, unauthorized, unauthorized_realm)
from objstore.common.acl import (
    ACCOUNT_ACL_HEADER, ACCOUNT_ACL_SYSMETA, account_acl_allows,
    account_acl_level, clean_acl, group_allowed, parse_account_acl,
    parse_acl, referrer_allowed)
from objstore.common.config import ConfBase
from objstore.common.http import (
    HTTPBadRequest, HTTPForbidden, HTTPMethodNotAllowed, Response, Request,
    environ_key, split_path)
from objstore.common.info import get_account_info
from objstore.common.log import get_logger
from objstore.common.subrequest import add_capability
from objstore.middleware import keystone_v3

SYSMETA_PREFIX = 'x-account-sysmeta-'
ACCOUNT_ACL_ENVIRON_KEY = environ_key(ACCOUNT_ACL_HEADER)
TOKEN_TAG_HEX = 32  # 128 bits of HMAC-SHA256 are enough against forgery
TOKEN_NONCE_BYTES = 8
# Verified tokens a worker remembers (a few hundred bytes each); when
# full it forgets them all and checks each again once.
VERIFIED_TOKENS_KEPT = 4096


@dataclasses.dataclass(frozen=True)
class TempAuthConf(ConfBase):
    reseller_prefix: str = 'AUTH'
    auth_prefix: str = '/auth/'
    token_life: int = 86400
    storage_url_scheme: str = 'default'
    token_secret: str = ''
    keystone_v3: bool = True
    keystone_region: str = 'RegionOne'
    log_name: str = 'tempauth'

    @property
    def prefix(self):
        """Account names of this reseller start with this (``AUTH_``)."""
        return self.reseller_prefix + '_' if self.reseller_prefix else ''


@dataclasses.dataclass(frozen=True)
class User:
    account: str
    name: str
    key: str
    groups: tuple
    storage_url: str = None

    @property
    def user_id(self):
        return '%s:%s' % (self.account, self.name)


# ----------------------------------------------------------------- users


def _decode_b64_name(text):
    padded = text + '=' * (-len(text) % 4)
    return base64.b64decode(padded.encode('ascii'), altchars=b'-_',
                            validate=True).decode('utf-8')


def _split_user_option(option):
    """``user_test_tester`` -> ('test', 'tester'); None if not a user."""
    if option.startswith('user64_'):
        _, account, user = option.split('_', 2)
        return _decode_b64_name(account), _decode_b64_name(user)
    if option.startswith('user_'):
        parts = option.split('_', 2)
        if len(parts) == 3 and parts[1] and parts[2]:
            return parts[1], parts[2]
    return None


def parse_users(conf):
    """{'account:user': User} from a tempauth filter section.

    >>> users = parse_users({'user_test_tester': 'testing .admin'})
    >>> users['test:tester'].groups
    ('.admin',)
    """
    users = {}
    for option, value in conf.items():
        names = _split_user_option(option)
        if names is None:
            continue
        words = value.split()
        if not words:
            raise ValueError('%s has no key' % option)
        groups = tuple(w for w in words[1:] if w.startswith('.'))
        urls = [w for w in words[1:] if not w.startswith('.')]
        user = User(names[0], names[1], words[0], groups,
                    urls[-1] if urls else None)
        users[user.user_id] = user
    return users


def user_groups(user, prefix):
    """The groups a user belongs to, the user id first after the account.

    >>> user_groups(User('test', 'tester', 'k', ('.admin',)), 'AUTH_')
    ['test', 'test:tester', 'AUTH_test']
    """
    groups = [user.account, user.user_id]
    if '.admin' in user.groups:
        groups.append(prefix + user.account)
    if '.reseller_admin' in user.groups:
        groups.append('.reseller_admin')
    return groups


# ---------------------------------------------------------------- tokens


def identify(environ, groups):
    """Name the request's user by its ``groups`` (``REMOTE_USER``) and,
    as Swift's tempauth does, mark a reseller admin's request
    (``reseller_request``: account_quotas lets only those set quotas)."""
    environ['REMOTE_USER'] = ','.join(groups)
    if '.reseller_admin' in groups:
        environ['reseller_request'] = True


def derive_secret(token_secret, users):
    """The HMAC key: the configured secret, else one derived from the users.

    Deriving it from every user's key means every proxy with the same user
    list agrees on it, and a key change invalidates that user's tokens.
    """
    if token_secret:
        return hashlib.sha256(b'objstore-tempauth\0'
                              + token_secret.encode('utf-8')).digest()
    digest = hashlib.sha256(b'objstore-tempauth-users\0')
    for user_id in sorted(users):
        user = users[user_id]
        digest.update(('%s\0%s\0%s\0' % (user_id, user.key,
                                         ','.join(user.groups))).encode())
    return digest.digest()


class TokenSigner:
    """Issues and verifies self-contained tokens (pure, clock passed in)."""

    def __init__(self, secret, prefix):
        self.secret = secret
        self.token_prefix = prefix + 'tk'
        # token -> (user_id, expires) of tokens whose tag checked out: a
        # client sends the same token with every request, and the HMAC
        # was a tenth of a small request's pipeline cost. Sound because
        # the answer depends only on the token and the secret (fixed for
        # this signer); the expiry is still checked on every use.
        self._verified = {}

    def _tag(self, payload):
        return hmac.new(self.secret, payload,
                        hashlib.sha256).hexdigest()[:TOKEN_TAG_HEX]

    def issue(self, user_id, expires, nonce=None):
        """A token for ``user_id`` valid until the epoch second ``expires``."""
        nonce = nonce if nonce is not None else os.urandom(TOKEN_NONCE_BYTES)
        payload = nonce + struct.pack('>Q', int(expires)) + \
            user_id.encode('utf-8')
        return self.token_prefix + payload.hex() + self._tag(payload)

    def verify(self, token, now):
        """(user_id, expires) of a valid unexpired token, else None."""
        known = self._verified.get(token)
        if known is not None:
            return known if known[1] > now else None
        verified = self._check(token, now)
        if verified is not None:
            if len(self._verified) >= VERIFIED_TOKENS_KEPT:
                self._verified.clear()
            self._verified[token] = verified
        return verified

    def _check(self, token, now):
        if not token or not token.startswith(self.token_prefix):
            return None
        body = token[len(self.token_prefix):]
        if len(body) <= TOKEN_TAG_HEX:
            return None
        payload_hex, tag = body[:-TOKEN_TAG_HEX], body[-TOKEN_TAG_HEX:]
        try:
            payload = binascii.unhexlify(payload_hex)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(self._tag(payload).encode('ascii'),
                                   tag.encode('utf-8', 'surrogateescape')):
            return None
        head = TOKEN_NONCE_BYTES + 8
        if len(payload) <= head:
            return None
        (expires,) = struct.unpack('>Q', payload[TOKEN_NONCE_BYTES:head])
        if expires <= now:
            return None
        try:
            return payload[head:].decode('utf-8'), expires
        except UnicodeDecodeError:
            return None


# -------------------------------------------------------------- decision


@dataclasses.dataclass
class AccessRequest:
    """The facts an authorization decision needs, free of WSGI."""
    method: str
    account: str
    container: str = None
    obj: str = None
    groups: list = None     # None: anonymous
    acl: str = None
    referrer: str = None


ALLOW = 'allow'
OWNER = 'owner'
UNAUTHORIZED = 401
FORBIDDEN = 403


def decide(access, prefix, account_acl=dict):
    """ALLOW, OWNER (allowed and owns the account), 401 or 403.

    Account owners (``AUTH_x`` group) do anything in their account except
    creating or deleting the account itself, which only reseller admins do.
    A user nothing else lets in is judged by the account's ACL, which
    ``account_acl()`` returns ({level: [grants]}); it is asked only then,
    as reading it costs a lookup.
    """
    groups = access.groups or []
    if not access.account or not access.account.startswith(prefix):
        return FORBIDDEN if access.groups else UNAUTHORIZED
    if '.reseller_admin' in groups and len(access.account) > len(prefix) \
            and access.account[len(prefix)] != '.':
        return OWNER
    if access.account in groups and (
            access.method not in ('PUT', 'DELETE') or access.container):
        return OWNER
    if access.method == 'OPTIONS':
        return ALLOW
    referrers, acl_groups = parse_acl(access.acl)
    if access.container and referrer_allowed(access.referrer, referrers):
        if access.obj or '.rlistings' in acl_groups:
            return ALLOW
    if access.groups is None:
        return UNAUTHORIZED
    if access.container and group_allowed(groups, acl_groups):
        return ALLOW
    return account_acl_verdict(access, groups, account_acl())


def account_acl_verdict(access, groups, acl):
    """OWNER for an account ACL ``admin``, ALLOW when the user's level
    allows the request (common.acl), else FORBIDDEN.

    >>> account_acl_verdict(AccessRequest('PUT', 'AUTH_a', 'c'), ['b', 'b:u'],
    ...                     {'read-write': ['b:u']})
    'allow'
    """
    level = account_acl_level(acl, groups)
    if level == 'admin':
        return OWNER
    if account_acl_allows(level, access.method, access.container):
        return ALLOW
    return FORBIDDEN


# ---------------------------------------------------------- token request


@dataclasses.dataclass(frozen=True)
class TokenRequest:
    """Who a token request names: the account (the 401's realm, None when
    unknown), the user id ``account:user`` (None when not given in full)
    and the key."""
    account: str = None
    user_id: str = None
    key: str = None


def read_token_request(path, headers):
    """The TokenRequest of ``path`` (what follows the auth prefix), in
    Swift's forms; ValueError when the path is none of them.

    ``v1/<account>/auth``: ``X-Storage-User: <user>`` or ``X-Auth-User:
    <account>:<user>``, key in ``X-Storage-Pass`` or ``X-Auth-Key``.
    ``v1.0`` or ``auth`` (anything may follow): ``X-Auth-User`` or
    ``X-Storage-User`` ``<account>:<user>``, key in ``X-Auth-Key`` or
    ``X-Storage-Pass``.

    >>> read_token_request('v1/test/auth', {'X-Storage-User': 'tester'})
    TokenRequest(account='test', user_id='test:tester', key=None)
    >>> read_token_request('v1', {})
    Traceback (most recent call last):
    ValueError: not a token path: 'v1'
    """
    segments = path.strip('/').split('/', 2)
    if segments[0] == 'v1' and len(segments) == 3 and segments[2] == 'auth':
        account = segments[1]
        key = headers.get('X-Storage-Pass') or headers.get('X-Auth-Key')
        if headers.get('X-Storage-User'):
            return TokenRequest(account, '%s:%s' % (
                account, headers['X-Storage-User']), key)
        user_id = headers.get('X-Auth-User') or ''
        if user_id.split(':', 1)[0] != account or ':' not in user_id:
            return TokenRequest(account)
        return TokenRequest(account, user_id, key)
    if segments[0] not in ('v1.0', 'auth'):
        raise ValueError('not a token path: %r' % path)
    user_id = headers.get('X-Auth-User') or headers.get('X-Storage-User')
    if not user_id or ':' not in user_id:
        return TokenRequest()
    return TokenRequest(user_id.split(':', 1)[0] or None, user_id,
                        headers.get('X-Auth-Key') or
                        headers.get('X-Storage-Pass'))


# ------------------------------------------------------------ middleware


class TempAuth:
    """The WSGI filter: token endpoint, token check, swift.authorize."""

    def __init__(self, app, conf, logger=None, clock=time.time):
        self.app = app
        self.conf = TempAuthConf.from_conf(conf)
        self.logger = logger or get_logger(conf, self.conf.log_name)
        self.users = parse_users(conf)
        self.signer = TokenSigner(
            derive_secret(self.conf.token_secret, self.users),
            self.conf.prefix)
        self.clock = clock
        self.keystone = self._keystone_endpoint()

    def _keystone_endpoint(self):
        """The Keystone v3 endpoint over these users and tokens, or None
        when the ``keystone_v3`` option turns it off."""
        if not self.conf.keystone_v3:
            return None
        identity = keystone_v3.Identity(
            users=self.users, issue=self.signer.issue,
            verify=self.signer.verify, storage_url=self._storage_url,
            token_life=self.conf.token_life,
            region=self.conf.keystone_region)
        return keystone_v3.KeystoneV3(identity, self.clock, self.logger)

    def __call__(self, environ, start_response):
        add_capability(environ, 'tempauth', account_acls=True)
        path = environ.get('PATH_INFO', '')
        if path.startswith(self.conf.auth_prefix):
            return self.handle_get_token(Request(environ))(
                environ, start_response)
        if self.keystone is not None and keystone_v3.handles(path):
            return self.keystone(Request(environ))(environ, start_response)
        if is_overridden(environ):
            # A middleware before us (TempURL, FormPost) decided already;
            # a token the client also sent is not ours to judge.
            return self.app(environ, start_response)
        publish_lookup(environ, self.lookup_credentials)
        verify = signature_verifier(environ)
        if verify is not None:
            denied = self._identify_signed(environ, verify)
        else:
            denied = self._identify_token(environ, path)
        if denied is not None:
            return denied(environ, start_response)
        # A signing middleware's verify may have pointed the path at the
        # user's account.
        path = environ.get('PATH_INFO', '')
        # Every path the proxy routes is ours to decide (deny by default,
        # common.access): anonymous requests too, for ACLs to apply.
        if api_version(path) and claim(environ, self.authorize):
            environ['swift.clean_acl'] = clean_acl
        return self.app(environ, start_response)

    def _identify_token(self, environ, path):
        """Set REMOTE_USER for a valid token; a 401 for a bad one."""
        token = environ.get('HTTP_X_AUTH_TOKEN') or \
            environ.get('HTTP_X_STORAGE_TOKEN')
        if not token:
            return None
        verified = self.signer.verify(token, self.clock())
        if verified is None or verified[0] not in self.users:
            if api_version(path) or token.startswith(
                    self.signer.token_prefix):
                return unauthorized(path, environ.get('REQUEST_METHOD'))
            return None
        identify(environ, user_groups(self.users[verified[0]],
                                      self.conf.prefix))
        return None

    def _identify_signed(self, environ, verify):
        """Set REMOTE_USER for a request whose signature ``verify`` accepts
        (common.access); a 401 for an unknown key or a bad signature."""
        credentials = verify(self.lookup_credentials)
        if credentials is None:
            self.logger.info('signature check failed for %s',
                             environ.get('PATH_INFO', ''))
            return unauthorized(environ.get('PATH_INFO', ''))
        identify(environ, credentials.groups)
        return None

    def lookup_credentials(self, access_key):
        """Credentials of the user ``account:user``, or None (the contract
        is in common.access)."""
        user = self.users.get(access_key)
        if user is None:
            return None
        return Credentials(
            secret=user.key, account=self.conf.prefix + user.account,
            user=user.user_id,
            groups=tuple(user_groups(user, self.conf.prefix)))

    def authorize(self, req):
        """None when allowed (marking owners), else a 401/403 response."""
        try:
            _, account, container, obj = split_path(req.path, 2, 4, True)
        except ValueError:
            return HTTPBadRequest(body=b'Invalid path')
        if account.startswith(self.conf.prefix):
            invalid = self._store_account_acl_as_sysmeta(req)
            if invalid is not None:
                return invalid
        remote = req.environ.get('REMOTE_USER')
        access = AccessRequest(
            method=req.method, account=account, container=container,
            obj=obj, groups=remote.split(',') if remote else None,
            acl=req.environ.get('swift.acl'),
            referrer=req.environ.get('HTTP_REFERER'))
        verdict = decide(access, self.conf.prefix,
                         lambda: self._account_acl(req))
        if verdict == OWNER:
            req.environ['swift_owner'] = True
            return None
        if verdict == ALLOW:
            return None
        if verdict == UNAUTHORIZED:
            return unauthorized(req.path_info, req.method)
        return swift_error(HTTPForbidden, req.method)

    @staticmethod
    def _store_account_acl_as_sysmeta(req):
        """Move a valid X-Account-Access-Control to the sysmeta the account
        keeps it in (Swift's 400 text for an invalid one). It happens here,
        behind the gatekeeper, which drops any sysmeta the client sent."""
        # Read from the environ: this runs on every request, and webob's
        # header view costs more than the rest of the check.
        if ACCOUNT_ACL_ENVIRON_KEY not in req.environ:
            return None
        value = req.headers.get(ACCOUNT_ACL_HEADER)
        try:
            parse_account_acl(value)
        except ValueError as err:
            return HTTPBadRequest(
                body=('%s invalid: %s\n\nInput: %s\n' % (
                    ACCOUNT_ACL_HEADER, err, value)).encode(
                        'utf-8', 'surrogateescape'),
                content_type='text/plain', charset='UTF-8')
        del req.headers[ACCOUNT_ACL_HEADER]
        req.headers[ACCOUNT_ACL_SYSMETA] = value
        return None

    def _account_acl(self, req):
        """The ACL of the account the request addresses ({} if none)."""
        info = get_account_info(req.environ, self.app, swift_source='TA')
        stored = info.get('sysmeta', {}).get(
            ACCOUNT_ACL_SYSMETA.lower()[len(SYSMETA_PREFIX):])
        try:
            return parse_account_acl(stored)
        except ValueError as err:
            self.logger.warning('invalid account ACL stored in %s: %s',
                                req.path, err)
            return {}

    def handle_get_token(self, req):
        """``GET /auth/v1.0`` (or ``/auth/v1/<acct>/auth``) -> a token."""
        if req.method != 'GET':
            return swift_error(HTTPMethodNotAllowed, req.method)
        try:
            ask = read_token_request(
                req.path[len(self.conf.auth_prefix):], req.headers)
        except ValueError:
            return swift_error(HTTPBadRequest, req.method)
        user = self.users.get(ask.user_id or '')
        if user is None or not ask.key or not hmac.compare_digest(
                user.key.encode('utf-8'), ask.key.encode('utf-8')):
            self.logger.info('auth failed for user %r', ask.user_id)
            return unauthorized_realm(ask.account or 'unknown')
        now = self.clock()
        expires = int(now) + self.conf.token_life
        token = self.signer.issue(user.user_id, expires)
        # Swift's answer: an empty body, its length said (not chunked).
        return Response(status=200, headers={
            'X-Auth-Token': token, 'X-Storage-Token': token,
            'X-Auth-Token-Expires': str(int(expires - now)),
            'X-Storage-Url': self._storage_url(req, user),
            'Content-Type': 'text/html; charset=UTF-8',
            'Content-Length': '0'})

    def _storage_url(self, req, user):
        if user.storage_url:
            return user.storage_url
        scheme = req.scheme if self.conf.storage_url_scheme == 'default' \
            else self.conf.storage_url_scheme
        return '%s://%s/v1/%s' % (scheme, req.host,
                                  quote(self.conf.prefix + user.account))


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)

    def auth_filter(app):
        return TempAuth(app, conf)
    return auth_filter
