"""The server side of DB replication: the REPLICATE verb.

Wire format (the DB replicator, replicator.db_sync, is the client).
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

import json
import os
from contextlib import contextmanager

from objstore.common.constraints import check_name
from objstore.common.db_request import json_response, response
from objstore.common.exceptions import InvalidInput, InvalidTimestamp
from objstore.common.http_basics import split_path
from objstore.common.server_base import printable


def handle_replicate(server, req, path):
    """Answer ``REPLICATE <path>`` for ``server`` (a DatabaseServer)."""
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
    broker = server.broker_for_hash(device, partition, name_hash)
    try:
        return REPLICATE_OPS[args['op']](server, broker, device, args)
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, (InvalidTimestamp, InvalidInput)):
            raise
        raise InvalidInput('Bad REPLICATE arguments: %s' % err)
    finally:
        broker.close()


def tmp_file(server, device, name):
    """The path of a DB copy a replicator rsynced to ``<device>/tmp/``."""
    if not isinstance(name, str) or not name or '/' in name or \
            name in ('.', '..'):
        raise InvalidInput('Bad tmp_name')
    return os.path.join(server.device_dir(device), 'tmp', name)


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
    tmp_path = tmp_file(server, device, args['tmp_name'])
    if broker.exists():
        return response(409, body=b'DB already exists\n')
    if not os.path.exists(tmp_path):
        return response(404, body=b'No such tmp file\n')
    with pushed_copy(server, tmp_path) as incoming:
        broker.adopt_copy(incoming, str(args['source_id']))
    return response(204)


def _op_rsync_then_merge(server, broker, device, args):
    tmp_path = tmp_file(server, device, args['tmp_name'])
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
