"""The s3api WSGI filter: recognizes S3 requests, routes each to its
operation, and answers in S3's shape.

Owns the routing: a request signed the S3 way (an ``Authorization: AWS``
or ``AWS4-HMAC-SHA256`` header, or a presigned query) is S3's, and so is
an unsigned one for a bucket path (anonymous module: it runs in the
account the bucket registry names); anything else passes through
untouched to the Swift API. Before the operation runs, the bucket policy
has its say (policy module); a CORS preflight is answered from the
bucket's CORS rules before any routing, and every answer to a request
with an ``Origin`` gets the CORS headers of the matching rule (cors). The operation is chosen
by a table, (resource level, method, sub-resource) -> handler, and its
AWS name is left in ``environ[common.log.OPERATION_KEY]`` for the access
line (proxy_logging). Every answer carries ``x-amz-request-id`` (the
transaction id); every failure is S3's XML error (errors module).

It must sit before the auth middleware (tempauth): it answers in its own
protocol, and leaves the signature check to it (context module).
"""

import dataclasses
import time

from objstore.common.config import ConfBase
from objstore.common.infocache import InfoCache
from objstore.common.log import OPERATION_KEY, get_logger
from objstore.common.memcache import MemcacheRing
from objstore.common.subrequest import add_capability
from objstore.middleware.s3api import (
    acl, attributes, bucket, bucket_defaults, cors, lifecycle, multidelete,
    multipart, obj, object_lock, policy, service, tagging, versioning)
from objstore.middleware.s3api.anonymous import (
    anonymous_context, is_anonymous_s3)
from objstore.middleware.s3api.auth import read_signature, signature_kind
from objstore.middleware.s3api.context import (
    S3Context, error_response, request_id_headers)
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.registry import BUCKET_CACHE_KEY
from objstore.middleware.s3api.request import parse_request
from objstore.middleware.s3api.xmlio import MAX_XML_SIZE

# Query parameters that name a sub-resource: an operation of their own.
SUB_RESOURCES = (
    'acl', 'location', 'delete', 'versions', 'versioning', 'uploads',
    'uploadId', 'lifecycle', 'policy', 'cors', 'tagging', 'logging',
    'website', 'notification', 'requestPayment', 'replication',
    'encryption', 'object-lock', 'accelerate', 'ownershipControls',
    'publicAccessBlock', 'restore', 'retention', 'legal-hold', 'torrent',
    'attributes', 'select', 'policyStatus')

