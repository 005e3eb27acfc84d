"""aws-chunked decoding: AWS's published signed examples (known answers),
botocore's own unsigned-trailer encoder, every framing error S3 names, and
properties: any chunking and any read pattern decode to the body; any
single-byte corruption is refused before the last byte is handed over."""

import hashlib
import hmac
import http.client
import io
import socket

import pytest
from botocore.httpchecksum import (
    AwsChunkedWrapper, Crc32Checksum, CrtCrc32cChecksum, CrtCrc64NvmeChecksum,
    Sha1Checksum, Sha256Checksum)
from hypothesis import HealthCheck, given, settings, strategies as st

from objstore.common.wsgi import serve_in_thread
from objstore.middleware.s3api.checksums import (
    ChecksumRequest, S3InputError, VerifyingReader)
from objstore.middleware.s3api.chunked import (
    MIN_CHUNK_SIZE, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER, AwsChunkedReader, ChunkSigner,
    chunk_string_to_sign, open_streaming_body, parse_decoded_length,
    trailer_string_to_sign)

# The example of AWS's "Transferring Payload in Multiple Chunks" and
# "Signature calculations for trailing headers" pages.
AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
AWS_DATE = '20130524T000000Z'
AWS_SCOPE = '20130524/us-east-1/s3/aws4_request'
AWS_BODY = b'a' * 66560
AWS_SEED = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9'
AWS_CHUNK_SIGNATURES = (
    'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
    '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
    'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9')
AWS_TRAILER_SEED = (
    '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e')
AWS_TRAILER_CHUNK_SIGNATURES = (
    'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
    '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
    '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992')
AWS_TRAILER = ('x-amz-checksum-crc32c', 'sOO8/Q==')
AWS_TRAILER_SIGNATURE = (
    'd81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435')


def signing_key(secret, scope):
    """SigV4's key derivation, as the middleware does it."""
    key = ('AWS4' + secret).encode()
    for part in scope.split('/'):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


AWS_SIGNER = ChunkSigner(signing_key(AWS_SECRET, AWS_SCOPE), AWS_DATE,
                         AWS_SCOPE)


def aws_example_body(signatures, trailer_lines=b''):
    sizes = (65536, 1024, 0)
    body = b''.join(b'%x;chunk-signature=%s\r\n' % (size, sig.encode())
                    + b'a' * size + (b'\r\n' if size else b'')
                    for size, sig in zip(sizes, signatures))
    return body + trailer_lines + b'\r\n'


def signed_body(payload, chunk_sizes, seed=AWS_SEED, signer=AWS_SIGNER,
                trailers=None):
    """A signed aws-chunked body, encoded as the SDKs do."""
    out, previous, offset = [], seed, 0
    for size in list(chunk_sizes) + [0]:
        data = payload[offset:offset + size]
        offset += size
        previous = signer.sign_chunk(previous,
                                     hashlib.sha256(data).hexdigest())
        out.append(b'%x;chunk-signature=%s\r\n%s' % (
            size, previous.encode(), data + b'\r\n' if size else b''))
    if trailers is not None:
        trailers = dict(trailers)
        trailers['x-amz-trailer-signature'] = signer.sign_trailer(
            previous, trailers)
        out.extend(b'%s:%s\r\n' % (name.encode(), value.encode())
                   for name, value in trailers.items())
    out.append(b'\r\n')
    return b''.join(out)


def unsigned_body(payload, chunk_size, checksum_cls=CrtCrc32cChecksum,
                  name='x-amz-checksum-crc32c'):
    """botocore's own STREAMING-UNSIGNED-PAYLOAD-TRAILER encoding."""
    return AwsChunkedWrapper(io.BytesIO(payload), checksum_cls=checksum_cls,
                             checksum_name=name,
                             chunk_size=chunk_size).read()


class TrickleInput(io.BytesIO):
    """A wsgi.input that hands over at most ``step`` bytes per read, as a
    socket may; readline still returns whole lines like a buffered file."""

    def __init__(self, data, step):
        super().__init__(data)
        self.step = step

    def read(self, size=-1):
        if size is None or size < 0:
            size = self.step
        return super().read(min(size, self.step))


