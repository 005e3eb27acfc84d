"""Multipart uploads, stored as Swift's s3api stores them.

Owns CreateMultipartUpload, UploadPart (and UploadPartCopy),
CompleteMultipartUpload, AbortMultipartUpload, ListParts and
ListMultipartUploads. The layout in Swift, for bucket ``b`` and key ``k``:

- ``b+segments/k/<upload id>``: the upload marker, an empty object that
  carries the metadata CreateMultipartUpload was given (user metadata,
  Content-Type in sysmeta, the checksum algorithm asked for);
- ``b+segments/k/<upload id>/<part number>``: each part, a plain object;
- ``b/k``: on completion, an SLO manifest (``?multipart-manifest=put``)
  listing the parts, with the S3 ETag (``<md5 of the part md5s>-N``) and
  the upload id in sysmeta and in the container listing's etag params
  (``; s3_etag=...``), after which the marker is deleted.

Parts are independent objects, so they may be uploaded in parallel and
in any order; only completion reads them all (one listing), checks the
client's part list against them (order, ETags, the 5 MiB minimum) and
hands the manifest to the slo middleware, which HEADs every segment.

The body of a part goes through the same checks as PutObject's (the
upload module); this module decides names, metadata and XML only.
"""

import base64
import hashlib
import json
import re
import time
import uuid
from urllib.parse import quote, urlencode

from objstore.common.green import GreenPool, write_unbuffered
from objstore.common.http import Response, is_success
from objstore.middleware.s3api import (
    attributes, obj, object_lock, tagging, upload, versioning,
    write_conditions)
from objstore.middleware.s3api.acl import canned_acl_headers
from objstore.middleware.s3api.checksums import (
    ALGORITHMS, S3InputError, UploadChecksum, composite_checksum,
    full_object_crc, parse_upload_checksum)
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.views import (
    S3_ETAG_SYSMETA, SEGMENTS_SUFFIX, http_date_to_s3, owner, quoted_etag,
    s3_time)
from objstore.middleware.s3api.xmlio import XMLError, child_text, \
    parse_xml, to_xml

MAX_PARTS = 10000
MIN_PART_SIZE = 5 * 1024 * 1024
MAX_LISTING = 1000
MAX_COMPLETE_XML = 2 * 1024 * 1024
# Swift's container listings give at most this many names a page.
LISTING_PAGE = 10000
MARKER_CONTENT_TYPE = 'application/directory'
# The parts' checksums are read this many HEADs at a time.
PART_HEAD_CONCURRENCY = 8
# Seconds a CompleteMultipartUpload may take before its answer starts
# with the heartbeat's spaces (Completion).
HEARTBEAT_GRACE = 10
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
SYSMETA = 'X-Object-Sysmeta-S3api-'
UPLOAD_ID = SYSMETA + 'Upload-Id'
S3_ETAG = S3_ETAG_SYSMETA
HAS_CONTENT_TYPE = SYSMETA + 'Has-Content-Type'
CONTENT_TYPE = SYSMETA + 'Content-Type'
CHECKSUM_ALGORITHM = SYSMETA + 'Checksum-Algorithm'
CHECKSUM_TYPE = SYSMETA + 'Checksum-Type'
PARTS_COUNT = SYSMETA + 'Parts-Count'
# Marker sysmeta that describes the upload, not the object it becomes.
MARKER_ONLY = (HAS_CONTENT_TYPE, CONTENT_TYPE, CHECKSUM_ALGORITHM,
               CHECKSUM_TYPE)
OVERRIDE_ETAG = 'X-Object-Sysmeta-Container-Update-Override-Etag'
PART_NUMBER = re.compile(r'^[0-9]+$')
COPY_RANGE = re.compile(r'^bytes=([0-9]+)-([0-9]+)$')
RANGE_MESSAGE = ('The x-amz-copy-source-range value must be of the form '
                 'bytes=first-last where first and last are the zero-based '
                 'offsets of the first and last bytes to copy')


def new_upload_id():
    """A fresh upload id: URL-safe, never all digits (a part's name ends
    in digits; a marker's does not)."""
    raw = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode('ascii')
    return 'u' + raw.rstrip('=')


