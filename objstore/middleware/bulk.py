"""bulk: many objects in one request, as Swift's bulk middleware offers.

Owns two operations:

* ``PUT /v1/<account>[/<container>[/<prefix>]]?extract-archive=tar|tar.gz|
  tar.bz2``: every regular file of the archive becomes an object (its path
  ``<container>/<object>``, below the request path when there is one),
  containers are created as needed (at most
  ``max_containers_per_extraction``). The archive is read as a stream
  (tarfile's ``r|`` modes) straight from the request body and each member
  is the body of its own PUT: no archive or member is ever held whole in
  memory. Object user metadata, ``X-Delete-At``/``-After`` of the request
  and the member's pax xattrs (``user.mime_type``, ``user.meta.*``) go
  along.
* ``POST|DELETE /v1/<account>?bulk-delete``: the body lists
  ``<container>/<object>`` or ``<container>`` names, one a line,
  URL-quoted, at most ``max_deletes_per_request``; objects are deleted
  before containers, ``delete_concurrency`` at a time.

Both answer 200 at once and then stream: a space (the XML prolog for an
XML answer) every ``yield_frequency`` seconds keeps the client's
connection alive during a long job, and the report comes last, in text,
JSON or XML as the ``Accept`` header asks (Swift's ``Response Status``,
``Response Body``, ``Number Files Created`` or ``Number Deleted``/``Number
Not Found``, and ``Errors``: [quoted name, status] pairs). A job's own
failure (bad archive, too many names, no acceptable format) is that
report's ``Response Status``, as in Swift.

Every PUT, HEAD and DELETE is a subrequest down the pipeline carrying the
client's token, so tempauth (after this filter) authorizes each, and the
quota middlewares see each member upload. Must not reach storage itself.
"""

import dataclasses
import json
import tarfile
import time
import zlib
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

from objstore.common.config import ConfBase
from objstore.common.constraints import (
    MAX_CONTAINER_NAME_LENGTH, MAX_FILE_SIZE, MAX_OBJECT_NAME_LENGTH,
    valid_utf8)
from objstore.common.exceptions import ConfigError, ListingError
from objstore.common.green import GreenPool, sleep
from objstore.common.http import (
    HTTPBadRequest, Request, Response, html_error, is_success, split_path)
from objstore.common.listing import negotiate_format
from objstore.common.log import get_logger
from objstore.common.subrequest import (
    add_capability, make_subrequest, query_params)

# Status lines of the report, as Swift's swob spells them.
STATUS_LINES = {
    200: '200 OK', 201: '201 Created', 400: '400 Bad Request',
    401: '401 Unauthorized', 404: '404 Not Found',
    406: '406 Not Acceptable', 411: '411 Length Required',
    412: '412 Precondition Failed', 413: '413 Request Entity Too Large',
    500: '500 Internal Error', 502: '502 Bad Gateway',
}
ARCHIVE_MODES = {'tar': '', 'tar.gz': 'gz', 'tar.bz2': 'bz2'}
XML_PROLOG = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# The longest ``<container>/<object>`` line a delete list may hold.
MAX_PATH_LENGTH = MAX_OBJECT_NAME_LENGTH + MAX_CONTAINER_NAME_LENGTH + 2
# Pax xattr prefixes (GNU tar's and libarchive's) -> object header prefix.
PAX_META_PREFIXES = ('SCHILY.xattr.user.meta.', 'LIBARCHIVE.xattr.user.meta.')
PAX_MIME_KEYS = ('SCHILY.xattr.user.mime_type',
                 'LIBARCHIVE.xattr.user.mime_type')
# Request headers every extracted object takes from the archive's PUT.
CARRIED_HEADERS = ('x-delete-at', 'x-delete-after')


