"""Where account and container DBs live on a device.

Owns ``db_path`` (``<device>/<accounts|containers>/<part>/<sfx>/<hash>/
<hash>.db``), the device check every DB server and daemon makes, and the
walk of that layout the DB daemons share (``iter_db_files``).
"""

import os

from objstore.common.exceptions import DiskFileDeviceUnavailable

DATADIRS = {'account': 'accounts', 'container': 'containers'}


def device_path(devices, device, mount_check):
    """``<devices>/<device>`` if usable, else DiskFileDeviceUnavailable.

    With ``mount_check`` the device must be a mount point; without, an
    existing directory (the aio layout, devices are plain directories).
    """
    if not device or device in ('.', '..') or '/' in device:
        raise DiskFileDeviceUnavailable('bad device name %r' % device)
    path = os.path.join(devices, device)
    usable = os.path.ismount(path) if mount_check else os.path.isdir(path)
    if not usable:
        raise DiskFileDeviceUnavailable('%s is not mounted' % path)
    return path


def db_path(device_dir, db_type, partition, name_hash):
    """``<device>/<accounts|containers>/<part>/<sfx>/<hash>/<hash>.db``,
    ``sfx`` being the hash's last three characters."""
    return os.path.join(device_dir, DATADIRS[db_type], str(partition),
                        name_hash[-3:], name_hash, name_hash + '.db')


def iter_db_files(device_dir, datadir, partitions=None):
    """(partition, hash, db file) of every DB under one device's datadir.

    The walk of ``db_path``'s layout that every DB daemon (replicator,
    auditor, container-updater, account-reaper) makes. ``partitions`` (a
    collection of ints) limits it. Entries that do not look like ours
    (stray files, temp names) are skipped.
    """
    root = os.path.join(device_dir, datadir)
    try:
        part_names = sorted(os.listdir(root))
    except FileNotFoundError:
        return
    wanted = set(partitions) if partitions else None
    for part_name in part_names:
        if not part_name.isdigit():
            continue
        partition = int(part_name)
        if wanted is not None and partition not in wanted:
            continue
        part_dir = os.path.join(root, part_name)
        for suffix in listdir_sorted(part_dir):
            suffix_dir = os.path.join(part_dir, suffix)
            for db_hash in listdir_sorted(suffix_dir):
                db_file = os.path.join(suffix_dir, db_hash, db_hash + '.db')
                if os.path.isfile(db_file):
                    yield partition, db_hash, db_file


def listdir_sorted(path):
    """Sorted names in ``path``; [] if it is missing or not a directory."""
    try:
        return sorted(os.listdir(path))
    except (NotADirectoryError, FileNotFoundError):
        return []
