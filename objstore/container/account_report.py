"""The headers a container sends its account to update the container's row.

Sent by the container server after a container PUT/DELETE and by the
container-updater; apart from ``server.py`` so that the updater daemon does
not load the server (and webob with it).
"""

from objstore.common.http_basics import POLICY_HEADER
from objstore.common.timestamp import Timestamp


def report_headers(info):
    """What the account server needs to update the container's row, from
    a container DB's ``get_info()``."""
    return {
        'X-Put-Timestamp': info['put_timestamp'],
        'X-Delete-Timestamp': info['delete_timestamp'],
        'X-Object-Count': str(info['object_count']),
        'X-Bytes-Used': str(info['bytes_used']),
        'X-Timestamp': Timestamp.now().internal,
        POLICY_HEADER: str(info['storage_policy_index']),
    }
