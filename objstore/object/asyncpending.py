"""Async pendings: container updates the object server could not deliver.

After an object write the server updates the container listing
synchronously; when a container server is down or slow it records the
update here instead, and the object-updater daemon retries it later (so
listings converge). Owns the file format and naming; must not send
anything over the network.

File: ``<device>/async_pending[-N]/<hash[-3:]>/<hash>-<timestamp>``
(``ondisk.async_pending_name``), UTF-8 JSON, written tmp -> fsync ->
rename -> fsync dir. A newer update of the same object gets a new file; the
updater may drop an older one once a newer one for the same hash succeeded.

Format (version 1)::

    {"v": 1,
     "op": "PUT" | "DELETE",
     "account": "AUTH_test", "container": "c", "obj": "o",
     "policy_index": 0,
     "headers": {"X-Timestamp": ..., "X-Size": ..., "X-Content-Type": ...,
                 "X-Etag": ..., "X-Trans-Id": ...,
                 "X-Backend-Storage-Policy-Index": ...},
     "container_nodes": [{"host": "ip:port", "partition": "p",
                          "device": "d"}, ...]}

``headers`` are exactly those the container server expects on
``PUT|DELETE /<device>/<partition>/<account>/<container>/<obj>``.
``container_nodes`` lists the nodes that failed, as the proxy named them;
hosts are made and read by ``objstore.common.row_update``; the updater
may instead look the container's nodes up in the ring (they may
have moved) and must send to every primary.

API for the object-updater::

    iter_async_pendings(device_path, policy_index) -> (path, update dict)
    read_async_pending(path) -> dict (ValueError if unreadable)
    remove_async_pending(path)
"""

import json
import os

from objstore.common.timestamp import Timestamp
from objstore.object import hashdir, ondisk

ASYNC_VERSION = 1
OPS = ('PUT', 'DELETE')
REQUIRED_KEYS = ('op', 'account', 'container', 'obj', 'headers')


def async_dir(device_path, policy_index):
    return os.path.join(device_path,
                        ondisk.policy_dir(ondisk.ASYNC_PENDING, policy_index))


def make_update(op, account, container, obj, headers, policy_index=0,
                container_nodes=()):
    """The version-1 document of one container update."""
    if op not in OPS:
        raise ValueError('async pending op must be PUT or DELETE, not %r'
                         % op)
    return {'v': ASYNC_VERSION, 'op': op, 'account': account,
            'container': container, 'obj': obj,
            'policy_index': int(policy_index),
            'headers': {str(k): str(v) for k, v in headers.items()},
            'container_nodes': [dict(node) for node in container_nodes]}


def pending_path(device_path, obj_hash, timestamp, policy_index=0):
    """Where the update of an object's write at ``timestamp`` is kept."""
    return os.path.join(async_dir(device_path, policy_index),
                        ondisk.suffix_of(obj_hash),
                        ondisk.async_pending_name(obj_hash, timestamp))


def write_async_pending(device_path, obj_hash, update):
    """Durably store ``update`` (from ``make_update``); returns its path."""
    # A POST's update carries the data's X-Timestamp and its own
    # X-Meta-Timestamp: named by the latter, it does not replace the
    # pending update of the PUT it modified (as in Swift).
    headers = update['headers']
    path = pending_path(device_path, obj_hash, Timestamp(
        headers.get('X-Meta-Timestamp') or headers['X-Timestamp']),
        update['policy_index'])
    data = json.dumps(update, sort_keys=True).encode('utf-8')
    hashdir.write_file_durably(
        path, data, os.path.join(device_path, ondisk.TMP_DIR))
    return path


def read_async_pending(path):
    """The update stored at ``path``; ValueError when it is not one."""
    with open(path, 'rb') as stored:
        try:
            update = json.loads(stored.read().decode('utf-8'))
        except UnicodeDecodeError as err:
            raise ValueError('%s is not UTF-8: %s' % (path, err))
    if not isinstance(update, dict) or update.get('v') != ASYNC_VERSION:
        raise ValueError('%s is not a version %d async pending'
                         % (path, ASYNC_VERSION))
    missing = [key for key in REQUIRED_KEYS if key not in update]
    if missing or update['op'] not in OPS:
        raise ValueError('%s lacks %s or has a bad op' % (path, missing))
    return update


def iter_async_pendings(device_path, policy_index=0):
    """(path, update) for every readable async pending, oldest suffix
    first; unreadable files are yielded with update None so the caller can
    quarantine or remove them."""
    root = async_dir(device_path, policy_index)
    for suffix in sorted(hashdir.listdir(root)):
        suffix_dir = os.path.join(root, suffix)
        for name in sorted(hashdir.listdir(suffix_dir)):
            try:
                ondisk.parse_async_pending_name(name)
            except ValueError:
                continue
            path = os.path.join(suffix_dir, name)
            try:
                yield path, read_async_pending(path)
            except FileNotFoundError:
                continue
            except ValueError:
                yield path, None


def remove_async_pending(path):
    """Remove a delivered update and its suffix dir once empty."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    hashdir.remove_dir_if_empty(os.path.dirname(path))
