"""Object operations: PutObject, GetObject, HeadObject, DeleteObject and
CopyObject, each as one Swift object request.

Metadata: ``x-amz-meta-*`` is Swift's user metadata (``X-Object-Meta-*``);
Content-Type, Content-Disposition and Content-Encoding are the object's
own headers; Cache-Control, Content-Language and Expires, which the
object server does not keep, ride in s3api's object sysmeta. A
``Content-MD5`` becomes the ETag the object server must compute, and the
body is checked against the signed SHA-256 on its way (payload module).
CopyObject is a PUT with ``X-Copy-From`` handled by the copy middleware
further down, so the source is read as the same caller.
"""

from urllib.parse import quote, unquote

from objstore.common.http import Response, is_success
from objstore.middleware.s3api.acl import canned_acl_headers
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.payload import content_md5_etag
from objstore.middleware.s3api.views import http_date_to_s3, quoted_etag
from objstore.middleware.s3api.xmlio import to_xml

MAX_KEY_LENGTH = 1024
META_PREFIX = 'x-amz-meta-'
SWIFT_META_PREFIX = 'x-object-meta-'
# Headers that are the object's own in Swift and S3 alike.
OBJECT_HEADERS = ('content-type', 'content-disposition', 'content-encoding')
# S3 headers the object server does not keep: s3api's sysmeta holds them.
SYSMETA_HEADERS = {'cache-control': 'X-Object-Sysmeta-S3api-Cache-Control',
                   'content-language':
                       'X-Object-Sysmeta-S3api-Content-Language',
                   'expires': 'X-Object-Sysmeta-S3api-Expires'}
CONDITIONAL_HEADERS = ('range', 'if-match', 'if-none-match',
                       'if-modified-since', 'if-unmodified-since')
COPY_CONDITIONS = {
    'x-amz-copy-source-if-match': 'If-Match',
    'x-amz-copy-source-if-none-match': 'If-None-Match',
    'x-amz-copy-source-if-modified-since': 'If-Modified-Since',
    'x-amz-copy-source-if-unmodified-since': 'If-Unmodified-Since'}
RESPONSE_OVERRIDES = ('response-content-type', 'response-content-language',
                      'response-expires', 'response-cache-control',
                      'response-content-disposition',
                      'response-content-encoding')
SELF_COPY_MESSAGE = (
    "This copy request is illegal because it is trying to copy an object "
    "to itself without changing the object's metadata, storage class, "
    "website redirect location or encryption attributes.")


def swift_object_headers(s3_headers, fresh=True):
    """The Swift headers of an S3 request's object metadata. ``fresh``:
    also blank the sysmeta the request does not set (a REPLACE copy must
    not keep the source's)."""
    headers = {}
    for name, value in s3_headers.items():
        if name.startswith(META_PREFIX):
            headers['X-Object-Meta-' + name[len(META_PREFIX):]] = value
        elif name in OBJECT_HEADERS:
            headers[name.title()] = value
    for name, sysmeta in SYSMETA_HEADERS.items():
        if name in s3_headers or fresh:
            headers[sysmeta] = s3_headers.get(name, '')
    return headers


def s3_object_headers(swift_headers):
    """The S3 answer headers of a Swift object answer's headers."""
    headers = {}
    sysmeta = {value.lower(): name for name, value in SYSMETA_HEADERS.items()}
    for name, value in swift_headers.items():
        lower = name.lower()
        if lower.startswith(SWIFT_META_PREFIX):
            headers[META_PREFIX + lower[len(SWIFT_META_PREFIX):]] = value
        elif lower in sysmeta:
            if value:
                headers[sysmeta[lower].title()] = value
        elif lower in ('content-type', 'content-length', 'content-range',
                       'last-modified', 'accept-ranges', 'content-encoding',
                       'content-disposition'):
            headers[name.title()] = value
        elif lower == 'etag':
            headers['ETag'] = quoted_etag(value)
    return headers


