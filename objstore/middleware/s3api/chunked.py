"""chunked: decoding ``Content-Encoding: aws-chunked`` request bodies.

Owns the three streaming payload modes of SigV4 uploads
(``x-amz-content-sha256``):

- ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``: every chunk carries
  ``;chunk-signature=<hex>``, chained from the request's (seed) signature.
- ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER``: the same, then trailers
  (``x-amz-checksum-*``) signed by ``x-amz-trailer-signature``.
- ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``: unsigned chunks, then trailers.

The wire form (chunk sizes in hex; S3 refuses a chunk under 8 KiB unless
it is the last one with data)::

    10000;chunk-signature=<64 hex>\\r\\n<65536 bytes>\\r\\n
    400;chunk-signature=<64 hex>\\r\\n<1024 bytes>\\r\\n
    0;chunk-signature=<64 hex>\\r\\n
    x-amz-checksum-crc32c:sOO8/Q==\\r\\n          (trailer modes)
    x-amz-trailer-signature:<64 hex>\\r\\n         (signed trailer mode)
    \\r\\n

What the caller supplies: the signature maths here are pure
(``chunk_string_to_sign``, ``trailer_string_to_sign``); ``ChunkSigner``
turns them into the expected signatures given the signing key the
middleware derived when it checked the request's own signature. The reader
takes two callables, ``sign_chunk(previous_signature, chunk_sha256_hex)``
and ``sign_trailer(previous_signature, trailers)``, each returning the hex
signature the client should have sent (a ChunkSigner's methods). It passes
the chunk's SHA-256, not its bytes, so a chunk is never held in memory.

How a bad body becomes an S3 error: ``AwsChunkedReader.read`` raises
``S3InputError`` (a ValueError carrying the S3 code, message and XML
details) *before* it returns the last byte of the decoded body, so the
object PUT reading it never completes: the proxy answers its
client-read-failure status (499) and commits nothing. The reader keeps
the error in ``reader.error``; the middleware, seeing the response, looks
there first and answers with that S3 error instead (code -> status from
``s3api/errors.py``). Nothing here builds a response.
"""

import hashlib
import hmac
import re

from objstore.middleware.s3api.checksums import S3InputError

STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'
STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER'
STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'
# mode -> (chunks signed, trailer signed)
STREAMING_MODES = {
    STREAMING_SIGNED: (True, False),
    STREAMING_SIGNED_TRAILER: (True, True),
    STREAMING_UNSIGNED_TRAILER: (False, False),
}

MIN_CHUNK_SIZE = 8192
EMPTY_SHA256 = hashlib.sha256(b'').hexdigest()
TRAILER_SIGNATURE = 'x-amz-trailer-signature'
# A chunk header is "<hex size>[;chunk-signature=<64 hex>]\r\n": bound the
# line read so a client cannot make the reader buffer an endless header.
MAX_HEADER_LINE = 1024
CHUNK_SIZE_SHAPE = re.compile(rb'^[0-9a-fA-F]{1,16}$')


def incomplete_body(**details):
    if details:
        return S3InputError(
            'IncompleteBody', 'You did not provide the number of bytes '
            'specified by the Content-Length HTTP header', **details)
    return S3InputError('IncompleteBody',
                        'The request body terminated unexpectedly')


def signature_mismatch():
    return S3InputError(
        'SignatureDoesNotMatch', 'The request signature we calculated does '
        'not match the signature you provided. Check your key and signing '
        'method.')


def malformed_trailer():
    return S3InputError(
        'MalformedTrailerError', 'The request contained trailing data that '
        'was not well-formed or did not conform to our published schema.')


def parse_decoded_length(value):
    """The x-amz-decoded-content-length of a streaming upload, as S3 reads
    it: missing or not a number -> MissingContentLength, negative ->
    InvalidArgument.

    >>> parse_decoded_length('66560')
    66560
    """
    try:
        length = int(value)
    except (TypeError, ValueError):
        raise S3InputError('MissingContentLength',
                           'You must provide the Content-Length HTTP header.')
    if length < 0:
        raise S3InputError(
            'InvalidArgument', 'Invalid Argument.',
            ArgumentName='x-amz-decoded-content-length',
            ArgumentValue=value)
    return length


def chunk_string_to_sign(timestamp, scope, previous_signature,
                         chunk_sha256_hex):
    """SigV4's ChunkStringToSign: the chunk's signature is the HMAC of this
    under the request's signing key.

    >>> print(chunk_string_to_sign('20130524T000000Z',
    ...     '20130524/us-east-1/s3/aws4_request', 'seed', 'abc'))
    AWS4-HMAC-SHA256-PAYLOAD
    20130524T000000Z
    20130524/us-east-1/s3/aws4_request
    seed
    e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
    abc
    """
    return '\n'.join(('AWS4-HMAC-SHA256-PAYLOAD', timestamp, scope,
                      previous_signature, EMPTY_SHA256, chunk_sha256_hex))