# (level, method, sub-resource) -> (AWS operation name, handler).
OPERATIONS = {
    ('service', 'GET', None): ('ListBuckets', service.list_buckets),
    ('bucket', 'GET', None): ('ListObjects', bucket.list_objects),
    ('bucket', 'PUT', None): ('CreateBucket', bucket.create_bucket),
    ('bucket', 'HEAD', None): ('HeadBucket', bucket.head_bucket),
    ('bucket', 'DELETE', None): ('DeleteBucket', bucket.delete_bucket),
    ('bucket', 'GET', 'location'): ('GetBucketLocation',
                                    bucket.get_location),
    ('bucket', 'GET', 'versions'): ('ListObjectVersions',
                                    bucket.list_versions),
    ('bucket', 'GET', 'acl'): ('GetBucketAcl', acl.get_bucket_acl),
    ('bucket', 'PUT', 'acl'): ('PutBucketAcl', acl.put_bucket_acl),
    ('bucket', 'POST', 'delete'): ('DeleteObjects',
                                   multidelete.delete_objects),
    ('object', 'GET', None): ('GetObject', obj.get_object),
    ('object', 'HEAD', None): ('HeadObject', obj.get_object),
    ('object', 'PUT', None): ('PutObject', obj.put_object),
    ('object', 'DELETE', None): ('DeleteObject', obj.delete_object),
    ('bucket', 'GET', 'uploads'): ('ListMultipartUploads',
                                   multipart.list_uploads),
    ('object', 'POST', 'uploads'): ('CreateMultipartUpload',
                                    multipart.create_upload),
    ('object', 'PUT', 'uploadId'): ('UploadPart', multipart.upload_part),
    ('object', 'GET', 'uploadId'): ('ListParts', multipart.list_parts),
    ('object', 'POST', 'uploadId'): ('CompleteMultipartUpload',
                                     multipart.complete_upload),
    ('object', 'DELETE', 'uploadId'): ('AbortMultipartUpload',
                                       multipart.abort_upload),
    ('object', 'GET', 'acl'): ('GetObjectAcl', acl.get_object_acl),
    ('object', 'PUT', 'acl'): ('PutObjectAcl', acl.put_object_acl),
    # Bucket versioning (versioning module).
    ('bucket', 'PUT', 'versioning'): ('PutBucketVersioning',
                                      versioning.put_bucket_versioning),
    ('bucket', 'GET', 'versioning'): ('GetBucketVersioning',
                                      versioning.get_bucket_versioning),
    # Bucket policies (policy module).
    ('bucket', 'PUT', 'policy'): ('PutBucketPolicy',
                                  policy.put_bucket_policy),
    ('bucket', 'GET', 'policy'): ('GetBucketPolicy',
                                  policy.get_bucket_policy),
    ('bucket', 'DELETE', 'policy'): ('DeleteBucketPolicy',
                                     policy.delete_bucket_policy),
    ('bucket', 'GET', 'policyStatus'): ('GetBucketPolicyStatus',
                                        policy.get_bucket_policy_status),
    # Bucket CORS (cors module; preflights are answered before routing).
    ('bucket', 'PUT', 'cors'): ('PutBucketCors', cors.put_bucket_cors),
    ('bucket', 'GET', 'cors'): ('GetBucketCors', cors.get_bucket_cors),
    ('bucket', 'DELETE', 'cors'): ('DeleteBucketCors',
                                   cors.delete_bucket_cors),
    # Bucket lifecycle (s3api.lifecycle; applied by the lifecycle daemon).
    ('bucket', 'PUT', 'lifecycle'): ('PutBucketLifecycleConfiguration',
                                     lifecycle.put_lifecycle),
    ('bucket', 'GET', 'lifecycle'): ('GetBucketLifecycleConfiguration',
                                     lifecycle.get_lifecycle),
    ('bucket', 'DELETE', 'lifecycle'): ('DeleteBucketLifecycle',
                                        lifecycle.delete_lifecycle),
    # Tagging (tagging module).
    ('object', 'GET', 'tagging'): ('GetObjectTagging',
                                   tagging.get_object_tagging),
    ('object', 'PUT', 'tagging'): ('PutObjectTagging',
                                   tagging.put_object_tagging),
    ('object', 'DELETE', 'tagging'): ('DeleteObjectTagging',
                                      tagging.delete_object_tagging),
    ('bucket', 'GET', 'tagging'): ('GetBucketTagging',
                                   tagging.get_bucket_tagging),
    ('bucket', 'PUT', 'tagging'): ('PutBucketTagging',
                                   tagging.put_bucket_tagging),
    ('bucket', 'DELETE', 'tagging'): ('DeleteBucketTagging',
                                      tagging.delete_bucket_tagging),
    # Object attributes (attributes module).
    ('object', 'GET', 'attributes'): ('GetObjectAttributes',
                                      attributes.get_object_attributes),
    # Bucket configurations SDKs probe for (bucket_defaults module).
    **bucket_defaults.OPERATIONS,
    # Object Lock (object_lock module).
    ('bucket', 'GET', 'object-lock'): (
        'GetObjectLockConfiguration',
        object_lock.get_object_lock_configuration),
    ('bucket', 'PUT', 'object-lock'): (
        'PutObjectLockConfiguration',
        object_lock.put_object_lock_configuration),
    ('object', 'GET', 'retention'): ('GetObjectRetention',
                                     object_lock.get_object_retention),
    ('object', 'PUT', 'retention'): ('PutObjectRetention',
                                     object_lock.put_object_retention),
    ('object', 'GET', 'legal-hold'): ('GetObjectLegalHold',
                                      object_lock.get_object_legal_hold),
    ('object', 'PUT', 'legal-hold'): ('PutObjectLegalHold',
                                      object_lock.put_object_legal_hold),
}
METHODS = {'service': ('GET',),
           'bucket': ('GET', 'PUT', 'HEAD', 'DELETE', 'POST'),
           'object': ('GET', 'PUT', 'HEAD', 'DELETE', 'POST')}


