"""Raw HTTP requests for the cluster fuzz test: generate, send, shrink.

Requests are bytes on a plain socket, not http.client calls, so that the
request line and the headers can hold what no client library would send
(NUL, bytes over 0x7f, bare CR, lines without a colon, duplicate framing
headers). Every choice comes from one ``random.Random``, so a seed replays
a run. The vocabularies below hold inputs that broke parsers before, the
known ones included on purpose (see the issue list in the test module).
"""

import http.client
import socket
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field, replace

from objstore.common.backend_client import allow_header_count

CRLF = b'\r\n'

METHODS = (b'GET', b'GET', b'HEAD', b'PUT', b'PUT', b'POST', b'DELETE',
           b'COPY', b'OPTIONS', b'get', b'PROPFIND', b'TRACE', b'G\x00T',
           b'GET\xff', b'X' * 300)
VERSIONS = (b'HTTP/1.1',) * 12 + (b'HTTP/1.0', b'HTTP/2.0', b'HTTP/1.x',
                                  b'HTTP/1.1 extra', b'', b'http/1.1')
SEGMENTS = (b'fuzz', b'fuzz', b'c', b'o', b'\xc3\xbc', b'%C3%BC', b'%00',
            b'%FF', b'%F4%8F%BF%BF', b'%ED%A0%80', b'.', b'..', b'',
            b'a' * 300, b'o' * 1100, b'%2F', b'x%20y', b'*', b'~', b'%',
            b'%zz', b'\xff', b'x y', b'\x00', b'\x7f', b'a\rb')
QUERIES = (b'',) * 6 + (
    b'?format=json', b'?format=xml', b'?format=%FF', b'?prefix=%F4%8F%BF%BF',
    b'?limit=' + b'9' * 5000, b'?limit=-1', b'?limit=10001',
    b'?delimiter=%FF', b'?delimiter=ab', b'?marker=%00', b'?reverse=on',
    b'?multipart-manifest=get', b'?prefix=%ED%A0%80', b'?end_marker=\xff',
    b'?format=xml&prefix=%01', b'?path=x', b'?%FF=%FF', b'?a=b&a=c&&=')
OTHER_TARGETS = (b'/info', b'/healthcheck', b'/auth/v1.0', b'/', b'*',
                 b'http://127.0.0.1/info', b'/v1', b'/v2/AUTH_test2', b'//',
                 b'/v1/AUTH_nobody', b'/v1/.AUTH_test2', b'/v1.0',
                 b'/v1/AUTH_test2/../../info', b'/auth/v1.0/../v1')
DATES = (b'Thu, 01 Jan 99999999999 00:00:00 GMT',
         b'Thu, 01 Jan 10000 00:00:00 GMT', b'Thu, 01 Jan 1970 00:00:00 GMT',
         b'Sun, 06 Nov 1994 08:49:37 GMT', b'yesterday', b'\xff', b'')
HEADER_VALUES = {
    b'Range': (b'bytes=0-10', b'bytes=\xb2-', b'bytes=-0', b'bytes=5-1',
               b'bytes=' + b','.join(b'%d-%d' % (n, n) for n in range(60)),
               b'items=1-2', b'bytes=-' + b'9' * 5000, b'bytes=0-,-1'),
    b'If-Modified-Since': DATES,
    b'If-Unmodified-Since': DATES,
    b'If-Match': (b'*', b'"x"', b'W/"x", "y"', b'\xff', b','),
    b'If-None-Match': (b'*', b'"x"', b'W/"x"', b'\xff', b'""'),
    b'X-Delete-After': (b'9' * 400, b'-1', b'1e5', b'\xb2', b'86400', b''),
    b'X-Delete-At': (b'9' * 300, b'0', b'1e400', b'nan', b'\xd9\xa3',
                    b'1e305'),
    b'Content-Type': (b'text/plain', b'\xff/\x01', b'a' * 1000,
                      b'application/json;swift_bytes=-1', b'', b'x;y=\xff'),
    b'X-Container-Read': (b'.r:*', b'.r:-', b'.rlistings', b'.bogus',
                          b'test:*,,,', b'\xff', b'.r:*,.rlistings'),
    b'X-Container-Write': (b'.r:*', b'test2:*', b'\x00', b'a' * 5000),
    b'Referer': (b'http://[', b'//[x]/', b'http://example.com/', b'\xff'),
    b'Accept': (b'application/xml', b'*/*;q=nan', b'bogus', b'text/xml;q=2',
                b'application/json;q=0', b', ,'),
    b'X-Copy-From': (b'fuzz/o', b'/', b'..', b'%FF/x', b'fuzz',
                     b'c/' + b'o' * 1100, b'fuzz/%00'),
    b'Destination': (b'fuzz/o2', b'/', b'%FF', b'fuzz/' + b'o' * 1100),
    b'X-Storage-Policy': (b'gold', b'\xff', b''),
    b'Transfer-Encoding': (b'gzip', b'chunked, chunked', b'identity'),
    b'Expect': (b'100-continue', b'200-ok'),
    b'X-Timestamp': (b'9' * 20, b'-1', b'1700000000.00000_ffffffffffffffff',
                    b'1e305'),
    b'X-Backend-Storage-Policy-Index': (b'99', b'-1', b'x'),
    b'X-Object-Manifest': (b'fuzz/', b'\xff', b'/'),
    b'X-Account-Meta-Temp-URL-Key': (b'k', b''),
    b'X-Versions-Location': (b'fuzz', b'\xff', b'a/b'),
    b'X-Auth-User': (b'test2:tester2', b'\xff:\x00', b''),
    b'X-Auth-Key': (b'testing2', b'wrong', b'\xff'),
    b'Content-Encoding': (b'gzip', b'\xff'),
    b'Connection': (b'close', b'keep-alive', b'Upgrade'),
}
MALFORMED_LINES = (
    b'NoColonHere', b' folded continuation', b': empty-name', b'Bad Name: x',
    b'X-\x00: y', b'X-Long: ' + b'a' * 9000, b'X-Bare-CR: a\rb',
    b'Content-Length: 5', b'X-\xff: \xff')
