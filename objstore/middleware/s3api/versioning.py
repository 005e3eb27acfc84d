"""S3 bucket versioning on the object_versioning middleware's storage.

Owns PutBucketVersioning, GetBucketVersioning and ListObjectVersions, and
the versioning steps of the object operations (obj, multidelete,
multipart call in): reading and deleting ``?versionId=``, delete markers,
the ``x-amz-version-id`` answers.

An S3 version id is exactly object_versioning's (the version's
timestamp), ``null`` for an object written while the bucket was not
versioned; S3's ``versionId`` is Swift's ``version-id``, and a bucket's
Enabled/Suspended is the container's ``X-Versions-Enabled``. Every step is
a Swift request as the client (``ctx.call``), so the Swift API sees the
same versions and the same permissions apply. It must not reach the
hidden versions container itself: object_versioning below owns it.

Where S3 and the Swift layout differ: a DELETE of the version that was
current leaves no current object in Swift; S3 makes the newest remaining
version current again, so ``restore_newest`` does (a ``PUT ?version-id``,
Swift's restore), unless that version is a delete marker. Two are left
as Swift's s3api leaves them: a suspended bucket's DELETE removes the
null version (or the link to the current version) but writes no null
delete marker; and once versioning is enabled again, the next write
keeps the null version under its timestamp (object_versioning's copy),
no longer as ``null``.

Helpers other features call: ``versioning_status``, ``never_versioned``,
``key_versions``, ``newest_version`` and ``current_version_id``.
"""

import json
from urllib.parse import quote, unquote, urlencode

from objstore.common.exceptions import InvalidTimestamp
from objstore.common.http import Response, is_success
from objstore.common.retention import BUCKET_LOCK_INFO_KEY
from objstore.common.timestamp import Timestamp
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.views import (
    SEGMENTS_SUFFIX, listing_etag, owner, s3_time)
from objstore.middleware.s3api.xmlio import (
    XMLError, child_text, parse_xml, to_xml)
from objstore.middleware.versioning import (
    CLIENT_ENABLED, DELETE_MARKER_CONTENT_TYPE, SYSMETA_VERSIONS_SYMLINK,
    VERSION_ID, is_true)

ENABLED, SUSPENDED = 'Enabled', 'Suspended'
VERSION_HEADER = 'x-amz-version-id'
DELETE_MARKER_HEADER = 'x-amz-delete-marker'
NULL = 'null'
# Swift's s3api bound on a VersioningConfiguration body.
MAX_CONFIG_XML = 10240
# Versions of one key fetched per listing page by key_versions.
KEY_PAGE = 100
# Container sysmeta (as common.info names it) that versioning of either
# kind (object_versioning's, legacy versioned writes') or an object lock
# leaves on a bucket, enabled or not.
VERSIONED_SYSMETA = ('versions-enabled', 'versions-container',
                     'versions-location', BUCKET_LOCK_INFO_KEY)


def error_with_headers(code, headers, message=None, **details):
    """An S3Error whose answer also carries ``headers``."""
    err = S3Error(code, message, **details)
    err.headers.update(headers)
    return err


def _bucket_error(resp, bucket):
    if resp.status_int == 404:
        return S3Error('NoSuchBucket', BucketName=bucket)
    return S3Error('ServiceUnavailable' if resp.status_int >= 500
                   else 'InternalError')


# ------------------------------------------------------------ version ids


def is_version_id(value):
    """Whether ``value`` is a version id this store can have issued.

    >>> is_version_id('1700000000.12345'), is_version_id('null')
    (True, True)
    >>> is_version_id('3HL4kqtJlcpXroDTDmJ')
    False
    """
    if value == NULL:
        return True
    try:
        Timestamp(value)
    except (InvalidTimestamp, ValueError, TypeError):
        return False
    return True


def invalid_version(value):
    return S3Error('InvalidArgument', 'Invalid version id specified',
                   ArgumentName='versionId', ArgumentValue=value)


def version_headers(swift_headers):
    """``x-amz-version-id`` of a Swift write's answer, when it made a
    version (a write to an unversioned or suspended bucket did not)."""
    version_id = swift_headers.get(VERSION_ID)
    if not version_id or version_id == NULL:
        return {}
    return {VERSION_HEADER: version_id}


def read_version_headers(swift_headers):
    """``x-amz-version-id`` of a GET/HEAD answer: a versioned bucket's
    objects always name theirs, ``null`` included."""
    version_id = swift_headers.get(VERSION_ID)
    return {VERSION_HEADER: version_id} if version_id else {}


