"""Blocking calls of many green threads, run in few native-thread trips.

Owns ``BatchedOffload``: the object server's fsyncs go to native threads
so that a wait on the disk does not stall the hub, but each trip to a
pool thread and back costs more CPU than the fsync's own syscall (a lock
hand-off to wake the thread, the GIL won back from the busy hub, a pipe
write to wake the hub again). Calls that arrive while a trip is under way
wait for the next one and share it, as a group commit does. It must not
change what a caller sees: each caller gets its own call's result or
exception, only once its call has run.
"""

from objstore.common import green


class _Job:
    """One caller's call and, once run, its outcome."""

    __slots__ = ('func', 'args', 'ran', 'result', 'error', 'done')

    def __init__(self, func, args, done):
        self.func = func
        self.args = args
        self.ran = False
        self.result = None
        self.error = None
        self.done = done

    def run(self):
        """In the native thread: never raises, the caller re-raises."""
        try:
            self.result = self.func(*self.args)
        except BaseException as err:  # noqa: B902 -- handed to the caller
            self.error = err
        self.ran = True


def _run_jobs(jobs):
    for job in jobs:
        job.run()


class BatchedOffload:
    """Run ``func(*args)`` in a native thread, sharing trips with others.

    Calls are queued by ``key`` (a device): at most ``max_trips`` trips
    per key are under way at once, and a call made while all of them are
    busy joins the key's queue, which the next free trip takes as a whole.
    One trip runs its calls one after the other, so a hung disk holds up
    only the calls for that disk. For green threads of one hub:
    ``offload`` runs a callable in a native thread and waits cooperatively
    (green.tpool_execute); ``spawn`` starts a green thread; ``make_event``
    makes a one-shot green event.
    """

    def __init__(self, max_trips=4, offload=green.tpool_execute,
                 spawn=green.spawn_n, make_event=green.Event):
        if max_trips < 1:
            raise ValueError('max_trips must be at least 1')
        self.max_trips = max_trips
        self._offload = offload
        self._spawn = spawn
        self._make_event = make_event
        self._queues = {}   # key -> [_Job] waiting for a trip
        self._trips = {}    # key -> trips under way

    def __call__(self, key, func, *args):
        if not green.in_main_thread():
            # Another native thread's hub: the pool cannot wake it, and
            # the queues here are for one hub's green threads only.
            return func(*args)
        job = _Job(func, args, self._make_event())
        self._queues.setdefault(key, []).append(job)
        if self._trips.get(key, 0) < self.max_trips:
            self._trips[key] = self._trips.get(key, 0) + 1
            self._spawn(self._drain, key)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def _drain(self, key):
        """One trip runner: takes the key's whole queue each time round."""
        try:
            while self._queues.get(key):
                jobs = self._queues.pop(key)
                try:
                    self._offload(_run_jobs, jobs)
                except BaseException as err:  # noqa: B902 -- see below
                    # The trip itself failed: each caller whose call did
                    # not run gets that error rather than a None result.
                    for job in jobs:
                        if not job.ran:
                            job.error = err
                finally:
                    for job in jobs:
                        job.done.send()
        finally:
            self._trips[key] -= 1
            if not self._trips[key]:
                del self._trips[key]
