"""slo: static large objects, as Swift's ``slo`` middleware offers them.

Owns the requests that make, read and delete an SLO:

- ``PUT ?multipart-manifest=put``: the JSON manifest (slo_manifest) is
  checked, every segment is HEADed as the client (it must exist, and
  match its ``etag``/``size_bytes``), and the manifest is stored in
  Swift's format with ``X-Static-Large-Object: True``, the SLO's ETag and
  size as sysmeta, ``;swift_bytes=<total>`` in its Content-Type (the
  listing shows that size, the container's bytes used the manifest's)
  and the container-update override that adds ``slo_etag``.
  ``heartbeat=on`` answers 202 at once and keeps the connection alive
  with spaces while validating, the result then comes in the body.
- GET/HEAD of a manifest: the concatenated segments (segments.
  SegmentedBody), with Range (single and multi-range, across segment
  boundaries; nested SLOs expanded lazily) and conditional headers
  evaluated against the SLO's ETag. ``?multipart-manifest=get`` answers
  the stored manifest (``&format=raw``: as a client could PUT it again).
- ``DELETE ?multipart-manifest=delete``: the segments (nested manifests'
  too), then the manifest, with Swift's bulk-style result body.
- JSON container listings: ``slo_etag`` moved out of the ``hash``.

A client may not set ``X-Static-Large-Object`` itself (400).
"""

import dataclasses
import datetime
import hashlib
import json
import mimetypes
import time
from urllib.parse import quote

from objstore.common.config import ConfBase, config_true_value
from objstore.common.constraints import CONTENT_TYPE_OVERRIDDEN
from objstore.common.green import GreenPool, write_unbuffered
from objstore.common.http import (
    HTTPBadRequest, HTTPLengthRequired, HTTPMethodNotAllowed,
    RESPONSE_REASONS, HTTPRequestEntityTooLarge, HTTPUnprocessableEntity,
    Request, Response, html_error, is_success, split_path, text_error)
from objstore.common.log import get_logger
from objstore.common.subrequest import (
    add_capability, call_app, make_subrequest, path_parts, query_param,
    sent_content_type)
from objstore.common.swift_bytes import with_swift_bytes
from objstore.middleware.bulk import report_body
from objstore.middleware.segments import is_partial_request
from objstore.middleware.slo_get import SLO_ANSWER_HEADERS, SloReader
from objstore.middleware.slo_manifest import (
    OVERRIDE_ETAG, RESULT_FORMATS, SLO_HEADER,
    SYSMETA_SLO_ETAG, SYSMETA_SLO_SIZE, ManifestInvalid, decode_data,
    parse_manifest_input, segment_problems, slo_etag, split_listing_etag,
    stored_entry)
from objstore.middleware.symlink import set_content_type

RESERVED_HEADER_BODY = ('X-Static-Large-Object is a reserved header. To '
                        'create a static large object add query param '
                        'multipart-manifest=put.')


@dataclasses.dataclass(frozen=True)
class SloConf(ConfBase):
    max_manifest_segments: int = 1000
    max_manifest_size: int = 8 * 1024 * 1024
    # Seconds between the spaces a heartbeat=on PUT sends.
    yield_frequency: int = 10
    # Segment HEADs (manifest PUT) and DELETEs run this many at a time.
    concurrency: int = 2
    delete_concurrency: int = 2
    log_name: str = 'slo'


def _result_format(req):
    """The result body's type the client accepts (text/plain if none)."""
    accept = req.headers.get('Accept')
    if not accept:
        return RESULT_FORMATS[0]
    offers = req.accept.acceptable_offers(RESULT_FORMATS)
    return offers[0][0] if offers else RESULT_FORMATS[0]


