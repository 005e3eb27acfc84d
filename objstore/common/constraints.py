"""Limits on names, metadata, header lines and sizes: the one home of
every constraint.

The proxy publishes these in ``/info``; proxy and storage servers check
them with the functions below, which raise InvalidInput(message, status)
and never build responses.
"""

from urllib.parse import urlparse

from objstore.common.exceptions import InvalidInput, NameTooLong
from objstore.common.http_basics import environ_key

MAX_FILE_SIZE = 5 * 1024 ** 3 + 2
MAX_META_NAME_LENGTH = 128
MAX_META_VALUE_LENGTH = 256
MAX_META_COUNT = 90
MAX_META_OVERALL_SIZE = 4096
MAX_HEADER_SIZE = 8192
MAX_OBJECT_NAME_LENGTH = 1024
MAX_CONTAINER_NAME_LENGTH = 256
MAX_ACCOUNT_NAME_LENGTH = 256
CONTAINER_LISTING_LIMIT = 10000
ACCOUNT_LISTING_LIMIT = 10000

# Header lines one HTTP message may carry, on every hop (client -> proxy ->
# storage server and back). User metadata is the only part a client can
# grow; around it, generous allowances for what HTTP and objstore add, so
# that the largest legal metadata always passes:
# - framing, caching, conditional, range, auth and CORS headers, and what a
#   client's HTTP library adds on its own;
PROTOCOL_HEADER_ALLOWANCE = 40
# - the proxy's backend headers (X-Timestamp, X-Trans-Id, the policy index,
#   the container or account to update, X-Delete-At-*, Expect) and the
#   X-Backend-* headers of a storage server's answer;
BACKEND_HEADER_ALLOWANCE = 20
# - system metadata that middlewares keep beside user metadata.
SYSMETA_HEADER_ALLOWANCE = 20
MAX_HEADER_COUNT = (MAX_META_COUNT + PROTOCOL_HEADER_ALLOWANCE +
                    BACKEND_HEADER_ALLOWANCE + SYSMETA_HEADER_ALLOWANCE)

NAME_LIMITS = {
    'account': MAX_ACCOUNT_NAME_LENGTH,
    'container': MAX_CONTAINER_NAME_LENGTH,
    'object': MAX_OBJECT_NAME_LENGTH,
}

META_PREFIXES = {
    'account': 'x-account-meta-',
    'container': 'x-container-meta-',
    'object': 'x-object-meta-',
}
DB_META_PREFIXES = (META_PREFIXES['account'], META_PREFIXES['container'])


def public_limits():
    """The limits a client may rely on, as /info lists them."""
    return {
        'max_file_size': MAX_FILE_SIZE,
        'max_meta_name_length': MAX_META_NAME_LENGTH,
        'max_meta_value_length': MAX_META_VALUE_LENGTH,
        'max_meta_count': MAX_META_COUNT,
        'max_meta_overall_size': MAX_META_OVERALL_SIZE,
        'max_header_size': MAX_HEADER_SIZE,
        'max_object_name_length': MAX_OBJECT_NAME_LENGTH,
        'max_container_name_length': MAX_CONTAINER_NAME_LENGTH,
        'max_account_name_length': MAX_ACCOUNT_NAME_LENGTH,
        'container_listing_limit': CONTAINER_LISTING_LIMIT,
        'account_listing_limit': ACCOUNT_LISTING_LIMIT,
    }


def valid_utf8(value):
    """True if ``value`` (str or bytes) is valid UTF-8 with no surrogates.

    WSGI hands paths over as latin-1 decoded bytes; callers pass the str
    they got from the URL-unquoting step.
    """
    if isinstance(value, str):
        try:
            value.encode('utf-8')
        except UnicodeEncodeError:
            return False
        return True
    try:
        value.decode('utf-8')
    except UnicodeDecodeError:
        return False
    return True


