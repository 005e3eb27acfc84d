"""The body of an upload (PutObject, UploadPart): decoded, checked,
stored, and its checksum kept.

Owns ``put_body``, which wires the chunked and checksums modules into one
object PUT, in this order: the request's checksum headers and Content-MD5
are read; an aws-chunked body (``x-amz-content-sha256: STREAMING-*``) is
decoded, its chunk signatures checked with the signing key the signature
check derived; the decoded body passes a ``VerifyingReader`` that raises
before the last byte when a checksum or the MD5 differs, so the proxy
aborts the PUT (its 499) and nothing is stored; the reader's error, not
the 499, is then the answer.

Where an upload's checksum lives: sent in a header, it is known before
the body and goes with the PUT in sysmeta (``X-Object-Sysmeta-S3api-
Checksum-<ALGORITHM>``). Sent in a trailer (or computed for a FULL_OBJECT
upload's part), it is known only after the body; the object server keeps
sysmeta from PUTs only, so it is added by a POST in transient sysmeta
(which a POST may set), with the PUT's user metadata sent again (a POST
replaces it). ``stored_checksum`` reads either.
"""

from objstore.common.http import Response, is_success
from objstore.middleware.s3api.checksums import (
    ALGORITHMS, S3InputError, VerifyingReader, header_name,
    parse_checksum_headers, parse_content_md5, part_checksum_algorithm)
from objstore.middleware.s3api.chunked import (
    STREAMING_MODES, ChunkSigner, open_streaming_body, parse_decoded_length)
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.views import quoted_etag

CHECKSUM_SYSMETA = 'X-Object-Sysmeta-S3api-Checksum-'
CHECKSUM_TRANSIENT = 'X-Object-Transient-Sysmeta-S3api-Checksum-'
CHECKSUM_TYPE_SYSMETA = 'X-Object-Sysmeta-S3api-Checksum-Type'
# What a POST replaces, so sends again (the object server's POST_HEADERS
# that an S3 PUT sets, and user metadata).
POST_KEPT = ('content-type', 'content-disposition', 'content-encoding')


def s3_error_of(err):
    """The S3Error of a chunked/checksums ``S3InputError``."""
    return S3Error(err.code, err.message, **err.details)


def checksum_sysmeta(algorithm):
    return CHECKSUM_SYSMETA + algorithm


def stored_checksum(swift_headers):
    """(algorithm, value) of the checksum an object keeps, else None."""
    for algorithm in ALGORITHMS:
        for prefix in (CHECKSUM_SYSMETA, CHECKSUM_TRANSIENT):
            value = swift_headers.get(prefix + algorithm)
            if value:
                return algorithm, value
    return None


def checksum_headers(swift_headers):
    """The ``x-amz-checksum-*`` answer headers of an object's checksum."""
    found = stored_checksum(swift_headers)
    if found is None:
        return {}
    algorithm, value = found
    return {header_name(algorithm): value, 'x-amz-checksum-type':
            swift_headers.get(CHECKSUM_TYPE_SYSMETA) or 'FULL_OBJECT'}


def checksum_elements(swift_headers):
    """The ``Checksum<ALG>``/``ChecksumType`` XML elements of a checksum."""
    found = stored_checksum(swift_headers)
    if found is None:
        return []
    algorithm, value = found
    checksum_type = swift_headers.get(CHECKSUM_TYPE_SYSMETA) or 'FULL_OBJECT'
    return [('Checksum' + algorithm, value), ('ChecksumType', checksum_type)]


def write_error(ctx, resp):
    """The S3Error of a failed object PUT."""
    status = resp.status_int
    if ctx.body_mismatched():
        return S3Error('XAmzContentSHA256Mismatch',
                       ClientComputedContentSHA256=ctx.signature.payload_hash)
    if status == 404:
        return S3Error('NoSuchBucket', BucketName=ctx.s3req.bucket)
    if status == 422:
        return S3Error('BadDigest', ExpectedDigest=ctx.s3req.headers.get(
            'content-md5'))
    if status == 411:
        return S3Error('MissingContentLength')
    if status == 413:
        return S3Error('EntityTooLarge')
    if status == 499:
        return S3Error('IncompleteBody')
    if status == 408:
        return S3Error('RequestTimeout')
    if status == 400:
        text = resp.body.decode('utf-8', 'replace')
        if 'metadata' in text.lower():
            return S3Error('MetadataTooLarge')
        return S3Error('InvalidArgument', text or None)
    return S3Error('ServiceUnavailable' if status >= 500 else 'InternalError')


class DeferredSigner:
    """A ChunkSigner made at the first chunk: the signing key is known only
    once the auth middleware verified the request's signature, which it
    does before the proxy reads the body."""

    def __init__(self, ctx):
        self._ctx = ctx
        self._signer = None

    def _get(self):
        if self._signer is None:
            signature = self._ctx.signature
            self._signer = ChunkSigner(self._ctx.signing_key,
                                       signature.amz_date,
                                       signature.scope.text)
        return self._signer

    def sign_chunk(self, previous_signature, chunk_sha256_hex):
        return self._get().sign_chunk(previous_signature, chunk_sha256_hex)

    def sign_trailer(self, previous_signature, trailers):
        return self._get().sign_trailer(previous_signature, trailers)