BAD_TOKENS = (b'', b'garbage', b'AUTH_tk' + b'00' * 40 + b'\xe9' * 32,
              b'AUTH_tk' + b'zz' * 40, b'\xff' * 40)


@dataclass(frozen=True)
class RawRequest:
    """One request as it goes on the wire; ``lines`` are header lines."""

    method: bytes
    target: bytes
    version: bytes = b'HTTP/1.1'
    lines: tuple = ()
    body: bytes = b''
    label: str = field(default='chaos', compare=False)

    def wire(self):
        head = b' '.join(p for p in (self.method, self.target, self.version)
                         if p)
        return CRLF.join((head,) + self.lines) + CRLF + CRLF + self.body

    def describe(self, limit=1500):
        text = repr(self.wire())
        return text if len(text) <= limit else text[:limit] + '...'


@dataclass(frozen=True)
class Outcome:
    """What came back: a status (None if no status line), the time taken."""

    status: int | None
    seconds: float
    error: str = ''
    body: bytes = b''
    content_type: str = ''


def exchange(host, port, request, bound):
    """Send ``request`` on a fresh connection, read one whole response.

    The reader takes as many header lines as the cluster may send (an
    account with the largest legal metadata carries over 100).
    """
    allow_header_count()
    started = time.monotonic()
    sock = socket.create_connection((host, port), timeout=bound)
    try:
        sock.settimeout(bound)
        sock.sendall(request.wire())
        resp = http.client.HTTPResponse(
            sock, method=request.method.decode('latin-1'))
        resp.begin()
        body = resp.read()
        return Outcome(resp.status, time.monotonic() - started, body=body,
                       content_type=resp.getheader('Content-Type', ''))
    except (OSError, http.client.HTTPException) as err:
        return Outcome(None, time.monotonic() - started,
                       error='%s: %s' % (type(err).__name__, err))
    finally:
        sock.close()


def _has_transfer_coding_list(request):
    """Several codings, in one Transfer-Encoding line or in several."""
    values = [line.split(b':', 1)[1] for line in request.lines
              if line.lower().startswith(b'transfer-encoding:')]
    return len(values) > 1 or any(b',' in value for value in values)


def failure_of(request, outcome, bound):
    """Why an outcome breaks the rules ('' when it is fine).

    505 is the right answer to a request line of another HTTP major
    version (RFC 9110), not a server fault; for HTTP/1.x it is one. So is
    501 to a list of transfer codings, which Swift does not implement
    either; to anything else it is one.
    """
    if outcome.seconds > bound:
        return 'slow (%.1fs)' % outcome.seconds
    if outcome.status is None:
        return 'no response (%s)' % outcome.error
    if outcome.status == 505 and not request.version.startswith(b'HTTP/1.'):
        return ''
    if outcome.status == 501 and _has_transfer_coding_list(request):
        return ''
    if outcome.status >= 500:
        return '%d' % outcome.status
    if b'Traceback' in outcome.body:
        return 'traceback in the body'
    if outcome.status == 200 and 'xml' in outcome.content_type:
        try:
            ElementTree.fromstring(outcome.body)
        except ElementTree.ParseError as err:
            return 'malformed XML (%s)' % err
    return ''