def s3_multipart_etag(part_etags):
    """S3's ETag of an object made of parts: the MD5 of their raw MD5s,
    then ``-<number of parts>``.

    >>> s3_multipart_etag(['d41d8cd98f00b204e9800998ecf8427e'] * 2)
    '5873dd45edd01f09c1ef2e7819369e8e-2'
    """
    digest = hashlib.md5(usedforsecurity=False)
    for etag in part_etags:
        digest.update(bytes.fromhex(etag))
    return '%s-%d' % (digest.hexdigest(), len(part_etags))


def segments_container(bucket):
    return bucket + SEGMENTS_SUFFIX


def marker_name(key, upload_id):
    return '%s/%s' % (key, upload_id)


def part_name(key, upload_id, number):
    return '%s/%s/%d' % (key, upload_id, number)


def parse_part_number(params):
    """The partNumber of an UploadPart (1..10,000), else InvalidArgument."""
    value = params.get('partNumber', '')
    number = int(value) if PART_NUMBER.match(value) else 0
    if not 1 <= number <= MAX_PARTS:
        raise S3Error('InvalidArgument', 'Part number must be an integer '
                      'between 1 and %d, inclusive' % MAX_PARTS,
                      ArgumentName='partNumber', ArgumentValue=value)
    return number


def _int_param(params, name, default, limit=None):
    value = params.get(name)
    if value is None:
        return default
    if not PART_NUMBER.match(value) or int(value) > 2 ** 31 - 1:
        raise S3Error('InvalidArgument', 'Provided %s not an integer or '
                      'within integer range' % name, ArgumentName=name,
                      ArgumentValue=value)
    number = int(value)
    return min(number, limit) if limit is not None else number


def key_encoder(params):
    """How a listing writes keys: as they are, or URL-encoded
    (``encoding-type=url``)."""
    encoding = params.get('encoding-type')
    if encoding is None:
        return lambda name: name
    if encoding != 'url':
        raise S3Error('InvalidArgument', 'Invalid Encoding Method specified '
                      'in Request', ArgumentName='encoding-type',
                      ArgumentValue=encoding)
    return lambda name: quote(name, safe='/')


# ------------------------------------------------------------- listings


def list_names(ctx, container, prefix, marker=''):
    """Every listing entry of ``container`` under ``prefix`` after
    ``marker`` (paged); None when the container does not exist."""
    entries = []
    while True:
        query = urlencode({'format': 'json', 'prefix': prefix,
                           'marker': marker, 'limit': str(LISTING_PAGE)},
                          quote_via=quote)
        resp = ctx.call('GET', container, query=query)
        if resp.status_int == 404:
            return None
        if not is_success(resp.status_int):
            raise S3Error('ServiceUnavailable')
        page = json.loads(resp.body) if resp.status_int == 200 else []
        entries.extend(page)
        if len(page) < LISTING_PAGE:
            return entries
        marker = page[-1]['name']


def uploaded_parts(ctx, key, upload_id):
    """{part number: listing entry} of an upload's parts."""
    prefix = marker_name(key, upload_id) + '/'
    parts = {}
    for entry in list_names(ctx, segments_container(ctx.s3req.bucket),
                            prefix) or []:
        number = entry['name'][len(prefix):]
        if PART_NUMBER.match(number):
            parts[int(number)] = entry
    return parts


# --------------------------------------------------------------- marker


def _missing_upload(ctx, upload_id):
    if not ctx.bucket_exists(ctx.s3req.bucket):
        return S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)
    return S3Error('NoSuchUpload', UploadId=upload_id)


def head_marker(ctx, upload_id):
    """The upload marker's HEAD answer; NoSuchUpload when it is gone."""
    resp = ctx.call('HEAD', segments_container(ctx.s3req.bucket),
                    marker_name(ctx.s3req.key, upload_id))
    if resp.status_int == 404:
        raise _missing_upload(ctx, upload_id)
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable')
    return resp


def upload_checksum(marker_headers):
    """The UploadChecksum a marker records."""
    algorithm = marker_headers.get(CHECKSUM_ALGORITHM)
    return UploadChecksum(algorithm or None,
                                 marker_headers.get(CHECKSUM_TYPE) or None)


