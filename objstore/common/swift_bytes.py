"""The ``swift_bytes`` content type parameter (pure).

An SLO manifest is stored with ``Content-Type: <type>;swift_bytes=<total
size of its segments>``, as in Swift: the container listing shows that
total as the object's ``bytes`` while the container's bytes used counts
the manifest itself. Clients never send (the proxy refuses ``swift_*``
parameters) nor see it (the proxy strips it from GET/HEAD answers).

Must not: do I/O.
"""

from objstore.common.listing import CONTENT_TYPE_PARAM

SWIFT_BYTES = 'swift_bytes'


def split_swift_bytes(content_type):
    """(content type without ``swift_bytes``, its value or None).

    >>> split_swift_bytes('text/plain; charset=utf-8;swift_bytes=10')
    ('text/plain; charset=utf-8', '10')
    >>> split_swift_bytes('text/plain')
    ('text/plain', None)
    """
    media, semicolon, params = (content_type or '').partition(';')
    if not semicolon or SWIFT_BYTES not in params:
        return content_type or '', None
    kept, swift_bytes = [], None
    for key, value in CONTENT_TYPE_PARAM.findall(semicolon + params):
        if key == SWIFT_BYTES:
            swift_bytes = value
        else:
            kept.append('%s=%s' % (key, value) if value else key)
    return '; '.join([media] + kept), swift_bytes


def with_swift_bytes(content_type, swift_bytes):
    """``content_type`` with ``swift_bytes`` appended (unless None).

    >>> with_swift_bytes('a/b', '7'), with_swift_bytes('a/b', None)
    ('a/b;swift_bytes=7', 'a/b')
    """
    if swift_bytes is None:
        return content_type
    return '%s;%s=%s' % (content_type, SWIFT_BYTES, swift_bytes)


def client_content_type(value):
    """A stored content type as clients see it: as Swift's proxy does, a
    last ``swift_bytes`` parameter is cut off, the rest left as stored.

    >>> client_content_type('text/plain; charset=utf-8;swift_bytes=10')
    'text/plain; charset=utf-8'
    >>> client_content_type('text/plain;swift_bytesx=1')
    'text/plain;swift_bytesx=1'
    """
    head, semicolon, last = value.rpartition(';')
    if semicolon and last.lstrip().startswith(SWIFT_BYTES + '='):
        return head
    return value