def failure_kind(reason):
    """'slow', 'no', '5xx', ... : failures of one kind shrink together."""
    word = reason.split(' ')[0]
    return '5xx' if word.isdigit() else word


def shrink(request, still_fails, attempts=60, seconds=20.0):
    """A smaller request that still fails: plain GET, target '/' and
    HTTP/1.1 where they do not matter, header lines dropped, the target
    cut at '/' and '?' boundaries, the body dropped (if framing allows).

    ``still_fails(candidate)`` re-sends it; at most ``attempts`` sends
    and ``seconds`` in all (a slow failure costs seconds per send).
    """
    deadline = time.monotonic() + seconds
    best = request
    progress = True
    while progress:
        progress = False
        for candidate in _smaller(best):
            attempts -= 1
            if attempts < 0 or time.monotonic() > deadline:
                return best
            if still_fails(candidate):
                best, progress = candidate, True
                break
    return best


def _smaller(request):
    if request.method != b'GET':
        yield replace(request, method=b'GET')
    if request.target != b'/':
        yield replace(request, target=b'/')
    if request.version != b'HTTP/1.1':
        yield replace(request, version=b'HTTP/1.1')
    for index in range(len(request.lines)):
        if request.lines[index].lower().startswith(b'host:'):
            continue
        yield replace(request, lines=request.lines[:index] +
                      request.lines[index + 1:])
    target = request.target
    for sep in (b'?', b'/'):
        cut = target.rfind(sep)
        if cut > 0:
            yield replace(request, target=target[:cut])
    if request.body and not any(line.lower().startswith(
            (b'content-length', b'transfer-encoding'))
            for line in request.lines):
        yield replace(request, body=b'')


