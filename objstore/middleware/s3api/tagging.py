"""Object and bucket tagging: Put/Get/DeleteObjectTagging,
Put/Get/DeleteBucketTagging, ``x-amz-tagging`` on PutObject,
CreateMultipartUpload and CopyObject (``x-amz-tagging-directive``), and
``x-amz-tagging-count`` on GetObject/HeadObject.

Where tags live (a compact JSON list of ``[key, value]`` pairs):

- a bucket's in container sysmeta ``X-Container-Sysmeta-S3api-Tagging``
  (a long value, here and on objects, goes on over ``...-Tagging-1``,
  ``-2``...: each header line stays under the servers' 8 KiB),
  set by a container POST;
- an object's, when written with the object (PutObject, a completed
  multipart upload, a copy), in object sysmeta
  ``X-Object-Sysmeta-S3api-Tagging``: durable with the data, carried by
  the copy middleware;
- an object's, when changed later (PutObjectTagging, DeleteObjectTagging),
  in transient sysmeta ``X-Object-Transient-Sysmeta-S3api-Tagging``: the
  object server keeps sysmeta from PUTs only, and a POST may set the
  transient kind. A POST replaces every POST-settable item, so the
  object's user metadata, transient sysmeta and POST headers are sent
  again with it (read by a HEAD just before: a concurrent POST between
  the two loses, as any POST races another). A non-empty transient value
  wins over the sysmeta one (``[]``: the tags were deleted).

With ``?versionId=`` (a version of a versioned bucket), the tags are read
from that version and stored on it by object_versioning's sysmeta update
of one version (``SYSMETA_UPDATE_KEY``: the version is rewritten in place
with both values set, so an older transient value cannot hide them).

Pure parsing and checking (S3's limits and error texts) apart from the
handlers, which only send subrequests through the context.
"""

import json
import unicodedata
from urllib.parse import parse_qsl, quote

from objstore.common.http import Response, is_success
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.versioning import (
    NULL, VERSION_HEADER, invalid_version, is_version_id)
from objstore.middleware.s3api.xmlio import XMLError, parse_xml, to_xml
from objstore.middleware.versioning import SYSMETA_UPDATE_KEY

OBJECT_SYSMETA = 'X-Object-Sysmeta-S3api-Tagging'
OBJECT_TRANSIENT = 'X-Object-Transient-Sysmeta-S3api-Tagging'
BUCKET_SYSMETA = 'X-Container-Sysmeta-S3api-Tagging'
TAGGING_HEADER = 'x-amz-tagging'
DIRECTIVE_HEADER = 'x-amz-tagging-directive'
COUNT_HEADER = 'x-amz-tagging-count'
MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256
# A stored tag set is split over header lines (the servers refuse lines
# over 8 KiB): ten tags of the longest keys and values in non-ASCII
# letters take about 23 KB.
CHUNK_LENGTH = 4000
MAX_CHUNKS = 8
MAX_TAGGING_XML = 64 * 1024
# Besides letters, digits and spaces, what AWS allows in tags.
TAG_PUNCTUATION = frozenset('_.:/=+-@')
# What a POST replaces on an object, so sends again (object module doc).
POST_HEADERS = ('content-disposition', 'content-encoding', 'x-delete-at',
                'x-object-manifest', 'cache-control', 'content-language',
                'expires', 'x-robots-tag')
POST_PREFIXES = ('x-object-meta-', 'x-object-transient-sysmeta-')
HEADER_FORMAT_MESSAGE = (
    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded "
    "URL query parameters without tag name duplicates.")


# ------------------------------------------------------------ pure rules


def _allowed(text):
    return all(char.isalnum() or char in TAG_PUNCTUATION or
               unicodedata.category(char).startswith('Z') for char in text)


def check_tags(tags, limit, bucket=False):
    """Raise S3's error when ``tags`` ([(key, value)]) break its rules.

    >>> check_tags([('a', '1'), ('b', '')], MAX_OBJECT_TAGS)
    >>> try:
    ...     check_tags([('a', '1'), ('a', '2')], MAX_OBJECT_TAGS)
    ... except S3Error as err:
    ...     print(err.code, err.message)
    InvalidTag Cannot provide multiple Tags with the same key
    """
    if len(tags) > limit:
        if bucket:
            raise S3Error('InvalidTag', 'Bucket tag count cannot be greater '
                          'than %d' % limit)
        raise S3Error('BadRequest', 'Object tags cannot be greater than %d'
                      % limit)
    seen = set()
    for key, value in tags:
        _check_tag(key, value, bucket)
        if key in seen:
            raise S3Error('InvalidTag', 'Cannot provide multiple Tags with '
                          'the same key', TagKey=key)
        seen.add(key)


