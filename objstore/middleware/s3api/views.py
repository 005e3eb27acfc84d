"""How Swift's facts look in S3: times, ETags, owners, bucket names.

Pure helpers shared by the service, bucket and object handlers.
"""

import email.utils
import ipaddress
import re
from datetime import timezone

BUCKET_NAME = re.compile(r'^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$')
# The creation date of a bucket whose listing carries none (Swift's).
UNKNOWN_DATE = '2009-02-03T16:45:09.000Z'
SEGMENTS_SUFFIX = '+segments'
# A completed multipart upload's S3 ETag (``<md5 of part md5s>-N``): in
# the manifest's sysmeta, and as ``s3_etag`` in its listing entry's hash.
S3_ETAG_SYSMETA = 'X-Object-Sysmeta-S3api-Etag'


def s3_time(swift_last_modified):
    """S3's listing time of Swift's ``last_modified``.

    >>> s3_time('2024-05-01T12:00:00.123450')
    '2024-05-01T12:00:00.123Z'
    >>> s3_time('2024-05-01T12:00:00')
    '2024-05-01T12:00:00.000Z'
    """
    if not swift_last_modified:
        return UNKNOWN_DATE
    seconds, _, fraction = swift_last_modified.partition('.')
    return '%s.%sZ' % (seconds, (fraction + '000')[:3])


def http_date_to_s3(value):
    """S3's XML time of an HTTP date (``Last-Modified``).

    >>> http_date_to_s3('Wed, 01 May 2024 12:00:00 GMT')
    '2024-05-01T12:00:00.000Z'
    """
    when = email.utils.parsedate_to_datetime(value)
    return when.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.000Z')


def quoted_etag(etag):
    """ETag as S3 sends it, in double quotes.

    >>> quoted_etag('abc'), quoted_etag('"abc"')
    ('"abc"', '"abc"')
    """
    etag = etag or ''
    return etag if etag.startswith('"') else '"%s"' % etag


def object_etag(swift_headers):
    """The S3 ETag of a Swift object answer's headers (quoted)."""
    return quoted_etag(swift_headers.get(S3_ETAG_SYSMETA) or
                       swift_headers.get('ETag'))


def listing_etag(entry):
    """The S3 ETag of a container listing entry (quoted): a multipart
    object's ``s3_etag``, an SLO's ``slo_etag``, else its hash.

    >>> listing_etag({'hash': 'abc; s3_etag=def-2', 'slo_etag': '"x"'})
    '"def-2"'
    >>> listing_etag({'hash': 'abc', 'slo_etag': '"x"'})
    '"x"'
    """
    base, _, params = (entry.get('hash') or '').partition(';')
    for param in params.split(';'):
        name, _, value = param.strip().partition('=')
        if name == 's3_etag':
            return quoted_etag(value)
    if entry.get('slo_etag'):
        return quoted_etag(entry['slo_etag'])
    return quoted_etag(base.strip())


def owner(user):
    """The Owner element's children: S3 ids are our user ids."""
    return [('ID', user), ('DisplayName', user)]


def valid_bucket_name(name):
    """S3's DNS-compatible bucket names.

    >>> [valid_bucket_name(n) for n in ('my-b.1', 'My', 'a..b', '1.2.3.4',
    ...                                 'ab', 'a-.b')]
    [True, False, False, False, False, False]
    """
    if not BUCKET_NAME.match(name) or '..' in name or '.-' in name or \
            '-.' in name:
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return True
    return False
