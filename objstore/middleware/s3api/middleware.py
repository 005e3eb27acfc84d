"""The s3api WSGI filter: recognizes S3 requests, routes each to its
operation, and answers in S3's shape.

Owns the routing: a request signed the S3 way (an ``Authorization: AWS``
or ``AWS4-HMAC-SHA256`` header, or a presigned query) is S3's; anything
else passes through untouched to the Swift API. The operation is chosen
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
from objstore.common.log import OPERATION_KEY, get_logger
from objstore.common.subrequest import add_capability
from objstore.middleware.s3api import (
    acl, bucket, multidelete, multipart, obj, object_lock, service)
from objstore.middleware.s3api.auth import read_signature
from objstore.middleware.s3api.context import (
    S3Context, error_response, request_id_headers)
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.request import parse_request
from objstore.middleware.s3api.xmlio import MAX_XML_SIZE

# Query parameters that name a sub-resource: an operation of their own.
SUB_RESOURCES = (
    'acl', 'location', 'delete', 'versions', 'versioning', 'uploads',
    'uploadId', 'lifecycle', 'policy', 'cors', 'tagging', 'logging',
    'website', 'notification', 'requestPayment', 'replication',
    'encryption', 'object-lock', 'accelerate', 'ownershipControls',
    'publicAccessBlock', 'restore', 'retention', 'legal-hold', 'torrent',
    'attributes', 'select')

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

    def __call__(self, environ, start_response):
        add_capability(environ, 's3api', location=self.conf.location,
                       storage_domain=self.conf.storage_domain,
                       signature_versions=['v2', 'v4'],
                       max_xml_size=self.conf.max_xml_size)
        if not self._is_s3(environ):
            return self.app(environ, start_response)
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

    def handle(self, environ):
        trans_id = environ.get('swift.trans_id')
        method = environ.get('REQUEST_METHOD', 'GET')
        resource = '/'
        try:
            s3req = parse_request(environ, self.conf.storage_domain)
            resource = s3req.resource
            name, handler = route(s3req)
            environ[OPERATION_KEY] = name
            signature = read_signature(s3req, self.conf.location,
                                       self.clock())
            ctx = S3Context(environ, self.app, s3req, signature, self.conf)
            return handler(ctx)
        except S3Error as err:
            return error_response(err, resource, trans_id, method)
        except Exception:
            self.logger.exception('s3api: unexpected error on %s %s (txn %s)',
                                  method, resource, trans_id)
            return error_response(S3Error('InternalError'), resource,
                                  trans_id, method)
