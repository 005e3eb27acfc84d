"""The object server: a WSGI app serving objects from local devices.

Owns the HTTP side of object storage: parsing and validating requests,
timestamp ordering (409 for writes older than what the node holds),
streaming bodies to and from the DiskFile API, ranges and conditional
requests, container updates after writes (async pendings on failure) and
the expirer queue. It speaks to storage only through DiskFile managers,
one per storage policy type (``manager_for``; policies come from
objstore.conf), and never touches files itself; a PUT is acknowledged
after the writer's ``put()`` and ``commit()``; domain errors
become HTTP statuses in one table, ``ERROR_STATUS`` (the WSGI skeleton
is objstore.common.server_base).

POST semantics: a POST replaces every POST-settable item (user metadata,
Content-Type, Content-Disposition, Content-Encoding, X-Delete-At) with
what it carries; the newest .meta alone decides, so replicas holding the
same files agree. A POST without Content-Type carries the object's
current type (an earlier POST's) into its .meta, as Swift does. A POST
updates the containers, as in Swift: the row keeps the data's timestamp
and takes the POST's as its content-type and metadata timestamps
(``post_update_headers``).

Conditional headers are evaluated against an existing object only; a
missing one is a 404 whatever they say, so that the proxy can tell "not
here" (try another replica) from "here but not matching" (412/304).

Erasure-coded policies (``objstore.object.ec_diskfile``): a PUT carrying
``X-Object-Sysmeta-Ec-Frag-Index`` stores this node's fragment archive,
not durable, answers 201 and sends no container update yet; the proxy then
sends a commit, a body-less PUT with ``X-Backend-Ec-Commit`` and the same
headers plus the footer (``X-Object-Sysmeta-*``: the whole object's ETag
and length, the listing overrides), which is merged into the archive's
metadata before it is renamed durable; the commit's 201 follows the fsync,
and only then are the containers updated. A GET may name with
``X-Backend-Etag-Is-At`` the metadata item its conditions compare (the
whole object's ETag, not the archive's).

Verbs: PUT, GET, HEAD, POST, DELETE on
``/<device>/<partition>/<account>/<container>/<object>`` and REPLICATE on
``/<device>/<partition>[/<suffix>-<suffix>...]`` (JSON suffix hashes).
"""

import json
import math
import time
from dataclasses import dataclass

from objstore.common import green
from objstore.common.backend_client import BackendClient
from objstore.common.conditional import (
    ANNOUNCE_PUT_HEADER, DELETE_IF_PLAIN_HEADER, WITHDRAW_PUT_HEADER,
    evaluate_conditions, has_conditions, http_date, write_condition,
    write_condition_holds)
from objstore.common.config import ConfBase
from objstore.common.constraints import (
    MAX_ACCOUNT_NAME_LENGTH, MAX_CONTAINER_NAME_LENGTH, MAX_FILE_SIZE,
    MAX_OBJECT_NAME_LENGTH, check_metadata, check_object_length, is_chunked)
from objstore.common.exceptions import (
    ChunkReadTimeout, ConfigError, DiskFileCollision, DiskFileDeleted,
    DiskFileDeviceUnavailable, DiskFileExpired, DiskFileNoSpace,
    DiskFileNotExist, DiskFileQuarantined, DiskFileXattrNotSupported,
    InvalidInput, InvalidTimestamp, LockTimeout, StoragePolicyUnavailable,
    WriteConditionFailed)
from objstore.common.hashing import load_hash_conf
from objstore.common.http import (
    POLICY_HEADER, EmptyResponse, HTTPAccepted, HTTPBadRequest,
    HTTPClientDisconnect, HTTPConflict, HTTPCreated, HTTPForbidden,
    HTTPInsufficientStorage, HTTPInternalServerError, HTTPLengthRequired,
    HTTPMethodNotAllowed, HTTPNoContent, HTTPNotFound, HTTPPreconditionFailed,
    HTTPRequestEntityTooLarge, HTTPRequestTimeout, HTTPServiceUnavailable,
    HTTPUnprocessableEntity, Response, html_error, request_headers,
    split_path, text_error)
from objstore.common.http_basics import (
    EC_COMMIT_HEADER, ETAG_IS_AT_HEADER, environ_key)
