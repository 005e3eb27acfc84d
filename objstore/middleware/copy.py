"""copy: server-side copy, ``COPY`` with ``Destination`` and ``PUT`` with
``X-Copy-From``, as Swift's copy middleware offers them.

Owns turning a copy into two subrequests down the pipeline (common.
subrequest): a GET of the source and a PUT of the destination streaming
that GET's body, both authorized as the client (read ACL on the source,
write ACL on the destination). Metadata: the source's user metadata,
Content-Type, Content-Disposition and Content-Encoding are kept unless
``X-Fresh-Metadata: true``; the request's own headers win. The answer
names the source in ``X-Copied-From``/``-Account``/``-Last-Modified``.
Only object paths are handled; anything else passes through.
"""

from urllib.parse import quote, unquote

from objstore.common.constraints import MAX_FILE_SIZE
from objstore.common.http import (
    HTTPPreconditionFailed, HTTPRequestEntityTooLarge, Request, Response,
    is_success, split_path, text_error)
from objstore.common.subrequest import (
    add_capability, make_subrequest, sent_content_type)

# Source headers a copy carries to the destination (with X-Object-Meta-*).
CARRIED_HEADERS = ('content-type', 'content-disposition', 'content-encoding')
# Request headers that steer the copy and are not stored.
COPY_HEADERS = ('x-copy-from', 'x-copy-from-account', 'destination',
                'destination-account', 'x-fresh-metadata')


def parse_copy_path(value, header):
    """(container, object) from ``/c/o`` or ``c/o``; ValueError when bad.

    >>> parse_copy_path('/c/dir/o%20x', 'X-Copy-From')
    ('c', 'dir/o x')
    """
    path = unquote(value or '')
    if not path.startswith('/'):
        path = '/' + path
    try:
        container, obj = split_path(path, 2, 2, True)
    except ValueError:
        raise ValueError('%s header must be of the form '
                         '<container name>/<object name>' % header)
    return container, obj


def destination_headers(source_headers, request_headers, fresh):
    """Headers of the destination PUT from the source GET and the request.

    >>> sorted(destination_headers(
    ...     {'X-Object-Meta-A': '1', 'Content-Type': 'text/plain'},
    ...     {'X-Object-Meta-B': '2'}, fresh=False).items())
    [('Content-Type', 'text/plain'), ('X-Object-Meta-A', '1'), \
('X-Object-Meta-B', '2')]
    """
    headers = {}
    if not fresh:
        for name, value in source_headers.items():
            lower = name.lower()
            if lower.startswith('x-object-meta-') or lower in CARRIED_HEADERS:
                headers[name] = value
    elif 'Content-Type' in source_headers:
        headers['Content-Type'] = source_headers['Content-Type']
    for name, value in request_headers.items():
        lower = name.lower()
        if lower.startswith('x-object-meta-') or lower in CARRIED_HEADERS \
                or lower in ('x-delete-at', 'x-delete-after'):
            headers[name] = value
    return headers


class ServerSideCopy:
    def __init__(self, app, conf):
        self.app = app
        self.conf = conf

    def __call__(self, environ, start_response):
        add_capability(environ, 'copy')
        method = environ.get('REQUEST_METHOD')
        if method not in ('COPY', 'PUT'):
            return self.app(environ, start_response)
        req = Request(environ)
        try:
            _v, account, container, obj = split_path(req.path_info, 4, 4,
                                                     True)
        except (ValueError, UnicodeDecodeError):
            return self.app(environ, start_response)
        if method == 'COPY':
            resp = self.handle_copy(req, account, container, obj)
        elif 'X-Copy-From' in req.headers:
            resp = self.handle_put_copy(req, account)
        else:
            return self.app(environ, start_response)
        return resp(environ, start_response)

    def handle_copy(self, req, account, container, obj):
        """COPY -> a PUT of the destination with X-Copy-From the source."""
        if 'Destination' not in req.headers:
            return text_error(HTTPPreconditionFailed,
                              'Destination header required')
        try:
            dest_container, dest_obj = parse_copy_path(
                req.headers['Destination'], 'Destination')
        except ValueError as err:
            return text_error(HTTPPreconditionFailed, str(err))
        dest_account = req.headers.get('Destination-Account', account)
        put = Request(req.environ.copy())
        put.method = 'PUT'
        put.path_info = '/v1/%s/%s/%s' % (dest_account, dest_container,
                                         dest_obj)
        put.headers['X-Copy-From'] = quote('/%s/%s' % (container, obj))
        put.headers['X-Copy-From-Account'] = account
        put.headers['Content-Length'] = '0'
        for name in ('Destination', 'Destination-Account'):
            put.headers.pop(name, None)
        return self.handle_put_copy(put, dest_account)

    def handle_put_copy(self, req, account):
        try:
            container, obj = parse_copy_path(req.headers['X-Copy-From'],
                                             'X-Copy-From')
        except ValueError as err:
            return text_error(HTTPPreconditionFailed, str(err))
        source_account = req.headers.get('X-Copy-From-Account', account)
        get_headers = {}
        if 'X-Newest' in req.headers:
            get_headers['X-Newest'] = req.headers['X-Newest']
        source = make_subrequest(
            req.environ, 'GET', '/v1/%s/%s/%s' % (source_account, container,
                                                  obj),
            headers=get_headers, source='copy').get_response(self.app)
        if not is_success(source.status_int):
            return source
        if source.content_length is not None and \
                source.content_length > MAX_FILE_SIZE:
            return text_error(HTTPRequestEntityTooLarge,
                              'Source object too large')
        fresh = req.headers.get('X-Fresh-Metadata', '').lower() in (
            'true', '1', 'yes', 'on')
        request_headers = dict(req.headers)
        if sent_content_type(req.environ) is None:
            request_headers.pop('Content-Type', None)
        headers = destination_headers(dict(source.headers), request_headers,
                                      fresh)
        if source.content_length is not None:
            headers['Content-Length'] = str(source.content_length)
        else:
            headers['Transfer-Encoding'] = 'chunked'
        if source.headers.get('Etag'):
            headers['Etag'] = source.headers['Etag'].strip('"')
        put = make_subrequest(req.environ, 'PUT', req.path_info,
                              headers=headers, body=source.app_iter,
                              source='copy')
        resp = put.get_response(self.app)
        if is_success(resp.status_int):
            resp.headers['X-Copied-From'] = quote('%s/%s' % (container, obj))
            resp.headers['X-Copied-From-Account'] = quote(source_account)
            if source.headers.get('Last-Modified'):
                resp.headers['X-Copied-From-Last-Modified'] = \
                    source.headers['Last-Modified']
        return Response(status=resp.status, headerlist=resp.headerlist,
                        app_iter=resp.app_iter)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: ServerSideCopy(app, conf)
