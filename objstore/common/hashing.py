"""Path hashing: where an account, container or object lives.

``hash_path`` is MD5 of ``prefix + "/" + "/".join(parts) + suffix``. The
prefix and suffix are a per-cluster secret from ``objstore.conf``
(``[objstore-hash]``); they travel in a ``HashConf`` value, never in module
globals. Changing them after data exists makes every stored path unreachable.
"""

import hashlib
import os
from configparser import ConfigParser
from dataclasses import dataclass

from objstore.common.exceptions import ConfigError

DEFAULT_CONF_DIR = '/etc/objstore'
OBJSTORE_CONF = 'objstore.conf'


@dataclass(frozen=True)
class HashConf:
    """The cluster's secret path hash prefix and suffix (bytes)."""

    prefix: bytes = b''
    suffix: bytes = b''

    @classmethod
    def from_strings(cls, prefix, suffix):
        if not prefix and not suffix:
            raise ConfigError(
                'path_hash_prefix and path_hash_suffix are both empty; '
                'set at least one in [objstore-hash]')
        return cls(prefix.encode('utf-8'), suffix.encode('utf-8'))


def load_hash_conf(conf_dir_or_file=None):
    """Read ``[objstore-hash]`` from objstore.conf.

    Accepts the file itself or the directory holding it (default
    ``$OBJSTORE_CONF_DIR`` or /etc/objstore).
    """
    path = conf_dir_or_file or os.environ.get('OBJSTORE_CONF_DIR',
                                              DEFAULT_CONF_DIR)
    if os.path.isdir(path):
        path = os.path.join(path, OBJSTORE_CONF)
    parser = ConfigParser(interpolation=None)
    if not parser.read(path):
        raise ConfigError('cannot read %s' % path)
    if not parser.has_section('objstore-hash'):
        raise ConfigError('%s has no [objstore-hash] section' % path)
    section = parser['objstore-hash']
    return HashConf.from_strings(section.get('path_hash_prefix', ''),
                                 section.get('path_hash_suffix', ''))


def hash_path(account, container=None, obj=None, *, hash_conf=HashConf(),
              raw_digest=False):
    """MD5 (hex, or raw bytes) of the cluster-salted path.

    Hot: every ring lookup calls it, so it builds the path in one join.

    >>> hash_path('a', 'c', 'o', hash_conf=HashConf(b'', b'x'))[:8]
    'b0e7a668'
    """
    if obj and not container:
        raise ValueError('an object path needs a container')
    parts = [hash_conf.prefix]
    for part in (account, container, obj) if container else (account,):
        if not part:
            break
        parts.append(part if isinstance(part, bytes)
                     else part.encode('utf-8'))
    digest = hashlib.md5(b'/'.join(parts) + hash_conf.suffix,
                         usedforsecurity=False)
    return digest.digest() if raw_digest else digest.hexdigest()
