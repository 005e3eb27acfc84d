"""versioned_writes: Swift's two legacy modes of object versioning.

A container flagged with ``X-Versions-Location: <archive>`` (stack mode)
or ``X-History-Location: <archive>`` (history mode) keeps each overwritten
object in the archive container under ``<len><name>/<timestamp>``: ``len``
the name's UTF-8 length as three hex digits, ``timestamp`` the internal
timestamp of the version (so a prefix listing of one object's versions is
in time order). A PUT to a flagged container first copies the current
object there. A DELETE then differs:

* stack: the newest archived version is copied back over the object and
  removed from the archive (delete N times to be rid of N versions); a
  delete marker met on the way (left by history mode) restores the
  version below it only when the object is gone.
* history: the current object is archived, a zero-byte delete marker
  (``application/x-deleted;swift_versions_deleted=1``) is written to the
  archive, and the object is deleted.

Owns the flag: the client's headers become container sysmeta
(``X-Container-Sysmeta-Versions-Location``/``-Mode``) and come back as the
client's header on GET/HEAD; only one of them may be set (400), an empty
value or ``X-Remove-Versions-Location``/``X-Remove-History-Location``
clears it. ``allow_versioned_writes`` (default false, as in Swift) enables
setting the flag; without it a container flagged natively by the
container server (``X-Versions-Location`` stored as plain metadata) is
still versioned in stack mode, Swift's compatibility path.

Must not leave a half version: the archive copy is written (and
acknowledged durable by the proxy) before the write it protects is sent
on; an error of the copy fails the request (412 for a 4xx, 503 for a
5xx) with the object untouched. The client must be allowed to write the
flagged container before anything is archived: archive reads and writes
are pre-authorized subrequests, so that check happens here first.
"""

import json
from urllib.parse import quote, unquote

from objstore.common.constraints import CONTENT_TYPE_OVERRIDDEN, MAX_FILE_SIZE
from objstore.common.http import (
    HTTPBadRequest, HTTPPreconditionFailed, HTTPRequestEntityTooLarge,
    HTTPServiceUnavailable, Request, is_client_error, is_success,
    text_error)
from objstore.common.info import get_container_info
from objstore.common.subrequest import (
    IterReader, add_capability, make_preauthed_subrequest, path_parts)
from objstore.common.timestamp import Timestamp
from objstore.middleware.slo_manifest import keep_manifest_type

DELETE_MARKER_CONTENT_TYPE = 'application/x-deleted;swift_versions_deleted=1'
VERSIONS_LOCATION = 'X-Versions-Location'
HISTORY_LOCATION = 'X-History-Location'
REMOVE_HEADERS = ('X-Remove-Versions-Location', 'X-Remove-History-Location')
SYSMETA_LOCATION = 'X-Container-Sysmeta-Versions-Location'
SYSMETA_MODE = 'X-Container-Sysmeta-Versions-Mode'
# The mode each client header selects, and the header each mode shows.
MODE_OF_HEADER = {VERSIONS_LOCATION: 'stack', HISTORY_LOCATION: 'history'}
HEADER_OF_MODE = {'stack': VERSIONS_LOCATION, 'history': HISTORY_LOCATION}
# Headers of the current object its archived copy keeps.
ARCHIVED_HEADERS = ('content-type', 'content-length', 'etag',
                    'content-encoding', 'content-disposition', 'x-delete-at',
                    'x-static-large-object', 'x-object-manifest')
ARCHIVED_PREFIXES = ('x-object-meta-', 'x-object-sysmeta-',
                     'x-object-transient-sysmeta-')
TRUE_VALUES = ('true', '1', 'yes', 'on', 't', 'y')
LISTING_PAGE = 10000


class VersioningError(Exception):
    """A request this middleware answers itself with ``response``."""

    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


def is_true(value):
    return str(value or '').lower() in TRUE_VALUES


def versions_prefix(obj):
    """The archive's name prefix of every version of ``obj``.

    >>> versions_prefix('photo.jpg'), versions_prefix('\\u00e9')
    ('009photo.jpg/', '002\\xe9/')
    """
    return '%03x%s/' % (len(obj.encode('utf-8')), obj)


def version_name(obj, timestamp):
    """The archive's name of the version of ``obj`` written at
    ``timestamp``.

    >>> version_name('o', '1700000000.12345')
    '001o/1700000000.12345'
    """
    return versions_prefix(obj) + Timestamp(timestamp).internal


def archived_headers(source_headers):
    """What the archive copy keeps of the current object's answer.

    >>> sorted(archived_headers({'Etag': 'e', 'X-Timestamp': '1',
    ...     'X-Object-Meta-A': 'b', 'Last-Modified': 'x'}).items())
    [('Etag', 'e'), ('X-Object-Meta-A', 'b')]
    """
    return {name: value for name, value in source_headers.items()
            if name.lower() in ARCHIVED_HEADERS or
            name.lower().startswith(ARCHIVED_PREFIXES)}


