"""Conditional request evaluation (RFC 7232): If-Match, If-None-Match,
If-Modified-Since, If-Unmodified-Since.

Pure functions over header values, an entity's ETag and its Last-Modified
time (whole seconds since the epoch); they return the status the request
must be answered with instead of the entity (304 or 412), or None. No I/O,
no HTTP objects: the servers and the proxy build the responses.

Order of evaluation: Swift's, which clients of the Swift API see, and
which differs from RFC 7232 section 6 in one place (If-None-Match comes
first, so a failing If-Match plus a matching If-None-Match is a 304):

1. If-None-Match matches -> 304 for GET/HEAD, 412 for other methods;
2. If-Match fails -> 412 (an empty If-Match lists no tag and so fails;
   without If-Match, If-Unmodified-Since failing -> 412);
3. without If-None-Match, for GET/HEAD only, If-Modified-Since says not
   modified -> 304.

A missing entity fails ``If-Match: *`` (``requires_entity``): 412, not 404.

Worked example::

    >>> evaluate_conditions('GET', {'If-None-Match': '"abc"'}, 'abc', 0)
    304
    >>> evaluate_conditions('GET', {'If-Match': '"xyz"'}, 'abc', 0) is None
    False
"""

import datetime
import email.utils

from objstore.common.exceptions import InvalidInput
from objstore.common.http_basics import environ_key

NOT_MODIFIED = 304
PRECONDITION_FAILED = 412

SAFE_METHODS = ('GET', 'HEAD')
# The request headers this module evaluates, and their WSGI environ keys.
CONDITION_HEADERS = ('If-Match', 'If-None-Match', 'If-Modified-Since',
                     'If-Unmodified-Since')
CONDITION_KEYS = tuple(environ_key(name) for name in CONDITION_HEADERS)


def has_conditions(environ):
    """True when the request sends any of CONDITION_HEADERS; read from
    the environ, since nearly every request sends none.

    >>> has_conditions({'HTTP_IF_NONE_MATCH': '*'}), has_conditions({})
    (True, False)
    """
    return any(key in environ for key in CONDITION_KEYS)


def parse_etag_list(value):
    """The entity tags of an If-Match / If-None-Match value.

    Quotes and the weak prefix are stripped (the comparison we do is the
    weak one, which is what GET and HEAD use); ``*`` stays ``*``.

    >>> parse_etag_list('"a", W/"b",c')
    ['a', 'b', 'c']
    """
    tags = []
    for item in value.split(','):
        tag = item.strip()
        if tag.startswith('W/'):
            tag = tag[2:]
        if len(tag) >= 2 and tag[0] == tag[-1] == '"':
            tag = tag[1:-1]
        if tag:
            tags.append(tag)
    return tags


def etag_matches(header_value, etag):
    """True when the entity's etag is in the list, or the list is ``*``."""
    tags = parse_etag_list(header_value)
    return '*' in tags or (etag is not None and etag.strip('"') in tags)


def parse_http_date(value):
    """Seconds since the epoch of an HTTP-date, or None when unparseable.

    An invalid date makes the condition be ignored, as RFC 7232 requires:
    that includes fields out of range (day 32, hour 25) and years no
    calendar holds (an 11-digit year would overflow).

    >>> parse_http_date('Thu, 01 Jan 1970 00:01:40 GMT')
    100
    >>> parse_http_date('Thu, 01 Jan 10000000000 00:00:00 GMT') is None
    True
    """
    try:
        parsed = email.utils.parsedate_tz(value)
    except (TypeError, ValueError):
        return None
    if parsed is None:
        return None
    try:
        moment = datetime.datetime(*parsed[:6], tzinfo=datetime.timezone.utc)
    except (ValueError, OverflowError):
        return None
    return int(moment.timestamp()) - (parsed[9] or 0)


def http_date(seconds):
    """The IMF-fixdate form of a time, for Last-Modified."""
    return email.utils.formatdate(seconds, usegmt=True)


def _header(headers, name):
    value = headers.get(name)
    return value if value not in (None, '') else None


def _lists_star(value):
    """True when a header value is present and lists ``*`` among its tags
    (``"*"`` and ``*, abc`` do, as Swift reads them)."""
    return value is not None and '*' in parse_etag_list(value)


def requires_entity(headers):
    """True when If-Match lists ``*``: a missing entity fails it (412).

    >>> requires_entity({'If-Match': '"*"'}), requires_entity({})
    (True, False)
    """
    return _lists_star(headers.get('If-Match'))


