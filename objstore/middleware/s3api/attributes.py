"""GetObjectAttributes (``GET /bucket/key?attributes``) and the storage
class S3 requests may name.

GetObjectAttributes answers the attributes ``x-amz-object-attributes``
lists, read from one HEAD of the object: ETag (S3's, unquoted), Checksum
(the one the upload stored, upload module), StorageClass, ObjectSize,
and for a multipart object (an SLO whose manifest s3api wrote) ObjectParts:
the parts count, and, as S3 does only for objects uploaded with a
checksum, one page of the parts (``x-amz-max-parts``, ``x-amz-part-number-
marker``) with each part's size and checksum (a HEAD of each listed part).

Storage class: there is one, STANDARD. ``x-amz-storage-class`` on
PutObject, CopyObject and CreateMultipartUpload must name it (else
InvalidStorageClass); GET/HEAD answer no header for it, as S3 omits it
for STANDARD, and listings show it.
"""

import json

from objstore.common.green import GreenPool
from objstore.common.http import is_success
from objstore.middleware.s3api import upload
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.views import S3_ETAG_SYSMETA, object_etag
from objstore.middleware.s3api.xmlio import to_xml

STORAGE_CLASS = 'STANDARD'
STORAGE_CLASS_HEADER = 'x-amz-storage-class'
ATTRIBUTES_HEADER = 'x-amz-object-attributes'
ATTRIBUTES = ('ETag', 'Checksum', 'ObjectParts', 'StorageClass',
              'ObjectSize')
DEFAULT_MAX_PARTS = 1000
PART_HEAD_CONCURRENCY = 8


def check_storage_class(s3_headers):
    """InvalidStorageClass unless the request names STANDARD (or none)."""
    value = s3_headers.get(STORAGE_CLASS_HEADER)
    if value is not None and value != STORAGE_CLASS:
        raise S3Error('InvalidStorageClass', StorageClassRequested=value)


def parse_attributes(value):
    """The attribute names of ``x-amz-object-attributes``, in S3's order.

    >>> parse_attributes('ObjectSize, ETag')
    ['ETag', 'ObjectSize']
    """
    if value is None or not value.strip():
        raise S3Error('InvalidArgument', 'The x-amz-object-attributes '
                      'header specifying the attributes to be retrieved is '
                      'either missing or empty',
                      ArgumentName=ATTRIBUTES_HEADER, ArgumentValue=value)
    names = {name.strip() for name in value.split(',')}
    unknown = sorted(names - set(ATTRIBUTES))
    if unknown:
        raise S3Error('InvalidArgument', 'Invalid attribute name specified.',
                      ArgumentName=ATTRIBUTES_HEADER,
                      ArgumentValue=unknown[0])
    return [name for name in ATTRIBUTES if name in names]


def _int_header(s3_headers, name, default):
    value = s3_headers.get(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) > 2 ** 31 - 1:
        raise S3Error('InvalidArgument', 'Provided %s not an integer or '
                      'within integer range' % name, ArgumentName=name,
                      ArgumentValue=value)
    return int(value)


def parts_page(sizes, marker, max_parts):
    """(shown part numbers, truncated) of a multipart object whose part
    sizes are ``sizes``, after part ``marker``.

    >>> parts_page([5, 5, 3], 1, 1)
    ([2], True)
    """
    numbers = [number for number in range(1, len(sizes) + 1)
               if number > marker]
    return numbers[:max_parts], len(numbers) > max_parts


def _manifest(ctx):
    resp = ctx.call('GET', ctx.s3req.bucket, ctx.s3req.key,
                    query='multipart-manifest=get')
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable')
    return json.loads(resp.body)


def _part_checksums(ctx, entries):
    """The checksum elements of each manifest entry (a HEAD each)."""
    def checksum_of(entry):
        container, _, name = entry['name'].lstrip('/').partition('/')
        found = upload.stored_checksum(
            ctx.call('HEAD', container, name).headers)
        return [('Checksum' + found[0], found[1])] if found else []
    return list(GreenPool(PART_HEAD_CONCURRENCY).imap(checksum_of, entries))


def _object_parts(ctx, head_headers):
    manifest = _manifest(ctx)
    children = [('PartsCount', len(manifest))]
    if upload.stored_checksum(head_headers) is None:
        return children  # S3 lists parts only of objects with checksums
    s3_headers = ctx.s3req.headers
    marker = _int_header(s3_headers, 'x-amz-part-number-marker', 0)
    max_parts = _int_header(s3_headers, 'x-amz-max-parts', DEFAULT_MAX_PARTS)
    shown, truncated = parts_page([entry['bytes'] for entry in manifest],
                                  marker, max_parts)
    checksums = _part_checksums(ctx, [manifest[n - 1] for n in shown])
    children += [('PartNumberMarker', marker),
                 ('NextPartNumberMarker', shown[-1] if shown else marker),
                 ('MaxParts', max_parts), ('IsTruncated', truncated)]
    children += [('Part', [('PartNumber', number)] + sums +
                  [('Size', manifest[number - 1]['bytes'])])
                 for number, sums in zip(shown, checksums)]
    return children


def get_object_attributes(ctx):
    version = ctx.s3req.params.get('versionId')
    if version not in (None, 'null'):
        raise S3Error('NoSuchVersion', VersionId=version)
    wanted = parse_attributes(ctx.s3req.headers.get(ATTRIBUTES_HEADER))
    head = ctx.head_key()
    headers = head.headers
    children = []
    if 'ETag' in wanted:
        children.append(('ETag', object_etag(headers).strip('"')))
    if 'Checksum' in wanted and upload.checksum_elements(headers):
        children.append(('Checksum', upload.checksum_elements(headers)))
    if 'ObjectParts' in wanted and headers.get(S3_ETAG_SYSMETA):
        children.append(('ObjectParts', _object_parts(ctx, headers)))
    if 'StorageClass' in wanted:
        children.append(('StorageClass', STORAGE_CLASS))
    if 'ObjectSize' in wanted:
        children.append(('ObjectSize', headers.get('Content-Length', '0')))
    answer = {}
    if headers.get('Last-Modified'):
        answer['Last-Modified'] = headers['Last-Modified']
    return ctx.xml(to_xml('GetObjectAttributesResponse', children),
                   headers=answer)
