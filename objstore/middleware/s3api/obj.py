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

import json
from urllib.parse import quote, unquote

from objstore.common.conditional import DELETE_IF_PLAIN_HEADER
from objstore.common.http import Response, is_success
from objstore.middleware.s3api import (
    attributes, bucket_config, object_lock, tagging, versioning,
    write_conditions)
from objstore.middleware.s3api.acl import canned_acl_headers
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.upload import (
    checksum_headers, put_body, write_error)
from objstore.middleware.s3api.views import (
    S3_ETAG_SYSMETA, http_date_to_s3, object_etag, quoted_etag)
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
# A copy is one plain object: none of a multipart source's S3 or SLO facts
# (its ETag, upload id) may come along.
COPY_BLANKED = {S3_ETAG_SYSMETA: '', 'X-Object-Sysmeta-S3api-Upload-Id': '',
                'X-Object-Sysmeta-S3api-Parts-Count': '',
                'X-Object-Sysmeta-Slo-Etag': '',
                'X-Object-Sysmeta-Slo-Size': ''}
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
    if 'ETag' in swift_headers:
        headers['ETag'] = object_etag(swift_headers)
    return headers


def check_key(key):
    if len(key.encode('utf-8')) > MAX_KEY_LENGTH:
        raise S3Error('KeyTooLongError', Size=len(key.encode('utf-8')),
                      MaxSizeAllowed=MAX_KEY_LENGTH)


def not_found(ctx):
    """NoSuchKey, or NoSuchBucket when the bucket is what is missing."""
    if ctx.bucket_exists(ctx.s3req.bucket):
        return S3Error('NoSuchKey', Key=ctx.s3req.key)
    return S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)


def put_object(ctx):
    headers = ctx.s3req.headers
    check_key(ctx.s3req.key)
    attributes.check_storage_class(headers)
    if 'x-amz-copy-source' in headers:
        return copy_object(ctx)
    if 'content-length' not in headers and \
            'chunked' not in headers.get('transfer-encoding', ''):
        raise S3Error('MissingContentLength')
    swift_headers = swift_object_headers(headers, fresh=False)
    swift_headers.update(canned_acl_headers(headers, bucket=False))
    swift_headers.update(tagging.headers_for_put(headers))
    swift_headers.update(write_conditions.swift_headers(ctx))
    swift_headers.update(object_lock.put_headers(ctx))
    return put_body(ctx, ctx.s3req.bucket, ctx.s3req.key, swift_headers)


def _part_number(params):
    """The partNumber of a GetObject/HeadObject, or None."""
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
    return number


def part_range(manifest, number):
    """The ``Range`` of part ``number`` (1-based) of a multipart object
    whose stored SLO manifest is ``manifest``; InvalidPartNumber when it
    has fewer parts.

    >>> part_range([{'bytes': 5}, {'bytes': 3}], 2)
    'bytes=5-7'
    """
    if number > len(manifest):
        raise S3Error('InvalidPartNumber')
    start = sum(entry['bytes'] for entry in manifest[:number - 1])
    return 'bytes=%d-%d' % (start, start + manifest[number - 1]['bytes'] - 1)


def _part_request(ctx, number, version_query):
    """(Range header, parts count) of a part of a multipart object; None
    for any other object, whose only part is 1."""
    s3req = ctx.s3req
    resp = ctx.call('GET', s3req.bucket, s3req.key,
                    query='&'.join(filter(None, (
                        'multipart-manifest=get', version_query))))
    if resp.status_int == 404 or (resp.status_int == 400 and version_query):
        raise versioning.read_error(ctx, resp) or not_found(ctx)
    if is_success(resp.status_int) and S3_ETAG_SYSMETA in resp.headers:
        manifest = json.loads(resp.body)
        return part_range(manifest, number), len(manifest)
    if number != 1:
        raise S3Error('InvalidPartNumber')
    return None


