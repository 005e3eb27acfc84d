"""AWS Signature Version 4, as S3 checks it: the canonical request, the
string to sign, the signing key and the checks of the signed facts
(credential scope, request time, presigned expiry).

Owns the maths only: values in, strings and S3Errors out; the middleware
supplies the request's parts and ``now``. Worked example (AWS's own
GetObject sample, secret ``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY``):
the signing key for 20130524/us-east-1/s3 signs the string to sign of
``GET /test.txt`` with ``Range: bytes=0-9`` into ``f0e8bdb8...``
(tests/unit/middleware/s3api/test_sigv4.py checks it in full).
"""

import calendar
import dataclasses
import datetime
import functools
import hashlib
import hmac
import re
import time
from urllib.parse import quote

from objstore.middleware.s3api.errors import S3Error

ALGORITHM = 'AWS4-HMAC-SHA256'
UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD'
STREAMING_PREFIX = 'STREAMING-'
MAX_SKEW = 15 * 60
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600
AMZ_DATE_FORMAT = '%Y%m%dT%H%M%SZ'
AMZ_DATE = re.compile(
    r'([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z')
SHA256_HEX = re.compile(r'^[0-9a-f]{64}$')
PRESIGN_PARAMS = ('X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature',
                  'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires')


@dataclasses.dataclass(frozen=True)
class Scope:
    """The credential of a V4 signature: who signed, for which day,
    region and service."""
    access_key: str
    date: str
    region: str
    service: str

    @property
    def text(self):
        return '%s/%s/%s/aws4_request' % (self.date, self.region,
                                          self.service)


@dataclasses.dataclass(frozen=True)
class V4Auth:
    """The signature facts of a V4 request (header or presigned)."""
    scope: Scope
    signed_headers: tuple
    signature: str
    amz_date: str
    expires: int = None     # presigned only


def parse_credential(value):
    """Scope from ``AKID/20130524/us-east-1/s3/aws4_request``; the access
    key may itself hold '/'.

    >>> parse_credential('test:tester/20240101/us-east-1/s3/aws4_request')
    Scope(access_key='test:tester', date='20240101', region='us-east-1', \
service='s3')
    """
    parts = value.rsplit('/', 4)
    if len(parts) != 5 or parts[4] != 'aws4_request' or not parts[0]:
        raise ValueError('bad credential')
    return Scope(*parts[:4])


def parse_authorization(value, amz_date):
    """V4Auth of an ``Authorization: AWS4-HMAC-SHA256 ...`` header.

    >>> parse_authorization('AWS4-HMAC-SHA256 Credential=k/20240101/r/s3/'
    ...     'aws4_request, SignedHeaders=host;x-amz-date, Signature=ab',
    ...     '20240101T000000Z').signed_headers
    ('host', 'x-amz-date')
    """
    fields = {}
    for part in value[len(ALGORITHM):].split(','):
        name, sep, field = part.strip().partition('=')
        if sep:
            fields[name] = field
    try:
        scope = parse_credential(fields['Credential'])
        signed = tuple(fields['SignedHeaders'].split(';'))
        signature = fields['Signature']
    except (KeyError, ValueError):
        raise S3Error('AuthorizationHeaderMalformed') from None
    return V4Auth(scope, signed, signature, amz_date)


def parse_presigned(params):
    """V4Auth of a presigned URL's query parameters (a dict)."""
    if any(name not in params for name in PRESIGN_PARAMS) or \
            params['X-Amz-Algorithm'] != ALGORITHM:
        raise S3Error('AuthorizationQueryParametersError')
    try:
        scope = parse_credential(params['X-Amz-Credential'])
        expires = int(params['X-Amz-Expires'])
    except ValueError:
        raise S3Error('AuthorizationQueryParametersError') from None
    if expires < 0:
        raise S3Error('AuthorizationQueryParametersError',
                      'X-Amz-Expires must be non-negative')
    if expires > MAX_PRESIGN_EXPIRES:
        raise S3Error('AuthorizationQueryParametersError',
                      'X-Amz-Expires must be less than a week (in seconds) '
                      'that is 604800')
    return V4Auth(scope, tuple(params['X-Amz-SignedHeaders'].split(';')),
                  params['X-Amz-Signature'], params['X-Amz-Date'], expires)


def parse_amz_date(value):
    """Epoch seconds of ``20130524T000000Z``; ValueError when not one.

    >>> parse_amz_date('20130524T000000Z')
    1369353600

    A match and datetime's range checks, not ``time.strptime``, which
    costs a fifth of a signature check.
    """
    found = AMZ_DATE.fullmatch(value)
    if found is None:
        raise ValueError('not an ISO 8601 basic date: %r' % value)
    return calendar.timegm(datetime.datetime(
        *map(int, found.groups())).timetuple())