def is_version_link(swift_headers):
    """Whether a ``symlink=get`` answer is object_versioning's link."""
    return is_true(swift_headers.get(SYSMETA_VERSIONS_SYMLINK))


def is_delete_marker(entry):
    return entry.get('content_type') == DELETE_MARKER_CONTENT_TYPE


def current_version_headers(ctx, bucket, key):
    """``x-amz-version-id`` of the object just written at ``key`` (a
    write whose own answer cannot tell it: a completed multipart upload)."""
    return version_headers(ctx.call('HEAD', bucket, key).headers)


# ------------------------------------------------------------- copy source


def copy_source_version(value):
    """The ``versionId`` of an ``x-amz-copy-source``, or None.

    >>> copy_source_version('/b/k?versionId=1700000000.12345')
    '1700000000.12345'
    >>> copy_source_version('b/k') is None
    True
    """
    _path, _, query = value.partition('?')
    if not query:
        return None
    name, _, version_id = query.partition('=')
    if name != 'versionId':
        raise S3Error('InvalidArgument', 'Unsupported copy source '
                      'parameter.', ArgumentName='x-amz-copy-source',
                      ArgumentValue=value)
    version_id = unquote(version_id)
    if not is_version_id(version_id):
        raise invalid_version(version_id)
    return version_id


def copy_source_query(value):
    """The Swift query that reads the copy source's version ('' for the
    current object)."""
    version_id = copy_source_version(value)
    return '' if version_id is None else 'version-id=' + quote(version_id)


def copy_source_error(value, resp):
    """The S3Error of a copy whose source version could not be read
    (``resp``: the Swift answer), or None when no version was named."""
    version_id = copy_source_version(value)
    if version_id is None:
        return None
    if resp.headers.get('Content-Type') == DELETE_MARKER_CONTENT_TYPE:
        return S3Error('InvalidRequest', 'The source of a copy request may '
                       'not specifically refer to a delete marker by '
                       'version id.')
    return S3Error('NoSuchVersion', VersionId=version_id)


def copy_headers(value, swift_headers):
    """The version headers of a CopyObject answer: the copy's version
    and the source version it was made from."""
    headers = version_headers(swift_headers)
    version_id = copy_source_version(value)
    if version_id is not None:
        headers['x-amz-copy-source-version-id'] = version_id
    return headers


# ------------------------------------------------------------ bucket config


def parse_versioning_config(body):
    """The Status of a VersioningConfiguration document.

    >>> parse_versioning_config(b'<VersioningConfiguration>'
    ...     b'<Status>Suspended</Status></VersioningConfiguration>')
    'Suspended'
    """
    try:
        root = parse_xml(body, MAX_CONFIG_XML)
    except XMLError:
        raise S3Error('MalformedXML') from None
    if root.tag != 'VersioningConfiguration':
        raise S3Error('MalformedXML')
    status = child_text(root, 'Status')
    if status is None:
        raise S3Error('MalformedXML')
    if status not in (ENABLED, SUSPENDED):
        raise S3Error('IllegalVersioningConfigurationException')
    mfa_delete = child_text(root, 'MfaDelete', 'Disabled')
    if mfa_delete not in ('Enabled', 'Disabled'):
        raise S3Error('MalformedXML')
    if mfa_delete == 'Enabled':
        raise S3Error('NotImplemented', 'MFA delete is not supported')
    return status


def versioning_status(ctx, bucket):
    """ENABLED, SUSPENDED or None (never set) of ``bucket``, read as the
    client; NoSuchBucket when there is none."""
    resp = ctx.call('HEAD', bucket)
    if not is_success(resp.status_int):
        raise _bucket_error(resp, bucket)
    if CLIENT_ENABLED not in resp.headers:
        return None
    return ENABLED if is_true(resp.headers[CLIENT_ENABLED]) else SUSPENDED


def never_versioned(info):
    """Whether a bucket's info (common.info) says it exists and never had
    versioning of any kind nor an object lock: no version link, delete
    marker or locked version can be its current object.

    >>> never_versioned({'status': 204, 'sysmeta': {}})
    True
    >>> never_versioned({'status': 204,
    ...                  'sysmeta': {'versions-enabled': 'False'}})
    False
    """
    sysmeta = info.get('sysmeta') or {}
    return is_success(info['status']) and not info.get('versions') and \
        not any(name in sysmeta for name in VERSIONED_SYSMETA)


