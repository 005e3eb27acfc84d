"""DeleteObjects (``POST /bucket?delete``): up to 1,000 keys in one XML
request, each deleted as DeleteObject deletes it (a multipart object with
its parts) by the same caller; a key that does not exist counts as
deleted (as in S3). An object with a ``VersionId`` is that version,
deleted as DeleteObject deletes one (a locked version is AccessDenied).
Quiet mode lists only the failures.
"""

import base64
import hashlib

from objstore.common.http import is_success
from objstore.middleware.s3api.errors import ERRORS, S3Error
from objstore.middleware.s3api.obj import delete_key, delete_version
from objstore.middleware.s3api.payload import content_md5_etag
from objstore.middleware.s3api.xmlio import (
    MAX_XML_SIZE, XMLError, parse_xml, to_xml)

MAX_KEYS = 1000


def parse_delete(body, max_size=MAX_XML_SIZE):
    """(objects, quiet) of a Delete document, each object a (key, version
    id or None); MalformedXML when it is not one.

    >>> parse_delete(b'<Delete><Quiet>true</Quiet><Object><Key>a</Key>'
    ...              b'<VersionId>1.00000</VersionId></Object></Delete>')
    ([('a', '1.00000')], True)
    """
    try:
        root = parse_xml(body, max_size)
    except XMLError:
        raise S3Error('MalformedXML') from None
    if root.tag != 'Delete':
        raise S3Error('MalformedXML')
    keys = []
    for item in root.findall('Object'):
        key = item.findtext('Key')
        if not key:
            raise S3Error('MalformedXML')
        keys.append((key, item.findtext('VersionId')))
    if not keys or len(keys) > MAX_KEYS:
        raise S3Error('MalformedXML')
    quiet = (root.findtext('Quiet') or '').strip().lower() == 'true'
    return keys, quiet


def _check_md5(headers, body):
    if 'content-md5' not in headers:
        return
    expected = content_md5_etag(headers['content-md5'])
    if hashlib.md5(body).hexdigest() != expected:
        raise S3Error('BadDigest', ExpectedDigest=headers['content-md5'],
                      CalculatedDigest=base64.b64encode(
                          hashlib.md5(body).digest()).decode('ascii'))


def _delete_one(ctx, key, version):
    """None when deleted (or absent), else the error code; a locked
    version is AccessDenied, as DeleteObject answers."""
    try:
        if version is None:
            status = delete_key(ctx, ctx.s3req.bucket, key)
        else:
            status = delete_version(ctx, ctx.s3req.bucket, key, version)
    except S3Error as err:
        return err.code
    if is_success(status) or status == 404:
        return None
    return 'InternalError'


def delete_objects(ctx):
    # The bucket first: its HEAD is what verifies the signature.
    if not ctx.bucket_exists(ctx.s3req.bucket):
        raise S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)
    body = ctx.read_body(ctx.conf.max_xml_size)
    _check_md5(ctx.s3req.headers, body)
    objects, quiet = parse_delete(body, ctx.conf.max_xml_size)
    results = []
    for key, version in objects:
        code = _delete_one(ctx, key, version)
        named = [('Key', key)] + ([('VersionId', version)] if version else [])
        if code is None:
            if not quiet:
                results.append(('Deleted', named))
        else:
            results.append(('Error', named + [
                ('Code', code), ('Message', ERRORS[code][1])]))
    return ctx.xml(to_xml('DeleteResult', results))
