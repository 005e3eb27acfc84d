"""Bucket CORS rules (cors module): parsing a CORSConfiguration, what a
rule allows, and the stored form. Pure: no I/O."""

import pytest

from objstore.middleware.s3api.cors import (
    CorsRule, configuration_xml, parse_configuration, rules_from_json,
    rules_to_json)
from objstore.middleware.s3api.errors import S3Error


def document(*rules):
    return ('<CORSConfiguration>%s</CORSConfiguration>' % ''.join(
        '<CORSRule>%s</CORSRule>' % rule for rule in rules)).encode()


FULL_RULE = ('<ID>r1</ID><AllowedOrigin>https://*.example.com</AllowedOrigin>'
             '<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT'
             '</AllowedMethod><AllowedHeader>X-Amz-*</AllowedHeader>'
             '<ExposeHeader>ETag</ExposeHeader>'
             '<MaxAgeSeconds>30</MaxAgeSeconds>')


def test_parse_and_store_round_trip():
    rules = parse_configuration(document(FULL_RULE))
    assert rules == [CorsRule(
        origins=('https://*.example.com',), methods=('GET', 'PUT'),
        headers=('X-Amz-*',), expose=('ETag',), max_age=30, rule_id='r1')]
    assert rules_from_json(rules_to_json(rules)) == rules
    assert parse_configuration(configuration_xml(rules)) == rules


@pytest.mark.parametrize('body, code', [
    (b'<CORSConfiguration>', 'MalformedXML'),
    (b'<Other/>', 'MalformedXML'),
    (document(), 'MalformedXML'),
    (document('<AllowedMethod>GET</AllowedMethod>'), 'MalformedXML'),
    (document('<AllowedOrigin>*</AllowedOrigin>'), 'MalformedXML'),
    (document('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET'
              '</AllowedMethod><MaxAgeSeconds>x</MaxAgeSeconds>'),
     'MalformedXML'),
    (document('<AllowedOrigin>*</AllowedOrigin><AllowedMethod>OPTIONS'
              '</AllowedMethod>'), 'InvalidRequest'),
    (document('<AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET'
              '</AllowedMethod>'), 'InvalidRequest'),
    (document(*['<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET'
                '</AllowedMethod>'] * 101), 'InvalidRequest'),
])
def test_refused_configurations(body, code):
    with pytest.raises(S3Error) as caught:
        parse_configuration(body)
    assert caught.value.code == code


def test_what_a_rule_allows():
    rule = parse_configuration(document(FULL_RULE))[0]
    assert rule.allows('https://app.example.com', 'PUT',
                       ('x-amz-date', 'x-amz-meta-a'))
    assert not rule.allows('https://app.example.com', 'PUT',
                           ('content-type',))
    assert not rule.allows('https://app.example.com', 'DELETE')
    assert not rule.allows('http://app.example.com', 'GET')
    assert rule.allow_origin('https://app.example.com') == \
        'https://app.example.com'
    everyone = CorsRule(('*',), ('GET',))
    assert everyone.allows('null', 'GET')
    assert everyone.allow_origin('https://x.org') == '*'