from objstore.common.log import get_logger
from objstore.common.server_base import (
    BYTES_RECEIVED, StorageServer, is_ascii_digits, log_path,
    parse_partition, printable, request_path, required_timestamp,
    split_storage_path)
from objstore.common.storage_policy import (
    ERASURE_CODING, REPLICATION, load_policies)
from objstore.common.timestamp import (
    Timestamp, parse_delete_at, parse_if_delete_at)
from objstore.object import expiring
from objstore.object.container_update import (
    BACKEND_UPDATE_OVERRIDE, SYSMETA_UPDATE_OVERRIDE, ContainerUpdates,
    container_nodes, container_update_values, post_update_headers)
from objstore.object.diskfile import DiskFileManager, DiskFileSettings
from objstore.object.ec_diskfile import (
    FRAG_INDEX_HEADER, ECDiskFileManager)
from objstore.object.metadata import (
    POST_HEADERS, POST_PREFIXES, SYSMETA_PREFIX, USER_META_PREFIX)
from objstore.object.ondisk import DEFAULT_RECLAIM_AGE
from objstore.object.responses import (
    build_get_response, head_response, object_headers)


@dataclass(frozen=True)
class ObjectServerConf(ConfBase):
    """Every option the object server reads ([DEFAULT] + its app section)."""

    devices: str = '/srv/node'
    mount_check: bool = True
    conf_dir: str = '/etc/objstore'
    bind_ip: str = '127.0.0.1'
    bind_port: int = 6200
    workers: int = 1
    backlog: int = 4096
    max_clients: int = 1024
    metrics_dir: str = ''
    # A GET reads 256 KiB at a time: fewer reads, hash updates and sends
    # per MB than 64 KiB, still small enough to stay in the CPU's cache
    # between the read, the hash and the send.
    disk_chunk_size: int = 262144
    # A PUT's body is read 64 KiB at a time: with several uploads at once,
    # bigger reads cost more CPU per MB (perf: the page-cache copy of each
    # chunk misses the CPU's cache twice as often at 256 KiB), although
    # a single upload alone is a little cheaper with them.
    network_chunk_size: int = 65536
    conn_timeout: float = 0.5
    node_timeout: float = 3.0
    client_timeout: float = 60.0
    container_update_timeout: float = 1.0
    fallocate_reserve: int = 0
    reclaim_age: int = DEFAULT_RECLAIM_AGE
    sync_in_threads: bool = True
    log_name: str = 'object-server'
    log_level: str = 'INFO'
    log_file: str = ''

    def validate(self):
        for name in ('disk_chunk_size', 'network_chunk_size'):
            if getattr(self, name) <= 0:
                raise ConfigError('%s must be > 0' % name)
        for name in ('conn_timeout', 'node_timeout', 'client_timeout',
                     'container_update_timeout'):
            if getattr(self, name) <= 0:
                raise ConfigError('%s must be > 0' % name)
        if self.fallocate_reserve < 0 or self.reclaim_age < 0:
            raise ConfigError('fallocate_reserve and reclaim_age must be '
                              '>= 0')


class ClientDisconnected(Exception):
    """The client stopped sending before the body was complete."""


# Domain error -> status. The one place storage errors become HTTP.
ERROR_STATUS = {
    ClientDisconnected: 499,
    DiskFileDeviceUnavailable: 507,
    DiskFileNoSpace: 507,
    DiskFileXattrNotSupported: 507,
    DiskFileCollision: 403,
    DiskFileQuarantined: 404,
    DiskFileNotExist: 404,
    LockTimeout: 503,
    StoragePolicyUnavailable: 503,
    InvalidTimestamp: 400,
    ChunkReadTimeout: 408,
}
# Status -> the response class of its error body; any other is a 400.
ERROR_RESPONSES = {
    400: HTTPBadRequest, 403: HTTPForbidden, 404: HTTPNotFound,
    405: HTTPMethodNotAllowed, 408: HTTPRequestTimeout,
    411: HTTPLengthRequired, 413: HTTPRequestEntityTooLarge,
    499: HTTPClientDisconnect, 500: HTTPInternalServerError,
    503: HTTPServiceUnavailable, 507: HTTPInsufficientStorage,
}
# Swift's text for a PUT's If-None-Match: * failing (swob's 412 reason).
PRECONDITION_FAILED_BODY = (
    b'<html><h1>Precondition Failed</h1><p>A precondition for this request '
    b'was not met.</p></html>')

