"""object_versioning: Swift's new object versioning mode
(``X-Versions-Enabled``), laid out on storage as Swift 2.38 lays it out, so
that S3 bucket versioning can sit on the same versions.

Layout: a container ``c`` with versioning enabled has a hidden container
``\\x00versions\\x00c`` (a reserved name, common.constraints) in the same
account and storage policy, named in ``X-Container-Sysmeta-Versions-
Container``; ``X-Container-Sysmeta-Versions-Enabled`` says whether new
writes are versioned. Every version of object ``o`` is the object
``\\x00o\\x00<inverted timestamp>`` there (newest first in a listing); the
version id is the timestamp itself. The object ``c/o`` a client sees is a
static symlink (middleware.symlink) to its current version, marked with
``X-Object-Sysmeta-Versions-Symlink``.

* PUT: the data goes to a new version, then the link is written; the
  answer carries ``X-Object-Version-Id``. An object written before
  versioning was enabled (version ``null``) is first copied into a version.
* DELETE: a zero-byte delete marker
  (``application/x-deleted;swift_versions_deleted=1``) becomes the newest
  version and the link is deleted.
* ``?version-id=<id>``: GET/HEAD read that version (404 for a delete
  marker), DELETE removes it (and the link, if it is current), PUT with
  no body makes it current again; POST is a 400. ``null`` is the object
  that is not a version link.
* GET/HEAD answer ``X-Object-Version-Id`` (``null`` when not versioned).
* Container GET: listings show a link's target's size and ETag; with
  ``?versions`` every version is listed (``version_id``, ``is_latest``),
  paged with ``marker``/``version_marker``. Container DELETE: 409 while
  versions remain, else the hidden container goes too.
* Restore: COPY (or PUT with X-Copy-From) of ``?version-id=<id>``; the
  copy middleware hands the parameter to its source GET.
* Locks (common.retention): a DELETE ``?version-id=`` of a version under
  retention or a legal hold is a 403, whichever API or daemon sends it
  (``X-Backend-Bypass-Governance-Retention`` lifts GOVERNANCE only);
  versioning of a container with an object lock cannot be suspended.
* A middleware above may store sysmeta on one version: a POST
  ``?version-id=`` with ``SYSMETA_UPDATE_KEY`` in its environ rewrites
  the version object in place (the object server takes sysmeta from PUTs
  only); s3api's object lock does so.

Writes to the hidden container are pre-authorized subrequests, so the
client's right to write the container is checked here first. Must not
reach storage other than through the pipeline below it.
"""

import json
import mimetypes
import time
from urllib.parse import quote, unquote, urlencode

from objstore.common.constraints import (
    ALLOW_RESERVED_HEADER, CONTENT_TYPE_OVERRIDDEN, MAX_FILE_SIZE, RESERVED,
    reserved_name, split_reserved_name)
from objstore.common.exceptions import (
    InvalidListingParam, InvalidTimestamp, ListingNotAcceptable)
from objstore.common.http import (
    HTTPBadRequest, HTTPConflict, HTTPForbidden, HTTPInternalServerError,
    HTTPNotFound, HTTPPreconditionFailed, HTTPRequestEntityTooLarge,
    HTTPServiceUnavailable, Request, Response, is_client_error, is_success,
    split_path, text_error)
from objstore.common.info import get_container_info
from objstore.common.listing import JSON_TYPE, PLAIN_TYPE, negotiate_format
from objstore.common.retention import (
    BUCKET_LOCK_INFO_KEY, BYPASS_GOVERNANCE_HEADER, deletion_refusal)
from objstore.common.subrequest import (
    IterReader, add_capability, make_preauthed_subrequest, path_parts,
    query_params, sent_content_type)
from objstore.common.timestamp import Timestamp
from objstore.middleware.slo_manifest import keep_manifest_type
from objstore.middleware.symlink import (
    SYMLINK_OVERRIDE_KEY, SYSMETA_ALLOW_RESERVED, SYSMETA_SYMLOOP_EXTEND,
    TARGET, TARGET_BYTES, TARGET_ETAG, close_body, set_content_type)

