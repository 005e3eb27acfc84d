"""Lifecycle rules (pure): what S3 refuses, what is stored and shown, and
when each action is due."""

import pytest

from objstore.middleware.s3api import lifecycle_rules as lr
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.xmlio import parse_xml

DAY = 10


def doc(*rules):
    return ('<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/'
            '2006-03-01/">%s</LifecycleConfiguration>'
            % ''.join('<Rule>%s</Rule>' % rule for rule in rules)).encode()


def refusal(body):
    with pytest.raises(S3Error) as caught:
        lr.parse_configuration(body)
    return caught.value.code, caught.value.message


EXPIRE = '<Expiration><Days>1</Days></Expiration>'
ENABLED = '<Status>Enabled</Status>'


@pytest.mark.parametrize('rule, code', [
    ('<ID>a</ID><Status>On</Status><Filter/>' + EXPIRE, 'MalformedXML'),
    ('<ID>a</ID>' + ENABLED + EXPIRE, 'MalformedXML'),  # no filter/prefix
    ('<ID>a</ID>' + ENABLED + '<Filter/><Prefix/>' + EXPIRE, 'MalformedXML'),
    (ENABLED + '<Filter><Prefix>a</Prefix><Prefix>b</Prefix></Filter>' +
     EXPIRE, 'MalformedXML'),
    (ENABLED + '<Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v'
     '</Value></Tag></Filter>' + EXPIRE, 'MalformedXML'),  # needs And
    (ENABLED + '<Filter/><Expiration><Days>1</Days><Date>2030-01-01T00:00'
     ':00Z</Date></Expiration>', 'MalformedXML'),
    (ENABLED + '<Filter/><Expiration><Days>x</Days></Expiration>',
     'MalformedXML'),
    (ENABLED + '<Filter/><Bogus/>' + EXPIRE, 'MalformedXML'),
    (ENABLED + '<Filter/>', 'InvalidRequest'),
    (ENABLED + '<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>'
     '<AbortIncompleteMultipartUpload><DaysAfterInitiation>1'
     '</DaysAfterInitiation></AbortIncompleteMultipartUpload>',
     'InvalidRequest'),
    (ENABLED + '<Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag>'
     '<Key>k</Key><Value>2</Value></Tag></And></Filter>' + EXPIRE,
     'InvalidRequest'),
    (ENABLED + '<Filter><And><ObjectSizeGreaterThan>10'
     '</ObjectSizeGreaterThan><ObjectSizeLessThan>5</ObjectSizeLessThan>'
     '</And></Filter>' + EXPIRE, 'InvalidArgument'),
    (ENABLED + '<Filter/><Transition><Days>1</Days></Transition>',
     'NotImplemented'),
])
def test_refused_rules(rule, code):
    assert refusal(doc(rule))[0] == code


def test_refused_documents():
    assert refusal(b'nope')[0] == 'MalformedXML'
    assert refusal(b'<Other/>')[0] == 'MalformedXML'
    assert refusal(doc())[0] == 'MalformedXML'
    many = doc(*['<ID>%d</ID>%s<Filter/>%s' % (n, ENABLED, EXPIRE)
                 for n in range(1001)])
    assert refusal(many) == ('InvalidArgument', 'Lifecycle configuration '
                             'allows a maximum of 1000 rules')
    assert len(lr.parse_configuration(doc(*[
        '<ID>%d</ID>%s<Filter/>%s' % (n, ENABLED, EXPIRE)
        for n in range(1000)]))) == 1000


def test_date_must_be_midnight():
    assert lr.parse_date('2030-01-01T00:00:00Z') == 1893456000
    for bad in ('2030-01-01T00:00:01Z', '2030-01-01T00:00:00.5Z', 'soon'):
        with pytest.raises(S3Error) as caught:
            lr.parse_date(bad)
        assert caught.value.message == "'Date' must be at midnight GMT"


