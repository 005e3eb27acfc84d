"""Listing parameters, format negotiation and rendering (pure, no I/O)."""

import datetime
import json
import xml.etree.ElementTree as ET

import pytest

from objstore.common import listing
from objstore.common.exceptions import (
    InvalidListingParam, ListingNotAcceptable, ListingPreconditionFailed)
from objstore.common.listing import (
    ContainerEntry, ObjectEntry, Subdir, negotiate_format,
    parse_listing_params)

MAX = 10000


def test_defaults():
    params = parse_listing_params({}, MAX)
    assert params == listing.ListingParams(limit=MAX)


def test_all_params():
    params = parse_listing_params(
        {'limit': '7', 'marker': 'm', 'end_marker': 'z', 'prefix': 'p',
         'delimiter': '/', 'reverse': 'on'}, MAX)
    assert params == listing.ListingParams(7, 'm', 'z', 'p', '/', True)


@pytest.mark.parametrize('given, expected', [
    ('0', 0), ('10000', 10000), ('-1', MAX), ('abc', MAX), ('', MAX),
    ('1.5', MAX), ('\u0663', MAX)])
def test_limit_values(given, expected):
    assert parse_listing_params({'limit': given}, MAX).limit == expected


def test_limit_over_max_is_412():
    with pytest.raises(ListingPreconditionFailed, match='Maximum limit'):
        parse_listing_params({'limit': '10001'}, MAX)


@pytest.mark.parametrize('delimiter', ['//', '\u0100', 'ab', '\U0010ffff'])
def test_any_delimiter_is_legal(delimiter):
    assert parse_listing_params(
        {'delimiter': delimiter}, MAX).delimiter == delimiter


@pytest.mark.parametrize('name', ['prefix', 'marker', 'end_marker',
                                  'delimiter', 'path', 'format', 'limit'])
def test_invalid_utf8_is_400_in_swifts_words(name):
    with pytest.raises(InvalidListingParam,
                       match='"%s" parameter not valid UTF-8' % name):
        parse_listing_params({name: 'a\udcff'}, MAX, with_path=True)


def test_account_listings_ignore_path_whatever_it_holds():
    assert parse_listing_params({'path': '\udcff'}, MAX).prefix == ''


def test_nul_and_other_params_are_not_refused():
    params = parse_listing_params({'prefix': '\x00', 'other': '\udcff'}, MAX)
    assert params.prefix == '\x00'


def test_path_sets_prefix_and_delimiter_for_containers_only():
    query = {'path': 'a/b//', 'prefix': 'x', 'delimiter': '-'}
    params = parse_listing_params(query, MAX, with_path=True)
    assert (params.prefix, params.delimiter, params.by_path) == ('a/b/', '/',
                                                              True)
    assert parse_listing_params({'path': ''}, MAX, with_path=True).prefix == ''
    assert parse_listing_params(query, MAX) == listing.ListingParams(
        MAX, prefix='x', delimiter='-')


def test_reverse_false_words():
    for word in ('', 'false', 'no', '0', 'garbage'):
        assert not parse_listing_params({'reverse': word}, MAX).reverse


@pytest.mark.parametrize('fmt, expected', [
    ('json', 'application/json'), ('JSON', 'application/json'),
    ('xml', 'application/xml'), ('plain', 'text/plain'),
    ('bogus', 'text/plain')])
def test_format_param_wins(fmt, expected):
    assert negotiate_format(fmt, 'application/xml') == expected


@pytest.mark.parametrize('accept, expected', [
    (None, 'text/plain'), ('', 'text/plain'), ('*/*', 'text/plain'),
    ('application/json', 'application/json'),
    ('application/*', 'application/json'),
    ('text/xml', 'text/xml'),
    ('application/json;q=0.2, application/xml;q=0.9', 'application/xml'),
    ('text/*;q=0.5, application/json;q=0.6', 'application/json'),
    ('*/*;q=0.1, application/json;q=0', 'text/plain')])
def test_accept_negotiation(accept, expected):
    assert negotiate_format(None, accept) == expected


def test_unacceptable_is_406():
    with pytest.raises(ListingNotAcceptable):
        negotiate_format(None, 'image/png')
    with pytest.raises(ListingNotAcceptable):
        negotiate_format(None, 'application/json;q=0')


@pytest.mark.parametrize('accept', ['json', 'application/json;q=x',
                                    'a/b;q=2', '/json'])
def test_malformed_accept_is_400(accept):
    with pytest.raises(InvalidListingParam):
        negotiate_format(None, accept)


@pytest.mark.parametrize('ts', ['0000000000.00000', '1700000000.12345',
                                '0951782400.00001', '4102444799.99999',
                                '1700000000.12345_000000000000000a'])
