"""Error limiting: which storage nodes the proxy skips for a while.

Pure bookkeeping, the clock passed in. A node (ip, port, device) that
errors or times out ``limit`` times, each error within ``interval`` seconds
of the previous one, is *limited*: skipped until ``interval`` seconds pass
without a new error. Slowness under load is not death, so callers put
limited nodes last rather than never asking them (fanout.NodeIter).
"""

import time


def node_key(node):
    return (node['ip'], int(node['port']), node['device'])


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
        return count == self.limit

    def make_limited(self, node):
        """Limit a node at once (e.g. it answered 507: device unusable)."""
        self._errors[node_key(node)] = (self.limit, self.clock())

    def is_limited(self, node):
        entry = self._errors.get(node_key(node))
        if entry is None:
            return False
        count, last = entry
        if self.clock() - last > self.interval:
            del self._errors[node_key(node)]
            return False
        return count >= self.limit

