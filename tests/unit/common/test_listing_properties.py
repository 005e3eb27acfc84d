"""Properties of listing parameters, paging and rendering.

The paging walk (``NameRange`` + ``delimited_entries``) is checked against
a plain model of Swift's listing semantics over sorted names; the scan it
is handed filters a Python list the way the broker's range query filters
the name index (code-point order, which is SQLite's order of UTF-8 text).
"""

import datetime
import json
import xml.etree.ElementTree as ET

from hypothesis import example, given, strategies as st

from objstore.common.exceptions import ListingError
from objstore.common.listing import (
    OFFERED_TYPES, JSON_TYPE, XML_TYPE, ContainerEntry, ListingParams,
    NameRange, ObjectEntry, Subdir, delimited_entries, last_modified,
    listing_content_type, negotiate_format, parse_listing_params,
    render_account_listing, render_container_listing)
from objstore.common.timestamp import Timestamp
from tests.unit.strategies import hostile_text, text_from

# Few letters, so that names share prefixes and delimiters roll them up;
# the last code point and the one before the surrogates are the edges
# next_string must step over.
NAME_ALPHABET = 'ab/-\xff\ud7ff\U0010ffff'
name = st.text(alphabet=NAME_ALPHABET, min_size=1, max_size=6)
bound = st.one_of(st.just(''), name)
QUERY_KEYS = ('limit', 'marker', 'end_marker', 'prefix', 'delimiter',
              'reverse', 'format')
# Text that is safe to render (valid UTF-8 names; listing names come from
# the DB, which only holds checked names).
unicode_text = st.text(alphabet=st.characters(blacklist_categories=('Cs',)),
                       max_size=30)


def in_bounds(entry_name, params):
    low, high = params.marker, params.end_marker
    if params.reverse:
        low, high = high, low
    return ((not low or entry_name > low) and
            (not high or entry_name < high) and
            entry_name.startswith(params.prefix))


def model_listing(names, params):
    """What Swift lists: [(is_subdir, name)] in listing order."""
    out = []
    for entry_name in sorted(set(names), reverse=params.reverse):
        if not in_bounds(entry_name, params):
            continue
        cut = (entry_name.find(params.delimiter, len(params.prefix))
               if params.delimiter else -1)
        if cut < 0:
            out.append((False, entry_name))
            continue
        subdir = entry_name[:cut + 1]
        if subdir != params.marker and (True, subdir) not in out[-1:]:
            out.append((True, subdir))
    return out[:params.limit]


def scan_over(names):
    ordered = sorted(set(names))

    def scan(name_range):
        def wanted(entry_name):
            if name_range.lower is not None:
                if name_range.lower_inclusive:
                    if entry_name < name_range.lower:
                        return False
                elif entry_name <= name_range.lower:
                    return False
            return name_range.upper is None or entry_name < name_range.upper
        rows = [(n, n) for n in ordered if wanted(n)]
        return iter(rows[::-1] if name_range.reverse else rows)
    return scan


listing_params = st.builds(
    ListingParams, limit=st.integers(0, 12), marker=bound, end_marker=bound,
    prefix=bound, delimiter=st.sampled_from(('', '/', '-', 'a')),
    reverse=st.booleans())


@given(names=st.lists(name, max_size=25), params=listing_params)
@example(names=['\U0010ffff', '\U0010ffffa'],
         params=ListingParams(limit=10, prefix='\U0010ffff'))
@example(names=['\U0010ffff/a'],
         params=ListingParams(limit=10, prefix='\U0010ffff',
                              delimiter='/'))
def test_paging_lists_what_swift_lists(names, params):
    name_range = NameRange(params)
    scan = scan_over(names)
    if params.delimiter:
        got = delimited_entries(scan, params, name_range)
    else:
        got = [(False, n) for n, _key in scan(name_range)][:params.limit]
    assert got == model_listing(names, params)


@given(query=st.dictionaries(st.sampled_from(QUERY_KEYS),
                             st.one_of(hostile_text, st.sampled_from(
                                 ('0', '10000', '10001', '\U0010ffff',
                                  '\udcff', '9' * 5000)))))
@example(query={'limit': '9' * 5000})
@example(query={'prefix': '\U0010ffff'})
def test_listing_params_are_valid_or_a_listing_error(query):
    try:
        params = parse_listing_params(query, 10000)
        NameRange(params)
    except ListingError:
        return
    assert 0 <= params.limit <= 10000


@given(format_param=st.one_of(st.none(), hostile_text),
       accept=st.one_of(st.none(), hostile_text, text_from((
           'application/json', 'application/xml', 'text/plain', '*/*',
           'text/*', ';q=', '0.5', '1', 'nan', '2', ',', ' ', '/', ';'))))
def test_negotiate_format_picks_an_offered_type_or_raises(format_param,
                                                           accept):
    try:
        content_type = negotiate_format(format_param, accept)
    except ListingError:
        return
    assert content_type in OFFERED_TYPES


object_entry = st.builds(
    ObjectEntry, name=unicode_text.filter(bool),
    created_at=st.integers(0, 10 ** 15 - 1).map(
        lambda ticks: Timestamp(ticks / 100000.0).normal),
    size=st.integers(0, 10 ** 12), content_type=unicode_text,
    etag=st.text(alphabet='0123456789abcdef', max_size=32))
subdir_entry = unicode_text.filter(bool).map(Subdir)
container_entry = st.builds(
    ContainerEntry, name=unicode_text.filter(bool),
    object_count=st.integers(0, 10 ** 9), bytes_used=st.integers(0, 10 ** 15),
    put_timestamp=st.just('1700000000.12345'))


@given(entries=st.lists(st.one_of(object_entry, subdir_entry), max_size=5))
def test_json_container_listing_is_swifts_json_dumps(entries):
    body = render_container_listing(entries, JSON_TYPE, 'c')
    expected = []
    for entry in entries:
        if isinstance(entry, Subdir):
            expected.append({'subdir': entry.name})
        else:
            expected.append({
                'bytes': entry.size, 'hash': entry.etag, 'name': entry.name,
                'content_type': listing_content_type(entry.content_type),
                'last_modified': last_modified(entry.created_at)})
    assert body == json.dumps(expected).encode('ascii')


@given(entries=st.lists(st.one_of(object_entry, subdir_entry), max_size=5),
       container=unicode_text)
@example(entries=[ObjectEntry('a\x01b', '1700000000.00000', 0, 'x', 'e')],
         container='c')
@example(entries=[Subdir('\x1b[31m/')], container='\x0c')
def test_xml_container_listing_is_well_formed(entries, container):
    root = ET.fromstring(render_container_listing(entries, XML_TYPE,
                                                  container))
    assert root.tag == 'container'
    assert len(root) == len(entries)


@given(entries=st.lists(st.one_of(container_entry, subdir_entry),
                        max_size=5))
def test_account_listings_parse_in_json_and_xml(entries):
    assert len(json.loads(render_account_listing(entries, JSON_TYPE,
                                                 'a'))) == len(entries)
    assert len(ET.fromstring(render_account_listing(entries, XML_TYPE,
                                                    'a'))) == len(entries)


@given(ticks=st.integers(0, 10 ** 15 - 1))
def test_last_modified_agrees_with_datetime(ticks):
    stamp = Timestamp(ticks / 100000.0)
    seconds, fraction = divmod(stamp.ticks, 100000)
    expected = (datetime.datetime(1970, 1, 1) +
                datetime.timedelta(seconds=seconds,
                                   microseconds=fraction * 10))
    assert last_modified(stamp.normal) == expected.isoformat(
        timespec='microseconds')
