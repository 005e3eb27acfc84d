"""dlo: dynamic large objects, as Swift's ``dlo`` middleware offers them.

An object whose metadata has ``X-Object-Manifest: <container>/<prefix>``
is, to GET and HEAD, the concatenation of the objects of ``container``
whose names start with ``prefix``, in listing order. Owns:

- reading the listing page by page (any length), as the client: the
  segment container's ACLs and referrers apply to the listing and to
  every segment GET, as in Swift;
- the answer's ``Content-Length`` and quoted ETag (MD5 of the segments'
  ETags) when the first listing page holds every segment; Swift sends
  neither for longer listings, nor do we;
- one Range (206, or 416 when it misses); several ranges are answered
  200 with the whole object (Swift's behaviour); conditional headers
  against the DLO's ETag;
- ``?multipart-manifest=get``: the manifest object itself (passes by);
- the manifest header's form on PUT (``container/prefix``, else 400).

POST keeps or changes the header as the object server does (a POST
without it drops it, as in Swift); COPY reads through here, so a copy is
flattened unless it asks for the manifest.
"""

import dataclasses
import hashlib
import json
from urllib.parse import quote, unquote

from objstore.common.conditional import evaluate_conditions, parse_http_date
from objstore.common.config import ConfBase
from objstore.common.constraints import CONTAINER_LISTING_LIMIT
from objstore.common.exceptions import RangeUnsatisfiable
from objstore.common.http import (
    HTTPBadRequest, HTTPConflict, HTTPServiceUnavailable, Request, Response,
    html_error, is_success, split_path)
from objstore.common.log import get_logger
from objstore.common.subrequest import (
    add_capability, call_app, make_subrequest, path_parts, query_param)
from objstore.middleware.segments import (
    Segment, SegmentError, SegmentedBody, close_body, is_partial_request,
    pieces_for_range, ranged_body, requested_ranges, unsatisfiable)

MANIFEST_HEADER = 'X-Object-Manifest'
# The headers of an answer that DloReader must look at (lower case).
DLO_ANSWER_HEADERS = frozenset((MANIFEST_HEADER.lower(),))
BAD_MANIFEST_BODY = 'X-Object-Manifest must be in the format container/prefix'
# Segments asked per listing page; a shorter page is the last (Swift reads
# the container's own page size, which this is by default).
LISTING_PAGE = CONTAINER_LISTING_LIMIT


@dataclasses.dataclass(frozen=True)
class DloConf(ConfBase):
    log_name: str = 'dlo'


def parse_manifest_header(value):
    """(container, prefix) of an X-Object-Manifest value; ValueError if it
    is not ``container/prefix``.

    >>> parse_manifest_header('segs/big%20file/')
    ('segs', 'big file/')
    >>> parse_manifest_header('segs')
    Traceback (most recent call last):
    ...
    ValueError: X-Object-Manifest must be in the format container/prefix
    """
    container, sep, prefix = value.partition('/')
    if not (container and sep and prefix) or '?' in value or '&' in value \
            or prefix.startswith('/'):
        raise ValueError(BAD_MANIFEST_BODY)
    return unquote(container), unquote(prefix)


def dlo_etag(entries):
    """Quoted MD5 of the listed segments' ETags, concatenated.

    >>> dlo_etag([]) == '"%s"' % hashlib.md5(b'').hexdigest()
    True
    """
    digest = hashlib.md5(usedforsecurity=False)
    for entry in entries:
        digest.update(entry['hash'].strip('"').encode('utf-8'))
    return '"%s"' % digest.hexdigest()


class ListingFailed(SegmentError):
    """A later listing page could not be read while answering."""


class DynamicLargeObject:
    def __init__(self, app, conf, logger=None):
        self.app = app
        self.conf = DloConf.from_conf(conf)
        self.logger = logger or get_logger(conf, self.conf.log_name)

    def __call__(self, environ, start_response):
        add_capability(environ, 'dlo')
        try:
            path_parts(environ, 4)
        except ValueError:
            return self.app(environ, start_response)
        req = Request(environ)
        if req.method in ('GET', 'HEAD') and \
                query_param(environ, 'multipart-manifest') != 'get':
            answer = call_app(self.app, environ)
            if not answer.has_any(DLO_ANSWER_HEADERS) and \
                    not is_partial_request(req):
                # Not a manifest, and nothing to ask again: as it is.
                return answer.send(start_response)
            resp = DloReader(self, req).response(answer.response(req))
            return resp(environ, start_response)
        if req.method == 'PUT' and MANIFEST_HEADER in req.headers:
            try:
                parse_manifest_header(req.headers[MANIFEST_HEADER])
            except ValueError:
                return html_error(HTTPBadRequest, BAD_MANIFEST_BODY)(
                    environ, start_response)
        return self.app(environ, start_response)


