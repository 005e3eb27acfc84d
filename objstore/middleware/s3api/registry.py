"""The global bucket namespace: which account owns an S3 bucket name.

S3 bucket names are global, Swift container names are per account. The
registry keeps one zero-byte object per bucket name in an internal
account no user can address (``REGISTRY_ACCOUNT``: tempauth's accounts
all start with its reseller prefix, never a dot), the owning account and
the owner's user id in its sysmeta. CreateBucket registers the name
(``register``) before it creates the container; DeleteBucket removes the
entry (``unregister``); an unsigned request learns the account of its
bucket here (``owner_of``).

Registration is atomic between accounts: the entry is written with
``If-None-Match: *``, so of two accounts racing for one name, one gets
it and the other learns the winner (412) and answers BucketAlreadyExists.

Buckets created before the registry existed are not in it: their owners
keep using them (a signed request addresses the signer's own account, as
before), and the first CreateBucket, PutBucketPolicy or PutBucketCors of
the owner registers them.

Lookups are cached: in the request's infocache and in the middleware's
cache (``BUCKET_CACHE_KEY``: memcached when the s3api filter names
``memcache_servers``, else the worker's memory) for ``CACHE_TTL``
seconds (``NEGATIVE_TTL`` for "nobody"); a registration or deletion
replaces what this proxy cached, and the steps that decide ownership
(create, delete) always ask the registry itself. Without memcached,
another worker may answer NoSuchBucket to an anonymous request for a
bucket created in the last ``NEGATIVE_TTL`` seconds.

All requests here are pre-authorized (common.subrequest): the registry is
the middleware's own bookkeeping, never the client's to read or refuse.
"""

import dataclasses

from objstore.common.http import is_success
from objstore.common.infocache import INFOCACHE_KEY
from objstore.common.subrequest import make_preauthed_subrequest
from objstore.middleware.s3api.errors import S3Error

REGISTRY_ACCOUNT = '.s3api'
REGISTRY_CONTAINER = 'buckets'
ACCOUNT_SYSMETA = 'X-Object-Sysmeta-S3api-Account'
OWNER_SYSMETA = 'X-Object-Sysmeta-S3api-Owner'
CACHE_TTL = 60
# A name nobody holds is remembered briefly: signed requests to buckets
# made before the registry ask for it on every request otherwise.
NEGATIVE_TTL = 10
# Where the middleware leaves its shared cache (common.infocache.InfoCache:
# memcached when configured, else the worker's memory) for this module.
BUCKET_CACHE_KEY = 'objstore.s3api.bucket_cache'
SOURCE = 'S3-registry'


@dataclasses.dataclass(frozen=True)
class Registration:
    """Who owns a bucket: the Swift account and the creator's user id."""
    account: str
    owner: str


# What the caches remember of a name nobody registered.
UNREGISTERED = Registration('', '')


def cache_key(bucket):
    return 's3api/bucket/%s' % bucket


def _entry_path(bucket=None):
    path = '/v1/%s/%s' % (REGISTRY_ACCOUNT, REGISTRY_CONTAINER)
    return path if bucket is None else path + '/' + bucket


def _internal(environ, app, method, path, headers=None):
    """The answer of a pre-authorized request as the registry's owner
    (``swift_owner``: the proxy creates the internal account on the first
    container PUT, as it does for an owner)."""
    req = make_preauthed_subrequest(environ, method, path, headers=headers,
                                    source=SOURCE)
    req.environ['swift_owner'] = True
    return req.get_response(app)


def _remembered(environ, bucket):
    key = cache_key(bucket)
    found = environ.setdefault(INFOCACHE_KEY, {}).get(key)
    shared = environ.get(BUCKET_CACHE_KEY)
    if found is None and shared is not None:
        found = shared.get(key)
    if not found:
        return None
    return Registration(found['account'], found['owner'])


def _remember(environ, bucket, registration, ttl=CACHE_TTL):
    value = dataclasses.asdict(registration)
    environ.setdefault(INFOCACHE_KEY, {})[cache_key(bucket)] = value
    shared = environ.get(BUCKET_CACHE_KEY)
    if shared is not None:
        shared.set(cache_key(bucket), value, ttl)


def _forget(environ, bucket):
    environ.setdefault(INFOCACHE_KEY, {}).pop(cache_key(bucket), None)
    shared = environ.get(BUCKET_CACHE_KEY)
    if shared is not None:
        shared.delete(cache_key(bucket))