def get_object(ctx):
    s3req = ctx.s3req
    params = s3req.params
    version_query = versioning.read_query(ctx)
    part = _part_number(params)
    headers = {name.title(): value for name, value in s3req.headers.items()
               if name in CONDITIONAL_HEADERS}
    if 'If-Match' in headers or 'If-None-Match' in headers:
        _translate_etag_conditions(ctx, headers, version_query)
    found = _part_request(ctx, part, version_query) \
        if part is not None else None
    method = s3req.method
    if found is not None:
        # A HEAD of an SLO is the whole object's: the part's range needs
        # a GET, whose body a HEAD then drops.
        headers['Range'], method = found[0], 'GET'
    resp = ctx.call(method, s3req.bucket, s3req.key, headers=headers,
                    query=version_query)
    status = resp.status_int
    if status == 404 or (status == 400 and version_query):
        raise versioning.read_error(ctx, resp) or not_found(ctx)
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
    out_headers.update(versioning.read_version_headers(resp.headers))
    out_headers.update(tagging.count_header(resp.headers))
    out_headers.update(object_lock.response_headers(resp.headers))
    if found is not None:
        out_headers['x-amz-mp-parts-count'] = str(found[1])
    elif status == 200 and s3req.headers.get(
            'x-amz-checksum-mode', '').upper() == 'ENABLED':
        out_headers.update(checksum_headers(resp.headers))
    for name in RESPONSE_OVERRIDES:
        if name in params:
            out_headers[name[len('response-'):].title()] = params[name]
    body = resp.app_iter
    if method != s3req.method:
        _close(body)
        body = []
    answer = Response(status=status, headerlist=list(out_headers.items()),
                      app_iter=body)
    if status == 304:
        answer.content_length = 0
    return answer


def _translate_etag_conditions(ctx, headers, version_query):
    """Make If-Match/If-None-Match on a multipart object's S3 ETag name
    its SLO ETag, which the slo middleware compares them with (a HEAD
    tells both; only conditional requests pay for it)."""
    head = ctx.call('HEAD', ctx.s3req.bucket, ctx.s3req.key,
                    query=version_query)
    s3_etag = head.headers.get(S3_ETAG_SYSMETA)
    if not is_success(head.status_int) or not s3_etag:
        return
    swift_etag = quoted_etag(head.headers.get('ETag'))
    for name in ('If-Match', 'If-None-Match'):
        if name in headers:
            headers[name] = ', '.join(
                swift_etag if tag.strip().strip('"') == s3_etag
                else tag.strip() for tag in headers[name].split(','))


def _close(app_iter):
    close = getattr(app_iter, 'close', None)
    if close is not None:
        close()


def _failed_condition(headers):
    for name in ('if-match', 'if-unmodified-since'):
        if name in headers:
            return name.title()
    return None


def delete_object(ctx):
    bucket = ctx.s3req.bucket
    status, headers = delete_key(ctx, bucket, ctx.s3req.key,
                                 object_lock.version_param(ctx.s3req.params))
    if status == 404:
        if not ctx.bucket_exists(bucket):
            raise S3Error('NoSuchBucket', BucketName=bucket)
    elif not is_success(status):
        raise S3Error('ServiceUnavailable' if status >= 500
                      else 'InternalError')
    return Response(status=204, headers=headers)


def delete_key(ctx, bucket, key, version_id=None):
    """(status, S3 answer headers) of deleting ``key`` (its version
    ``version_id`` when given); in a versioned bucket the versioning
    module decides what goes, and object_versioning refuses a locked
    version (AccessDenied) unless the signer may bypass its GOVERNANCE
    retention (object_lock.delete_headers). In a bucket that never had
    versioning, a plain object goes with its DELETE alone
    (_delete_if_plain); what the object servers refuse so, and a key
    they do not find, is looked at first (a HEAD), as everywhere else."""
    def delete_null(head):
        return _delete_unversioned(ctx, bucket, key, head)
    if version_id is not None:
        return versioning.delete_version(ctx, bucket, key, version_id,
                                         delete_null,
                                         object_lock.delete_headers(ctx))
    status = None
    if _never_versioned(ctx, bucket):
        status = _delete_if_plain(ctx, bucket, key)
        if status not in (404, 412):
            return status, {}
    # symlink=get: a version link's own headers, not its version's.
    head = ctx.call('HEAD', bucket, key, query='symlink=get')
    if status == 404 and head.status_int == 404:
        return status, {}
    return versioning.delete_current(ctx, bucket, key, head) or \
        (delete_null(head), {})


def _never_versioned(ctx, bucket):
    """Whether the bucket's cached info says it never had versioning nor
    an object lock (versioning.never_versioned), under the account the
    signer's access key was verified for and owns. Only an owner: the
    HEAD first, which anyone else's ACLs may refuse (AccessDenied, as
    Swift's s3api answers), can be spared without changing an answer."""
    account = ctx.known_account(owned=True)
    return account is not None and versioning.never_versioned(
        bucket_config.bucket_info(ctx.environ, ctx.app, account, bucket))


def _delete_if_plain(ctx, bucket, key):
    """The status of a DELETE of ``key`` that each object server refuses
    (412) when it holds a multipart manifest or a symlink: the common
    case, a plain object, costs no HEAD first. On a 412 nothing changed
    where a quorum refused, and the caller looks at the key; on a 404 too,
    as a manifest on fewer nodes than a quorum is not seen otherwise."""
    return ctx.call('DELETE', bucket, key,
                    headers={DELETE_IF_PLAIN_HEADER: 'true'}).status_int


