"""copy: server-side copy, ``COPY`` with ``Destination`` and ``PUT`` with
``X-Copy-From``, as Swift's copy middleware offers them.

Owns turning a copy into two subrequests down the pipeline (common.
subrequest): a GET of the source and a PUT of the destination streaming
that GET's body, both authorized as the client (read ACL on the source,
write ACL on the destination). The source GET carries the request's
``Range`` and conditional headers, so a ranged copy stores only that range
and an unsatisfiable one is answered 416, as in Swift. Metadata: the
source's user metadata, system metadata (``X-Object-Sysmeta-*`` and the
transient kind), Content-Disposition, Content-Encoding and X-Delete-At are
kept; with ``X-Fresh-Metadata: true`` only its system metadata is. The
request's own headers win; Content-Type is the request's if it sent one,
else the source's. The answer names the source in ``X-Copied-From``/
``-Account``/``-Last-Modified`` and lists the copy's metadata. Only object
paths are handled; anything else passes through, and so does a PUT whose
``X-Copy-From`` is empty (Swift ignores it).
"""

from urllib.parse import quote, unquote, urlencode

from objstore.common.constraints import MAX_FILE_SIZE
from objstore.common.http import (
    HTTPBadRequest, HTTPPreconditionFailed, HTTPRequestEntityTooLarge,
    Request, Response, html_error, is_success, split_path, text_error)
from objstore.common.subrequest import (
    add_capability, make_subrequest, path_parts, query_param, query_params,
    sent_content_type)

# Source headers a copy carries to the destination unless X-Fresh-Metadata.
CARRIED_HEADERS = ('content-disposition', 'content-encoding', 'x-delete-at')
# Prefixes of the source's metadata a copy carries unless X-Fresh-Metadata.
CARRIED_PREFIXES = ('x-object-meta-', 'x-object-transient-sysmeta-')
# System metadata: carried even with X-Fresh-Metadata (middlewares' state).
SYSMETA_PREFIX = 'x-object-sysmeta-'
# Every kind of object metadata: what the request may set on the copy and
# what the copy's answer lists, as Swift's does.
METADATA_PREFIXES = CARRIED_PREFIXES + (SYSMETA_PREFIX,)
# Request headers the destination PUT takes from the copy request.
REQUEST_HEADERS = CARRIED_HEADERS + ('content-type', 'x-delete-after')
# Request headers that steer the source GET, as Swift's copy_get keeps them.
SOURCE_GET_HEADERS = ('Range', 'If-Match', 'If-None-Match',
                      'If-Modified-Since', 'If-Unmodified-Since', 'X-Newest')
# Query parameters of the copy request its source GET keeps: with
# ``symlink=get`` a copy of a symlink copies the link, not its target;
# ``version-id`` copies that version (object versioning's restore).
SOURCE_GET_PARAMS = ('symlink', 'version-id')


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


SLO_SOURCE, DLO_SOURCE = 'slo', 'dlo'


def _large_object_kind(source):
    """SLO_SOURCE, DLO_SOURCE or None for a source GET's answer."""
    if source.headers.get('X-Static-Large-Object', '').lower() == 'true':
        return SLO_SOURCE
    if 'X-Object-Manifest' in source.headers:
        return DLO_SOURCE
    return None


def _copies_manifest(req):
    """Whether a copy asks for a large object's manifest, not its
    content (``?multipart-manifest=get``, as in Swift)."""
    return query_param(req.environ, 'multipart-manifest') == 'get'


def _pick(headers, names, prefixes):
    """The headers of ``headers`` named in ``names`` or under ``prefixes``."""
    return {name: value for name, value in headers.items()
            if name.lower() in names or name.lower().startswith(prefixes)}


def destination_headers(source_headers, request_headers, fresh):
    """Metadata of the destination PUT from the source GET and the request.

    Content-Type is the request's when given, else the source's.

    >>> sorted(destination_headers(
    ...     {'X-Object-Meta-A': '1', 'X-Object-Sysmeta-S': 's',
    ...      'Content-Type': 'text/plain'},
    ...     {'X-Object-Meta-B': '2'}, fresh=False).items())
    [('Content-Type', 'text/plain'), ('X-Object-Meta-A', '1'), \
('X-Object-Meta-B', '2'), ('X-Object-Sysmeta-S', 's')]
    >>> sorted(destination_headers(
    ...     {'X-Object-Meta-A': '1', 'X-Object-Sysmeta-S': 's'},
    ...     {'Content-Type': 'a/b'}, fresh=True).items())
    [('Content-Type', 'a/b'), ('X-Object-Sysmeta-S', 's')]
    """
    if fresh:
        headers = _pick(source_headers, (), (SYSMETA_PREFIX,))
    else:
        headers = _pick(source_headers, CARRIED_HEADERS, METADATA_PREFIXES)
    if 'Content-Type' in source_headers:
        headers['Content-Type'] = source_headers['Content-Type']
    headers.update(_pick(request_headers, REQUEST_HEADERS, METADATA_PREFIXES))
    return headers


