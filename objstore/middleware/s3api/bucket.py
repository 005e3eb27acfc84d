"""Bucket operations: CreateBucket, HeadBucket, DeleteBucket,
GetBucketLocation, ListObjects (v1 and v2) and ListObjectVersions (the
versioning module's), each as one or a few container requests.

DeleteBucket also removes the ``+segments`` container with what
unfinished multipart uploads left there (as Swift's s3api does).

Listings ask the container for one entry more than ``max-keys`` to know
whether the answer is truncated; the v2 continuation token is the base64
of the last key returned, so it survives any key.
"""

import base64
import binascii
import json
from urllib.parse import quote, urlencode

from objstore.common.http import Response, is_success
from objstore.middleware.s3api import (
    lifecycle, object_lock, registry, versioning)
from objstore.middleware.s3api.acl import canned_acl_headers
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.multipart import (
    key_encoder, list_names, segments_container)
from objstore.middleware.s3api.views import (
    listing_etag, owner, s3_time, valid_bucket_name)
from objstore.middleware.s3api.xmlio import XMLError, child_text, \
    parse_xml, to_xml

MAX_KEYS = 1000
MAX_CONFIG_XML = 64 * 1024


# --------------------------------------------------------------- create


def _location_constraint(ctx):
    """The LocationConstraint of a CreateBucket body ('' when none)."""
    body = ctx.read_body(MAX_CONFIG_XML)
    if not body:
        return ''
    try:
        root = parse_xml(body)
    except XMLError:
        raise S3Error('MalformedXML') from None
    if root.tag != 'CreateBucketConfiguration':
        raise S3Error('MalformedXML')
    return child_text(root, 'LocationConstraint', '') or ''


def create_bucket(ctx):
    bucket = ctx.s3req.bucket
    if not valid_bucket_name(bucket):
        raise S3Error('InvalidBucketName', BucketName=bucket)
    location = _location_constraint(ctx)
    if location and location != ctx.conf.location:
        raise S3Error('InvalidLocationConstraint', LocationConstraint=location)
    headers = canned_acl_headers(ctx.s3req.headers, bucket=True)
    headers.update(object_lock.create_bucket_headers(ctx))
    resp = registry.create_registered(
        ctx, lambda: ctx.call('PUT', bucket, headers=headers))
    if resp.status_int == 202:
        raise S3Error('BucketAlreadyOwnedByYou', BucketName=bucket)
    if not is_success(resp.status_int):
        raise _unexpected(resp, bucket)
    return Response(status=200, headers={'Location': '/' + bucket},
                    content_length=0)


def _unexpected(resp, bucket):
    """The S3Error of a container answer no handler expected."""
    if resp.status_int == 404:
        return S3Error('NoSuchBucket', BucketName=bucket)
    if resp.status_int == 400:
        return S3Error('InvalidBucketName', BucketName=bucket)
    if resp.status_int == 507 or resp.status_int >= 500:
        return S3Error('ServiceUnavailable')
    return S3Error('InternalError')


# -------------------------------------------------- head, delete, location


def head_bucket(ctx):
    bucket = ctx.s3req.bucket
    resp = ctx.call('HEAD', bucket)
    if not is_success(resp.status_int):
        raise _unexpected(resp, bucket)
    return Response(status=200, content_length=0, headers={
        'x-amz-bucket-region': ctx.conf.location})


def delete_bucket(ctx):
    bucket = ctx.s3req.bucket
    resp = ctx.call('DELETE', bucket)
    if resp.status_int == 409:
        raise S3Error('BucketNotEmpty', BucketName=bucket)
    if not is_success(resp.status_int):
        raise _unexpected(resp, bucket)
    registry.release_bucket(ctx)
    _delete_segments(ctx, segments_container(bucket))
    lifecycle.forget_bucket(ctx, bucket)
    return Response(status=204)


def _delete_segments(ctx, container):
    """Remove what unfinished multipart uploads left in ``container``.
    Only once the bucket is gone: a completed upload's object would still
    be in it (BucketNotEmpty), so every part left belongs to no object."""
    for entry in list_names(ctx, container, '') or ():
        ctx.call('DELETE', container, entry['name'])
    ctx.call('DELETE', container)


def get_location(ctx):
    head = ctx.call('HEAD', ctx.s3req.bucket)
    if not is_success(head.status_int):
        raise _unexpected(head, ctx.s3req.bucket)
    # us-east-1 is S3's "no constraint": an empty element.
    location = ctx.conf.location
    return ctx.xml(to_xml('LocationConstraint',
                          '' if location == 'us-east-1' else location))


# -------------------------------------------------------------- listings