def test_stored_round_trip_and_xml():
    rules = lr.parse_configuration(doc(
        '<ID>a</ID><Prefix>old/</Prefix>' + ENABLED + EXPIRE,
        '<ID>b</ID><Filter><And><Prefix>p</Prefix><Tag><Key>k</Key><Value>v'
        '</Value></Tag><ObjectSizeLessThan>9</ObjectSizeLessThan></And>'
        '</Filter><Status>Disabled</Status><NoncurrentVersionExpiration>'
        '<NoncurrentDays>2</NoncurrentDays></NoncurrentVersionExpiration>'))
    stored = lr.to_stored(rules)
    assert lr.from_stored(stored) == rules
    assert lr.from_stored('') == [] and lr.from_stored('{"v": 99}') == []
    shown = parse_xml(lr.configuration_xml(rules))
    again = lr.parse_configuration(lr.configuration_xml(rules))
    assert again == rules
    first, second = shown.findall('Rule')
    assert first.find('Prefix').text == 'old/'
    assert first.find('Filter') is None
    assert second.find('Filter/And/Tag/Key').text == 'k'
    assert second.find('Status').text == 'Disabled'


def test_filter_matching():
    rule = lr.parse_configuration(doc(
        ENABLED + '<Filter><And><Prefix>logs/</Prefix><Tag><Key>k</Key>'
        '<Value>v</Value></Tag><ObjectSizeGreaterThan>1'
        '</ObjectSizeGreaterThan><ObjectSizeLessThan>100'
        '</ObjectSizeLessThan></And></Filter>' + EXPIRE))[0]
    match = lr.RuleFilter(rule)
    assert match.matches('logs/a', 50, {'k': 'v', 'x': 'y'})
    assert not match.matches('other/a', 50, {'k': 'v'})
    assert not match.matches('logs/a', 1, {'k': 'v'})
    assert not match.matches('logs/a', 100, {'k': 'v'})
    assert not match.matches('logs/a', 50, {'k': 'w'})
    looked_up = []
    # Tags are looked up only when prefix and size already match.
    assert not match.matches('other/', 50, lambda: looked_up.append(1))
    assert looked_up == []
    legacy = lr.parse_configuration(doc(
        '<Prefix>tmp/</Prefix>' + ENABLED + EXPIRE))[0]
    assert lr.RuleFilter(legacy).matches('tmp/x', 0, {})
    assert not lr.RuleFilter(legacy).matches('tmpx', 0, {})




def test_when_current_and_uploads_are_due():
    days = {'Expiration': {'Days': 2}}
    assert not lr.current_expired(days, 1000, 1019, DAY)
    assert lr.current_expired(days, 1000, 1020, DAY)
    date = {'Expiration': {'Date': '2030-01-01T00:00:00Z'}}
    assert not lr.current_expired(date, 0, 1893455999, DAY)
    assert lr.current_expired(date, 0, 1893456000, DAY)
    assert not lr.current_expired({'Expiration': {
        'ExpiredObjectDeleteMarker': True}}, 0, 10 ** 10, DAY)
    abort = {'AbortIncompleteMultipartUpload': {'DaysAfterInitiation': 1}}
    assert not lr.upload_expired(abort, 1000, 1009, DAY)
    assert lr.upload_expired(abort, 1000, 1010, DAY)
    assert not lr.upload_expired(days, 0, 10 ** 10, DAY)


def test_when_noncurrent_is_due():
    rule = {'NoncurrentVersionExpiration': {'NoncurrentDays': 1}}
    assert not lr.noncurrent_expired(rule, 1000, 0, 1009, DAY)
    assert lr.noncurrent_expired(rule, 1000, 0, 1010, DAY)
    keep_two = {'NoncurrentVersionExpiration': {
        'NoncurrentDays': 1, 'NewerNoncurrentVersions': 2}}
    assert not lr.noncurrent_expired(keep_two, 0, 1, 10 ** 6, DAY)
    assert lr.noncurrent_expired(keep_two, 0, 2, 10 ** 6, DAY)
    assert lr.enabled_rules([{'Status': 'Disabled'}, {'Status': 'Enabled'}]) \
        == [{'Status': 'Enabled'}]
