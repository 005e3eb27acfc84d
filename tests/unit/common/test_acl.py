"""Container and account ACLs (common.acl): Swift's syntax, cleaning,
referrer and group matching, account ACL JSON and levels. Pure."""

import doctest
import json

import pytest

from objstore.common import acl
from objstore.common.acl import (
    account_acl_allows, account_acl_level, clean_acl, format_account_acl,
    format_acl, group_allowed, parse_account_acl, parse_acl,
    referrer_allowed)


def test_doctests():
    assert doctest.testmod(acl).failed == 0


@pytest.mark.parametrize('raw,clean', [
    ('.r:*', '.r:*'),
    ('.ref:example.com, .rlistings', '.r:example.com,.rlistings'),
    ('.referrer:*.example.com', '.r:.example.com'),
    ('.r:-bad.com', '.r:-bad.com'),
    ('test:tester,  test2:*', 'test:tester,test2:*'),
])
def test_clean_acl_read(raw, clean):
    assert clean_acl('X-Container-Read', raw) == clean


@pytest.mark.parametrize('name,raw', [
    ('X-Container-Read', '.r:'),
    ('X-Container-Read', '.r:-*'),
    ('X-Container-Read', '.bogus'),
    ('X-Container-Write', '.r:*'),
    ('X-Container-Write', '.rlistings'),
])
def test_clean_acl_rejects(name, raw):
    with pytest.raises(ValueError):
        clean_acl(name, raw)


def test_parse_acl_and_referrers():
    assert parse_acl('.r:*,.rlistings,a:b') == (['*'], ['.rlistings', 'a:b'])
    assert parse_acl(None) == ([], [])
    assert referrer_allowed('http://x.example.com/p', ['.example.com'])
    assert referrer_allowed('http://example.com/p', ['.example.com'])
    assert not referrer_allowed('http://badexample.com/', ['.example.com'])
    assert referrer_allowed('http://a.com/', ['a.com'])
    assert not referrer_allowed('http://b.com/', ['a.com'])
    assert referrer_allowed(None, ['*'])
    assert not referrer_allowed('http://bad.com/', ['*', '-bad.com'])
    assert referrer_allowed('http://good.com/', ['*', '-bad.com'])


def test_group_allowed_forms():
    assert group_allowed(['test', 'test:tester3'], ['test:tester3'])
    assert group_allowed(['test', 'test:tester3'], ['test:*'])
    assert group_allowed(['test', 'test:tester3'], ['test'])
    assert not group_allowed(['test2', 'test2:tester2'], ['test:*'])
    assert not group_allowed(['test2', 'test2:tester2'], ['test:tester2'])


@pytest.mark.parametrize('groups,referrers', [
    ([], []), (['a:b'], []), ([], ['*']), (['.rlistings', 'a', 'b:*'],
                                            ['.example.com', '-bad.com']),
])
def test_format_then_parse_round_trips(groups, referrers):
    value = format_acl(groups, referrers)
    assert clean_acl('X-Container-Read', value) == value
    assert parse_acl(value) == (referrers, groups)


@pytest.mark.parametrize('value,expected', [
    ('', {}), ('  ', {}), ('{}', {}),
    ('{"admin": ["a:b"], "read-only": []}', {'admin': ['a:b']}),
    ('{"read-write": ["test", "test2:*"]}',
     {'read-write': ['test', 'test2:*']}),
])
def test_parse_account_acl(value, expected):
    assert parse_account_acl(value) == expected


@pytest.mark.parametrize('value,reason', [
    ('not json', "Syntax error in input ('not json')"),
    ('["admin"]', """Syntax error in input ('["admin"]')"""),
    ('null', "Syntax error in input ('null')"),
    ('{"admin": "a:b", "owner": ["a"]}', 'Key "owner" not recognized'),
    ('{"read-only": "a", "admin": "a:b"}',
     'Value for key "admin" must be a list'),
    ('{"admin": [1]}', 'Elements of "admin" list must be strings'),
])
def test_parse_account_acl_rejects_with_swifts_reason(value, reason):
    with pytest.raises(ValueError) as raised:
        parse_account_acl(value)
    assert str(raised.value) == reason


def test_format_account_acl_is_canonical_and_parses_back():
    acl_dict = {'read-write': ['b'], 'admin': ['a:b'], 'read-only': []}
    text = format_account_acl(acl_dict)
    assert text == '{"admin":["a:b"],"read-write":["b"]}'
    assert parse_account_acl(text) == {'admin': ['a:b'], 'read-write': ['b']}
    assert json.loads(format_account_acl({'admin': ['\u00e9']})) == {
        'admin': ['\u00e9']}
    assert format_account_acl({'admin': ['\u00e9']}).isascii()


def test_account_acl_level_takes_the_strongest_grant():
    acl_dict = {'read-only': ['test:*'], 'read-write': ['test:tester3'],
                'admin': ['test2']}
    assert account_acl_level(acl_dict, ['test', 'test:tester']) == \
        'read-only'
    assert account_acl_level(acl_dict, ['test', 'test:tester3']) == \
        'read-write'
    assert account_acl_level(acl_dict, ['test2', 'test2:tester2']) == \
        'admin'
    assert account_acl_level(acl_dict, ['test3', 'test3:x']) is None
    assert account_acl_level({}, ['test', 'test:tester']) is None


@pytest.mark.parametrize('level,method,container,allowed', [
    (None, 'GET', None, False),
    ('read-only', 'GET', None, True),
    ('read-only', 'HEAD', 'c', True),
    ('read-only', 'PUT', 'c', False),
    ('read-only', 'POST', None, False),
    ('read-write', 'PUT', 'c', True),
    ('read-write', 'DELETE', 'c', True),
    ('read-write', 'POST', None, False),
    ('admin', 'POST', None, True),
    ('admin', 'DELETE', 'c', True),
])
def test_account_acl_allows(level, method, container, allowed):
    assert account_acl_allows(level, method, container) is allowed