def _ensure_segments_container(ctx):
    """Create ``<bucket>+segments`` like the bucket (policy, ACLs)."""
    bucket = ctx.s3req.bucket
    container = segments_container(bucket)
    if is_success(ctx.call('HEAD', container).status_int):
        return
    head = ctx.call('HEAD', bucket)
    if head.status_int == 404:
        raise S3Error('NoSuchBucket', BucketName=bucket)
    headers = {name: head.headers[name] for name in (
        'X-Storage-Policy', 'X-Container-Read', 'X-Container-Write')
        if head.headers.get(name)}
    resp = ctx.call('PUT', container, headers=headers)
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable')


def _marker_headers(ctx, checksum):
    s3_headers = ctx.s3req.headers
    headers = obj.swift_object_headers(s3_headers, fresh=True)
    headers.update(canned_acl_headers(s3_headers, bucket=False))
    headers.update(tagging.headers_for_put(s3_headers))
    content_type = s3_headers.get('content-type')
    headers[HAS_CONTENT_TYPE] = 'yes' if content_type else 'no'
    headers[CONTENT_TYPE] = content_type or ''
    headers['Content-Type'] = MARKER_CONTENT_TYPE
    headers[CHECKSUM_ALGORITHM] = checksum.algorithm or ''
    headers[CHECKSUM_TYPE] = checksum.type or ''
    return headers


def create_upload(ctx):
    """CreateMultipartUpload: a new upload id and its marker."""
    obj.check_key(ctx.s3req.key)
    attributes.check_storage_class(ctx.s3req.headers)
    try:
        checksum = parse_upload_checksum(ctx.s3req.headers)
    except S3InputError as err:
        raise upload.s3_error_of(err) from None
    headers = _marker_headers(ctx, checksum)
    headers.update(object_lock.put_headers(ctx, with_body=False))
    _ensure_segments_container(ctx)
    upload_id = new_upload_id()
    resp = ctx.call('PUT', segments_container(ctx.s3req.bucket),
                    marker_name(ctx.s3req.key, upload_id), headers=headers,
                    body=b'')
    if not is_success(resp.status_int):
        raise upload.write_error(ctx, resp)
    answer = {}
    if checksum.algorithm:
        answer = {'x-amz-checksum-algorithm': checksum.algorithm,
                  'x-amz-checksum-type': checksum.type}
    return ctx.xml(to_xml('InitiateMultipartUploadResult', [
        ('Bucket', ctx.s3req.bucket), ('Key', ctx.s3req.key),
        ('UploadId', upload_id)]), headers=answer)


# ---------------------------------------------------------------- parts


def upload_part(ctx):
    """UploadPart, or UploadPartCopy with ``x-amz-copy-source``."""
    params = ctx.s3req.params
    number = parse_part_number(params)
    upload_id = params['uploadId']
    marker = head_marker(ctx, upload_id)
    container = segments_container(ctx.s3req.bucket)
    name = part_name(ctx.s3req.key, upload_id, number)
    if 'x-amz-copy-source' in ctx.s3req.headers:
        return _copy_part(ctx, container, name)
    return upload.put_body(ctx, container, name, {},
                           upload_checksum(marker.headers))


def _copy_range(value):
    """(Range header, last byte) of an ``x-amz-copy-source-range``."""
    found = COPY_RANGE.match(value)
    if not found or int(found.group(1)) > int(found.group(2)):
        raise S3Error('InvalidArgument', RANGE_MESSAGE,
                      ArgumentName='x-amz-copy-source-range',
                      ArgumentValue=value)
    return value, int(found.group(2))


def _source_size(resp):
    """The whole source's size, from a ranged GET's Content-Range."""
    total = resp.headers.get('Content-Range', '').rpartition('/')[2]
    return int(total) if total.isdigit() else int(
        resp.headers.get('Content-Length', 0))


def _check_copied_range(resp, value, last):
    size = _source_size(resp)
    if resp.status_int == 416 or last >= size:
        raise S3Error('InvalidArgument', 'Range specified is not valid for '
                      'source object of size: %d' % size,
                      ArgumentName='x-amz-copy-source-range',
                      ArgumentValue=value)


