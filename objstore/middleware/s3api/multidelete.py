"""DeleteObjects (``POST /bucket?delete``): up to 1,000 keys in one XML
request, each deleted as DeleteObject deletes it (a multipart object with
its parts) by the same caller; a key that does not exist counts as
deleted (as in S3). Quiet mode lists only the failures. An entry's
VersionId deletes that version; a delete marker made or removed is
reported (versioning module).
"""

import base64
import hashlib

from objstore.common.http import is_success
from objstore.middleware.s3api.errors import ERRORS, S3Error
from objstore.middleware.s3api.obj import delete_key
from objstore.middleware.s3api.versioning import (
    DELETE_MARKER_HEADER, VERSION_HEADER)
from objstore.middleware.s3api.payload import content_md5_etag
from objstore.middleware.s3api.xmlio import (
    MAX_XML_SIZE, XMLError, parse_xml, to_xml)

MAX_KEYS = 1000


def parse_delete(body, max_size=MAX_XML_SIZE):
    """(objects, quiet) of a Delete document, objects as (key, version id
    or None); MalformedXML when it is not one.

    >>> parse_delete(b'<Delete><Quiet>true</Quiet><Object><Key>a</Key>'
    ...              b'</Object><Object><Key>b</Key><VersionId>null'
    ...              b'</VersionId></Object></Delete>')
    ([('a', None), ('b', 'null')], True)
    """
    try:
        root = parse_xml(body, max_size)
    except XMLError:
        raise S3Error('MalformedXML') from None
    if root.tag != 'Delete':
        raise S3Error('MalformedXML')
    objects = []
    for item in root.findall('Object'):
        key = item.findtext('Key')
        if not key:
            raise S3Error('MalformedXML')
        objects.append((key, item.findtext('VersionId')))
    if not objects or len(objects) > MAX_KEYS:
        raise S3Error('MalformedXML')
    quiet = (root.findtext('Quiet') or '').strip().lower() == 'true'
    return objects, quiet


def _check_md5(headers, body):
    if 'content-md5' not in headers:
        return
    expected = content_md5_etag(headers['content-md5'])
    if hashlib.md5(body).hexdigest() != expected:
        raise S3Error('BadDigest', ExpectedDigest=headers['content-md5'],
                      CalculatedDigest=base64.b64encode(
                          hashlib.md5(body).digest()).decode('ascii'))


def _delete_one(ctx, key, version_id):
    """(None, the Deleted element's children) when deleted (or absent),
    else (the error code, None)."""
    try:
        status, headers = delete_key(ctx, ctx.s3req.bucket, key, version_id)
    except S3Error as err:
        return err.code, None
    if not is_success(status) and status != 404:
        return 'InternalError', None
    deleted = [('Key', key)]
    if version_id is not None:
        deleted.append(('VersionId', version_id))
    if headers.get(DELETE_MARKER_HEADER):
        deleted += [('DeleteMarker', True), ('DeleteMarkerVersionId',
                                             headers.get(VERSION_HEADER))]
    return None, deleted


def delete_objects(ctx):
    # The bucket first: its HEAD is what verifies the signature.
    if not ctx.bucket_exists(ctx.s3req.bucket):
        raise S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)
    body = ctx.read_body(ctx.conf.max_xml_size)
    _check_md5(ctx.s3req.headers, body)
    objects, quiet = parse_delete(body, ctx.conf.max_xml_size)
    results = []
    for key, version_id in objects:
        code, deleted = _delete_one(ctx, key, version_id)
        if code is None:
            if not quiet:
                results.append(('Deleted', deleted))
        else:
            named = [('Key', key)] + (
                [('VersionId', version_id)] if version_id else [])
            results.append(('Error', named + [
                ('Code', code), ('Message', ERRORS[code][1])]))
    return ctx.xml(to_xml('DeleteResult', results))
