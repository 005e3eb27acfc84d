"""The request head as the HTTP server reads it: pure functions, no I/O.

Owns the rules a request line and its header block must meet, and the
answers the server gives itself to one that does not (as eventlet's
server over the stdlib's http.server gave them: a request line over
8 KiB: 414; a header line over 8 KiB or 64 KiB of headers: 400; too many
header lines: 431; another HTTP major version: 505; a Content-Length
that is no length: 400), then the parse into method, target, version and
(name, value) pairs (``parse_head``). common.http_server does the I/O.
"""

import html
import re
import time
from http.client import HTTPMessage

from objstore.common.http import parse_header_lines, parse_http_version

MAX_REQUEST_LINE = 8192
MAX_HEADER_LINE = 8192
MAX_HEADER_BYTES = 65536

RESPONSE_414 = (b'HTTP/1.0 414 Request URI Too Long\r\n'
                b'Connection: close\r\nContent-Length: 0\r\n\r\n')
RESPONSE_HEADER_LINE_TOO_LONG = (
    b'HTTP/1.0 400 Header Line Too Long\r\n'
    b'Connection: close\r\nContent-length: 0\r\n\r\n')
RESPONSE_HEADERS_TOO_LARGE = (
    b'HTTP/1.0 400 Headers Too Large\r\n'
    b'Connection: close\r\nContent-length: 0\r\n\r\n')
RESPONSE_BAD_LENGTH = (b'HTTP/1.0 400 Bad Request\r\n'
                       b'Connection: close\r\nContent-length: 0\r\n\r\n')
_BOTH_FRAMINGS = (b'Content-Length and Transfer-Encoding are not allowed '
                  b'together\n')
RESPONSE_BOTH_FRAMINGS = (
    b'HTTP/1.0 400 Bad Request\r\nConnection: close\r\n'
    b'Content-Length: %d\r\n\r\n%s' % (len(_BOTH_FRAMINGS), _BOTH_FRAMINGS))

class Refusal(Exception):
    """A request head the server answers itself: ``answer`` is the whole
    answer (b'' to close the connection without one)."""

    def __init__(self, answer):
        super().__init__(answer)
        self.answer = answer


# The blank line that ends a head, searched from the request line's end.
HEAD_END = re.compile(rb'\n\r?\n')
# A header block of plain "name: value" lines only (what every client and
# the proxy send), which skips the email parser; see parse_header_lines.
_PLAIN_BLOCK = re.compile(
    r'(?:[\x21-\x39\x3b-\x7e]+:[^\r\n]*\r?\n)*\r?\n?\Z')
# (name, value) of each line of such a block.
_PLAIN_LINE = re.compile(r'([\x21-\x39\x3b-\x7e]+):[ \t]*([^\r\n]*)\r?\n')
# Bytes str.split() takes for whitespace in a Latin-1 request line, other
# than the space and the line end (see request_line_split_on_spaces).
_SPLIT_BYTES = re.compile(rb'[\t\x0b\x0c\x1c-\x1f\x85\xa0]')


def request_line_split_on_spaces(line):
    r"""The request line with the bytes the stdlib would split its words on,
    other than the space, percent-encoded: the target reaches the app whole
    and, once unquoted, byte for byte as sent (as Swift's parser, which
    splits on spaces only, hands it over).

    >>> request_line_split_on_spaces(b'GET /c/voil\xc3\xa0\tx HTTP/1.1\r\n')
    b'GET /c/voil\xc3%A0%09x HTTP/1.1\r\n'
    >>> request_line_split_on_spaces(b'GET /c/o HTTP/1.1\r\n')
    b'GET /c/o HTTP/1.1\r\n'
    """
    if _SPLIT_BYTES.search(line) is None:
        return line
    return _SPLIT_BYTES.sub(lambda match: b'%%%02X' % match.group()[0], line)


def error_answer(code, reason, now=None):
    """The plain-text answer to a request line the server refuses: the
    reason in the status line and as the one-line body (as http.server
    words them), then the connection closes.

    >>> error_answer(505, 'Invalid HTTP version (2.0)', 0).split(b'\\r\\n')[0]
    b'HTTP/1.1 505 Invalid HTTP version (2.0)'
    """
    body = (html.escape(reason, quote=False) + '\n').encode('utf-8')
    return ('HTTP/1.1 %d %s\r\nDate: %s\r\nConnection: close\r\n'
            'Content-Type: text/plain; charset=utf-8\r\n'
            'Content-Length: %d\r\n\r\n'
            % (code, reason, http_date(now), len(body))).encode(
                'latin-1', 'replace') + body