def signed_reader(raw, length, seed=AWS_SEED, trailers=(), step=None,
                  signer=AWS_SIGNER, signed_trailer=False):
    source = TrickleInput(raw, step) if step else io.BytesIO(raw)
    return AwsChunkedReader(
        source, length, seed_signature=seed, sign_chunk=signer.sign_chunk,
        sign_trailer=signer.sign_trailer if signed_trailer else None,
        trailer_names=trailers)


def read_all(reader, size=65536):
    """Read to the end; on an error, the error and what came before it."""
    got = []
    try:
        while True:
            data = reader.read(size)
            if not data:
                return b''.join(got), None
            got.append(data)
    except S3InputError as err:
        return b''.join(got), err


def test_aws_published_chunk_signatures():
    previous = AWS_SEED
    for size, expected in zip((65536, 1024, 0), AWS_CHUNK_SIGNATURES):
        previous = AWS_SIGNER.sign_chunk(
            previous, hashlib.sha256(b'a' * size).hexdigest())
        assert previous == expected


def test_chunk_string_to_sign_is_awss():
    assert chunk_string_to_sign(
        AWS_DATE, AWS_SCOPE, AWS_SEED,
        hashlib.sha256(b'a' * 65536).hexdigest()) == (
        'AWS4-HMAC-SHA256-PAYLOAD\n20130524T000000Z\n'
        '20130524/us-east-1/s3/aws4_request\n' + AWS_SEED + '\n'
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n'
        'bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a')


def test_aws_published_trailer_signature():
    assert trailer_string_to_sign(
        AWS_DATE, AWS_SCOPE, AWS_TRAILER_CHUNK_SIGNATURES[2],
        dict([AWS_TRAILER])).startswith('AWS4-HMAC-SHA256-TRAILER\n')
    assert AWS_SIGNER.sign_trailer(AWS_TRAILER_CHUNK_SIGNATURES[2],
                                   dict([AWS_TRAILER])) == (
        AWS_TRAILER_SIGNATURE)


def test_aws_example_body_decodes():
    raw = aws_example_body(AWS_CHUNK_SIGNATURES)
    assert len(raw) == 66824  # the example's Content-Length
    reader = signed_reader(raw, 66560)
    assert read_all(reader) == (AWS_BODY, None)
    assert reader.trailers == {}


def test_aws_trailer_example_decodes_and_its_checksum_verifies():
    trailer_lines = b'%s:%s\r\nx-amz-trailer-signature:%s\r\n' % (
        AWS_TRAILER[0].encode(), AWS_TRAILER[1].encode(),
        AWS_TRAILER_SIGNATURE.encode())
    raw = aws_example_body(AWS_TRAILER_CHUNK_SIGNATURES, trailer_lines)
    chunked = signed_reader(raw, 66560, seed=AWS_TRAILER_SEED,
                            trailers=[AWS_TRAILER[0]], signed_trailer=True)
    checked = VerifyingReader(
        chunked, 66560, ChecksumRequest('CRC32C', trailer=AWS_TRAILER[0]),
        trailers_source=lambda: chunked.trailers)
    assert read_all(checked) == (AWS_BODY, None)
    assert chunked.trailers == {
        AWS_TRAILER[0]: AWS_TRAILER[1],
        'x-amz-trailer-signature': AWS_TRAILER_SIGNATURE}


def test_aws_example_with_a_flipped_data_byte_is_refused_before_its_end():
    raw = bytearray(aws_example_body(AWS_CHUNK_SIGNATURES))
    raw[1000] ^= 1
    got, err = read_all(signed_reader(bytes(raw), 66560), size=4096)
    assert err.code == 'SignatureDoesNotMatch'
    assert len(got) < 66560


# botocore's checksum classes, by S3 algorithm
BOTOCORE_CHECKSUMS = {'crc32': Crc32Checksum, 'crc32c': CrtCrc32cChecksum,
                      'crc64nvme': CrtCrc64NvmeChecksum, 'sha1': Sha1Checksum,
                      'sha256': Sha256Checksum}


