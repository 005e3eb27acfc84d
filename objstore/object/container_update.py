"""Container updates: an object server telling the container servers about
an object write (the listing row), and keeping what it could not deliver.

Owns the values a PUT's update carries (``container_update_values``: the
stored ETag, size and type, or the overrides a proxy or middleware set),
the container nodes a request names (``container_nodes``) and
``ContainerUpdates``, which sends one write's update to every node within
``container_update_timeout`` and writes an async pending (for the
object-updater) for every node that did not take it. An object write stays
acknowledged whatever the containers answer.

Must not: touch object files or build HTTP responses (the object server
does); async pendings are written through the DiskFile manager.
"""

from objstore.common import green
from objstore.common.http import POLICY_HEADER, is_success
from objstore.common.row_update import (
    BatchRow, RowBatcher, RowUpdateClient, parse_host, update_nodes)
from objstore.common.swift_bytes import split_swift_bytes, with_swift_bytes
from objstore.object import asyncpending
from objstore.object.metadata import SYSMETA_PREFIX

# Listing values a container update may override: the proxy per request
# (backend form) or a middleware, durably, with the object (sysmeta form).
BACKEND_UPDATE_OVERRIDE = 'X-Backend-Container-Update-Override-'
SYSMETA_UPDATE_OVERRIDE = SYSMETA_PREFIX + 'Container-Update-Override-'
OVERRIDABLE_UPDATE_VALUES = ('Etag', 'Size', 'Content-Type')


class ContainerUpdates:
    """Sends the container updates of object writes, keeps the failures.

    ``manager_for(policy_index)`` gives the DiskFile manager that writes
    async pendings; ``request`` is direct_request-like (kept-alive
    connections: every PUT and DELETE updates the same few servers).
    """

    def __init__(self, logger, conn_timeout, node_timeout, update_timeout,
                 manager_for, request):
        self.logger = logger
        self.update_timeout = update_timeout
        self.manager_for = manager_for
        # Updates in flight to one container at once (concurrent writes
        # into it) go as one batch: one request, one pending append and
        # one fsync on the container server instead of one each.
        self.row_updates = RowBatcher(RowUpdateClient(
            logger, conn_timeout, node_timeout, request=request))

    def update(self, target, obj_hash, op, headers, request_headers):
        """Tell the containers ``request_headers`` name about this write.

        Waits at most ``update_timeout``; updates still running then
        finish in the background, and whatever fails is written to
        async_pending for the object-updater, so the write stays
        acknowledged either way.
        """
        nodes = container_nodes(request_headers)
        if nodes is None:
            self.logger.error('Container update headers disagree: host %r '
                              'partition %r device %r; not updating',
                              request_headers.get('X-Container-Host'),
                              request_headers.get('X-Container-Partition'),
                              request_headers.get('X-Container-Device'))
            return
        if not nodes:
            return
        updates = green.spawn(self.send, target, obj_hash, op, nodes,
                              headers)
        try:
            with green.Timeout(self.update_timeout):
                updates.wait()
        except green.Timeout:
            self.logger.info('Container updates for %s/%s/%s continue in '
                             'the background', target.account,
                             target.container, target.obj)

    def keep(self, target, obj_hash, op, headers, request_headers):
        """Write the update to async_pending without sending it (a
        conditional PUT's, until the proxy announces or withdraws it)."""
        nodes = container_nodes(request_headers)
        if not nodes:
            return
        self.manager_for(target.policy_index).write_async_pending(
            target.device, obj_hash, asyncpending.make_update(
                op, target.account, target.container, target.obj, headers,
                target.policy_index, nodes))

    def send(self, target, obj_hash, op, nodes, headers):
        """Send the update to ``nodes``; the nodes that failed, which are
        written to one async pending."""
        row = BatchRow(op, target.obj, headers)
        db_tail = '/%s/%s' % (target.account, target.container)
        if len(nodes) == 1:
            # The usual case (the proxy names one container node per
            # object node): no green thread per node to wait for.
            sent = [self._send_one(nodes[0], db_tail, row)]
        else:
            pile = green.GreenPile(len(nodes))
            for node in nodes:
                pile.spawn(self._send_one, node, db_tail, row)
            sent = list(pile)
        failed = [node for node, ok in zip(nodes, sent) if not ok]
        if not failed:
            return failed
        path_tail = '%s/%s' % (db_tail, target.obj)
        update = asyncpending.make_update(
            op, target.account, target.container, target.obj, headers,
            target.policy_index, failed)
        try:
            self.manager_for(target.policy_index).write_async_pending(
                target.device, obj_hash, update)
        except Exception:  # noqa: B902 -- a background green thread
            self.logger.exception('ERROR writing async pending for %s %s',
                                  op, path_tail)
        return failed

    def _send_one(self, node, db_tail, row):
        db_path = '/%s/%s%s' % (node['device'], node['partition'], db_tail)
        try:
            ip, port = parse_host(node['host'])
        except ValueError as err:
            self.logger.warning('Container update %s %s/%s: %s', row.op,
                                db_path, row.obj, err)
            return False
        status = self.row_updates.send(ip, port, db_path, row)
        if status is not None and not is_success(status):
            self.logger.warning('Container update %s %s/%s to %s: status %s',
                                row.op, db_path, row.obj, node['host'],
                                status)
        return status is not None and is_success(status)