def flag_headers(headers):
    """The container headers that set, clear or keep the versioning flag,
    as Swift's legacy middleware reads them; ValueError (reason) when the
    request is refused, HTTP status in ``args[1]``.

    Returns {header: value} to put on the request, or {} for no change.

    >>> flag_headers({'X-History-Location': 'arch'})[SYSMETA_MODE]
    'history'
    >>> flag_headers({'X-Versions-Location': ''})[SYSMETA_LOCATION]
    ''
    >>> flag_headers({'X-Versions-Location': 'a', 'X-History-Location': 'b'})
    Traceback (most recent call last):
    ...
    ValueError: ('Only one of X-Versions-Location or X-History-Location \
may be specified', 400)
    """
    given = {name: headers[name] for name in MODE_OF_HEADER
             if name in headers}
    if len(given) == 2:
        if not given[HISTORY_LOCATION]:
            del given[HISTORY_LOCATION]
        elif given[VERSIONS_LOCATION]:
            raise ValueError('Only one of %s or %s may be specified' % (
                VERSIONS_LOCATION, HISTORY_LOCATION), 400)
        else:
            del given[VERSIONS_LOCATION]
    cleared = {VERSIONS_LOCATION: '', SYSMETA_LOCATION: '',
               SYSMETA_MODE: ''}
    if given:
        (name, location), = given.items()
        if not location:
            return cleared
        if '/' in location:
            raise ValueError('Container name cannot contain slashes', 412)
        return {SYSMETA_LOCATION: location,
                SYSMETA_MODE: MODE_OF_HEADER[name],
                VERSIONS_LOCATION: ''}
    if any(headers.get(name) for name in REMOVE_HEADERS):
        return cleared
    return {}


def check_archive_answer(resp):
    """Fail the client's request when an archive step failed: 412 when
    the cluster refused it (e.g. no archive container), 503 otherwise."""
    if is_success(resp.status_int):
        return
    if is_client_error(resp.status_int):
        raise VersioningError(HTTPPreconditionFailed())
    raise VersioningError(HTTPServiceUnavailable())


class Archive:
    """One request's view of a flagged container's archive."""

    def __init__(self, app, req, version, account, archive):
        self.app = app
        self.req = req
        self.version = version
        self.account = account
        self.archive = archive

    def path(self, container, obj):
        return '/%s/%s/%s/%s' % (self.version, self.account, container, obj)

    def archive_path(self, name):
        return self.path(self.archive, name)

    def call(self, method, path, headers=None, query=''):
        sub = make_preauthed_subrequest(self.req.environ, method, path,
                                        headers=headers,
                                        source='versioned_writes')
        sub.environ['QUERY_STRING'] = query
        return sub

    def get_source(self, path):
        """GET of an object as stored (a symlink itself, not its target)."""
        resp = self.call('GET', path, {'X-Newest': 'true'},
                         'symlink=get').get_response(self.app)
        if is_success(resp.status_int) and (
                resp.content_length is None or
                resp.content_length > MAX_FILE_SIZE):
            close_body(resp)
            raise VersioningError(HTTPRequestEntityTooLarge())
        return resp

    def copy(self, source_path, dest_path):
        """Copy one object to another; False when the source is gone."""
        source = self.get_source(source_path)
        if source.status_int == 404:
            close_body(source)
            return False
        check_archive_answer(source)
        self.put_from(source, dest_path)
        return True

    def put_from(self, source, dest_path):
        """PUT ``source`` (a GET's answer) at ``dest_path``, streaming."""
        put = self.call('PUT', dest_path, archived_headers(source.headers))
        keep_manifest_type(put, source.headers)
        put.environ['wsgi.input'] = IterReader(source.app_iter)
        resp = put.get_response(self.app)
        close_body(source)
        check_archive_answer(resp)

    def archive_current(self, container, obj):
        """Copy the current object, if any, into the archive, named by
        the time it was written."""
        source = self.get_source(self.path(container, obj))
        if source.status_int == 404:
            close_body(source)
            return
        check_archive_answer(source)
        name = version_name(obj, source.headers['X-Timestamp'])
        self.put_from(source, self.archive_path(name))

    def write_delete_marker(self, obj, now=None):
        name = version_name(obj, Timestamp.now(now).internal)
        marker = self.call('PUT', self.archive_path(name), {
            'Content-Type': DELETE_MARKER_CONTENT_TYPE,
            'Content-Length': '0'})
        # Ours to write: the proxy refuses swift_* parameters from clients.
        marker.environ[CONTENT_TYPE_OVERRIDDEN] = True
        resp = marker.get_response(self.app)
        check_archive_answer(resp)

    def versions_newest_first(self, obj):
        """The archive's entries of ``obj``, newest first (404: none)."""
        prefix = versions_prefix(obj)
        marker = ''
        while True:
            query = 'format=json&reverse=on&limit=%d&prefix=%s' % (
                LISTING_PAGE, quote_param(prefix))
            if marker:
                query += '&marker=%s' % quote_param(marker)
            resp = self.call('GET', '/%s/%s/%s' % (
                self.version, self.account, self.archive),
                query=query).get_response(self.app)
            if resp.status_int == 404:
                return
            check_archive_answer(resp)
            page = json.loads(resp.body or b'[]')
            if not page:
                return
            yield from page
            marker = page[-1]['name']