# Metadata a PUT stores besides user metadata (X-Object-Meta-*).
PUT_STORED_HEADERS = POST_HEADERS + ('X-Static-Large-Object',)
# A PUT stores system metadata too; a POST may not change it.
PUT_PREFIXES = POST_PREFIXES + (SYSMETA_PREFIX.lower(),)
# ETAG_IS_AT_HEADER as a GET or HEAD reads it, straight from the environ:
# each lookup through webob's header view translates the name first.
ETAG_IS_AT_KEY = environ_key(ETAG_IS_AT_HEADER)
# POLICY_HEADER as every request reads it, likewise.
POLICY_KEY = environ_key(POLICY_HEADER)


@dataclass(frozen=True)
class ObjectTarget:
    """The parsed storage path and policy of an object request."""

    device: str
    partition: str
    account: str
    container: str
    obj: str
    policy_index: int


def client_sent_header(environ, name):
    """Whether the client really sent ``name``.

    The WSGI server fills CONTENT_TYPE with a default when the client sent
    none; its ``headers_raw`` (when present) tells the truth, so a POST
    without a Content-Type does not reset the object's type.
    """
    raw = environ.get('headers_raw')
    if raw is None:
        return True
    return any(key.lower() == name.lower() for key, _value in raw)


def parse_policy_index(environ):
    value = environ.get(POLICY_KEY, '0')
    if not is_ascii_digits(value):
        raise InvalidInput('invalid %s %r' % (POLICY_HEADER, value))
    return int(value)


def parse_object_target(environ):
    device, partition, account, container, obj = split_object_path(environ)
    return ObjectTarget(device, partition, account, container, obj,
                        parse_policy_index(environ))


def split_object_path(environ):
    """[device, partition, account, container, obj] of a request, as
    ``split_storage_path(request_path(environ), 5, 5)`` gives them, with
    its errors.

    Every request parses its path; the proxy's paths are ASCII with no
    NUL almost always, and for those the general checks (a UTF-8 round
    trip, three check_name calls) come down to a few length tests.

    >>> split_object_path({'PATH_INFO': '/sda/7/a/c/o/x'})
    ['sda', '7', 'a', 'c', 'o/x']
    """
    raw = environ.get('PATH_INFO', '')
    if raw.isascii() and '\x00' not in raw and raw[:1] == '/':
        parts = raw[1:].split('/', 4)
        if len(parts) == 5 and all(parts) and \
                parts[0] not in ('.', '..') and parts[0].isprintable() and \
                parts[1].isdigit() and \
                len(parts[2]) <= MAX_ACCOUNT_NAME_LENGTH and \
                len(parts[3]) <= MAX_CONTAINER_NAME_LENGTH and \
                len(parts[4]) <= MAX_OBJECT_NAME_LENGTH:
            return parts
    return split_storage_path(request_path(environ), 5, 5)


def check_object_metadata(headers):
    """Swift's limits on user metadata, and UTF-8 names and values.

    WSGI hands header values over as latin-1 text of the raw bytes; those
    bytes must be UTF-8 for metadata (they are returned as they came).
    """
    check_metadata(headers, 'object')
    for key, value in headers.items():
        if key.lower().startswith(USER_META_PREFIX.lower()):
            try:
                value.encode('latin-1').decode('utf-8')
            except (UnicodeEncodeError, UnicodeDecodeError):
                raise InvalidInput('metadata value of %s is not valid UTF-8'
                                   % key)


def check_container_update_overrides(headers):
    """An overridden listing size must be a byte count, else the container
    server would refuse the update and it would stay pending for ever."""
    for prefix in (BACKEND_UPDATE_OVERRIDE, SYSMETA_UPDATE_OVERRIDE):
        size = headers.get(prefix + 'Size')
        if size is not None and not is_ascii_digits(size):
            raise InvalidInput('invalid %sSize %r' % (prefix, size))