class DloReader:
    """One GET or HEAD that may address a DLO manifest."""

    def __init__(self, dlo, req):
        self.dlo = dlo
        self.req = req
        self.version, self.account, _c, _o = split_path(
            req.path_info, 4, 4, True)

    def response(self, resp):
        """The client's answer, from ``resp``: the app's to the request."""
        req = self.req
        if MANIFEST_HEADER not in resp.headers:
            if not (is_partial_request(req) and resp.status_int in (304, 412, 416)):
                return resp
            clean = make_subrequest(req.environ, 'HEAD', req.path_info,
                                    source='DLO').get_response(self.dlo.app)
            if MANIFEST_HEADER not in clean.headers:
                return resp
            resp = clean
        close_body(resp)
        try:
            container, prefix = parse_manifest_header(
                resp.headers[MANIFEST_HEADER])
        except ValueError:
            return resp
        return self._large_object_response(resp, container, prefix)

    def _listing(self, container, prefix, marker=''):
        """(error response, entries) of one listing page."""
        sub = make_subrequest(
            self.req.environ, 'GET',
            '/%s/%s/%s' % (self.version, self.account, container),
            source='DLO')
        sub.query_string = 'format=json&limit=%d&prefix=%s' % (
            LISTING_PAGE, quote(prefix))
        if marker:
            sub.query_string += '&marker=%s' % quote(marker)
        resp = sub.get_response(self.dlo.app)
        if not is_success(resp.status_int):
            return resp, None
        return None, json.loads(resp.body)

    def _segments(self, container, first_page, prefix):
        """Every segment, reading further pages only as needed."""
        page = first_page
        while True:
            for entry in page:
                yield Segment(
                    int(entry['bytes']),
                    path='/%s/%s/%s/%s' % (self.version, self.account,
                                           container, entry['name']),
                    size=int(entry['bytes']))
            if len(page) < LISTING_PAGE:
                return
            error, page = self._listing(container, prefix, page[-1]['name'])
            if error is not None:
                raise ListingFailed('Got status %d listing container /%s/%s'
                                    % (error.status_int, self.account,
                                       container))

    def _large_object_response(self, resp, container, prefix):
        req = self.req
        error, page = self._listing(container, prefix)
        if error is not None:
            if req.method == 'HEAD':
                error.body = b''
            return error
        complete = len(page) < LISTING_PAGE
        headers = {name: value for name, value in resp.headers.items()
                   if name.lower() not in ('content-length',
                                           'content-range', 'etag')}
        length = etag = None
        if complete:
            length = sum(int(entry['bytes']) for entry in page)
            etag = headers['Etag'] = dlo_etag(page)
        condition = evaluate_conditions(
            req.method, req.headers, etag,
            parse_http_date(resp.headers.get('Last-Modified', '')) or 0)
        if condition:
            headers['Content-Length'] = '0'
            return Response(status=condition,
                            headerlist=list(headers.items()), app_iter=[])
        if req.method == 'HEAD':
            if length is not None:
                headers['Content-Length'] = str(length)
            return Response(status=200, headerlist=list(headers.items()),
                            app_iter=[])
        return self._body_response(headers, container, prefix, page, length)

    def _single_range(self, length):
        """The one range to answer, or None for the whole object (no
        Range, several ranges, or a listing too long to know the size)."""
        ranges = requested_ranges(self.req.headers.get('Range'), length
                                  if length is not None else 10 ** 20)
        if ranges is None or len(ranges) != 1 or length is None:
            return None
        return ranges

    def _body_response(self, headers, container, prefix, page, length):
        try:
            ranges = self._single_range(length)
        except RangeUnsatisfiable:
            return unsatisfiable(headers, length)
        start, stop = ranges[0] if ranges else (0, length)
        pieces = pieces_for_range(self._segments(container, page, prefix),
                                  start, stop)
        expected = None if stop is None else stop - start
        body = SegmentedBody(self.req.environ, self.dlo.app, pieces,
                             self.req.path_info, self.dlo.logger,
                             length=expected, source='DLO')
        try:
            body.validate_first()
        except SegmentError as err:
            self.dlo.logger.error('%s', err)
            body.close()
            if err.status == 503:
                return HTTPServiceUnavailable()
            return HTTPConflict()
        if length is None:
            return Response(status=200, headerlist=list(headers.items()),
                            app_iter=body)
        status, app_iter = ranged_body(headers, body, ranges, length)
        return Response(status=status, headerlist=list(headers.items()),
                        app_iter=app_iter)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: DynamicLargeObject(app, conf)
