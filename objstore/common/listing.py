"""Account and container listings: parameters, format negotiation, rendering.

Pure functions only: the servers hand in the decoded query parameters and
the Accept header, and the rows their brokers found; this module says which
format to answer in, validates the listing parameters the way Swift does,
walks a sorted name space for delimiter pages (the broker supplies the
range scans) and renders the body. It never touches a socket, a file or a
database.

Status rules (Swift's):

* ``format=json|xml|plain`` wins over Accept; an unknown ``format`` value
  means plain. Without either, plain. An Accept header that matches none of
  the listing types -> 406; one that cannot be parsed -> 400.
* ``limit`` defaults to the maximum; a value over the maximum -> 412; a
  value that is not a non-negative integer is ignored (the default applies).
* ``delimiter`` may be any string, several characters long too.
* ``path`` (containers only) lists the names directly under that
  pseudo-directory: it sets ``prefix`` to the path plus ``/`` and the
  delimiter to ``/``, and leaves the deeper names out instead of rolling
  them up into subdirs.
* A listing parameter that is not UTF-8 -> 400 ``"<name>" parameter not
  valid UTF-8``. NUL is allowed: no stored name holds one, so it matches
  nothing.

Bodies are Swift's byte for byte: JSON as ``json.dumps`` writes it (ASCII
only, ``\u00e9``), fields in Swift's order; XML as Swift's ElementTree
writes it (empty elements as ``<x />``, a newline after each account
entry); content types with their parameters re-joined as ``;k=v``.

XML listings stay well-formed whatever the names hold. Names may contain
control characters (only NUL is refused), but XML 1.0 cannot carry most
of them, not even as character references (``&#x7;`` is a fatal error for
a conforming parser). Swift writes them raw, which breaks every client's
parser; we write U+FFFD (the replacement character) in their place
instead, in XML only. JSON and plain listings carry the exact names, so a
client that needs them asks for JSON.
"""

import datetime
import functools
import re
import sys
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import NamedTuple
from xml.sax.saxutils import escape

from objstore.common.exceptions import (
    InvalidListingParam, ListingNotAcceptable, ListingPreconditionFailed)

JSON_TYPE = 'application/json'
XML_TYPE = 'application/xml'
TEXT_XML_TYPE = 'text/xml'
PLAIN_TYPE = 'text/plain'

FORMAT_TO_TYPE = {'json': JSON_TYPE, 'xml': XML_TYPE, 'plain': PLAIN_TYPE}

# Offered in this order: on a tie (e.g. ``*/*``) plain text wins, as in Swift.
OFFERED_TYPES = (PLAIN_TYPE, JSON_TYPE, XML_TYPE, TEXT_XML_TYPE)

XML_PROLOG = '<?xml version="1.0" encoding="UTF-8"?>\n'


@dataclass(frozen=True)
class ListingParams:
    """The validated parameters of one listing request."""

    limit: int
    marker: str = ''
    end_marker: str = ''
    prefix: str = ''
    delimiter: str = ''
    reverse: bool = False
    # True for a ``path=`` listing: deeper names are skipped, not rolled up.
    by_path: bool = False
    # Reserved names (leading NUL, common.constraints) are listed only to
    # the middlewares that own them.
    with_reserved: bool = False


# Entries are named tuples, not dataclasses: a page builds 10,000 of them.

class Subdir(NamedTuple):
    """A rolled-up name prefix ending in the delimiter (a ``subdir``)."""

    name: str


class ObjectEntry(NamedTuple):
    """One object row of a container listing."""

    name: str
    created_at: str
    size: int
    content_type: str
    etag: str


class ContainerEntry(NamedTuple):
    """One container row of an account listing."""

    name: str
    object_count: int
    bytes_used: int
    put_timestamp: str
    storage_policy_index: int = 0


# The parameters Swift checks for UTF-8 (others are ignored, whatever
# they hold); ``path`` only in container listings.
CHECKED_PARAMS = ('marker', 'end_marker', 'prefix', 'delimiter', 'format',
                  'reverse', 'limit')