def owner_of(environ, app, bucket, fresh=False):
    """The Registration of ``bucket``, or None when nobody registered it;
    ``fresh``: ask the registry itself, not the caches. Raises
    RegistryUnavailable when the registry cannot answer."""
    found = None if fresh else _remembered(environ, bucket)
    if found is not None:
        return found if found != UNREGISTERED else None
    resp = _internal(environ, app, 'HEAD', _entry_path(bucket))
    if resp.status_int == 404:
        _remember(environ, bucket, UNREGISTERED, NEGATIVE_TTL)
        return None
    if not is_success(resp.status_int):
        raise RegistryUnavailable(resp.status_int)
    found = Registration(resp.headers.get(ACCOUNT_SYSMETA, ''),
                         resp.headers.get(OWNER_SYSMETA, ''))
    if found == UNREGISTERED:
        raise RegistryUnavailable('entry without an owner')
    _remember(environ, bucket, found)
    return found


class RegistryUnavailable(Exception):
    """The registry answered neither "registered" nor "unknown"."""


def _put_entry(environ, app, bucket, registration):
    return _internal(environ, app, 'PUT', _entry_path(bucket), headers={
        'Content-Length': '0', 'If-None-Match': '*',
        ACCOUNT_SYSMETA: registration.account,
        OWNER_SYSMETA: registration.owner})


def register(environ, app, bucket, registration):
    """Register ``bucket`` for ``registration`` unless someone holds it;
    the Registration that holds it afterwards (the caller's or the
    earlier owner's)."""
    resp = _put_entry(environ, app, bucket, registration)
    if resp.status_int == 404:
        # The first bucket ever: the registry's container does not exist.
        _internal(environ, app, 'PUT', _entry_path(),
                  headers={'Content-Length': '0'})
        resp = _put_entry(environ, app, bucket, registration)
    if resp.status_int == 412:
        return owner_of(environ, app, bucket, fresh=True) or registration
    if not is_success(resp.status_int):
        raise RegistryUnavailable(resp.status_int)
    _remember(environ, bucket, registration)
    return registration


def unregister(environ, app, bucket, account):
    """Remove ``bucket``'s entry when ``account`` holds it."""
    found = owner_of(environ, app, bucket, fresh=True)
    if found is None or found.account != account:
        return
    _internal(environ, app, 'DELETE', _entry_path(bucket))
    _forget(environ, bucket)


# ------------------------------------------------- the handlers' steps


def identify_signer(ctx):
    """Make sure the signature was checked (``ctx.account`` known): a HEAD
    of the bucket as the client, whose refusal by an ACL does not matter
    here (the operation itself is authorized on its own)."""
    if ctx.account is not None:
        return
    try:
        ctx.call('HEAD', ctx.s3req.bucket)
    except S3Error:
        if ctx.account is None:
            raise


def claim_bucket(ctx):
    """Register the request's bucket for the signer's account;
    BucketAlreadyExists when another account holds it. True when this
    call registered it (``release_bucket`` undoes that)."""
    bucket = ctx.s3req.bucket
    identify_signer(ctx)
    try:
        known = owner_of(ctx.environ, ctx.app, bucket, fresh=True)
        holder = known or register(ctx.environ, ctx.app, bucket,
                                   Registration(ctx.account, ctx.user))
    except RegistryUnavailable:
        raise S3Error('ServiceUnavailable') from None
    if holder.account != ctx.account:
        raise S3Error('BucketAlreadyExists', BucketName=bucket)
    return known is None


def register_existing(ctx):
    """Register the signer's existing bucket when nobody holds its name:
    a bucket created before the registry, configured by its owner."""
    try:
        if owner_of(ctx.environ, ctx.app, ctx.s3req.bucket) is None:
            register(ctx.environ, ctx.app, ctx.s3req.bucket,
                     Registration(ctx.account, ctx.user))
    except RegistryUnavailable:
        raise S3Error('ServiceUnavailable') from None


def create_registered(ctx, create):
    """CreateBucket: the answer of ``create()`` (the container PUT) once
    the name is the signer's; a name this call registered is released
    again when the container could not be made."""
    registered = claim_bucket(ctx)
    try:
        resp = create()
    except S3Error:
        if registered:
            release_bucket(ctx)
        raise
    if registered and not is_success(resp.status_int):
        release_bucket(ctx)
    return resp


def release_bucket(ctx):
    """DeleteBucket's last step (and a failed CreateBucket's)."""
    try:
        unregister(ctx.environ, ctx.app, ctx.s3req.bucket, ctx.account)
    except RegistryUnavailable:
        # The bucket itself is gone; a stale entry only keeps the name
        # from other accounts until its owner creates and deletes it.
        return