def _read_source(ctx, source):
    """The GET of an UploadPartCopy's source (its range, its conditions),
    as the client: a part is the source's bytes, none of its metadata."""
    headers = ctx.s3req.headers
    get_headers = {swift_name: headers[s3_name] for s3_name, swift_name
                   in obj.COPY_CONDITIONS.items() if s3_name in headers}
    wanted = None
    if 'x-amz-copy-source-range' in headers:
        wanted = _copy_range(headers['x-amz-copy-source-range'])
        get_headers['Range'] = wanted[0]
    copy_source = headers['x-amz-copy-source']
    version_query = versioning.copy_source_query(copy_source)
    resp = ctx.call('GET', source[0], source[1], headers=get_headers,
                    query=version_query)
    if resp.status_int in (304, 412):
        raise S3Error('PreconditionFailed')
    if resp.status_int == 404 or (resp.status_int == 400 and version_query):
        raise versioning.copy_source_error(copy_source, resp) or \
            obj.copy_source_missing(ctx, source)
    if wanted is not None:
        _check_copied_range(resp, *wanted)
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable')
    return resp


def _copy_part(ctx, container, name):
    source = obj.parse_copy_source(ctx.s3req.headers['x-amz-copy-source'])
    source_resp = _read_source(ctx, source)
    resp = ctx.call('PUT', container, name, headers={
        'Content-Length': source_resp.headers['Content-Length']},
        body=source_resp.app_iter)
    if not is_success(resp.status_int):
        raise upload.write_error(ctx, resp)
    last_modified = resp.headers.get('Last-Modified')
    return ctx.xml(to_xml('CopyPartResult', [
        ('LastModified', http_date_to_s3(last_modified) if last_modified
         else None),
        ('ETag', quoted_etag(resp.headers.get('ETag')))]))


def list_parts(ctx):
    params = ctx.s3req.params
    encode = key_encoder(params)
    upload_id = params['uploadId']
    head_marker(ctx, upload_id)
    max_parts = _int_param(params, 'max-parts', MAX_LISTING, MAX_LISTING)
    after = _int_param(params, 'part-number-marker', 0)
    parts = uploaded_parts(ctx, ctx.s3req.key, upload_id)
    numbers = sorted(number for number in parts if number > after)
    shown, truncated = numbers[:max_parts], len(numbers) > max_parts
    head = [('Bucket', ctx.s3req.bucket), ('Key', encode(ctx.s3req.key)),
            ('UploadId', upload_id), ('Initiator', owner(ctx.user)),
            ('Owner', owner(ctx.user)), ('StorageClass', 'STANDARD'),
            ('PartNumberMarker', after),
            ('NextPartNumberMarker', shown[-1] if shown else 0),
            ('MaxParts', max_parts)]
    if 'encoding-type' in params:
        head.append(('EncodingType', 'url'))
    head.append(('IsTruncated', truncated))
    items = [('Part', [
        ('PartNumber', number),
        ('LastModified', s3_time(parts[number].get('last_modified'))),
        ('ETag', quoted_etag(parts[number].get('hash'))),
        ('Size', parts[number].get('bytes', 0))]) for number in shown]
    return ctx.xml(to_xml('ListPartsResult', head + items))


# -------------------------------------------------------------- abort


def abort_upload(ctx):
    upload_id = ctx.s3req.params['uploadId']
    head_marker(ctx, upload_id)
    container = segments_container(ctx.s3req.bucket)
    parts = uploaded_parts(ctx, ctx.s3req.key, upload_id)
    for entry in parts.values():
        _delete_quietly(ctx, container, entry['name'])
    _delete_quietly(ctx, container, marker_name(ctx.s3req.key, upload_id))
    return Response(status=204)


def _delete_quietly(ctx, container, name):
    """DELETE; a 404 is what we wanted too."""
    resp = ctx.call('DELETE', container, name)
    if not is_success(resp.status_int) and resp.status_int != 404:
        raise S3Error('ServiceUnavailable')


# ----------------------------------------------------------- complete