@pytest.mark.parametrize('checksum', sorted(BOTOCORE_CHECKSUMS))
def test_botocore_unsigned_trailer_bodies_decode(checksum):
    payload = bytes(range(256)) * 300
    name = 'x-amz-checksum-' + checksum
    raw = unsigned_body(payload, 65536, BOTOCORE_CHECKSUMS[checksum], name)
    chunked = AwsChunkedReader(io.BytesIO(raw), len(payload),
                               trailer_names=[name])
    checked = VerifyingReader(
        chunked, len(payload), ChecksumRequest(checksum.upper(), trailer=name),
        trailers_source=lambda: chunked.trailers)
    assert read_all(checked) == (payload, None)
    assert list(chunked.trailers) == [name]


def test_botocore_unsigned_trailer_with_a_wrong_checksum_is_bad_digest():
    payload = b'x' * 20000
    raw = unsigned_body(payload, 16384).replace(b'x' * 10, b'y' * 10, 1)
    chunked = AwsChunkedReader(io.BytesIO(raw), len(payload),
                               trailer_names=['x-amz-checksum-crc32c'])
    checked = VerifyingReader(
        chunked, len(payload),
        ChecksumRequest('CRC32C', trailer='x-amz-checksum-crc32c'),
        trailers_source=lambda: chunked.trailers)
    got, err = read_all(checked)
    assert (err.code, err.message) == (
        'BadDigest',
        'The CRC32C you specified did not match the calculated checksum.')
    assert len(got) < len(payload)
    assert checked.error is err


def test_empty_body_is_checked_on_the_first_read():
    raw = signed_body(b'', [])
    assert read_all(signed_reader(raw, 0)) == (b'', None)
    bad = raw.replace(b'signature=', b'signature=0', 1)
    assert read_all(signed_reader(bad, 0))[1].code == 'SignatureDoesNotMatch'


def error_of(raw, length, **kwargs):
    got, err = read_all(signed_reader(raw, length, **kwargs))
    assert err is not None, 'accepted'
    assert len(got) < length or length == 0
    return err


def test_a_small_chunk_before_the_last_is_invalid_chunk_size():
    payload = b'z' * 20000
    err = error_of(signed_body(payload, [100, 8192, 11708]), 20000)
    assert err.code == 'InvalidChunkSizeError'
    assert err.message == ('Only the last chunk is allowed to have a size '
                           'less than 8192 bytes')
    assert err.details == {'Chunk': 2, 'BadChunkSize': 100}


def test_the_last_chunk_may_be_small():
    payload = b'z' * 8200
    raw = signed_body(payload, [MIN_CHUNK_SIZE, 8])
    assert read_all(signed_reader(raw, 8200)) == (payload, None)


def test_more_data_than_the_decoded_length_is_incomplete_body():
    raw = signed_body(b'q' * 10000, [10000])
    err = error_of(raw, 9000)
    assert err.code == 'IncompleteBody'
    assert err.details == {'NumberBytesExpected': 9000,
                           'NumberBytesProvided': 10000}


def test_less_data_than_the_decoded_length_is_incomplete_body():
    raw = signed_body(b'q' * 9000, [9000])
    err = error_of(raw, 10000)
    assert err.code == 'IncompleteBody'
    assert err.details == {'NumberBytesExpected': 10000,
                           'NumberBytesProvided': 9000}


@pytest.mark.parametrize('cut', [5, 100, 9000, -3, -1])
def test_a_truncated_body_is_incomplete_body(cut):
    raw = signed_body(b'q' * 9000, [9000])
    err = error_of(raw[:cut], 9000)
    assert (err.code, err.message) == (
        'IncompleteBody', 'The request body terminated unexpectedly')