@dataclasses.dataclass(frozen=True)
class S3ApiConf(ConfBase):
    location: str = 'us-east-1'
    storage_domain: str = ''
    max_xml_size: int = MAX_XML_SIZE
    memcache_servers: tuple[str, ...] = ()
    log_name: str = 's3api'


def _level(s3req):
    if s3req.bucket is None:
        return 'service'
    return 'object' if s3req.key is not None else 'bucket'


def _sub_resource(params):
    for name in SUB_RESOURCES:
        if name in params:
            return name
    return None


def route(s3req):
    """(operation name, handler) of a request, or the S3Error it earns.

    >>> from objstore.middleware.s3api.request import S3Request
    >>> route(S3Request('GET', '/b', '/b', [('location', '')], {}, 'b'))[0]
    'GetBucketLocation'
    """
    level = _level(s3req)
    sub = _sub_resource(s3req.params)
    found = OPERATIONS.get((level, s3req.method, sub))
    if found is not None:
        return found
    if s3req.method not in METHODS[level]:
        raise S3Error('MethodNotAllowed', Method=s3req.method,
                      ResourceType=level.upper())
    raise S3Error('NotImplemented', 'The %s operation on this resource is '
                  'not implemented' % (sub or s3req.method))


class S3ApiMiddleware:
    def __init__(self, app, conf, logger=None, clock=time.time):
        self.app = app
        self.conf = S3ApiConf.from_conf(conf)
        self.logger = logger or get_logger(conf, self.conf.log_name)
        self.clock = clock
        self.bucket_cache = InfoCache(MemcacheRing(
            self.conf.memcache_servers) if self.conf.memcache_servers
            else None)

    def __call__(self, environ, start_response):
        add_capability(environ, 's3api', location=self.conf.location,
                       storage_domain=self.conf.storage_domain,
                       signature_versions=['v2', 'v4'],
                       max_xml_size=self.conf.max_xml_size)
        if not self._is_s3(environ) and not is_anonymous_s3(
                environ, self.conf.storage_domain):
            return self.app(environ, start_response)
        environ[BUCKET_CACHE_KEY] = self.bucket_cache
        resp = self.handle(environ)
        resp.headers.update(request_id_headers(
            environ.get('swift.trans_id')))
        return resp(environ, start_response)

    @staticmethod
    def _is_s3(environ):
        """Signed the S3 way (the cheap look; the full parse is later)."""
        authorization = environ.get('HTTP_AUTHORIZATION', '')
        # 'AWS' alone: an empty credential the server stripped to a word.
        if authorization == 'AWS' or authorization.startswith(
                ('AWS ', 'AWS4-HMAC-SHA256 ')):
            return True
        query = environ.get('QUERY_STRING', '')
        return 'X-Amz-Credential=' in query or (
            'AWSAccessKeyId=' in query and 'Signature=' in query)

    def _context(self, environ, s3req):
        """The S3Context of a signed request, or of an unsigned one
        (anonymous module)."""
        if signature_kind(s3req) is None:
            return anonymous_context(environ, self.app, s3req, self.conf)
        signature = read_signature(s3req, self.conf.location, self.clock())
        return S3Context(environ, self.app, s3req, signature, self.conf)

    def _answer(self, environ, s3req):
        """The operation's answer (a preflight's before any routing)."""
        if s3req.method == 'OPTIONS' and s3req.bucket is not None:
            environ[OPERATION_KEY] = 'PreflightRequest'
            return cors.preflight(environ, self.app, s3req)
        name, handler = route(s3req)
        environ[OPERATION_KEY] = name
        ctx = self._context(environ, s3req)
        policy.enforce(ctx, name)
        return handler(ctx)

    def handle(self, environ):
        trans_id = environ.get('swift.trans_id')
        method = environ.get('REQUEST_METHOD', 'GET')
        resource = '/'
        s3req = None
        try:
            s3req = parse_request(environ, self.conf.storage_domain)
            resource = s3req.resource
            resp = self._answer(environ, s3req)
        except S3Error as err:
            resp = error_response(err, resource, trans_id, method)
        except Exception:
            self.logger.exception('s3api: unexpected error on %s %s (txn %s)',
                                  method, resource, trans_id)
            return error_response(S3Error('InternalError'), resource,
                                  trans_id, method)
        if s3req is not None:
            cors.add_response_headers(environ, self.app, s3req, resp)
        return resp
