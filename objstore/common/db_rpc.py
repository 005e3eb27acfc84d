"""What the account and container servers share on the wire.

Owns: parsing a DB server request (integer headers, listing query), which
request headers become DB metadata, the domain-error -> status table of
both DB servers and their ``DatabaseServer`` base (on the WSGI skeleton of
objstore.common.server_base, which also parses paths and timestamps), the
group commit of pending-file appends among a server's green threads
(``CoalescingFsync``), and the server side of DB replication, the
REPLICATE verb.

Must not: know a schema (the brokers do) or what a verb means for an
account or a container (each ``server.py`` does).

REPLICATE wire format (the DB replicator is the client)
-------------------------------------------------------
``REPLICATE /<device>/<partition>/<hash>`` where ``<hash>`` is the DB's
hash_path; the DB is ``<device>/<accounts|containers>/<partition>/
<hash[-3:]>/<hash>/<hash>.db``. Body: a JSON object ``{"op": <name>,
...arguments}``, ``Content-Type: application/json``. Answers carry a JSON
body when they have something to say. Statuses: 400 bad body or op, 404 no
such DB (or tmp file), 409 the DB already exists (complete_rsync), 507
device unavailable.

* ``{"op": "sync", "info": <the sender's get_replication_info()>}`` ->
  200 ``<our get_replication_info()>`` plus ``"point"``: the sender's
  highest ROWID we hold (our incoming sync point for ``info["id"]``, -1 if
  none). Before answering we merge the sender's metadata and timestamps
  (created_at, put_timestamp, delete_timestamp). 404 means we have no DB:
  the sender should rsync its DB to ``<device>/tmp/<name>`` and call
  complete_rsync. The sender compares ``hash``/``max_row`` to decide
  whether rows are needed; it sends rows with ROWID > ``point``.
* ``{"op": "merge_items", "items": [rows from get_items_since],
  "source_id": <sender's DB id>}`` -> 202; rows merge newest-wins and our
  incoming sync point for ``source_id`` advances to the highest ROWID.
* ``{"op": "merge_syncs", "sync_points": [{"remote_id", "sync_point"}]}``
  -> 202; the sender's incoming sync points become our incoming sync points
  (a point never moves back), so rows we got from third parties through the
  sender are not sent again.
* ``{"op": "complete_rsync", "tmp_name": <file name in <device>/tmp/>,
  "source_id": <sender's DB id>}`` -> 204; the rsynced DB gets a new id
  (with ``source_id``'s sync point at its max ROWID) and is hard-linked
  into place, never over a DB: if one was created meanwhile, the copy is
  merged into it as by rsync_then_merge. 404 if the tmp file is missing,
  409 if a DB exists already.
* ``{"op": "rsync_then_merge", "tmp_name": ..., "source_id": ...}`` -> 204;
  for a peer far behind: the sender rsynced its whole DB to tmp; its rows,
  sync points, metadata and timestamps are merged into our live DB, in
  transactions, newest timestamp wins (``DatabaseBroker.merge_copy``).
  404 if either file is missing.

Either way the tmp copy is removed afterwards. A live DB file is never
replaced: connections of other processes would go on with the old file and
WAL, and what they commit would be lost.
"""

import dataclasses
import json
import os
from contextlib import contextmanager
from urllib.parse import parse_qsl

from objstore.common.constraints import allows_reserved, check_name
from objstore.common import green
from objstore.common.db import (
    db_path, device_path, fdatasync_path)
from objstore.common.exceptions import (
    DatabaseCorrupt, DatabaseNotFound, DatabaseRemoved,
    DiskFileDeviceUnavailable, InvalidInput, InvalidListingParam,
    InvalidTimestamp, ListingNotAcceptable, ListingPreconditionFailed,
    LockTimeout)
from objstore.common.hashing import hash_path
from objstore.common.http import Response, split_path
from objstore.common.listing import negotiate_format, parse_listing_params
from objstore.common.server_base import (
    StorageServer, printable, request_path, split_storage_path)

# Domain errors -> statuses, for both DB servers (InvalidInput carries its
# own status).
ERROR_STATUS = {
    DatabaseNotFound: 404,
    DiskFileDeviceUnavailable: 507,
    InvalidTimestamp: 400,
    InvalidListingParam: 400,
    ListingNotAcceptable: 406,
    ListingPreconditionFailed: 412,
    LockTimeout: 503,
    DatabaseCorrupt: 500,
    # The sender keeps the update (async pending, replication) and retries.
    DatabaseRemoved: 503,
}

# Seconds a GET/HEAD waits for the pending lock before reading stale.
READ_PENDING_TIMEOUT = 0.1


# -- request parsing ---------------------------------------------------------

