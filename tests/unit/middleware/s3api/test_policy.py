"""Bucket policy documents (policy_doc): what is refused as malformed,
and how statements are evaluated; and bucket_config's split of long
documents over sysmeta keys. Pure: no I/O."""

import json

import pytest

from objstore.middleware.s3api import bucket_config
from objstore.middleware.s3api.policy import action_of
from objstore.middleware.s3api.policy_doc import (
    ALLOW, DENY, PolicyError, RequestFacts, evaluate, is_public,
    parse_policy)


def policy(*statements):
    return json.dumps({'Version': '2012-10-17',
                       'Statement': list(statements)})


def statement(**fields):
    base = {'Effect': 'Allow', 'Principal': '*', 'Action': 's3:GetObject',
            'Resource': 'arn:aws:s3:::b/*'}
    base.update(fields)
    return {name: value for name, value in base.items() if value is not None}


def facts(action='s3:GetObject', resource='arn:aws:s3:::b/k',
          principals=(), source_ip='192.0.2.7', prefix=None):
    return RequestFacts(frozenset(principals), action, resource, source_ip,
                        prefix)


@pytest.mark.parametrize('document, message', [
    ('{', "first byte must be '{'"),
    ('"x"', "first byte must be '{'"),
    ('{"Version": "2020-01-01", "Statement": []}', 'valid version'),
    ('{"Statement": []}', 'Statement is empty'),
    (policy(statement(Effect='allow')), 'Invalid effect: allow'),
    (policy(statement(Principal=None)), 'Missing required field Principal'),
    (policy(statement(Principal={'Service': 'x'})), 'Invalid principal'),
    (policy(statement(Action='iam:PassRole')), 'invalid action'),
    (policy(statement(Action=[])), 'Invalid action'),
    (policy(statement(Resource='arn:aws:s3:::c/*')), 'invalid resource'),
    (policy(statement(Resource='b/*')), 'invalid resource'),
    (policy(statement(NotAction='s3:GetObject')), 'NotAction'),
    (policy(statement(Condition={'DateEquals': {'aws:x': '1'}})),
     'Invalid Condition type'),
    (policy(statement(Condition={'StringEquals': {'aws:SourceIp': 'x'}})),
     'invalid condition key'),
    (policy(statement(Condition={'IpAddress': {'aws:SourceIp': '1.2.3'}})),
     'Invalid IP address'),
])
def test_malformed(document, message):
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, 'b')
    assert message in str(caught.value)


def test_principals_and_wildcards():
    statements = parse_policy(policy(
        statement(Principal={'AWS': ['test:tester',
                                     'arn:aws:iam::AUTH_x:root']},
                  Action='s3:Get*', Resource='arn:aws:s3:::b/pub/??')), 'b')
    assert evaluate(statements, facts(
        resource='arn:aws:s3:::b/pub/ab', principals=['test:tester'])) == \
        ALLOW
    assert evaluate(statements, facts(
        resource='arn:aws:s3:::b/pub/ab',
        principals=['arn:aws:iam::AUTH_x:root'])) == ALLOW
    # Anonymous, another user, a longer key, a write: no statement.
    assert evaluate(statements, facts(resource='arn:aws:s3:::b/pub/ab')) \
        is None
    assert evaluate(statements, facts(
        resource='arn:aws:s3:::b/pub/ab', principals=['test:other'])) is None
    assert evaluate(statements, facts(
        resource='arn:aws:s3:::b/pub/abc', principals=['test:tester'])) \
        is None
    assert evaluate(statements, facts(
        action='s3:PutObject', resource='arn:aws:s3:::b/pub/ab',
        principals=['test:tester'])) is None


def test_explicit_deny_wins_in_any_order():
    deny = statement(Effect='Deny', Principal={'AWS': '*'}, Action='s3:*',
                     Condition={'IpAddress': {
                         'aws:SourceIp': ['192.0.2.0/24']}})
    for order in ((statement(), deny), (deny, statement())):
        statements = parse_policy(policy(*order), 'b')
        assert evaluate(statements, facts()) == DENY
        assert evaluate(statements, facts(source_ip='198.51.100.1')) == ALLOW


def test_not_ip_address_and_ipv6():
    statements = parse_policy(policy(statement(
        Condition={'NotIpAddress': {'aws:SourceIp': ['2001:db8::/32']}})),
        'b')
    assert evaluate(statements, facts(source_ip='2001:db8::1')) is None
    assert evaluate(statements, facts(source_ip='192.0.2.1')) == ALLOW


@pytest.mark.parametrize('operator, value, prefix, expected', [
    ('StringEquals', 'docs/', 'docs/', ALLOW),
    ('StringEquals', 'docs/', 'doc', None),
    ('StringEquals', 'docs/', None, None),
    ('StringLike', 'docs/*', 'docs/2024/', ALLOW),
    ('StringNotLike', 'private*', 'privates', None),
    ('StringNotEquals', 'private/', None, ALLOW),
])
def test_prefix_conditions(operator, value, prefix, expected):
    statements = parse_policy(policy(statement(
        Action='s3:ListBucket', Resource='arn:aws:s3:::b',
        Condition={operator: {'s3:prefix': value}})), 'b')
    assert evaluate(statements, facts(
        action='s3:ListBucket', resource='arn:aws:s3:::b',
        prefix=prefix)) == expected


def test_is_public():
    assert is_public(parse_policy(policy(statement()), 'b'))
    assert not is_public(parse_policy(policy(statement(
        Condition={'IpAddress': {'aws:SourceIp': '10.0.0.0/8'}})), 'b'))
    assert not is_public(parse_policy(policy(statement(
        Principal={'AWS': 'test:tester'})), 'b'))


def test_actions_of_operations():
    assert [action_of(name) for name in (
        'ListObjects', 'HeadObject', 'UploadPart', 'PutBucketPolicy',
        'GetBucketCors')] == ['s3:ListBucket', 's3:GetObject',
                              's3:PutObject', 's3:PutBucketPolicy',
                              's3:GetBucketCORS']


def test_long_documents_split_over_sysmeta_keys():
    document = 'x' * (bucket_config.PIECE * 2 + 5)
    headers = bucket_config.store_headers('S3api-Policy', document)
    assert len(headers) == bucket_config.MAX_PIECES
    assert all(len(value) <= bucket_config.PIECE
               for value in headers.values())
    assert bucket_config.stored_in_headers(headers, 'S3api-Policy') == \
        document
    removed = bucket_config.store_headers('S3api-Policy', '')
    assert set(removed.values()) == {''}
    assert bucket_config.stored_in_headers(removed, 'S3api-Policy') == ''
    with pytest.raises(ValueError):
        bucket_config.store_headers('S3api-Policy',
                                    'x' * (bucket_config.MAX_DOCUMENT + 1))