def check_name(value, kind, allow_reserved=False):
    """Validate an account, container or object name.

    Rejects: empty, over the length limit (in UTF-8 bytes), invalid UTF-8,
    NUL (except in a reserved name when ``allow_reserved``), and for
    accounts/containers a '/'. Object names may contain '/',
    and '.' or '..' segments, as in Swift: a name is only ever hashed into
    its on-disk place, never joined to a path, so it cannot walk out of it.

    >>> check_name(reserved_name('versions', 'c'), 'container', True)
    >>> check_name('c\\x00', 'container', True)
    Traceback (most recent call last):
    ...
    objstore.common.exceptions.InvalidInput: container name contains a NUL byte
    """
    limit = NAME_LIMITS[kind]
    if not value:
        raise InvalidInput('%s name is empty' % kind)
    if not valid_utf8(value):
        raise InvalidInput('%s name is not valid UTF-8' % kind)
    encoded = value.encode('utf-8') if isinstance(value, str) else value
    if len(encoded) > limit:
        raise NameTooLong('%s name length of %d longer than %d'
                          % (kind.capitalize(), len(encoded), limit), kind)
    if b'\x00' in encoded and not (allow_reserved and
                                  encoded.startswith(b'\x00')):
        raise InvalidInput('%s name contains a NUL byte' % kind)
    if kind != 'object' and b'/' in encoded:
        raise InvalidInput('%s name contains a "/"' % kind)


# Reserved names (Swift's): a name that starts with NUL belongs to the
# cluster's middlewares (object versioning's hidden containers and
# versions), never to a client. The proxy serves one only to a request that
# carries ALLOW_RESERVED_HEADER (the gatekeeper strips it from clients, so
# only a middleware's subrequest can), and storage servers list reserved
# names only when asked with it.
RESERVED = '\x00'
ALLOW_RESERVED_HEADER = 'X-Backend-Allow-Reserved-Names'
ALLOW_RESERVED_ENVIRON_KEY = environ_key(ALLOW_RESERVED_HEADER)


def allows_reserved(environ):
    """Whether a WSGI request may address and list reserved names; read
    from its environ: the proxy asks on every request, and webob's header
    view costs more than the rest of the check.

    >>> allows_reserved({'HTTP_X_BACKEND_ALLOW_RESERVED_NAMES': 'True'})
    True
    """
    return environ.get(ALLOW_RESERVED_ENVIRON_KEY, '').lower() == 'true'


def reserved_name(*parts):
    """The reserved name made of ``parts`` (which must not hold NUL).

    >>> reserved_name('versions', 'photos')
    '\\x00versions\\x00photos'
    """
    if any(RESERVED in part for part in parts):
        raise ValueError('a part of a reserved name holds NUL')
    return RESERVED + RESERVED.join(parts)


def split_reserved_name(name):
    """The parts of a reserved name; ValueError for any other name.

    >>> split_reserved_name('\\x00versions\\x00photos')
    ['versions', 'photos']
    """
    if not name.startswith(RESERVED):
        raise ValueError('not a reserved name: %r' % name)
    return name[1:].split(RESERVED)


def check_metadata(headers, target_type):
    """Validate user metadata headers for an account, container or object.

    ``headers`` is any mapping of header names to values. Mirrors Swift's
    limits: name length, value length, item count, overall size.
    """
    prefix = META_PREFIXES[target_type]
    count = 0
    size = 0
    for name, value in headers.items():
        lower = name.lower()
        if not lower.startswith(prefix):
            continue
        key = name[len(prefix):]
        if not key:
            raise InvalidInput('Metadata name cannot be empty')
        if isinstance(value, str) and not valid_utf8(value):
            raise InvalidInput('metadata value of %s is not valid UTF-8'
                               % name)
        # Swift's words: the prefix as it matched, the name as sent.
        if len(key) > MAX_META_NAME_LENGTH:
            raise InvalidInput('Metadata name too long: %s%s'
                               % (prefix, key))
        if len(value) > MAX_META_VALUE_LENGTH:
            raise InvalidInput('Metadata value longer than %d: %s%s'
                               % (MAX_META_VALUE_LENGTH, prefix, key))
        count += 1
        size += len(key) + len(value)
    _check_meta_totals(count, size)


def _check_meta_totals(count, size):
    if count > MAX_META_COUNT:
        raise InvalidInput('Too many metadata items; max %d' % MAX_META_COUNT)
    if size > MAX_META_OVERALL_SIZE:
        raise InvalidInput('Total metadata too large; max %d'
                           % MAX_META_OVERALL_SIZE)


def db_metadata_usage(metadata):
    """(item count, bytes) of the user metadata an account or container DB
    holds, counted as ``check_metadata`` counts one request.

    ``metadata`` maps a header name to [value, timestamp], as the broker
    keeps it. Deleted keys (empty value) and system metadata are free, as in
    Swift: a client makes room by removing keys.

    >>> db_metadata_usage({'X-Container-Meta-Color': ['red', '1.0'],
    ...                    'X-Container-Meta-Gone': ['', '2.0'],
    ...                    'X-Container-Sysmeta-Acl': ['x', '1.0']})
    (1, 8)
    """
    count = 0
    size = 0
    for name, (value, _timestamp) in metadata.items():
        lower = name.lower()
        if not value or not lower.startswith(DB_META_PREFIXES):
            continue
        prefix = next(p for p in DB_META_PREFIXES if lower.startswith(p))
        count += 1
        size += len(lower) - len(prefix) + len(value)
    return count, size


