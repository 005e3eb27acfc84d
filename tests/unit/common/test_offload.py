"""BatchedOffload: calls made meanwhile share one native-thread trip, and
each caller still gets its own call's result or exception."""

import subprocess
import sys
import threading

import pytest

from objstore.common import green
from objstore.common.offload import BatchedOffload


class CountingOffload:
    """Stands in for the thread pool at the edge: counts the trips and,
    like the pool, lets other green threads run while one is under way."""

    def __init__(self, fail=None):
        self.trips = []
        self.fail = fail

    def __call__(self, func, *args):
        self.trips.append(len(args[0]))
        green.sleep(0)
        if self.fail is not None:
            raise self.fail
        return func(*args)


def run_callers(offload, calls, key='sda'):
    """Run each of ``calls`` (func, args) in its own green thread; the
    outcomes in order: ('ok', result) or ('error', exception)."""
    outcomes = [None] * len(calls)

    def caller(index, func, args):
        try:
            outcomes[index] = ('ok', offload(key, func, *args))
        except Exception as err:  # noqa: B902 -- recorded for the test
            outcomes[index] = ('error', err)
    pool = green.GreenPool(len(calls))
    for index, (func, args) in enumerate(calls):
        pool.spawn_n(caller, index, func, args)
    pool.waitall()
    return outcomes


def test_concurrent_calls_share_trips_and_keep_their_results():
    trips = CountingOffload()
    offload = BatchedOffload(max_trips=1, offload=trips)
    outcomes = run_callers(offload, [(pow, (n, 2)) for n in range(20)])
    assert outcomes == [('ok', n * n) for n in range(20)]
    assert sum(trips.trips) == 20
    # The trip starts in a green thread of its own, so all 20 callers,
    # ready together, have queued by the time it leaves.
    assert trips.trips == [20]


def test_up_to_max_trips_run_at_once():
    trips = CountingOffload()
    offload = BatchedOffload(max_trips=3, offload=trips)
    outcomes = run_callers(offload, [(abs, (-n,)) for n in range(12)])
    assert outcomes == [('ok', n) for n in range(12)]
    assert len(trips.trips) <= 1 + 3 and sum(trips.trips) == 12


def test_an_exception_goes_to_its_own_caller_only():
    def explode(_):
        raise OSError(28, 'No space left on device')
    offload = BatchedOffload(max_trips=1, offload=CountingOffload())
    outcomes = run_callers(offload, [(str, (1,)), (explode, (2,)),
                                     (str, (3,))])
    assert outcomes[0] == ('ok', '1') and outcomes[2] == ('ok', '3')
    kind, err = outcomes[1]
    assert kind == 'error' and isinstance(err, OSError)
    assert err.errno == 28


def test_a_failed_trip_fails_its_callers_rather_than_returning_none():
    offload = BatchedOffload(offload=CountingOffload(
        fail=RuntimeError('pool gone')))
    outcomes = run_callers(offload, [(str, (1,)), (str, (2,))])
    assert [kind for kind, _ in outcomes] == ['error', 'error']
    assert all('pool gone' in str(err) for _, err in outcomes)
    # The trips ended: a later call gets a trip of its own.
    offload._offload = CountingOffload()
    assert offload('sda', str, 5) == '5'
    assert offload._trips == {} and offload._queues == {}


def test_another_native_thread_runs_the_call_in_place():
    trips = CountingOffload()
    offload = BatchedOffload(offload=trips)
    got = []
    thread = threading.Thread(target=lambda: got.append(
        offload('sda', threading.get_ident)))
    thread.start()
    thread.join(10)
    assert got == [thread.ident]
    assert trips.trips == []


def test_a_stuck_disk_holds_up_only_its_own_calls():
    stuck = green.Event()
    offload = BatchedOffload(max_trips=1, offload=CountingOffload())
    waiting = green.spawn(offload, 'sdb', stuck.wait)
    green.sleep(0)
    # sdb's one trip is busy; sda's calls still get trips of their own.
    assert run_callers(offload, [(abs, (-1,)), (abs, (-2,))],
                       key='sda') == [('ok', 1), ('ok', 2)]
    assert not waiting.dead
    stuck.send('unstuck')
    assert waiting.wait() == 'unstuck'


def test_max_trips_below_one_is_refused():
    with pytest.raises(ValueError):
        BatchedOffload(max_trips=0)


PROBE = '''
import threading
from objstore.common import green
green.monkey_patch()
from objstore.common.offload import BatchedOffload
trips = []
def pool(func, *args):
    trips.append(len(args[0]))
    return green.tpool_execute(func, *args)
offload = BatchedOffload(max_trips=2, offload=pool)
main = threading.get_ident()
results = {}
def caller(n):
    results[n] = offload('sda', lambda: (n, threading.get_ident() != main))
p = green.GreenPool(40)
for n in range(40):
    p.spawn_n(caller, n)
p.waitall()
assert results == {n: (n, True) for n in range(40)}, results
assert sum(trips) == 40 and len(trips) < 40, trips
print('ok')
'''


def test_real_thread_pool_in_a_patched_process():
    """With eventlet's real pool: every call ran in a native thread, and
    40 concurrent calls took fewer than 40 trips."""
    result = subprocess.run([sys.executable, '-c', PROBE],
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.strip() == b'ok'
