"""HTTP request/response types: the only module that imports webob.

Servers and middleware import ``Request``, ``Response`` and the status
exceptions from here, so a faster implementation can replace webob later
without touching them. Also holds the small pure helpers every server needs
(path splitting, status classes).
"""

from urllib.parse import quote as _quote, unquote as _unquote

import webob
import webob.exc
from webob.exc import (  # noqa: F401  (re-exported)
    HTTPAccepted, HTTPBadGateway, HTTPBadRequest, HTTPConflict, HTTPCreated,
    HTTPError, HTTPException, HTTPExpectationFailed, HTTPForbidden,
    HTTPGatewayTimeout, HTTPInsufficientStorage, HTTPInternalServerError,
    HTTPLengthRequired, HTTPMethodNotAllowed, HTTPMovedPermanently,
    HTTPNoContent, HTTPNotAcceptable, HTTPNotFound, HTTPNotImplemented,
    HTTPNotModified, HTTPOk, HTTPPartialContent, HTTPPreconditionFailed,
    HTTPRequestEntityTooLarge, HTTPRequestHeaderFieldsTooLarge,
    HTTPRequestRangeNotSatisfiable, HTTPRequestTimeout,
    HTTPRequestURITooLong, HTTPServerError, HTTPServiceUnavailable,
    HTTPTemporaryRedirect, HTTPTooManyRequests, HTTPUnauthorized,
    HTTPUnprocessableEntity, HTTPUnsupportedMediaType)

HTTPRequestedRangeNotSatisfiable = HTTPRequestRangeNotSatisfiable


class HTTPClientDisconnect(webob.exc.HTTPClientError):
    """499: the client went away mid-request (logged, never seen by it)."""

    code = 499
    title = 'Client Disconnect'
    explanation = 'The client disconnected before the request was complete.'


Request = webob.Request
Response = webob.Response

HTTP_CONTINUE = 100
HTTP_OK = 200
HTTP_CREATED = 201
HTTP_ACCEPTED = 202
HTTP_NO_CONTENT = 204
HTTP_PARTIAL_CONTENT = 206
HTTP_MULTIPLE_CHOICES = 300
HTTP_NOT_MODIFIED = 304
HTTP_BAD_REQUEST = 400
HTTP_UNAUTHORIZED = 401
HTTP_FORBIDDEN = 403
HTTP_NOT_FOUND = 404
HTTP_METHOD_NOT_ALLOWED = 405
HTTP_NOT_ACCEPTABLE = 406
HTTP_REQUEST_TIMEOUT = 408
HTTP_CONFLICT = 409
HTTP_LENGTH_REQUIRED = 411
HTTP_PRECONDITION_FAILED = 412
HTTP_REQUEST_ENTITY_TOO_LARGE = 413
HTTP_REQUESTED_RANGE_NOT_SATISFIABLE = 416
HTTP_UNPROCESSABLE_ENTITY = 422
HTTP_CLIENT_CLOSED_REQUEST = 499
HTTP_INTERNAL_SERVER_ERROR = 500
HTTP_NOT_IMPLEMENTED = 501
HTTP_SERVICE_UNAVAILABLE = 503
HTTP_GATEWAY_TIMEOUT = 504
HTTP_INSUFFICIENT_STORAGE = 507


def is_informational(status):
    return 100 <= status < 200


def is_success(status):
    return 200 <= status < 300


def is_redirection(status):
    return 300 <= status < 400


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
        raise ValueError('invalid path: %s' % _quote(path))
    if rest_with_last:
        segs = path[1:].split('/', maxsegs - 1)
    else:
        segs = path[1:].split('/')
    if segs[-1] == '' and len(segs) > minsegs:
        segs.pop()
    if not minsegs <= len(segs) <= maxsegs or '' in segs:
        raise ValueError('invalid path: %s' % _quote(path))
    return segs + [None] * (maxsegs - len(segs))


def quote(value, safe='/'):
    """URL-quote a str (UTF-8) for a path on the wire."""
    return _quote(value, safe=safe)


def unquote(value):
    return _unquote(value)


def status_int(status_line):
    """200 from '200 OK'."""
    return int(status_line.split(' ', 1)[0])


def text_error(exc_class, message, **kwargs):
    """An error response with a one-line plain-text body.

    ``text_error(HTTPBadRequest, 'Missing X-Timestamp header')``
    """
    return exc_class(body=(message + '\n').encode('utf-8'),
                     content_type='text/plain', charset='utf-8', **kwargs)