def test_last_modified_matches_datetime(ts):
    seconds, fraction = ts.split('_')[0].split('.')
    expected = (datetime.datetime(1970, 1, 1) + datetime.timedelta(
        seconds=int(seconds), microseconds=int(fraction) * 10))
    assert listing.last_modified(ts) == expected.strftime(
        '%Y-%m-%dT%H:%M:%S.%f')


OBJECTS = [ObjectEntry('a<&>"', '1700000000.00000', 3, 'text/x', 'e1'),
           Subdir('b/'),
           ObjectEntry('\u00e9t\u00e9', '1700000001.50000', 0, 'a/b', 'e2')]


def test_container_json():
    body = listing.render_container_listing(OBJECTS, listing.JSON_TYPE, 'c')
    assert json.loads(body) == [
        {'name': 'a<&>"', 'hash': 'e1', 'bytes': 3, 'content_type': 'text/x',
         'last_modified': '2023-11-14T22:13:20.000000'},
        {'subdir': 'b/'},
        {'name': '\u00e9t\u00e9', 'hash': 'e2', 'bytes': 0,
         'content_type': 'a/b',
         'last_modified': '2023-11-14T22:13:21.500000'}]


def test_container_xml():
    body = listing.render_container_listing(OBJECTS, listing.XML_TYPE, 'c&d')
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(body)
    assert root.tag == 'container' and root.get('name') == 'c&d'
    assert [child.tag for child in root] == ['object', 'subdir', 'object']
    assert root[0].find('name').text == 'a<&>"'
    assert root[0].find('bytes').text == '3'
    assert root[1].get('name') == 'b/' and root[1].find('name').text == 'b/'
    assert root[2].find('name').text == '\u00e9t\u00e9'


def test_container_plain():
    body = listing.render_container_listing(OBJECTS, listing.PLAIN_TYPE, 'c')
    assert body.decode('utf-8') == 'a<&>"\nb/\n\u00e9t\u00e9\n'


def test_empty_listings():
    assert listing.render_container_listing([], listing.PLAIN_TYPE, 'c') == b''
    assert json.loads(listing.render_container_listing(
        [], listing.JSON_TYPE, 'c')) == []
    root = ET.fromstring(listing.render_account_listing(
        [], listing.XML_TYPE, 'a'))
    assert root.tag == 'account' and len(root) == 0
    assert listing.listing_status([], listing.PLAIN_TYPE) == 204
    assert listing.listing_status([], listing.JSON_TYPE) == 200
    assert listing.listing_status([], listing.XML_TYPE) == 200
    assert listing.listing_status([Subdir('x')], listing.PLAIN_TYPE) == 200


def test_account_json_and_xml():
    entries = [ContainerEntry('c1', 2, 10, '1700000000.00000'), Subdir('d/')]
    assert json.loads(listing.render_account_listing(
        entries, listing.JSON_TYPE, 'a')) == [
        {'name': 'c1', 'count': 2, 'bytes': 10,
         'last_modified': '2023-11-14T22:13:20.000000'},
        {'subdir': 'd/'}]
    root = ET.fromstring(listing.render_account_listing(
        entries, listing.TEXT_XML_TYPE, 'a'))
    assert [child.tag for child in root] == ['container', 'subdir']
    assert root[0].find('count').text == '2'


@pytest.mark.parametrize('name', ['quote"back\\slash', 'new\nline\ttab',
                                  '\x01\x1f', '\u2028\u00e9\U0001f600', '/'])
def test_json_escaping_round_trips(name):
    entries = [ObjectEntry(name, '1700000000.00000', 1, name, name),
               Subdir(name)]
    parsed = json.loads(listing.render_container_listing(
        entries, listing.JSON_TYPE, 'c').decode('utf-8'))
    assert parsed[0]['name'] == parsed[0]['hash'] == name
    assert parsed[0]['content_type'] == name
    assert parsed[1] == {'subdir': name}
    account = json.loads(listing.render_account_listing(
        [ContainerEntry(name, 1, 2, '1700000000.00000')],
        listing.JSON_TYPE, 'a'))
    assert account[0]['name'] == name


def test_last_modified_day_cache_is_per_day():
    assert listing.last_modified('0000086399.99999') == \
        '1970-01-01T23:59:59.999990'
    assert listing.last_modified('0000086400.00000') == \
        '1970-01-02T00:00:00.000000'