def check_put_if_none_match(headers):
    """InvalidInput unless a PUT's If-None-Match, if any, lists ``*``: the
    only condition a write can honour (Swift's rule, same text).

    >>> check_put_if_none_match({'If-None-Match': '*, abc'})
    >>> check_put_if_none_match({'If-None-Match': 'abc'})
    Traceback (most recent call last):
    ...
    objstore.common.exceptions.InvalidInput: If-None-Match only supports *
    """
    value = headers.get('If-None-Match')
    if value is not None and not _lists_star(value):
        raise InvalidInput('If-None-Match only supports *')


# A middleware's If-Match for a PUT (Swift's API ignores If-Match on PUT,
# so clients of that API keep its meaning); the gatekeeper keeps clients
# from sending it, the proxy passes it to the object servers.
PUT_IF_MATCH_HEADER = 'X-Backend-Put-If-Match'
# The proxy's DELETE that takes back what a conditional PUT at its
# X-Timestamp stored on a node, when that PUT failed its quorum.
WITHDRAW_PUT_HEADER = 'X-Backend-Withdraw-Put'
# The proxy's body-less PUT that lets a node send the container update of
# the conditional PUT at its X-Timestamp, once that PUT won its quorum.
ANNOUNCE_PUT_HEADER = 'X-Backend-Announce-Put'
# s3api's DELETE of a key it expects to be a plain object: each object
# server refuses it (412) when what it holds is a multipart manifest or a
# symlink (a version link is one), which s3api must delete another way
# (the manifest with its segments). The gatekeeper keeps clients from
# sending it; the proxy passes it to the object servers.
DELETE_IF_PLAIN_HEADER = 'X-Backend-Delete-If-Plain'


def write_condition(headers):
    """(creates only, If-Match list or None) of a PUT, or None for an
    unconditional one.

    >>> write_condition({'If-None-Match': '*'}), write_condition({})
    ((True, None), None)
    >>> write_condition({PUT_IF_MATCH_HEADER: '"abc"'})
    (False, '"abc"')
    """
    only_new = creates_only(headers)
    if_match = headers.get(PUT_IF_MATCH_HEADER)
    if not only_new and if_match is None:
        return None
    return only_new, if_match


def write_condition_holds(condition, exists, etag):
    """Whether a PUT's ``write_condition`` holds against the object it
    replaces (``etag``: its ETag, or what the ETag-is-at item names).

    >>> write_condition_holds((True, None), False, None)
    True
    >>> write_condition_holds((False, 'abc'), True, 'abd')
    False
    """
    only_new, if_match = condition
    if only_new and exists:
        return False
    if if_match is not None:
        return exists and etag_matches(if_match, etag)
    return True


def creates_only(headers):
    """True when a PUT may only create: its If-None-Match lists ``*``."""
    return _lists_star(headers.get('If-None-Match'))


def evaluate_conditions(method, headers, etag, last_modified):
    """304, 412 or None for a request against an existing entity.

    ``headers`` is any mapping with case-insensitive ``get`` (or one
    keyed by the canonical names below); ``last_modified`` is whole seconds.

    >>> evaluate_conditions('GET', {'If-Match': ''}, 'abc', 0)
    412
    >>> evaluate_conditions('GET', {'If-Match': 'x', 'If-None-Match': 'abc'},
    ...                     'abc', 0)
    304
    """
    method = method.upper()
    if_none_match = _header(headers, 'If-None-Match')
    if if_none_match is not None and etag_matches(if_none_match, etag):
        return NOT_MODIFIED if method in SAFE_METHODS \
            else PRECONDITION_FAILED
    if_match = headers.get('If-Match')
    if if_match is not None:
        if not etag_matches(if_match, etag):
            return PRECONDITION_FAILED
    else:
        unmodified_since = _header(headers, 'If-Unmodified-Since')
        since = (parse_http_date(unmodified_since)
                 if unmodified_since is not None else None)
        if since is not None and last_modified > since:
            return PRECONDITION_FAILED
    if if_none_match is None and method in SAFE_METHODS:
        modified_since = _header(headers, 'If-Modified-Since')
        since = (parse_http_date(modified_since)
                 if modified_since is not None else None)
        if since is not None and last_modified <= since:
            return NOT_MODIFIED
    return None
