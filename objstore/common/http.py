"""HTTP request/response types: the only module that imports webob.

Servers and middleware import ``Request``, ``Response`` and the status
exceptions from here, so a faster implementation can replace webob later
without touching them. It also re-exports the webob-free helpers of
``common/http_basics`` (path splitting, status classes, header blocks), so
a server finds everything HTTP in one place.
"""

import webob
import webob.exc
from webob.exc import HTTPException  # noqa: F401  (re-exported)
from webob.headers import ResponseHeaders
from webob.response import EmptyResponse as _NoBody
from webob.util import status_generic_reasons, status_reasons

from objstore.common.http_basics import (  # noqa: F401  (re-exported)
    HTTP_ACCEPTED, HTTP_INSUFFICIENT_STORAGE, HTTP_NOT_FOUND,
    HTTP_PARTIAL_CONTENT, HTTP_UNAUTHORIZED, POLICY_DEFAULT_HEADER,
    POLICY_HEADER, is_client_error, is_server_error, is_success,
    environ_key, parse_header_lines, parse_http_version, read_header_lines,
    request_headers, split_path)

# Swift's default answer of each status (swob's table): (title,
# explanation). An answer built without a body gets the explanation as one
# line of HTML, ``<html><h1>Not Found</h1><p>The resource could not be
# found.</p></html>``; statuses with no explanation get an empty body.
# Clients and tests compare these texts with Swift's, so they are Swift's.
RESPONSE_REASONS = {
    200: ('OK', ''),
    201: ('Created', ''),
    202: ('Accepted', 'The request is accepted for processing.'),
    204: ('No Content', ''),
    206: ('Partial Content', ''),
    301: ('Moved Permanently', 'The resource has moved permanently.'),
    304: ('Not Modified', ''),
    400: ('Bad Request', 'The server could not comply with the request '
          'since it is either malformed or otherwise incorrect.'),
    401: ('Unauthorized', 'This server could not verify that you are '
          'authorized to access the document you requested.'),
    403: ('Forbidden', 'Access was denied to this resource.'),
    404: ('Not Found', 'The resource could not be found.'),
    405: ('Method Not Allowed', 'The method is not allowed for this '
          'resource.'),
    406: ('Not Acceptable', 'The resource is not available in a format '
          'acceptable to your browser.'),
    408: ('Request Timeout', 'The server has waited too long for the '
          'request to be sent by the client.'),
    409: ('Conflict', 'There was a conflict when trying to complete your '
          'request.'),
    411: ('Length Required', 'Content-Length header required.'),
    412: ('Precondition Failed', 'A precondition for this request was not '
          'met.'),
    413: ('Request Entity Too Large', 'The body of your request was too '
          'large for this server.'),
    414: ('Request URI Too Long', 'The request URI was too long for this '
          'server.'),
    416: ('Requested Range Not Satisfiable', 'The Range requested is not '
          'available.'),
    422: ('Unprocessable Entity', 'Unable to process the contained '
          'instructions'),
    499: ('Client Disconnect', 'The client was disconnected during '
          'request.'),
    500: ('Internal Error', 'The server has either erred or is incapable of '
          'performing the requested operation.'),
    501: ('Not Implemented', 'The requested method is not implemented by '
          'this server.'),
    503: ('Service Unavailable', 'The server is currently unavailable. '
          'Please try again at a later time.'),
    504: ('Gateway Timeout', 'A timeout has occurred speaking to a backend '
          'server.'),
    507: ('Insufficient Storage', 'There was not enough space to save the '
          'resource.'),
}
DEFAULT_CONTENT_TYPE = 'text/html; charset=UTF-8'


def default_body(status):
    """Swift's body of a ``status`` answer built without one.

    >>> default_body(404)
    b'<html><h1>Not Found</h1><p>The resource could not be found.</p></html>'
    >>> default_body(201)
    b''
    """
    title, explanation = RESPONSE_REASONS.get(status, ('', ''))
    if not explanation:
        return b''
    return ('<html><h1>%s</h1><p>%s</p></html>'
            % (title, explanation)).encode('utf-8')


def _has_no_body(resp):
    """True when ``resp`` was built without a body (a streamed body is
    never looked into)."""
    app_iter = resp.app_iter
    return isinstance(app_iter, (list, tuple)) and not any(app_iter)


def fill_default_body(resp, method, errors_only=False):
    """Give a body-less answer Swift's shape, in place: a Content-Type, the
    default body of its status (none to a HEAD; with ``errors_only`` none to
    a 1xx-3xx either) and a Content-Length (0 when empty; a HEAD answer
    keeps the one it was given, the object's).
    """
    if not _has_no_body(resp):
        return
    if 'Content-Type' not in resp.headers:
        resp.headers['Content-Type'] = DEFAULT_CONTENT_TYPE
    status = resp.status_code
    if method == 'HEAD' or (errors_only and status < 400):
        body = b''
    else:
        body = default_body(status)
    if body:
        resp.body = body
    elif resp.content_length is None:
        resp.content_length = 0


class Response(webob.Response):
    """webob's Response, shaped as Swift's when built without a body.

    Only an error gets a default body: a 2xx built empty on purpose (an
    internal answer, a 202 of the DB RPC) stays empty.
    """

    def __call__(self, environ, start_response):
        fill_default_body(self, environ['REQUEST_METHOD'], errors_only=True)
        return super().__call__(environ, start_response)


