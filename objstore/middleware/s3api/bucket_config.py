"""Bucket configuration documents (policy, CORS) kept in container
sysmeta, and how a handler reads the bucket's.

A document can be longer than one header may be (a 20 KB policy; the
storage servers read header lines of at most 8 KiB), so it is split into
pieces of ``PIECE`` characters kept in ``X-Container-Sysmeta-S3api-<Name>``
(the first), ``-<Name>-2``, ``-<Name>-3``... (``store_headers``). Every
write names all ``MAX_PIECES`` keys, the unused ones empty: an empty
value removes a key, so a shorter document leaves no tail of a longer
one behind. Documents are ASCII (JSON with escapes), as headers must be.

The bucket's configuration is read through the container info lookup
(common.info: cached per request and by the proxy), pre-authorized: the
caller decides who may see or use it. The configuration operations
(Put/Get/Delete of a policy or CORS) go through the client's own
subrequests instead (``bucket_headers``, ``store``), and are the account
owner's (``require_owner``) unless a policy's Allow lets another in.
"""

from objstore.common.http import is_success
from objstore.common.info import get_container_info
from objstore.common.infocache import INFOCACHE_KEY
from objstore.middleware.s3api import registry
from objstore.middleware.s3api.errors import S3Error

SYSMETA_PREFIX = 'X-Container-Sysmeta-'
PIECE = 4000
MAX_PIECES = 16
MAX_DOCUMENT = PIECE * MAX_PIECES


def _key(name, index):
    """Sysmeta key (without the prefix) of piece ``index`` (0-based).

    >>> _key('S3api-Policy', 0), _key('S3api-Policy', 2)
    ('S3api-Policy', 'S3api-Policy-3')
    """
    return name if index == 0 else '%s-%d' % (name, index + 1)


def store_headers(name, document):
    """The container POST headers that store ``document`` (str) under
    ``name``, or remove it (``document`` empty). ValueError when it is
    too long to store."""
    if len(document) > MAX_DOCUMENT:
        raise ValueError('document longer than %d' % MAX_DOCUMENT)
    return {SYSMETA_PREFIX + _key(name, index):
            document[index * PIECE:(index + 1) * PIECE]
            for index in range(MAX_PIECES)}


def stored(sysmeta, name):
    """The document stored under ``name`` in ``sysmeta`` (lower-case keys
    without the prefix, as an info dict has them), '' when none.

    >>> stored({'s3api-cors': 'ab', 's3api-cors-2': 'c'}, 'S3api-Cors')
    'abc'
    """
    pieces = []
    for index in range(MAX_PIECES):
        piece = sysmeta.get(_key(name, index).lower())
        if not piece:
            break
        pieces.append(piece)
    return ''.join(pieces)


def stored_in_headers(headers, name):
    """``stored`` of a container answer's headers."""
    prefix = SYSMETA_PREFIX.lower()
    sysmeta = {key.lower()[len(prefix):]: value
               for key, value in headers.items()
               if key.lower().startswith(prefix)}
    return stored(sysmeta, name)


def bucket_info(environ, app, account, bucket):
    """The container info of ``bucket`` in ``account`` (common.info)."""
    environ.setdefault(INFOCACHE_KEY, {})
    lookup_environ = dict(environ, PATH_INFO='/v1/%s/%s' % (account, bucket),
                          QUERY_STRING='')
    return get_container_info(lookup_environ, app, swift_source='S3')


# ------------------------------------------- the configuration operations


def require_owner(ctx):
    """AccessDenied unless the signer owns the account or the bucket
    policy allowed the operation."""
    registry.identify_signer(ctx)
    if ctx.authorization is None and not ctx.is_account_owner():
        raise S3Error('AccessDenied')


def _checked(ctx, resp):
    if resp.status_int == 404:
        raise S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)
    if not is_success(resp.status_int):
        raise S3Error('InternalError')
    return resp


def bucket_headers(ctx):
    """The headers of the bucket's container (a HEAD as the client)."""
    return _checked(ctx, ctx.call('HEAD', ctx.s3req.bucket)).headers


def store(ctx, name, document):
    """Keep ``document`` (str; empty: remove it) as the bucket's ``name``
    configuration (a container POST as the client)."""
    _checked(ctx, ctx.call('POST', ctx.s3req.bucket,
                           headers=store_headers(name, document)))
