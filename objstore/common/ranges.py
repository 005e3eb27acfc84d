"""HTTP byte ranges: Range header parsing and multipart/byteranges framing.

Pure functions, no I/O. The object server uses them to answer ranged GETs and
the proxy uses them to read ranged responses from backends. This module owns
the RFC 7233 rules; it must not read files or sockets.

A parsed Range header is a list of ``(first, last)`` pairs as written by the
client: ``(first, None)`` for an open end (``500-``) and ``(None, n)`` for a
suffix (``-500``, the last n bytes). ``resolve_ranges`` turns them into
half-open ``(start, stop)`` byte offsets for a known length.

Worked example, a 1,000-byte object::

    >>> resolve_ranges(parse_range_header('bytes=0-99,-100,950-'), 1000)
    [(0, 100), (900, 1000), (950, 1000)]
    >>> content_range_header(900, 1000, 1000)
    'bytes 900-999/1000'
"""

from objstore.common.exceptions import BadRange, RangeUnsatisfiable

# More ranges than this in one header is treated as abuse and the header is
# ignored (a full 200), as Swift does: many tiny ranges cost the server far
# more than the bytes they return.
MAX_RANGES = 50

CRLF = b'\r\n'


def parse_range_header(value):
    """The (first, last) pairs of a ``bytes=`` Range header.

    Raises BadRange when the header is syntactically invalid; RFC 7233 says
    such a header is ignored, so callers then answer the whole entity.

    >>> parse_range_header('bytes=0-9, 20-, -5')
    [(0, 9), (20, None), (None, 5)]
    """
    if value is None:
        raise BadRange('no Range header')
    unit, sep, spec = value.strip().partition('=')
    if not sep or unit.strip().lower() != 'bytes':
        raise BadRange('Range unit must be bytes: %r' % value)
    pairs = [_parse_range_spec(part) for part in spec.split(',')
             if part.strip()]
    if not pairs:
        raise BadRange('empty Range: %r' % value)
    if len(pairs) > MAX_RANGES:
        raise BadRange('too many ranges (%d > %d)' % (len(pairs), MAX_RANGES))
    return pairs


def _parse_range_spec(part):
    first, sep, last = part.strip().partition('-')
    if not sep:
        raise BadRange('range without "-": %r' % part)
    first, last = first.strip(), last.strip()
    if not first and not last:
        raise BadRange('range with neither end: %r' % part)
    first_num = _parse_offset(first) if first else None
    last_num = _parse_offset(last) if last else None
    if first_num is not None and last_num is not None and last_num < first_num:
        raise BadRange('range ends before it starts: %r' % part)
    return first_num, last_num


def _is_ascii_digits(text):
    """True for a non-empty run of ASCII digits only.

    ``str.isdigit`` alone also accepts digits ``int`` cannot read, such as
    superscripts ('\xb2' is '²'), and other scripts' digits; RFC 7233's
    DIGIT is ASCII.

    >>> _is_ascii_digits('42'), _is_ascii_digits('\xb2'), _is_ascii_digits('')
    (True, False, False)
    """
    return text.isascii() and text.isdigit()


MAX_OFFSET_DIGITS = 20


def _parse_offset(text):
    """A byte offset; any offset of more than 20 digits is past every
    entity, so it is read as 10**20 (``int`` refuses 4,300+ digits).

    >>> _parse_offset('7'), _parse_offset('9' * 5000) == 10 ** 20
    (7, True)
    """
    if not _is_ascii_digits(text):
        raise BadRange('not a byte offset: %r' % text)
    if len(text.lstrip('0')) > MAX_OFFSET_DIGITS:
        return 10 ** MAX_OFFSET_DIGITS
    return int(text)