@dataclasses.dataclass(frozen=True)
class BulkConf(ConfBase):
    max_containers_per_extraction: int = 10000
    max_failed_extractions: int = 1000
    max_deletes_per_request: int = 10000
    max_failed_deletes: int = 1000
    yield_frequency: float = 10.0
    delete_concurrency: int = 2
    delete_container_retry_count: int = 0
    delete_container_retry_interval: float = 1.5
    log_name: str = 'bulk'

    def validate(self):
        if not 1 <= self.delete_concurrency <= 1000:
            raise ConfigError('delete_concurrency: must be 1 to 1000')
        for name in ('max_containers_per_extraction', 'max_failed_extractions',
                     'max_deletes_per_request', 'max_failed_deletes',
                     'delete_container_retry_count'):
            if getattr(self, name) < 0:
                raise ConfigError('%s: must not be negative' % name)


class BulkError(Exception):
    """Ends a job: its status (and reason) become the report's."""

    def __init__(self, status, body=''):
        super().__init__(body)
        self.status = status
        self.body = body


def report_body(out_type, result, errors, root_tag):
    """The report of a job in ``out_type`` (Swift's three shapes).

    >>> report_body('text/plain', {'Number Deleted': 1,
    ...     'Response Status': '400 Bad Request'}, [['c/o', '409 Conflict']],
    ...     'delete').decode()
    'Number Deleted: 1\\nResponse Status: 400 Bad Request\\nErrors:\\nc/o, \
409 Conflict\\n'
    >>> report_body('application/xml', {'Number Deleted': 0}, [],
    ...     'delete').decode()
    '<delete>\\n<number_deleted>0</number_deleted>\\n<errors>\\n</errors>\\n\
</delete>\\n'
    """
    if out_type == 'application/json':
        return json.dumps(dict(result, Errors=errors)).encode('ascii')
    if out_type and out_type.endswith('/xml'):
        lines = ['<%s>\n' % root_tag]
        for key in sorted(result):
            tag = key.replace(' ', '_').lower()
            lines.append('<%s>%s</%s>\n' % (tag, escape(str(result[key])),
                                             tag))
        lines.append('<errors>\n')
        lines.extend('<object><name>%s</name><status>%s</status></object>\n'
                     % (escape(name), escape(status))
                     for name, status in errors)
        lines.append('</errors>\n</%s>\n' % root_tag)
        return ''.join(lines).encode('utf-8')
    lines = ['%s: %s\n' % (key, result[key]) for key in sorted(result)]
    lines.append('Errors:\n')
    lines.extend('%s, %s\n' % (name, status) for name, status in errors)
    return ''.join(lines).encode('utf-8')


def answer_format(accept):
    """The report's content type for an ``Accept`` header; None when none
    is acceptable or the header is malformed (the job then reports 406).

    >>> answer_format(None), answer_format('application/json')
    ('text/plain', 'application/json')
    >>> answer_format('image/png') is None
    True
    """
    try:
        return negotiate_format(None, accept)
    except ListingError:
        return None


def quoted(name):
    """A name as a report lists it: URL-quoted UTF-8, at most
    MAX_PATH_LENGTH characters of it.

    >>> quoted('c/a b')
    'c/a%20b'
    """
    return quote(name[:MAX_PATH_LENGTH].encode('utf-8', 'surrogateescape'))


def is_good_name(path):
    """Whether a path is valid UTF-8 without NUL (else 412, as Swift)."""
    return valid_utf8(path) and '\x00' not in path


def parse_delete_line(line):
    """A name of a bulk-delete body line (bytes): stripped, unquoted.

    >>> parse_delete_line(b' c/o%20x \\r')
    'c/o x'
    """
    return unquote(line.strip().decode('utf-8', 'surrogateescape'),
                   errors='surrogateescape')


def require_length(req):
    """BulkError 411 for a body with neither a length nor chunks."""
    chunked = req.headers.get('Transfer-Encoding', '').lower() == 'chunked'
    if req.content_length is None and not chunked:
        raise BulkError(411)