def _check_key(key):
    if len(key.encode('utf-8')) > MAX_KEY_LENGTH:
        raise S3Error('KeyTooLongError', Size=len(key.encode('utf-8')),
                      MaxSizeAllowed=MAX_KEY_LENGTH)


def not_found(ctx):
    """NoSuchKey, or NoSuchBucket when the bucket is what is missing."""
    if ctx.bucket_exists(ctx.s3req.bucket):
        return S3Error('NoSuchKey', Key=ctx.s3req.key)
    return S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)


def _write_error(ctx, resp):
    """The S3Error of a failed object PUT."""
    status = resp.status_int
    if ctx.body_mismatched():
        return S3Error('XAmzContentSHA256Mismatch',
                       ClientComputedContentSHA256=ctx.signature.payload_hash)
    if status == 404:
        return S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)
    if status == 422:
        return S3Error('BadDigest', ExpectedDigest=ctx.s3req.headers.get(
            'content-md5'))
    if status == 411:
        return S3Error('MissingContentLength')
    if status == 413:
        return S3Error('EntityTooLarge')
    if status == 499:
        return S3Error('IncompleteBody')
    if status == 408:
        return S3Error('RequestTimeout')
    if status == 400:
        text = resp.body.decode('utf-8', 'replace')
        if 'metadata' in text.lower():
            return S3Error('MetadataTooLarge')
        return S3Error('InvalidArgument', text or None)
    return S3Error('ServiceUnavailable' if status >= 500 else 'InternalError')


def put_object(ctx):
    headers = ctx.s3req.headers
    _check_key(ctx.s3req.key)
    if 'x-amz-copy-source' in headers:
        return copy_object(ctx)
    if 'content-length' not in headers and \
            'chunked' not in headers.get('transfer-encoding', ''):
        raise S3Error('MissingContentLength')
    swift_headers = swift_object_headers(headers, fresh=False)
    swift_headers.update(canned_acl_headers(headers, bucket=False))
    if 'content-md5' in headers:
        swift_headers['ETag'] = content_md5_etag(headers['content-md5'])
    resp = ctx.call('PUT', ctx.s3req.bucket, ctx.s3req.key,
                    headers=swift_headers, client_body=True)
    if ctx.body_mismatched() or not is_success(resp.status_int):
        raise _write_error(ctx, resp)
    return Response(status=200, content_length=0, headers={
        'ETag': quoted_etag(resp.headers.get('ETag'))})


def _part_number(params):
    """None, or 1: a single-part object has only part 1."""
    if 'partNumber' not in params:
        return None
    try:
        number = int(params['partNumber'])
    except ValueError:
        number = 0
    if not 1 <= number <= 10000:
        raise S3Error('InvalidArgument', 'Part number must be an integer '
                      'between 1 and 10000, inclusive',
                      ArgumentName='partNumber',
                      ArgumentValue=params['partNumber'])
    if number != 1:
        raise S3Error('InvalidPartNumber')
    return number


def _check_version(params):
    """An unversioned object has one version, ``null``."""
    version = params.get('versionId')
    if version not in (None, 'null'):
        raise S3Error('NoSuchVersion', VersionId=version)


def get_object(ctx):
    s3req = ctx.s3req
    params = s3req.params
    _check_version(params)
    _part_number(params)
    headers = {name.title(): value for name, value in s3req.headers.items()
               if name in CONDITIONAL_HEADERS}
    resp = ctx.call(s3req.method, s3req.bucket, s3req.key, headers=headers)
    status = resp.status_int
    if status == 404:
        raise not_found(ctx)
    if status == 412:
        raise S3Error('PreconditionFailed', Condition=_failed_condition(
            s3req.headers))
    if status == 416:
        raise S3Error('InvalidRange', RangeRequested=s3req.headers.get(
            'range'), ActualObjectSize=resp.headers.get('Content-Length'))
    if status not in (200, 206, 304):
        raise S3Error('ServiceUnavailable' if status >= 500
                      else 'InternalError')
    out_headers = s3_object_headers(resp.headers)
    for name in RESPONSE_OVERRIDES:
        if name in params:
            out_headers[name[len('response-'):].title()] = params[name]
    answer = Response(status=status, headerlist=list(out_headers.items()),
                      app_iter=resp.app_iter)
    if status == 304:
        answer.content_length = 0
    return answer


