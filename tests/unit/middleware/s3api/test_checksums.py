"""S3 checksums: the algorithms against published check values and
botocore, header parsing with AWS's messages, the verifying reader, and
the multipart sums."""

import base64
import hashlib
import io

import pytest
from botocore.httpchecksum import (
    Crc32Checksum, CrtCrc32cChecksum, CrtCrc64NvmeChecksum, Sha1Checksum,
    Sha256Checksum)
from hypothesis import given, settings, strategies as st

from objstore.middleware.s3api.checksums import (
    ALGORITHMS, ChecksumRequest, S3InputError, UploadChecksum,
    VerifyingReader, composite_checksum, decode_checksum, full_object_crc,
    new_checksum, parse_checksum_headers, parse_content_md5,
    parse_upload_checksum, part_checksum_algorithm)

# The CRC catalogue's check values: each CRC of b'123456789'.
CHECK_VALUES = {'CRC32': 0xCBF43926, 'CRC32C': 0xE3069283,
                'CRC64NVME': 0xAE8B14860A799888}
BOTOCORE = {'CRC32': Crc32Checksum, 'CRC32C': CrtCrc32cChecksum,
            'CRC64NVME': CrtCrc64NvmeChecksum, 'SHA1': Sha1Checksum,
            'SHA256': Sha256Checksum}


def b64_of(algorithm, data):
    checksum = new_checksum(algorithm)
    checksum.update(data)
    return checksum.digest_b64()


@pytest.mark.parametrize('algorithm', sorted(CHECK_VALUES))
def test_crcs_give_the_catalogue_check_values(algorithm):
    checksum = new_checksum(algorithm)
    checksum.update(b'123456789')
    assert int.from_bytes(checksum.digest(), 'big') == (
        CHECK_VALUES[algorithm])


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(sorted(ALGORITHMS)), st.lists(st.binary(max_size=300),
                                                     max_size=6))
def test_streaming_matches_botocore_one_shot(algorithm, pieces):
    checksum = new_checksum(algorithm)
    for piece in pieces:
        checksum.update(piece)
    theirs = BOTOCORE[algorithm]()
    theirs.update(b''.join(pieces))
    assert checksum.digest_b64() == theirs.b64digest()


def test_sha_digests_are_hashlibs():
    assert b64_of('SHA256', b'abc') == base64.b64encode(
        hashlib.sha256(b'abc').digest()).decode()


@pytest.mark.parametrize('value', ['NSRBwg=', 'NSRBwg', 'NSRBwg===',
                                   'NSRBwgAA', 'NSR*wg==', '', 'NSRBwh=='])
def test_decode_checksum_refuses_other_shapes(value):
    with pytest.raises(ValueError):
        decode_checksum('CRC32', value)


def invalid_request(headers):
    with pytest.raises(S3InputError) as err:
        parse_checksum_headers(headers)
    assert err.value.code == 'InvalidRequest'
    return err.value.message


def test_checksum_header_parsing_accepts_what_sdks_send():
    assert parse_checksum_headers({
        'X-Amz-Checksum-Sha256': b64_of('SHA256', b''),
        'x-amz-sdk-checksum-algorithm': 'sha256'}) == ChecksumRequest(
        'SHA256', value=b64_of('SHA256', b''))
    assert parse_checksum_headers({
        'x-amz-trailer': 'x-amz-checksum-crc64nvme',
        'x-amz-sdk-checksum-algorithm': 'CRC64NVME'}) == ChecksumRequest(
        'CRC64NVME', trailer='x-amz-checksum-crc64nvme')
    assert parse_checksum_headers({'content-type': 'a/b'}) == (
        ChecksumRequest())
    # the multipart headers are not checksum values
    assert parse_checksum_headers({'x-amz-checksum-type': 'COMPOSITE',
                                   'x-amz-checksum-algorithm': 'CRC32'}) == (
        ChecksumRequest())


@pytest.mark.parametrize('headers, message', [
    ({'x-amz-checksum-md5': 'AAAA'},
     'The algorithm type you specified in x-amz-checksum- header is '
     'invalid.'),
    ({'x-amz-checksum-crc32': 'NSRBwg==', 'x-amz-checksum-crc32c': 'AAAAAA=='},
     'Expecting a single x-amz-checksum- header. Multiple checksum Types '
     'are not allowed.'),
    ({'x-amz-trailer': 'x-amz-checksum-md5'},
     'The value specified in the x-amz-trailer header is not supported'),
    ({'x-amz-trailer': 'x-amz-checksum-crc32',
      'x-amz-checksum-crc32': 'NSRBwg=='},
     'Expecting a single x-amz-checksum- header'),
    ({'x-amz-checksum-crc32': 'NSRBwg'},
     'Value for x-amz-checksum-crc32 header is invalid.'),
    ({'x-amz-checksum-sha1': 'NSRBwg=='},
     'Value for x-amz-checksum-sha1 header is invalid.'),
    ({'x-amz-sdk-checksum-algorithm': 'CRC32'},
     'x-amz-sdk-checksum-algorithm specified, but no corresponding '
     'x-amz-checksum-* or x-amz-trailer headers were found.'),
    ({'x-amz-sdk-checksum-algorithm': 'CRC32',
      'x-amz-checksum-crc32c': 'AAAAAA=='},
     'Value for x-amz-sdk-checksum-algorithm header is invalid.'),
])
def test_checksum_header_refusals_say_what_aws_says(headers, message):
    assert invalid_request(headers) == message


