"""slo_get: GET and HEAD of a static large object (slo's read side).

Owns turning a manifest object's answer into the large object's: the
SLO's ETag (quoted, as Swift sends it) and size from the manifest's
sysmeta, ``X-Manifest-Etag``, conditional headers evaluated against the
SLO's ETag and the manifest's Last-Modified, Range (single, multi, 416)
over the concatenated segments, and the body streamed by segments.
SegmentedBody with nested manifests expanded lazily, only where a range
needs them.

The request first goes down the pipeline as the client sent it, so a
plain object is served exactly as before. The object server knows
nothing of manifests: when the answer is a manifest but was ranged or
conditional (or may have been: a 304/412/416 says nothing of what it
refused), the manifest is fetched again without Range and conditions.
"""

import hashlib
import json

from objstore.common.conditional import evaluate_conditions, parse_http_date
from objstore.common.config import config_true_value
from objstore.common.constraints import ALLOW_RESERVED_HEADER
from objstore.common.exceptions import RangeUnsatisfiable
from objstore.common.http import (
    HTTPConflict, HTTPInternalServerError, HTTPServiceUnavailable, Response,
    split_path, text_error)
from objstore.common.subrequest import make_subrequest, query_param
from objstore.middleware.segments import (
    SegmentError, SegmentedBody, close_body, is_partial_request,
    pieces_for_range, ranged_body, requested_ranges, unsatisfiable)
from objstore.middleware.slo_manifest import (
    SLO_HEADER, SYSMETA_SLO_ETAG, SYSMETA_SLO_SIZE, entry_length,
    raw_manifest, slo_etag, to_segment)

# How deep manifests may nest (Swift's limit).
MAX_RECURSION_DEPTH = 10
# The manifest's own facts that do not describe the large object's bytes.
MANIFEST_ONLY_PREFIXES = ('x-object-sysmeta-slo-',
                          'x-object-sysmeta-container-update-override-')
MANIFEST_JSON_TYPE = 'application/json; charset=utf-8'


def is_manifest(resp):
    return config_true_value(resp.headers.get(SLO_HEADER))


# The headers of an answer that SloReader must look at (lower case).
SLO_ANSWER_HEADERS = frozenset((SLO_HEADER.lower(),))


class SubManifestError(SegmentError):
    """A nested manifest could not be read while answering."""


