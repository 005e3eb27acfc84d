"""Bucket policies: Put/Get/DeleteBucketPolicy, GetBucketPolicyStatus,
and their enforcement on every request to a bucket (``enforce``).

The document (policy_doc: its subset, parsing and evaluation) is kept,
compacted, in the container's ``X-Container-Sysmeta-S3api-Policy``
(bucket_config: split over several keys when long); at most
``MAX_POLICY`` bytes, as S3.

Enforcement, before the operation runs, for a registered bucket:

* an explicit Deny refuses (AccessDenied), the owner's requests too,
  except that the account's owner may always Get/Put/DeleteBucketPolicy
  (S3's rule for the root user, so a policy cannot lock its owner out);
* an Allow lets the operation's subrequests through without the auth
  middleware's ACL check (S3Context.authorization);
* otherwise the ACLs and ownership decide, as without a policy; an
  anonymous request may then only read (``ACL_OPERATIONS``), and only
  what the container's read ACL opens (``public-read``).

A signed request addresses the signer's own account. When the bucket is
registered to another account and that bucket's policy Allows the signer
(a canonical user id or the whole account, policy_doc), the request goes
to the owner's account instead: cross-account access only by policy. The
signature is checked before a policy is applied
(registry.identify_signer), so an Allow never stands in for it. A bucket created before the registry
existed has no policy enforced until its owner registers it, which
PutBucketPolicy does.
"""

from objstore.common.http import Response, is_success
from objstore.middleware.s3api import bucket_config, registry
from objstore.middleware.s3api.anonymous import is_anonymous
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.policy_doc import (
    ALLOW, ARN_PREFIX, DENY, PolicyError, RequestFacts, compact, evaluate,
    is_public, parse_policy)
from objstore.middleware.s3api.xmlio import to_xml

SYSMETA_NAME = 'S3api-Policy'
MAX_POLICY = 20 * 1024
# Operation (the OPERATIONS name) -> its IAM action, where it is not
# ``s3:<operation>``.
ACTIONS = {
    'ListObjects': 's3:ListBucket',
    'HeadBucket': 's3:ListBucket',
    'ListObjectVersions': 's3:ListBucketVersions',
    'HeadObject': 's3:GetObject',
    'DeleteObjects': 's3:DeleteObject',
    'CreateMultipartUpload': 's3:PutObject',
    'UploadPart': 's3:PutObject',
    'UploadPartCopy': 's3:PutObject',
    'CompleteMultipartUpload': 's3:PutObject',
    'CopyObject': 's3:PutObject',
    'ListParts': 's3:ListMultipartUploadParts',
    'ListMultipartUploads': 's3:ListBucketMultipartUploads',
    'GetBucketCors': 's3:GetBucketCORS',
    'PutBucketCors': 's3:PutBucketCORS',
    'DeleteBucketCors': 's3:PutBucketCORS',
    'DeleteBucketPolicy': 's3:DeleteBucketPolicy',
    'GetObjectVersion': 's3:GetObjectVersion',
}
# What the account's owner may do whatever the policy says.
POLICY_OPERATIONS = frozenset(('GetBucketPolicy', 'PutBucketPolicy',
                               'DeleteBucketPolicy'))
# What an anonymous request may do when no policy statement decides: the
# reads a container's read ACL can open to everyone.
ACL_OPERATIONS = frozenset(('GetObject', 'HeadObject', 'ListObjects',
                            'HeadBucket', 'ListObjectVersions'))


def action_of(operation):
    """The IAM action of an operation.

    >>> action_of('ListObjects'), action_of('GetObject')
    ('s3:ListBucket', 's3:GetObject')
    """
    return ACTIONS.get(operation, 's3:' + operation)


def _allow(_req):
    """The decision a policy's Allow puts on the operation's subrequests."""
    return None


def _stored_policy(ctx, account):
    info = bucket_config.bucket_info(ctx.environ, ctx.app, account,
                                     ctx.s3req.bucket)
    if not is_success(info['status']):
        return ''
    return bucket_config.stored(info.get('sysmeta', {}), SYSMETA_NAME)