def _check_utf8(name, value):
    """Reject a value that is not valid UTF-8 (lone surrogates)."""
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        raise InvalidListingParam('"%s" parameter not valid UTF-8' % name)


TRUE_WORDS = frozenset(('true', '1', 'yes', 'on', 't', 'y'))


def parse_listing_params(query, max_limit, with_path=False):
    """ListingParams from a {name: str} of decoded query parameters.

    Values decoded with ``errors='surrogateescape'`` carry invalid UTF-8 as
    lone surrogates, which are rejected here. ``with_path``: honour
    ``path=`` (container listings; account listings ignore it, as Swift's).

    >>> parse_listing_params({'limit': '5', 'prefix': 'a/'}, 10000).limit
    5
    >>> parse_listing_params({'path': 'a/b/'}, 10, with_path=True).prefix
    'a/b/'
    """
    for name in CHECKED_PARAMS + (('path',) if with_path else ()):
        if name in query:
            _check_utf8(name, query[name])
    limit = max_limit
    given = query.get('limit', '')
    if given.isdigit() and given.isascii():
        # Compared as digits: int() of thousands of them is slow, and
        # refused past 4,300.
        significant = given.lstrip('0') or '0'
        if len(significant) > len(str(max_limit)) or \
                int(significant) > max_limit:
            raise ListingPreconditionFailed(
                'Maximum limit is %d' % max_limit)
        limit = int(significant)
    prefix = query.get('prefix', '')
    delimiter = query.get('delimiter', '')
    path = with_path and 'path' in query
    if path:
        prefix = query['path'].rstrip('/') + '/' if query['path'] else ''
        delimiter = '/'
    return ListingParams(
        limit=limit,
        marker=query.get('marker', ''),
        end_marker=query.get('end_marker', ''),
        prefix=prefix,
        delimiter=delimiter,
        reverse=query.get('reverse', '').strip().lower() in TRUE_WORDS,
        by_path=path)


def _parse_accept(accept):
    """[(type, subtype, q)] of an Accept header; InvalidListingParam if bad."""
    ranges = []
    for part in accept.split(','):
        part = part.strip()
        if not part:
            continue
        media, *params = [p.strip() for p in part.split(';')]
        kind, slash, subkind = media.partition('/')
        if not slash or not kind or not subkind or ' ' in media:
            raise InvalidListingParam('Invalid Accept header')
        quality = 1.0
        for param in params:
            key, _, value = param.partition('=')
            if key.strip().lower() == 'q':
                try:
                    quality = float(value)
                except ValueError:
                    raise InvalidListingParam('Invalid Accept header')
                if not 0 <= quality <= 1:
                    raise InvalidListingParam('Invalid Accept header')
        ranges.append((kind.lower(), subkind.lower(), quality))
    return ranges


def _quality(offer, ranges):
    """q of the most specific range matching ``offer`` (0 if none)."""
    kind, subkind = offer.split('/')
    best = (-1, 0.0)
    for range_kind, range_sub, quality in ranges:
        if range_kind == kind and range_sub == subkind:
            specificity = 2
        elif range_kind == kind and range_sub == '*':
            specificity = 1
        elif range_kind == '*' and range_sub == '*':
            specificity = 0
        else:
            continue
        if specificity > best[0]:
            best = (specificity, quality)
    return best[1]


def negotiate_format(format_param, accept):
    """The content type to list in, from ``format=`` and the Accept header.

    >>> negotiate_format('json', None)
    'application/json'
    >>> negotiate_format(None, 'application/xml;q=0.9, text/plain;q=0.1')
    'application/xml'
    """
    if format_param:
        return FORMAT_TO_TYPE.get(format_param.strip().lower(), PLAIN_TYPE)
    if not accept or not accept.strip():
        return PLAIN_TYPE
    ranges = _parse_accept(accept)
    best_type, best_q = None, 0.0
    for offer in OFFERED_TYPES:
        quality = _quality(offer, ranges)
        if quality > best_q:
            best_type, best_q = offer, quality
    if best_type is None:
        raise ListingNotAcceptable('No acceptable listing format')
    return best_type