def canonical_trailers(trailers):
    """The trailers as signed: ``name:value\\n`` lines sorted by name,
    without the signature itself (a lone newline when none).

    >>> canonical_trailers({'x-amz-checksum-crc32c': 'sOO8/Q=='})
    b'x-amz-checksum-crc32c:sOO8/Q==\\n'
    """
    lines = ''.join('%s:%s\n' % (name, value)
                    for name, value in sorted(trailers.items())
                    if name != TRAILER_SIGNATURE)
    return (lines or '\n').encode('utf-8')


def trailer_string_to_sign(timestamp, scope, previous_signature, trailers):
    """SigV4's TrailerChunkStringToSign, chained from the last (zero-length)
    chunk's signature."""
    return '\n'.join((
        'AWS4-HMAC-SHA256-TRAILER', timestamp, scope, previous_signature,
        hashlib.sha256(canonical_trailers(trailers)).hexdigest()))


class ChunkSigner:
    """The signatures a client's chunks and trailers must carry, from the
    signing key (bytes) the middleware derived for the request, its
    x-amz-date ``timestamp`` and its credential ``scope``
    (``<date>/<region>/s3/aws4_request``)."""

    def __init__(self, signing_key, timestamp, scope):
        self._key = signing_key
        self._timestamp = timestamp
        self._scope = scope

    def _sign(self, string_to_sign):
        return hmac.new(self._key, string_to_sign.encode('utf-8'),
                        hashlib.sha256).hexdigest()

    def sign_chunk(self, previous_signature, chunk_sha256_hex):
        return self._sign(chunk_string_to_sign(
            self._timestamp, self._scope, previous_signature,
            chunk_sha256_hex))

    def sign_trailer(self, previous_signature, trailers):
        return self._sign(trailer_string_to_sign(
            self._timestamp, self._scope, previous_signature, trailers))