def copied_metadata(headers):
    """The metadata of a copy its answer lists (Swift's copy does too)."""
    return _pick(headers, ('x-delete-at',), METADATA_PREFIXES)


class ServerSideCopy:
    def __init__(self, app, conf):
        self.app = app
        self.conf = conf

    def __call__(self, environ, start_response):
        add_capability(environ, 'copy')
        method = environ.get('REQUEST_METHOD')
        if method not in ('COPY', 'PUT'):
            return self.app(environ, start_response)
        try:
            _v, account, container, obj = path_parts(environ, 4)
        except ValueError:
            return self.app(environ, start_response)
        req = Request(environ)
        if method == 'COPY':
            resp = self.handle_copy(req, account, container, obj)
        elif req.headers.get('X-Copy-From'):
            resp = self.handle_put_copy(req, account)
        else:
            return self.app(environ, start_response)
        return resp(environ, start_response)

    def handle_copy(self, req, account, container, obj):
        """COPY -> a PUT of the destination with X-Copy-From the source."""
        if not req.headers.get('Destination'):
            return html_error(HTTPPreconditionFailed,
                              'Destination header required')
        try:
            dest_container, dest_obj = parse_copy_path(
                req.headers['Destination'], 'Destination')
        except ValueError as err:
            return html_error(HTTPPreconditionFailed, str(err))
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

    def _get_source(self, req, account, container, obj):
        """The source GET's answer, with the request's Range/conditions;
        with ``?multipart-manifest=get``, a large object's manifest (an
        SLO's as it could be PUT again)."""
        headers = {name: req.headers[name] for name in SOURCE_GET_HEADERS
                   if name in req.headers}
        source = make_subrequest(
            req.environ, 'GET', '/v1/%s/%s/%s' % (account, container, obj),
            headers=headers, source='copy')
        params = [(name, value) for name, value in query_params(
            req.environ).items() if name in SOURCE_GET_PARAMS]
        if _copies_manifest(req):
            params = [('multipart-manifest', 'get'), ('format', 'raw')]
        source.environ['QUERY_STRING'] = urlencode(params)
        return source.get_response(self.app)

    def handle_put_copy(self, req, account):
        if req.content_length:
            return text_error(HTTPBadRequest,
                              'Copy requests require a zero byte body')
        try:
            container, obj = parse_copy_path(req.headers['X-Copy-From'],
                                             'X-Copy-From')
        except ValueError as err:
            return html_error(HTTPPreconditionFailed, str(err))
        source_account = req.headers.get('X-Copy-From-Account') or account
        source = self._get_source(req, source_account, container, obj)
        if not is_success(source.status_int):
            return source
        if source.content_length is not None and \
                source.content_length > MAX_FILE_SIZE:
            return HTTPRequestEntityTooLarge()  # swob's page, as Swift
        fresh = req.headers.get('X-Fresh-Metadata', '').lower() in (
            'true', '1', 'yes', 'on')
        request_headers = dict(req.headers)
        if sent_content_type(req.environ) is None:
            request_headers.pop('Content-Type', None)
        headers = destination_headers(dict(source.headers), request_headers,
                                      fresh)
        answer_headers = copied_metadata(headers)
        if source.content_length is not None:
            headers['Content-Length'] = str(source.content_length)
        else:
            headers['Transfer-Encoding'] = 'chunked'
        large = _large_object_kind(source)
        if source.status_int == 200 and source.headers.get('Etag') and \
                large is None:
            # A 206 (ranged) body is not the source's whole content, nor
            # is a large object's ETag its content's MD5: it would not match.
            headers['Etag'] = source.headers['Etag'].strip('"')
        put = make_subrequest(req.environ, 'PUT', req.path_info,
                              headers=headers, body=source.app_iter,
                              source='copy')
        if _copies_manifest(req) and large == SLO_SOURCE:
            put.query_string = 'multipart-manifest=put'
        elif _copies_manifest(req) and large == DLO_SOURCE:
            put.headers['X-Object-Manifest'] = \
                source.headers['X-Object-Manifest']
        resp = put.get_response(self.app)
        if is_success(resp.status_int):
            resp.headers.update(answer_headers)
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