def check_scope(auth, region, now):
    """Raise the S3Error a V4 request's facts earn, else return None:
    region and service of the scope, its day against the request time,
    the 15-minute skew (header) or the expiry (presigned)."""
    try:
        request_time = parse_amz_date(auth.amz_date)
    except ValueError:
        if auth.expires is not None:
            raise S3Error('AuthorizationQueryParametersError',
                          'X-Amz-Date must be in the ISO8601 Long Format '
                          '"yyyyMMdd\'T\'HHmmss\'Z\'"') from None
        raise S3Error('AccessDenied', 'AWS authentication requires a valid '
                      'Date or x-amz-date header') from None
    if auth.scope.region != region:
        raise S3Error('AuthorizationHeaderMalformed',
                      "The authorization header is malformed; the region "
                      "'%s' is wrong; expecting '%s'" % (auth.scope.region,
                                                         region),
                      Region=region)
    if auth.scope.service != 's3' or \
            auth.scope.date != auth.amz_date[:8]:
        raise S3Error('AuthorizationHeaderMalformed')
    if auth.expires is None:
        if abs(now - request_time) > MAX_SKEW:
            raise S3Error(
                'RequestTimeTooSkewed', RequestTime=auth.amz_date,
                ServerTime=time.strftime(AMZ_DATE_FORMAT, time.gmtime(now)),
                MaxAllowedSkewMilliseconds=MAX_SKEW * 1000)
        return
    if request_time - MAX_SKEW > now:
        raise S3Error('AccessDenied', 'Request is not valid yet')
    if now > request_time + auth.expires:
        raise S3Error('AccessDenied', 'Request has expired', Expires=(
            time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(
                request_time + auth.expires))))


def check_payload_hash(value):
    """The x-amz-content-sha256 of a V4 header-signed request, checked."""
    if value is None:
        raise S3Error('InvalidRequest', 'Missing required header for this '
                      'request: x-amz-content-sha256')
    if value == UNSIGNED_PAYLOAD or value.startswith(STREAMING_PREFIX) or \
            SHA256_HEX.match(value):
        return value
    raise S3Error('InvalidArgument', 'x-amz-content-sha256 must be '
                  'UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, '
                  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD, '
                  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid '
                  'sha256 value.', ArgumentName='x-amz-content-sha256',
                  ArgumentValue=value)


def uri_encode(text, safe='-_.~'):
    """AWS's UriEncode: every byte but unreserved ones, as %XX upper-case.

    >>> uri_encode('a b/c~'), uri_encode('a b/c', safe='-_.~/')
    ('a%20b%2Fc~', 'a%20b/c')
    """
    return quote(text, safe=safe)


def canonical_query(pairs, skip=('X-Amz-Signature',)):
    """The canonical query string of decoded (name, value) pairs.

    >>> canonical_query([('b', '2'), ('a', 'x y'), ('list-type', '')])
    'a=x%20y&b=2&list-type='
    """
    encoded = sorted((uri_encode(name), uri_encode(value))
                     for name, value in pairs if name not in skip)
    return '&'.join('%s=%s' % pair for pair in encoded)


def _canonical_header_value(value):
    return ' '.join(value.split())


def canonical_request(method, path, pairs, headers, signed_headers,
                      payload_hash):
    """The canonical request: ``path`` is the decoded object path,
    ``headers`` a {lower-case name: value} dict.

    >>> print(canonical_request('GET', '/b/k y', [], {'host': 'h'},
    ...                         ('host',), 'UNSIGNED-PAYLOAD'))
    GET
    /b/k%20y
    <BLANKLINE>
    host:h
    <BLANKLINE>
    host
    UNSIGNED-PAYLOAD
    """
    header_lines = ''.join('%s:%s\n' % (name, _canonical_header_value(
        headers.get(name, ''))) for name in signed_headers)
    return '\n'.join([method, uri_encode(path, safe='-_.~/'),
                      canonical_query(pairs), header_lines,
                      ';'.join(signed_headers), payload_hash])


def string_to_sign(amz_date, scope, canonical):
    return '\n'.join([ALGORITHM, amz_date, scope.text, hashlib.sha256(
        canonical.encode('utf-8')).hexdigest()])


def _hmac(key, text):
    return hmac.new(key, text.encode('utf-8'), hashlib.sha256).digest()


# The key of one access key, day, region and service: every request of
# that day signs with it, so it is derived once (four HMACs) and kept.
@functools.lru_cache(maxsize=1024)
def signing_key(secret, scope):
    key = _hmac(('AWS4' + secret).encode('utf-8'), scope.date)
    for part in (scope.region, scope.service, 'aws4_request'):
        key = _hmac(key, part)
    return key


def signature(secret, scope, text):
    """The hex signature of ``text`` with the key of ``secret``/``scope``."""
    return hmac.new(signing_key(secret, scope), text.encode('utf-8'),
                    hashlib.sha256).hexdigest()