def _failed_condition(headers):
    for name in ('if-match', 'if-unmodified-since'):
        if name in headers:
            return name.title()
    return None


def delete_object(ctx):
    _check_version(ctx.s3req.params)
    resp = ctx.call('DELETE', ctx.s3req.bucket, ctx.s3req.key)
    if resp.status_int == 404:
        if not ctx.bucket_exists(ctx.s3req.bucket):
            raise S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)
    elif not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable' if resp.status_int >= 500
                      else 'InternalError')
    return Response(status=204)


# ------------------------------------------------------------------- copy


def parse_copy_source(value):
    """(bucket, key) of ``x-amz-copy-source`` (``/b/k``, ``b/k``, URL-
    encoded, an optional ``?versionId=null``).

    >>> parse_copy_source('/b/dir/k%20x?versionId=null')
    ('b', 'dir/k x')
    """
    path, _, version = value.partition('?')
    bucket, _, key = unquote(path).lstrip('/').partition('/')
    if not bucket or not key:
        raise S3Error('InvalidArgument', 'Copy Source must mention the '
                      'source bucket and key: sourcebucket/sourcekey',
                      ArgumentName='x-amz-copy-source', ArgumentValue=value)
    if version and version not in ('versionId=null', 'versionId='):
        raise S3Error('NotImplemented', 'Object versions are not supported')
    return bucket, key


def _copy_headers(ctx, source):
    headers = ctx.s3req.headers
    directive = headers.get('x-amz-metadata-directive', 'COPY')
    if directive not in ('COPY', 'REPLACE'):
        raise S3Error('InvalidArgument', 'Unknown metadata directive.',
                      ArgumentName='x-amz-metadata-directive',
                      ArgumentValue=directive)
    if source == (ctx.s3req.bucket, ctx.s3req.key) and directive == 'COPY':
        raise S3Error('InvalidRequest', SELF_COPY_MESSAGE)
    swift_headers = {'X-Copy-From': quote('/%s/%s' % source),
                     'Content-Length': '0'}
    if directive == 'REPLACE':
        swift_headers.update(swift_object_headers(headers, fresh=True))
        swift_headers['X-Fresh-Metadata'] = 'true'
    for name, swift_name in COPY_CONDITIONS.items():
        if name in headers:
            swift_headers[swift_name] = headers[name]
    return swift_headers


def copy_object(ctx):
    source = parse_copy_source(ctx.s3req.headers['x-amz-copy-source'])
    swift_headers = _copy_headers(ctx, source)
    swift_headers.update(canned_acl_headers(ctx.s3req.headers,
                                            bucket=False))
    resp = ctx.call('PUT', ctx.s3req.bucket, ctx.s3req.key,
                    headers=swift_headers)
    status = resp.status_int
    if status in (304, 412):
        raise S3Error('PreconditionFailed')
    if status == 404:
        if not ctx.bucket_exists(ctx.s3req.bucket):
            raise S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)
        if not ctx.bucket_exists(source[0]):
            raise S3Error('NoSuchBucket', BucketName=source[0])
        raise S3Error('NoSuchKey', Key=source[1])
    if not is_success(status):
        raise _write_error(ctx, resp)
    last_modified = resp.headers.get('Last-Modified')
    return ctx.xml(to_xml('CopyObjectResult', [
        ('LastModified', http_date_to_s3(last_modified) if last_modified
         else None),
        ('ETag', quoted_etag(resp.headers.get('ETag')))]))