def check_db_metadata(metadata):
    """Reject a DB's metadata (existing merged with a request's) that is
    over the limits ``/info`` advertises for one request.

    Each POST may be within the limits while many together are not; the
    storage server checks the merged result before it commits, so a DB's
    metadata, and the headers of every answer about it, stay bounded.
    """
    _check_meta_totals(*db_metadata_usage(metadata))


def is_chunked(transfer_encoding):
    """Whether a request body comes chunked, from its Transfer-Encoding.

    Chunked is the only transfer coding a body may have, as in Swift: a
    list of codings is 501, any other single coding 400.

    >>> is_chunked(None), is_chunked('Chunked')
    (False, True)
    """
    if transfer_encoding is None:
        return False
    codings = transfer_encoding.split(',')
    if len(codings) > 1:
        raise InvalidInput('Unsupported Transfer-Coding header value '
                           'specified in Transfer-Encoding header',
                           status=501)
    if codings[0].strip().lower() != 'chunked':
        raise InvalidInput('Invalid Transfer-Encoding header value')
    return True


def check_object_length(content_length, chunked):
    """Validate a PUT body's declared length (or chunked encoding).

    ``content_length`` is the raw header value or None.
    """
    if content_length is None:
        if not chunked:
            raise InvalidInput('Missing Content-Length header', status=411)
        return None
    # ASCII digits only: int() also reads '1_0', ' 10' and other scripts'
    # digits, which another HTTP parser on the path may read differently.
    if not (content_length.isascii() and content_length.isdigit()):
        raise InvalidInput('Invalid Content-Length header: %r'
                           % content_length)
    if len(content_length.lstrip('0')) > len(str(MAX_FILE_SIZE)):
        # too large whatever it says; int() refuses 4,300+ digits
        raise InvalidInput('Your request is too large.', status=413)
    length = int(content_length)
    if length < 0:
        raise InvalidInput('Invalid Content-Length header: %r'
                           % content_length)
    if length > MAX_FILE_SIZE:
        raise InvalidInput('Your request is too large.', status=413)
    return length


def check_sync_to(value, allowed_hosts):
    """InvalidInput unless ``value`` (X-Container-Sync-To) is empty, a
    ``//realm/cluster/account/container`` name, or an http(s) URL with a
    path on one of ``allowed_hosts``, with Swift's messages. Realm names
    are not checked: no container sync realms are configured.

    >>> check_sync_to('http://127.0.0.1/v1/a/c', ('127.0.0.1',))
    >>> check_sync_to('http://x', ('x',))
    Traceback (most recent call last):
    ...
    objstore.common.exceptions.InvalidInput: Path required in X-Container-Sync-To
    """
    value = (value or '').rstrip('/')
    if not value or value.startswith('//'):
        return
    url = urlparse(value)
    if url.scheme not in ('http', 'https'):
        raise InvalidInput('Invalid scheme %r in X-Container-Sync-To, must '
                           'be "//", "http", or "https".' % url.scheme)
    if not url.path:
        raise InvalidInput('Path required in X-Container-Sync-To')
    if url.params or url.query or url.fragment:
        raise InvalidInput('Params, queries, and fragments not allowed in '
                           'X-Container-Sync-To')
    if url.hostname not in allowed_hosts:
        raise InvalidInput('Invalid host %r in X-Container-Sync-To'
                           % url.hostname)


# Set in the environ by a middleware that writes a Content-Type with
# ``swift_*`` parameters of its own (a client may not: see below).
CONTENT_TYPE_OVERRIDDEN = 'swift.content_type_overridden'


def check_content_type_params(value):
    """InvalidInput if a client's Content-Type has a ``swift_*``
    parameter: those are the cluster's own (e.g. ``swift_bytes``).

    >>> check_content_type_params('text/plain; charset=utf-8')
    >>> check_content_type_params('text/plain;swift_bytes=3')
    Traceback (most recent call last):
    ...
    objstore.common.exceptions.InvalidInput: Invalid Content-Type, swift_* is not a valid parameter name.
    """
    for param in (value or '').split(';')[1:]:
        if param.lstrip().startswith('swift_'):
            raise InvalidInput('Invalid Content-Type, swift_* is not a valid '
                               'parameter name.', plain=False)