def put_bucket_versioning(ctx):
    bucket = ctx.s3req.bucket
    status = parse_versioning_config(ctx.read_body(MAX_CONFIG_XML))
    resp = ctx.call('POST', bucket, headers={
        CLIENT_ENABLED: 'true' if status == ENABLED else 'false'})
    if resp.status_int == 400:
        # object_versioning's refusal: the container uses legacy
        # versioned writes or container sync.
        raise S3Error('InvalidBucketState', resp.text.strip() or None)
    if not is_success(resp.status_int):
        raise _bucket_error(resp, bucket)
    return Response(status=200, content_length=0)


def get_bucket_versioning(ctx):
    status = versioning_status(ctx, ctx.s3req.bucket)
    children = [('Status', status)] if status else []
    return ctx.xml(to_xml('VersioningConfiguration', children))


# ------------------------------------------------------- versions of a key


def _versions_page(ctx, bucket, params):
    """One page of the Swift ``?versions`` listing of ``bucket``."""
    query = dict(params, format='json')
    resp = ctx.call('GET', bucket,
                    query='versions&' + urlencode(query, quote_via=quote))
    if not is_success(resp.status_int):
        raise _bucket_error(resp, bucket)
    return json.loads(resp.body) if resp.status_int == 200 else []


def key_versions(ctx, bucket, key, limit=None):
    """The listing entries of ``key``'s versions, newest first (a null
    version that is current comes first, as it is the newest); each has
    ``version_id``, ``is_latest``, ``content_type``, ``bytes``, ``hash``
    and ``last_modified``."""
    found = []
    params = {'prefix': key, 'limit': str(KEY_PAGE)}
    while limit is None or len(found) < limit:
        page = _versions_page(ctx, bucket, params)
        mine = [entry for entry in page if entry.get('name') == key]
        found += mine
        if len(page) < KEY_PAGE or len(mine) < len(page) or not mine:
            break
        params.update(marker=key, version_marker=mine[-1]['version_id'])
    return found if limit is None else found[:limit]


def newest_version(ctx, bucket, key):
    """The listing entry of ``key``'s newest version (maybe a delete
    marker), or None."""
    versions = key_versions(ctx, bucket, key, limit=1)
    return versions[0] if versions else None


def current_version_id(ctx, bucket, key):
    """The version id of ``key``'s current object (``null`` when it is
    not versioned), or None when there is none."""
    resp = ctx.call('HEAD', bucket, key)
    if not is_success(resp.status_int):
        return None
    return resp.headers.get(VERSION_ID, NULL)


def restore_newest(ctx, bucket, key):
    """Make the newest version of ``key`` current again when it has no
    current object and that version is not a delete marker (module doc)."""
    head = ctx.call('HEAD', bucket, key, query='symlink=get')
    if is_success(head.status_int):
        return
    newest = newest_version(ctx, bucket, key)
    if newest is None or is_delete_marker(newest) or \
            newest['version_id'] == NULL:
        return
    ctx.call('PUT', bucket, key, headers={'Content-Length': '0'},
             query='version-id=' + quote(newest['version_id']))


# ------------------------------------------------------------------ reads


def read_query(ctx):
    """The Swift query of a GetObject/HeadObject's ``versionId`` ('' for
    none); the S3Error of one that cannot name a version."""
    version_id = ctx.s3req.params.get('versionId')
    if version_id is None:
        return ''
    if not is_version_id(version_id):
        if bucket_has_versions(ctx, ctx.s3req.bucket):
            raise invalid_version(version_id)
        raise S3Error('NoSuchVersion', Key=ctx.s3req.key,
                      VersionId=version_id)
    return 'version-id=' + quote(version_id)


def bucket_has_versions(ctx, bucket):
    """Whether versioning was ever set on ``bucket``."""
    return versioning_status(ctx, bucket) is not None


