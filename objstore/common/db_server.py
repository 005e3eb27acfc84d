"""The base of the account and container servers.

Owns ``DatabaseServer`` (on the WSGI skeleton of common.server_base,
which also parses paths and timestamps): dispatch by verb, the domain-error
-> status table of both DB servers, and finding a DB's broker. REPLICATE is
answered by common.db_replicate; requests are read with common.db_request.

Must not: know a schema (the brokers do) or what a verb means for an
account or a container (each ``server.py`` does).
"""

from objstore.common import green
from objstore.common.db_layout import db_path, device_path
from objstore.common.db_replicate import handle_replicate
from objstore.common.db_request import response
from objstore.common.exceptions import (
    DatabaseCorrupt, DatabaseNotFound, DatabaseRemoved,
    DiskFileDeviceUnavailable, InvalidListingParam, InvalidTimestamp,
    ListingNotAcceptable, ListingPreconditionFailed, LockTimeout)
from objstore.common.hashing import hash_path
from objstore.common.http import DEFAULT_CONTENT_TYPE
from objstore.common.server_base import StorageServer, error_message, \
    request_path, split_storage_path

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
        try:
            return getattr(self, req.method)(req, parts)
        except InvalidListingParam as err:
            # Swift's servers type a listing parameter's reason text/plain
            return response(400, body=error_message(err).encode(
                'utf-8', 'backslashreplace'), content_type='text/plain',
                charset=None)

    def error_response(self, status, message):
        # Swift's short texts: the table's only 404 is a missing DB.
        if status == 404:
            message = 'Not found'
        if status == 507:
            message = 'Insufficient storage'
        # One line without a line end, typed with swob's default, as the
        # reasons Swift's proxy and servers send (the proxy passes listing
        # and X-Container-Sync-To reasons on). backslashreplace: a message
        # may quote surrogates of bad UTF-8.
        return response(status, body=message.encode(
            'utf-8', 'backslashreplace'), content_type=DEFAULT_CONTENT_TYPE,
            charset=None)

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

    def REPLICATE(self, req, path):
        return handle_replicate(self, req, path)
