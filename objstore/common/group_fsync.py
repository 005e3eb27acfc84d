"""Group commit of pending-file appends among a DB server's green threads.

Owns ``CoalescingFsync`` (one fdatasync shared by the requests that
appended meanwhile) and ``pending_syncer``, the syncer a DB server process
gives its brokers (see common.db, "Durability of the pending file").
"""

from objstore.common import green
from objstore.common.db import fdatasync_path


class _SyncState:
    """Per-file bookkeeping of CoalescingFsync."""

    __slots__ = ('appended', 'synced', 'callers')

    def __init__(self):
        self.appended = 0   # appends noted so far
        self.synced = 0     # appends known to be on stable storage
        self.callers = 0    # callers inside __call__ for this file


class CoalescingFsync:
    """One fdatasync shared by the green threads that appended meanwhile.

    For cooperative (green) threads only. A caller notes its append, then
    yields once (``pause``) so the other ready requests reach their own
    appends; the first caller to run afterwards syncs on behalf of all
    appends noted before the sync started, and a caller returns only once
    a sync that began after its own append has finished. The sync blocks
    the hub, so nothing appends while it runs. Plain OS threads must use
    ``fdatasync_path`` instead.
    """

    def __init__(self, pause, sync=fdatasync_path):
        self._pause = pause
        self._sync = sync
        self._state = {}

    def __call__(self, path):
        state = self._state.get(path)
        if state is None:
            state = self._state[path] = _SyncState()
        state.appended += 1
        state.callers += 1
        seq = state.appended
        try:
            self._pause()
            if state.synced < seq:
                target = state.appended
                self._sync(path)
                state.synced = max(state.synced, target)
        finally:
            state.callers -= 1
            if state.callers == 0 and self._state.get(path) is state:
                # Nobody is waiting on this file: forget it, so the map
                # holds only files being written right now.
                del self._state[path]


def pending_syncer():
    """The pending-file syncer of a DB server process: the fdatasync runs
    in the hub's own thread, shared by every request that appended before
    it (``pause`` lets the ready ones append first).

    Not offloaded to a native thread: a trip to eventlet's pool and back
    costs the hub about twice the CPU of the fdatasync itself (lock
    hand-offs, the GIL won back, a pipe write to wake the hub), and an
    update costs a DB server little else. While the hub waits on the disk,
    new requests queue in their sockets and the next sync covers all of
    them, the same group commit; the server's SQLite commits
    (``synchronous=FULL``) already wait on the disk in the hub the same
    way, as Swift's DB servers do.
    """
    return CoalescingFsync(pause=green.sleep)