def scan_over(names):
    """A range scan over sorted names, counting how often it is started."""
    calls = []

    def scan(name_range):
        calls.append(1)
        ordered = sorted(names, reverse=name_range.reverse)
        for key, name in enumerate(ordered):
            if name_range.lower is not None and (
                    name < name_range.lower or
                    (name == name_range.lower and
                     not name_range.lower_inclusive)):
                continue
            if name_range.upper is not None and name >= name_range.upper:
                continue
            yield name, name
    return scan, calls


@pytest.mark.parametrize('per_dir, max_scans', [(3, 1), (200, 11)])
def test_delimited_entries_scan_counts(per_dir, max_scans):
    names = ['d%02d/%04d' % (d, i) for d in range(10) for i in range(per_dir)]
    scan, calls = scan_over(names)
    params = listing.ListingParams(limit=100, delimiter='/')
    entries = listing.delimited_entries(scan, params,
                                        listing.NameRange(params))
    assert entries == [(True, 'd%02d/' % d) for d in range(10)]
    assert len(calls) <= max_scans


def test_delimited_entries_limit_and_marker():
    names = ['a', 'b/1', 'b/2', 'c', 'd/1']
    scan, _calls = scan_over(names)
    params = listing.ListingParams(limit=2, delimiter='/', marker='a')
    assert listing.delimited_entries(scan, params, listing.NameRange(
        params)) == [(True, 'b/'), (False, 'c')]
    params = listing.ListingParams(limit=10, delimiter='/', reverse=True)
    assert listing.delimited_entries(scan, params, listing.NameRange(
        params)) == [(True, 'd/'), (False, 'c'), (True, 'b/'), (False, 'a')]


def test_next_string_skips_surrogates():
    assert listing.next_string('a/') == 'a0'
    assert listing.next_string('x\ud7ff') == 'x\ue000'


TOP = '\U0010ffff'


def test_next_string_past_the_last_code_point():
    assert listing.next_string('a' + TOP) == 'b'
    assert listing.next_string('a' + TOP * 3) == 'b'
    assert listing.next_string(TOP * 2) is None


@pytest.mark.parametrize('prefix, expected', [
    (TOP, [TOP, TOP + 'a']),
    ('x' + TOP, ['x' + TOP]),
])
def test_prefix_of_the_last_code_point(prefix, expected):
    names = ['a', 'x' + TOP, 'y', TOP, TOP + 'a']
    scan, _calls = scan_over(names)
    params = parse_listing_params({'prefix': prefix}, MAX)
    name_range = listing.NameRange(params)
    assert [name for name, _key in scan(name_range)] == expected


@pytest.mark.parametrize('given', ['9' * 5000, '0' * 5000 + '10001'])
def test_limit_of_thousands_of_digits_is_412(given):
    with pytest.raises(ListingPreconditionFailed):
        parse_listing_params({'limit': given}, MAX)


def test_limit_with_leading_zeros():
    assert parse_listing_params({'limit': '0' * 5000 + '7'}, MAX).limit == 7


CONTROL_NAMES = ['bell\x07', 'esc\x1b[0m', 'tab\tcr\rlf\n', 'del\x7f',
                 'non-char\ufffe\uffff', 'vt\x0bff\x0c']


def _as_xml_shows(name):
    return ''.join('\ufffd' if c in '\x07\x1b\x0b\x0c\ufffe\uffff' else c
                   for c in name)


def test_xml_listings_with_control_chars_stay_well_formed():
    objects = [ObjectEntry(n, '1700000000.00000', 0, 'text/\x01', 'e')
               for n in CONTROL_NAMES] + [Subdir('sub\x01/')]
    root = ET.fromstring(listing.render_container_listing(
        objects, listing.XML_TYPE, 'c\x02'))
    assert root.get('name') == 'c\ufffd'
    names = [el.findtext('name') for el in root.iter('object')]
    assert names == [_as_xml_shows(n) for n in CONTROL_NAMES]
    assert root.find('object/content_type').text == 'text/\ufffd'
    assert root.find('subdir').get('name') == 'sub\ufffd/'
    containers = [ContainerEntry(n, 0, 0, '1700000000.00000')
                  for n in CONTROL_NAMES]
    root = ET.fromstring(listing.render_account_listing(
        containers, listing.XML_TYPE, 'AUTH_\x03'))
    assert [el.findtext('name') for el in root.iter('container')] == \
        [_as_xml_shows(n) for n in CONTROL_NAMES]


def test_json_listing_keeps_control_chars_exactly():
    objects = [ObjectEntry(n, '1700000000.00000', 0, 't', 'e')
               for n in CONTROL_NAMES]
    body = listing.render_container_listing(objects, listing.JSON_TYPE, 'c')
    assert [row['name'] for row in json.loads(body)] == CONTROL_NAMES


