"""The local expirer queue: objects with an X-Delete-At, per device.

When a PUT or POST carries ``X-Delete-At``, the object server records a
small entry here; the object-expirer daemon walks the queue and deletes
objects whose time has come. Owns the queue's layout and entry format;
must not delete objects (the expirer does, through the object server).

Layout: ``<device>/expiring[-N]/<delete_at>/<hash>``, ``delete_at`` the
integer epoch seconds (so a listing of the queue root is a time index) and
``hash`` the object's path hash (one entry per object and delete time).
Each entry is UTF-8 JSON, written tmp -> fsync -> rename -> fsync dir::

    {"v": 1, "account": "AUTH_test", "container": "c", "obj": "o",
     "partition": "17", "policy_index": 0, "delete_at": 1700000000,
     "timestamp": "1699990000.00000"}

``timestamp`` is that of the write that set X-Delete-At.

Invariant (why stale entries are harmless): when an object's X-Delete-At
is changed or removed, or the object is overwritten or deleted, the old
entry stays. The expirer must therefore re-read the object's current
metadata and delete only when its X-Delete-At still equals the entry's
``delete_at`` (sending ``X-If-Delete-At``, which the object server checks,
and ``X-Timestamp`` = delete_at). Either way the entry is then removed.

API for the object-expirer::

    iter_expired(device_path, policy_index, now) -> (path, entry dict)
    remove_entry(path)
"""

import json
import os

from objstore.object import hashdir, ondisk

QUEUE_VERSION = 1
ENTRY_KEYS = ('account', 'container', 'obj', 'partition', 'delete_at',
              'timestamp')


def queue_dir(device_path, policy_index):
    return os.path.join(device_path,
                        ondisk.policy_dir(ondisk.EXPIRING, policy_index))


def entry_path(device_path, policy_index, delete_at, obj_hash):
    """``<device>/expiring[-N]/<delete_at>/<hash>``.

    >>> entry_path('/srv/node/d1', 1, 1700000000, 'ab' * 16)
    '/srv/node/d1/expiring-1/1700000000/abababababababababababababababab'
    """
    return os.path.join(queue_dir(device_path, policy_index),
                        str(int(delete_at)), obj_hash)


def make_entry(account, container, obj, partition, delete_at, timestamp,
               policy_index=0):
    return {'v': QUEUE_VERSION, 'account': account, 'container': container,
            'obj': obj, 'partition': str(partition),
            'policy_index': int(policy_index), 'delete_at': int(delete_at),
            'timestamp': str(timestamp)}


def add_entry(device_path, obj_hash, entry):
    """Durably queue ``entry`` (from ``make_entry``); returns its path."""
    path = entry_path(device_path, entry['policy_index'], entry['delete_at'],
                      obj_hash)
    hashdir.write_file_durably(
        path, json.dumps(entry, sort_keys=True).encode('utf-8'),
        os.path.join(device_path, ondisk.TMP_DIR))
    return path


def parse_entry(data):
    """The entry dict of stored bytes; ValueError when it is not one."""
    try:
        entry = json.loads(data.decode('utf-8'))
    except UnicodeDecodeError as err:
        raise ValueError('expirer entry is not UTF-8: %s' % err)
    if not isinstance(entry, dict) or entry.get('v') != QUEUE_VERSION:
        raise ValueError('not a version %d expirer entry' % QUEUE_VERSION)
    missing = [key for key in ENTRY_KEYS if key not in entry]
    if missing:
        raise ValueError('expirer entry lacks %s' % ', '.join(missing))
    return entry


def due_times(names, now):
    """The queue dir names that are delete times at or before ``now``,
    oldest first.

    Names of other things (a stray '\xb2', which ``isdigit`` takes but
    ``int`` does not) are passed over.

    >>> due_times(['300', '100', 'tmp', '200', '\xb2'], 250)
    ['100', '200']
    """
    return sorted((name for name in names
                   if name.isascii() and name.isdigit() and int(name) <= now),
                  key=int)


def iter_expired(device_path, policy_index, now):
    """(path, entry) for every entry due at ``now``, oldest first.

    Unreadable entries are yielded with entry None so the caller can
    remove them.
    """
    root = queue_dir(device_path, policy_index)
    for delete_at in due_times(hashdir.listdir(root), now):
        time_dir = os.path.join(root, delete_at)
        for name in sorted(hashdir.listdir(time_dir)):
            if not ondisk.is_hash_name(name):
                continue
            path = os.path.join(time_dir, name)
            try:
                with open(path, 'rb') as stored:
                    yield path, parse_entry(stored.read())
            except FileNotFoundError:
                continue
            except ValueError:
                yield path, None


def remove_entry(path):
    """Remove a handled entry, and its time dir once empty."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    hashdir.remove_dir_if_empty(os.path.dirname(path))
