"""The container server: WSGI app over ContainerBroker DBs on local devices.

Owns the HTTP side of containers: the verbs on
``/<device>/<partition>/<account>/<container>`` (PUT creates or revives,
HEAD/GET stats and listings, POST metadata, DELETE an empty container),
object rows sent by object servers as PUT/DELETE on
``/<device>/<partition>/<account>/<container>/<object>`` or, when several
were in flight to one container at once, as one UPDATE batch on the
container's path (common.row_update: one pending append and one sync for
all its rows, a status per row), and the
synchronous update of the account after a container PUT/DELETE.
Request parsing comes from objstore.common.db_request; error mapping,
access logging and REPLICATE from objstore.common.db_server. A container PUT binds a storage policy that
objstore.conf declares (400 otherwise); the proxy decides which.

Must not: know the SQLite schema (backend.py) or render listings
(objstore.common.listing).

An account update that fails is not retried here: the DB's ``reported_*``
stats stay behind its current ones, which is what the container-updater
looks for when it walks the container DBs.
"""

from dataclasses import dataclass

from objstore.common.backend_client import direct_request
from objstore.common.config import ConfBase
from objstore.common.constraints import (
    CONTAINER_LISTING_LIMIT, check_metadata, check_name, check_sync_to)
from objstore.common.db_request import (
    conflict, deleted_headers, header_int, json_response, listing_request,
    metadata_from_headers, metadata_headers, response)
from objstore.common.db_server import DatabaseServer
from objstore.common.group_fsync import pending_syncer
from objstore.common.exceptions import InvalidInput, InvalidTimestamp
from objstore.common.hashing import load_hash_conf
from objstore.common.http import POLICY_DEFAULT_HEADER, POLICY_HEADER
from objstore.common.listing import listing_status, render_container_listing
from objstore.common.log import get_logger
from objstore.common.row_update import (
    BATCH_VERB, MAX_BATCH_BYTES, RowUpdateClient, decode_batch, parse_host,
    split_list, update_nodes)
from objstore.common.server_base import (
    BYTES_RECEIVED, log_path, required_timestamp)
from objstore.common.storage_policy import load_policies
from objstore.common.timestamp import Timestamp
from objstore.container.account_report import report_headers
from objstore.container.backend import ContainerBroker

OBJECT_ROW_HEADERS = ('X-Size', 'X-Content-Type', 'X-Etag')
# What an object row update answers, alone or as a row of a batch.
ROW_STATUS = {'PUT': 201, 'DELETE': 204}


@dataclass(frozen=True)
class ContainerServerConf(ConfBase):
    """The [app:container-server] options (defaults live only here)."""

    devices: str = '/srv/node'
    mount_check: bool = True
    conf_dir: str = '/etc/objstore'
    log_name: str = 'container-server'
    log_level: str = 'INFO'
    log_file: str = ''
    conn_timeout: float = 0.5
    node_timeout: float = 3.0
    pending_cap: int = 131072
    pending_timeout: float = 10.0
    auto_create_account_prefix: str = '.'
    allowed_sync_hosts: tuple[str, ...] = ('127.0.0.1',)


def object_row(op, name, headers):
    """The ``ContainerBroker.put_object`` arguments of an object row update
    (``op`` PUT or DELETE) carrying ``headers``; InvalidInput if bad."""
    timestamp = required_timestamp(headers)
    if op == 'DELETE':
        return {'name': name, 'timestamp': timestamp, 'size': 0,
                'content_type': '', 'etag': '', 'deleted': 1,
                'storage_policy_index': header_int(headers, POLICY_HEADER, 0)}
    size = header_int(headers, 'X-Size')
    for header in OBJECT_ROW_HEADERS[1:]:
        if header not in headers:
            raise InvalidInput('Missing %s header' % header)
    return {'name': name, 'timestamp': timestamp, 'size': size,
            'content_type': headers['X-Content-Type'],
            'etag': headers['X-Etag'],
            'storage_policy_index': header_int(headers, POLICY_HEADER, 0),
            'ctype_timestamp': optional_timestamp(
                headers, 'X-Content-Type-Timestamp'),
            'meta_timestamp': optional_timestamp(headers, 'X-Meta-Timestamp')}


def batch_object_row(item):
    """``object_row`` of one decoded batch item (a BatchRow, or the reason
    it is none); InvalidInput as a single update with that name and
    those headers would get."""
    if isinstance(item, str):
        raise InvalidInput(item)
    check_name(item.obj, 'object', allow_reserved=True)
    return object_row(item.op, item.obj, item)


def read_batch(req):
    """The decoded rows of a batch request; 413 when too big, 400 when it
    is no batch."""
    body = req.environ['wsgi.input'].read(MAX_BATCH_BYTES + 1)
    req.environ[BYTES_RECEIVED] = len(body)
    if len(body) > MAX_BATCH_BYTES:
        raise InvalidInput('batch body over %d bytes' % MAX_BATCH_BYTES,
                           status=413)
    try:
        return decode_batch(body)
    except ValueError as err:
        raise InvalidInput(str(err))