def status_line(code):
    """The status line webob gives ``code``.

    >>> status_line(206), status_line(299)
    ('206 Partial Content', '299 Success')
    """
    reason = status_reasons.get(code) or status_generic_reasons[code // 100]
    return '%d %s' % (code, reason)


class RelayedResponse:
    """A storage server's 2xx GET/HEAD answer passed on to the client:
    sent as ``Response(status=, headerlist=, app_iter=)`` would send it.

    Every object GET and HEAD ends in one; webob's Response parses the
    status, builds a header view and copies the header list looking for
    a Location on each, as much CPU as shaping the rest of the answer.
    ``headers`` is webob's view of the same list, built only for the
    callers that edit it (CORS); an answer with a Location (to be made
    absolute) goes through webob's Response.
    """

    def __init__(self, status, headerlist, app_iter):
        self.status_int = status
        self.headerlist = headerlist
        self.app_iter = app_iter
        self._headers = None

    @property
    def status(self):
        return status_line(self.status_int)

    @property
    def headers(self):
        if self._headers is None:
            self._headers = ResponseHeaders.view_list(self.headerlist)
        return self._headers

    def __call__(self, environ, start_response):
        names = {name.lower() for name, _value in self.headerlist}
        if 'location' in names:
            return Response(status=self.status_int,
                            headerlist=self.headerlist,
                            app_iter=self.app_iter)(environ, start_response)
        if isinstance(self.app_iter, (list, tuple)) and \
                not any(self.app_iter):
            # What fill_default_body gives a 2xx built empty.
            if 'content-type' not in names:
                self.headerlist.append(('Content-Type',
                                        DEFAULT_CONTENT_TYPE))
            if 'content-length' not in names:
                self.headerlist.append(('Content-Length', '0'))
        start_response(self.status, list(self.headerlist))
        if environ['REQUEST_METHOD'] == 'HEAD':
            return _NoBody(self.app_iter)
        return self.app_iter


class EmptyResponse(Response):
    """An answer Swift sends empty whatever its status (the 412 of a
    conditional GET): typed and framed as swob's, without its page."""

    def __call__(self, environ, start_response):
        fill_default_body(self, 'HEAD')
        return webob.Response.__call__(self, environ, start_response)


def untyped_answer(status, headers):
    """An empty answer with ``headers`` (a dict) only, no Content-Type:
    Swift's allowed CORS preflight, whose headers it replaces wholesale."""
    return webob.Response(status=status, headerlist=list(headers.items()))


class _SwiftShaped(Response):
    """Base of the status exceptions (with webob's): Swift's default body
    instead of webob's multi-line text or HTML page. A Response, so that
    ``isinstance(x, Response)`` holds for them as it did with webob's."""

    def __call__(self, environ, start_response):
        fill_default_body(self, environ['REQUEST_METHOD'])
        return webob.Response.__call__(self, environ, start_response)


def _swift_shaped(webob_class):
    return type(webob_class.__name__, (_SwiftShaped, webob_class), {})


HTTPAccepted = _swift_shaped(webob.exc.HTTPAccepted)
HTTPBadRequest = _swift_shaped(webob.exc.HTTPBadRequest)
HTTPConflict = _swift_shaped(webob.exc.HTTPConflict)
HTTPCreated = _swift_shaped(webob.exc.HTTPCreated)
HTTPForbidden = _swift_shaped(webob.exc.HTTPForbidden)
HTTPInsufficientStorage = _swift_shaped(webob.exc.HTTPInsufficientStorage)
HTTPInternalServerError = _swift_shaped(webob.exc.HTTPInternalServerError)
HTTPLengthRequired = _swift_shaped(webob.exc.HTTPLengthRequired)
HTTPMethodNotAllowed = _swift_shaped(webob.exc.HTTPMethodNotAllowed)
HTTPNoContent = _swift_shaped(webob.exc.HTTPNoContent)
HTTPNotFound = _swift_shaped(webob.exc.HTTPNotFound)
HTTPPreconditionFailed = _swift_shaped(webob.exc.HTTPPreconditionFailed)
HTTPRequestEntityTooLarge = _swift_shaped(
    webob.exc.HTTPRequestEntityTooLarge)
HTTPRequestTimeout = _swift_shaped(webob.exc.HTTPRequestTimeout)
HTTPServiceUnavailable = _swift_shaped(webob.exc.HTTPServiceUnavailable)
HTTPUnauthorized = _swift_shaped(webob.exc.HTTPUnauthorized)
HTTPUnprocessableEntity = _swift_shaped(webob.exc.HTTPUnprocessableEntity)


class HTTPClientDisconnect(_SwiftShaped, webob.exc.HTTPClientError):
    """499: the client went away mid-request (logged, never seen by it)."""

    code = 499
    title = 'Client Disconnect'
    explanation = 'The client disconnected before the request was complete.'


Request = webob.Request

def text_error(exc_class, message, **kwargs):
    """An error response whose body is one reason, as Swift's: no newline,
    ``Content-Type: text/plain`` without a charset.

    ``text_error(HTTPBadRequest, 'Missing X-Timestamp header')``
    """
    return exc_class(body=message.encode('utf-8'), content_type='text/plain',
                     charset=None, **kwargs)


def html_error(exc_class, message, **kwargs):
    """An error response with a one-reason body typed with swob's default,
    as Swift types a reason given without a type (``Bad URL``, copy's and
    the ACL reasons, its servers' reasons); its constraint checks type
    theirs text/plain (``text_error``)."""
    return exc_class(body=message.encode('utf-8'),
                     content_type=DEFAULT_CONTENT_TYPE, charset=None,
                     **kwargs)
