"""The account server: WSGI app over AccountBroker DBs on local devices.

Owns the HTTP side of accounts: the verbs on
``/<device>/<partition>/<account>`` (PUT creates, HEAD/GET stats and the
container listing, POST metadata, DELETE marks the account deleted for the
reaper) and container reports from container servers and the
container-updater, PUT on ``/<device>/<partition>/<account>/<container>``
with X-Put-Timestamp, X-Delete-Timestamp, X-Object-Count, X-Bytes-Used.
Request parsing comes from objstore.common.db_request; error mapping,
access logging and REPLICATE from objstore.common.db_server.

Must not: know the SQLite schema (backend.py), render listings
(objstore.common.listing), or empty a deleted account (the reaper does).
"""

from dataclasses import dataclass

from objstore.account.backend import AccountBroker
from objstore.common.config import ConfBase
from objstore.common.constraints import ACCOUNT_LISTING_LIMIT, check_metadata
from objstore.common.db_request import (
    conflict, deleted_headers, header_int, listing_request,
    metadata_from_headers, metadata_headers, response)
from objstore.common.db_server import DatabaseServer
from objstore.common.group_fsync import pending_syncer
from objstore.common.exceptions import InvalidInput
from objstore.common.hashing import load_hash_conf
from objstore.common.http import POLICY_HEADER
from objstore.common.listing import listing_status, render_account_listing
from objstore.common.log import get_logger
from objstore.common.server_base import required_timestamp
from objstore.common.storage_policy import load_policies
from objstore.common.timestamp import Timestamp

@dataclass(frozen=True)
class AccountServerConf(ConfBase):
    """The [app:account-server] options (defaults live only here)."""

    devices: str = '/srv/node'
    mount_check: bool = True
    conf_dir: str = '/etc/objstore'
    log_name: str = 'account-server'
    log_level: str = 'INFO'
    log_file: str = ''
    pending_cap: int = 131072
    pending_timeout: float = 10.0
    auto_create_account_prefix: str = '.'


def policy_stats_headers(policy_stats, policy_names):
    """Swift's ``X-Account-Storage-Policy-<Name>-*`` headers; policies no
    longer configured are left out.

    >>> policy_stats_headers({1: {'container_count': 2, 'object_count': 3,
    ...                           'bytes_used': 4}, 7: {}}, {1: 'silver'})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'X-Account-Storage-Policy-Silver-Container-Count': '2',
     'X-Account-Storage-Policy-Silver-Object-Count': '3',
     'X-Account-Storage-Policy-Silver-Bytes-Used': '4'}
    """
    headers = {}
    for index, stats in sorted(policy_stats.items()):
        name = policy_names.get(index)
        if name is None:
            continue
        for key, value in stats.items():
            header = 'X-Account-Storage-Policy-%s-%s' % (
                name, key.replace('_', '-'))
            headers[header.title()] = str(value)
    return headers


def stats_headers(info):
    headers = {
        'X-Account-Container-Count': str(info['container_count']),
        'X-Account-Object-Count': str(info['object_count']),
        'X-Account-Bytes-Used': str(info['bytes_used']),
        'X-Timestamp': info['created_at'],
        'X-Put-Timestamp': info['put_timestamp'],
        'X-Backend-Timestamp': info['put_timestamp'],
        'X-Backend-Put-Timestamp': info['put_timestamp'],
        'X-Backend-Delete-Timestamp': info['delete_timestamp'],
        'X-Backend-Status-Changed-At': info['status_changed_at'],
    }
    headers.update(metadata_headers(info['metadata']))
    return headers


def account_deleted_response(info):
    headers = deleted_headers(info)
    if info['status'] == 'DELETED':
        headers['X-Account-Status'] = 'Deleted'
    return response(404, headers)