def parse_complete_body(body, upload_id):
    """[(part number, etag, {algorithm: checksum})] of a
    CompleteMultipartUpload body, in order; S3's errors when not."""
    try:
        root = parse_xml(body, MAX_COMPLETE_XML)
    except XMLError:
        raise S3Error('MalformedXML') from None
    if root.tag != 'CompleteMultipartUpload':
        raise S3Error('MalformedXML')
    parts, previous = [], 0
    for element in root.findall('Part'):
        number_text = child_text(element, 'PartNumber', '').strip()
        if not PART_NUMBER.match(number_text):
            raise S3Error('MalformedXML')
        number = int(number_text)
        if not 1 <= number <= MAX_PARTS:
            raise S3Error('InvalidArgument', 'Part number must be an '
                          'integer between 1 and %d, inclusive' % MAX_PARTS,
                          ArgumentName='partNumber',
                          ArgumentValue=number_text)
        if number <= previous:
            raise S3Error('InvalidPartOrder', UploadId=upload_id)
        previous = number
        etag = (child_text(element, 'ETag', '') or '').strip().strip('"')
        if not re.match(r'^[0-9a-f]{32}$', etag):
            raise S3Error('InvalidPart', UploadId=upload_id,
                          PartNumber=number, ETag=etag)
        checksums = {name: child_text(element, 'Checksum' + name)
                     for name in ALGORITHMS
                     if element.find('Checksum' + name) is not None}
        parts.append((number, etag, checksums))
    if not parts:
        raise S3Error('MalformedXML')
    return parts


def _checked_parts(ctx, upload_id, requested):
    """The listing entries of the requested parts, after S3's checks:
    each exists with that ETag, all but the last are >= 5 MiB."""
    stored = uploaded_parts(ctx, ctx.s3req.key, upload_id)
    entries = []
    for index, (number, etag, _sums) in enumerate(requested):
        entry = stored.get(number)
        if entry is None or entry.get('hash') != etag:
            raise S3Error('InvalidPart', UploadId=upload_id,
                          PartNumber=number, ETag=etag)
        last = index == len(requested) - 1
        if not last and entry.get('bytes', 0) < MIN_PART_SIZE:
            raise S3Error('EntityTooSmall', ProposedSize=entry['bytes'],
                          MinSizeAllowed=MIN_PART_SIZE, PartNumber=number,
                          ETag=etag)
        entries.append(entry)
    return entries


def _object_checksum(ctx, checksum, entries, requested):
    """{header: value} of the completed object's checksum (none unless
    the upload asked for one)."""
    if checksum.algorithm is None:
        return {}
    sysmeta = upload.checksum_sysmeta(checksum.algorithm)
    container = segments_container(ctx.s3req.bucket)

    def part_checksum(entry):
        found = upload.stored_checksum(
            ctx.call('HEAD', container, entry['name']).headers)
        return found[1] if found and found[0] == checksum.algorithm \
            else None
    pool = GreenPool(PART_HEAD_CONCURRENCY)
    values = list(pool.imap(part_checksum, entries))
    for value, (number, etag, sums) in zip(values, requested):
        given = sums.get(checksum.algorithm)
        if not value or (given is not None and given != value):
            raise S3Error('InvalidPart', UploadId=ctx.s3req.params[
                'uploadId'], PartNumber=number, ETag=etag)
    if checksum.type == 'FULL_OBJECT':
        whole = full_object_crc(checksum.algorithm, [
            (value, entry['bytes']) for value, entry in zip(values, entries)])
    else:
        whole = composite_checksum(checksum.algorithm, values)
    return {sysmeta: whole, upload.CHECKSUM_TYPE_SYSMETA: checksum.type}


def _object_headers(marker_headers):
    """The completed object's headers, from the marker's."""
    headers = {}
    for name, value in marker_headers.items():
        lower = name.lower()
        if lower.startswith('x-object-meta-') or lower in (
                'content-disposition', 'content-encoding'):
            headers[name] = value
        elif lower.startswith(SYSMETA.lower()) and lower not in {
                n.lower() for n in MARKER_ONLY}:
            headers[name] = value
    if marker_headers.get(HAS_CONTENT_TYPE) == 'yes':
        headers['Content-Type'] = marker_headers.get(CONTENT_TYPE)
    return headers


def _completed_already(ctx, upload_id, s3_etag):
    """Whether the object is this upload's, completed (a retried
    Complete whose marker is gone)."""
    resp = ctx.call('HEAD', ctx.s3req.bucket, ctx.s3req.key)
    return is_success(resp.status_int) and \
        resp.headers.get(UPLOAD_ID) == upload_id and \
        resp.headers.get(S3_ETAG) == s3_etag