class UploadBody:
    """The readers one upload's body goes through (see module doc)."""

    def __init__(self, ctx, checksum_request, content_md5, compute):
        self.ctx = ctx
        self.request = checksum_request
        self.chunked = None
        self.verifier = None
        environ = ctx.environ
        source = environ['wsgi.input']
        length = environ.get('CONTENT_LENGTH')
        length = int(length) if length else None
        mode = ctx.signature.payload_hash
        if mode in STREAMING_MODES:
            length = self._decode(mode)
            source = self.chunked
        if checksum_request.algorithm or content_md5 is not None or compute:
            if length is None:
                raise S3InputError('MissingContentLength', 'You must '
                                   'provide the Content-Length HTTP header.')
            self.verifier = VerifyingReader(
                source, length, checksum_request, content_md5,
                trailers_source=self._trailers, compute_algorithm=compute)
            environ['wsgi.input'] = self.verifier
        self.length = length

    def _decode(self, mode):
        environ = self.ctx.environ
        headers = self.ctx.s3req.headers
        length = parse_decoded_length(
            headers.get('x-amz-decoded-content-length'))
        signer = None
        if self.ctx.signature.scope is not None:
            signer = DeferredSigner(self.ctx)
        self.chunked = open_streaming_body(
            environ['wsgi.input'], mode, length,
            [self.request.trailer] if self.request.trailer else [],
            self.ctx.signature.provided, signer)
        environ['wsgi.input'] = self.chunked
        environ['CONTENT_LENGTH'] = str(length)
        environ.pop('HTTP_TRANSFER_ENCODING', None)
        return length

    def content_encoding(self):
        """The object's Content-Encoding: the client's without the
        ``aws-chunked`` framing (None when nothing else is left)."""
        sent = self.ctx.s3req.headers.get('content-encoding', '')
        if self.chunked is None:
            return sent or None
        codings = [coding.strip() for coding in sent.split(',')
                   if coding.strip() and coding.strip() != 'aws-chunked']
        return ', '.join(codings) or None

    def _trailers(self):
        return self.chunked.trailers if self.chunked is not None else {}

    def read_empty(self):
        """An empty body is never read by the proxy: check it here."""
        reader = self.verifier or self.chunked
        if reader is None or self.length != 0:
            return
        if self.chunked is not None and self.ctx.signature.scope is not None \
                and self.ctx.signing_key is None:
            self.ctx.bucket_exists(self.ctx.s3req.bucket)  # verifies auth
        try:
            reader.read()
        except S3InputError as err:
            raise s3_error_of(err) from None

    def error(self):
        """The S3InputError the body earned, if any."""
        if self.chunked is not None and self.chunked.error is not None:
            return self.chunked.error
        return self.verifier.error if self.verifier is not None else None

    def computed(self):
        """(algorithm, value) of the body's checksum, or None."""
        if self.verifier is None:
            return None
        return self.verifier.computed


def open_body(ctx, upload_checksum=None):
    """(UploadBody, raw Content-MD5 or None) of the request; S3Error
    when its checksum headers or framing are refused."""
    headers = ctx.s3req.headers
    try:
        request = parse_checksum_headers(headers)
        md5 = None
        if 'content-md5' in headers:
            md5 = parse_content_md5(headers['content-md5'])
        compute = None
        if upload_checksum is not None:
            compute = part_checksum_algorithm(upload_checksum, request)
        return UploadBody(ctx, request, md5, compute), md5
    except S3InputError as err:
        raise s3_error_of(err) from None


def put_body(ctx, container, name, swift_headers, upload_checksum=None):
    """PUT the client's body to ``container``/``name`` with
    ``swift_headers``; the S3 answer (ETag, checksum headers)."""
    body, md5 = open_body(ctx, upload_checksum)
    swift_headers = {name: value for name, value in swift_headers.items()
                     if name.lower() != 'content-encoding'}
    if body.content_encoding():
        swift_headers['Content-Encoding'] = body.content_encoding()
    if md5 is not None:
        swift_headers['ETag'] = md5.hex()
    if body.request.value:
        swift_headers[checksum_sysmeta(body.request.algorithm)] = \
            body.request.value
    body.read_empty()
    resp = ctx.call('PUT', container, name, headers=swift_headers,
                    client_body=True)
    error = body.error()
    if error is not None:
        raise s3_error_of(error)
    if ctx.body_mismatched() or not is_success(resp.status_int):
        raise write_error(ctx, resp)
    answer = {'ETag': quoted_etag(resp.headers.get('ETag'))}
    if resp.headers.get('X-Object-Version-Id'):
        answer['x-amz-version-id'] = resp.headers['X-Object-Version-Id']
    computed = body.computed()
    if computed is not None:
        if not body.request.value:
            _keep_checksum(ctx, container, name, swift_headers, computed)
        answer[header_name(computed[0])] = computed[1]
    return Response(status=200, content_length=0, headers=answer)


def _keep_checksum(ctx, container, name, put_headers, computed):
    """Add a checksum known only after the body (module doc)."""
    headers = {key: value for key, value in put_headers.items()
               if key.lower().startswith('x-object-meta-')
               or key.lower() in POST_KEPT}
    if 'content-type' not in {key.lower() for key in headers}:
        sent = ctx.s3req.headers.get('content-type')
        if sent:
            headers['Content-Type'] = sent
    headers[CHECKSUM_TRANSIENT + computed[0]] = computed[1]
    resp = ctx.call('POST', container, name, headers=headers)
    if not is_success(resp.status_int):
        raise S3Error('ServiceUnavailable')