def sysmeta_of(metadata):
    """The X-Object-Sysmeta-* items of an object's metadata.

    >>> sysmeta_of({'X-Object-Sysmeta-A': '1', 'X-Object-Meta-B': '2'})
    {'X-Object-Sysmeta-A': '1'}
    """
    prefix = SYSMETA_PREFIX.lower()
    return {key: value for key, value in metadata.items()
            if key.lower().startswith(prefix)}


def delete_at_of(headers, now):
    """The integer X-Delete-At of a write, None, or InvalidInput."""
    value = headers.get('X-Delete-At')
    if value in (None, ''):
        return None
    return parse_delete_at(value, now)


def stored_request_metadata(headers, timestamp, names, prefixes):
    """X-Timestamp plus the headers in ``names`` and those whose lower-case
    name starts with one of ``prefixes``."""
    meta = {'X-Timestamp': timestamp.internal}
    wanted = {name.lower(): name for name in names}
    for key, value in headers.items():
        lower = key.lower()
        if lower in wanted:
            meta[wanted[lower]] = value
        elif lower.startswith(prefixes):
            meta[key.title()] = value
    return meta


def existing_state(df, now):
    """(data Timestamp or None, exists, metadata) of what the node holds.

    PUT and DELETE are ordered against the data or tombstone timestamp, not
    a newer POST's: a PUT older than a POST but newer than the data it
    modified still wins, and that POST's .meta then applies to it. An
    expired object does not exist for clients but keeps its timestamp (a
    write must be newer) and its metadata (X-If-Delete-At compares it).
    """
    try:
        df.open(now)
    except DiskFileDeleted as err:
        return err.timestamp, False, {}
    except DiskFileExpired as err:
        return df.data_timestamp, False, err.metadata
    except (DiskFileNotExist, DiskFileQuarantined):
        return None, False, {}
    df.close()
    return df.data_timestamp, True, df.metadata


def required_frag_index(headers):
    """The fragment index an EC PUT must carry; InvalidInput if absent."""
    value = headers.get(FRAG_INDEX_HEADER, '')
    if not is_ascii_digits(value):
        raise InvalidInput('%s missing or invalid: %r'
                           % (FRAG_INDEX_HEADER, printable(value)))
    return int(value)


def etag_of(metadata, etag_at):
    """The ETag a condition compares: the metadata item ``etag_at`` names
    (any case: stored names are title-cased), else the object's.

    >>> etag_of({'ETag': 'a', 'X-Object-Sysmeta-S3Api-Etag': 'b'},
    ...         'X-Object-Sysmeta-S3api-Etag'), etag_of({'ETag': 'a'}, '')
    ('b', 'a')
    """
    wanted = etag_at.lower()
    for name, value in metadata.items():
        if wanted and name.lower() == wanted:
            return value
    return metadata.get('ETag')


def plain_delete_refusal(headers, exists, metadata):
    """The 412 of a DELETE that asks to remove a plain object only
    (``DELETE_IF_PLAIN_HEADER``, s3api's) when the object this node holds
    is a multipart manifest or a symlink, whose deletion s3api does
    otherwise; else None."""
    if not exists or headers.get(DELETE_IF_PLAIN_HEADER) != 'true':
        return None
    if metadata.get('X-Static-Large-Object', '').lower() == 'true' or \
            'X-Object-Sysmeta-Symlink-Target' in metadata:
        return text_error(HTTPPreconditionFailed,
                          'Not a plain object: a manifest or a symlink')
    return None


def conflict(existing):
    return text_error(HTTPConflict, 'a newer write exists',
                      headers={'X-Backend-Timestamp': existing.internal})