def _check_tag(key, value, bucket):
    if key.lower().startswith('aws:'):
        raise S3Error('InvalidTag', 'System tags cannot be added/updated by '
                      'requester' if bucket else 'Your TagKey cannot be '
                      'prefixed with aws:', TagKey=key)
    if len(key) > MAX_KEY_LENGTH:
        raise S3Error('InvalidTag', 'The TagKey you have provided is too '
                      'long, max %d' % MAX_KEY_LENGTH, TagKey=key)
    if len(value) > MAX_VALUE_LENGTH:
        raise S3Error('InvalidTag', 'The TagValue you have provided is too '
                      'long, max %d' % MAX_VALUE_LENGTH, TagKey=key,
                      TagValue=value)
    if not key or not _allowed(key):
        raise S3Error('InvalidTag', 'The TagKey you have provided is '
                      'invalid', TagKey=key)
    if not _allowed(value):
        raise S3Error('InvalidTag', 'The TagValue you have provided is '
                      'invalid', TagKey=key, TagValue=value)


def parse_tagging_header(value):
    """The tags of an ``x-amz-tagging`` header (URL query form).

    >>> parse_tagging_header('a=1&b=x%20y&c')
    [('a', '1'), ('b', 'x y'), ('c', '')]
    """
    try:
        tags = parse_qsl(value, keep_blank_values=True, encoding='utf-8',
                         errors='strict')
    except (ValueError, UnicodeDecodeError):
        raise S3Error('InvalidArgument', HEADER_FORMAT_MESSAGE,
                      ArgumentName=TAGGING_HEADER,
                      ArgumentValue=value) from None
    if len({key for key, _value in tags}) != len(tags):
        raise S3Error('InvalidArgument', HEADER_FORMAT_MESSAGE,
                      ArgumentName=TAGGING_HEADER, ArgumentValue=value)
    check_tags(tags, MAX_OBJECT_TAGS)
    return tags


def parse_tagging_xml(body, limit, bucket=False):
    """The tags of a ``<Tagging><TagSet><Tag>...`` document.

    >>> parse_tagging_xml(b'<Tagging><TagSet><Tag><Key>k</Key><Value>v'
    ...                   b'</Value></Tag></TagSet></Tagging>', 10)
    [('k', 'v')]
    """
    try:
        root = parse_xml(body, MAX_TAGGING_XML)
    except XMLError:
        raise S3Error('MalformedXML') from None
    tag_set = root.find('TagSet')
    if root.tag != 'Tagging' or tag_set is None:
        raise S3Error('MalformedXML')
    tags = []
    for tag in tag_set:
        key, value = tag.find('Key'), tag.find('Value')
        if tag.tag != 'Tag' or key is None or value is None:
            raise S3Error('MalformedXML')
        tags.append((key.text or '', value.text or ''))
    check_tags(tags, limit, bucket)
    return tags


def encode_tags(tags):
    """The stored form of a tag set (ASCII JSON).

    >>> encode_tags([('k', 'v')]), encode_tags([])
    ('[["k","v"]]', '[]')
    """
    return json.dumps([list(tag) for tag in tags], separators=(',', ':'))


def decode_tags(text):
    """The tags of a stored value ([] for none or a damaged one)."""
    try:
        tags = json.loads(text) if text else []
    except ValueError:
        return []
    return [tuple(tag) for tag in tags if isinstance(tag, list) and
            len(tag) == 2] if isinstance(tags, list) else []


def chunk_names(name):
    """The header names a stored value is split over: ``name`` and
    ``name-1`` .. ``name-<MAX_CHUNKS - 1>``."""
    return [name] + ['%s-%d' % (name, index) for index in
                     range(1, MAX_CHUNKS)]


def split_value(name, text):
    """``text`` over the chunk headers of ``name``, the unused ones blank
    (so they clear what a longer value left); InvalidTag when too long.

    >>> split_value('T', 'ab')['T'], split_value('T', 'ab')['T-1']
    ('ab', '')
    """
    if len(text) > CHUNK_LENGTH * MAX_CHUNKS:
        raise S3Error('InvalidTag', 'The tag set is larger than this store '
                      'keeps (%d bytes encoded)' % (CHUNK_LENGTH * MAX_CHUNKS))
    return {chunk: text[index * CHUNK_LENGTH:(index + 1) * CHUNK_LENGTH]
            for index, chunk in enumerate(chunk_names(name))}


def joined_value(swift_headers, name):
    """The value ``split_value`` stored over ``name``'s headers."""
    # A value fills its first chunk first: without one there is none, and
    # the other chunks' lookups (every GET/HEAD asks) are spared.
    if not swift_headers.get(name):
        return ''
    return ''.join(swift_headers.get(chunk) or ''
                   for chunk in chunk_names(name))


def object_tags(swift_headers):
    """An object's tags from its Swift headers (module doc)."""
    return decode_tags(joined_value(swift_headers, OBJECT_TRANSIENT) or
                       joined_value(swift_headers, OBJECT_SYSMETA))


def count_header(swift_headers):
    """``x-amz-tagging-count`` of an object answer (S3 omits it at 0)."""
    count = len(object_tags(swift_headers))
    return {COUNT_HEADER: str(count)} if count else {}


def tagging_document(tags):
    return to_xml('Tagging', [('TagSet', [
        ('Tag', [('Key', key), ('Value', value)]) for key, value in tags])])


# ------------------------------------------------ hooks for writes


