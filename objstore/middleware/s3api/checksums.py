"""checksums: the S3 "additional checksums" and Content-MD5 of an upload.

Owns the five algorithms S3 accepts (CRC32, CRC32C, CRC64NVME, SHA1,
SHA256) behind one streaming interface (``update()``, ``digest()``,
``digest_b64()``), reading a request's checksum headers into what it asks
for, checking a body against them while it streams (``VerifyingReader``),
and the multipart sums (composite ``<b64>-N`` and full-object CRCs).

The CRCs come from maintained native code: zlib for CRC32, awscrt (the
library botocore itself uses for CRC32C/CRC64NVME) for the others and for
combining CRCs of consecutive parts. SHA-1/SHA-256 are hashlib's.

It answers in S3 terms only: every refusal is an ``S3InputError`` carrying
the S3 error code, AWS's message and the extra XML fields. It must not
build responses or know the code -> HTTP status table (that is
``s3api/errors.py``); the middleware maps the error it catches.
"""

import base64
import binascii
import hashlib
import hmac
import importlib
import re
import zlib
from dataclasses import dataclass

# S3 checksum algorithm names, as in x-amz-sdk-checksum-algorithm.
CRC32 = 'CRC32'
CRC32C = 'CRC32C'
CRC64NVME = 'CRC64NVME'
SHA1 = 'SHA1'
SHA256 = 'SHA256'

# x-amz-checksum-type values (CreateMultipartUpload).
COMPOSITE = 'COMPOSITE'
FULL_OBJECT = 'FULL_OBJECT'

CHECKSUM_HEADER_PREFIX = 'x-amz-checksum-'
# Headers under the prefix that name no algorithm's value.
CHECKSUM_CONTROL_HEADERS = ('x-amz-checksum-algorithm', 'x-amz-checksum-type',
                            'x-amz-checksum-mode')

# Base64 as S3 accepts it: the standard alphabet, padded.
BASE64_SHAPE = re.compile(r'^[A-Za-z0-9+/]*={0,2}$')


class S3InputError(ValueError):
    """A request S3 refuses for its checksums or body framing.

    ``code`` is the S3 error code, ``message`` AWS's text for it and
    ``details`` the extra elements of the XML error body (name -> value, in
    order). A ValueError so that the proxy, reading a body through one of
    these readers, treats it as a failed client read and commits nothing.
    """

    def __init__(self, code, message, **details):
        super().__init__('%s: %s' % (code, message))
        self.code = code
        self.message = message
        self.details = details


def invalid_request(message):
    return S3InputError('InvalidRequest', message)


class CrcChecksum:
    """A CRC updated a block at a time; the digest is big-endian, as S3
    sends it."""

    def __init__(self, algorithm, function, size):
        self.algorithm = algorithm
        self.digest_size = size
        self._function = function
        self._crc = 0

    def update(self, data):
        self._crc = self._function(data, self._crc)

    def digest(self):
        return self._crc.to_bytes(self.digest_size, 'big')

    def digest_b64(self):
        return b64(self.digest())


class HashChecksum:
    """A hashlib digest behind the same interface as ``CrcChecksum``."""

    def __init__(self, algorithm, factory):
        self.algorithm = algorithm
        self._hash = factory()
        self.digest_size = self._hash.digest_size

    def update(self, data):
        self._hash.update(data)

    def digest(self):
        return self._hash.digest()

    def digest_b64(self):
        return b64(self.digest())


def crt(name):
    """awscrt's checksum function ``name``, imported on first use: the
    native library is ~5 MiB of RSS in every process that loads s3api
    (the proxy, the s3-lifecycle daemon), and most requests never need
    it (CRC32 is zlib's)."""
    return getattr(importlib.import_module('awscrt.checksums'), name)


def crt_combiner(name):
    return lambda crc, part, length: crt(name)(crc, part, length)