class Heartbeat:
    """What to send while a job runs: the first beat is a space (or the XML
    prolog), later ones a space, at most one per ``frequency`` seconds;
    once one was sent, the report follows a blank line."""

    def __init__(self, out_type, frequency, clock=time.time):
        self.next_beat = XML_PROLOG if out_type and \
            out_type.endswith('/xml') else b' '
        self.separator = b''
        self.frequency = frequency
        self.clock = clock
        self.last = clock()

    def beat(self):
        """The bytes to send now (maybe none)."""
        if self.clock() - self.last <= self.frequency:
            return b''
        self.last = self.clock()
        chunk, self.next_beat = self.next_beat, b' '
        self.separator = b'\r\n\r\n'
        return chunk


class Bulk:
    def __init__(self, app, conf, logger=None, clock=time.time):
        self.app = app
        self.conf = BulkConf.from_conf(conf)
        self.logger = logger or get_logger(conf, self.conf.log_name)
        self.clock = clock

    def __call__(self, environ, start_response):
        add_capability(
            environ, 'bulk_upload',
            max_containers_per_extraction=(
                self.conf.max_containers_per_extraction),
            max_failed_extractions=self.conf.max_failed_extractions)
        add_capability(
            environ, 'bulk_delete',
            max_deletes_per_request=self.conf.max_deletes_per_request,
            max_failed_deletes=self.conf.max_failed_deletes)
        query = query_params(environ)
        method = environ['REQUEST_METHOD']
        archive = query.get('extract-archive')
        if archive is not None and method == 'PUT':
            mode = ARCHIVE_MODES.get(archive.lower().strip('.'))
            if mode is None:
                resp = html_error(HTTPBadRequest, 'Unsupported archive format')
            else:
                resp = self._streamed(Request(environ), self.extract_iter,
                                      mode)
            return resp(environ, start_response)
        if 'bulk-delete' in query and method in ('POST', 'DELETE'):
            return self._streamed(Request(environ), self.delete_iter)(
                environ, start_response)
        return self.app(environ, start_response)

    def _streamed(self, req, job, *args):
        """200 at once, the job's beats and report as the body."""
        out_type = answer_format(req.headers.get('Accept'))
        # Beats must leave at once, not wait for the server's write buffer.
        req.environ['eventlet.minimum_write_chunk_size'] = 0
        resp = Response(status=200, app_iter=job(req, out_type, *args))
        if out_type:
            # As written: Swift adds no charset (webob's setter would)
            resp.headers['Content-Type'] = out_type
        return resp

    def subrequest(self, req, method, path, headers=None, source='EA'):
        headers = dict(headers or {})
        token = req.headers.get('X-Auth-Token')
        if token:
            headers['X-Auth-Token'] = token
        return make_subrequest(req.environ, method, path, headers=headers,
                               source=source)

    # ------------------------------------------------------------ delete

    def read_delete_names(self, req):
        """The names a bulk-delete body lists, read a bounded line at a
        time; BulkError when there are too many or a line is too long."""
        require_length(req)
        body = req.environ['wsgi.input']
        names, pending = [], b''
        while True:
            data = body.read(MAX_PATH_LENGTH)
            pending += data
            *lines, pending = pending.split(b'\n')
            if not data:
                lines.append(pending)
            names.extend(name for name in map(parse_delete_line, lines)
                         if name)
            if len(names) > self.conf.max_deletes_per_request:
                raise BulkError(413, 'Maximum Bulk Deletes: %d per request'
                                % self.conf.max_deletes_per_request)
            if len(pending) > MAX_PATH_LENGTH * 2:
                raise BulkError(400, 'Invalid File Name')
            if not data:
                return names

    def delete_iter(self, req, out_type):
        heartbeat = Heartbeat(out_type, self.conf.yield_frequency, self.clock)
        result = {'Response Status': STATUS_LINES[200], 'Response Body': '',
                  'Number Deleted': 0, 'Number Not Found': 0}
        errors = []
        try:
            if out_type is None:
                raise BulkError(406)
            try:
                version, account, _rest = split_path(req.path_info, 2, 3,
                                                     True)
            except ValueError:
                raise BulkError(404)
            sent_type = req.headers.get('Content-Type')
            if sent_type and not sent_type.startswith('text/plain'):
                raise BulkError(406)
            names = self.read_delete_names(req)
            failure = yield from self._delete_names(
                req, '/%s/%s/' % (version, account), names, result, errors,
                heartbeat)
            if errors:
                result['Response Status'] = STATUS_LINES[failure]
            elif not (result['Number Deleted'] or
                      result['Number Not Found']):
                result['Response Status'] = STATUS_LINES[400]
                result['Response Body'] = 'Invalid bulk delete.'
        except BulkError as err:
            result['Response Status'] = STATUS_LINES[err.status]
            result['Response Body'] = err.body
        except Exception:
            self.logger.exception('Error in bulk delete.')
            result['Response Status'] = STATUS_LINES[500]
        yield heartbeat.separator + report_body(out_type, result, errors,
                                                'delete')

    def _delete_names(self, req, account_path, names, result, errors,
                      heartbeat):
        """Delete objects, then containers; beats as it goes. Returns the
        status the report gives when some failed (400, or 502 when a
        backend failed)."""
        failure = 400
        objects = [n for n in names if '/' in n.strip('/')]
        containers = [n for n in names if '/' not in n.strip('/')]
        pool = GreenPool(self.conf.delete_concurrency)
        for group in (objects, containers):
            good = []
            for name in group:
                if is_good_name(account_path + name.lstrip('/')):
                    good.append(name)
                else:
                    errors.append([quoted(name), STATUS_LINES[412]])
            for name, status, status_line in pool.imap(
                    lambda n: self._delete_one(req, account_path, n), good):
                beat = heartbeat.beat()
                if beat:
                    yield beat
                if is_success(status):
                    result['Number Deleted'] += 1
                elif status == 404:
                    result['Number Not Found'] += 1
                else:
                    if status >= 500:
                        failure = 502
                    errors.append([quoted(name), status_line])
                if len(errors) >= self.conf.max_failed_deletes:
                    raise BulkError(400, 'Max delete failures exceeded')
        return failure

    def _delete_one(self, req, account_path, name):
        """(name, status, status line) of one DELETE; a container still
        holding objects (409) is retried as configured, as in Swift."""
        path = account_path + name.lstrip('/')
        for retry in range(self.conf.delete_container_retry_count + 1):
            if retry:
                sleep(self.conf.delete_container_retry_interval ** retry)
            resp = self.subrequest(req, 'DELETE', path,
                                    source='BD').get_response(self.app)
            if resp.status_int != 409:
                break
        status_line = STATUS_LINES.get(resp.status_int, resp.status)
        return name, resp.status_int, status_line

    # ----------------------------------------------------------- extract

    def extract_iter(self, req, out_type, mode):
        heartbeat = Heartbeat(out_type, self.conf.yield_frequency, self.clock)
        result = {'Response Status': STATUS_LINES[201], 'Response Body': '',
                  'Number Files Created': 0}
        errors = []
        try:
            if out_type is None:
                raise BulkError(406)
            require_length(req)
            try:
                version, account, base = split_path(req.path_info, 2, 3,
                                                    True)
            except ValueError:
                raise BulkError(404)
            extraction = Extraction(self, req, '/%s/%s/' % (version, account),
                                    (base or '').rstrip('/'))
            tar = tarfile.open(mode='r|' + mode,
                               fileobj=req.environ['wsgi.input'])
            while len(errors) < self.conf.max_failed_extractions:
                beat = heartbeat.beat()
                if beat:
                    yield beat
                member = tar.next()
                if member is None:
                    break
                if member.isfile():
                    extraction.put_member(tar, member, result, errors)
            if errors:
                result['Response Status'] = STATUS_LINES[extraction.failure]
            elif not result['Number Files Created']:
                result['Response Status'] = STATUS_LINES[400]
                result['Response Body'] = 'Invalid Tar File: No Valid Files'
        except BulkError as err:
            result['Response Status'] = STATUS_LINES[err.status]
            result['Response Body'] = err.body
        except (tarfile.TarError, zlib.error, EOFError, OSError) as err:
            result['Response Status'] = STATUS_LINES[400]
            result['Response Body'] = 'Invalid Tar File: %s' % err
        except Exception:
            self.logger.exception('Error in extract archive.')
            result['Response Status'] = STATUS_LINES[500]
        yield heartbeat.separator + report_body(out_type, result, errors,
                                                'extract')