def read_error(ctx, resp):
    """The S3Error of a GetObject/HeadObject whose Swift answer is
    ``resp``, a 404 or a 400, or None for the caller's NoSuchKey.

    A version named by id that is a delete marker is 405 MethodNotAllowed;
    a key whose current version is a delete marker is NoSuchKey, both
    with ``x-amz-delete-marker``."""
    s3req = ctx.s3req
    version_id = s3req.params.get('versionId')
    if version_id is None:
        if resp.status_int != 404 or VERSION_ID not in resp.headers:
            return None
        newest = newest_version(ctx, s3req.bucket, s3req.key)
        if newest is None or not is_delete_marker(newest):
            return None
        return error_with_headers('NoSuchKey', {
            DELETE_MARKER_HEADER: 'true',
            VERSION_HEADER: newest['version_id']}, Key=s3req.key)
    if resp.headers.get('Content-Type') == DELETE_MARKER_CONTENT_TYPE:
        return error_with_headers('MethodNotAllowed', {
            DELETE_MARKER_HEADER: 'true', VERSION_HEADER: version_id,
            'Allow': 'DELETE'}, Method=s3req.method,
            ResourceType='DeleteMarker')
    if not ctx.bucket_exists(s3req.bucket):
        return S3Error('NoSuchBucket', BucketName=s3req.bucket)
    # A 400 is object_versioning refusing a version id in a bucket never
    # versioned: it has no such version either.
    return S3Error('NoSuchVersion', Key=s3req.key, VersionId=version_id)


# ---------------------------------------------------------------- deletes


def delete_current(ctx, bucket, key, head):
    """(status, S3 headers) of a DeleteObject without ``versionId``, or
    None when the plain delete applies (a bucket never versioned, or a
    null version in a suspended bucket). ``head``: the key's HEAD with
    ``symlink=get``, which names a version only in a versioned bucket.

    Enabled: object_versioning makes a delete marker (even for a key that
    does not exist, as S3 does). Suspended: the link to the current
    version goes and its version stays."""
    if VERSION_ID not in head.headers:
        return None
    if versioning_status(ctx, bucket) == ENABLED:
        resp = ctx.call('DELETE', bucket, key)
        if not is_success(resp.status_int) and resp.status_int != 404:
            return resp.status_int, {}
        return 204, {DELETE_MARKER_HEADER: 'true',
                     VERSION_HEADER: resp.headers.get(VERSION_ID, NULL)}
    if is_version_link(head.headers):
        return ctx.call('DELETE', bucket, key).status_int, {}
    return None


class StoredVersion:
    """What deleting a version must know of it: whether it is a delete
    marker, and the parts a multipart upload's version holds."""

    def __init__(self, ctx, bucket, key, version_id):
        self.query = 'version-id=%s&multipart-manifest=get' % quote(
            version_id)
        head = ctx.call('HEAD', bucket, key, query=self.query)
        self.delete_marker = head.headers.get(
            'Content-Type') == DELETE_MARKER_CONTENT_TYPE
        self.parts = []
        if is_true(head.headers.get('X-Static-Large-Object')):
            self.parts = self._parts(ctx, bucket, key)

    def _parts(self, ctx, bucket, key):
        """(container, name) of the manifest's segments that are the
        bucket's multipart parts: each upload's are its own, so they go
        with the one version that holds them (as DeleteObject deletes a
        multipart object's)."""
        resp = ctx.call('GET', bucket, key, query=self.query)
        if not is_success(resp.status_int):
            return []
        try:
            manifest = json.loads(resp.body)
        except ValueError:
            return []
        prefix = '/%s%s/' % (bucket, SEGMENTS_SUFFIX)
        return [(bucket + SEGMENTS_SUFFIX, entry['name'][len(prefix):])
                for entry in manifest
                if entry.get('name', '').startswith(prefix)]

    def delete_parts(self, ctx):
        for container, name in self.parts:
            ctx.call('DELETE', container, name)


def delete_version(ctx, bucket, key, version_id, delete_null, headers=None):
    """(status, S3 headers) of a DeleteObject with ``versionId``.

    ``delete_null(head)``: the caller's plain delete of the key (a
    multipart object with its parts), for the null version. A version
    that does not exist is deleted already (204, as S3 answers).
    ``headers``: what the version's DELETE carries (object lock's
    bypass)."""
    if not is_version_id(version_id):
        raise invalid_version(version_id)
    head = ctx.call('HEAD', bucket, key, query='symlink=get')
    versioned = VERSION_ID in head.headers
    if head.status_int == 404 and not versioned and \
            not ctx.bucket_exists(bucket):
        raise S3Error('NoSuchBucket', BucketName=bucket)
    answer = {VERSION_HEADER: version_id}
    if version_id == NULL:
        if versioned and is_version_link(head.headers):
            return 204, answer
        status = delete_null(head)
        if versioned and (is_success(status) or status == 404):
            restore_newest(ctx, bucket, key)
        return status, answer
    if not versioned:
        return 204, answer
    stored = StoredVersion(ctx, bucket, key, version_id)
    if stored.delete_marker:
        answer[DELETE_MARKER_HEADER] = 'true'
    resp = ctx.call('DELETE', bucket, key, headers=headers,
                    query='version-id=' + quote(version_id))
    if not is_success(resp.status_int) and resp.status_int != 404:
        return resp.status_int, {}
    if is_success(resp.status_int):
        stored.delete_parts(ctx)
    if resp.headers.get('X-Object-Current-Version-Id') == NULL:
        restore_newest(ctx, bucket, key)
    return 204, answer