def parse_request_line(raw):
    """(method, target, version) of a request line (bytes, its line end
    included); Refusal for one the stdlib's server refuses, with its
    answer. The version is 'HTTP/0.9' for a two-word GET.

    >>> parse_request_line(b'PUT /a%20b?x HTTP/1.1\\r\\n')
    ('PUT', '/a%20b?x', 'HTTP/1.1')
    >>> parse_request_line(b'GET //x/y HTTP/1.0\\r\\n')[1]
    '/x/y'
    """
    line = str(request_line_split_on_spaces(raw), 'iso-8859-1').rstrip('\r\n')
    words = line.split()
    if not words:
        raise Refusal(b'')
    version = 'HTTP/0.9'
    if len(words) >= 3:
        version = words[-1]
        number = parse_http_version(version)
        if number is None:
            raise Refusal(error_answer(
                400, 'Bad request version (%r)' % version))
        if number >= (2, 0):
            raise Refusal(error_answer(
                505, 'Invalid HTTP version (%s)' % version[len('HTTP/'):]))
    if not 2 <= len(words) <= 3:
        raise Refusal(error_answer(400, 'Bad request syntax (%r)' % line))
    method, target = words[:2]
    if len(words) == 2 and method != 'GET':
        raise Refusal(error_answer(
            400, 'Bad HTTP/0.9 request type (%r)' % method))
    if target.startswith('//'):
        # As the stdlib (gh-87389): '//x' would read as a host name.
        target = '/' + target.lstrip('/')
    return method, target, version


def check_header_lines(lines, max_lines):
    """Refusal for a header block over the limits, checked line by line in
    the order eventlet's reader met them: a line of 8 KiB, 64 KiB in all,
    then more than ``max_lines`` lines (the blank one counted)."""
    total = 0
    for count, line in enumerate(lines, 1):
        if len(line) >= MAX_HEADER_LINE:
            raise Refusal(RESPONSE_HEADER_LINE_TOO_LONG)
        total += len(line)
        if total > MAX_HEADER_BYTES:
            raise Refusal(RESPONSE_HEADERS_TOO_LARGE)
        if count > max_lines:
            raise Refusal(error_answer(431, 'Too many headers'))


def parse_head(head, max_lines):
    """(method, target, version, [(name, value)]) of a request head:
    its request line and header lines up to the blank line (or to its end,
    when the client closed before one). Values are as the stdlib's parser
    stores them (leading blanks and the line end off).

    >>> head = b'GET /o HTTP/1.1\\r\\nHost: h\\r\\nX-A:  b \\r\\n\\r\\n'
    >>> parse_head(head, 99)
    ('GET', '/o', 'HTTP/1.1', [('Host', 'h'), ('X-A', 'b ')])
    """
    line_end = head.find(b'\n') + 1 or len(head)
    method, target, version = parse_request_line(head[:line_end])
    block = head[line_end:]
    if len(block) >= MAX_HEADER_LINE or block.count(b'\n') >= max_lines:
        check_header_lines(_header_lines(block), max_lines)
    text = block.decode('iso-8859-1')
    if _PLAIN_BLOCK.match(text) is None:
        message = parse_header_lines(_header_lines(block), HTTPMessage)
        return method, target, version, message.items()
    return method, target, version, _PLAIN_LINE.findall(text)


def _header_lines(block):
    """The header block's lines, line ends kept, its last the blank line
    or b'' (the head ended without one)."""
    pieces = block.split(b'\n')
    partial = pieces.pop()
    lines = [piece + b'\n' for piece in pieces]
    if partial:
        lines.append(partial)
    if not lines or lines[-1] not in (b'\r\n', b'\n'):
        lines.append(b'')
    return lines


_date_cache = [None, '']


def http_date(now=None):
    """An HTTP date (IMF-fixdate), made once per second.

    >>> http_date(0)
    'Thu, 01 Jan 1970 00:00:00 GMT'
    """
    second = int(time.time() if now is None else now)
    if _date_cache[0] != second:
        _date_cache[:] = [second, time.strftime(
            '%a, %d %b %Y %H:%M:%S GMT', time.gmtime(second))]
    return _date_cache[1]


# Headers whose first value decides framing or typing.
FIRST_VALUES = frozenset(('CONTENT_TYPE', 'CONTENT_LENGTH',
                           'TRANSFER_ENCODING', 'CONNECTION'))


def content_length(firsts):
    """The request's Content-Length as a number, None without one;
    Refusal for one that is no length, or one beside Transfer-Encoding.
    ``firsts``: the first value of each FIRST_VALUES header present, by
    its environ key (trailing blanks kept, which int() ignores).

    >>> content_length({'CONTENT_LENGTH': '12 '}), content_length({})
    (12, None)
    """
    if 'CONTENT_LENGTH' not in firsts:
        return None
    try:
        length = int(firsts['CONTENT_LENGTH'])
    except ValueError:
        raise Refusal(RESPONSE_BAD_LENGTH)
    if length < 0:
        raise Refusal(RESPONSE_BAD_LENGTH)
    if 'TRANSFER_ENCODING' in firsts:
        raise Refusal(RESPONSE_BOTH_FRAMINGS)
    return length