def complete_upload(ctx):
    upload_id = ctx.s3req.params['uploadId']
    requested = parse_complete_body(ctx.read_body(MAX_COMPLETE_XML),
                                    upload_id)
    s3_etag = s3_multipart_etag([etag for _n, etag, _s in requested])
    try:
        marker = head_marker(ctx, upload_id)
    except S3Error as err:
        if err.code == 'NoSuchUpload' and \
                _completed_already(ctx, upload_id, s3_etag):
            return _complete_answer(ctx, s3_etag, {})
        raise
    entries = _checked_parts(ctx, upload_id, requested)
    checksum = upload_checksum(marker.headers)
    checksum_headers = _object_checksum(ctx, checksum, entries, requested)
    completion = Completion(ctx, upload_id, s3_etag, checksum_headers)
    return completion.store(marker.headers, entries)


class Completion:
    """The manifest PUT of a CompleteMultipartUpload and its answer.

    The slo middleware HEADs every part before it stores the manifest,
    which for thousands of parts outlasts a client's read timeout; asked
    with ``heartbeat=on`` it sends spaces meanwhile. Those spaces are
    passed on (after the XML declaration) only once the PUT has taken
    ``HEARTBEAT_GRACE`` seconds: a quicker one gets a plain answer, whose
    status can still say what went wrong. After a heartbeat the status is
    200 and a failure is the Error document in the body, as S3 does.
    """

    def __init__(self, ctx, upload_id, s3_etag, checksum_headers):
        self.ctx = ctx
        self.upload_id = upload_id
        self.s3_etag = s3_etag
        self.checksum_headers = checksum_headers

    def store(self, marker_headers, entries):
        ctx = self.ctx
        headers = _object_headers(marker_headers)
        headers.update(self.checksum_headers)
        headers.update({UPLOAD_ID: self.upload_id, S3_ETAG: self.s3_etag,
                        PARTS_COUNT: str(len(entries)),
                        OVERRIDE_ETAG: '; s3_etag=%s' % self.s3_etag,
                        'Accept': 'application/json'})
        headers.update(write_conditions.swift_headers(ctx))
        container = segments_container(ctx.s3req.bucket)
        manifest = [{'path': '/%s/%s' % (container, entry['name']),
                     'etag': entry['hash'], 'size_bytes': entry['bytes']}
                    for entry in entries]
        resp = ctx.call('PUT', ctx.s3req.bucket, ctx.s3req.key,
                        headers=headers,
                        body=json.dumps(manifest).encode('utf-8'),
                        query='multipart-manifest=put&heartbeat=on')
        if resp.status_int != 202:
            self._raise_for(resp.status_int, resp)
        chunks = iter(resp.app_iter)
        deadline = time.time() + HEARTBEAT_GRACE
        result = []
        for chunk in chunks:
            if chunk.strip():
                result.append(chunk)
            elif time.time() > deadline:
                write_unbuffered(ctx.environ)
                return Response(status=200, content_type='application/xml',
                                app_iter=self._late_body(chunks, result))
        self._finish(b''.join(result))
        answer = _complete_answer(ctx, self.s3_etag, self.checksum_headers)
        answer.headers.update(versioning.current_version_headers(
            ctx, ctx.s3req.bucket, ctx.s3req.key))
        return answer

    def _raise_for(self, status, resp=None):
        conditional = write_conditions.write_error(self.ctx.s3req.headers,
                                                   status)
        if conditional is not None:
            raise conditional
        if status == 400:
            raise S3Error('InvalidPart', UploadId=self.upload_id)
        if resp is not None:
            raise upload.write_error(self.ctx, resp)
        raise S3Error('ServiceUnavailable' if status >= 500
                      else 'InternalError')

    def _finish(self, result):
        """Raise the S3Error of the slo's result body, else drop the
        marker: the upload is complete."""
        try:
            status = int(json.loads(result)['Response Status'].split()[0])
        except (ValueError, KeyError, IndexError, AttributeError):
            status = 500
        if not is_success(status):
            self._raise_for(status)
        _delete_quietly(self.ctx, segments_container(self.ctx.s3req.bucket),
                        marker_name(self.ctx.s3req.key, self.upload_id))

    def _late_body(self, chunks, result):
        yield XML_DECLARATION
        yield b' '
        for chunk in chunks:
            if chunk.strip():
                result.append(chunk)
            else:
                yield b' '
        try:
            self._finish(b''.join(result))
            body = _complete_answer(self.ctx, self.s3_etag,
                                    self.checksum_headers).body
        except S3Error as err:
            body = err.to_xml(self.ctx.s3req.resource,
                              self.ctx.trans_id or '')
        yield b'\n' + body[len(XML_DECLARATION):]