def _delete_unversioned(ctx, bucket, key, head):
    """The status of deleting ``key`` that is no version link; a multipart
    object (an SLO) goes with its parts, as Swift's s3api deletes it."""
    if head.headers.get('X-Static-Large-Object', '').lower() == 'true':
        resp = ctx.call('DELETE', bucket, key,
                        headers={'Accept': 'application/json'},
                        query='multipart-manifest=delete')
        return _manifest_delete_status(resp)
    return ctx.call('DELETE', bucket, key).status_int


def _manifest_delete_status(resp):
    """The status a ``multipart-manifest=delete`` result body reports."""
    if not is_success(resp.status_int):
        return resp.status_int
    try:
        result = json.loads(resp.body)
        return int(result['Response Status'].split()[0])
    except (ValueError, KeyError, IndexError):
        return 502


# ------------------------------------------------------------------- copy


def parse_copy_source(value):
    """(bucket, key) of ``x-amz-copy-source`` (``/b/k``, ``b/k``, URL-
    encoded, an optional ``?versionId=``: versioning.copy_source_query).

    >>> parse_copy_source('/b/dir/k%20x?versionId=null')
    ('b', 'dir/k x')
    """
    path = value.partition('?')[0]
    bucket, _, key = unquote(path).lstrip('/').partition('/')
    if not bucket or not key:
        raise S3Error('InvalidArgument', 'Copy Source must mention the '
                      'source bucket and key: sourcebucket/sourcekey',
                      ArgumentName='x-amz-copy-source', ArgumentValue=value)
    return bucket, key


def _copy_headers(ctx, source, version_query):
    headers = ctx.s3req.headers
    directive = headers.get('x-amz-metadata-directive', 'COPY')
    if directive not in ('COPY', 'REPLACE'):
        raise S3Error('InvalidArgument', 'Unknown metadata directive.',
                      ArgumentName='x-amz-metadata-directive',
                      ArgumentValue=directive)
    # A version copied onto its own key is S3's way to restore it.
    if source == (ctx.s3req.bucket, ctx.s3req.key) and \
            directive == 'COPY' and not version_query:
        raise S3Error('InvalidRequest', SELF_COPY_MESSAGE)
    swift_headers = {'X-Copy-From': quote('/%s/%s' % source),
                     'Content-Length': '0'}
    swift_headers.update(COPY_BLANKED)
    if directive == 'REPLACE':
        swift_headers.update(swift_object_headers(headers, fresh=True))
        swift_headers['X-Fresh-Metadata'] = 'true'
    for name, swift_name in COPY_CONDITIONS.items():
        if name in headers:
            swift_headers[swift_name] = headers[name]
    return swift_headers


def copy_object(ctx):
    copy_source = ctx.s3req.headers['x-amz-copy-source']
    source = parse_copy_source(copy_source)
    version_query = versioning.copy_source_query(copy_source)
    swift_headers = _copy_headers(ctx, source, version_query)
    swift_headers.update(canned_acl_headers(ctx.s3req.headers,
                                            bucket=False))
    swift_headers.update(tagging.headers_for_copy(ctx, source))
    swift_headers.update(object_lock.put_headers(ctx, with_body=False))
    # The copy middleware hands version-id to its source GET only.
    resp = ctx.call('PUT', ctx.s3req.bucket, ctx.s3req.key,
                    headers=swift_headers, query=version_query)
    status = resp.status_int
    if status in (304, 412):
        raise S3Error('PreconditionFailed')
    if status == 404 or (status == 400 and version_query):
        if not ctx.bucket_exists(ctx.s3req.bucket):
            raise S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)
        raise versioning.copy_source_error(copy_source, resp) or \
            copy_source_missing(ctx, source)
    if not is_success(status):
        raise write_error(ctx, resp)
    last_modified = resp.headers.get('Last-Modified')
    return ctx.xml(to_xml('CopyObjectResult', [
        ('LastModified', http_date_to_s3(last_modified) if last_modified
         else None),
        ('ETag', quoted_etag(resp.headers.get('ETag')))]),
        headers=versioning.copy_headers(copy_source, resp.headers))


def copy_source_missing(ctx, source):
    """The S3Error of a copy whose source (bucket, key) is not found."""
    if not ctx.bucket_exists(source[0]):
        return S3Error('NoSuchBucket', BucketName=source[0])
    return S3Error('NoSuchKey', Key=source[1])
