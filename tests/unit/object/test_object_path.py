"""The object server's path parsing: its quick path for plain ASCII paths
gives what the general storage-path parser gives, errors included."""

import pytest

from objstore.common.constraints import (
    MAX_ACCOUNT_NAME_LENGTH, MAX_CONTAINER_NAME_LENGTH, MAX_OBJECT_NAME_LENGTH)
from objstore.common.exceptions import InvalidInput
from objstore.common.server_base import request_path, split_storage_path
from objstore.object.server import parse_object_target, split_object_path

PATHS = [
    '/sda/7/a/c/o',
    '/sda/7/a/c/o/with/slashes/',
    '/sda/7/a/c/./..',
    '/sda/7/AUTH_test/bench/o000001',
    '/sda/007/a/c/o',
    # Wrong shapes.
    '', 'sda/7/a/c/o', '/sda/7/a/c', '/sda/7/a/c/', '/sda/7/a//o',
    '//7/a/c/o', '/sda//a/c/o', '/sda/7//c/o',
    # Bad device or partition.
    '/./7/a/c/o', '/../7/a/c/o', '/sd\ta/7/a/c/o', '/sda/x7/a/c/o',
    '/sda/-7/a/c/o', '/sda/\xb2/a/c/o',
    # Names at and over their limits.
    '/sda/7/%s/c/o' % ('a' * MAX_ACCOUNT_NAME_LENGTH),
    '/sda/7/%s/c/o' % ('a' * (MAX_ACCOUNT_NAME_LENGTH + 1)),
    '/sda/7/a/%s/o' % ('c' * MAX_CONTAINER_NAME_LENGTH),
    '/sda/7/a/%s/o' % ('c' * (MAX_CONTAINER_NAME_LENGTH + 1)),
    '/sda/7/a/c/%s' % ('o' * MAX_OBJECT_NAME_LENGTH),
    '/sda/7/a/c/%s' % ('o' * (MAX_OBJECT_NAME_LENGTH + 1)),
    # NUL: only a reserved name may start with it.
    '/sda/7/a/\x00versions/o', '/sda/7/a/c\x00/o', '/sda/7/a/c/o\x00',
    # Non-ASCII: latin-1 text of UTF-8 bytes, and invalid UTF-8.
    '/sda/7/a/c/\xc3\xb6', '/sda/7/a/c/\xff',
    '/sda/7/a/c/%s' % ('\xc3\xb6' * (MAX_OBJECT_NAME_LENGTH // 2)),
    '/sda/7/a/c/%s' % ('\xc3\xb6' * (MAX_OBJECT_NAME_LENGTH // 2 + 1)),
]


def outcome(parse, environ):
    try:
        return parse(environ)
    except InvalidInput as err:
        return type(err), err.status, err.message


@pytest.mark.parametrize('path', PATHS)
def test_split_object_path_is_split_storage_path(path):
    environ = {'PATH_INFO': path}
    general = outcome(
        lambda env: split_storage_path(request_path(env), 5, 5), environ)
    assert outcome(split_object_path, environ) == general


def test_policy_index_from_the_environ():
    environ = {'PATH_INFO': '/sda/7/a/c/o',
               'HTTP_X_BACKEND_STORAGE_POLICY_INDEX': '2'}
    assert parse_object_target(environ).policy_index == 2
    del environ['HTTP_X_BACKEND_STORAGE_POLICY_INDEX']
    assert parse_object_target(environ).policy_index == 0
    environ['HTTP_X_BACKEND_STORAGE_POLICY_INDEX'] = '\xb2'
    with pytest.raises(InvalidInput):
        parse_object_target(environ)