def headers_for_put(s3_headers):
    """The Swift headers that store a PutObject's or an upload's
    ``x-amz-tagging`` (none without one)."""
    if TAGGING_HEADER not in s3_headers:
        return {}
    return split_value(OBJECT_SYSMETA, encode_tags(
        parse_tagging_header(s3_headers[TAGGING_HEADER])))


def headers_for_copy(ctx, source):
    """The Swift headers of a CopyObject's tags: the source's (COPY, the
    default) or the request's ``x-amz-tagging`` (REPLACE). The copy's
    transient value is blanked: the tags are in its sysmeta."""
    s3_headers = ctx.s3req.headers
    directive = s3_headers.get(DIRECTIVE_HEADER, 'COPY')
    if directive not in ('COPY', 'REPLACE'):
        raise S3Error('InvalidArgument', 'Unknown tagging directive.',
                      ArgumentName=DIRECTIVE_HEADER, ArgumentValue=directive)
    if directive == 'REPLACE':
        tags = parse_tagging_header(s3_headers.get(TAGGING_HEADER, ''))
    else:
        head = ctx.call('HEAD', source[0], source[1])
        if not is_success(head.status_int):
            return {}  # the copy itself answers what is wrong
        tags = object_tags(head.headers)
    headers = split_value(OBJECT_SYSMETA, encode_tags(tags))
    headers.update(split_value(OBJECT_TRANSIENT, ''))
    return headers


# ------------------------------------------------------- object tagging


def _version_query(version):
    return '' if version is None else 'version-id=' + quote(version)


def _named_version(ctx):
    """The version a request names, or None for the object itself (no
    ``versionId``, or ``null``: the object written unversioned)."""
    version = ctx.s3req.params.get('versionId')
    if version is None or version == NULL:
        return None
    if not is_version_id(version):
        raise invalid_version(version)
    return version


def _version_answer(version):
    return {VERSION_HEADER: version} if version is not None else {}


def reposted_headers(swift_headers):
    """What a POST must send again to keep an object's metadata."""
    return {name: value for name, value in swift_headers.items()
            if name.lower() in POST_HEADERS or
            name.lower().startswith(POST_PREFIXES)}


def _store_object_tags(ctx, tags):
    head = ctx.head_key()
    headers = reposted_headers(head.headers)
    headers.update(split_value(OBJECT_TRANSIENT, encode_tags(tags)))
    resp = ctx.call('POST', ctx.s3req.bucket, ctx.s3req.key, headers=headers)
    if resp.status_int == 404:
        raise S3Error('NoSuchKey', Key=ctx.s3req.key)
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable')


def _store_version_tags(ctx, version, tags):
    ctx.head_key(version)     # NoSuchBucket or NoSuchVersion first
    encoded = encode_tags(tags)
    sysmeta = split_value(OBJECT_SYSMETA, encoded)
    sysmeta.update(split_value(OBJECT_TRANSIENT, encoded))
    resp = ctx.call('POST', ctx.s3req.bucket, ctx.s3req.key,
                    query=_version_query(version),
                    environ={SYSMETA_UPDATE_KEY: sysmeta})
    if resp.status_int == 404:
        raise S3Error('NoSuchVersion', Key=ctx.s3req.key, VersionId=version)
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable')


def _store_tags(ctx, version, tags):
    if version is None:
        _store_object_tags(ctx, tags)
    else:
        _store_version_tags(ctx, version, tags)


def get_object_tagging(ctx):
    version = _named_version(ctx)
    tags = object_tags(ctx.head_key(version).headers)
    return ctx.xml(tagging_document(tags), headers=_version_answer(version))


def put_object_tagging(ctx):
    version = _named_version(ctx)
    tags = parse_tagging_xml(ctx.read_body(MAX_TAGGING_XML), MAX_OBJECT_TAGS)
    _store_tags(ctx, version, tags)
    return Response(status=200, content_length=0,
                    headers=_version_answer(version))


def delete_object_tagging(ctx):
    version = _named_version(ctx)
    _store_tags(ctx, version, [])
    return Response(status=204, headers=_version_answer(version))


# ------------------------------------------------------- bucket tagging


def _head_bucket(ctx):
    resp = ctx.call('HEAD', ctx.s3req.bucket)
    if resp.status_int == 404:
        raise S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable')
    return resp


def _post_bucket(ctx, value):
    resp = ctx.call('POST', ctx.s3req.bucket,
                    headers=split_value(BUCKET_SYSMETA, value))
    if resp.status_int == 404:
        raise S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable')


def get_bucket_tagging(ctx):
    tags = decode_tags(joined_value(_head_bucket(ctx).headers,
                                    BUCKET_SYSMETA))
    if not tags:
        raise S3Error('NoSuchTagSet', BucketName=ctx.s3req.bucket)
    return ctx.xml(tagging_document(tags))


def put_bucket_tagging(ctx):
    _head_bucket(ctx)
    tags = parse_tagging_xml(ctx.read_body(MAX_TAGGING_XML), MAX_BUCKET_TAGS,
                             bucket=True)
    _post_bucket(ctx, encode_tags(tags))
    return Response(status=204)


def delete_bucket_tagging(ctx):
    _head_bucket(ctx)
    _post_bucket(ctx, '')
    return Response(status=204)