class RequestMaker:
    """Random requests from one seeded RNG.

    ``chaos()`` aims at the chaos account and public paths only; the
    ledger account is written by ``ledger_put`` alone, so what it
    acknowledged must read back unchanged.
    """

    def __init__(self, rng, chaos_root, chaos_token, ledger_root,
                 ledger_token):
        self.rng = rng
        self.chaos_root = chaos_root
        self.chaos_token = chaos_token
        self.ledger_root = ledger_root
        self.ledger_token = ledger_token
        self.ledger_count = 0

    def known(self):
        """Requests that broke the cluster before, sent first in every
        run so that none depends on luck (an object ``fuzz/o`` is made
        for the ones that need one)."""
        root, auth = self.chaos_root, b'X-Auth-Token: ' + self.chaos_token
        obj = root + b'/fuzz/o'

        def request(method, target, *lines, body=b''):
            return RawRequest(method, target, lines=(
                b'Host: 127.0.0.1', auth) + lines, body=body, label='known')

        return [
            request(b'PUT', obj, b'Content-Length: 3', body=b'abc'),
            request(b'PUT', root + b'/fuzz/%01%1B%0A', b'Content-Length: 0'),
            request(b'GET', obj, b'Range: bytes=\xb2-'),
            request(b'GET', obj, b'If-Modified-Since: ' + DATES[0]),
            request(b'GET', root + b'/fuzz?prefix=%F4%8F%BF%BF'),
            request(b'GET', root + b'/fuzz?format=xml'),
            request(b'PUT', obj, b'X-Delete-After: ' + b'9' * 400,
                    b'Content-Length: 0'),
            request(b'PUT', obj, b'X-Delete-At: ' + b'9' * 300,
                    b'Content-Length: 0'),
            request(b'POST', root, *[b'X-Account-Meta-K%03d: %s' % (
                n, b'v' * 40) for n in range(90)]),
            request(b'GET', root),
            request(b'GET', root + b'/fuzz'),
        ]

    def chaos(self):
        rng = self.rng
        lines = [b'Host: 127.0.0.1']
        lines += self._token_lines()
        for _ in range(rng.choice((0, 1, 2, 3, 5, 8))):
            lines += self._header_lines()
        body_lines, body = self._body()
        return RawRequest(rng.choice(METHODS), self._target(),
                          rng.choice(VERSIONS), tuple(lines + body_lines),
                          body)

    def _token_lines(self):
        roll = self.rng.random()
        if roll < 0.75:
            return [b'X-Auth-Token: ' + self.chaos_token]
        if roll < 0.85:
            return []
        return [b'X-Auth-Token: ' + self.rng.choice(BAD_TOKENS)]

    def _target(self):
        rng = self.rng
        if rng.random() < 0.15:
            return rng.choice(OTHER_TARGETS) + rng.choice(QUERIES)
        root = self.chaos_root
        if rng.random() < 0.05:
            root = root.replace(b'/v1/', b'/v1.0/', 1)
        segments = [rng.choice(SEGMENTS)
                    for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4)))]
        path = b'/'.join([root] + segments)
        if rng.random() < 0.05:
            path += b'/'
        return path + rng.choice(QUERIES)

    def _header_lines(self):
        rng = self.rng
        roll = rng.random()
        if roll < 0.08:
            return [rng.choice(MALFORMED_LINES)]
        if roll < 0.12:
            return self._metadata_flood()
        if roll < 0.25:
            kind = rng.choice((b'Object', b'Container', b'Account'))
            name = rng.choice((b'k', b'K\xff', b'a' * 129, b'', b'x-y'))
            value = rng.choice((b'v', b'\xff\xfe', b'v' * 257, b'',
                                b'\xe2\x98\x83'))
            return [b'X-%s-Meta-%s: %s' % (kind, name, value)]
        name = rng.choice(sorted(HEADER_VALUES))
        return [name + b': ' + rng.choice(HEADER_VALUES[name])]

    def _metadata_flood(self):
        rng = self.rng
        kind = rng.choice((b'Object', b'Container', b'Account'))
        count = rng.choice((90, 91, 120))
        size = rng.choice((1, 40, 45, 256))
        return [b'X-%s-Meta-K%03d: %s' % (kind, n, b'v' * size)
                for n in range(count)]

    def _body(self):
        rng = self.rng
        data = rng.randbytes(rng.choice((0, 1, 10, 1000, 70000)))
        framing = rng.choice(('none', 'none', 'length', 'length', 'length',
                              'chunked', 'bad-chunk', 'short', 'long',
                              'bogus-length'))
        if framing == 'none':
            return [], b''
        if framing == 'length':
            return [b'Content-Length: %d' % len(data)], data
        if framing == 'chunked':
            return [b'Transfer-Encoding: chunked'], chunked(data, rng)
        if framing == 'bad-chunk':
            return ([b'Transfer-Encoding: chunked'],
                    rng.choice((b'zz\r\nab\r\n0\r\n\r\n', b'5\r\nab\r\n',
                                b'-1\r\n\r\n', b'f' * 40 + b'\r\n')))
        if framing == 'short':
            return [b'Content-Length: %d' % (len(data) + 10)], data
        if framing == 'long':
            return [b'Content-Length: %d' % max(0, len(data) - 1)], data
        return [b'Content-Length: ' + rng.choice(
            (b'-1', b'abc', b'9' * 30, b'\xb2', b'1, 2', b' 5'))], data[:5]

    def ledger_put(self):
        """(name, body, request): a valid, unusual PUT into the ledger."""
        rng = self.rng
        self.ledger_count += 1
        name = b'%s-%d' % (rng.choice((
            b'plain', b'%C3%BC%E2%98%83', b'dir/sub/leaf', b'sp%20ace',
            b'%F0%9F%92%BE', b'q%3Fmark', b'a' * 200)), self.ledger_count)
        body = rng.randbytes(rng.choice((0, 1, 100, 65536, 65537, 300000)))
        lines = [b'Host: 127.0.0.1', b'X-Auth-Token: ' + self.ledger_token,
                 b'X-Object-Meta-Fuzz: ' + rng.choice((b'v', b'\xe2\x98\x83',
                                                       b'a b')),
                 b'Content-Type: ' + rng.choice((b'application/x-fuzz',
                                                 b'text/plain; charset=x'))]
        if rng.random() < 0.3:
            lines.append(b'Transfer-Encoding: chunked')
            wire_body = chunked(body, rng)
        else:
            lines.append(b'Content-Length: %d' % len(body))
            wire_body = body
        request = RawRequest(b'PUT', self.ledger_root + b'/' + name,
                             lines=tuple(lines), body=wire_body,
                             label='ledger')
        return name, body, request


def chunked(data, rng):
    """``data`` in HTTP/1.1 chunked framing, in random chunk sizes."""
    out, pos = [], 0
    while pos < len(data):
        size = rng.randint(1, 20000)
        piece = data[pos:pos + size]
        out.append(b'%x\r\n%s\r\n' % (len(piece), piece))
        pos += size
    out.append(b'0\r\n\r\n')
    return b''.join(out)