def _read_at_most(source, size):
    """Up to ``size`` bytes of a request body (chunked ones too: the
    WSGI server decodes them, but a read may return less than asked)."""
    chunks, got = [], 0
    while got < size:
        chunk = source.read(size - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b''.join(chunks)


def _head_facts(resp):
    """What manifest validation needs from a segment's HEAD answer."""
    last_modified = resp.last_modified or datetime.datetime.now(
        datetime.timezone.utc)
    return {'status': resp.status_int, 'status_line': resp.status,
            'length': resp.content_length or 0,
            'etag': (resp.headers.get('Etag') or '').strip('"'),
            'content_type': resp.headers.get('Content-Type', ''),
            'last_modified': last_modified,
            'is_slo': config_true_value(resp.headers.get(SLO_HEADER))}


class StaticLargeObject:
    def __init__(self, app, conf, logger=None):
        self.app = app
        self.conf = SloConf.from_conf(conf)
        self.logger = logger or get_logger(conf, self.conf.log_name)

    def __call__(self, environ, start_response):
        add_capability(
            environ, 'slo',
            max_manifest_segments=self.conf.max_manifest_segments,
            max_manifest_size=self.conf.max_manifest_size,
            yield_frequency=self.conf.yield_frequency,
            min_segment_size=1, allow_async_delete=False)
        try:
            _v, _a, _c, obj = path_parts(environ, 3)
        except ValueError:
            return self.app(environ, start_response)
        if obj is None:
            if environ['REQUEST_METHOD'] == 'GET':
                return self.container_listing(Request(environ))(
                    environ, start_response)
            return self.app(environ, start_response)
        return self.object_request(Request(environ), start_response)

    def object_request(self, req, start_response):
        manifest_param = query_param(req.environ, 'multipart-manifest')
        if req.method == 'PUT' and manifest_param == 'put':
            return self.handle_manifest_put(req, start_response)
        if req.method == 'DELETE' and manifest_param == 'delete':
            return self.handle_manifest_delete(req)(req.environ,
                                                   start_response)
        if req.method in ('GET', 'HEAD'):
            answer = call_app(self.app, req.environ)
            if not answer.has_any(SLO_ANSWER_HEADERS) and \
                    not is_partial_request(req):
                # Not a manifest, and nothing to ask again: as it is.
                return answer.send(start_response)
            resp = SloReader(self, req).response(answer.response(req))
            return resp(req.environ, start_response)
        if SLO_HEADER in req.headers:
            return text_error(HTTPBadRequest, RESERVED_HEADER_BODY)(
                req.environ, start_response)
        return self.app(req.environ, start_response)

    # -- listing -------------------------------------------------------------

    def container_listing(self, req):
        """The listing, with each manifest's ``slo_etag`` in its own key."""
        resp = req.get_response(self.app)
        if not is_success(resp.status_int) or \
                resp.content_type != 'application/json' or \
                b'slo_etag=' not in resp.body:
            return resp
        try:
            listing = json.loads(resp.body)
        except ValueError:
            return resp
        for item in listing:
            if 'hash' not in item:
                continue
            item['hash'], slo = split_listing_etag(item['hash'])
            if slo is not None:
                item['slo_etag'] = '"%s"' % slo
        resp.body = json.dumps(listing).encode('ascii')
        return resp

    # -- PUT -----------------------------------------------------------------

    def _read_manifest(self, req):
        """The manifest bytes, or an error response."""
        if req.headers.get('X-Copy-From'):
            return None, text_error(
                HTTPMethodNotAllowed,
                'Multipart Manifest PUTs cannot be COPY requests')
        limit = self.conf.max_manifest_size
        too_large = text_error(HTTPRequestEntityTooLarge,
                               'Manifest File > %d bytes' % limit)
        if req.content_length is None:
            if req.headers.get('Transfer-Encoding', '').lower() != 'chunked':
                return None, HTTPLengthRequired()
        elif req.content_length > limit:
            return None, too_large
        body = _read_at_most(req.environ['wsgi.input'], limit + 1)
        if len(body) > limit:
            return None, too_large
        return body, None

    def _checked_segments(self, req):
        """(client segments, None) of a manifest PUT, or (None, error)."""
        body, error = self._read_manifest(req)
        if error is not None:
            return None, error
        _v, _a, container, obj = split_path(req.path_info, 4, 4, True)
        try:
            segments = parse_manifest_input(body, '/%s/%s' % (container, obj))
        except ManifestInvalid as err:
            make = text_error if err.plain else html_error
            return None, make(HTTPBadRequest, str(err))
        objects = [seg for seg in segments if 'path' in seg]
        if len(objects) > self.conf.max_manifest_segments:
            return None, text_error(
                HTTPRequestEntityTooLarge,
                'Number of object-backed segments must be <= %d'
                % self.conf.max_manifest_segments)
        return segments, None

    def handle_manifest_put(self, req, start_response):
        segments, error = self._checked_segments(req)
        if error is not None:
            return error(req.environ, start_response)
        version, account, _c, _o = split_path(req.path_info, 4, 4, True)
        put = ManifestPut(self, req, version, account, segments)
        if config_true_value(query_param(req.environ, 'heartbeat')):
            return put.with_heartbeat(start_response)
        return put.plain(start_response)

    # -- DELETE --------------------------------------------------------------

    def handle_manifest_delete(self, req):
        out_type = _result_format(req)
        write_unbuffered(req.environ)
        version, account, _c, _o = split_path(req.path_info, 4, 4, True)
        deleter = ManifestDelete(self, req, version, account)
        return Response(status=200, headerlist=[('Content-Type', out_type)],
                        app_iter=deleter.result_iter(out_type))


class ManifestPut:
    """One ``PUT ?multipart-manifest=put``: validate, then store."""

    def __init__(self, slo, req, version, account, segments):
        self.slo = slo
        self.req = req
        self.version = version
        self.account = account
        self.segments = segments
        self.problems = []
        self.entries = [seg if 'data' in seg else None for seg in segments]
        self.total = 0

    def _head(self, path):
        sub = make_subrequest(
            self.req.environ, 'HEAD',
            '/%s/%s/%s' % (self.version, self.account, path.lstrip('/')),
            source='SLO')
        # Through the SLO filter itself: a nested SLO tells its own size.
        return path, sub.get_response(self.slo)

    def _validate(self):
        """Generator: HEAD every segment (yields None between answers, a
        chance to send a heartbeat), filling entries and problems."""
        indices = {}
        for index, seg in enumerate(self.segments):
            if 'path' in seg:
                indices.setdefault(seg['path'], []).append(index)
            else:
                self.total += len(decode_data(seg['data']))
        pool = GreenPool(max(1, self.slo.conf.concurrency))
        last = len(self.segments) - 1
        for path, resp in pool.imap(self._head, indices):
            facts = _head_facts(resp)
            for index in indices[path]:
                self._check(index, facts, allow_empty=(index == last))
            yield None

    def _check(self, index, facts, allow_empty):
        seg = self.segments[index]
        entry, length, problems = stored_entry(seg, facts)
        if entry is not None:
            problems += segment_problems(seg, facts, length, allow_empty)
        self.problems.extend([quote(seg['path']), text]
                             for text in problems)
        self.entries[index] = entry
        self.total += length

    def plain(self, start_response):
        for _ in self._validate():
            pass
        return self._outcome()(self.req.environ, start_response)

    def with_heartbeat(self, start_response):
        """202 at once, spaces while validating, the result in the body."""
        write_unbuffered(self.req.environ)
        start_response('202 Accepted', [('Content-Type', self.out_type)])
        return self._heartbeat_body()

    @property
    def out_type(self):
        return _result_format(self.req)

    def _heartbeat_body(self):
        yield b' '
        last = time.time()
        for _ in self._validate():
            if time.time() - last > self.slo.conf.yield_frequency:
                yield b' '
                last = time.time()
        resp = self._outcome()
        facts = {'Response Status': resp.status}
        if is_success(resp.status_int):
            facts['Etag'] = resp.headers['Etag']
            facts['Last Modified'] = resp.headers.get('Last-Modified', '')
            facts['Response Body'] = resp.body.decode('utf-8', 'replace')
            errors = []
        else:
            facts['Response Body'] = reason_text(resp.status_int)
            errors = self.problems
        yield HEARTBEAT_SEPARATOR + report_body(self.out_type, facts,
                                                errors, 'upload')

    def _outcome(self):
        """The answer once every segment was HEADed: 400 listing the
        problems, 422 for a wrong client ETag, else the stored manifest's."""
        if self.problems:
            body = report_body(self.out_type, {}, self.problems, 'upload')
            return HTTPBadRequest(body=body, headerlist=[
                ('Content-Type', self.out_type)])
        etag = slo_etag(self.entries)
        client_etag = (self.req.headers.get('Etag') or '').strip('"')
        if client_etag and client_etag != etag:
            return HTTPUnprocessableEntity()
        return self._store(etag)

    def _store(self, etag):
        """PUT the manifest in Swift's stored format down the pipeline."""
        req = self.req
        body = json.dumps(self.entries).encode('utf-8')
        manifest_etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
        # A middleware to our left (s3api) may have put params of its own
        # in the listing's etag (only a middleware can: clients' sysmeta is
        # stripped); they stay, after the manifest's etag.
        _base, _sep, params = req.headers.get(OVERRIDE_ETAG, '').partition(
            ';')
        kept = '; ' + params.strip() if params.strip() else ''
        req.environ.pop('HTTP_TRANSFER_ENCODING', None)
        req.body = body
        req.headers.update({
            SLO_HEADER: 'True', SYSMETA_SLO_ETAG: etag,
            SYSMETA_SLO_SIZE: str(self.total), 'Etag': manifest_etag,
            OVERRIDE_ETAG: '%s%s; slo_etag=%s' % (manifest_etag, kept, etag)})
        content_type = sent_content_type(req.environ)
        if content_type is None:
            guessed, _encoding = mimetypes.guess_type(req.path_info)
            content_type = guessed or 'application/octet-stream'
        # As Swift: the listing shows the total from the content type, the
        # container's bytes used count the manifest (common.swift_bytes).
        req.environ[CONTENT_TYPE_OVERRIDDEN] = True
        set_content_type(req, with_swift_bytes(content_type, self.total))
        resp = req.get_response(self.slo.app)
        if is_success(resp.status_int):
            resp.headers['Etag'] = '"%s"' % etag
        return resp


def reason_text(status):
    """Swift's 'Title\\nexplanation' of a status, for result bodies."""
    return '\n'.join(RESPONSE_REASONS.get(status, ('', '')))


class ManifestDelete:
    """One ``DELETE ?multipart-manifest=delete``: segments, nested
    manifests after their segments, the manifest last."""

    def __init__(self, slo, req, version, account):
        self.slo = slo
        self.req = req
        self.version = version
        self.account = account

    def _path(self, name):
        return '/%s/%s/%s' % (self.version, self.account, name.lstrip('/'))

    def _manifest_entries(self, name):
        """The stored entries of manifest ``name``; ManifestFetchError."""
        sub = make_subrequest(self.req.environ, 'GET', self._path(name),
                              source='SLO')
        sub.query_string = 'multipart-manifest=get'
        resp = sub.get_response(self.slo.app)
        if is_success(resp.status_int):
            if not config_true_value(resp.headers.get(SLO_HEADER)):
                raise ManifestFetchError(400, 'Not an SLO manifest')
            try:
                return json.loads(resp.body)
            except ValueError:
                raise ManifestFetchError(500, 'Unable to load SLO manifest')
        if resp.status_int == 404:
            raise ManifestFetchError(404, 'SLO manifest not found')
        if resp.status_int == 401:
            raise ManifestFetchError(401, '401 Unauthorized')
        raise ManifestFetchError(500,
                                 'Unable to load SLO manifest or segment.')

    def objects_to_delete(self, top_name):
        """Yield {'name', ['error']} for every object to delete, Swift's
        order: a manifest after the segments it lists."""
        queue = [{'name': top_name, 'sub_slo': True}]
        while queue:
            if len(queue) > self.slo.conf.max_manifest_segments * 10:
                yield {'name': top_name, 'error': (
                    400, 'Too many buffered slo segments to delete.')}
                return
            item = queue.pop(0)
            if 'data' in item:
                continue
            if not config_true_value(item.get('sub_slo')):
                yield item
                continue
            try:
                queue.extend(self._manifest_entries(item['name']))
            except ManifestFetchError as err:
                item = dict(item, error=(err.status, err.message))
            queue.append(dict(item, sub_slo=False))

    def _delete(self, item):
        if 'error' in item:
            return item, None
        sub = make_subrequest(self.req.environ, 'DELETE',
                              self._path(item['name']), source='SLO')
        return item, sub.get_response(self.slo.app)

    def result_iter(self, out_type):
        """The result body; a space now and then while deleting."""
        _v, _a, container, obj = split_path(self.req.path_info, 4, 4, True)
        tally = DeleteTally()
        pool = GreenPool(max(1, self.slo.conf.delete_concurrency))
        last = time.time()
        separator = b''
        first = XML_DECLARATION if out_type.endswith('/xml') else b' '
        for item, resp in pool.imap(self._delete, self.objects_to_delete(
                '/%s/%s' % (container, obj))):
            if time.time() - last > self.slo.conf.yield_frequency:
                yield first
                first, separator, last = b' ', HEARTBEAT_SEPARATOR, \
                    time.time()
            tally.add(item, resp)
        yield separator + report_body(out_type, tally.facts(),
                                      tally.errors, 'delete')


XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
HEARTBEAT_SEPARATOR = b'\r\n\r\n'


class ManifestFetchError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class DeleteTally:
    """Counts and errors of a manifest delete, Swift's bulk rules."""

    def __init__(self):
        self.deleted = 0
        self.not_found = 0
        self.errors = []
        self.server_error = False

    def add(self, item, resp):
        name = quote(item['name'])
        if resp is None:
            status, message = item['error']
            if status == 404:
                self.not_found += 1
            else:
                self.errors.append([name, message])
        elif is_success(resp.status_int):
            self.deleted += 1
        elif resp.status_int == 404:
            self.not_found += 1
        else:
            self.server_error |= resp.status_int >= 500
            self.errors.append([name, resp.status])

    def facts(self):
        status, body = '200 OK', ''
        if self.errors:
            status = '502 Bad Gateway' if self.server_error \
                else '400 Bad Request'
        elif not (self.deleted or self.not_found):
            status, body = '400 Bad Request', 'Invalid bulk delete.'
        return {'Response Status': status, 'Response Body': body,
                'Number Deleted': self.deleted,
                'Number Not Found': self.not_found}


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: StaticLargeObject(app, conf)