def resolve_ranges(pairs, length):
    """Half-open (start, stop) offsets of the satisfiable ranges, in order.

    Ranges that start beyond the end are dropped; when none is left the
    request is unsatisfiable and RangeUnsatisfiable is raised (416). A suffix
    longer than the entity means the whole entity; ``-0`` is unsatisfiable.

    >>> resolve_ranges([(5, None), (None, 3), (100, 200)], 10)
    [(5, 10), (7, 10)]
    """
    resolved = []
    for first, last in pairs:
        if first is None:
            if last == 0 or length == 0:
                continue
            resolved.append((max(0, length - last), length))
        elif first < length:
            stop = length if last is None else min(last + 1, length)
            resolved.append((first, stop))
    if not resolved:
        raise RangeUnsatisfiable('no range overlaps %d bytes' % length)
    return resolved


def content_range_header(start, stop, length):
    """The Content-Range value for one resolved range."""
    return 'bytes %d-%d/%d' % (start, stop - 1, length)


def unsatisfiable_content_range(length):
    """The Content-Range value sent with a 416."""
    return 'bytes */%d' % length


def multipart_content_type(boundary):
    # No space after ';', as Swift writes it (clients compare the header).
    return 'multipart/byteranges;boundary=%s' % boundary


def part_header(boundary, content_type, start, stop, length):
    """Bytes that open one part of a multipart/byteranges body."""
    lines = ['--%s' % boundary,
             'Content-Type: %s' % content_type,
             'Content-Range: %s' % content_range_header(start, stop, length),
             '', '']
    return '\r\n'.join(lines).encode('latin-1')


def closing_delimiter(boundary):
    return ('--%s--' % boundary).encode('latin-1')


def multipart_frames(ranges, boundary, content_type, length):
    """(header_bytes, start, stop) per part, then the closing bytes.

    Every part after the first is preceded by a CRLF, which belongs to the
    delimiter (RFC 2046); the header bytes returned already include it, and
    the closing bytes include the CRLF after the last part's data.
    """
    frames = []
    for index, (start, stop) in enumerate(ranges):
        head = part_header(boundary, content_type, start, stop, length)
        frames.append((CRLF + head if index else head, start, stop))
    return frames, CRLF + closing_delimiter(boundary)


def multipart_body_length(ranges, boundary, content_type, length):
    """Exact Content-Length of the multipart/byteranges body."""
    frames, closing = multipart_frames(ranges, boundary, content_type, length)
    return (sum(len(head) + stop - start for head, start, stop in frames)
            + len(closing))


def parse_content_range(value):
    """(start, stop, length) from a ``bytes a-b/len`` Content-Range value.

    >>> parse_content_range('bytes 10-19/100')
    (10, 20, 100)
    """
    unit, _, spec = (value or '').strip().partition(' ')
    span, _, total = spec.partition('/')
    first, _, last = span.partition('-')
    if (unit.lower() != 'bytes' or not _is_ascii_digits(first) or
            not _is_ascii_digits(last) or not _is_ascii_digits(total)):
        raise BadRange('bad Content-Range: %r' % value)
    start, stop, length = (_parse_offset(first), _parse_offset(last) + 1,
                           _parse_offset(total))
    if stop <= start or stop > length:
        raise BadRange('bad Content-Range: %r' % value)
    return start, stop, length


def split_multipart_byteranges(body, boundary):
    """[(start, stop, length, data)] from a complete multipart/byteranges body.

    For the proxy, which may receive a multi-range response from a backend.
    Raises BadRange on malformed framing.
    """
    delimiter = b'--' + boundary.encode('latin-1')
    pieces = body.split(delimiter)
    if len(pieces) < 3 or not pieces[-1].startswith(b'--'):
        raise BadRange('multipart body is not closed by its boundary')
    parts = []
    for piece in pieces[1:-1]:
        parts.append(_split_part(piece))
    return parts


def _split_part(piece):
    if not piece.startswith(CRLF) or not piece.endswith(CRLF):
        raise BadRange('malformed multipart part')
    head, sep, data = piece[2:-2].partition(CRLF + CRLF)
    if not sep:
        raise BadRange('multipart part without a header block')
    content_range = None
    for line in head.split(CRLF):
        name, _, value = line.decode('latin-1').partition(':')
        if name.strip().lower() == 'content-range':
            content_range = value.strip()
    start, stop, length = parse_content_range(content_range)
    if stop - start != len(data):
        raise BadRange('part length does not match its Content-Range')
    return start, stop, length, data
