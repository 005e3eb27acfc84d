"""S3 Object Lock: Get/PutObjectLockConfiguration, Get/PutObjectRetention,
Get/PutObjectLegalHold, and the hooks CreateBucket, PutObject, GetObject
and DeleteObject call.

Where the state lives: the bucket's configuration in container sysmeta
``X-Container-Sysmeta-S3api-Object-Lock`` (lock_rules); a version's
retention and legal hold in its object sysmeta (common.retention). A
bucket created with ``x-amz-bucket-object-lock-enabled: true`` is
created versioned (object_versioning's ``X-Versions-Enabled``); a
versioned bucket may get a lock later (as S3 now allows).

Changing a version's lock: the object server keeps sysmeta from PUTs only
(a POST cannot change it, which is also why no metadata POST can drop a
lock), so object_versioning is asked (a POST ``?version-id=`` carrying
``SYSMETA_UPDATE_KEY`` in its environ) to rewrite the version object in
place with the new facts; it checks the signer's right to write the
bucket first. Only versions can be locked after the upload, not a
``null`` object, which has no version of its own.

Who may bypass GOVERNANCE retention (``x-amz-bypass-governance-
retention: true``): the bucket's owner, in our model the account's
admins (S3's ``s3:BypassGovernanceRetention`` by default). Deletes refused
for a lock are refused by object_versioning, the one place every API's
version deletes pass; s3api only tells it, with an ``X-Backend-`` header,
that the caller may bypass.
"""

import base64
import hashlib
import json
import time
from urllib.parse import quote

from objstore.common.http import Response, is_success
from objstore.common.retention import (
    BUCKET_LOCK_INFO_KEY, BUCKET_LOCK_SYSMETA, BYPASS_GOVERNANCE_HEADER,
    LEGAL_HOLD_SYSMETA, RETENTION_SYSMETA, format_date, format_retention,
    stored_lock)
from objstore.middleware.s3api import bucket_config, lock_rules
from objstore.middleware.s3api.checksums import (
    S3InputError, algorithm_of_header, new_checksum, parse_checksum_headers)
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.xmlio import MAX_XML_SIZE
from objstore.middleware.versioning import (
    CLIENT_ENABLED, SYSMETA_UPDATE_KEY, VERSION_ID, is_true)

ENABLED_HEADER = 'x-amz-bucket-object-lock-enabled'
BYPASS_HEADER = 'x-amz-bypass-governance-retention'
NO_DIGEST = ('Content-MD5 OR x-amz-checksum- HTTP header is required for '
             'Put Object requests with Object Lock parameters')
NOT_VERSIONED = ("Versioning must be 'Enabled' on the bucket to apply a "
                 "Object Lock configuration")


# ---------------------------------------------------------------- helpers


def _bucket_head(ctx):
    """The bucket's HEAD answer (as the client); NoSuchBucket."""
    resp = ctx.call('HEAD', ctx.s3req.bucket)
    if resp.status_int == 404:
        raise S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable' if resp.status_int >= 500
                      else 'InternalError')
    return resp


def bucket_configuration(head):
    """The lock configuration of a bucket's HEAD answer, or None."""
    return lock_rules.stored_configuration(
        head.headers.get(BUCKET_LOCK_SYSMETA))


def _require_lock(ctx):
    """InvalidRequest unless the bucket has an object lock."""
    if bucket_configuration(_bucket_head(ctx)) is None:
        raise S3Error('InvalidRequest', lock_rules.NOT_LOCKED)


def _check_body_digest(headers, body):
    """The body of a lock request against its Content-MD5 or checksum
    header, one of which S3 requires."""
    if 'content-md5' in headers:
        digest = base64.b64encode(hashlib.md5(body).digest()).decode()
        if digest != headers['content-md5'].strip():
            raise S3Error('BadDigest')
        return
    for name, value in headers.items():
        algorithm = algorithm_of_header(name)
        if algorithm is not None:
            checksum = new_checksum(algorithm)
            checksum.update(body)
            if checksum.digest_b64() != value.strip():
                raise S3Error('BadDigest', 'The %s you specified did not '
                              'match the calculated checksum.' % algorithm)
            return
    raise S3Error('InvalidRequest', 'Missing required header for this '
                  'request: Content-MD5')


def _read_document(ctx):
    body = ctx.read_body(MAX_XML_SIZE)
    _check_body_digest(ctx.s3req.headers, body)
    if not body:
        raise S3Error('MissingRequestBodyError')
    return body


def may_bypass_governance(ctx):
    """Whether the request asks to bypass GOVERNANCE retention and its
    signer may: the account's owner (an admin of it)."""
    asked = ctx.s3req.headers.get(BYPASS_HEADER, '').lower() == 'true'
    if asked and ctx.account is None:
        ctx.bucket_exists(ctx.s3req.bucket)     # verifies the signature
    return asked and ctx.account in ctx.groups


