"""HTTP request/response types: the only module that imports webob.

Servers and middleware import ``Request``, ``Response`` and the status
exceptions from here, so a faster implementation can replace webob later
without touching them. Also holds the small pure helpers every server needs
(path splitting, status classes).
"""

from urllib.parse import quote

import webob
import webob.exc
from webob.exc import (  # noqa: F401  (re-exported)
    HTTPAccepted, HTTPBadRequest, HTTPConflict, HTTPCreated, HTTPException,
    HTTPForbidden, HTTPInsufficientStorage, HTTPInternalServerError,
    HTTPLengthRequired, HTTPMethodNotAllowed, HTTPNoContent, HTTPNotFound,
    HTTPPreconditionFailed, HTTPRequestEntityTooLarge, HTTPRequestTimeout,
    HTTPServiceUnavailable, HTTPUnauthorized, HTTPUnprocessableEntity)


class HTTPClientDisconnect(webob.exc.HTTPClientError):
    """499: the client went away mid-request (logged, never seen by it)."""

    code = 499
    title = 'Client Disconnect'
    explanation = 'The client disconnected before the request was complete.'


Request = webob.Request
Response = webob.Response

POLICY_HEADER = 'X-Backend-Storage-Policy-Index'
# The policy a container PUT without X-Storage-Policy gives a container it
# creates (or revives); an existing container keeps its own.
POLICY_DEFAULT_HEADER = 'X-Backend-Storage-Policy-Default'

HTTP_PARTIAL_CONTENT = 206
HTTP_NOT_FOUND = 404
HTTP_INSUFFICIENT_STORAGE = 507


def is_success(status):
    return 200 <= status < 300


def is_client_error(status):
    return 400 <= status < 500


def is_server_error(status):
    return 500 <= status < 600


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


def text_error(exc_class, message, **kwargs):
    """An error response with a one-line plain-text body.

    ``text_error(HTTPBadRequest, 'Missing X-Timestamp header')``
    """
    return exc_class(body=(message + '\n').encode('utf-8'),
                     content_type='text/plain', charset='utf-8', **kwargs)
