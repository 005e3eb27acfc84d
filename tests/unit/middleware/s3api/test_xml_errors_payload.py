"""The XML module (safe parsing, building), the error table and the
payload check."""

import hashlib
import io

import pytest

from objstore.middleware.s3api.errors import ERRORS, S3Error
from objstore.middleware.s3api.multidelete import parse_delete
from objstore.middleware.s3api.payload import HashingInput, PayloadMismatch
from objstore.middleware.s3api.xmlio import XMLError, parse_xml, to_xml

BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>'
                  b'<lolz>&lol2;</lolz>')
EXTERNAL = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM '
            b'"file:///etc/passwd">]><d>&x;</d>')


@pytest.mark.parametrize('body', [BILLION_LAUGHS, EXTERNAL, b'<a>', b'',
                                  b'\xff\xfe<a/>'])
def test_unsafe_or_broken_xml_is_refused(body):
    with pytest.raises(XMLError):
        parse_xml(body)


def test_size_bound_is_checked_before_parsing():
    with pytest.raises(XMLError):
        parse_xml(b'<a>' + b'x' * 100 + b'</a>', max_size=50)


def test_namespaces_are_dropped():
    root = parse_xml(b'<Delete xmlns="http://s3.amazonaws.com/doc/'
                     b'2006-03-01/"><Object><Key>k</Key></Object></Delete>')
    assert parse_delete(b'<Delete xmlns="urn:x"><Object><Key>k</Key>'
                        b'</Object></Delete>') == ([('k', None)], False)
    assert root.tag == 'Delete' and root.find('Object/Key').text == 'k'


def test_output_escapes_names():
    body = to_xml('R', [('Key', '<&>"\'')])
    assert b'<Key>&lt;&amp;&gt;"\'</Key>' in body
    assert parse_xml(body).findtext('Key') == '<&>"\''


def test_error_document():
    err = S3Error('NoSuchBucket', BucketName='b')
    root = parse_xml(err.to_xml('/b', 'tx123'))
    assert [child.tag for child in root] == [
        'Code', 'Message', 'BucketName', 'Resource', 'RequestId']
    assert root.findtext('RequestId') == 'tx123'
    assert err.status == 404


def test_error_table_is_complete():
    for code, (status, message) in ERRORS.items():
        assert 300 <= status < 600 and message, code
    with pytest.raises(KeyError):
        S3Error('NoSuchThing')


@pytest.mark.parametrize('body', [
    b'<Delete/>', b'<Delete><Object/></Delete>',
    b'<Delete>' + b'<Object><Key>k</Key></Object>' * 1001 + b'</Delete>'])
def test_bad_delete_documents(body):
    with pytest.raises(S3Error) as caught:
        parse_delete(body)
    assert caught.value.code == 'MalformedXML'


def test_empty_body_is_checked_too():
    empty = hashlib.sha256(b'').hexdigest()
    assert HashingInput(io.BytesIO(b''), 0, empty).read(10) == b''
    wrong = HashingInput(io.BytesIO(b''), 0, hashlib.sha256(b'x').hexdigest())
    with pytest.raises(PayloadMismatch):
        wrong.read(10)
    assert wrong.mismatched


def test_body_without_length_is_checked_at_its_end():
    good = hashlib.sha256(b'abc').hexdigest()
    reader = HashingInput(io.BytesIO(b'abd'), None, good)
    assert reader.read(2) == b'ab' and reader.read(5) == b'd'
    with pytest.raises(PayloadMismatch):
        reader.read(5)