DELETE_MARKER_CONTENT_TYPE = 'application/x-deleted;swift_versions_deleted=1'
CLIENT_ENABLED = 'X-Versions-Enabled'
SYSMETA_ENABLED = 'X-Container-Sysmeta-Versions-Enabled'
SYSMETA_CONTAINER = 'X-Container-Sysmeta-Versions-Container'
SYSMETA_VERSIONS_SYMLINK = 'X-Object-Sysmeta-Versions-Symlink'
VERSION_ID = 'X-Object-Version-Id'
NO_VERSIONS_CONTAINER = (b'The versions container does not exist. You may '
                         b'want to re-enable object versioning.')
# Headers of the current object its version copy keeps.
KEPT_HEADERS = ('content-type', 'content-length', 'etag',
                'content-encoding', 'content-disposition', 'x-delete-at',
                'x-static-large-object', 'x-object-manifest')
KEPT_PREFIXES = ('x-object-meta-', 'x-object-sysmeta-',
                 'x-object-transient-sysmeta-')
# Client headers that stay with the link, not the version's data.
EXPIRY_HEADERS = ('x-delete-at', 'x-delete-after')
# What a link must not carry of the client's PUT (it describes the data).
NOT_FOR_LINK = ('Etag', 'X-If-Delete-At', 'X-Object-Manifest',
                'X-Static-Large-Object', 'X-Object-Sysmeta-Slo-Etag',
                'X-Object-Sysmeta-Slo-Size', 'Transfer-Encoding')
# Client headers a data PUT to a version never takes from the request.
NOT_FOR_DATA = EXPIRY_HEADERS + ('host', 'content-type', 'x-auth-token',
                                 'content-length', 'transfer-encoding')
# A timestamp's ticks are below this: its inverse keeps the same width.
TICKS_LIMIT = 10 ** 15
# On a POST ?version-id=, set by a middleware above (an environ key, which
# no client can send): the object sysmeta to store on that version.
SYSMETA_UPDATE_KEY = 'objstore.version_sysmeta_update'
TRUE_VALUES = ('true', '1', 'yes', 'on', 't', 'y')


class VersioningError(Exception):
    """A request this middleware answers itself with ``response``."""

    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


def is_true(value):
    return str(value or '').lower() in TRUE_VALUES


def invert_timestamp(version_id):
    """The timestamp that sorts the other way round (Swift's ``~ts``).

    >>> invert_timestamp('1700000000.12345')
    '8299999999.87654'
    >>> invert_timestamp(invert_timestamp('0000000001.00000'))
    '0000000001.00000'
    """
    ticks = TICKS_LIMIT - 1 - Timestamp(version_id).ticks
    return '%010d.%05d' % divmod(ticks, 100000)


def versions_container_name(container):
    return reserved_name('versions', container)


def version_object_name(obj, version_id):
    """The hidden name of ``obj``'s version ``version_id``.

    >>> version_object_name('o', '1700000000.12345')
    '\\x00o\\x008299999999.87654'
    """
    return reserved_name(obj, invert_timestamp(version_id))


def versions_prefix(obj):
    """The hidden names' prefix of every version of ``obj``."""
    return reserved_name(obj, '')


def parse_version_object_name(name):
    """(object name, version id) of a hidden version name; the version is
    None for a name that is not one.

    >>> parse_version_object_name('\\x00o\\x008299999999.87654')
    ('o', '1700000000.12345')
    >>> parse_version_object_name('plain')
    ('plain', None)
    """
    try:
        obj, inverted = split_reserved_name(name)
        return obj, invert_timestamp(inverted)
    except (ValueError, InvalidTimestamp):
        return name, None


def version_id_of(timestamp):
    """A version id: the timestamp without its offset."""
    return Timestamp(timestamp).normal


def check_version_id(value, allow_null=True):
    """400 unless ``value`` is a timestamp (or ``null`` when allowed)."""
    if value == 'null' and allow_null:
        return
    try:
        Timestamp(value)
    except InvalidTimestamp:
        raise VersioningError(text_error(HTTPBadRequest,
                                         'Invalid version parameter'))


def kept_headers(headers):
    return {name: value for name, value in headers.items()
            if name.lower() in KEPT_HEADERS or
            name.lower().startswith(KEPT_PREFIXES)}


def internal_request(environ, method, path, headers=None, query=''):
    """A pre-authorized subrequest that may reach reserved names (the
    hidden versions container)."""
    sub = make_preauthed_subrequest(
        environ, method, path,
        headers=dict(headers or {}, **{ALLOW_RESERVED_HEADER: 'true'}),
        source='object_versioning')
    sub.environ['QUERY_STRING'] = query
    return sub