def _complete_answer(ctx, s3_etag, checksum_headers):
    host = ctx.environ.get('HTTP_HOST', 'localhost')
    scheme = ctx.environ.get('wsgi.url_scheme', 'http')
    path = quote('/%s/%s' % (ctx.s3req.bucket, ctx.s3req.key))
    children = [('Location', '%s://%s%s' % (scheme, host, path)),
                ('Bucket', ctx.s3req.bucket), ('Key', ctx.s3req.key),
                ('ETag', quoted_etag(s3_etag))]
    children += upload.checksum_elements(checksum_headers)
    return ctx.xml(to_xml('CompleteMultipartUploadResult', children))


# ------------------------------------------------------- list uploads


def _upload_of(entry):
    """(key, upload id) of a segments listing entry that is a marker,
    else None."""
    key, _, upload_id = entry['name'].rpartition('/')
    if not key or not upload_id or PART_NUMBER.match(upload_id):
        return None
    return key, upload_id


def _uploads_after(entries, key_marker, id_marker):
    for entry in entries:
        found = _upload_of(entry)
        if found is None:
            continue
        key, upload_id = found
        if key < key_marker or (key == key_marker and (
                not id_marker or upload_id <= id_marker)):
            continue
        yield key, upload_id, entry


def _group(uploads, prefix, delimiter, limit):
    """(shown uploads, common prefixes, truncated) of the uploads."""
    shown, prefixes = [], []
    for key, upload_id, entry in uploads:
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                common = key[:cut + len(delimiter)]
                if common not in prefixes:
                    if len(shown) + len(prefixes) >= limit:
                        return shown, prefixes, True
                    prefixes.append(common)
                continue
        if len(shown) + len(prefixes) >= limit:
            return shown, prefixes, True
        shown.append((key, upload_id, entry))
    return shown, prefixes, False


def list_uploads(ctx):
    params = ctx.s3req.params
    encode = key_encoder(params)
    max_uploads = _int_param(params, 'max-uploads', MAX_LISTING, MAX_LISTING)
    prefix = params.get('prefix', '')
    delimiter = params.get('delimiter', '')
    key_marker = params.get('key-marker', '')
    id_marker = params.get('upload-id-marker', '') if key_marker else ''
    if not ctx.bucket_exists(ctx.s3req.bucket):
        raise S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)
    entries = list_names(ctx, segments_container(ctx.s3req.bucket),
                         prefix) or []
    shown, prefixes, truncated = _group(
        _uploads_after(entries, key_marker, id_marker), prefix, delimiter,
        max_uploads)
    head = [('Bucket', ctx.s3req.bucket), ('KeyMarker', encode(key_marker)),
            ('UploadIdMarker', id_marker)]
    if truncated and shown:
        head += [('NextKeyMarker', encode(shown[-1][0])),
                 ('NextUploadIdMarker', shown[-1][1])]
    head.append(('MaxUploads', max_uploads))
    if prefix:
        head.append(('Prefix', encode(prefix)))
    if delimiter:
        head.append(('Delimiter', encode(delimiter)))
    if 'encoding-type' in params:
        head.append(('EncodingType', 'url'))
    head.append(('IsTruncated', truncated))
    items = [('Upload', [
        ('Key', encode(key)), ('UploadId', upload_id),
        ('Initiator', owner(ctx.user)), ('Owner', owner(ctx.user)),
        ('StorageClass', 'STANDARD'),
        ('Initiated', s3_time(entry.get('last_modified')))])
        for key, upload_id, entry in shown]
    items += [('CommonPrefixes', [('Prefix', encode(common))])
              for common in prefixes]
    return ctx.xml(to_xml('ListMultipartUploadsResult', head + items))