# ------------------------------------------------------- hooks of others


def create_bucket_headers(ctx):
    """The container headers of CreateBucket's lock header. An existing
    bucket is refused first: a container PUT would change it."""
    value = ctx.s3req.headers.get(ENABLED_HEADER)
    if value is None or value.lower() == 'false':
        return {}
    if value.lower() != 'true':
        raise S3Error('InvalidArgument', ArgumentName=ENABLED_HEADER,
                      ArgumentValue=value)
    if ctx.bucket_exists(ctx.s3req.bucket):
        raise S3Error('BucketAlreadyOwnedByYou', BucketName=ctx.s3req.bucket)
    return {CLIENT_ENABLED: 'true', BUCKET_LOCK_SYSMETA: json.dumps({})}


def version_param(params):
    """The ``versionId`` a request names, or None; never empty."""
    version = params.get('versionId')
    if version == '':
        raise S3Error('InvalidArgument', 'Version id cannot be the empty '
                      'string', ArgumentName='versionId', ArgumentValue='')
    return version


def _has_digest(headers):
    if 'content-md5' in headers:
        return True
    try:
        return parse_checksum_headers(headers).algorithm is not None
    except S3InputError:
        return True     # refused, with its own error, when the body goes


def put_headers(ctx, with_body=True):
    """The object sysmeta of a new object's lock: the request's
    ``x-amz-object-lock-*`` headers, else the bucket's default retention.
    PutObject (``with_body``) must then carry a Content-MD5 or checksum.
    CopyObject and CreateMultipartUpload (not ``with_body``) get blanks
    where they set nothing: a lock is the version's own and never comes
    from a copy's source."""
    headers = ctx.s3req.headers
    now = time.time()
    retention, hold = lock_rules.requested_lock(headers, now)
    if retention is None and hold is None and \
            _known_unlocked_bucket(ctx):
        return {} if with_body else {RETENTION_SYSMETA: '',
                                     LEGAL_HOLD_SYSMETA: ''}
    config = _write_target_configuration(ctx)
    if config is None:
        if retention is not None or hold is not None:
            raise S3Error('InvalidRequest', lock_rules.NOT_LOCKED)
        return {} if with_body else {RETENTION_SYSMETA: '',
                                     LEGAL_HOLD_SYSMETA: ''}
    retention = retention or lock_rules.default_retention(config, now)
    if (retention is not None or hold == 'ON') and with_body and \
            not _has_digest(headers):
        raise S3Error('InvalidRequest', NO_DIGEST)
    return {RETENTION_SYSMETA: format_retention(retention) if retention
            else '', LEGAL_HOLD_SYSMETA: hold or ''}


def _known_unlocked_bucket(ctx):
    """Whether the write's bucket is known, without a request to storage,
    to exist with no lock: its (cached) info under the account this access
    key was verified for before. Then the write goes on with no lock
    headers and its own subrequest checks the signature, as it would
    after a check here: an unverified caller learns nothing this way.
    Anything else (an access key not seen yet, no such bucket, a lock)
    takes the checked path, _write_target_configuration. Spares every
    write to an unlocked bucket a HEAD to the container servers."""
    account = ctx.known_account()
    if account is None:
        return False
    info = bucket_config.bucket_info(ctx.environ, ctx.app, account,
                                     ctx.s3req.bucket)
    return is_success(info['status']) and lock_rules.stored_configuration(
        (info.get('sysmeta') or {}).get(BUCKET_LOCK_INFO_KEY)) is None


def _write_target_configuration(ctx):
    """The lock configuration of the bucket a write goes to, or None.
    Read from the bucket's info (common.info: cached, and not subject to
    the signer's read ACL, as a writer may not read); a HEAD as the
    signer first verifies the signature when nothing did yet."""
    bucket = ctx.s3req.bucket
    if ctx.account is None:
        try:
            ctx.call('HEAD', bucket)
        except S3Error:
            if ctx.account is None:
                raise
    info = bucket_config.bucket_info(ctx.environ, ctx.app, ctx.account,
                                     bucket)
    if info['status'] == 404:
        raise S3Error('NoSuchBucket', BucketName=bucket)
    return lock_rules.stored_configuration(
        (info.get('sysmeta') or {}).get(BUCKET_LOCK_INFO_KEY))