def account_targets(headers):
    """[(ip, port, device, partition)] named by the X-Account-* headers."""
    if not split_list(headers.get('X-Account-Host')):
        return []
    nodes = update_nodes(headers, 'Account')
    if nodes is None or not headers.get('X-Account-Partition',
                                        '').isdigit():
        raise InvalidInput('X-Account-Host, -Device and -Partition do not '
                           'match')
    targets = []
    for node in nodes:
        try:
            ip, port = parse_host(node['host'])
        except ValueError:
            raise InvalidInput('Invalid X-Account-Host: %r' % node['host'])
        targets.append((ip, port, node['device'], node['partition']))
    return targets


def optional_timestamp(headers, name):
    """The Timestamp in header ``name`` (an object POST's update names
    its content-type and metadata times), None if absent; InvalidInput
    (400) if malformed."""
    value = headers.get(name)
    if value is None:
        return None
    try:
        return Timestamp(value)
    except InvalidTimestamp:
        raise InvalidInput('Invalid %s: %r' % (name, value))


def stats_headers(info):
    headers = {
        'X-Container-Object-Count': str(info['object_count']),
        'X-Container-Bytes-Used': str(info['bytes_used']),
        'X-Timestamp': info['created_at'],
        'X-Put-Timestamp': info['put_timestamp'],
        'X-Backend-Timestamp': info['put_timestamp'],
        'X-Backend-Put-Timestamp': info['put_timestamp'],
        'X-Backend-Delete-Timestamp': info['delete_timestamp'],
        'X-Backend-Status-Changed-At': info['status_changed_at'],
        POLICY_HEADER: str(info['storage_policy_index']),
    }
    headers.update(metadata_headers(info['metadata']))
    return headers


def deleted_response(info):
    """404 for a deleted container: tombstone times and its policy."""
    headers = deleted_headers(info)
    headers[POLICY_HEADER] = str(info['storage_policy_index'])
    return response(404, headers)


