"""Send one request as raw bytes and read the answer, with a time bound.

The request line and headers are written to the socket byte for byte, so
a case can send what a well-behaved client library refuses to: raw
non-ASCII bytes or spaces in the path, NUL, bad percent escapes. The
answer is parsed by ``http.client`` (chunked and sized bodies alike).
"""

import http.client
import socket

from compat.normalize import Answer

REQUEST_TIMEOUT = 30
MAX_BODY = 4 * 1024 * 1024


def build_request(method, path, headers, body, host):
    """The bytes of one HTTP/1.1 request. ``path`` and header values are
    bytes already; ``Content-Length`` is added for a body (or a PUT/POST)
    unless the headers frame the body themselves; ``Host`` is the
    server's unless the headers name their own (virtual-host cases)."""
    names = {name.lower() for name, _ in headers}
    lines = [b'%s %s HTTP/1.1' % (method.encode('ascii'), path)]
    if 'host' not in names:
        lines.append(b'Host: ' + host.encode('ascii'))
    lines.extend(name.encode('latin-1') + b': ' + value
                 for name, value in headers)
    framed = names & {'content-length', 'transfer-encoding'}
    if not framed and (body or method in ('PUT', 'POST')):
        lines.append(b'Content-Length: %d' % len(body))
    lines.append(b'Connection: close')
    return b'\r\n'.join(lines) + b'\r\n\r\n' + body


def send(host, port, method, path, headers=(), body=b'',
         timeout=REQUEST_TIMEOUT):
    """Send and read one exchange; an Answer with ``error`` set when the
    server closed, reset or did not answer in time."""
    raw = build_request(method, path, headers, body, '%s:%d' % (host, port))
    try:
        with socket.create_connection((host, port), timeout) as sock:
            sock.sendall(raw)
            resp = http.client.HTTPResponse(sock, method=method)
            resp.begin()
            data = resp.read(MAX_BODY) if method != 'HEAD' else b''
            return Answer(status=resp.status,
                          headers=tuple(resp.getheaders()), body=data)
    except socket.timeout:
        return Answer(status=0, error='timed out after %ds' % timeout)
    except (OSError, http.client.HTTPException) as exc:
        return Answer(status=0, error=type(exc).__name__)