@pytest.mark.parametrize('header, code', [
    (b'zz;chunk-signature=%s', 'IncompleteBody'),
    (b'0x2328;chunk-signature=%s', 'IncompleteBody'),
    (b' 2328;chunk-signature=%s', 'IncompleteBody'),
    (b'2328', 'IncompleteBody'),
    (b'2328;chunk-signature=', 'IncompleteBody'),
    (b'2328;other=%s', 'SignatureDoesNotMatch'),
    (b'2328;chunk-signature=%s', None),
])
def test_chunk_header_framing(header, code):
    payload = b'h' * 9000
    raw = signed_body(payload, [9000])
    first, rest = raw.split(b'\r\n', 1)
    signature = first.split(b'=')[1]
    line = header % signature if b'%s' in header else header
    got, err = read_all(signed_reader(line + b'\r\n' + rest, 9000))
    assert (err.code if err else None) == code


def test_an_unknown_trailer_is_malformed():
    raw = unsigned_body(b'w' * 9000, 9000).replace(
        b'x-amz-checksum-crc32c', b'x-amz-checksum-crc32')
    chunked = AwsChunkedReader(io.BytesIO(raw), 9000,
                               trailer_names=['x-amz-checksum-crc32c'])
    assert read_all(chunked)[1].code == 'MalformedTrailerError'


def test_a_missing_trailer_is_malformed():
    raw = unsigned_body(b'w' * 9000, 9000, checksum_cls=None)
    chunked = AwsChunkedReader(io.BytesIO(raw), 9000,
                               trailer_names=['x-amz-checksum-crc32c'])
    assert read_all(chunked)[1].code == 'MalformedTrailerError'


def test_a_wrong_trailer_signature_is_signature_does_not_match():
    trailers = {'x-amz-checksum-crc32': 'AAAAAA=='}
    raw = signed_body(b'v' * 9000, [9000], trailers=trailers)
    bad = raw.replace(b'crc32:AAAAAA==', b'crc32:AAAAAB==')
    ok = read_all(signed_reader(raw, 9000, trailers=list(trailers),
                                signed_trailer=True))
    assert ok == (b'v' * 9000, None)
    err = error_of(bad, 9000, trailers=list(trailers), signed_trailer=True)
    assert err.code == 'SignatureDoesNotMatch'


def test_a_missing_trailer_signature_is_incomplete_body():
    raw = signed_body(b'v' * 9000, [9000]).replace(
        b'\r\n\r\n', b'\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n')
    err = error_of(raw, 9000, trailers=['x-amz-checksum-crc32'],
                   signed_trailer=True)
    assert err.code == 'IncompleteBody'


def test_the_error_sticks():
    raw = signed_body(b'v' * 9000, [9000])
    reader = signed_reader(raw.replace(b'v', b'u', 1), 9000)
    err = read_all(reader)[1]
    assert reader.error is err
    with pytest.raises(S3InputError) as again:
        reader.read(10)
    assert again.value is err


def test_an_error_is_a_value_error_for_the_proxy():
    assert issubclass(S3InputError, ValueError)


@pytest.mark.parametrize('value, code', [
    (None, 'MissingContentLength'), ('abc', 'MissingContentLength'),
    ('-1', 'InvalidArgument')])
def test_parse_decoded_length_refusals(value, code):
    with pytest.raises(S3InputError) as err:
        parse_decoded_length(value)
    assert err.value.code == code


@st.composite
def chunked_bodies(draw):
    """A payload and a chunking S3 allows: every chunk but the last at
    least 8 KiB."""
    length = draw(st.integers(0, 40000))
    payload = draw(st.binary(min_size=length, max_size=length)) if (
        length < 64) else draw(st.randoms()).randbytes(length)
    sizes, left = [], length
    while left:
        size = draw(st.integers(min(MIN_CHUNK_SIZE, left), left))
        sizes.append(size)
        left -= size
    return payload, sizes


PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(chunked_bodies(), st.integers(1, 70000), st.integers(1, 9000))
def test_any_chunking_and_read_pattern_decodes_to_the_body(body, size, step):
    payload, sizes = body
    raw = signed_body(payload, sizes)
    reader = signed_reader(raw, len(payload), step=step)
    assert read_all(reader, size) == (payload, None)