# -- paging through sorted names ------------------------------------------

# Rows of one subdir read past before it is worth a new query that starts
# after the subdir; adapted per page (halved when exceeded, regrown after).
SCAN_AHEAD = 32


def next_string(text):
    """The smallest string greater than every string starting with ``text``,
    or None when there is none (``text`` is only U+10FFFF, the last code
    point, so every greater string starts with it).

    >>> next_string('ab')
    'ac'
    >>> next_string('a\U0010ffff')
    'b'
    >>> next_string('\U0010ffff') is None
    True
    """
    stem = text.rstrip(chr(sys.maxunicode))
    if not stem:
        return None
    code = ord(stem[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:
        # Surrogates cannot be stored as UTF-8; skip to the next encodable.
        code = 0xE000
    return stem[:-1] + chr(code)


# Every reserved name starts with NUL, so it sorts before this one, and
# every other name sorts at or after it.
FIRST_UNRESERVED = '\x01'


class NameRange:
    """The names a page still has to cover: lower/upper bounds, direction.

    Built from ListingParams (marker, end_marker, prefix, reverse); moved
    forward as entries are emitted, so a new query can resume after them.
    """

    def __init__(self, params):
        marker, end_marker = params.marker, params.end_marker
        if params.reverse:
            marker, end_marker = end_marker, marker
        self.reverse = params.reverse
        self.lower, self.lower_inclusive = (marker or None), False
        self.upper = end_marker or None
        if params.prefix:
            if self.lower is None or self.lower < params.prefix:
                self.lower, self.lower_inclusive = params.prefix, True
            prefix_end = next_string(params.prefix)
            if prefix_end is not None and (self.upper is None or
                                           self.upper > prefix_end):
                self.upper = prefix_end
        if not params.with_reserved and (self.lower is None or
                                         self.lower < FIRST_UNRESERVED):
            self.lower, self.lower_inclusive = FIRST_UNRESERVED, True

    def past_name(self, name):
        if self.reverse:
            self.upper = name
        else:
            self.lower, self.lower_inclusive = name, False

    def past_subdir(self, subdir):
        if self.reverse:
            self.upper = subdir
            return
        after = next_string(subdir)
        if after is None:
            # Only U+10FFFF: nothing sorts after the subdir's names.
            self.lower, self.lower_inclusive = subdir, False
            self.upper = subdir
        else:
            self.lower, self.lower_inclusive = after, True


def delimited_entries(scan, params, name_range):
    """[(is_subdir, subdir name or row key)] of one delimiter page.

    ``scan(name_range)`` returns an iterator of (name, key) in listing
    order over the range (the caller runs it as a query). The rows of a
    subdir are read past while that is cheap; one bigger than the adaptive
    budget is jumped over by a new scan starting after it, so a page costs
    at most one scan per subdir and never reads every row under a prefix.
    A ``path`` page skips the subdirs' names instead of listing the
    subdirs, and leaves out the name equal to the path itself (Swift's
    directory marker); a name ending in the delimiter is listed there.

    >>> names = ['a/1', 'a/2', 'b', 'c/1']
    >>> scan = lambda r: ((n, i) for i, n in enumerate(names)
    ...                   if r.lower is None or n >= r.lower)
    >>> p = ListingParams(limit=10, delimiter='/')
    >>> delimited_entries(scan, p, NameRange(p))
    [(True, 'a/'), (False, 2), (True, 'c/')]
    """
    prefix, delimiter, limit = params.prefix, params.delimiter, params.limit
    entries = []
    budget = SCAN_AHEAD
    exhausted = False
    while not exhausted and len(entries) < limit:
        inside, skipped = None, 0
        exhausted = True
        for name, key in scan(name_range):
            if inside is not None:
                if name.startswith(inside):
                    skipped += 1
                    if skipped > budget:
                        budget //= 2
                        exhausted = False
                        break
                    continue
                budget = min(SCAN_AHEAD, budget * 2 + 1)
                inside = None
            if params.by_path and name == prefix:
                name_range.past_name(name)
                continue
            cut = name.find(delimiter, len(prefix))
            if params.by_path and cut + len(delimiter) == len(name):
                cut = -1
            if cut < 0:
                entries.append((False, key))
                name_range.past_name(name)
            else:
                inside, skipped = name[:cut + len(delimiter)], 0
                if inside != params.marker and not params.by_path:
                    entries.append((True, inside))
                name_range.past_subdir(inside)
            if len(entries) >= limit:
                break
    return entries


# -- rendering ----------------------------------------------------------------

def last_modified(timestamp_text):
    """ISO 8601 (UTC, microseconds) of a normal timestamp string.

    Computed from the decimal digits so no float rounding creeps in; the
    date part is cached per day (a listing's rows share few days).

    >>> last_modified('1700000000.12345')
    '2023-11-14T22:13:20.123450'
    """
    seconds_text, _, fraction = timestamp_text.partition('_')[0].partition('.')
    days, rest = divmod(int(seconds_text), 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return '%sT%02d:%02d:%02d.%s' % (_iso_date(days), hour, minute, second,
                                     (fraction + '000000')[:6])


EPOCH = datetime.date(1970, 1, 1)


@functools.lru_cache(maxsize=4096)
def _iso_date(days):
    return (EPOCH + datetime.timedelta(days=days)).isoformat()


def _json_subdir(entry):
    return '{"subdir": %s}' % encode_basestring_ascii(entry.name)


# A content type parameter: ``; key`` or ``; key=value``, value a token or
# a quoted string (RFC 7231 tokens: no separators, controls or spaces).
TOKEN = r'[^\x00-\x20\x7f()<>@,;:\\"/\[\]?={}]+'
CONTENT_TYPE_PARAM = re.compile(
    r'\s*;\s*(%s)\s*(?:=\s*(%s|"(?:[^"\\]|\\.)*"))?' % (TOKEN, TOKEN))


def listing_content_type(value):
    """A stored content type as Swift lists it: parameters re-joined as
    ``;key=value`` without spaces, anything not a parameter dropped.

    >>> listing_content_type('text/plain; charset=utf-8 ;a')
    'text/plain;charset=utf-8;a='
    """
    media, semicolon, params = value.partition(';')
    if not semicolon:
        return value
    return media + ''.join(
        ';%s=%s' % pair
        for pair in CONTENT_TYPE_PARAM.findall(semicolon + params))


def _object_json(entry):
    """One JSON object, formatted directly (json.dumps of 10,000 dicts is
    the slowest part of a page), in the field order and escaping of
    Swift's ``json.dumps``."""
    if type(entry) is Subdir:
        return _json_subdir(entry)
    return ('{"bytes": %d, "hash": %s, "name": %s, "content_type": %s, '
            '"last_modified": "%s"}' % (
                entry.size, encode_basestring_ascii(entry.etag),
                encode_basestring_ascii(entry.name),
                encode_basestring_ascii(
                    listing_content_type(entry.content_type)),
                last_modified(entry.created_at)))


def _container_json(entry, policy_name):
    if type(entry) is Subdir:
        return _json_subdir(entry)
    policy = ''
    if policy_name is not None:
        policy = ', "storage_policy": %s' % encode_basestring_ascii(
            policy_name)
    return ('{"name": %s, "count": %d, "bytes": %d, "last_modified": "%s"%s}'
            % (encode_basestring_ascii(entry.name), entry.object_count,
               entry.bytes_used, last_modified(entry.put_timestamp), policy))


# Characters XML 1.0's Char production excludes (surrogates cannot reach
# here: names are valid UTF-8).
XML_FORBIDDEN = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')


# A raw CR in character data reaches the reader as LF (XML end-of-line
# handling); a character reference survives.
XML_TEXT_ENTITIES = {'\r': '&#13;'}

# In an attribute, whitespace other than a space is normalized to a space
# by the reader unless written as a reference (the references Swift's
# ElementTree writes).
XML_ATTR_ENTITIES = {'"': '&quot;', '\n': '&#10;', '\r': '&#13;',
                     '\t': '&#09;'}


def xml_text(value):
    """``value`` escaped as XML character data, forbidden chars replaced.

    >>> xml_text('a<b\\x07\\r') == 'a&lt;b\\ufffd&#13;'
    True
    """
    return escape(XML_FORBIDDEN.sub('\ufffd', value), XML_TEXT_ENTITIES)


def xml_attr(value):
    """``value`` as a double-quoted XML attribute, forbidden chars replaced.

    >>> xml_attr('a"b\\tc')
    '"a&quot;b&#09;c"'
    """
    return '"%s"' % escape(XML_FORBIDDEN.sub('\ufffd', value),
                           XML_ATTR_ENTITIES)


def _object_xml(entry):
    if type(entry) is Subdir:
        return '<subdir name=%s><name>%s</name></subdir>' % (
            xml_attr(entry.name), xml_text(entry.name))
    return ('<object><name>%s</name><hash>%s</hash><bytes>%d</bytes>'
            '<content_type>%s</content_type>'
            '<last_modified>%s</last_modified></object>' % (
                xml_text(entry.name), xml_text(entry.etag), entry.size,
                xml_text(listing_content_type(entry.content_type)),
                last_modified(entry.created_at)))


def _container_xml(entry, policy_name):
    """One account entry and its newline (Swift's layout)."""
    if type(entry) is Subdir:
        return '<subdir name=%s />\n' % xml_attr(entry.name)
    policy = ''
    if policy_name is not None:
        policy = '<storage_policy>%s</storage_policy>' % xml_text(policy_name)
    return ('<container><name>%s</name><count>%d</count><bytes>%d</bytes>'
            '<last_modified>%s</last_modified>%s</container>\n' % (
                xml_text(entry.name), entry.object_count, entry.bytes_used,
                last_modified(entry.put_timestamp), policy))


def _xml_document(root, owner, body):
    """The prolog and the root element, empty as ``<root name="x" />``."""
    if not body:
        return '%s<%s name=%s />' % (XML_PROLOG, root, xml_attr(owner))
    return '%s<%s name=%s>%s</%s>' % (XML_PROLOG, root, xml_attr(owner),
                                      body, root)


def _render(entries, content_type, to_json, to_xml):
    if content_type == JSON_TYPE:
        return ('[' + ', '.join([to_json(e) for e in entries]) +
                ']').encode('ascii')
    if content_type in (XML_TYPE, TEXT_XML_TYPE):
        return to_xml(entries).encode('utf-8')
    if not entries:
        return b''
    return ''.join(e.name + '\n' for e in entries).encode('utf-8')


def render_container_listing(entries, content_type, container):
    """Body bytes of a container listing of ObjectEntry/Subdir entries."""
    def to_xml(entries):
        return _xml_document('container', container,
                             ''.join(_object_xml(e) for e in entries))
    return _render(entries, content_type, _object_json, to_xml)


def render_account_listing(entries, content_type, account,
                           policy_names=None):
    """Body bytes of an account listing of ContainerEntry/Subdir entries.

    ``policy_names`` ({index: name}) names each container's storage
    policy (``storage_policy``); a container whose index it lacks is
    listed without one, as Swift lists one of an unknown policy. Swift's
    account element always holds a newline, so it is never written empty.
    """
    policy_names = policy_names or {}

    def policy_of(entry):
        if type(entry) is Subdir:
            return None
        return policy_names.get(entry.storage_policy_index)

    def to_json(entry):
        return _container_json(entry, policy_of(entry))

    def to_xml(entries):
        return _xml_document('account', account, '\n' + ''.join(
            _container_xml(e, policy_of(e)) for e in entries))
    return _render(entries, content_type, to_json, to_xml)


def listing_status(entries, content_type):
    """200, or 204 for an empty plain-text listing (Swift's rule)."""
    if not entries and content_type == PLAIN_TYPE:
        return 204
    return 200