def post_update_headers(data_meta, post_meta, headers, policy_index):
    """The container update of a POST (``post_meta``, as stored) to an
    object whose data file holds ``data_meta``: as in Swift, the row's
    data fields at the data's timestamp, and the content type the object
    now has at the POST's (the newest .meta decides it: the data's when
    it holds none), keeping the data's ``swift_bytes``.

    >>> sorted(post_update_headers(
    ...     {'ETag': 'e', 'Content-Length': '9', 'X-Timestamp': '1',
    ...      'Content-Type': 'a/b;swift_bytes=99'},
    ...     {'X-Timestamp': '2', 'Content-Type': 'c/d'}, {}, 0).items())
    ... # doctest: +NORMALIZE_WHITESPACE
    [('X-Backend-Storage-Policy-Index', '0'),
     ('X-Content-Type', 'c/d;swift_bytes=99'),
     ('X-Content-Type-Timestamp', '2'), ('X-Etag', 'e'),
     ('X-Meta-Timestamp', '2'), ('X-Size', '9'), ('X-Timestamp', '1'),
     ('X-Trans-Id', '-')]
    """
    values = container_update_values(data_meta, {})
    if 'Content-Type' in post_meta:
        _type, swift_bytes = split_swift_bytes(data_meta['Content-Type'])
        values['X-Content-Type'] = with_swift_bytes(
            post_meta['Content-Type'], swift_bytes)
        values.update(update_overrides(data_meta, SYSMETA_UPDATE_OVERRIDE))
    values.update({
        'X-Timestamp': data_meta['X-Timestamp'],
        'X-Content-Type-Timestamp': post_meta['X-Timestamp'],
        'X-Meta-Timestamp': post_meta['X-Timestamp'],
        'X-Trans-Id': headers.get('X-Trans-Id', '-'),
        POLICY_HEADER: str(policy_index)})
    return values


def container_update_values(metadata, headers):
    """X-Etag, X-Size and X-Content-Type of an object's container update.

    ``metadata`` is what the object stores, ``headers`` the request's. What
    a node stores is not always what the listing must show (a manifest's
    etag is not its content's; an erasure coded fragment is smaller than
    its object), so each value may be overridden: by the request's
    X-Backend-Container-Update-Override-<Name> and, winning over it as in
    Swift, by the X-Object-Sysmeta-Container-Update-Override-<Name> stored
    with the object, which later updates of the object therefore keep.
    Values are sent as they are: parameters such as ``; slo_etag=`` belong
    to the listing.

    >>> container_update_values(
    ...     {'ETag': 'e', 'Content-Length': '5', 'Content-Type': 'a/b',
    ...      'X-Object-Sysmeta-Container-Update-Override-Etag': 's'},
    ...     {'X-Backend-Container-Update-Override-Etag': 'b',
    ...      'X-Backend-Container-Update-Override-Size': '9'})
    {'X-Etag': 's', 'X-Size': '9', 'X-Content-Type': 'a/b'}
    """
    values = {'X-Etag': metadata['ETag'],
              'X-Size': metadata['Content-Length'],
              'X-Content-Type': metadata['Content-Type']}
    values.update(update_overrides(headers, BACKEND_UPDATE_OVERRIDE))
    values.update(update_overrides(metadata, SYSMETA_UPDATE_OVERRIDE))
    return values


def update_overrides(headers, prefix):
    """{'X-<Name>': value} of the ``prefix<Name>`` items in ``headers``
    (any case) for each overridable listing value."""
    lowered = {key.lower(): value for key, value in headers.items()}
    overrides = {}
    for name in OVERRIDABLE_UPDATE_VALUES:
        value = lowered.get((prefix + name).lower())
        if value is not None:
            overrides['X-' + name] = value
    return overrides


def container_nodes(headers):
    """[{host, partition, device}] named by X-Container-*; None if they
    disagree in number (see common.row_update.update_nodes)."""
    return update_nodes(headers, 'Container')