# algorithm -> (factory of a fresh checksum, CRC combiner or None)
ALGORITHMS = {
    CRC32: (lambda: CrcChecksum(CRC32, zlib.crc32, 4),
            crt_combiner('combine_crc32')),
    CRC32C: (lambda: CrcChecksum(CRC32C, crt('crc32c'), 4),
             crt_combiner('combine_crc32c')),
    CRC64NVME: (lambda: CrcChecksum(CRC64NVME, crt('crc64nvme'), 8),
                crt_combiner('combine_crc64nvme')),
    SHA1: (lambda: HashChecksum(SHA1, hashlib.sha1), None),
    SHA256: (lambda: HashChecksum(SHA256, hashlib.sha256), None),
}


def b64(raw):
    return base64.b64encode(raw).decode('ascii')


def new_checksum(algorithm):
    """A fresh checksum of ``algorithm`` (a name of ALGORITHMS).

    >>> c = new_checksum('CRC32'); c.update(b'abc'); c.digest_b64()
    'NSRBwg=='
    """
    return ALGORITHMS[algorithm][0]()


def header_name(algorithm):
    """'CRC32' -> 'x-amz-checksum-crc32'"""
    return CHECKSUM_HEADER_PREFIX + algorithm.lower()


def algorithm_of_header(name):
    """'x-amz-checksum-crc32' -> 'CRC32'; None when no algorithm's."""
    name = name.lower()
    if not name.startswith(CHECKSUM_HEADER_PREFIX):
        return None
    algorithm = name[len(CHECKSUM_HEADER_PREFIX):].upper()
    return algorithm if algorithm in ALGORITHMS else None


def decode_checksum(algorithm, value):
    """The raw digest of a base64 ``value`` of ``algorithm``; ValueError
    unless it is exactly one digest, canonically encoded.

    >>> decode_checksum('CRC32', 'NSRBwg==')
    b'5$A\\xc2'
    """
    size = new_checksum(algorithm).digest_size
    if not isinstance(value, str) or not BASE64_SHAPE.match(value):
        raise ValueError('not base64')
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError('not base64')
    if len(raw) != size or b64(raw) != value:
        raise ValueError('not one %s digest' % algorithm)
    return raw


@dataclass(frozen=True)
class ChecksumRequest:
    """The checksum a PUT or UploadPart asks S3 to check.

    ``algorithm`` is None when none; ``value`` is the base64 digest when a
    header carries it, ``trailer`` the trailer's name when it comes after
    an aws-chunked body (exactly one of the two is set with an algorithm).
    """
    algorithm: str = None
    value: str = None
    trailer: str = None

    def expected(self, trailers=None):
        """The base64 value to compare with, from the header or from the
        trailers read after the body (None when that trailer is missing)."""
        if self.trailer is None:
            return self.value
        return (trailers or {}).get(self.trailer)


def _lowered(headers):
    return {name.lower(): value for name, value in headers.items()}


def _value_headers(headers):
    """The x-amz-checksum-<alg> headers sent; InvalidRequest for an
    unknown algorithm or more than one, with AWS's messages."""
    sent = {name: value for name, value in headers.items()
            if name.startswith(CHECKSUM_HEADER_PREFIX)
            and name not in CHECKSUM_CONTROL_HEADERS}
    if any(algorithm_of_header(name) is None for name in sent):
        raise invalid_request('The algorithm type you specified in '
                              'x-amz-checksum- header is invalid.')
    if len(sent) > 1:
        raise invalid_request('Expecting a single x-amz-checksum- header. '
                              'Multiple checksum Types are not allowed.')
    return sent


def _declared_trailers(headers):
    """The checksum trailers x-amz-trailer declares."""
    value = headers.get('x-amz-trailer', '').strip()
    names = [name.strip().lower() for name in value.rstrip(',').split(',')
             ] if value else []
    if any(algorithm_of_header(name) is None for name in names):
        raise invalid_request('The value specified in the x-amz-trailer '
                              'header is not supported')
    if len(names) > 1:
        raise invalid_request('Expecting a single x-amz-checksum- header')
    return names


