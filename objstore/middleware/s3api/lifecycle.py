"""Put/Get/DeleteBucketLifecycleConfiguration (``?lifecycle``) and the
registry of buckets that have a lifecycle.

The rules (lifecycle_rules module) live in the bucket's container sysmeta
``X-Container-Sysmeta-S3api-Lifecycle``, written by a POST to the
container as the client, so only a user who may change the container
(its owner) may change them.

The registry lets the lifecycle daemon find those buckets without walking
every account: an empty object ``<account>/<bucket>`` in the container
``buckets`` of the hidden account ``.s3-lifecycle`` (a dot-account no
tempauth user owns; the proxy autocreates it). Registry writes are
pre-authorized subrequests, sent only after the client's own request was
allowed. Order makes races harmless: a Put stores the rules before it
registers, a Delete clears them before it unregisters and registers again
if a concurrent Put stored new rules meanwhile; the daemon skips an entry
whose bucket has no rules and drops one whose bucket is gone.
DeleteBucket unregisters too (``forget_bucket``).
"""

import uuid

from objstore.common.constraints import MAX_HEADER_SIZE
from objstore.common.http import Response, is_success
from objstore.common.subrequest import make_preauthed_subrequest
from objstore.middleware.s3api import lifecycle_rules
from objstore.middleware.s3api.context import SOURCE, swift_path
from objstore.middleware.s3api.errors import S3Error

LIFECYCLE_SYSMETA = 'X-Container-Sysmeta-S3api-Lifecycle'
REGISTRY_ACCOUNT = '.s3-lifecycle'
REGISTRY_CONTAINER = 'buckets'
# The stored rules travel as one header line between the servers.
MAX_STORED_SIZE = MAX_HEADER_SIZE - 512


def registry_name(account, bucket):
    """The registry object of a bucket (account names hold no '/')."""
    return '%s/%s' % (account, bucket)


def split_registry_name(name):
    """(account, bucket) of a registry object name, else None."""
    account, sep, bucket = name.partition('/')
    return (account, bucket) if sep and account and bucket else None


def _internal(ctx, method, container=None, obj=None, headers=None):
    req = make_preauthed_subrequest(
        ctx.environ, method, swift_path(REGISTRY_ACCOUNT, container, obj),
        headers=headers, source=SOURCE)
    return req.get_response(ctx.app)


def _register(ctx, bucket):
    name = registry_name(ctx.account, bucket)
    headers = {'Content-Length': '0', 'Content-Type': 'text/plain'}
    resp = _internal(ctx, 'PUT', REGISTRY_CONTAINER, name, headers)
    if resp.status_int == 404:
        _internal(ctx, 'PUT', REGISTRY_CONTAINER,
                  headers={'Content-Length': '0'})
        resp = _internal(ctx, 'PUT', REGISTRY_CONTAINER, name, headers)
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable')


def _unregister(ctx, account, bucket):
    resp = _internal(ctx, 'DELETE', REGISTRY_CONTAINER,
                     registry_name(account, bucket))
    if not is_success(resp.status_int) and resp.status_int != 404:
        raise S3Error('ServiceUnavailable')


def _store(ctx, bucket, value):
    """POST the rules (or '' to remove them) as the client."""
    resp = ctx.call('POST', bucket, headers={LIFECYCLE_SYSMETA: value})
    if resp.status_int == 404:
        raise S3Error('NoSuchBucket', BucketName=bucket)
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable')


def _stored_rules(ctx, bucket):
    resp = ctx.call('HEAD', bucket)
    if resp.status_int == 404:
        raise S3Error('NoSuchBucket', BucketName=bucket)
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable')
    return lifecycle_rules.from_stored(resp.headers.get(LIFECYCLE_SYSMETA))


def put_lifecycle(ctx):
    bucket = ctx.s3req.bucket
    body = ctx.read_body(ctx.conf.max_xml_size)
    if not body:
        raise S3Error('MissingRequestBodyError')
    rules = lifecycle_rules.parse_configuration(body)
    for rule in rules:
        # S3 names a rule sent without an ID.
        rule['ID'] = rule['ID'] or uuid.uuid4().hex
    stored = lifecycle_rules.to_stored(rules)
    if len(stored.encode('utf-8')) > MAX_STORED_SIZE:
        raise S3Error('InvalidArgument', 'The lifecycle configuration is '
                      'larger than the %d bytes this service can keep'
                      % MAX_STORED_SIZE)
    _store(ctx, bucket, stored)
    _register(ctx, bucket)
    return Response(status=200, content_length=0)


def get_lifecycle(ctx):
    bucket = ctx.s3req.bucket
    rules = _stored_rules(ctx, bucket)
    if not rules:
        raise S3Error('NoSuchLifecycleConfiguration', BucketName=bucket)
    return ctx.xml(lifecycle_rules.configuration_xml(rules))


def delete_lifecycle(ctx):
    bucket = ctx.s3req.bucket
    _store(ctx, bucket, '')
    _unregister(ctx, ctx.account, bucket)
    if _stored_rules(ctx, bucket):
        _register(ctx, bucket)
    return Response(status=204)


def forget_bucket(ctx, bucket):
    """After DeleteBucket: the bucket's registry entry goes too. A failure
    is not the client's: the daemon drops the entry of a bucket that is
    gone on its next pass."""
    _internal(ctx, 'DELETE', REGISTRY_CONTAINER,
              registry_name(ctx.account, bucket))