def header_int(headers, name, default=None):
    """A non-negative integer header; InvalidInput if bad (or missing and
    no default)."""
    value = headers.get(name)
    if value is None or value == '':
        if default is None:
            raise InvalidInput('Missing %s header' % name)
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise InvalidInput('Invalid %s header: %r' % (name, value))
    return number


def decode_query(raw):
    """{name: value} of a query string; invalid UTF-8 kept as surrogates."""
    return dict(parse_qsl(raw, keep_blank_values=True, encoding='utf-8',
                          errors='surrogateescape'))


def listing_request(req, max_limit, with_path=False):
    """(content type, ListingParams) of a listing GET/HEAD; ``with_path``
    for container listings (``path=``)."""
    query = decode_query(req.environ.get('QUERY_STRING', ''))
    content_type = negotiate_format(query.get('format'),
                                    req.headers.get('Accept'))
    params = parse_listing_params(query, max_limit, with_path)
    if allows_reserved(req.headers):
        params = dataclasses.replace(params, with_reserved=True)
    return content_type, params


def deleted_headers(info):
    """What a 404 for a deleted DB tells the proxy: the tombstone's time
    in X-Backend-Timestamp, so deleted can be told from never created."""
    return {
        'X-Backend-Timestamp': info['delete_timestamp'],
        'X-Backend-Put-Timestamp': info['put_timestamp'],
        'X-Backend-Delete-Timestamp': info['delete_timestamp'],
        'X-Backend-Status-Changed-At': info['status_changed_at'],
    }


def response(status, headers=None, body=b'', content_type=None):
    """A Response whose Content-Length always matches ``body``.

    Without a content type, the body is sent as text/plain. The header
    list is built directly: this runs once per object-row update.
    """
    headerlist = [('Content-Type',
                   (content_type or 'text/plain') + '; charset=utf-8')]
    if headers:
        headerlist.extend(headers.items())
    headerlist.append(('Content-Length', str(len(body))))
    return Response(status=status, headerlist=headerlist, body=body)


def conflict(message, headers=None):
    """409 with a one-line body."""
    return response(409, headers, (message + '\n').encode('utf-8'))


def json_response(status, payload):
    return response(status, body=json.dumps(payload).encode('utf-8'),
                    content_type='application/json')


# -- DB metadata from request headers ---------------------------------------

# Headers kept as container metadata besides X-Container-Meta-* and
# X-Container-Sysmeta-* (ACLs and Swift's container features).
CONTAINER_STORED_HEADERS = frozenset((
    'x-container-read', 'x-container-write', 'x-container-sync-to',
    'x-container-sync-key', 'x-versions-location', 'x-history-location'))


def metadata_from_headers(headers, db_type, timestamp):
    """{header name: (value, timestamp)} of the DB metadata a request sets.

    ``headers`` is a list of (name, value) pairs. User metadata
    (``X-<Type>-Meta-*``) and system metadata (``X-<Type>-Sysmeta-*``) are
    kept under their own names, so removing one kind never touches the
    other. ``X-Remove-<Type>-Meta-Foo`` (any value) and an empty value both
    delete a key; deletions are stored as '' with the timestamp.

    >>> metadata_from_headers([('X-Container-Meta-Color', 'red'),
    ...     ('X-Remove-Container-Meta-Size', 'x'), ('X-Other', '1')],
    ...     'container', '0000000001.00000')  # doctest: +NORMALIZE_WHITESPACE
    {'X-Container-Meta-Color': ('red', '0000000001.00000'),
     'X-Container-Meta-Size': ('', '0000000001.00000')}
    """
    prefixes = ('x-%s-meta-' % db_type, 'x-%s-sysmeta-' % db_type)
    stored = CONTAINER_STORED_HEADERS if db_type == 'container' else ()
    remove = 'x-remove-'
    updates = {}
    for name, value in headers:
        lower = name.lower()
        if lower.startswith(remove):
            target = 'x-' + lower[len(remove):]
            if target.startswith(prefixes) or target in stored:
                updates[target.title()] = ('', timestamp)
        elif lower.startswith(prefixes) or lower in stored:
            updates.setdefault(lower.title(), (value, timestamp))
    return updates


def metadata_headers(metadata):
    """[(name, value)] of the live (non-deleted) metadata keys."""
    return [(name, value) for name, (value, _ts) in sorted(metadata.items())
            if value != '']


class _SyncState:
    """Per-file bookkeeping of CoalescingFsync."""

    __slots__ = ('appended', 'synced', 'callers', 'inflight')

    def __init__(self):
        self.appended = 0   # appends noted so far
        self.synced = 0     # appends known to be on stable storage
        self.callers = 0    # callers inside __call__ for this file
        self.inflight = None  # event of the sync running elsewhere, if any