def parse_checksum_headers(headers):
    """The ``ChecksumRequest`` of a request's headers (a mapping); raises
    ``S3InputError`` InvalidRequest as AWS does for a bad combination or
    a value that is not one digest of its algorithm.

    >>> parse_checksum_headers({'x-amz-checksum-crc32': 'NSRBwg=='})
    ChecksumRequest(algorithm='CRC32', value='NSRBwg==', trailer=None)
    >>> request = parse_checksum_headers(
    ...     {'X-Amz-Trailer': 'x-amz-checksum-crc32c'})
    >>> request.algorithm, request.value, request.trailer
    ('CRC32C', None, 'x-amz-checksum-crc32c')
    """
    headers = _lowered(headers)
    sent = _value_headers(headers)
    trailers = _declared_trailers(headers)
    if sent and trailers:
        raise invalid_request('Expecting a single x-amz-checksum- header')
    if sent:
        name, value = next(iter(sent.items()))
        request = ChecksumRequest(algorithm_of_header(name), value=value)
        try:
            decode_checksum(request.algorithm, value)
        except ValueError:
            raise invalid_request('Value for %s header is invalid.' % name)
    elif trailers:
        request = ChecksumRequest(algorithm_of_header(trailers[0]),
                                  trailer=trailers[0])
    else:
        request = ChecksumRequest()
    _check_sdk_algorithm(headers.get('x-amz-sdk-checksum-algorithm'),
                         request.algorithm)
    return request


def _check_sdk_algorithm(sdk_algorithm, algorithm):
    if not sdk_algorithm:
        return
    if algorithm is None:
        raise invalid_request(
            'x-amz-sdk-checksum-algorithm specified, but no corresponding '
            'x-amz-checksum-* or x-amz-trailer headers were found.')
    if sdk_algorithm.upper() != algorithm:
        raise invalid_request('Value for x-amz-sdk-checksum-algorithm '
                              'header is invalid.')


@dataclass(frozen=True)
class UploadChecksum:
    """What CreateMultipartUpload asks for: the parts' algorithm and how
    the object's checksum is made of theirs (COMPOSITE or FULL_OBJECT)."""
    algorithm: str = None
    type: str = None


# The type S3 gives an algorithm when the request names none.
DEFAULT_TYPE = {CRC32: COMPOSITE, CRC32C: COMPOSITE, SHA1: COMPOSITE,
                SHA256: COMPOSITE, CRC64NVME: FULL_OBJECT}
# The types each algorithm allows: a hash of the whole object cannot be
# made from the parts' hashes, and S3 keeps CRC64NVME full-object only.
ALLOWED_TYPES = {CRC32: (COMPOSITE, FULL_OBJECT),
                 CRC32C: (COMPOSITE, FULL_OBJECT),
                 CRC64NVME: (FULL_OBJECT,),
                 SHA1: (COMPOSITE,), SHA256: (COMPOSITE,)}


def parse_upload_checksum(headers):
    """The ``UploadChecksum`` of a CreateMultipartUpload's headers;
    ``S3InputError`` InvalidRequest, with AWS's messages, when bad.

    >>> parse_upload_checksum({'x-amz-checksum-algorithm': 'crc32'})
    UploadChecksum(algorithm='CRC32', type='COMPOSITE')
    >>> parse_upload_checksum({})
    UploadChecksum(algorithm=None, type=None)
    """
    headers = _lowered(headers)
    algorithm = headers.get('x-amz-checksum-algorithm')
    checksum_type = headers.get('x-amz-checksum-type')
    if checksum_type not in (None, COMPOSITE, FULL_OBJECT):
        raise invalid_request('Value for x-amz-checksum-type header is '
                              'invalid.')
    if algorithm is None:
        if checksum_type is not None:
            raise invalid_request(
                'The x-amz-checksum-type header can only be used with the '
                'x-amz-checksum-algorithm header.')
        return UploadChecksum()
    algorithm = algorithm.upper()
    if algorithm not in ALGORITHMS:
        raise invalid_request('Checksum algorithm provided is unsupported. '
                              'Please try again with any of the valid '
                              'types: [CRC32, CRC32C, CRC64NVME, SHA1, '
                              'SHA256]')
    checksum_type = checksum_type or DEFAULT_TYPE[algorithm]
    if checksum_type not in ALLOWED_TYPES[algorithm]:
        raise invalid_request(
            'The %s checksum type cannot be used with the %s checksum '
            'algorithm.' % (checksum_type, algorithm.lower()))
    return UploadChecksum(algorithm, checksum_type)