def _facts(ctx, operation):
    s3req = ctx.s3req
    resource = ARN_PREFIX + s3req.bucket
    if s3req.key is not None:
        resource += '/' + s3req.key
    principals = frozenset() if is_anonymous(ctx) else frozenset((
        ctx.user, ctx.account, 'arn:aws:iam::%s:root' % ctx.account))
    return RequestFacts(principals=principals, action=action_of(operation),
                        resource=resource,
                        source_ip=ctx.environ.get('REMOTE_ADDR', ''),
                        prefix=s3req.params.get('prefix'))


def _owner_account(ctx):
    """The registered owner's account, for a signed request; None when
    the bucket is not registered."""
    try:
        found = registry.owner_of(ctx.environ, ctx.app, ctx.s3req.bucket)
    except registry.RegistryUnavailable:
        raise S3Error('ServiceUnavailable') from None
    return found.account if found is not None else None


def enforce(ctx, operation):
    """Apply the bucket policy to the request (see module doc)."""
    if ctx.s3req.bucket is None or operation == 'CreateBucket':
        return
    anonymous = is_anonymous(ctx)
    account = ctx.account if anonymous else _owner_account(ctx)
    text = _stored_policy(ctx, account) if account is not None else ''
    if not text:
        if anonymous and operation not in ACL_OPERATIONS:
            raise S3Error('AccessDenied')
        return
    if not anonymous:
        registry.identify_signer(ctx)
    verdict = evaluate(parse_policy(text, ctx.s3req.bucket),
                       _facts(ctx, operation))
    if ctx.account != account:
        _grant_other_account(ctx, account, verdict)
    elif verdict == DENY:
        if operation not in POLICY_OPERATIONS or \
                not ctx.is_account_owner():
            raise S3Error('AccessDenied')
    elif verdict == ALLOW:
        ctx.authorization = _allow
    elif anonymous and operation not in ACL_OPERATIONS:
        raise S3Error('AccessDenied')


def _grant_other_account(ctx, account, verdict):
    """A signer of another account reaches the bucket only through the
    policy's Allow; otherwise the request stays in the signer's own
    account, where a bucket of that name is its own (as before)."""
    if verdict == ALLOW:
        ctx.account = account
        ctx.authorization = _allow


# ------------------------------------------------------------ operations


def _read_policy(ctx):
    # Read well past the limit, to answer S3's error for a policy a bit
    # too large rather than the one for a runaway body.
    body = ctx.read_body(bucket_config.MAX_DOCUMENT)
    if len(body) > MAX_POLICY:
        raise S3Error('PolicyTooLarge')
    try:
        text = body.decode('utf-8')
        parse_policy(text, ctx.s3req.bucket)
    except UnicodeError:
        raise S3Error('MalformedPolicy') from None
    except PolicyError as err:
        raise S3Error('MalformedPolicy', str(err)) from None
    return compact(text)


def put_bucket_policy(ctx):
    bucket_config.require_owner(ctx)
    document = _read_policy(ctx)
    bucket_config.bucket_headers(ctx)
    registry.register_existing(ctx)
    bucket_config.store(ctx, SYSMETA_NAME, document)
    return Response(status=204)


def _current_policy(ctx):
    bucket_config.require_owner(ctx)
    text = bucket_config.stored_in_headers(bucket_config.bucket_headers(ctx),
                                           SYSMETA_NAME)
    if not text:
        raise S3Error('NoSuchBucketPolicy', BucketName=ctx.s3req.bucket)
    return text


def get_bucket_policy(ctx):
    return Response(status=200, body=_current_policy(ctx).encode('ascii'),
                    content_type='application/json')


def delete_bucket_policy(ctx):
    bucket_config.require_owner(ctx)
    bucket_config.bucket_headers(ctx)
    bucket_config.store(ctx, SYSMETA_NAME, '')
    return Response(status=204)


def get_bucket_policy_status(ctx):
    statements = parse_policy(_current_policy(ctx), ctx.s3req.bucket)
    return ctx.xml(to_xml('PolicyStatus', [
        ('IsPublic', is_public(statements))]))
