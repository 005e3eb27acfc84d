"""Who may reach the Swift API: the routed paths and the auth claim.

Owns two contracts that must not drift apart:

* **The API paths.** ``API_VERSIONS`` are the first path segments the proxy
  routes to its controllers (``/v1/...`` and ``/v1.0/...``); ``api_version``
  says whether a path is one of them. The proxy routes with it and auth
  middlewares decide what to claim with it, so a prefix the proxy serves is
  never one that auth ignores.

* **The claim (deny by default).** A request reaches the proxy's API only if
  a middleware has claimed it by putting its decision callback in
  ``environ['swift.authorize']`` (``claim``). The proxy calls that callback
  (``callback(req) -> None | denial response``) before it touches storage,
  and again with the container's ACL in ``environ['swift.acl']``. A request
  that nobody claimed gets ``unauthorized`` (401) from the proxy, unless its
  path is public (``is_public``: ``/info``, ``/healthcheck``, ``/auth/...``).

  tempauth claims every API path (``api_version``). A middleware that
  authenticates a request by other means (TempURL signature, FormPost, S3
  signature) sits before tempauth, claims it with ``override=True``; that
  sets ``environ['swift.authorize_override']`` so that auth middlewares
  further down keep its decision instead of replacing it. Subrequests inherit
  the claim (common.subrequest), so they are authorized as the client.

* **Credentials for signatures.** A middleware that authenticates requests
  signed with a user's secret (s3api: access key ``account:user``, secret =
  the user's key) checks them against the auth middleware's users through
  ``lookup(access_key) -> Credentials | None``:

  - The auth middleware (tempauth) puts its ``lookup`` in
    ``environ[CREDENTIALS_KEY]`` of every request it passes on
    (``publish_lookup``), for middlewares after it.
  - A signing middleware sits *before* the auth middleware (it must answer
    in its own protocol), so it cannot look a key up when the request
    reaches it. It parses the signature and leaves a callback,
    ``verify(lookup) -> Credentials | None``, in
    ``environ[SIGNED_REQUEST_KEY]`` (``await_signature_check``). ``verify``
    looks the access key up, checks the signature with the secret and
    returns the Credentials when it matches; it may then rewrite the
    request's path to ``credentials.account``. None means unknown key or
    bad signature.
  - The auth middleware calls it (``signature_verifier``) with its lookup
    before it looks at tokens: with Credentials the request is that user's
    (``REMOTE_USER`` = the groups, as for a token) and is claimed as usual;
    with None it answers 401. A client cannot forge either key: WSGI puts
    client headers under ``HTTP_*`` only.

Pure: no I/O.
"""

import dataclasses
from urllib.parse import quote

from objstore.common.http import (
    HTTPForbidden, HTTPUnauthorized, default_body)

API_VERSIONS = ('v1', 'v1.0')
AUTHORIZE_KEY = 'swift.authorize'
OVERRIDE_KEY = 'swift.authorize_override'
CREDENTIALS_KEY = 'objstore.auth.lookup_credentials'
SIGNED_REQUEST_KEY = 'objstore.auth.verify_signature'
PUBLIC_PATHS = ('/info', '/healthcheck')
PUBLIC_PREFIXES = ('/auth/',)

UNAUTHORIZED_BODY = default_body(401)

def api_version(path):
    """The API version a path is addressed to, or None when it is not one
    the proxy routes. Exact match: ``/V1`` and ``//v1`` are not API paths.

    >>> api_version('/v1.0/AUTH_test/c/o'), api_version('/V1/AUTH_test')
    ('v1.0', None)
    """
    if not path.startswith('/'):
        return None
    version = path[1:].split('/', 1)[0]
    return version if version in API_VERSIONS else None


def is_public(path):
    """Whether a path needs no claim (it reveals nothing stored).

    >>> is_public('/info/'), is_public('/auth/v1.0'), is_public('/v1/a')
    (True, True, False)
    """
    return path.rstrip('/') in PUBLIC_PATHS or path.startswith(
        PUBLIC_PREFIXES)


def claim(environ, authorize, override=False):
    """Make ``authorize`` the decision for this request.

    Returns False, changing nothing, when a middleware before this one
    claimed it with ``override`` (its decision stands).
    """
    if environ.get(OVERRIDE_KEY):
        return False
    environ[AUTHORIZE_KEY] = authorize
    if override:
        environ[OVERRIDE_KEY] = True
    return True


def is_claimed(environ):
    return callable(environ.get(AUTHORIZE_KEY))


def is_overridden(environ):
    """True when a middleware claimed the request with ``override``: its
    decision stands and auth middlewares further down step aside."""
    return bool(environ.get(OVERRIDE_KEY))


def realm_of(path):
    """The realm a 401 names: the account of an API path, else 'unknown'.

    >>> realm_of('/v1/AUTH_test/c'), realm_of('/healthcheck')
    ('AUTH_test', 'unknown')
    """
    parts = path.split('/', 3)
    if api_version(path) and len(parts) > 2 and parts[2]:
        return parts[2]
    return 'unknown'


def swift_error(exc_class, method='GET', **kwargs):
    """Swift's answer for an auth error status: its HTML page
    (``http.default_body``), no body for a HEAD.

    >>> swift_error(HTTPForbidden).body[:28]
    b'<html><h1>Forbidden</h1><p>A'
    >>> swift_error(HTTPForbidden, 'HEAD').body
    b''
    """
    body = b'' if method == 'HEAD' else default_body(exc_class.code)
    return exc_class(body=body, content_type='text/html', charset='UTF-8',
                     **kwargs)


def unauthorized_realm(realm, method='GET'):
    """Swift's 401 naming ``realm``: ``Www-Authenticate: Swift
    realm="<realm>"``, percent-quoted: a name may hold quotes or CR/LF,
    which must not end the header."""
    return swift_error(HTTPUnauthorized, method, headers={
        'Www-Authenticate': 'Swift realm="%s"' % quote(realm, safe='')})


def unauthorized(path, method='GET'):
    """Swift's 401 for a request to ``path``: the realm is its account
    only, even for a container or object (``realm_of``)."""
    return unauthorized_realm(realm_of(path), method)


@dataclasses.dataclass(frozen=True)
class Credentials:
    """What ``lookup(access_key)`` knows of a user: the secret signatures
    are made with, the account the user's storage URL names (``AUTH_test``),
    the user id (``test:tester``) and the user's groups, as the auth
    middleware puts them in ``REMOTE_USER``."""
    secret: str
    account: str
    user: str
    groups: tuple


def publish_lookup(environ, lookup):
    """Offer ``lookup`` to the middlewares after the auth middleware."""
    environ[CREDENTIALS_KEY] = lookup


def await_signature_check(environ, verify):
    """Ask the auth middleware further down to run ``verify(lookup)``."""
    environ[SIGNED_REQUEST_KEY] = verify


def signature_verifier(environ):
    """The ``verify`` callback a signing middleware left, or None."""
    verify = environ.get(SIGNED_REQUEST_KEY)
    return verify if callable(verify) else None