def quote_param(value):
    return quote(value, safe='')


def close_body(resp):
    close = getattr(resp.app_iter, 'close', None)
    if close is not None:
        close()


def authorize_write(req, app):
    """The client's refusal to write the flagged container, or None.

    The proxy asks the same question of the write itself; it is asked here
    first because archiving happens before the write reaches the proxy.
    """
    authorize = req.environ.get('swift.authorize')
    if authorize is None:
        return None
    info = get_container_info(req.environ, app, 'versioned_writes')
    req.environ['swift.acl'] = info.get('write_acl')
    return authorize(req)


class VersionedWrites:
    def __init__(self, app, conf):
        self.app = app
        self.allowed = is_true(conf.get('allow_versioned_writes'))

    def __call__(self, environ, start_response):
        if self.allowed:
            add_capability(environ, 'versioned_writes', allowed_flags=[
                VERSIONS_LOCATION.lower(), HISTORY_LOCATION.lower()])
        try:
            version, account, container, obj = path_parts(environ, 3)
        except ValueError:
            return self.app(environ, start_response)
        try:
            if obj is None and self.allowed:
                resp = self.handle_container(Request(environ))
            elif obj is not None and \
                    environ['REQUEST_METHOD'] in ('PUT', 'DELETE'):
                resp = self.handle_object(Request(environ), version,
                                          account, container, obj)
            else:
                resp = None
        except VersioningError as err:
            resp = err.response
        if resp is None:
            return self.app(environ, start_response)
        return resp(environ, start_response)

    def handle_container(self, req):
        if req.method in ('PUT', 'POST'):
            try:
                changes = flag_headers(req.headers)
            except ValueError as err:
                message, status = err.args
                exc = HTTPBadRequest if status == 400 else \
                    HTTPPreconditionFailed
                return text_error(exc, message)
            if changes:
                for name in (HISTORY_LOCATION,) + REMOVE_HEADERS:
                    req.headers.pop(name, None)
                req.headers.update(changes)
        resp = req.get_response(self.app)
        location = resp.headers.get(SYSMETA_LOCATION)
        if location:
            mode = resp.headers.get(SYSMETA_MODE) or 'stack'
            resp.headers[HEADER_OF_MODE.get(mode, VERSIONS_LOCATION)] = \
                location
        return resp

    def archive_of(self, req):
        """(archive container, mode) of the request's container, or
        (None, None) when it is not versioned."""
        info = get_container_info(req.environ, self.app, 'versioned_writes')
        sysmeta = info.get('sysmeta') or {}
        location = sysmeta.get('versions-location')
        mode = sysmeta.get('versions-mode') or 'stack'
        if location and not self.allowed:
            return None, None
        if not location:
            location, mode = info.get('versions'), 'stack'
        if not location:
            return None, None
        return unquote(location).split('/')[0], mode

    def handle_object(self, req, version, account, container, obj):
        archive_name, mode = self.archive_of(req)
        if archive_name is None:
            return None
        denied = authorize_write(req, self.app)
        if denied is not None:
            return denied
        archive = Archive(self.app, req, version, account, archive_name)
        if req.method == 'PUT':
            archive.archive_current(container, obj)
            return None
        if mode == 'history':
            archive.archive_current(container, obj)
            archive.write_delete_marker(obj)
            return None
        return self.pop_version(req, archive, container, obj)

    def pop_version(self, req, archive, container, obj):
        """Stack mode's DELETE: the newest archived version takes the
        object's place and leaves the archive; that removal answers the
        client. Without one, the DELETE goes on as it came."""
        current = archive.path(container, obj)
        versions = archive.versions_newest_first(obj)
        for entry in versions:
            if entry['content_type'] == DELETE_MARKER_CONTENT_TYPE:
                if not self.object_is_gone(archive, current):
                    return None
                self.restore_below_marker(archive, versions, current)
                return archive.call(
                    'DELETE', archive.archive_path(entry['name'])
                ).get_response(self.app)
            if archive.copy(archive.archive_path(entry['name']), current):
                return archive.call(
                    'DELETE', archive.archive_path(entry['name'])
                ).get_response(self.app)
        return None

    def object_is_gone(self, archive, current):
        resp = archive.call('HEAD', current, {'X-Newest': 'true'}) \
            .get_response(self.app)
        close_body(resp)
        if resp.status_int == 404:
            return True
        check_archive_answer(resp)
        return False

    def restore_below_marker(self, archive, versions, current):
        """After a delete marker, restore the next real version (if any,
        up to the next marker) and drop it from the archive."""
        for entry in versions:
            if entry['content_type'] == DELETE_MARKER_CONTENT_TYPE:
                return
            path = archive.archive_path(entry['name'])
            if not archive.copy(path, current):
                continue
            resp = archive.call('DELETE', path).get_response(self.app)
            close_body(resp)
            if resp.status_int != 404:
                check_archive_answer(resp)
            return


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: VersionedWrites(app, conf)