# ------------------------------------------------------ ListObjectVersions


def _listing_query(params, max_keys):
    """The Swift ``?versions`` query of a ListObjectVersions request."""
    key_marker = params.get('key-marker', '')
    version_marker = params.get('version-id-marker', '')
    if version_marker and not key_marker:
        raise S3Error('InvalidArgument', 'A version-id marker cannot be '
                      'specified without a key marker.',
                      ArgumentName='version-id-marker',
                      ArgumentValue=version_marker)
    if version_marker and not is_version_id(version_marker):
        raise S3Error('InvalidArgument', 'Invalid version id specified',
                      ArgumentName='version-id-marker',
                      ArgumentValue=version_marker)
    # One more to tell truncation, one more for the common prefix that
    # is the key-marker itself (dropped by _after_marker).
    query = {'limit': str(max_keys + 2)}
    for name in ('prefix', 'delimiter'):
        if params.get(name):
            query[name] = params[name]
    if key_marker:
        query['marker'] = key_marker
        if version_marker:
            query['version_marker'] = version_marker
    return query


def _after_marker(entries, key_marker):
    """``entries`` without the common prefix a previous page ended on:
    Swift lists it again (its keys sort after it), S3 does not.

    >>> _after_marker([{'subdir': 'd/'}, {'name': 'e'}], 'd/')
    [{'name': 'e'}]
    """
    return [entry for entry in entries
            if 'subdir' not in entry or entry['subdir'] > key_marker]


def _listed_version(entry, encode, user):
    """The Version or DeleteMarker element of a ``?versions`` entry."""
    head = [('Key', encode(entry['name'])),
            ('VersionId', entry.get('version_id') or NULL),
            ('IsLatest', bool(entry.get('is_latest'))),
            ('LastModified', s3_time(entry.get('last_modified')))]
    if is_delete_marker(entry):
        return 'DeleteMarker', head + [('Owner', owner(user))]
    return 'Version', head + [
        ('ETag', listing_etag(entry)), ('Size', entry.get('bytes', 0)),
        ('Owner', owner(user)), ('StorageClass', 'STANDARD')]


def list_object_versions(ctx, max_keys, encode):
    """ListObjectVersions: every version and delete marker, key
    ascending and newest first within a key, paged by key-marker and
    version-id-marker. ``max_keys``, ``encode``: the request's max-keys
    and key encoder (bucket module's parsing)."""
    params = ctx.s3req.params
    bucket = ctx.s3req.bucket
    query = _listing_query(params, max_keys)
    entries = _after_marker(_versions_page(ctx, bucket, query),
                            params.get('key-marker', '')) if max_keys else []
    truncated = len(entries) > max_keys
    entries = entries[:max_keys]
    head = [('Name', bucket), ('Prefix', encode(params.get('prefix', ''))),
            ('KeyMarker', encode(params.get('key-marker', ''))),
            ('VersionIdMarker', params.get('version-id-marker', '')),
            ('MaxKeys', max_keys)]
    if params.get('delimiter'):
        head.append(('Delimiter', encode(params['delimiter'])))
    if 'encoding-type' in params:
        head.append(('EncodingType', 'url'))
    head.append(('IsTruncated', truncated))
    if truncated:
        last = entries[-1]
        head.append(('NextKeyMarker', encode(last.get('name') or
                                             last.get('subdir'))))
        if 'subdir' not in last:
            head.append(('NextVersionIdMarker',
                         last.get('version_id') or NULL))
    versions, prefixes = [], []
    for entry in entries:
        if 'subdir' in entry:
            prefixes.append(('CommonPrefixes', [
                ('Prefix', encode(entry['subdir']))]))
        else:
            versions.append(_listed_version(entry, encode, ctx.user))
    return ctx.xml(to_xml('ListVersionsResult', head + versions + prefixes))