@PROPERTY
@given(chunked_bodies(), st.integers(1, 9000))
def test_unsigned_trailer_bodies_decode_at_any_read_pattern(body, step):
    payload, sizes = body
    raw = unsigned_body(payload, max(sizes[:1] + [MIN_CHUNK_SIZE]))
    chunked = AwsChunkedReader(TrickleInput(raw, step), len(payload),
                               trailer_names=['x-amz-checksum-crc32c'])
    checked = VerifyingReader(
        chunked, len(payload),
        ChecksumRequest('CRC32C', trailer='x-amz-checksum-crc32c'),
        trailers_source=lambda: chunked.trailers)
    assert read_all(checked) == (payload, None)


def corrupted(raw, data):
    position = data.draw(st.integers(0, len(raw) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != raw[position]))
    return raw[:position] + bytes([value]) + raw[position + 1:]


@PROPERTY
@given(chunked_bodies(), st.data())
def test_any_single_byte_corruption_of_a_signed_body_is_refused(body, data):
    """Refused before the last byte, or (a hex digit's case changed) the
    very same body: never a different body accepted."""
    payload, sizes = body
    trailers = {'x-amz-checksum-crc32c': 'AAAAAA=='}
    raw = corrupted(signed_body(payload, sizes, trailers=trailers), data)
    reader = signed_reader(raw, len(payload), trailers=list(trailers),
                           signed_trailer=True)
    got, err = read_all(reader)
    if err is None:
        assert got == payload and reader.trailers['x-amz-checksum-crc32c'] \
            == 'AAAAAA=='
    else:
        assert len(got) < len(payload) or not payload


@PROPERTY
@given(chunked_bodies(), st.data())
def test_any_single_byte_corruption_of_an_unsigned_body_is_refused(body,
                                                                   data):
    """The trailer checksum guards what no signature does."""
    payload, sizes = body
    raw = corrupted(unsigned_body(payload, max(sizes[:1] + [MIN_CHUNK_SIZE])),
                    data)
    chunked = AwsChunkedReader(io.BytesIO(raw), len(payload),
                               trailer_names=['x-amz-checksum-crc32c'])
    checked = VerifyingReader(
        chunked, len(payload),
        ChecksumRequest('CRC32C', trailer='x-amz-checksum-crc32c'),
        trailers_source=lambda: chunked.trailers)
    got, err = read_all(checked)
    if err is None:
        assert got == payload
    else:
        assert len(got) < len(payload) or not payload


def decoding_app(environ, start_response):
    """Reads an aws-chunked body as the proxy's object PUT does (bounded
    reads until the decoded length, a ValueError being a failed client
    read) and answers what it got: ``OK <sha256>`` or ``<S3 code> <bytes
    handed over before the refusal>``."""
    length = parse_decoded_length(
        environ.get('HTTP_X_AMZ_DECODED_CONTENT_LENGTH'))
    chunked = AwsChunkedReader(
        environ['wsgi.input'], length, seed_signature=AWS_SEED,
        sign_chunk=AWS_SIGNER.sign_chunk, sign_trailer=AWS_SIGNER.sign_trailer,
        trailer_names=['x-amz-checksum-crc32c'])
    reader = VerifyingReader(
        chunked, length,
        ChecksumRequest('CRC32C', trailer='x-amz-checksum-crc32c'),
        trailers_source=lambda: chunked.trailers)
    received = hashlib.sha256()
    count = 0
    try:
        if length == 0:
            reader.read()
        while count < length:
            data = reader.read(min(65536, length - count))
            if not data:
                break
            received.update(data)
            count += len(data)
    except ValueError:
        error = chunked.error or reader.error
        start_response('400 Bad Request', [('Content-Type', 'text/plain')])
        return [b'%s %d' % (error.code.encode(), count)]
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'OK ' + received.hexdigest().encode()]


@pytest.fixture(scope='module')
def decoding_server():
    server = serve_in_thread(decoding_app)
    yield server
    server.stop()


