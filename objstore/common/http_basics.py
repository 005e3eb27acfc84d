"""The HTTP helpers that need no webob: status classes, the backend
policy headers, reading and parsing a header block, path splitting.

Apart from ``common/http.py`` (which re-exports them for the servers and
middlewares) so that the background daemons, which speak HTTP only as
clients through ``backend_client``, do not load webob: about 3.7 MiB of
RSS in each of nine daemon processes.
"""

import email.parser
import http.client
import re
from urllib.parse import quote

POLICY_HEADER = 'X-Backend-Storage-Policy-Index'
# The policy a container PUT without X-Storage-Policy gives a container it
# creates (or revives); an existing container keeps its own.
POLICY_DEFAULT_HEADER = 'X-Backend-Storage-Policy-Default'

# The proxy's second phase of an EC PUT: the object servers mark their
# fragments durable (object/server.py, proxy/ec_obj.py, the reconstructor).
EC_COMMIT_HEADER = 'X-Backend-Ec-Commit'
# The metadata key whose value a GET or HEAD's conditions compare instead
# of the ETag (s3api's own ETag, an EC archive's whole-object ETag).
ETAG_IS_AT_HEADER = 'X-Backend-Etag-Is-At'

HTTP_ACCEPTED = 202
HTTP_PARTIAL_CONTENT = 206
HTTP_UNAUTHORIZED = 401
HTTP_NOT_FOUND = 404
HTTP_INSUFFICIENT_STORAGE = 507


def is_success(status):
    return 200 <= status < 300


def is_client_error(status):
    return 400 <= status < 500


def is_server_error(status):
    return 500 <= status < 600


# The two headers a WSGI environ holds without the HTTP_ prefix.
_UNPREFIXED_HEADERS = {'CONTENT_TYPE': 'Content-Type',
                       'CONTENT_LENGTH': 'Content-Length'}


def environ_key(name):
    """The WSGI environ key of request header ``name``: where a hot path
    reads it directly, without webob's header view translating the name
    on each lookup.

    >>> environ_key('X-Backend-Etag-Is-At'), environ_key('content-type')
    ('HTTP_X_BACKEND_ETAG_IS_AT', 'CONTENT_TYPE')
    """
    key = name.upper().replace('-', '_')
    return key if key in _UNPREFIXED_HEADERS else 'HTTP_' + key


def request_headers(environ):
    """A plain dict of a request's headers, named as iterating
    ``Request.headers`` names them (``X-Object-Meta-Color``).

    For code that walks every header more than once: each walk of
    webob's live view re-derives the name of every environ key, where
    this is one pass. Lookups stay case-sensitive, so look single headers
    up in ``Request.headers``.

    >>> request_headers({'HTTP_X_OBJECT_META_A_B': '1', 'CONTENT_LENGTH':
    ...                  '5', 'wsgi.input': None})
    {'X-Object-Meta-A-B': '1', 'Content-Length': '5'}
    """
    headers = {}
    for key, value in environ.items():
        if key.startswith('HTTP_'):
            headers[key[5:].replace('_', '-').title()] = value
        elif key in _UNPREFIXED_HEADERS:
            headers[_UNPREFIXED_HEADERS[key]] = value
    return headers


# A header line that the stdlib's email parser reads as exactly one
# "name: value" pair: a name of visible ASCII other than the colon (the
# parser's own header pattern; an empty name it drops), a colon, and no
# carriage return or line feed but the line's end (the parser also breaks
# lines at a lone CR). Anything else (folded lines, a line with no colon,
# a "From " line...) goes to the email parser, which decides.
_PLAIN_HEADER_LINE = re.compile(r'[\x21-\x39\x3b-\x7e]+:[^\r\n]*\r?\n\Z')
_HEADER_BLOCK_ENDS = (b'\r\n', b'\n', b'')


def read_header_lines(rfile):
    """The header lines of a request, the blank line (or EOF) ending them
    included, under http.client's limits: LineTooLong for a line over
    ``_MAXLINE``, HTTPException for more than ``_MAXHEADERS`` lines (the
    messages the stdlib's parser gives)."""
    lines = []
    while True:
        line = rfile.readline(http.client._MAXLINE + 1)
        if len(line) > http.client._MAXLINE:
            raise http.client.LineTooLong('header line')
        lines.append(line)
        if len(lines) > http.client._MAXHEADERS:
            raise http.client.HTTPException(
                'got more than %d headers' % http.client._MAXHEADERS)
        if line in _HEADER_BLOCK_ENDS:
            return lines


def parse_header_lines(lines, message_class=http.client.HTTPMessage):
    r"""The header message of ``lines`` (``read_header_lines``), equal to
    what ``http.client.parse_headers`` makes of them.

    That parser runs the email package's feed parser, a large share of
    the CPU a small request costs; a block of plain "name: value" lines
    (every request a client or the proxy sends) is read directly, with the
    value trimmed as the email parser trims it (leading blanks and the
    line end), and any other block goes to the email parser.

    >>> msg = parse_header_lines([b'Host: x\r\n', b'X-A:  b \r\n', b'\r\n'])
    >>> msg.items(), msg.get('x-a')
    ([('Host', 'x'), ('X-A', 'b ')], 'b ')
    """
    text = [line.decode('iso-8859-1') for line in lines[:-1]]
    if not all(_PLAIN_HEADER_LINE.match(line) for line in text):
        return email.parser.Parser(_class=message_class).parsestr(
            ''.join(text) + lines[-1].decode('iso-8859-1'))
    message = message_class()
    for line in text:
        name, _colon, value = line.partition(':')
        message.set_raw(name, value.lstrip(' \t').rstrip('\r\n'))
    return message


def parse_http_version(version):
    """(major, minor) of an ``HTTP/x.y`` request version, None if it is
    not one: each number up to 10 ASCII digits, leading zeros allowed.

    >>> parse_http_version('HTTP/1.1'), parse_http_version('HTTP/01.10')
    ((1, 1), (1, 10))
    >>> parse_http_version('HTTP/1'), parse_http_version('HTTP/\xb2.1')
    (None, None)
    """
    if not version.startswith('HTTP/'):
        return None
    numbers = version[len('HTTP/'):].split('.')
    if len(numbers) != 2 or not all(
            number.isascii() and number.isdigit() and len(number) <= 10
            for number in numbers):
        return None
    return int(numbers[0]), int(numbers[1])


def split_path(path, minsegs=1, maxsegs=None, rest_with_last=False):
    """Split a URL path into segments, validating their count.

    The path must start with '/'. Missing optional segments (and an empty
    trailing one) come back as None. With ``rest_with_last`` the last
    segment keeps any further slashes (object names may contain '/').

    >>> split_path('/d/1/a/c/o/with/slash', 3, 5, True)
    ['d', '1', 'a', 'c', 'o/with/slash']
    >>> split_path('/a/c/', 1, 3)
    ['a', 'c', None]
    """
    maxsegs = maxsegs or minsegs
    if not path.startswith('/') or minsegs > maxsegs:
        raise ValueError('invalid path: %s' % quote(path))
    if rest_with_last:
        segs = path[1:].split('/', maxsegs - 1)
    else:
        segs = path[1:].split('/')
    if segs[-1] == '' and len(segs) > minsegs:
        segs.pop()
    if not minsegs <= len(segs) <= maxsegs or '' in segs:
        raise ValueError('invalid path: %s' % quote(path))
    return segs + [None] * (maxsegs - len(segs))