def _max_keys(params):
    value = params.get('max-keys', str(MAX_KEYS))
    try:
        max_keys = int(value)
    except ValueError:
        max_keys = -1
    if max_keys < 0:
        raise S3Error('InvalidArgument', 'Provided max-keys not an integer '
                      'or within integer range', ArgumentName='max-keys',
                      ArgumentValue=value)
    return min(max_keys, MAX_KEYS)


def _decode_token(token):
    try:
        return base64.b64decode(token.encode('ascii'),
                                validate=True).decode('utf-8')
    except (binascii.Error, ValueError, UnicodeError):
        raise S3Error('InvalidArgument', 'The continuation token provided '
                      'is incorrect',
                      ArgumentName='continuation-token') from None


def _container_page(ctx, marker, limit, params):
    query = {'format': 'json', 'limit': str(limit), 'marker': marker}
    for name in ('prefix', 'delimiter'):
        if params.get(name):
            query[name] = params[name]
    resp = ctx.call('GET', ctx.s3req.bucket,
                    query=urlencode(query, quote_via=quote))
    if not is_success(resp.status_int):
        raise _unexpected(resp, ctx.s3req.bucket)
    return json.loads(resp.body) if resp.status_int == 200 else []


def _listing(ctx, params, marker, max_keys):
    """(entries, truncated, next marker) of one listing page."""
    if max_keys == 0:
        return [], False, None
    entries = _container_page(ctx, marker, max_keys + 1, params)
    truncated = len(entries) > max_keys
    entries = entries[:max_keys]
    last = entries[-1] if entries else None
    next_marker = (last.get('subdir') or last.get('name')) if last else None
    return entries, truncated, next_marker


def _contents(entries, encode, with_owner, user):
    objects, prefixes = [], []
    for entry in entries:
        if 'subdir' in entry:
            prefixes.append(('CommonPrefixes', [
                ('Prefix', encode(entry['subdir']))]))
            continue
        item = [('Key', encode(entry['name'])),
                ('LastModified', s3_time(entry.get('last_modified'))),
                ('ETag', listing_etag(entry)),
                ('Size', entry.get('bytes', 0))]
        if with_owner:
            item.append(('Owner', owner(user)))
        item.append(('StorageClass', 'STANDARD'))
        objects.append(('Contents', item))
    return objects + prefixes


def list_objects(ctx):
    params = ctx.s3req.params
    if params.get('list-type') == '2':
        return _list_objects_v2(ctx, params)
    if 'list-type' in params:
        raise S3Error('InvalidArgument', 'Invalid List Type specified in '
                      'Request', ArgumentName='list-type',
                      ArgumentValue=params['list-type'])
    max_keys, encode = _max_keys(params), key_encoder(params)
    marker = params.get('marker', '')
    entries, truncated, next_marker = _listing(ctx, params, marker, max_keys)
    head = [('Name', ctx.s3req.bucket), ('Prefix', encode(
        params.get('prefix', ''))), ('Marker', encode(marker)),
        ('MaxKeys', max_keys)]
    if params.get('delimiter'):
        head.append(('Delimiter', encode(params['delimiter'])))
    if 'encoding-type' in params:
        head.append(('EncodingType', 'url'))
    head.append(('IsTruncated', truncated))
    if truncated and params.get('delimiter'):
        head.append(('NextMarker', encode(next_marker)))
    return ctx.xml(to_xml('ListBucketResult', head + _contents(
        entries, encode, True, ctx.user)))


def _list_objects_v2(ctx, params):
    max_keys, encode = _max_keys(params), key_encoder(params)
    token = params.get('continuation-token')
    start_after = params.get('start-after', '')
    marker = _decode_token(token) if token is not None else start_after
    entries, truncated, next_marker = _listing(ctx, params, marker, max_keys)
    head = [('Name', ctx.s3req.bucket),
            ('Prefix', encode(params.get('prefix', '')))]
    if 'start-after' in params:
        head.append(('StartAfter', encode(start_after)))
    head += [('KeyCount', len(entries)), ('MaxKeys', max_keys)]
    if params.get('delimiter'):
        head.append(('Delimiter', encode(params['delimiter'])))
    if 'encoding-type' in params:
        head.append(('EncodingType', 'url'))
    head.append(('IsTruncated', truncated))
    if token is not None:
        head.append(('ContinuationToken', token))
    if truncated:
        head.append(('NextContinuationToken', base64.b64encode(
            next_marker.encode('utf-8')).decode('ascii')))
    with_owner = params.get('fetch-owner', '').lower() == 'true'
    return ctx.xml(to_xml('ListBucketResult', head + _contents(
        entries, encode, with_owner, ctx.user)))


def list_versions(ctx):
    """ListObjectVersions (versioning module), with this module's
    max-keys and encoding-type parsing."""
    params = ctx.s3req.params
    return versioning.list_object_versions(ctx, _max_keys(params),
                                           key_encoder(params))