def part_checksum_algorithm(upload, part):
    """The algorithm an UploadPart's body is summed with, given the
    ``UploadChecksum`` its upload was created with and the part's
    ``ChecksumRequest``; InvalidRequest as AWS when they disagree.

    An upload that named an algorithm wants it on every part: a COMPOSITE
    upload's parts must send it (the object's checksum is made of theirs),
    a FULL_OBJECT upload's parts may leave it to the server. An upload
    that named none takes any part checksum, as Swift's s3api does.

    >>> part_checksum_algorithm(UploadChecksum('CRC64NVME', FULL_OBJECT),
    ...                         ChecksumRequest())
    'CRC64NVME'
    """
    if upload.algorithm is None:
        return part.algorithm
    if part.algorithm == upload.algorithm or (
            part.algorithm is None and upload.type == FULL_OBJECT):
        return upload.algorithm
    raise invalid_request('Checksum Type mismatch occurred. Ensure that '
                          'UploadPart uses the same Checksum Type for all '
                          'uploads as expected by Upload ID.')


def composite_checksum(algorithm, part_checksums):
    """S3's COMPOSITE multipart checksum: the checksum of the parts' raw
    digests concatenated, in base64, then ``-<number of parts>``.

    Worked example: parts b'abc' and b'def' have CRC32s NSRBwg== and
    DMThYQ== (raw 35 24 41 c2 and 0c c4 e1 61); the CRC32 of those 8 bytes
    is ZYzvyg==, so the object's checksum is 'ZYzvyg==-2'.

    >>> composite_checksum('CRC32', ['NSRBwg==', 'DMThYQ=='])
    'ZYzvyg==-2'
    """
    checksum = new_checksum(algorithm)
    for value in part_checksums:
        checksum.update(decode_checksum(algorithm, value))
    return '%s-%d' % (checksum.digest_b64(), len(part_checksums))


def full_object_crc(algorithm, parts):
    """S3's FULL_OBJECT multipart checksum: the CRC of the whole object,
    combined from each part's (base64 CRC, length) without re-reading the
    data (CRC(A || B) is a function of CRC(A), CRC(B) and len(B)).

    >>> full_object_crc('CRC32', [('NSRBwg==', 3), ('DMThYQ==', 3)])
    'S4457w=='
    >>> c = new_checksum('CRC32'); c.update(b'abcdef'); c.digest_b64()
    'S4457w=='
    """
    combine = ALGORITHMS[algorithm][1]
    if combine is None:
        raise ValueError('%s checksums cannot be combined' % algorithm)
    crc = 0
    for value, length in parts:
        part = int.from_bytes(decode_checksum(algorithm, value), 'big')
        crc = combine(crc, part, length)
    return b64(crc.to_bytes(new_checksum(algorithm).digest_size, 'big'))


