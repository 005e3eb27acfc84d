"""AWS Signature Version 2 (header ``Authorization: AWS key:sig`` and the
``AWSAccessKeyId``/``Signature``/``Expires`` query), as S3 checks it.

Owns the string to sign and the HMAC-SHA1; the middleware supplies the
request's parts and ``now``. Worked example: ``GET`` of ``/b/k`` dated
``Tue, 27 Mar 2007 19:36:42 +0000`` signs ``GET\\n\\n\\nTue, 27 Mar 2007
19:36:42 +0000\\n/b/k``.
"""

import base64
import email.utils
import hashlib
import hmac

from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.sigv4 import MAX_SKEW

# Query parameters that are part of the resource V2 signs.
SUB_RESOURCES = frozenset((
    'acl', 'cors', 'delete', 'lifecycle', 'location', 'logging',
    'notification', 'partNumber', 'policy', 'requestPayment', 'tagging',
    'torrent', 'uploadId', 'uploads', 'versionId', 'versioning', 'versions',
    'website', 'response-cache-control', 'response-content-disposition',
    'response-content-encoding', 'response-content-language',
    'response-content-type', 'response-expires'))


def parse_authorization(value):
    """(access key, signature) of ``AWS key:signature``; the key may hold
    ':' (``test:tester``), the signature never does.

    >>> parse_authorization('AWS test:tester:c2ln')
    ('test:tester', 'c2ln')
    """
    key, sep, sig = value[len('AWS '):].rpartition(':')
    if not sep or not key or not sig:
        raise S3Error('AccessDenied', 'AWS authorization header is invalid.'
                      '  Expected AwsAccessKeyId:signature')
    return key, sig


def canonical_resource(raw_path, pairs):
    """The path as sent plus the sub-resources, sorted.

    >>> canonical_resource('/b/k', [('uploadId', '1'), ('acl', ''), ('x', '')])
    '/b/k?acl&uploadId=1'
    """
    subs = sorted((name, value) for name, value in pairs
                  if name in SUB_RESOURCES)
    if not subs:
        return raw_path
    return raw_path + '?' + '&'.join(
        name if value == '' else '%s=%s' % (name, value)
        for name, value in subs)


def canonical_amz_headers(headers):
    """``x-amz-*`` headers ({lower-case name: value}) as V2 signs them."""
    return ''.join('%s:%s\n' % (name, headers[name].strip())
                   for name in sorted(headers) if name.startswith('x-amz-'))


def string_to_sign(method, headers, resource, date_value):
    """``date_value``: the Date header (empty when x-amz-date is sent) or a
    presigned URL's Expires."""
    return '%s\n%s\n%s\n%s\n%s%s' % (
        method, headers.get('content-md5', ''),
        headers.get('content-type', ''), date_value,
        canonical_amz_headers(headers), resource)


def signature(secret, text):
    return base64.b64encode(hmac.new(
        secret.encode('utf-8'), text.encode('utf-8'),
        hashlib.sha1).digest()).decode('ascii')


def check_header_time(headers, now):
    """Raise for a missing, bad or skewed Date/x-amz-date."""
    value = headers.get('x-amz-date') or headers.get('date')
    if not value:
        raise S3Error('AccessDenied', 'AWS authentication requires a valid '
                      'Date or x-amz-date header')
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        raise S3Error('AccessDenied', 'AWS authentication requires a valid '
                      'Date or x-amz-date header') from None
    if abs(now - when) > MAX_SKEW:
        raise S3Error('RequestTimeTooSkewed', RequestTime=value,
                      MaxAllowedSkewMilliseconds=MAX_SKEW * 1000)


def check_expires(expires, now):
    """Raise for a bad or passed presigned V2 ``Expires``."""
    try:
        when = int(expires)
    except (TypeError, ValueError):
        raise S3Error('AccessDenied', 'Invalid date (should be seconds since '
                      'epoch): %s' % expires) from None
    if when < now:
        raise S3Error('AccessDenied', 'Request has expired')