class SloReader:
    """One GET or HEAD that may address an SLO manifest."""

    def __init__(self, slo, req):
        self.slo = slo
        self.req = req
        self.version, self.account, _c, _o = split_path(
            req.path_info, 4, 4, True)
        self._sub_manifests = {}

    def response(self, resp):
        """The client's answer, from ``resp``: the app's to the request."""
        req = self.req
        manifest_get = query_param(
            req.environ, 'multipart-manifest') == 'get'
        if is_manifest(resp) and manifest_get:
            return self._manifest_response(resp)
        if manifest_get:
            return resp
        partial = is_partial_request(req)
        if not is_manifest(resp) and not (
                partial and resp.status_int in (304, 412, 416)):
            return resp
        if resp.status_int != 200 or partial:
            # A refusal says nothing of what it refused: ask (HEAD is
            # cheap) before fetching, so a plain object is read once.
            if not is_manifest(resp) and not is_manifest(
                    self._fetch('HEAD')):
                return resp
            close_body(resp)
            resp = self._fetch(req.method)
            if not is_manifest(resp):
                return resp
        return self._large_object_response(resp)

    def _fetch(self, method, path=None, manifest=False):
        """``method`` of the manifest (or of ``path``) without Range or
        conditions, as the client, below this filter."""
        headers = {}
        if path is None and ALLOW_RESERVED_HEADER in self.req.headers:
            # object_versioning read a version by pointing the request at
            # its hidden name: the refetch must address it the same way.
            headers[ALLOW_RESERVED_HEADER] = \
                self.req.headers[ALLOW_RESERVED_HEADER]
        sub = make_subrequest(self.req.environ, method,
                              path or self.req.path_info, headers=headers,
                              source='SLO')
        if manifest:
            sub.query_string = 'multipart-manifest=get'
        return sub.get_response(self.slo.app)

    # -- the manifest itself -------------------------------------------------

    def _manifest_response(self, resp):
        if query_param(self.req.environ, 'format') != 'raw':
            resp.headers['Content-Type'] = MANIFEST_JSON_TYPE
            return resp
        try:
            body = raw_manifest(json.loads(resp.body))
        except ValueError:
            return self._unreadable()
        resp.body = body
        resp.headers['Etag'] = hashlib.md5(
            body, usedforsecurity=False).hexdigest()
        return resp

    def _unreadable(self):
        self.slo.logger.error('Unable to load SLO manifest %s',
                              self.req.path_info)
        return text_error(HTTPInternalServerError,
                          'Unable to load SLO manifest')

    # -- the large object ----------------------------------------------------

    def _entries(self, resp):
        """The stored entries of the manifest ``resp`` carries (a GET's),
        else fetched; ValueError when not JSON."""
        if self.req.method != 'GET':
            resp = self._fetch('GET')
        return json.loads(resp.body)

    def _large_object_response(self, resp):
        req = self.req
        size = resp.headers.get(SYSMETA_SLO_SIZE)
        etag = resp.headers.get(SYSMETA_SLO_ETAG)
        entries = None
        try:
            if req.method == 'GET' or size is None or not etag:
                entries = self._entries(resp)
        except ValueError:
            return self._unreadable()
        if size is None or not etag:
            size = sum(entry_length(entry) for entry in entries)
            etag = slo_etag(entries)
        size = int(size)
        headers = {name: value for name, value in resp.headers.items()
                   if not name.lower().startswith(MANIFEST_ONLY_PREFIXES)
                   and name.lower() not in ('content-length',
                                            'content-range', 'etag')}
        headers['Etag'] = '"%s"' % etag
        headers['X-Manifest-Etag'] = (resp.headers.get('Etag') or '').strip(
            '"')
        condition = evaluate_conditions(
            req.method, req.headers, etag,
            parse_http_date(resp.headers.get('Last-Modified', '')) or 0)
        if condition:
            headers['Content-Length'] = '0'
            return Response(status=condition, headerlist=list(
                headers.items()), app_iter=[])
        if req.method == 'HEAD':
            headers['Content-Length'] = str(size)
            return Response(status=200, headerlist=list(headers.items()),
                            app_iter=[])
        return self._body_response(headers, entries, size)

    def _body_response(self, headers, entries, size):
        try:
            ranges = requested_ranges(self.req.headers.get('Range'), size)
        except RangeUnsatisfiable:
            return unsatisfiable(headers, size)
        spans = ranges or [(0, size)]
        segments = [to_segment(entry, self.version, self.account)
                    for entry in entries]
        body = SegmentedBody(
            self.req.environ, self.slo.app,
            self._pieces_for_spans(segments, spans), self.req.path_info,
            self.slo.logger,
            length=sum(stop - start for start, stop in spans),
            source='SLO')
        try:
            body.validate_first()
        except SegmentError as err:
            self.slo.logger.error('%s', err)
            body.close()
            if err.status == 503:
                return HTTPServiceUnavailable()
            return HTTPConflict()
        status, app_iter = ranged_body(headers, body, ranges, size)
        return Response(status=status, headerlist=list(headers.items()),
                        app_iter=app_iter)

    def _pieces_for_spans(self, segments, spans):
        for start, stop in spans:
            yield from self._pieces(segments, start, stop, 1)

    def _pieces(self, segments, start, stop, depth):
        """Object and data pieces of [start, stop), nested SLOs expanded."""
        for segment, first, last in pieces_for_range(segments, start, stop):
            if not segment.sub_slo:
                yield segment, first, last
                continue
            if depth >= MAX_RECURSION_DEPTH:
                raise SubManifestError(
                    'While processing manifest %s, max recursion depth was '
                    'exceeded' % self.req.path_info)
            subs = self._sub_segments(segment.path)
            yield from self._pieces(subs, segment.offset + first,
                                    segment.offset + last, depth + 1)

    def _sub_segments(self, path):
        """The segments of nested manifest ``path`` (a few kept)."""
        if path not in self._sub_manifests:
            if len(self._sub_manifests) >= 2 * MAX_RECURSION_DEPTH:
                self._sub_manifests.clear()
            resp = self._fetch('GET', path, manifest=True)
            if resp.status_int != 200 or not is_manifest(resp):
                raise SubManifestError(
                    'while fetching %s, GET of submanifest %s failed with '
                    'status %d' % (self.req.path_info, path,
                                   resp.status_int))
            try:
                entries = json.loads(resp.body)
            except ValueError:
                raise SubManifestError(
                    'while fetching %s, JSON-decoding of submanifest %s '
                    'failed' % (self.req.path_info, path))
            self._sub_manifests[path] = [
                to_segment(entry, self.version, self.account)
                for entry in entries]
        return self._sub_manifests[path]