def parse_content_md5(value):
    """The raw MD5 a Content-MD5 header names; ``S3InputError``
    InvalidDigest (AWS's message, the value echoed) when it is not the
    base64 of 16 bytes.

    >>> parse_content_md5('kAFQmDzST7DWlj99KOF/cg==').hex()
    '900150983cd24fb0d6963f7d28e17f72'
    """
    stripped = value.strip()
    try:
        if not BASE64_SHAPE.match(stripped) or not stripped:
            raise ValueError
        raw = base64.b64decode(stripped, validate=True)
    except (ValueError, binascii.Error):
        raw = b''
    if len(raw) != 16:
        raise S3InputError('InvalidDigest',
                           'The Content-MD5 you specified was invalid.',
                           **{'Content-MD5': value})
    return raw


class VerifyingReader:
    """A ``wsgi.input`` wrapper that checks the body it passes on against
    the request's checksum and Content-MD5.

    The check runs when the read that would hand over the last of
    ``length`` bytes has the data in hand: on a mismatch it raises
    ``S3InputError`` BadDigest *instead of* returning those bytes, so the
    proxy never sends the last byte to the object servers and no object
    is stored. The error is also kept in ``self.error`` for the middleware.
    ``checksum_request.expected(trailers_source())`` is asked only then,
    so a trailer read at the end of an aws-chunked body is there in time.
    A body shorter than ``length`` is left for the proxy to refuse.
    A zero-length body is checked on the first ``read()``: the middleware
    calls ``read()`` itself when ``length`` is 0 (the proxy reads nothing).

    With ``compute_algorithm``, a body whose request asks for no checksum
    gets that one computed (what S3 stores for it, or a FULL_OBJECT
    upload's part). Once the whole body has passed, ``computed`` is
    ``(algorithm, base64 digest)`` of the checksum the body has (None
    when it has none), for the middleware to keep in sysmeta.
    """

    def __init__(self, wsgi_input, length, checksum_request=None,
                 content_md5=None, trailers_source=dict,
                 compute_algorithm=None):
        self._input = wsgi_input
        self._remaining = length
        self._request = checksum_request or ChecksumRequest()
        algorithm = self._request.algorithm or compute_algorithm
        self._checksum = new_checksum(algorithm) if algorithm else None
        self._expected_md5 = content_md5
        self._md5 = (hashlib.md5(usedforsecurity=False)
                     if content_md5 is not None else None)
        self._trailers_source = trailers_source
        self._checked = False
        self.error = None
        self.computed = None

    def read(self, size=-1):
        if self.error is not None:
            raise self.error
        if size is None or size < 0 or size > self._remaining:
            size = self._remaining
        # read(0) still reaches the input at the end of the body: an
        # aws-chunked reader reads its trailers there.
        data = self._input.read(size) if size or not self._remaining else b''
        self._remaining -= len(data)
        if self._checksum is not None:
            self._checksum.update(data)
        if self._md5 is not None:
            self._md5.update(data)
        if self._remaining == 0 and not self._checked:
            self._checked = True
            self._check()
        return data

    def _check(self):
        try:
            self._check_checksum()
            self._check_md5()
        except S3InputError as err:
            self.error = err
            raise
        if self._checksum is not None:
            self.computed = (self._checksum.algorithm,
                             self._checksum.digest_b64())

    def _check_checksum(self):
        if self._request.algorithm is None:
            return
        expected = self._request.expected(self._trailers_source())
        try:
            raw = decode_checksum(self._request.algorithm, expected)
        except ValueError:
            raise invalid_request('Value for %s trailing header is invalid.'
                                  % self._request.trailer)
        if not hmac.compare_digest(raw, self._checksum.digest()):
            raise S3InputError(
                'BadDigest', 'The %s you specified did not match the '
                'calculated checksum.' % self._request.algorithm)

    def _check_md5(self):
        if self._expected_md5 is None:
            return
        if not hmac.compare_digest(self._expected_md5, self._md5.digest()):
            raise S3InputError(
                'BadDigest', 'The Content-MD5 you specified did not match '
                'what we received.',
                ExpectedDigest=b64(self._expected_md5),
                CalculatedDigest=b64(self._md5.digest()))