@pytest.mark.parametrize('headers, expected', [
    ({'x-amz-checksum-algorithm': 'crc32'}, UploadChecksum('CRC32',
                                                           'COMPOSITE')),
    ({'x-amz-checksum-algorithm': 'CRC32C',
      'x-amz-checksum-type': 'FULL_OBJECT'},
     UploadChecksum('CRC32C', 'FULL_OBJECT')),
    ({'x-amz-checksum-algorithm': 'CRC64NVME'},
     UploadChecksum('CRC64NVME', 'FULL_OBJECT')),
    ({'x-amz-checksum-algorithm': 'SHA256'}, UploadChecksum('SHA256',
                                                            'COMPOSITE')),
    ({}, UploadChecksum()),
])
def test_upload_checksum_defaults(headers, expected):
    assert parse_upload_checksum(headers) == expected


@pytest.mark.parametrize('headers, message', [
    ({'x-amz-checksum-algorithm': 'SHA256',
      'x-amz-checksum-type': 'FULL_OBJECT'},
     'The FULL_OBJECT checksum type cannot be used with the sha256 checksum '
     'algorithm.'),
    ({'x-amz-checksum-algorithm': 'CRC64NVME',
      'x-amz-checksum-type': 'COMPOSITE'},
     'The COMPOSITE checksum type cannot be used with the crc64nvme '
     'checksum algorithm.'),
    ({'x-amz-checksum-type': 'COMPOSITE'},
     'The x-amz-checksum-type header can only be used with the '
     'x-amz-checksum-algorithm header.'),
    ({'x-amz-checksum-algorithm': 'CRC32', 'x-amz-checksum-type': 'PARTIAL'},
     'Value for x-amz-checksum-type header is invalid.'),
])
def test_upload_checksum_refusals(headers, message):
    with pytest.raises(S3InputError) as err:
        parse_upload_checksum(headers)
    assert (err.value.code, err.value.message) == ('InvalidRequest', message)


@pytest.mark.parametrize('algorithm', sorted(ALGORITHMS))
def test_composite_checksum_is_the_checksum_of_the_part_digests(algorithm):
    parts = [b'one' * 1000, b'two', b'']
    digests = [base64.b64decode(b64_of(algorithm, part)) for part in parts]
    expected = b64_of(algorithm, b''.join(digests)) + '-3'
    assert composite_checksum(
        algorithm, [b64_of(algorithm, part) for part in parts]) == expected


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(['CRC32', 'CRC32C', 'CRC64NVME']),
       st.lists(st.binary(max_size=2000), min_size=1, max_size=5))
def test_full_object_crc_is_the_crc_of_the_whole_object(algorithm, parts):
    combined = full_object_crc(
        algorithm, [(b64_of(algorithm, part), len(part)) for part in parts])
    assert combined == b64_of(algorithm, b''.join(parts))


def test_hashes_have_no_full_object_form():
    with pytest.raises(ValueError):
        full_object_crc('SHA256', [(b64_of('SHA256', b'x'), 1)])


@pytest.mark.parametrize('value', ['', 'abc', 'kAFQmDzST7DWlj99KOF/cg',
                                   'kAFQmDzST7DWlj99KOF/cgAA',
                                   'kAFQmDzST7DWlj99KOF/c*==', 'not base 64'])
def test_bad_content_md5_is_invalid_digest(value):
    with pytest.raises(S3InputError) as err:
        parse_content_md5(value)
    assert (err.value.code, err.value.message) == (
        'InvalidDigest', 'The Content-MD5 you specified was invalid.')


def read_all(reader, size=1000):
    got = []
    try:
        while True:
            data = reader.read(size)
            if not data:
                return b''.join(got), None
            got.append(data)
    except S3InputError as err:
        return b''.join(got), err


BODY = bytes(range(256)) * 20


