"""The body check of a single-request upload: the signed
``x-amz-content-sha256`` and ``Content-MD5``.

Owns ``content_md5_etag`` (the object ETag a ``Content-MD5`` demands,
which the object server enforces: a mismatch is its 422, our BadDigest)
and ``HashingInput``, a ``wsgi.input`` that hashes what passes through it
and raises ``PayloadMismatch`` on the read that completes the body when
the SHA-256 differs from the signed one. The proxy aborts an upload whose
input raises, so the object servers never commit it: no mismatching body
is ever stored. ``UNSIGNED-PAYLOAD`` bodies pass unchecked here;
aws-chunked bodies arrive decoded, and ``x-amz-checksum-*`` are checked,
by the upload module.

Pure but for the reads of the wrapped input.
"""

import base64
import binascii
import hashlib

from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.sigv4 import SHA256_HEX


class PayloadMismatch(ValueError):
    """The body's SHA-256 is not the signed one (a ValueError: the proxy
    treats a failing client input as a broken upload and aborts it)."""


def content_md5_etag(value):
    """The hex MD5 a ``Content-MD5`` header names; InvalidDigest when it
    is not the base64 of 16 bytes.

    >>> content_md5_etag('1B2M2Y8AsgTpgAmY7PhCfg==')
    'd41d8cd98f00b204e9800998ecf8427e'
    """
    try:
        digest = base64.b64decode(value.encode('ascii'), validate=True)
    except (binascii.Error, ValueError, UnicodeError):
        raise S3Error('InvalidDigest', ContentMD5=value) from None
    if len(digest) != 16:
        raise S3Error('InvalidDigest', ContentMD5=value)
    return digest.hex()


def needs_sha256_check(payload_hash):
    return bool(payload_hash) and bool(SHA256_HEX.match(payload_hash))


def body_reader(source, length, payload_hash):
    """The ``wsgi.input`` an upload's body is read through: checked
    against a signed SHA-256, else the client's input as it is (an
    aws-chunked body, ``STREAMING-*``, comes here decoded by the upload
    module, which checks its chunk signatures).
    """
    if needs_sha256_check(payload_hash):
        return HashingInput(source, length, payload_hash)
    return source


class HashingInput:
    """Reads ``length`` bytes (None: to EOF) of ``source`` and checks
    their SHA-256 against ``expected`` before handing out the last ones.

    >>> import io
    >>> good = hashlib.sha256(b'abc').hexdigest()
    >>> HashingInput(io.BytesIO(b'abc'), 3, good).read()
    b'abc'
    >>> bad = HashingInput(io.BytesIO(b'abd'), 3, good)
    >>> bad.read(2)
    b'ab'
    >>> try:
    ...     bad.read(1)
    ... except PayloadMismatch as err:
    ...     print(err)
    x-amz-content-sha256 mismatch
    """

    def __init__(self, source, length, expected):
        self._source = source
        self._remaining = length
        self._expected = expected
        self._hash = hashlib.sha256()
        self._checked = False
        self.mismatched = False

    def read(self, size=-1):
        if self._remaining is not None:
            if self._remaining <= 0:
                self._check()       # an empty body has a hash too
                return b''
            if size is None or size < 0 or size > self._remaining:
                size = self._remaining
        data = self._source.read(size)
        self._hash.update(data)
        if self._remaining is not None:
            self._remaining -= len(data)
        if not data or (self._remaining is not None and
                        self._remaining <= 0):
            self._check()
        return data

    def _check(self):
        """Once, at the end of the body: raise when it is not the signed
        one."""
        if self._checked:
            return
        self._checked = True
        if self._hash.hexdigest() != self._expected:
            self.mismatched = True
            raise PayloadMismatch('x-amz-content-sha256 mismatch')

    def readline(self, size=-1):
        return self.read(size)
