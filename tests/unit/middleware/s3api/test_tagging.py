"""The pure rules of s3api's tagging module: parsing, S3's limits and
the stored form split over header lines."""

import pytest

from objstore.middleware.s3api import tagging
from objstore.middleware.s3api.errors import S3Error


def code_of(call, *args):
    with pytest.raises(S3Error) as caught:
        call(*args)
    return caught.value.code, caught.value.status


def test_header_form_is_url_query():
    assert tagging.parse_tagging_header('a=1&b=%C3%A9+x&c') == [
        ('a', '1'), ('b', 'é x'), ('c', '')]


def test_header_duplicates_and_limits():
    assert code_of(tagging.parse_tagging_header, 'a=1&a=2') == (
        'InvalidArgument', 400)
    assert code_of(tagging.parse_tagging_header, '&'.join(
        'k%d=v' % n for n in range(11))) == ('BadRequest', 400)
    assert code_of(tagging.parse_tagging_header, 'aws%3Ax=1') == (
        'InvalidTag', 400)


def test_bucket_limits_differ_from_objects():
    fifty = [('k%d' % n, 'v') for n in range(50)]
    tagging.check_tags(fifty, tagging.MAX_BUCKET_TAGS, bucket=True)
    assert code_of(tagging.check_tags, fifty + [('x', 'y')],
                   tagging.MAX_BUCKET_TAGS, True) == ('InvalidTag', 400)


def test_lengths_count_characters_not_bytes():
    tagging.check_tags([('é' * 128, 'ü' * 256)], 10)
    assert code_of(tagging.check_tags, [('é' * 129, '')], 10) == (
        'InvalidTag', 400)
    assert code_of(tagging.check_tags, [('k', 'ü' * 257)], 10) == (
        'InvalidTag', 400)


@pytest.mark.parametrize('body', [
    b'not xml', b'<Tagging/>', b'<Other><TagSet/></Other>',
    b'<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>',
    b'<Tagging><TagSet><Bad/></TagSet></Tagging>'])
def test_malformed_xml(body):
    assert code_of(tagging.parse_tagging_xml, body, 10) == (
        'MalformedXML', 400)


def test_largest_tag_set_round_trips_through_chunks():
    tags = [('k%d' % n + '漢' * 126, '字' * 256) for n in range(10)]
    headers = tagging.split_value(tagging.OBJECT_SYSMETA,
                                  tagging.encode_tags(tags))
    assert all(len(value) <= tagging.CHUNK_LENGTH
               for value in headers.values())
    assert tagging.object_tags(headers) == tags


def test_transient_value_wins_and_empty_list_means_deleted():
    headers = tagging.split_value(tagging.OBJECT_SYSMETA,
                                  tagging.encode_tags([('a', '1')]))
    assert tagging.count_header(headers) == {'x-amz-tagging-count': '1'}
    headers.update(tagging.split_value(tagging.OBJECT_TRANSIENT, '[]'))
    assert tagging.object_tags(headers) == []
    assert tagging.count_header(headers) == {}


def test_damaged_value_reads_as_no_tags():
    assert tagging.decode_tags('{not json') == []
    assert tagging.decode_tags('{"a": 1}') == []
