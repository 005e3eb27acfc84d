"""S3 ACLs on Swift's: canned ACLs become container ACLs (common.acl), and
Get/Put Bucket/Object Acl read and write them.

What Swift can express is what is offered, as in Swift's s3api without
its own ACL store: ``private`` (no grants beyond the account's users),
``public-read`` (``X-Container-Read: .r:*,.rlistings``) and, as S3's
owner-only object ACLs, ``bucket-owner-*``. Swift has no public or
authenticated-users groups, so ``public-read-write``,
``authenticated-read`` and explicit grants to others are NotImplemented
rather than silently dropped. The owner shown is the signing user (S3's
canonical id is our ``account:user``). Swift's ACLs are per container: an
object's ACL is its bucket's, and an ``x-amz-acl`` on an object is checked
and then has no effect of its own, as in Swift's s3api.
"""

from objstore.common.acl import parse_acl
from objstore.common.http import Response, is_success
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.views import owner
from objstore.middleware.s3api.xmlio import (
    XSI_NAMESPACE, XMLError, parse_xml, to_xml)

ALL_USERS = 'http://acs.amazonaws.com/groups/global/AllUsers'
PUBLIC_READ = '.r:*,.rlistings'
# canned ACL -> the container read ACL that implements it.
CANNED_READ_ACLS = {
    'private': '',
    'public-read': PUBLIC_READ,
    'bucket-owner-read': '',
    'bucket-owner-full-control': '',
}
UNSUPPORTED_CANNED = ('public-read-write', 'authenticated-read',
                      'aws-exec-read', 'log-delivery-write')
GRANT_HEADERS = ('x-amz-grant-read', 'x-amz-grant-write',
                 'x-amz-grant-read-acp', 'x-amz-grant-write-acp',
                 'x-amz-grant-full-control')
MAX_ACL_XML = 64 * 1024


def _check_canned(name):
    if name in UNSUPPORTED_CANNED:
        raise S3Error('NotImplemented', 'The canned ACL %s is not supported '
                      'by this server' % name)
    if name not in CANNED_READ_ACLS:
        raise S3Error('InvalidArgument', ArgumentName='x-amz-acl',
                      ArgumentValue=name)


def canned_acl_headers(headers, bucket):
    """The container headers of a request's ``x-amz-acl`` (none when it
    sent none); explicit ``x-amz-grant-*`` are NotImplemented."""
    if any(name in headers for name in GRANT_HEADERS):
        raise S3Error('NotImplemented', 'x-amz-grant-* headers are not '
                      'supported by this server')
    name = headers.get('x-amz-acl')
    if name is None:
        return {}
    _check_canned(name)
    if not bucket:
        return {}
    return {'X-Container-Read': CANNED_READ_ACLS[name]}


def _grant(grantee, permission):
    return ('Grant', [grantee, ('Permission', permission)])


def _user_grantee(user):
    return (('Grantee', {'xmlns:xsi': XSI_NAMESPACE,
                         'xsi:type': 'CanonicalUser'}), owner(user))


def _group_grantee(uri):
    return (('Grantee', {'xmlns:xsi': XSI_NAMESPACE, 'xsi:type': 'Group'}),
            [('URI', uri)])


def acl_document(user, public_read):
    """The AccessControlPolicy of a bucket or object."""
    grants = [_grant(_user_grantee(user), 'FULL_CONTROL')]
    if public_read:
        grants.append(_grant(_group_grantee(ALL_USERS), 'READ'))
    return to_xml('AccessControlPolicy', [
        ('Owner', owner(user)), ('AccessControlList', grants)])


def _is_public_read(read_acl):
    referrers, _ = parse_acl(read_acl or '')
    return '*' in referrers


def _bucket_is_public_read(ctx):
    resp = ctx.call('HEAD', ctx.s3req.bucket)
    if not is_success(resp.status_int):
        raise S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket) \
            if resp.status_int == 404 else S3Error('InternalError')
    return _is_public_read(resp.headers.get('X-Container-Read'))


def get_bucket_acl(ctx):
    public = _bucket_is_public_read(ctx)    # verifies: ctx.user is known
    return ctx.xml(acl_document(ctx.user, public))


def _canned_of_document(body):
    """The canned ACL an AccessControlPolicy amounts to."""
    try:
        root = parse_xml(body)
    except XMLError:
        raise S3Error('MalformedACLError') from None
    if root.tag != 'AccessControlPolicy':
        raise S3Error('MalformedACLError')
    canned = 'private'
    for grant in root.iter('Grant'):
        permission = grant.findtext('Permission')
        grantee = grant.find('Grantee')
        if grantee is None or permission is None:
            raise S3Error('MalformedACLError')
        kind = grantee.get('{%s}type' % XSI_NAMESPACE)
        uri = grantee.findtext('URI')
        if kind == 'CanonicalUser' and permission == 'FULL_CONTROL':
            continue
        if kind == 'Group' and uri == ALL_USERS and permission == 'READ':
            canned = 'public-read'
            continue
        raise S3Error('NotImplemented', 'Only grants that amount to the '
                      'private or public-read canned ACL are supported')
    return canned


def _requested_canned(ctx):
    headers = ctx.s3req.headers
    if 'x-amz-acl' in headers:
        return headers['x-amz-acl']
    body = ctx.read_body(MAX_ACL_XML)
    if not body:
        raise S3Error('MissingSecurityHeader', MissingHeaderName='x-amz-acl')
    return _canned_of_document(body)


def put_bucket_acl(ctx):
    canned = _requested_canned(ctx)
    _check_canned(canned)
    resp = ctx.call('POST', ctx.s3req.bucket, headers={
        'X-Container-Read': CANNED_READ_ACLS[canned]})
    if not is_success(resp.status_int):
        raise S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket) \
            if resp.status_int == 404 else S3Error('InternalError')
    return Response(status=200, content_length=0)


def _head_object(ctx):
    resp = ctx.call('HEAD', ctx.s3req.bucket, ctx.s3req.key)
    if resp.status_int == 404:
        if ctx.bucket_exists(ctx.s3req.bucket):
            raise S3Error('NoSuchKey', Key=ctx.s3req.key)
        raise S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)
    if not is_success(resp.status_int):
        raise S3Error('InternalError')
    return resp


def get_object_acl(ctx):
    """An object's grants are its bucket's: Swift's ACLs are per
    container."""
    _head_object(ctx)
    public = _bucket_is_public_read(ctx)
    return ctx.xml(acl_document(ctx.user, public))


def put_object_acl(ctx):
    """Accepted and checked, as Swift's s3api does, but an object keeps
    its bucket's ACL: Swift has no per-object grants."""
    _check_canned(_requested_canned(ctx))
    _head_object(ctx)
    return Response(status=200, content_length=0)
