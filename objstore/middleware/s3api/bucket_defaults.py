"""The bucket configurations SDKs and tools read that this store does not
offer, answered as S3 answers a bucket that has none of them.

Each GET answers the bucket's (absent) configuration after a HEAD of the
bucket (NoSuchBucket, AccessDenied as for any bucket request):

- encryption: ServerSideEncryptionConfigurationNotFoundError. S3 now
  reports SSE-S3 (AES256) for every bucket, but objects here are stored
  as sent, and a tool that audits encryption must not be told otherwise;
  the 404 is what S3 answered for a bucket without default encryption,
  and SDKs handle it.
- ownership controls: OwnershipControlsNotFoundError (S3's answer for a
  bucket without them). S3's current default, BucketOwnerEnforced, means
  ACLs are disabled; here ACLs work (PutBucketAcl, canned ACLs).
- public access block: NoSuchPublicAccessBlockConfiguration (public-read
  ACLs do make objects public here: nothing blocks them).
- website: NoSuchWebsiteConfiguration; replication:
  ReplicationConfigurationNotFoundError.
- accelerate: an empty AccelerateConfiguration; request payment: the
  bucket owner pays; logging: an empty BucketLoggingStatus; notification:
  an empty NotificationConfiguration.

Setting any of them is NotImplemented, with a message naming what is not
offered; deleting one that cannot exist succeeds (204), as S3 answers a
delete of a configuration the bucket does not have.
"""

from objstore.common.http import Response, is_success
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.xmlio import to_xml

# sub-resource -> (S3Error code of its absence, or the empty document's
# (root, children)).
ABSENT = {
    'encryption': 'ServerSideEncryptionConfigurationNotFoundError',
    'ownershipControls': 'OwnershipControlsNotFoundError',
    'publicAccessBlock': 'NoSuchPublicAccessBlockConfiguration',
    'website': 'NoSuchWebsiteConfiguration',
    'replication': 'ReplicationConfigurationNotFoundError',
}
EMPTY_DOCUMENTS = {
    'accelerate': ('AccelerateConfiguration', []),
    'requestPayment': ('RequestPaymentConfiguration',
                       [('Payer', 'BucketOwner')]),
    'logging': ('BucketLoggingStatus', []),
    'notification': ('NotificationConfiguration', []),
}
# sub-resource -> what its PUT would turn on (the NotImplemented message).
FEATURES = {
    'encryption': 'Server-side encryption configuration',
    'ownershipControls': 'Object ownership controls',
    'publicAccessBlock': 'Public access block configuration',
    'website': 'Static website hosting through the S3 API',
    'replication': 'Bucket replication',
    'accelerate': 'Transfer acceleration',
    'requestPayment': 'Requester-pays',
    'logging': 'Server access logging to a bucket',
    'notification': 'Event notifications',
}


def _sub_resource(ctx):
    params = ctx.s3req.params
    return next(name for name in FEATURES if name in params)


def _check_bucket(ctx):
    resp = ctx.call('HEAD', ctx.s3req.bucket)
    if resp.status_int == 404:
        raise S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable')


def get_configuration(ctx):
    """The GET of a configuration the bucket cannot have."""
    _check_bucket(ctx)
    name = _sub_resource(ctx)
    if name in ABSENT:
        raise S3Error(ABSENT[name], BucketName=ctx.s3req.bucket)
    root, children = EMPTY_DOCUMENTS[name]
    return ctx.xml(to_xml(root, children))


def put_configuration(ctx):
    _check_bucket(ctx)
    raise S3Error('NotImplemented', '%s is not offered by this store.'
                  % FEATURES[_sub_resource(ctx)])


def delete_configuration(ctx):
    _check_bucket(ctx)
    return Response(status=204)


# (level, method, sub-resource) -> (AWS operation name, handler): the
# s3api OPERATIONS entries of this module.
OPERATIONS = {
    ('bucket', 'GET', 'encryption'): ('GetBucketEncryption',
                                      get_configuration),
    ('bucket', 'PUT', 'encryption'): ('PutBucketEncryption',
                                      put_configuration),
    ('bucket', 'DELETE', 'encryption'): ('DeleteBucketEncryption',
                                         delete_configuration),
    ('bucket', 'GET', 'ownershipControls'): ('GetBucketOwnershipControls',
                                             get_configuration),
    ('bucket', 'PUT', 'ownershipControls'): ('PutBucketOwnershipControls',
                                             put_configuration),
    ('bucket', 'DELETE', 'ownershipControls'): (
        'DeleteBucketOwnershipControls', delete_configuration),
    ('bucket', 'GET', 'publicAccessBlock'): ('GetPublicAccessBlock',
                                             get_configuration),
    ('bucket', 'PUT', 'publicAccessBlock'): ('PutPublicAccessBlock',
                                             put_configuration),
    ('bucket', 'DELETE', 'publicAccessBlock'): ('DeletePublicAccessBlock',
                                                delete_configuration),
    ('bucket', 'GET', 'website'): ('GetBucketWebsite', get_configuration),
    ('bucket', 'PUT', 'website'): ('PutBucketWebsite', put_configuration),
    ('bucket', 'DELETE', 'website'): ('DeleteBucketWebsite',
                                      delete_configuration),
    ('bucket', 'GET', 'replication'): ('GetBucketReplication',
                                       get_configuration),
    ('bucket', 'PUT', 'replication'): ('PutBucketReplication',
                                       put_configuration),
    ('bucket', 'DELETE', 'replication'): ('DeleteBucketReplication',
                                          delete_configuration),
    ('bucket', 'GET', 'accelerate'): ('GetBucketAccelerateConfiguration',
                                      get_configuration),
    ('bucket', 'PUT', 'accelerate'): ('PutBucketAccelerateConfiguration',
                                      put_configuration),
    ('bucket', 'GET', 'requestPayment'): ('GetBucketRequestPayment',
                                          get_configuration),
    ('bucket', 'PUT', 'requestPayment'): ('PutBucketRequestPayment',
                                          put_configuration),
    ('bucket', 'GET', 'logging'): ('GetBucketLogging', get_configuration),
    ('bucket', 'PUT', 'logging'): ('PutBucketLogging', put_configuration),
    ('bucket', 'GET', 'notification'): (
        'GetBucketNotificationConfiguration', get_configuration),
    ('bucket', 'PUT', 'notification'): (
        'PutBucketNotificationConfiguration', put_configuration),
}