class CoalescingFsync:
    """One fdatasync shared by the green threads that appended meanwhile.

    For cooperative (green) threads only. A caller notes its append, then
    yields once (``pause``) so the other ready requests reach their own
    appends; the first caller to run afterwards syncs on behalf of all
    appends noted before the sync started, and a caller returns only once
    a sync that began after its own append has finished.

    Without ``offload`` the sync blocks the hub, so nothing can append
    while it runs. With ``offload`` (run a blocking call in a native
    thread, e.g. green.tpool_execute) the hub keeps serving during the
    sync: later appends wait on ``make_event()`` for it to end, then sync
    again if it did not cover them. Plain OS threads must use
    ``fdatasync_path`` instead.
    """

    def __init__(self, pause, sync=fdatasync_path, offload=None,
                 make_event=None):
        if offload is not None and make_event is None:
            raise ValueError('offload needs make_event')
        self._pause = pause
        self._sync = sync
        self._offload = offload
        self._make_event = make_event
        self._state = {}

    def __call__(self, path):
        state = self._state.get(path)
        if state is None:
            state = self._state[path] = _SyncState()
        state.appended += 1
        state.callers += 1
        seq = state.appended
        try:
            self._pause()
            while state.synced < seq:
                if state.inflight is not None:
                    state.inflight.wait()
                else:
                    self._sync_once(path, state)
        finally:
            state.callers -= 1
            if state.callers == 0 and self._state.get(path) is state:
                # Nobody is waiting on this file: forget it, so the map
                # holds only files being written right now.
                del self._state[path]

    def _sync_once(self, path, state):
        target = state.appended
        if self._offload is None:
            self._sync(path)
            state.synced = max(state.synced, target)
            return
        event = state.inflight = self._make_event()
        try:
            self._offload(self._sync, path)
            state.synced = max(state.synced, target)
        finally:
            state.inflight = None
            event.send()


def pending_syncer():
    """The pending-file syncer of a DB server process.

    In a monkey-patched server process (its hub in the main thread) the
    fdatasync runs in eventlet's native thread pool so the hub serves other
    requests meanwhile; elsewhere (in-thread test servers, whose hubs live
    in other threads, where the pool cannot wake them) it blocks the hub.
    """
    if green.is_monkey_patched():
        return CoalescingFsync(pause=green.sleep, offload=green.tpool_execute,
                               make_event=green.Event)
    return CoalescingFsync(pause=green.sleep)


# -- the server skeleton ------------------------------------------------------

class DatabaseServer(StorageServer):
    """Base of the account and container WSGI apps.

    Subclasses set ``db_type``, ``broker_class``, ``max_path_segments`` and
    define the verb methods (``PUT``, ``POST``, ``DELETE``), each taking a
    Request and the split path and returning a Response, and ``_read``,
    which answers both GET and HEAD.
    """

    db_type = None
    broker_class = None
    max_path_segments = None
    verbs = ('PUT', 'HEAD', 'GET', 'POST', 'DELETE', 'REPLICATE')
    error_statuses = ERROR_STATUS

    def __init__(self, conf, logger, hash_conf, pending_sync=None):
        self.conf = conf
        self.logger = logger
        self.hash_conf = hash_conf
        self.pending_sync = pending_sync

    def dispatch(self, req):
        path = request_path(req.environ)
        if req.method == 'REPLICATE':
            return self.REPLICATE(req, path)
        parts = split_storage_path(path, 3, self.max_path_segments)
        return getattr(self, req.method)(req, parts)

    def error_response(self, status, message):
        # Swift's short texts: the table's only 404 is a missing DB.
        if status == 404:
            message = 'Not found'
        if status == 507:
            message = 'Insufficient storage'
        # backslashreplace: a message may quote surrogates of bad UTF-8
        return response(status, body=(message + '\n').encode(
            'utf-8', 'backslashreplace'))

    def HEAD(self, req, parts):
        return self._read(req, parts, with_listing=False)

    def GET(self, req, parts):
        return self._read(req, parts, with_listing=True)

    def _read(self, req, parts, with_listing):
        raise NotImplementedError

    # -- brokers --------------------------------------------------------------

    def device_dir(self, device):
        return device_path(self.conf.devices, device, self.conf.mount_check)

    def broker_for_hash(self, device, partition, name_hash, for_read=False,
                        **names):
        """The broker of a DB. ``for_read``: a GET/HEAD, which waits only
        briefly for a pending flush held up by another process and then
        reads what SQLite has (Swift's stale reads)."""
        path = db_path(self.device_dir(device), self.db_type, partition,
                       name_hash)
        timeout = self.conf.pending_timeout
        if for_read:
            timeout = min(timeout, READ_PENDING_TIMEOUT)
        return self.broker_class(
            path, logger=self.logger, pending_cap=self.conf.pending_cap,
            pending_timeout=timeout, pending_sync=self.pending_sync,
            stale_reads_ok=for_read, sleep=green.sleep, **names)

    def broker(self, device, partition, account, container=None,
               for_read=False):
        name_hash = hash_path(account, container, hash_conf=self.hash_conf)
        names = {'account': account}
        if self.db_type == 'container':
            names['container'] = container
        return self.broker_for_hash(device, partition, name_hash,
                                    for_read=for_read, **names)

    # -- REPLICATE ------------------------------------------------------------

    def REPLICATE(self, req, path):
        try:
            device, partition, name_hash = split_path(path, 3, 3)
        except ValueError:
            raise InvalidInput('Invalid path: %s' % printable(path))
        if not (partition.isdigit() and len(name_hash) == 32 and
                all(c in '0123456789abcdef' for c in name_hash)):
            raise InvalidInput('Invalid REPLICATE path: %s' % printable(path))
        try:
            args = json.loads(req.body)
        except ValueError:
            raise InvalidInput('REPLICATE body is not JSON')
        if not isinstance(args, dict) or args.get('op') not in REPLICATE_OPS:
            raise InvalidInput('Unknown REPLICATE op')
        broker = self.broker_for_hash(device, partition, name_hash)
        try:
            return REPLICATE_OPS[args['op']](self, broker, device, args)
        except (KeyError, TypeError, ValueError) as err:
            if isinstance(err, (InvalidTimestamp, InvalidInput)):
                raise
            raise InvalidInput('Bad REPLICATE arguments: %s' % err)
        finally:
            broker.close()

    def tmp_file(self, device, name):
        if not isinstance(name, str) or not name or '/' in name or \
                name in ('.', '..'):
            raise InvalidInput('Bad tmp_name')
        return os.path.join(self.device_dir(device), 'tmp', name)