class AwsChunkedReader:
    """``wsgi.input`` decoded from aws-chunked: ``read()`` returns the
    payload only, checking framing, sizes and signatures as it goes.

    ``decoded_length`` is x-amz-decoded-content-length. For the signed
    modes pass ``seed_signature`` (the request's Signature) and the
    ``sign_chunk``/``sign_trailer`` callables (see the module docstring);
    for the unsigned mode leave them None. ``trailer_names`` are the
    trailers x-amz-trailer declared (lower case); the signed-trailer mode
    adds x-amz-trailer-signature itself. After the last byte has been
    returned, ``trailers`` holds what came (name -> value).

    Every check that concerns the end of the body (the terminating chunk,
    the trailers and their signature, the decoded length) runs before the
    read that would return the last payload byte returns. When
    ``decoded_length`` is 0 the proxy reads nothing, so the middleware
    calls ``read()`` once itself.
    """

    def __init__(self, wsgi_input, decoded_length, seed_signature=None,
                 sign_chunk=None, sign_trailer=None, trailer_names=()):
        self._input = wsgi_input
        self._decoded_length = decoded_length
        self._remaining = decoded_length
        self._signature = seed_signature
        self._sign_chunk = sign_chunk
        self._sign_trailer = sign_trailer
        self._expected_trailers = set(trailer_names)
        if sign_trailer is not None:
            self._expected_trailers.add(TRAILER_SIGNATURE)
        self._chunk_left = 0
        self._chunk_hash = None
        self._chunk_signature = None
        self._chunk_number = 0
        self._last_chunk_size = None
        self._finished = False
        self.trailers = {}
        self.error = None

    def read(self, size=-1):
        """Up to ``size`` payload bytes (from one chunk at most); b'' at
        the end. Raises ``S3InputError`` on a bad body, and again on every
        later call."""
        if self.error is not None:
            raise self.error
        try:
            return self._read(size)
        except S3InputError as err:
            self.error = err
            raise

    def _read(self, size):
        if self._finished:
            return b''
        if size is None or size < 0 or size > self._remaining:
            size = self._remaining
        data = b''
        if size and self._chunk_left == 0:
            self._start_chunk()
        if size and self._chunk_left:
            data = self._read_chunk_data(min(size, self._chunk_left))
        if self._remaining == 0:
            self._finish()
        return data

    def _start_chunk(self):
        size, params = self._read_chunk_header()
        if size == 0:
            raise incomplete_body(
                NumberBytesExpected=self._decoded_length,
                NumberBytesProvided=self._decoded_length - self._remaining)
        self._chunk_left = size
        self._chunk_hash = hashlib.sha256()
        self._chunk_signature = self._signature_param(params)

    def _read_chunk_header(self):
        """(size, params) of the next chunk header, with S3's size rules."""
        self._chunk_number += 1
        line = self._input.readline(MAX_HEADER_LINE)
        if not line.endswith(b'\r\n'):
            raise incomplete_body()
        size, _, params = line[:-2].partition(b';')
        if not CHUNK_SIZE_SHAPE.match(size):
            raise incomplete_body()
        size = int(size, 16)
        if (self._last_chunk_size is not None
                and self._last_chunk_size < MIN_CHUNK_SIZE and size != 0):
            raise S3InputError(
                'InvalidChunkSizeError', 'Only the last chunk is allowed to '
                'have a size less than 8192 bytes',
                Chunk=self._chunk_number, BadChunkSize=self._last_chunk_size)
        self._last_chunk_size = size
        if size > self._remaining:
            raise incomplete_body(
                NumberBytesExpected=self._decoded_length,
                NumberBytesProvided=(self._decoded_length - self._remaining
                                     + size))
        return size, params

    def _signature_param(self, params):
        """The chunk-signature of a header's params (None when unsigned)."""
        if self._sign_chunk is None:
            return None
        if not params:
            raise incomplete_body()
        name, _, value = params.partition(b'=')
        if name.strip() != b'chunk-signature':
            raise signature_mismatch()
        value = value.strip()
        if not value or b';' in value:
            raise incomplete_body()
        return value

    def _read_chunk_data(self, size):
        data = self._input.read(size)
        if not data:
            raise incomplete_body()
        self._chunk_left -= len(data)
        self._remaining -= len(data)
        self._chunk_hash.update(data)
        if self._chunk_left == 0:
            if self._read_exact(2) != b'\r\n':
                raise incomplete_body()
            self._check_chunk_signature(self._chunk_hash.hexdigest())
        return data

    def _read_exact(self, size):
        """``size`` bytes, fewer only at the end of the input (a socket
        may hand them over one read at a time)."""
        data = b''
        while len(data) < size:
            more = self._input.read(size - len(data))
            if not more:
                break
            data += more
        return data

    def _check_chunk_signature(self, chunk_sha256_hex):
        if self._sign_chunk is None:
            return
        expected = self._sign_chunk(self._signature, chunk_sha256_hex)
        if not hmac.compare_digest(expected.encode('ascii'),
                                   self._chunk_signature):
            raise signature_mismatch()
        self._signature = expected

    def _finish(self):
        """Read the zero-length chunk (``_read_chunk_header`` refuses any
        other once nothing remains) and what follows it."""
        _, params = self._read_chunk_header()
        self._chunk_signature = self._signature_param(params)
        self._check_chunk_signature(EMPTY_SHA256)
        if self._expected_trailers:
            self._read_trailers()
        elif self._read_exact(2) not in (b'', b'\r\n'):
            raise incomplete_body()
        self._finished = True

    def _read_trailers(self):
        while True:
            line = self._input.readline(MAX_HEADER_LINE)
            if not line or line == b'\r\n':
                break
            if not line.endswith(b'\r\n'):
                raise incomplete_body()
            name, _, value = line[:-2].decode('utf-8', 'replace').partition(
                ':')
            name = name.strip().lower()
            if name not in self._expected_trailers or name in self.trailers:
                raise malformed_trailer()
            self.trailers[name] = value.strip()
        signed = TRAILER_SIGNATURE in self._expected_trailers
        if signed and TRAILER_SIGNATURE not in self.trailers:
            raise incomplete_body()
        if set(self.trailers) != self._expected_trailers:
            raise malformed_trailer()
        if signed:
            self._check_trailer_signature()

    def _check_trailer_signature(self):
        expected = self._sign_trailer(self._signature, self.trailers)
        signature = self.trailers[TRAILER_SIGNATURE]
        if not hmac.compare_digest(expected.encode('ascii'),
                                   signature.encode('utf-8')):
            raise signature_mismatch()
        # A signature alone signs nothing: S3 wants the declared checksum.
        if len(self.trailers) == 1:
            raise incomplete_body()



def open_streaming_body(wsgi_input, content_sha256, decoded_length,
                        trailer_names=(), seed_signature=None, signer=None):
    """The ``AwsChunkedReader`` for a request whose x-amz-content-sha256 is
    one of STREAMING_MODES: the signed modes check chunks (and trailers)
    with ``signer`` (a ChunkSigner) from ``seed_signature``; the unsigned
    mode ignores them. A signed mode without a signer (the request was not
    SigV4-header-signed) is refused as S3 refuses it.

    >>> import io
    >>> reader = open_streaming_body(io.BytesIO(b'0\\r\\n\\r\\n'),
    ...                              STREAMING_UNSIGNED_TRAILER, 0)
    >>> reader.read(), reader.trailers
    (b'', {})
    """
    chunks_signed, trailer_signed = STREAMING_MODES[content_sha256]
    if not chunks_signed:
        return AwsChunkedReader(wsgi_input, decoded_length,
                                trailer_names=trailer_names)
    if signer is None or seed_signature is None:
        raise S3InputError('NotImplemented', 'Transferring payloads in '
                           'multiple chunks using aws-chunked is not '
                           'supported.')
    return AwsChunkedReader(
        wsgi_input, decoded_length, seed_signature=seed_signature,
        sign_chunk=signer.sign_chunk,
        sign_trailer=signer.sign_trailer if trailer_signed else None,
        trailer_names=trailer_names)