def test_json_is_swifts_field_order_and_ascii_escaping():
    entries = [ObjectEntry('\u00e9"\x7f', '1700000000.00000', 3,
                           'text/plain; a=b ; c', 'e1'), Subdir('d/')]
    assert listing.render_container_listing(
        entries, listing.JSON_TYPE, 'c') == (
        b'[{"bytes": 3, "hash": "e1", "name": "\\u00e9\\"\\u007f", '
        b'"content_type": "text/plain;a=b;c=", '
        b'"last_modified": "2023-11-14T22:13:20.000000"}, '
        b'{"subdir": "d/"}]')


def test_xml_is_laid_out_as_swifts_elementtree():
    assert listing.render_container_listing(
        [], listing.XML_TYPE, 'c"\t') == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<container name="c&quot;&#09;" />')
    assert listing.render_account_listing([], listing.XML_TYPE, 'a') == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<account name="a">\n'
        b'</account>')
    entries = [ContainerEntry("<'", 1, 2, '1700000000.00000'), Subdir('d-')]
    assert listing.render_account_listing(
        entries, listing.XML_TYPE, 'a') == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<account name="a">\n'
        b"<container><name>&lt;'</name><count>1</count><bytes>2</bytes>"
        b'<last_modified>2023-11-14T22:13:20.000000</last_modified>'
        b'</container>\n<subdir name="d-" />\n</account>')


CORPUS = ['a', 'a/', 'a/b', 'a/c', 'a/d/', 'a/d/e', 'b', 'b-1', 'b/x/y', 'c']


@pytest.mark.parametrize('path, reverse, expected', [
    ('a', False, ['a/b', 'a/c', 'a/d/']),
    ('a/', False, ['a/b', 'a/c', 'a/d/']),
    ('', False, ['a', 'a/', 'b', 'b-1', 'c']),
    ('b/x', False, ['b/x/y']),
    # Reverse reaches a/d/e first and skips a/d/ and below it, the
    # directory name a/d/ too (as Swift's reverse path listings do).
    ('a', True, ['a/c', 'a/b'])])
def test_path_lists_only_the_names_directly_under_it(path, reverse,
                                                     expected):
    scan, _calls = scan_over(CORPUS)
    params = parse_listing_params({'path': path}, 100, with_path=True)
    params = listing.ListingParams(params.limit, prefix=params.prefix,
                                   delimiter='/', reverse=reverse,
                                   by_path=True)
    entries = listing.delimited_entries(scan, params,
                                        listing.NameRange(params))
    assert [name for _subdir, name in entries] == expected


@pytest.mark.parametrize('delimiter, expected', [
    ('/x', ['a', 'a/', 'a/b', 'a/c', 'a/d/', 'a/d/e', 'b', 'b-1', 'b/x',
            'c']),
    ('a/', ['a', 'a/', 'b', 'b-1', 'b/x/y', 'c']),
    ('-1', ['a', 'a/', 'a/b', 'a/c', 'a/d/', 'a/d/e', 'b', 'b-1', 'b/x/y',
            'c'])])
def test_multi_character_delimiters(delimiter, expected):
    scan, _calls = scan_over(CORPUS)
    params = listing.ListingParams(limit=100, delimiter=delimiter)
    entries = listing.delimited_entries(scan, params,
                                        listing.NameRange(params))
    assert [name for _subdir, name in entries] == expected


def test_subdir_of_the_last_code_point_ends_the_page():
    top = '\U0010ffff'
    scan, _calls = scan_over(['a', top + top + 'z'])
    params = listing.ListingParams(limit=100, delimiter=top)
    assert listing.delimited_entries(scan, params, listing.NameRange(
        params)) == [(False, 'a'), (True, top)]


def test_account_entries_name_their_known_storage_policy():
    entries = [ContainerEntry('c', 1, 2, '1700000000.00000', 0),
               ContainerEntry('d', 0, 0, '1700000000.00000', 7)]
    body = listing.render_account_listing(entries, listing.JSON_TYPE, 'a',
                                          {0: 'Policy-0'})
    assert body == (
        b'[{"name": "c", "count": 1, "bytes": 2, "last_modified": '
        b'"2023-11-14T22:13:20.000000", "storage_policy": "Policy-0"}, '
        b'{"name": "d", "count": 0, "bytes": 0, "last_modified": '
        b'"2023-11-14T22:13:20.000000"}]')
    root = ET.fromstring(listing.render_account_listing(
        entries, listing.XML_TYPE, 'a', {0: 'Policy-0'}))
    assert [c.findtext('storage_policy') for c in root] == ['Policy-0', None]