class ContainerController(DatabaseServer):
    """WSGI app of the container server."""

    db_type = 'container'
    broker_class = ContainerBroker
    max_path_segments = 5
    verbs = DatabaseServer.verbs + (BATCH_VERB,)

    def __init__(self, conf, logger=None, hash_conf=None,
                 request_func=direct_request, policies=None):
        settings = ContainerServerConf.from_conf(conf)
        super().__init__(
            settings, logger or get_logger(conf, settings.log_name),
            hash_conf or load_hash_conf(settings.conf_dir),
            pending_sync=pending_syncer())
        self.row_updates = RowUpdateClient(
            self.logger, settings.conn_timeout, settings.node_timeout,
            request=request_func)
        self.policies = policies or load_policies(settings.conf_dir)

    def container_policy_index(self, headers):
        """The policy a container PUT binds: the one it names, else the
        proxy's default (for a container it creates), else policy 0;
        InvalidInput (400) when the index names no configured policy."""
        index = header_int(headers, POLICY_HEADER,
                           header_int(headers, POLICY_DEFAULT_HEADER, 0))
        if self.policies.get_by_index(index) is None:
            raise InvalidInput('Invalid %s %d' % (POLICY_HEADER, index))
        return index

    # -- container level --------------------------------------------------

    def PUT(self, req, parts):
        device, partition, account, container, obj = parts
        if obj:
            return self.object_row_update(req, parts, 'PUT')
        if container is None:
            raise InvalidInput('PUT needs a container')
        timestamp = required_timestamp(req.headers)
        check_metadata(req.headers, 'container')
        check_sync_to(req.headers.get('X-Container-Sync-To'),
                      self.conf.allowed_sync_hosts)
        requested_policy = req.headers.get(POLICY_HEADER)
        policy = self.container_policy_index(req.headers)
        targets = account_targets(req.headers)
        broker = self.broker(device, partition, account, container)
        created = broker.initialize_if_missing(timestamp,
                                               storage_policy_index=policy)
        if not created:
            info = broker.get_info()
            was_deleted = broker.info_is_deleted(info)
            if (not was_deleted and requested_policy is not None and
                    info['storage_policy_index'] != policy):
                existing = str(info['storage_policy_index'])
                # Exists with another policy: the header names it.
                return conflict({POLICY_HEADER: existing})
            broker.update_put_timestamp(timestamp)
            if broker.is_deleted():  # deleted by a later request
                return conflict()
            if was_deleted:
                # Revived: bound anew, as a new container would be.
                broker.set_storage_policy_index(policy)
            created = was_deleted
        broker.update_metadata(
            metadata_from_headers(req.headers.items(), 'container',
                                  timestamp.internal), validate=True)
        failed = self.update_accounts(req, targets, account, container,
                                      broker)
        if failed is not None:
            return failed
        return response(201 if created else 202)

    def DELETE(self, req, parts):
        device, partition, account, container, obj = parts
        if obj:
            return self.object_row_update(req, parts, 'DELETE')
        if container is None:
            raise InvalidInput('DELETE needs a container')
        timestamp = required_timestamp(req.headers)
        targets = account_targets(req.headers)
        broker = self.broker(device, partition, account, container)
        if not broker.exists():
            return response(404)
        info = broker.get_info()
        if broker.info_is_deleted(info):
            return deleted_response(info)
        if info['object_count']:  # not empty
            return conflict()
        broker.delete_db(timestamp)
        if not broker.is_deleted():  # written after this delete
            return conflict()
        failed = self.update_accounts(req, targets, account, container,
                                      broker)
        if failed is not None:
            return failed
        return response(204)

    def _read(self, req, parts, with_listing):
        device, partition, account, container, obj = parts
        if container is None or obj:
            raise InvalidInput('Invalid path for %s' % req.method)
        content_type, params = listing_request(
            req, CONTAINER_LISTING_LIMIT, with_path=True)
        broker = self.broker(device, partition, account, container,
                             for_read=True)
        if not broker.exists():
            return response(404)
        info = broker.get_info()
        if broker.info_is_deleted(info):
            return deleted_response(info)
        headers = stats_headers(info)
        if not with_listing:
            return response(204, headers, content_type=content_type)
        entries = broker.list_objects(params)
        return response(
            listing_status(entries, content_type), headers,
            render_container_listing(entries, content_type, container),
            content_type)

    def POST(self, req, parts):
        device, partition, account, container, obj = parts
        if container is None or obj:
            raise InvalidInput('POST needs a container and no object')
        timestamp = required_timestamp(req.headers)
        check_metadata(req.headers, 'container')
        check_sync_to(req.headers.get('X-Container-Sync-To'),
                      self.conf.allowed_sync_hosts)
        broker = self.broker(device, partition, account, container)
        if not broker.exists():
            return response(404)
        info = broker.get_info()
        if broker.info_is_deleted(info):
            return deleted_response(info)
        broker.update_metadata(
            metadata_from_headers(req.headers.items(), 'container',
                                  timestamp.internal), validate=True)
        return response(204)

    # -- object rows (from object servers) ------------------------------

    def object_row_update(self, req, parts, op):
        """One object row update (``op`` PUT or DELETE) from an object
        server: queued durably, then 201 or 204."""
        device, partition, account, container, obj = parts
        row = object_row(op, obj, req.headers)
        broker = self._object_row_broker(device, partition, account,
                                         container, row['timestamp'])
        broker.put_object(**row)
        return response(ROW_STATUS[op])

    def UPDATE(self, req, parts):
        """A batch of object rows (common.row_update) for one container:
        one pending append and one sync for all its valid rows, and 200
        with each row's status (400 for a row the single update would
        refuse); an error status (404 no DB, 507...) is the whole batch's.
        """
        device, partition, account, container, obj = parts
        if container is None or obj:
            raise InvalidInput('%s needs a container and no object'
                               % BATCH_VERB)
        rows, statuses = [], []
        for item in read_batch(req):
            try:
                rows.append(batch_object_row(item))
            except InvalidInput as err:
                statuses.append(400)
                self.logger.warning('%s %s: %s', BATCH_VERB,
                                    log_path(req.environ), err.message)
                continue
            statuses.append(ROW_STATUS[item.op])
        if rows:
            broker = self._object_row_broker(device, partition, account,
                                             container, rows[0]['timestamp'])
            broker.put_objects(rows)
        return json_response(200, statuses)

    def _object_row_broker(self, device, partition, account, container,
                           timestamp):
        broker = self.broker(device, partition, account, container)
        if account.startswith(self.conf.auto_create_account_prefix):
            # Internal accounts (expirer queue...) get containers on demand.
            broker.initialize_if_missing(timestamp)
        return broker

    # -- account update ---------------------------------------------------

    def update_accounts(self, req, targets, account, container, broker):
        """Tell each account server; a Response if the account is gone.

        Returns None when done (or when a failure was left for the
        container-updater), a 404 response if an account said it has no
        such account.
        """
        if not targets:
            return None
        info = broker.get_info()
        headers = report_headers(info)
        if req.headers.get('X-Trans-Id'):
            headers['X-Trans-Id'] = req.headers['X-Trans-Id']
        all_ok = True
        for ip, port, device, partition in targets:
            path = '/%s/%s/%s/%s' % (device, partition, account, container)
            status = self._send_account_update(ip, port, path, headers)
            if status == 404:
                return response(404, body=b'Account not found\n')
            all_ok = all_ok and status is not None and 200 <= status < 300
        if all_ok:
            broker.set_reported(
                put_timestamp=info['put_timestamp'],
                delete_timestamp=info['delete_timestamp'],
                object_count=info['object_count'],
                bytes_used=info['bytes_used'])
        return None

    def _send_account_update(self, ip, port, path, headers):
        status = self.row_updates.send(ip, port, 'PUT', path, headers)
        if status is not None and not 200 <= status < 300 and status != 404:
            self.logger.warning(
                'account update to %s:%s%s answered %s; left for the '
                'container-updater', ip, port, path, status)
        return status


def app_factory(global_conf, **local_conf):
    """PasteDeploy entry point (``use = egg:objstore#container``)."""
    conf = dict(global_conf)
    conf.update(local_conf)
    return ContainerController(conf)