def _op_sync(server, broker, device, args):
    info = args['info']
    if not broker.exists():
        return response(404, body=b'No such DB\n')
    broker.update_metadata({key: tuple(entry) for key, entry in
                            info.get('metadata', {}).items()})
    broker.merge_timestamps(info['created_at'], info['put_timestamp'],
                            info.get('delete_timestamp') or '0')
    broker.reconcile_with_peer(info)
    local = broker.get_replication_info()
    local['point'] = broker.get_sync(info['id'])
    return json_response(200, local)


def _op_merge_items(server, broker, device, args):
    items = args['items']
    if not isinstance(items, list) or not all(
            isinstance(item, dict) and isinstance(item.get('name'), str)
            for item in items):
        raise InvalidInput('items must be a list of rows')
    for item in items:
        check_name(item['name'], 'container' if server.db_type == 'account'
                   else 'object', allow_reserved=True)
    broker.merge_items(items, source_id=args.get('source_id'))
    return response(202)


def _op_merge_syncs(server, broker, device, args):
    points = args['sync_points']
    broker.merge_syncs([{'remote_id': str(p['remote_id']),
                         'sync_point': int(p['sync_point'])}
                        for p in points])
    return response(202)


def _op_complete_rsync(server, broker, device, args):
    tmp_path = server.tmp_file(device, args['tmp_name'])
    if broker.exists():
        return response(409, body=b'DB already exists\n')
    if not os.path.exists(tmp_path):
        return response(404, body=b'No such tmp file\n')
    with pushed_copy(server, tmp_path) as incoming:
        broker.adopt_copy(incoming, str(args['source_id']))
    return response(204)


def _op_rsync_then_merge(server, broker, device, args):
    tmp_path = server.tmp_file(device, args['tmp_name'])
    if not broker.exists() or not os.path.exists(tmp_path):
        return response(404, body=b'No such DB or tmp file\n')
    with pushed_copy(server, tmp_path) as incoming:
        broker.merge_copy(incoming, str(args['source_id']))
    return response(204)


@contextmanager
def pushed_copy(server, tmp_path):
    """A broker on the DB copy a replicator rsynced to ``tmp_path``, after
    an integrity check. The copy (and the WAL files opening it made) is
    removed afterwards, used or not: every push has its own name."""
    incoming = server.broker_class(tmp_path, logger=server.logger)
    try:
        incoming.check_integrity()
        yield incoming
    finally:
        incoming.close()
        for path in (tmp_path, tmp_path + '-wal', tmp_path + '-shm'):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


REPLICATE_OPS = {
    'sync': _op_sync,
    'merge_items': _op_merge_items,
    'merge_syncs': _op_merge_syncs,
    'complete_rsync': _op_complete_rsync,
    'rsync_then_merge': _op_rsync_then_merge,
}