class ObjectController(StorageServer):
    """The object server WSGI app."""

    verbs = ('PUT', 'GET', 'HEAD', 'POST', 'DELETE', 'REPLICATE')
    error_statuses = ERROR_STATUS

    def __init__(self, conf, logger=None, diskfile_manager=None,
                 hash_conf=None, policies=None):
        self.conf = ObjectServerConf.from_conf(conf)
        self.logger = logger or get_logger(conf, self.conf.log_name)
        if diskfile_manager is None:
            settings = DiskFileSettings(
                devices=self.conf.devices, mount_check=self.conf.mount_check,
                disk_chunk_size=self.conf.disk_chunk_size,
                reclaim_age=self.conf.reclaim_age,
                fallocate_reserve=self.conf.fallocate_reserve,
                sync_in_threads=self.conf.sync_in_threads,
                hash_conf=hash_conf or load_hash_conf(self.conf.conf_dir))
            diskfile_manager = DiskFileManager(settings, self.logger)
        self.policies = policies or load_policies(self.conf.conf_dir)
        # One DiskFile manager per policy type: a type owns its on-disk
        # format.
        self.managers = {REPLICATION: diskfile_manager}
        if isinstance(diskfile_manager, DiskFileManager):
            self.managers[ERASURE_CODING] = ECDiskFileManager(
                diskfile_manager.settings, self.logger)
        self.container_updates = ContainerUpdates(
            self.logger, self.conf.conn_timeout, self.conf.node_timeout,
            self.conf.container_update_timeout, self.manager_for,
            request=BackendClient().direct_request)

    # -- WSGI entry ------------------------------------------------------

    def dispatch(self, req):
        return getattr(self, req.method)(req)

    def error_response(self, status, message):
        return text_error(ERROR_RESPONSES.get(status, HTTPBadRequest),
                          message)

    # -- verbs -----------------------------------------------------------

    def PUT(self, req):
        target = parse_object_target(req.environ)
        timestamp = required_timestamp(req.headers)
        if req.headers.get(ANNOUNCE_PUT_HEADER, '').lower() == 'true':
            return self._announce(req, target, timestamp)
        chunked = is_chunked(req.headers.get('Transfer-Encoding'))
        length = check_object_length(req.headers.get('Content-Length'),
                                     chunked)
        # One walk of the environ for the checks and the stored metadata,
        # which each read every header.
        headers = request_headers(req.environ)
        check_object_metadata(headers)
        check_container_update_overrides(req.headers)
        delete_at = delete_at_of(req.headers, time.time())
        two_phase = self._is_erasure_coded(target)
        if two_phase:
            frag_index = required_frag_index(req.headers)
            if EC_COMMIT_HEADER in req.headers:
                return self._commit_fragment(req, target, timestamp,
                                             frag_index, delete_at)
        df = self._diskfile(target)
        existing, exists, old_meta = existing_state(df, time.time())
        if existing is not None and existing >= timestamp:
            return conflict(existing)
        condition = write_condition(req.headers)
        etag_at = req.headers.get(ETAG_IS_AT_HEADER, '')
        if condition is not None and not write_condition_holds(
                condition, exists, etag_of(old_meta, etag_at)):
            return HTTPPreconditionFailed(body=PRECONDITION_FAILED_BODY)
        with df.create(length) as writer:
            self._receive_body(req, writer, length)
            expected = req.headers.get('ETag', '').strip('"').lower()
            if expected and expected != writer.etag:
                return text_error(HTTPUnprocessableEntity,
                                  'ETag %s does not match the body (%s)'
                                  % (expected, writer.etag))
            meta = stored_request_metadata(headers, timestamp,
                                           PUT_STORED_HEADERS, PUT_PREFIXES)
            meta['Content-Type'] = (
                req.headers.get('Content-Type')
                if client_sent_header(req.environ, 'Content-Type')
                else 'application/octet-stream')
            meta['ETag'] = writer.etag
            meta['Content-Length'] = str(writer.bytes_written)
            try:
                writer.put(meta, check=self._condition_check(
                    target, condition, etag_at))
            except WriteConditionFailed:
                return HTTPPreconditionFailed(body=PRECONDITION_FAILED_BODY)
            if two_phase:
                # Not durable yet: the proxy's commit request follows.
                return HTTPCreated(headers={'ETag': meta['ETag']})
            writer.commit(timestamp)
        self._after_write(req, target, df, 'PUT', timestamp, delete_at, meta,
                          deferred=condition is not None, sent=headers)
        return HTTPCreated(headers={
            'ETag': meta['ETag'],
            'Last-Modified': http_date(math.ceil(float(timestamp)))})

    def _condition_check(self, target, condition, etag_at):
        """The test a conditional PUT repeats under the partition lock, as
        its file becomes visible (DiskFileWriter.put): a concurrent writer
        may have committed since the first test, while the body streamed."""
        if condition is None:
            return None

        def check():
            _ts, exists, meta = existing_state(self._diskfile(target),
                                               time.time())
            if not write_condition_holds(condition, exists,
                                         etag_of(meta, etag_at)):
                raise WriteConditionFailed('/%s/%s/%s: the write condition '
                                           'no longer holds' % (
                                               target.account,
                                               target.container, target.obj))
        return check

    def _commit_fragment(self, req, target, timestamp, frag_index,
                         delete_at):
        """The second phase of an EC PUT: make the archive durable with
        the footer, then update the containers (module docstring)."""
        df = self._diskfile(target)
        footer = stored_request_metadata(req.headers, timestamp, (),
                                         (SYSMETA_PREFIX.lower(),))
        df.commit_fragment(timestamp, frag_index, footer)
        df.open()
        df.close()
        if df.data_timestamp != timestamp:
            return conflict(df.data_timestamp)
        meta = df.metadata
        self._after_write(req, target, df, 'PUT', timestamp, delete_at, meta)
        return HTTPCreated(headers={
            'ETag': meta['ETag'],
            'Last-Modified': http_date(math.ceil(float(timestamp)))})

    def _receive_body(self, req, writer, length):
        """Stream the request body into ``writer``.

        Reading wsgi.input first makes the WSGI server answer
        ``Expect: 100-continue``, so a request refused above never had its
        body sent.
        """
        chunk_size = self.conf.network_chunk_size
        wsgi_input = req.environ['wsgi.input']
        while length is None or writer.bytes_written < length:
            want = chunk_size if length is None else min(
                chunk_size, length - writer.bytes_written)
            chunk = self._read_chunk(wsgi_input, want)
            if not chunk:
                break
            writer.write(chunk)
            req.environ[BYTES_RECEIVED] = writer.bytes_written
            if writer.bytes_written > MAX_FILE_SIZE:
                raise InvalidInput('Your request is too large.', status=413)
        if length is not None and writer.bytes_written < length:
            raise ClientDisconnected('client sent %d of %d bytes'
                                     % (writer.bytes_written, length))

    def _read_chunk(self, wsgi_input, size):
        try:
            with green.Timeout(self.conf.client_timeout):
                return wsgi_input.read(size)
        except green.Timeout:
            raise ChunkReadTimeout('client sent nothing for %ss'
                                   % self.conf.client_timeout)
        except (OSError, ValueError) as err:
            # A broken chunked encoding or a reset connection.
            raise ClientDisconnected('client read failed: %s' % err)

    def GET(self, req):
        return self._get_or_head(req)

    def HEAD(self, req):
        return self._get_or_head(req)

    def _get_or_head(self, req):
        target = parse_object_target(req.environ)
        df = self._diskfile(target)
        missing = self._open_or_404(df)
        if missing is not None:
            return missing
        meta = df.metadata
        environ = req.environ
        last_modified = math.ceil(float(df.timestamp))
        etag = meta.get(environ.get(ETAG_IS_AT_KEY, ''), df.etag)
        status = None
        if has_conditions(environ):
            status = evaluate_conditions(req.method, req.headers, etag,
                                         last_modified)
        if status is not None:
            df.close()
            resp = EmptyResponse(status=status)  # Swift's 412 has no page
            if status == 304:
                # Swift's 304 keeps what a cache revalidates with.
                resp.headers.update({
                    'Content-Type': meta.get('Content-Type',
                                             'application/octet-stream'),
                    'Accept-Ranges': 'bytes'})
            resp.headers.update({'ETag': etag,
                                 'Last-Modified': http_date(last_modified),
                                 'X-Timestamp': df.timestamp.normal,
                                 'X-Backend-Timestamp':
                                     df.timestamp.internal})
            return resp
        headers = object_headers(meta, df.timestamp, df.data_timestamp,
                                 http_date(last_modified))
        if req.method == 'HEAD':
            df.close()
            return head_response(headers, df.content_length)
        return build_get_response(df.reader(), headers, df.content_length,
                                  meta.get('Content-Type'),
                                  environ.get('HTTP_RANGE'),
                                  green.accept_file_spans(environ))

    def _open_or_404(self, df):
        """None when open, else the 404 that says what the node knows."""
        try:
            df.open()
            return None
        except DiskFileDeleted as err:
            headers = {'X-Backend-Timestamp': err.timestamp.internal}
        except DiskFileExpired as err:
            headers = {'X-Backend-Timestamp':
                       Timestamp(err.metadata['X-Timestamp']).internal}
        except (DiskFileNotExist, DiskFileQuarantined):
            headers = {}
        return HTTPNotFound(headers=headers)

    def POST(self, req):
        target = parse_object_target(req.environ)
        timestamp = required_timestamp(req.headers)
        headers = request_headers(req.environ)
        check_object_metadata(headers)
        delete_at = delete_at_of(req.headers, time.time())
        df = self._diskfile(target)
        missing = self._open_or_404(df)
        if missing is not None:
            return missing
        existing_sysmeta = sysmeta_of(df.metadata)
        df.close()
        if df.timestamp >= timestamp:
            return conflict(df.timestamp)
        meta = stored_request_metadata(headers, timestamp, POST_HEADERS,
                                       POST_PREFIXES)
        if not client_sent_header(req.environ, 'Content-Type'):
            meta.pop('Content-Type', None)
            current_type = df.metadata.get('Content-Type')
            if current_type != df.data_metadata.get('Content-Type'):
                # An earlier POST's type stays, as in Swift.
                meta['Content-Type'] = current_type
        df.write_metadata(meta)
        if delete_at is not None:
            self._queue_expiry(target, df, delete_at, timestamp)
        self.container_updates.update(
            target, df.hash, 'PUT', post_update_headers(
                df.data_metadata, meta, req.headers, target.policy_index),
            req.headers)
        # The object's system metadata, as Swift's answer has it: a
        # middleware learns what it POSTed to (symlink answers 307 to a
        # POST on a symlink) without a second request.
        return HTTPAccepted(headers=existing_sysmeta)

    def DELETE(self, req):
        target = parse_object_target(req.environ)
        timestamp = required_timestamp(req.headers)
        if req.headers.get(WITHDRAW_PUT_HEADER, '').lower() == 'true':
            return self._withdraw(target, timestamp)
        if_delete_at = req.headers.get('X-If-Delete-At')
        if if_delete_at is not None:
            try:
                if_delete_at = parse_if_delete_at(if_delete_at)
            except InvalidInput as err:  # Swift types this reason HTML
                return html_error(HTTPBadRequest, err.message)
        df = self._diskfile(target)
        existing, exists, meta = existing_state(df, time.time())
        if existing is not None and existing >= timestamp:
            return conflict(existing)
        refusal = plain_delete_refusal(req.headers, exists, meta)
        if refusal is not None:
            return refusal
        if if_delete_at is not None:
            problem = self._if_delete_at_problem(existing, meta, if_delete_at)
            if problem is not None:
                return problem
        df.delete(timestamp)
        self._after_write(req, target, df, 'DELETE', timestamp, None, {})
        headers = {'X-Backend-Timestamp': timestamp.internal}
        if exists:
            return HTTPNoContent(headers=headers)
        return HTTPNotFound(headers=headers)

    def _withdraw(self, target, timestamp):
        """The proxy's rollback of a conditional PUT that failed its quorum
        (DiskFile.withdraw): no tombstone, and the container update it
        kept is dropped; 204 when the PUT's data was removed, 404 when it
        is not the current data."""
        df = self._diskfile(target)
        self.manager_for(target.policy_index).remove_pending_update(
            target.device, df.hash, timestamp, target.policy_index)
        if df.withdraw(timestamp):
            return HTTPNoContent()
        return HTTPNotFound()

    @staticmethod
    def _if_delete_at_problem(existing, meta, if_delete_at):
        """The expirer's guard: 404 when nothing was ever here (no tombstone
        is written), 412 when the object's X-Delete-At changed (or it is
        gone) since the queue entry was written; else None."""
        if existing is None:
            return HTTPNotFound()  # swob's page, as Swift
        if Timestamp(meta.get('X-Delete-At') or 0) != if_delete_at:
            return html_error(HTTPPreconditionFailed,
                              'X-If-Delete-At and X-Delete-At do not match')
        return None

    def REPLICATE(self, req):
        try:
            device, partition, suffixes = split_path(
                request_path(req.environ), 2, 3, True)
        except ValueError:
            raise InvalidInput('invalid REPLICATE path %s'
                               % log_path(req.environ))
        if not device.isprintable():
            raise InvalidInput('Invalid device: %r' % printable(device))
        recalculate = suffixes.split('-') if suffixes else []
        policy_index = parse_policy_index(req.environ)
        hashes = self.manager_for(policy_index).get_hashes(
            device, parse_partition(partition), recalculate, policy_index)
        return Response(status=200, content_type='application/json',
                        body=json.dumps(hashes, sort_keys=True).encode())

    # -- helpers ---------------------------------------------------------

    def manager_for(self, policy_index):
        """The DiskFile manager of a policy's type; StoragePolicyUnavailable
        (503, as in Swift) for a policy unknown here or of a type this
        server cannot store."""
        policy = self.policies.get_by_index(policy_index)
        if policy is None:
            raise StoragePolicyUnavailable('No policy with index %s'
                                           % policy_index)
        try:
            return self.managers[policy.policy_type]
        except KeyError:
            raise StoragePolicyUnavailable(
                'No storage for policy type %s' % policy.policy_type)

    def _is_erasure_coded(self, target):
        policy = self.policies.get_by_index(target.policy_index)
        return policy is not None and policy.policy_type == ERASURE_CODING

    def _diskfile(self, target):
        return self.manager_for(target.policy_index).get_diskfile(
            target.device, target.partition, target.account,
            target.container, target.obj, target.policy_index)

    def _after_write(self, req, target, df, op, timestamp, delete_at, meta,
                     deferred=False, sent=None):
        """Queue the expiry and update the containers; ``deferred`` (a
        conditional PUT): keep the update in async_pending until the
        proxy announces the PUT won its quorum (``_announce``) or takes
        it back (``_withdraw``), so a losing write is never listed.
        ``sent``: the request's headers (request_headers), when the
        caller walked the environ for them already."""
        if delete_at is not None:
            self._queue_expiry(target, df, delete_at, timestamp)
        headers = {'X-Timestamp': timestamp.internal,
                   'X-Trans-Id': req.headers.get('X-Trans-Id', '-'),
                   POLICY_HEADER: str(target.policy_index)}
        if op == 'PUT':
            # Its overrides are looked for in every header, any case: one
            # walk of the environ, where webob's view would rename each.
            if sent is None:
                sent = request_headers(req.environ)
            headers.update(container_update_values(meta, sent))
        if deferred:
            self.container_updates.keep(target, df.hash, op, headers,
                                        req.headers)
        else:
            self.container_updates.update(target, df.hash, op, headers,
                                          req.headers)

    def _announce(self, req, target, timestamp):
        """Send the container update a conditional PUT at ``timestamp``
        kept (``_after_write``), to the container nodes the request names
        (the proxy names them all: a node that refused the PUT updates
        none), else to those the PUT named; what fails stays for the
        updater. 204, or 404 when no such update is kept (the updater
        sent it)."""
        df = self._diskfile(target)
        manager = self.manager_for(target.policy_index)
        update = manager.read_pending_update(target.device, df.hash,
                                             timestamp, target.policy_index)
        if update is None:
            return HTTPNotFound()
        failed = self.container_updates.send(
            target, df.hash, update['op'],
            container_nodes(req.headers) or update['container_nodes'],
            update['headers'])
        if not failed:
            manager.remove_pending_update(target.device, df.hash, timestamp,
                                          target.policy_index)
        return HTTPNoContent()

    def _queue_expiry(self, target, df, delete_at, timestamp):
        entry = expiring.make_entry(target.account, target.container,
                                    target.obj, target.partition, delete_at,
                                    timestamp.internal, target.policy_index)
        self.manager_for(target.policy_index).add_expiring_entry(
            target.device, df.hash, entry)


def app_factory(global_conf, **local_conf):
    """PasteDeploy entry point (``use = egg:objstore#object``)."""
    conf = dict(global_conf)
    conf.update(local_conf)
    return ObjectController(conf)
