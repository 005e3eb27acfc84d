"""HTTP client from one objstore process to a storage server.

``direct_request`` makes one request with separate connect and response
timeouts and returns the whole answer. Paths are given unquoted
(``/sda/17/AUTH_test/c/o``) and quoted here, once.
"""

import http.client
import socket
from urllib.parse import quote

from objstore.common.exceptions import ConnectionTimeout


def _host_for(ip):
    return ip.strip('[]')


def direct_request(ip, port, method, path, headers=None, body=b'',
                   conn_timeout=0.5, node_timeout=3.0, query=None):
    """One request to a backend: (status, {lower-case header: value}, body).

    Raises ConnectionTimeout when the connection cannot be made in
    ``conn_timeout``; socket errors and response timeouts propagate as
    OSError / socket.timeout for the caller to count against the node.
    """
    conn = http.client.HTTPConnection(_host_for(ip), int(port),
                                      timeout=conn_timeout)
    try:
        try:
            conn.connect()
        except (socket.timeout, TimeoutError):
            raise ConnectionTimeout('connect to %s:%s timed out'
                                    % (ip, port))
        conn.sock.settimeout(node_timeout)
        target = quote(path)
        if query:
            target += '?' + query
        send_headers = dict(headers or {})
        if body and 'Content-Length' not in send_headers:
            send_headers['Content-Length'] = str(len(body))
        conn.request(method, target, body=body or None,
                     headers=send_headers)
        response = conn.getresponse()
        payload = response.read()
        return (response.status,
                {k.lower(): v for k, v in response.getheaders()}, payload)
    finally:
        conn.close()
