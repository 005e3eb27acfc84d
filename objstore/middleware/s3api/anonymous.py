"""Unsigned S3 requests: which unsigned requests are S3's, and the
context they run in.

An unsigned request is S3's when nothing else in the pipeline serves its
path (not a Swift API version, not public such as ``/info``, not an auth
or identity path, not a path the middlewares before s3api answer for
some verbs and pass down for others, such as ``PUT /metrics``), it
carries no Swift token, and it names a valid bucket, path-style or
virtual-hosted. The registry (registry module) says which account owns
the bucket: the request runs in that account, as nobody. Its
subrequests carry no identity, so the auth middleware judges them by the
container's ACL (a ``public-read`` bucket is ``.r:*,.rlistings``), unless
the bucket policy decides first (policy module). A bucket nobody
registered is NoSuchBucket.
"""

from objstore.common.access import api_version, is_public
from objstore.middleware.s3api import registry
from objstore.middleware.s3api.auth import Signature
from objstore.middleware.s3api.context import S3Context
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.request import split_bucket_key
from objstore.middleware.s3api.views import valid_bucket_name

# First path segments the pipeline answers (tempauth's token path, the
# proxy's /info, the default paths of healthcheck, metrics, console,
# crossdomain and list_endpoints) though they are bucket names.
SWIFT_SEGMENTS = frozenset(('auth', 'info', 'healthcheck', 'metrics',
                            'console', 'crossdomain.xml', 'endpoints'))
TOKEN_HEADERS = ('HTTP_X_AUTH_TOKEN', 'HTTP_X_STORAGE_TOKEN')
# The signature of an unsigned request: never checked (the context knows
# its account from the start), and its body is taken as it comes.
UNSIGNED = Signature(access_key='', provided='', string_to_sign='',
                     compute=lambda secret: '')


def is_anonymous_s3(environ, storage_domain):
    """Whether an unsigned request is S3's (see module doc).

    >>> is_anonymous_s3({'PATH_INFO': '/bucket/key'}, '')
    True
    >>> [is_anonymous_s3({'PATH_INFO': p}, '') for p in (
    ...     '/v1/AUTH_test/c', '/info', '/auth/v1.0', '/', '/v3/auth',
    ...     '/metrics')]
    [False, False, False, False, False, False]
    >>> is_anonymous_s3({'PATH_INFO': '/b', 'HTTP_X_AUTH_TOKEN': 't'}, '')
    False
    """
    path = environ.get('PATH_INFO', '/')
    if api_version(path) or is_public(path) or any(
            environ.get(name) for name in TOKEN_HEADERS):
        return False
    if path[1:].split('/', 1)[0] in SWIFT_SEGMENTS:
        return False
    bucket, _key = split_bucket_key(path, environ.get('HTTP_HOST', ''),
                                    storage_domain)
    return bucket is not None and valid_bucket_name(bucket)


def anonymous_context(environ, app, s3req, conf):
    """The S3Context of an unsigned request: its bucket's account, no
    user (Owner elements show the bucket's creator)."""
    try:
        found = registry.owner_of(environ, app, s3req.bucket)
    except registry.RegistryUnavailable:
        raise S3Error('ServiceUnavailable') from None
    if found is None:
        raise S3Error('NoSuchBucket', BucketName=s3req.bucket)
    ctx = S3Context(environ, app, s3req, UNSIGNED, conf)
    ctx.account = found.account
    ctx.user = found.owner
    return ctx


def is_anonymous(ctx):
    return ctx.signature is UNSIGNED