def check_answer(resp):
    """Fail the client's request when a versioning step failed: its own
    4xx (a 404 as 412), 503 for anything else."""
    if is_success(resp.status_int):
        return
    close_body(resp)
    if resp.status_int == 404:
        raise VersioningError(HTTPPreconditionFailed())
    if is_client_error(resp.status_int):
        raise VersioningError(Response(status=resp.status_int,
                                       headerlist=resp.headerlist,
                                       body=resp.body))
    raise VersioningError(HTTPServiceUnavailable())


class CountingReader:
    """A ``wsgi.input`` that counts the bytes read through it (a chunked
    PUT has no Content-Length to tell a version's size)."""

    def __init__(self, source):
        self.source = source
        self.count = 0

    def read(self, size=-1):
        chunk = self.source.read(size)
        self.count += len(chunk)
        return chunk


def authorize_write(req, app):
    """The client's refusal to write the container, or None (asked before
    any pre-authorized write to the versions container)."""
    authorize = req.environ.get('swift.authorize')
    if authorize is None:
        return None
    info = get_container_info(req.environ, app, 'object_versioning')
    req.environ['swift.acl'] = info.get('write_acl')
    return authorize(req)


class ObjectRequest:
    """One object request in a container that has (or had) versioning."""

    def __init__(self, app, req, names, versions, enabled):
        self.app = app
        self.req = req
        self.version, self.account, self.container, self.obj = names
        self.versions = versions
        self.enabled = enabled

    # ------------------------------------------------------------ helpers

    def user_path(self):
        return '/%s/%s/%s/%s' % (self.version, self.account, self.container,
                                 self.obj)

    def version_path(self, version_id):
        return '/%s/%s/%s/%s' % (self.version, self.account, self.versions,
                                 version_object_name(self.obj, version_id))

    def internal(self, method, path, headers=None, query=''):
        return internal_request(self.req.environ, method, path, headers,
                                query)

    def authorize(self):
        denied = authorize_write(self.req, self.app)
        if denied is not None:
            raise VersioningError(denied)

    def current_link(self):
        """(exists, version id the current link points at or None)."""
        resp = self.internal('HEAD', self.user_path(), {'X-Newest': 'true'},
                             'symlink=get').get_response(self.app)
        close_body(resp)
        if resp.status_int == 404:
            return False, None
        check_answer(resp)
        if not is_true(resp.headers.get(SYSMETA_VERSIONS_SYMLINK)):
            return True, None
        target = unquote(resp.headers.get(TARGET, ''))
        container, _slash, name = target.partition('/')
        if container != self.versions:
            return True, None
        return True, parse_version_object_name(name)[1]

    def copy_current(self):
        """Make a version of an object written without versioning."""
        source = self.internal('GET', self.user_path(), {'X-Newest': 'true'},
                               'symlink=get').get_response(self.app)
        if source.status_int == 404:
            close_body(source)
            return
        check_answer(source)
        if is_true(source.headers.get(SYSMETA_VERSIONS_SYMLINK)):
            close_body(source)
            return
        if source.content_length is None or \
                source.content_length > MAX_FILE_SIZE:
            close_body(source)
            raise VersioningError(HTTPRequestEntityTooLarge())
        put = self.internal('PUT', self.version_path(
            version_id_of(source.headers['X-Timestamp'])),
            kept_headers(source.headers))
        keep_manifest_type(put, source.headers)
        put.environ['wsgi.input'] = IterReader(source.app_iter)
        resp = put.get_response(self.app)
        close_body(source)
        self.check_version_write(resp)

    def check_version_write(self, resp):
        if resp.status_int == 404:
            close_body(resp)
            raise VersioningError(text_error(
                HTTPInternalServerError, NO_VERSIONS_CONTAINER.decode()))
        check_answer(resp)

    # ----------------------------------------------------- without an id

    def put(self):
        if not self.enabled:
            return None
        self.authorize()
        self.copy_current()
        version_id = Timestamp.now().normal
        etag, size, content_type = self.put_data(version_id)
        resp = self.put_link(version_id, etag, size, content_type)
        return resp

    def put_data(self, version_id):
        """Write the client's body as version ``version_id``: its (ETag,
        size, content type)."""
        req = self.req
        headers = {name: value for name, value in req.headers.items()
                   if name.lower() not in NOT_FOR_DATA}
        content_type = sent_content_type(req.environ) or \
            mimetypes.guess_type(self.obj)[0] or 'application/octet-stream'
        headers['Content-Type'] = content_type
        if req.content_length is None:
            headers['Transfer-Encoding'] = 'chunked'
        else:
            headers['Content-Length'] = str(req.content_length)
        put = self.internal('PUT', self.version_path(version_id), headers)
        # slo's manifest PUT: its Content-Type holds swift_bytes.
        put.environ[CONTENT_TYPE_OVERRIDDEN] = req.environ.get(
            CONTENT_TYPE_OVERRIDDEN, False)
        reader = CountingReader(req.environ['wsgi.input'])
        put.environ['wsgi.input'] = reader
        resp = put.get_response(self.app)
        self.check_version_write(resp)
        close_body(resp)
        return resp.headers['Etag'].strip('"'), reader.count, content_type

    def put_link(self, version_id, etag, size, content_type):
        """The client's request, turned into the PUT of the static link
        that makes ``version_id`` current."""
        req = self.req
        for name in NOT_FOR_LINK:
            req.headers.pop(name, None)
        # Through webob's setter: a body set that way (slo's manifest PUT)
        # is marked seekable, and a plain replacement would still be
        # sought.
        req.body = b''
        req.environ['QUERY_STRING'] = ''
        set_content_type(req, content_type)
        req.headers[TARGET] = quote('%s/%s' % (
            self.versions, version_object_name(self.obj, version_id)))
        req.headers[TARGET_ETAG] = etag
        req.headers[TARGET_BYTES] = str(size)
        req.headers[SYSMETA_VERSIONS_SYMLINK] = 'true'
        req.headers[SYSMETA_SYMLOOP_EXTEND] = 'true'
        req.headers[SYSMETA_ALLOW_RESERVED] = 'true'
        req.environ[SYMLINK_OVERRIDE_KEY] = True
        resp = req.get_response(self.app)
        if is_success(resp.status_int):
            resp.headers['Etag'] = etag
            resp.headers[VERSION_ID] = version_id
        return resp

    def delete(self):
        if not self.enabled:
            return None
        self.authorize()
        self.copy_current()
        version_id = Timestamp.now().normal
        marker_put = self.internal('PUT', self.version_path(version_id), {
            'Content-Type': DELETE_MARKER_CONTENT_TYPE,
            'Content-Length': '0'})
        # Ours to write: the proxy refuses swift_* parameters from clients.
        marker_put.environ[CONTENT_TYPE_OVERRIDDEN] = True
        marker = marker_put.get_response(self.app)
        self.check_version_write(marker)
        close_body(marker)
        resp = self.req.get_response(self.app)
        if is_success(resp.status_int) or resp.status_int == 404:
            resp.headers[VERSION_ID] = version_id
        return resp

    def post(self):
        """A POST to the link applies to the current version's data."""
        resp = self.req.get_response(self.app)
        if resp.status_int != 307 or not is_true(
                resp.headers.get(SYSMETA_VERSIONS_SYMLINK)):
            return resp
        location = unquote(resp.headers.get('Location', ''))
        _v, account, container, name = split_path(location, 4, 4, True)
        if (account, container) != (self.account, self.versions):
            return resp
        close_body(resp)
        headers = {key: value for key, value in self.req.headers.items()
                   if key.lower() not in EXPIRY_HEADERS}
        return self.internal('POST', location, headers).get_response(
            self.app)

    def get_head(self):
        resp = self.req.get_response(self.app)
        resp.headers[VERSION_ID] = 'null'
        location = unquote(resp.headers.get('Content-Location', ''))
        if location:
            _v, account, container, name = split_path(location, 4, 4, True)
            version_id = parse_version_object_name(name)[1]
            if (account, container) == (self.account, self.versions) and \
                    version_id:
                resp.headers[VERSION_ID] = version_id
                resp.headers['Content-Location'] = '%s?version-id=%s' % (
                    quote(self.user_path()), version_id)
        target = unquote(resp.headers.get(TARGET, ''))
        container, _slash, name = target.partition('/')
        version_id = parse_version_object_name(name)[1]
        if container == self.versions and version_id:
            resp.headers[VERSION_ID] = version_id
            resp.headers[TARGET] = '%s?version-id=%s' % (
                quote('%s/%s' % (self.container, self.obj)), version_id)
        return resp

    # -------------------------------------------------------- with an id

    def with_version_id(self, version_id):
        method = self.req.method
        if method == 'POST' and SYSMETA_UPDATE_KEY in self.req.environ:
            check_version_id(version_id, allow_null=False)
            return self.update_version_sysmeta(
                version_id, self.req.environ[SYSMETA_UPDATE_KEY])
        if method == 'POST':
            return text_error(HTTPBadRequest,
                              'POST to a specific version is not allowed')
        if not self.versions and version_id != 'null':
            return text_error(HTTPBadRequest,
                              'version-aware operations require that the '
                              'container is versioned')
        check_version_id(version_id)
        if method == 'DELETE':
            return self.delete_version(version_id)
        if method == 'PUT':
            return self.restore_version(version_id)
        if method not in ('GET', 'HEAD'):
            return None
        if version_id == 'null':
            return self.read_null_version()
        return self.read_version(version_id)

    def read_version(self, version_id):
        req = self.req
        req.path_info = self.version_path(version_id)
        req.headers[ALLOW_RESERVED_HEADER] = 'true'
        resp = req.get_response(self.app)
        if resp.headers.get('Content-Type') == DELETE_MARKER_CONTENT_TYPE:
            close_body(resp)
            return HTTPNotFound(headers={
                VERSION_ID: version_id,
                'Content-Type': DELETE_MARKER_CONTENT_TYPE})
        if is_success(resp.status_int):
            resp.headers[VERSION_ID] = version_id
        return resp

    def read_null_version(self):
        resp = self.req.get_response(self.app)
        if is_success(resp.status_int):
            if reserved_name('versions', '') in unquote(
                    resp.headers.get('Content-Location', '')):
                close_body(resp)
                return HTTPNotFound()
            resp.headers[VERSION_ID] = 'null'
        return resp

    def delete_version(self, version_id):
        self.authorize()
        if version_id == 'null':
            self.refuse_if_locked(self.user_path())
            return None
        self.refuse_if_locked(self.version_path(version_id))
        exists, current = self.current_link()
        req = self.req
        if exists and current == version_id:
            req.environ['QUERY_STRING'] = ''
            link = req.get_response(self.app)
            check_answer(link)
            close_body(link)
            current_after = 'null'
        else:
            current_after = current or 'null'
        req.path_info = self.version_path(version_id)
        req.headers[ALLOW_RESERVED_HEADER] = 'true'
        resp = req.get_response(self.app)
        resp.headers[VERSION_ID] = version_id
        resp.headers['X-Object-Current-Version-Id'] = current_after
        return resp

    def update_version_sysmeta(self, version_id, sysmeta):
        """Store ``sysmeta`` on one version (SYSMETA_UPDATE_KEY). The
        object server keeps sysmeta from PUTs only, so the version object
        is rewritten in place: read raw (a manifest as a manifest) and
        PUT back under its name with its headers and ``sysmeta``. The
        version id is the name's, so it stays; each replica holds the
        old or the new copy, and the newest timestamp wins."""
        self.authorize()
        path = self.version_path(version_id)
        source = self.internal('GET', path, {'X-Newest': 'true'},
                               'symlink=get').get_response(self.app)
        if source.status_int == 404 or source.headers.get(
                'Content-Type') == DELETE_MARKER_CONTENT_TYPE:
            close_body(source)
            return text_error(HTTPNotFound,
                              'The specified version does not exist')
        check_answer(source)
        headers = kept_headers(source.headers)
        headers.update(sysmeta)
        put = self.internal('PUT', path, headers)
        put.environ['wsgi.input'] = IterReader(source.app_iter)
        resp = put.get_response(self.app)
        close_body(source)
        self.check_version_write(resp)
        close_body(resp)
        return Response(status=202, headers={VERSION_ID: version_id})

    def refuse_if_locked(self, path):
        """403 when the version at ``path`` is under retention or a legal
        hold (common.retention). Every way of deleting one version (S3,
        the Swift API, daemons such as lifecycle) passes here, so no API
        is a back door. The object at the user's path is a version (null)
        only when it is not a version link."""
        head = self.internal('HEAD', path, {'X-Newest': 'true'},
                             'symlink=get').get_response(self.app)
        close_body(head)
        if not is_success(head.status_int):
            return
        if path == self.user_path() and is_true(
                head.headers.get(SYSMETA_VERSIONS_SYMLINK)):
            return
        reason = deletion_refusal(
            head.headers, time.time(),
            is_true(self.req.headers.get(BYPASS_GOVERNANCE_HEADER)))
        if reason is not None:
            raise VersioningError(text_error(
                HTTPForbidden, 'Object version locked: %s' % reason))

    def restore_version(self, version_id):
        """PUT ?version-id: make that version current (no body)."""
        check_version_id(version_id, allow_null=False)
        req = self.req
        if req.content_length is None:
            has_body = req.environ['wsgi.input'].read(1) != b''
        else:
            has_body = req.content_length != 0
        if has_body:
            return text_error(HTTPBadRequest, 'PUT version-id requests '
                              'require a zero byte body')
        self.authorize()
        head = self.internal('HEAD', self.version_path(version_id),
                             query='symlink=get').get_response(self.app)
        close_body(head)
        if head.status_int == 404:
            return text_error(HTTPNotFound,
                              'The specified version does not exist')
        check_answer(head)
        return self.put_link(version_id, head.headers['Etag'].strip('"'),
                             head.content_length or 0,
                             head.headers.get('Content-Type',
                                              'application/octet-stream'))


