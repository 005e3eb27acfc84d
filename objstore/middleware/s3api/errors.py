"""S3 errors: one table from error code to HTTP status and message, the
``S3Error`` exception handlers raise, and its XML body.

Owns the wording clients see (AWS's and Swift's s3api's texts, so clients
and tests that compare them agree) and the shape of the error document::

    <Error><Code>NoSuchKey</Code><Message>...</Message>
      <Resource>/bucket/key</Resource><RequestId>tx...</RequestId></Error>

It builds no Swift request and reads no environ: the middleware fills in
``Resource`` and ``RequestId`` when it answers.
"""

from objstore.middleware.s3api.xmlio import to_xml

# code -> (HTTP status, message). A code not here is a programming error.
ERRORS = {
    'AccessDenied': (403, 'Access Denied.'),
    'AuthorizationHeaderMalformed': (
        400, 'The authorization header is malformed; the authorization '
        'header requires three components: Credential, SignedHeaders, and '
        'Signature.'),
    'AuthorizationQueryParametersError': (
        400, 'Query-string authentication requires the X-Amz-Algorithm, '
        'X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, '
        'and X-Amz-Expires parameters.'),
    'BadDigest': (400, 'The Content-MD5 you specified did not match what '
                  'we received.'),
    'BadRequest': (400, 'Bad Request'),
    'BucketAlreadyExists': (
        409, 'The requested bucket name is not available. The bucket '
        'namespace is shared by all users of the system. Please select a '
        'different name and try again.'),
    'BucketAlreadyOwnedByYou': (
        409, 'Your previous request to create the named bucket succeeded '
        'and you already own it.'),
    'BucketNotEmpty': (409, 'The bucket you tried to delete is not empty'),
    'ConditionalRequestConflict': (
        409, 'The conditional request cannot succeed due to a conflicting '
        'operation against this resource.'),
    'EntityTooSmall': (400, 'Your proposed upload is smaller than the '
                       'minimum allowed object size.'),
    'EntityTooLarge': (400, 'Your proposed upload exceeds the maximum '
                       'allowed object size.'),
    'IllegalVersioningConfigurationException': (
        400, 'The versioning configuration specified in the request is '
        'invalid.'),
    'IncompleteBody': (400, 'You did not provide the number of bytes '
                       'specified by the Content-Length HTTP header'),
    'InternalError': (500, 'We encountered an internal error. Please try '
                      'again.'),
    'InvalidAccessKeyId': (403, 'The AWS Access Key Id you provided does '
                           'not exist in our records.'),
    'InvalidArgument': (400, 'Invalid Argument.'),
    'InvalidBucketState': (409, 'The request is not valid with the current '
                           'state of the bucket.'),
    'InvalidBucketName': (400, 'The specified bucket is not valid.'),
    'InvalidChunkSizeError': (403, 'Only the last chunk is allowed to have '
                              'a size less than 8192 bytes'),
    'InvalidDigest': (400, 'The Content-MD5 you specified was invalid.'),
    'InvalidLocationConstraint': (400, 'The specified location constraint '
                                  'is not valid.'),
    'InvalidPart': (400, 'One or more of the specified parts could not be '
                    'found.  The part may not have been uploaded, or the '
                    "specified entity tag may not match the part's entity "
                    'tag.'),
    'InvalidPartOrder': (400, 'The list of parts was not in ascending '
                         'order.Parts list must specified in order by part '
                         'number.'),
    'InvalidPartNumber': (416, 'The requested partnumber is not '
                          'satisfiable'),
    'InvalidRange': (416, 'The requested range cannot be satisfied.'),
    'InvalidRequest': (400, 'Invalid Request.'),
    'InvalidStorageClass': (400, 'The storage class you specified is not '
                            'valid'),
    'InvalidTag': (400, 'The tag provided was not a valid tag.'),
    'InvalidURI': (400, "Couldn't parse the specified URI."),
    'KeyTooLongError': (400, 'Your key is too long.'),
    'MalformedACLError': (400, 'The XML you provided was not well-formed '
                          'or did not validate against our published '
                          'schema.'),
    'MalformedTrailerError': (400, 'The request contained trailing data '
                              'that was not well-formed or did not conform '
                              'to our published schema.'),
    'MalformedXML': (400, 'The XML you provided was not well-formed or did '
                     'not validate against our published schema'),
    'MaxMessageLengthExceeded': (400, 'Your request was too big.'),
    'MetadataTooLarge': (400, 'Your metadata headers exceed the maximum '
                         'allowed metadata size.'),
    'MethodNotAllowed': (405, 'The specified method is not allowed against '
                         'this resource.'),
    'MissingContentLength': (411, 'You must provide the Content-Length '
                             'HTTP header.'),
    'MissingRequestBodyError': (400, 'Request body is empty.'),
    'MissingSecurityHeader': (400, 'Your request was missing a required '
                              'header.'),
    'NoSuchBucket': (404, 'The specified bucket does not exist.'),
    'NoSuchKey': (404, 'The specified key does not exist.'),
    'NoSuchLifecycleConfiguration': (404, 'The lifecycle configuration '
                                     'does not exist'),
    'NoSuchPublicAccessBlockConfiguration': (
        404, 'The public access block configuration was not found'),
    'NoSuchTagSet': (404, 'The TagSet does not exist'),
    'NoSuchObjectLockConfiguration': (
        404, 'The specified object does not have a ObjectLock '
        'configuration'),
    'NoSuchUpload': (404, 'The specified multipart upload does not exist. '
                     'The upload ID might be invalid, or the multipart '
                     'upload might have been aborted or completed.'),
    'NoSuchVersion': (404, 'The specified version does not exist.'),
    'NoSuchWebsiteConfiguration': (404, 'The specified bucket does not have '
                                   'a website configuration'),
    'NotImplemented': (501, 'Not implemented.'),
    'OwnershipControlsNotFoundError': (
        404, 'The bucket ownership controls were not found'),
    'ObjectLockConfigurationNotFoundError': (
        404, 'Object Lock configuration does not exist for this bucket'),
    'PreconditionFailed': (412, 'At least one of the preconditions you '
                           'specified did not hold.'),
    'ReplicationConfigurationNotFoundError': (
        404, 'The replication configuration was not found'),
    'RequestTimeout': (400, 'Your socket connection to the server was not '
                       'read from or written to within the timeout period.'),
    'RequestTimeTooSkewed': (403, 'The difference between the request time '
                             'and the current time is too large.'),
    'ServerSideEncryptionConfigurationNotFoundError': (
        404, 'The server side encryption configuration was not found'),
    'ServiceUnavailable': (503, 'Please reduce your request rate.'),
    'SignatureDoesNotMatch': (
        403, 'The request signature we calculated does not match the '
        'signature you provided. Check your key and signing method.'),
    'XAmzContentSHA256Mismatch': (
        400, "The provided 'x-amz-content-sha256' header does not match "
        "what was computed."),
    # Bucket policies and CORS (policy, cors modules).
    'AccessForbidden': (403, 'CORSResponse: This CORS request is not '
                        'allowed. This is usually because the evalution of '
                        'Origin, request method / '
                        'Access-Control-Request-Method or '
                        'Access-Control-Request-Headers are not whitelisted '
                        "by the resource's CORS spec."),
    'MalformedPolicy': (400, 'Policies must be valid JSON and the first '
                        "byte must be '{'"),
    'NoSuchBucketPolicy': (404, 'The bucket policy does not exist'),
    'NoSuchCORSConfiguration': (404, 'The CORS configuration does not '
                                'exist'),
    'PolicyTooLarge': (400, 'Policy exceeds the maximum allowed document '
                       'size.'),
}


class S3Error(Exception):
    """An S3 error answer: ``code`` from ERRORS, an optional message that
    replaces the table's, and extra elements for the body (in order).
    ``headers``: extra headers of the answer (e.g. x-amz-delete-marker)."""

    def __init__(self, code, message=None, **details):
        status, default_message = ERRORS[code]
        super().__init__(code)
        self.code = code
        self.status = status
        self.message = message or default_message
        self.details = details
        self.headers = {}

    def to_xml(self, resource, request_id):
        """The XML error document, bytes.

        >>> S3Error('NoSuchKey', Key='k').to_xml('/b/k', 'tx1')[39:]
        b'<Error><Code>NoSuchKey</Code><Message>The specified key does not \
exist.</Message><Key>k</Key><Resource>/b/k</Resource><RequestId>tx1\
</RequestId></Error>'
        """
        elements = [('Code', self.code), ('Message', self.message)]
        elements += [(name, value) for name, value in self.details.items()
                     if value is not None]
        elements += [('Resource', resource), ('RequestId', request_id)]
        return to_xml('Error', elements, namespace=None)