def put_in_pieces(server, raw, decoded_length, piece, http_chunked=False):
    """PUT ``raw`` over a real socket, ``piece`` bytes per send (with
    TCP_NODELAY, so the server's reads straddle the chunk framing)."""
    conn = http.client.HTTPConnection('127.0.0.1', server.port, timeout=30)
    try:
        conn.putrequest('PUT', '/bucket/object')
        conn.putheader('Content-Encoding', 'aws-chunked')
        conn.putheader('X-Amz-Decoded-Content-Length', str(decoded_length))
        if http_chunked:
            conn.putheader('Transfer-Encoding', 'chunked')
        else:
            conn.putheader('Content-Length', str(len(raw)))
        conn.endheaders()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(raw), piece):
            data = raw[start:start + piece]
            conn.send(b'%x\r\n%s\r\n' % (len(data), data) if http_chunked
                      else data)
        if http_chunked:
            conn.send(b'0\r\n\r\n')
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def crc32c_b64(payload):
    """botocore's CRC32C of ``payload``."""
    checksum = CrtCrc32cChecksum()
    checksum.update(payload)
    return checksum.b64digest()


@pytest.mark.parametrize('piece', [1, 7, 1000, 70000])
@pytest.mark.parametrize('http_chunked', [False, True])
def test_framing_across_socket_reads(decoding_server, piece, http_chunked):
    payload = bytes(range(251)) * 200
    raw = signed_body(payload, [16384, 16384, len(payload) - 32768],
                      trailers={'x-amz-checksum-crc32c': crc32c_b64(payload)})
    assert put_in_pieces(decoding_server, raw, len(payload), piece,
                         http_chunked) == (
        200, b'OK ' + hashlib.sha256(payload).hexdigest().encode())


@pytest.mark.parametrize('trailer, code', [
    ('AAAAAA==', b'BadDigest'), (None, b'SignatureDoesNotMatch')])
def test_a_bad_body_over_a_socket_is_refused_before_its_end(
        decoding_server, trailer, code):
    payload = b'k' * 20000
    raw = signed_body(payload, [10000, 10000], trailers={
        'x-amz-checksum-crc32c': trailer or crc32c_b64(payload)})
    if trailer is None:
        raw = raw.replace(b'k' * 10, b'K' * 10, 1)
    status, body = put_in_pieces(decoding_server, raw, len(payload), 999)
    got_code, handed_over = body.split()
    assert (status, got_code) == (400, code)
    assert int(handed_over) < len(payload)


def test_open_streaming_body_picks_the_checks_of_each_mode():
    payload = b'm' * 9000
    trailers = {'x-amz-checksum-crc32c': crc32c_b64(payload)}
    signed = signed_body(payload, [9000])
    signed_trailer = signed_body(payload, [9000], trailers=trailers)
    unsigned = unsigned_body(payload, 9000)
    cases = [(STREAMING_SIGNED, signed, ()),
             (STREAMING_SIGNED_TRAILER, signed_trailer, list(trailers)),
             (STREAMING_UNSIGNED_TRAILER, unsigned, list(trailers))]
    for mode, raw, names in cases:
        reader = open_streaming_body(io.BytesIO(raw), mode, 9000, names,
                                     AWS_SEED, AWS_SIGNER)
        assert read_all(reader) == (payload, None), mode
    # the signed modes check what the unsigned one cannot
    tampered = signed.replace(b'm' * 5, b'n' * 5, 1)
    reader = open_streaming_body(io.BytesIO(tampered), STREAMING_SIGNED,
                                 9000, (), AWS_SEED, AWS_SIGNER)
    assert read_all(reader)[1].code == 'SignatureDoesNotMatch'


def test_signed_chunks_without_a_signer_are_not_implemented():
    with pytest.raises(S3InputError) as err:
        open_streaming_body(io.BytesIO(b''), STREAMING_SIGNED, 0)
    assert (err.value.code, err.value.message) == (
        'NotImplemented', 'Transferring payloads in multiple chunks using '
        'aws-chunked is not supported.')