def pax_headers(member):
    """Object headers from a member's pax xattrs (mime type, user meta).

    >>> info = tarfile.TarInfo('c/o')
    >>> info.pax_headers = {'SCHILY.xattr.user.mime_type': 'text/x',
    ...                     'SCHILY.xattr.user.meta.color': 'red'}
    >>> sorted(pax_headers(info).items())
    [('Content-Type', 'text/x'), ('X-Object-Meta-color', 'red')]
    """
    headers = {}
    for key, value in member.pax_headers.items():
        if key in PAX_MIME_KEYS:
            headers['Content-Type'] = value
            continue
        for prefix in PAX_META_PREFIXES:
            if key.startswith(prefix):
                headers['X-Object-Meta-' + key[len(prefix):]] = value
    return headers


class Extraction:
    """One archive's uploads: the containers it touched and created, the
    headers each object takes from the request, the failure status."""

    def __init__(self, bulk, req, account_path, base):
        self.bulk = bulk
        self.req = req
        self.account_path = account_path
        self.base = base
        self.containers_seen = set()
        self.containers_created = 0
        self.failure = 400
        self.carried = {name: value for name, value in req.headers.items()
                        if name.lower() in CARRIED_HEADERS or
                        name.lower().startswith('x-object-meta-')}

    def object_path(self, member):
        """``<container>/<object>`` of a member, or None for a file at the
        top of the archive (with no base it has no container)."""
        path = member.name
        if path.startswith('./'):
            path = path[2:]
        path = path.lstrip('/')
        if self.base:
            path = self.base + '/' + path
        return path if '/' in path else None

    def put_member(self, tar, member, result, errors):
        obj_path = self.object_path(member)
        if obj_path is None:
            return
        if not is_good_name(self.account_path + obj_path):
            errors.append([quoted(obj_path), STATUS_LINES[412]])
            return
        if member.size > MAX_FILE_SIZE:
            errors.append([quoted(obj_path), STATUS_LINES[413]])
            return
        container = obj_path.split('/', 1)[0]
        container_failure = None
        if container not in self.containers_seen:
            container_failure = self.ensure_container(container)
        headers = dict(self.carried, **pax_headers(member))
        headers['Content-Length'] = str(member.size)
        put = self.bulk.subrequest(self.req, 'PUT',
                                    self.account_path + obj_path, headers)
        put.environ['wsgi.input'] = tar.extractfile(member)
        resp = put.get_response(self.bulk.app)
        self.containers_seen.add(container)
        if is_success(resp.status_int):
            result['Number Files Created'] += 1
            return
        if container_failure:
            errors.append(container_failure)
        if resp.status_int == 401:
            errors.append([quoted(obj_path), STATUS_LINES[401]])
            raise BulkError(401)
        if resp.status_int >= 500:
            self.failure = 502
        errors.append([quoted(obj_path), resp.status])

    def ensure_container(self, container):
        """Create ``container`` when it does not exist. None when it is
        there now, else the [path, status] to report if the upload into it
        fails; BulkError past the container limit or on a 401."""
        path = self.account_path + container
        head = self.bulk.subrequest(self.req, 'HEAD', path)
        resp = head.get_response(self.bulk.app)
        if is_success(resp.status_int):
            return None
        if resp.status_int == 404:
            resp = self.bulk.subrequest(self.req, 'PUT', path).get_response(
                self.bulk.app)
            if is_success(resp.status_int):
                self.containers_created += 1
                limit = self.bulk.conf.max_containers_per_extraction
                if self.containers_created > limit:
                    raise BulkError(400, 'More than %d containers to create '
                                    'from tar.' % limit)
                return None
        if resp.status_int == 401:
            raise BulkError(401)
        return [quoted(path.rstrip('/')), resp.status]


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: Bulk(app, conf)
