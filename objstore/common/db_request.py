"""What an account or container server request says, and its answers.

Owns: integer headers, the listing query (format, params), which request
headers become DB metadata (``metadata_from_headers``) and how metadata
is listed back, the headers of a deleted DB's 404, and the small response
builders the DB servers share (text, 409, JSON).

Must not: know a schema (the brokers do) or what a verb means for an
account or a container (each ``server.py`` does).
"""

import dataclasses
import json
from urllib.parse import parse_qsl

from objstore.common.constraints import allows_reserved
from objstore.common.exceptions import InvalidInput
from objstore.common.http import Response
from objstore.common.listing import negotiate_format, parse_listing_params


def header_int(headers, name, default=None):
    """A non-negative integer header; InvalidInput if bad (or missing and
    no default)."""
    value = headers.get(name)
    if value is None or value == '':
        if default is None:
            raise InvalidInput('Missing %s header' % name)
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise InvalidInput('Invalid %s header: %r' % (name, value))
    return number


def decode_query(raw):
    """{name: value} of a query string; invalid UTF-8 kept as surrogates."""
    return dict(parse_qsl(raw, keep_blank_values=True, encoding='utf-8',
                          errors='surrogateescape'))


def listing_request(req, max_limit, with_path=False):
    """(content type, ListingParams) of a listing GET/HEAD; ``with_path``
    for container listings (``path=``)."""
    query = decode_query(req.environ.get('QUERY_STRING', ''))
    content_type = negotiate_format(query.get('format'),
                                    req.headers.get('Accept'))
    params = parse_listing_params(query, max_limit, with_path)
    if allows_reserved(req.environ):
        params = dataclasses.replace(params, with_reserved=True)
    return content_type, params


def deleted_headers(info):
    """What a 404 for a deleted DB tells the proxy: the tombstone's time
    in X-Backend-Timestamp, so deleted can be told from never created."""
    return {
        'X-Backend-Timestamp': info['delete_timestamp'],
        'X-Backend-Put-Timestamp': info['put_timestamp'],
        'X-Backend-Delete-Timestamp': info['delete_timestamp'],
        'X-Backend-Status-Changed-At': info['status_changed_at'],
    }


def response(status, headers=None, body=b'', content_type=None,
             charset='utf-8'):
    """A Response whose Content-Length always matches ``body``.

    Without a content type, a body is sent as text/plain and an empty
    answer untyped (the Response types it, and gives an error swob's page,
    as Swift's servers do); ``charset`` None types it without one. The
    header list is built directly: this runs once per object-row update.
    """
    headerlist = []
    if body or content_type:
        content_type = content_type or 'text/plain'
        if charset is not None:
            content_type += '; charset=' + charset
        headerlist.append(('Content-Type', content_type))
    if headers:
        headerlist.extend(headers.items())
    headerlist.append(('Content-Length', str(len(body))))
    return Response(status=status, headerlist=headerlist, body=body)


def conflict(headers=None):
    """409 without a body, as Swift's DB servers answer every conflict:
    the proxy gives it swob's page."""
    return response(409, headers)


def json_response(status, payload):
    return response(status, body=json.dumps(payload).encode('utf-8'),
                    content_type='application/json')


# -- DB metadata from request headers ---------------------------------------

# Headers kept as container metadata besides X-Container-Meta-* and
# X-Container-Sysmeta-* (ACLs and Swift's container features).
CONTAINER_STORED_HEADERS = frozenset((
    'x-container-read', 'x-container-write', 'x-container-sync-to',
    'x-container-sync-key', 'x-versions-location', 'x-history-location'))


def metadata_from_headers(headers, db_type, timestamp):
    """{header name: (value, timestamp)} of the DB metadata a request sets.

    ``headers`` is a list of (name, value) pairs. User metadata
    (``X-<Type>-Meta-*``) and system metadata (``X-<Type>-Sysmeta-*``) are
    kept under their own names, so removing one kind never touches the
    other. ``X-Remove-<Type>-Meta-Foo`` (any value) and an empty value both
    delete a key; deletions are stored as '' with the timestamp.

    >>> metadata_from_headers([('X-Container-Meta-Color', 'red'),
    ...     ('X-Remove-Container-Meta-Size', 'x'), ('X-Other', '1')],
    ...     'container', '0000000001.00000')  # doctest: +NORMALIZE_WHITESPACE
    {'X-Container-Meta-Color': ('red', '0000000001.00000'),
     'X-Container-Meta-Size': ('', '0000000001.00000')}
    """
    prefixes = ('x-%s-meta-' % db_type, 'x-%s-sysmeta-' % db_type)
    stored = CONTAINER_STORED_HEADERS if db_type == 'container' else ()
    remove = 'x-remove-'
    updates = {}
    for name, value in headers:
        lower = name.lower()
        if lower.startswith(remove):
            target = 'x-' + lower[len(remove):]
            if target.startswith(prefixes) or target in stored:
                updates[target.title()] = ('', timestamp)
        elif lower.startswith(prefixes) or lower in stored:
            updates.setdefault(lower.title(), (value, timestamp))
    return updates


def metadata_headers(metadata):
    """[(name, value)] of the live (non-deleted) metadata keys."""
    return [(name, value) for name, (value, _ts) in sorted(metadata.items())
            if value != '']