class ObjectVersioning:
    def __init__(self, app, conf):
        self.app = app
        self.conf = conf

    def __call__(self, environ, start_response):
        add_capability(environ, 'object_versioning')
        try:
            names = path_parts(environ, 3)
        except ValueError:
            return self.app(environ, start_response)
        req = Request(environ)
        try:
            if names[3] is None:
                resp = self.handle_container(req, names[:3])
            else:
                resp = self.handle_object(req, names)
        except VersioningError as err:
            resp = err.response
        if resp is None:
            return self.app(environ, start_response)
        return resp(environ, start_response)

    def handle_object(self, req, names):
        info = get_container_info(req.environ, self.app, 'object_versioning')
        sysmeta = info.get('sysmeta') or {}
        versions = unquote(sysmeta.get('versions-container', ''))
        obj = ObjectRequest(self.app, req, names, versions,
                            is_true(sysmeta.get('versions-enabled')))
        version_id = query_params(req.environ).get('version-id')
        if version_id:
            return obj.with_version_id(version_id)
        if not versions:
            return None
        handler = {'PUT': obj.put, 'DELETE': obj.delete, 'POST': obj.post,
                   'GET': obj.get_head, 'HEAD': obj.get_head}.get(req.method)
        return handler() if handler else None

    # --------------------------------------------------------- containers

    def handle_container(self, req, names):
        if req.method in ('PUT', 'POST') and CLIENT_ENABLED in req.headers:
            return self.enable(req, names)
        if req.method == 'DELETE':
            return self.delete_container(req, names)
        if req.method in ('GET', 'HEAD'):
            return ContainerRead(self.app, req, names).run()
        return None

    def call(self, req, method, path, headers=None):
        """The answer (headers only) to an internal container request."""
        resp = internal_request(req.environ, method, path,
                                headers).get_response(self.app)
        close_body(resp)
        return resp

    def enable(self, req, names):
        version, account, container = names
        info = get_container_info(req.environ, self.app, 'object_versioning')
        sysmeta = info.get('sysmeta') or {}
        if sysmeta.get('versions-location') or info.get('versions'):
            return text_error(HTTPBadRequest, 'Cannot enable object '
                              'versioning on a container that is already '
                              'using the legacy versioned writes feature.')
        if info.get('sync_to'):
            return text_error(HTTPBadRequest, 'Cannot enable object '
                              'versioning on a container configured as '
                              'source of container syncing.')
        enabled = is_true(req.headers.pop(CLIENT_ENABLED))
        if not enabled and sysmeta.get(BUCKET_LOCK_INFO_KEY):
            return text_error(HTTPConflict, 'An object lock configuration '
                              'is present on this container, so its '
                              'versioning cannot be suspended.')
        req.headers[SYSMETA_ENABLED] = str(enabled)
        created = None
        if enabled:
            created = self.create_versions_container(req, names, info)
            req.headers[SYSMETA_CONTAINER] = quote(created)
        resp = req.get_response(self.app)
        if created and not is_success(resp.status_int) and not is_success(
                info['status']):
            self.call(req, 'DELETE', '/%s/%s/%s' % (version, account,
                                                    created))
        return resp

    def create_versions_container(self, req, names, info):
        """PUT the hidden container in the container's policy."""
        version, account, container = names
        headers = {}
        if is_success(info['status']):
            head = self.call(req, 'HEAD', '/%s/%s/%s' % tuple(names))
            if head.headers.get('X-Storage-Policy'):
                headers['X-Storage-Policy'] = head.headers['X-Storage-Policy']
        elif req.method == 'PUT' and 'X-Storage-Policy' in req.headers:
            headers['X-Storage-Policy'] = req.headers['X-Storage-Policy']
        name = versions_container_name(container)
        resp = self.call(req, 'PUT', '/%s/%s/%s' % (version, account, name),
                         headers)
        if not is_success(resp.status_int) and resp.status_int != 409:
            raise VersioningError(text_error(
                HTTPInternalServerError, 'Error enabling object versioning'))
        return name

    def delete_container(self, req, names):
        version, account, container = names
        info = get_container_info(req.environ, self.app, 'object_versioning')
        versions = unquote((info.get('sysmeta') or {}).get(
            'versions-container', ''))
        if not versions:
            return None
        path = '/%s/%s/%s' % (version, account, versions)
        head = self.call(req, 'HEAD', path)
        if is_success(head.status_int) and int(head.headers.get(
                'X-Container-Object-Count', 0)) > 0:
            return text_error(HTTPConflict, 'Delete all versions before '
                              'deleting container.')
        if not is_success(head.status_int) and head.status_int != 404:
            return text_error(HTTPInternalServerError,
                              'Error deleting versioned container')
        if is_success(head.status_int):
            resp = self.call(req, 'DELETE', path)
            if not is_success(resp.status_int) and resp.status_int != 404:
                return text_error(HTTPInternalServerError,
                                  'Error deleting versioned container')
        return None


