"""Which signature an S3 request carries and how to check it.

Owns ``read_signature(s3req, region, now)``: it parses the V2 or V4
header or presigned query, checks what can be checked without the
secret (format, clock skew, expiry, region) and returns a ``Signature``
whose ``check(secret)`` says whether the request was signed with that
secret, and, when not, the details AWS puts in a SignatureDoesNotMatch
body (the string to sign, the canonical request). The secret itself is
looked up by the auth middleware further down (common.access).

Pure: no I/O, ``now`` passed in.
"""

import dataclasses
import hmac

from objstore.middleware.s3api import sigv2, sigv4
from objstore.middleware.s3api.errors import S3Error


@dataclasses.dataclass
class Signature:
    """A request's signature, to be checked against a user's secret.

    ``payload_hash``: the signed x-amz-content-sha256 of a V4 header
    signature (hex, UNSIGNED-PAYLOAD or STREAMING-*), else None.
    """
    access_key: str
    provided: str
    string_to_sign: object       # callable(secret) -> str, or str
    compute: object              # callable(secret) -> expected signature
    canonical_request: str = None
    payload_hash: str = None
    # Other signatures that are as good (V2's bucket path with or without
    # its trailing slash): callables(secret) -> expected signature.
    alternates: tuple = ()
    # A V4 header signature's scope (sigv4.Scope) and x-amz-date: what the
    # chunks of an aws-chunked body are signed with.
    scope: object = None
    amz_date: str = None

    def check(self, secret):
        """None when the request was signed with ``secret``, else the
        SignatureDoesNotMatch S3Error."""
        for compute in (self.compute,) + self.alternates:
            if hmac.compare_digest(compute(secret).encode('utf-8'),
                                   self.provided.encode('utf-8')):
                return None
        details = {'AWSAccessKeyId': self.access_key,
                   'StringToSign': self.string_to_sign,
                   'SignatureProvided': self.provided,
                   'StringToSignBytes': ' '.join(
                       '%02x' % b for b in self.string_to_sign.encode())}
        if self.canonical_request is not None:
            details['CanonicalRequest'] = self.canonical_request
            details['CanonicalRequestBytes'] = ' '.join(
                '%02x' % b for b in self.canonical_request.encode())
        return S3Error('SignatureDoesNotMatch', **details)


def _v4(s3req, auth, payload_hash):
    canonical = sigv4.canonical_request(
        s3req.method, s3req.path, s3req.pairs, s3req.headers,
        auth.signed_headers, payload_hash)
    text = sigv4.string_to_sign(auth.amz_date, auth.scope, canonical)
    return Signature(
        access_key=auth.scope.access_key, provided=auth.signature,
        string_to_sign=text,
        compute=lambda secret: sigv4.signature(secret, auth.scope, text),
        canonical_request=canonical,
        payload_hash=payload_hash if auth.expires is None else None,
        scope=auth.scope if auth.expires is None else None,
        amz_date=auth.amz_date)


def _v4_header(s3req, region, now):
    headers = s3req.headers
    amz_date = headers.get('x-amz-date') or ''
    auth = sigv4.parse_authorization(headers['authorization'], amz_date)
    if 'host' not in auth.signed_headers:
        raise S3Error('AccessDenied', 'Host must be signed')
    sigv4.check_scope(auth, region, now)
    payload_hash = sigv4.check_payload_hash(
        headers.get('x-amz-content-sha256'))
    return _v4(s3req, auth, payload_hash)


def _v4_presigned(s3req, region, now):
    auth = sigv4.parse_presigned(s3req.params)
    sigv4.check_scope(auth, region, now)
    payload_hash = s3req.headers.get('x-amz-content-sha256',
                                     sigv4.UNSIGNED_PAYLOAD)
    return _v4(s3req, auth, payload_hash)


def _v2_text(s3req, path, date_value):
    return sigv2.string_to_sign(
        s3req.method, s3req.headers,
        sigv2.canonical_resource(path, s3req.pairs), date_value)


def _v2(s3req, access_key, provided, date_value):
    text = _v2_text(s3req, s3req.raw_path, date_value)
    alternates = ()
    if s3req.bucket is not None and s3req.key is None:
        # Clients differ on whether a bucket's resource is /b or /b/.
        other = s3req.raw_path.rstrip('/') if s3req.raw_path.endswith('/') \
            else s3req.raw_path + '/'
        other_text = _v2_text(s3req, other, date_value)
        alternates = (lambda secret: sigv2.signature(secret, other_text),)
    return Signature(access_key=access_key, provided=provided,
                     string_to_sign=text,
                     compute=lambda secret: sigv2.signature(secret, text),
                     alternates=alternates)


def _v2_header(s3req, now):
    access_key, provided = sigv2.parse_authorization(
        s3req.headers['authorization'])
    sigv2.check_header_time(s3req.headers, now)
    date_value = '' if 'x-amz-date' in s3req.headers else \
        s3req.headers.get('date', '')
    return _v2(s3req, access_key, provided, date_value)


def _v2_presigned(s3req, now):
    params = s3req.params
    sigv2.check_expires(params.get('Expires'), now)
    return _v2(s3req, params['AWSAccessKeyId'], params['Signature'],
               params['Expires'])


def signature_kind(s3req):
    """'v4', 'v4-query', 'v2', 'v2-query' or None (not an S3 request)."""
    authorization = s3req.headers.get('authorization', '')
    if authorization.startswith(sigv4.ALGORITHM + ' '):
        return 'v4'
    if authorization == 'AWS' or authorization.startswith('AWS '):
        return 'v2'
    params = s3req.params
    if 'X-Amz-Credential' in params or 'X-Amz-Algorithm' in params:
        return 'v4-query'
    if 'AWSAccessKeyId' in params and 'Signature' in params:
        return 'v2-query'
    return None


def read_signature(s3req, region, now):
    """The Signature of an S3 request (its kind from ``signature_kind``);
    S3Error for what is wrong before any secret is needed."""
    kind = signature_kind(s3req)
    if kind == 'v4':
        return _v4_header(s3req, region, now)
    if kind == 'v4-query':
        return _v4_presigned(s3req, region, now)
    if kind == 'v2':
        return _v2_header(s3req, now)
    return _v2_presigned(s3req, now)
