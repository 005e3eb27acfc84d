"""The pure parts of s3api's attributes module: the attribute list, the
storage class rule and the parts page."""

import pytest

from objstore.middleware.s3api import attributes
from objstore.middleware.s3api.errors import S3Error


def test_attribute_names_in_s3_order():
    assert attributes.parse_attributes(
        'ObjectSize,StorageClass , ETag,ObjectParts,Checksum') == list(
        attributes.ATTRIBUTES)


@pytest.mark.parametrize('value', [None, '', ' ', 'ETag,Colour'])
def test_missing_or_unknown_attributes(value):
    with pytest.raises(S3Error) as caught:
        attributes.parse_attributes(value)
    assert (caught.value.code, caught.value.status) == ('InvalidArgument',
                                                         400)


def test_only_standard_storage_class():
    attributes.check_storage_class({})
    attributes.check_storage_class({'x-amz-storage-class': 'STANDARD'})
    with pytest.raises(S3Error) as caught:
        attributes.check_storage_class({'x-amz-storage-class': 'GLACIER'})
    assert (caught.value.code, caught.value.status) == (
        'InvalidStorageClass', 400)


def test_parts_page():
    sizes = [5, 5, 5, 1]
    assert attributes.parts_page(sizes, 0, 1000) == ([1, 2, 3, 4], False)
    assert attributes.parts_page(sizes, 2, 1) == ([3], True)
    assert attributes.parts_page(sizes, 4, 10) == ([], False)