@pytest.mark.parametrize('algorithm', sorted(ALGORITHMS))
def test_a_header_checksum_that_matches_passes_the_body(algorithm):
    request = parse_checksum_headers(
        {'x-amz-checksum-' + algorithm.lower(): b64_of(algorithm, BODY)})
    reader = VerifyingReader(io.BytesIO(BODY), len(BODY), request)
    assert read_all(reader) == (BODY, None)


@pytest.mark.parametrize('algorithm', sorted(ALGORITHMS))
def test_a_wrong_checksum_is_bad_digest_before_the_last_byte(algorithm):
    request = parse_checksum_headers(
        {'x-amz-checksum-' + algorithm.lower(): b64_of(algorithm, b'other')})
    reader = VerifyingReader(io.BytesIO(BODY), len(BODY), request)
    got, err = read_all(reader)
    assert (err.code, err.message) == (
        'BadDigest', 'The %s you specified did not match the calculated '
        'checksum.' % algorithm)
    assert len(got) < len(BODY)
    assert reader.error is err


def test_content_md5_is_checked_before_the_last_byte():
    right = parse_content_md5(base64.b64encode(
        hashlib.md5(BODY).digest()).decode())
    assert read_all(VerifyingReader(io.BytesIO(BODY), len(BODY),
                                    content_md5=right)) == (BODY, None)
    wrong = hashlib.md5(b'x').digest()
    got, err = read_all(VerifyingReader(io.BytesIO(BODY), len(BODY),
                                        content_md5=wrong))
    assert (err.code, err.message) == (
        'BadDigest',
        'The Content-MD5 you specified did not match what we received.')
    assert err.details['CalculatedDigest'] == base64.b64encode(
        hashlib.md5(BODY).digest()).decode()
    assert len(got) < len(BODY)


def test_a_malformed_trailer_value_is_invalid_request():
    request = ChecksumRequest('CRC32', trailer='x-amz-checksum-crc32')
    reader = VerifyingReader(io.BytesIO(BODY), len(BODY), request,
                             trailers_source=lambda: {
                                 'x-amz-checksum-crc32': 'nope'})
    err = read_all(reader)[1]
    assert (err.code, err.message) == (
        'InvalidRequest',
        'Value for x-amz-checksum-crc32 trailing header is invalid.')


def test_an_empty_body_is_checked_on_the_first_read():
    request = ChecksumRequest('CRC32', value=b64_of('CRC32', b'x'))
    err = read_all(VerifyingReader(io.BytesIO(b''), 0, request))[1]
    assert err.code == 'BadDigest'
    request = ChecksumRequest('CRC32', value=b64_of('CRC32', b''))
    assert read_all(VerifyingReader(io.BytesIO(b''), 0, request)) == (
        b'', None)


@pytest.mark.parametrize('upload, part, expected', [
    (UploadChecksum(), ChecksumRequest(), None),
    (UploadChecksum(), ChecksumRequest('SHA1', value='x'), 'SHA1'),
    (UploadChecksum('CRC32', 'COMPOSITE'), ChecksumRequest('CRC32', 'x'),
     'CRC32'),
    (UploadChecksum('CRC32', 'FULL_OBJECT'), ChecksumRequest(), 'CRC32'),
    (UploadChecksum('CRC32', 'COMPOSITE'), ChecksumRequest(), 'mismatch'),
    (UploadChecksum('CRC32', 'FULL_OBJECT'), ChecksumRequest('CRC32C', 'x'),
     'mismatch'),
])
def test_part_checksum_algorithm_follows_the_upload(upload, part, expected):
    if expected != 'mismatch':
        assert part_checksum_algorithm(upload, part) == expected
        return
    with pytest.raises(S3InputError) as err:
        part_checksum_algorithm(upload, part)
    assert err.value.code == 'InvalidRequest'
    assert err.value.message.startswith('Checksum Type mismatch occurred.')


def test_a_checksum_is_computed_when_none_was_asked():
    reader = VerifyingReader(io.BytesIO(BODY), len(BODY),
                             compute_algorithm='CRC64NVME')
    assert reader.computed is None
    assert read_all(reader) == (BODY, None)
    assert reader.computed == ('CRC64NVME', b64_of('CRC64NVME', BODY))


def test_the_asked_checksum_is_the_one_computed():
    request = ChecksumRequest('SHA1', value=b64_of('SHA1', BODY))
    reader = VerifyingReader(io.BytesIO(BODY), len(BODY), request,
                             compute_algorithm='CRC64NVME')
    assert read_all(reader) == (BODY, None)
    assert reader.computed == ('SHA1', b64_of('SHA1', BODY))


def test_nothing_is_computed_for_a_refused_body():
    request = ChecksumRequest('SHA1', value=b64_of('SHA1', b'other'))
    reader = VerifyingReader(io.BytesIO(BODY), len(BODY), request)
    assert read_all(reader)[1].code == 'BadDigest'
    assert reader.computed is None