class AccountController(DatabaseServer):
    """WSGI app of the account server."""

    db_type = 'account'
    broker_class = AccountBroker
    max_path_segments = 4

    def __init__(self, conf, logger=None, hash_conf=None, policies=None):
        settings = AccountServerConf.from_conf(conf)
        super().__init__(
            settings, logger or get_logger(conf, settings.log_name),
            hash_conf or load_hash_conf(settings.conf_dir),
            pending_sync=pending_syncer())
        policies = policies or load_policies(settings.conf_dir)
        # for account listings' ``storage_policy``
        self.policy_names = {p.index: p.name for p in policies}

    def PUT(self, req, parts):
        device, partition, account, container = parts
        if container:
            return self.put_container_row(req, parts)
        timestamp = required_timestamp(req.headers)
        check_metadata(req.headers, 'account')
        broker = self.broker(device, partition, account)
        created = broker.initialize_if_missing(timestamp)
        if not created:
            info = broker.get_info()
            if info['status'] == 'DELETED':
                # Deleted accounts stay gone until the reaper empties them.
                headers = deleted_headers(info)
                return response(403, headers, b'Recently deleted\n')
            was_deleted = broker.info_is_deleted(info)
            broker.update_put_timestamp(timestamp)
            if broker.is_deleted():  # deleted by a later request
                return conflict()
            created = was_deleted
        broker.update_metadata(metadata_from_headers(
            req.headers.items(), 'account', timestamp.internal), validate=True)
        return response(201 if created else 202)

    def put_container_row(self, req, parts):
        device, partition, account, container = parts
        put_ts = required_timestamp(req.headers, 'X-Put-Timestamp')
        delete_ts = Timestamp(0)
        if req.headers.get('X-Delete-Timestamp'):
            delete_ts = required_timestamp(req.headers, 'X-Delete-Timestamp')
        object_count = header_int(req.headers, 'X-Object-Count', 0)
        bytes_used = header_int(req.headers, 'X-Bytes-Used', 0)
        policy = header_int(req.headers, POLICY_HEADER, 0)
        broker = self.broker(device, partition, account)
        if account.startswith(self.conf.auto_create_account_prefix):
            broker.initialize_if_missing(Timestamp.now())
        if not broker.exists():
            return response(404)
        info = broker.stat_info()
        if broker.info_is_deleted(info):
            return account_deleted_response(info)
        broker.put_container(container, put_ts, delete_ts, object_count,
                             bytes_used, storage_policy_index=policy)
        return response(204 if delete_ts > put_ts else 201)

    def DELETE(self, req, parts):
        device, partition, account, container = parts
        if container:
            raise InvalidInput('Container rows are deleted by a PUT with '
                               'X-Delete-Timestamp')
        timestamp = required_timestamp(req.headers)
        broker = self.broker(device, partition, account)
        if not broker.exists():
            return response(404)
        info = broker.get_info()
        if broker.info_is_deleted(info):
            return account_deleted_response(info)
        broker.delete_db(timestamp)
        return response(204)

    def _read(self, req, parts, with_listing):
        device, partition, account, container = parts
        if container:
            raise InvalidInput('Invalid path for %s' % req.method)
        content_type, params = listing_request(req, ACCOUNT_LISTING_LIMIT)
        broker = self.broker(device, partition, account, for_read=True)
        if not broker.exists():
            return response(404)
        info = broker.get_info()
        if broker.info_is_deleted(info):
            return account_deleted_response(info)
        headers = stats_headers(info)
        headers.update(policy_stats_headers(broker.policy_stats(),
                                            self.policy_names))
        if not with_listing:
            return response(204, headers, content_type=content_type)
        entries = broker.list_containers(params)
        return response(
            listing_status(entries, content_type), headers,
            render_account_listing(entries, content_type, account,
                                   self.policy_names),
            content_type)

    def POST(self, req, parts):
        device, partition, account, container = parts
        if container:
            raise InvalidInput('POST needs an account path')
        timestamp = required_timestamp(req.headers)
        check_metadata(req.headers, 'account')
        broker = self.broker(device, partition, account)
        if not broker.exists():
            return response(404)
        info = broker.get_info()
        if broker.info_is_deleted(info):
            return account_deleted_response(info)
        broker.update_metadata(metadata_from_headers(
            req.headers.items(), 'account', timestamp.internal), validate=True)
        return response(204)


def app_factory(global_conf, **local_conf):
    """PasteDeploy entry point (``use = egg:objstore#account``)."""
    conf = dict(global_conf)
    conf.update(local_conf)
    return AccountController(conf)