class ContainerRead:
    """A container GET/HEAD: the flag, the bytes of the versions, and the
    listing's view of version links (and ``?versions``)."""

    def __init__(self, app, req, names):
        self.app = app
        self.req = req
        self.version, self.account, self.container = names

    def internal(self, method, path, query=''):
        return internal_request(self.req.environ, method, path, query=query)

    def run(self):
        req = self.req
        info = get_container_info(req.environ, self.app, 'object_versioning')
        versioned = bool((info.get('sysmeta') or {}).get(
            'versions-container'))
        params = query_params(req.environ)
        listing_versions = req.method == 'GET' and 'versions' in params
        wanted = None
        if req.method == 'GET' and (versioned or listing_versions):
            wanted = negotiate_listing(params, req.headers.get('Accept'))
            if wanted not in (JSON_TYPE, PLAIN_TYPE):
                # XML (or a bad format the server answers): left as it is;
                # versions are listed as JSON or text only.
                if listing_versions:
                    return Response(status=406)
                return None
            req.environ['QUERY_STRING'] = as_json_query(
                req.environ.get('QUERY_STRING', ''))
        resp = req.get_response(self.app)
        if SYSMETA_ENABLED in resp.headers:
            resp.headers[CLIENT_ENABLED] = resp.headers[SYSMETA_ENABLED]
        versions = unquote(resp.headers.get(SYSMETA_CONTAINER, ''))
        if versions:
            self.add_version_bytes(resp, versions)
        if not is_success(resp.status_int) or wanted is None:
            return resp
        versions = versions or versions_container_name(self.container)
        listing = [self.as_listed(item, versions, listing_versions)
                   for item in json.loads(resp.body or b'[]')]
        if listing_versions:
            listing = self.versions_listing(listing, versions)
        resp.body = render(listing, wanted)
        resp.headers['Content-Type'] = wanted + '; charset=utf-8'
        if not listing and wanted == PLAIN_TYPE:
            resp.status = 204
            resp.body = b''
        return resp

    def add_version_bytes(self, resp, versions):
        if 'X-Container-Bytes-Used' not in resp.headers:
            return
        head = self.internal('HEAD', '/%s/%s/%s' % (
            self.version, self.account, versions)).get_response(self.app)
        close_body(head)
        if is_success(head.status_int):
            resp.headers['X-Container-Bytes-Used'] = str(
                int(resp.headers['X-Container-Bytes-Used']) +
                int(head.headers.get('X-Container-Bytes-Used', 0)))

    def as_listed(self, item, versions, listing_versions):
        """A version link as its version: size and ETag of the data."""
        if not all(key in item for key in (
                'symlink_path', 'symlink_etag', 'symlink_bytes')):
            return item
        _v, account, container, name = split_path(
            unquote(item['symlink_path']), 4, 4, True)
        if container != versions:
            return item
        _etag, *params = item['hash'].split(';')
        item['bytes'] = int(item.pop('symlink_bytes'))
        item['version_symlink'] = True
        item['hash'] = item.pop('symlink_etag') + ''.join(
            ';' + param for param in params)
        obj, version_id = parse_version_object_name(name)
        if version_id is not None and not listing_versions:
            item['symlink_path'] = '%s?version-id=%s' % (
                quote('/%s/%s/%s/%s' % (self.version, account,
                                        self.container, obj)), version_id)
        return item

    def versions_listing(self, primary, versions):
        """Every version of the page's names, newest first per name."""
        params = query_params(self.req.environ)
        current = {}
        latest = set()
        entries = []
        subdirs = set()
        for item in primary:
            if 'subdir' in item:
                subdirs.add(item['subdir'])
            elif item.get('version_symlink'):
                current[unquote(item['symlink_path'])] = item
            else:
                entries.append(dict(item, version_id='null', is_latest=True))
                latest.add(item['name'])
        query = self.versions_query(params)
        resp = self.internal('GET', '/%s/%s/%s' % (
            self.version, self.account, versions), query).get_response(
                self.app)
        stored = json.loads(resp.body or b'[]') if is_success(
            resp.status_int) else []
        for item in stored:
            if 'subdir' in item:
                subdirs.add(split_reserved_name(item['subdir'])[0])
                continue
            name, version_id = parse_version_object_name(item['name'])
            if version_id is None:
                continue
            path = '/%s/%s/%s/%s' % (self.version, self.account, versions,
                                     item['name'])
            if current.pop(path, None) is not None:
                item['is_latest'] = True
                latest.add(name)
            elif item['content_type'] == DELETE_MARKER_CONTENT_TYPE and \
                    name not in latest:
                item['is_latest'] = True
                latest.add(name)
            else:
                item['is_latest'] = False
            item['name'] = name
            item['version_id'] = version_id
            entries.append(item)
        entries.extend({'subdir': subdir} for subdir in subdirs)
        limit = int(params.get('limit') or 10000)
        reverse = is_true(params.get('reverse'))
        return sorted(entries, key=lambda e: e.get('name', e.get('subdir')),
                      reverse=reverse)[:limit]

    def versions_query(self, params):
        """The versions container's listing query for a ``?versions``
        listing's parameters (names made hidden names)."""
        query = {'format': 'json'}
        for key in ('limit', 'delimiter', 'reverse', 'end_marker'):
            if key in params:
                query[key] = params[key]
        if 'delimiter' in query and set(query['delimiter']) & set(
                '0123456789.' + RESERVED):
            raise VersioningError(text_error(HTTPBadRequest,
                                             'invalid delimiter param'))
        if 'prefix' in params:
            query['prefix'] = reserved_name(params['prefix'])
        if 'marker' in params:
            marker = params['marker']
            version_marker = params.get('version_marker')
            if version_marker is None:
                # Past all of that name's versions (':' > any digit).
                query['marker'] = versions_prefix(marker) + ':'
            elif version_marker == 'null':
                query['marker'] = versions_prefix(marker)
            else:
                check_version_id(version_marker, allow_null=False)
                query['marker'] = version_object_name(marker, version_marker)
        elif 'version_marker' in params:
            raise VersioningError(text_error(
                HTTPBadRequest, 'version_marker param requires marker'))
        if 'end_marker' in query:
            query['end_marker'] = versions_prefix(query['end_marker'])
        return urlencode(query)


def as_json_query(query):
    """``query`` asking for a JSON listing, its other bytes untouched (a
    parameter that is not UTF-8 still gets the container server's 400).

    >>> as_json_query('format=plain&prefix=a')
    'prefix=a&format=json'
    """
    kept = [part for part in query.split('&')
            if part and not part.startswith('format=')]
    return '&'.join(kept + ['format=json'])


def negotiate_listing(params, accept):
    """The listing type the client wants, or None to leave the request to
    the container server (which answers a bad format itself)."""
    try:
        return negotiate_format(params.get('format'), accept)
    except (InvalidListingParam, ListingNotAcceptable):
        return None


def render(listing, content_type):
    """A listing of dicts in the client's format (JSON or names)."""
    if content_type == JSON_TYPE:
        return json.dumps(listing).encode('ascii')
    return ''.join('%s\n' % item.get('name', item.get('subdir'))
                   for item in listing).encode('utf-8')


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: ObjectVersioning(app, conf)
