"""Error limiting: which storage nodes the proxy skips for a while.

Bookkeeping, the clock passed in; each error and each node that becomes
limited is also counted in the proxy's metrics (common.metrics). A node (ip, port, device) that
errors or times out ``limit`` times, each error within ``interval`` seconds
of the previous one, is *limited*: skipped until ``interval`` seconds pass
without a new error. Slowness under load is not death, so callers put
limited nodes last rather than never asking them (fanout.NodeIter).
"""

import time

from objstore.common import metrics


def node_key(node):
    return (node['ip'], int(node['port']), node['device'])


def node_label(key):
    """'ip:port/device' of a node key, as metrics label nodes.

    >>> node_label(('::1', 6200, 'd1'))
    '::1:6200/d1'
    """
    return '%s:%d/%s' % key


class ErrorLimiter:
    """Counts recent errors per node; one instance per proxy process."""

    def __init__(self, interval=60.0, limit=10, clock=time.time):
        self.interval = interval
        self.limit = limit
        self.clock = clock
        self._errors = {}   # node key -> (count, time of last error)

    def record_error(self, node):
        """Count one error; True when this error makes the node limited."""
        key = node_key(node)
        now = self.clock()
        count, last = self._errors.get(key, (0, now))
        if now - last > self.interval:
            count = 0
        count += 1
        self._errors[key] = (count, now)
        metrics.count_backend_error(node_label(key))
        if count == self.limit:
            metrics.count_error_limited(node_label(key))
            return True
        return False

    def make_limited(self, node):
        """Limit a node at once (e.g. it answered 507: device unusable)."""
        self._errors[node_key(node)] = (self.limit, self.clock())
        metrics.count_error_limited(node_label(node_key(node)))

    def is_limited(self, node):
        entry = self._errors.get(node_key(node))
        if entry is None:
            return False
        count, last = entry
        if self.clock() - last > self.interval:
            del self._errors[node_key(node)]
            return False
        return count >= self.limit