def response_headers(swift_headers):
    """The ``x-amz-object-lock-*`` headers of a version's stored lock."""
    retention, hold = stored_lock(swift_headers)
    headers = {}
    if retention is not None:
        headers[lock_rules.MODE_HEADER] = retention.mode
        headers[lock_rules.UNTIL_HEADER] = format_date(retention.until)
    stored_hold = {name.lower(): value for name, value in
                   swift_headers.items()}.get(LEGAL_HOLD_SYSMETA.lower())
    if stored_hold:
        headers[lock_rules.HOLD_HEADER] = 'ON' if hold else 'OFF'
    return headers


def delete_headers(ctx):
    """The headers a version DELETE carries: the bypass, when allowed."""
    return {BYPASS_GOVERNANCE_HEADER: 'true'} \
        if may_bypass_governance(ctx) else {}


# ------------------------------------------- bucket lock configuration


def get_object_lock_configuration(ctx):
    config = bucket_configuration(_bucket_head(ctx))
    if config is None:
        raise S3Error('ObjectLockConfigurationNotFoundError',
                      BucketName=ctx.s3req.bucket)
    return ctx.xml(lock_rules.lock_configuration_xml(config))


def put_object_lock_configuration(ctx):
    head = _bucket_head(ctx)
    config = lock_rules.parse_lock_configuration(_read_document(ctx))
    versioned = is_true(head.headers.get(CLIENT_ENABLED))
    if bucket_configuration(head) is None and not versioned:
        raise S3Error('InvalidBucketState', NOT_VERSIONED,
                      BucketName=ctx.s3req.bucket)
    resp = ctx.call('POST', ctx.s3req.bucket, headers={
        BUCKET_LOCK_SYSMETA: json.dumps(config, separators=(',', ':'))})
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable' if resp.status_int >= 500
                      else 'InternalError')
    return Response(status=200, content_length=0)


# ------------------------------------------------ a version's lock facts


def _version_head(ctx):
    """The HEAD answer of the version a request addresses (``versionId``,
    else the current one)."""
    s3req = ctx.s3req
    version = version_param(s3req.params)
    query = 'version-id=' + quote(version, safe='') if version else None
    resp = ctx.call('HEAD', s3req.bucket, s3req.key, query=query)
    if resp.status_int == 400 and version:
        raise S3Error('InvalidArgument', 'Invalid version id specified',
                      ArgumentName='versionId', ArgumentValue=version)
    if resp.status_int == 404:
        if version:
            raise S3Error('NoSuchVersion', Key=s3req.key, VersionId=version)
        raise S3Error('NoSuchKey', Key=s3req.key)
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable' if resp.status_int >= 500
                      else 'InternalError')
    return resp


def get_object_retention(ctx):
    _require_lock(ctx)
    retention, _hold = stored_lock(_version_head(ctx).headers)
    if retention is None:
        raise S3Error('NoSuchObjectLockConfiguration')
    return ctx.xml(lock_rules.retention_document(retention))


def get_object_legal_hold(ctx):
    _require_lock(ctx)
    headers = response_headers(_version_head(ctx).headers)
    if lock_rules.HOLD_HEADER not in headers:
        raise S3Error('NoSuchObjectLockConfiguration')
    return ctx.xml(lock_rules.legal_hold_document(
        headers[lock_rules.HOLD_HEADER]))


def put_object_retention(ctx):
    _require_lock(ctx)
    new = lock_rules.parse_retention_document(_read_document(ctx),
                                              time.time())
    version = _version_head(ctx)
    old, _hold = stored_lock(version.headers)
    if not lock_rules.change_allowed(old, new, time.time(),
                                     may_bypass_governance(ctx)):
        raise S3Error('AccessDenied')
    _store_on_version(ctx, version, {
        RETENTION_SYSMETA: format_retention(new) if new else ''})
    return Response(status=200, content_length=0)


def put_object_legal_hold(ctx):
    _require_lock(ctx)
    status = lock_rules.parse_legal_hold_document(_read_document(ctx))
    _store_on_version(ctx, _version_head(ctx), {LEGAL_HOLD_SYSMETA: status})
    return Response(status=200, content_length=0)


def _store_on_version(ctx, version, sysmeta):
    """Store ``sysmeta`` on the version ``version`` answered for, through
    object_versioning (module doc)."""
    version_id = version.headers.get(VERSION_ID)
    if version_id in (None, 'null'):
        raise S3Error('InvalidRequest', 'Object Lock settings can only be '
                      'changed on a version of a versioned object')
    resp = ctx.call('POST', ctx.s3req.bucket, ctx.s3req.key,
                    query='version-id=' + quote(version_id, safe=''),
                    environ={SYSMETA_UPDATE_KEY: sysmeta})
    if resp.status_int == 404:
        raise S3Error('NoSuchVersion', Key=ctx.s3req.key,
                      VersionId=version_id)
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable' if resp.status_int >= 500
                      else 'InternalError')
