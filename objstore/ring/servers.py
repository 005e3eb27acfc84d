"""Which storage servers the ring files of a conf dir name.

Owns reading every ``*.ring.gz`` of a directory for its devices' ``ip:port``
per ring kind; tools that talk to every server (``objstore-recon``, the
proxy's console) start here. Lookups by name are not needed, so the hash
secret is not read.
"""

import glob
import os

from objstore.common.hashing import HashConf
from objstore.ring.ring import Ring

RING_SUFFIX = '.ring.gz'


def ring_kind(path):
    """'object' for object.ring.gz and object-N.ring.gz, else the stem.

    >>> ring_kind('/etc/objstore/object-2.ring.gz')
    'object'
    """
    stem = os.path.basename(path)[:-len(RING_SUFFIX)]
    return stem.split('-')[0]


def ring_paths(conf_dir):
    """The ring files of ``conf_dir``, sorted."""
    return sorted(glob.glob(os.path.join(conf_dir, '*' + RING_SUFFIX)))


def servers_by_kind(conf_dir):
    """{kind: sorted [(ip, port)]} of the ring files in ``conf_dir``."""
    found = {}
    for path in ring_paths(conf_dir):
        ring = Ring(path, hash_conf=HashConf())
        servers = found.setdefault(ring_kind(path), set())
        for dev in ring.devs:
            if dev is not None:
                servers.add((dev['ip'], int(dev['port'])))
    return {kind: sorted(servers) for kind, servers in found.items()}
