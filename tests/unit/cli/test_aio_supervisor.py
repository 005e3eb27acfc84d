"""Supervisor behaviour with real child processes (sleepers)."""

import os
import signal
import sys
import time

import pytest

from objstore.cli import aio_supervisor
from objstore.cli.aio_supervisor import ChildSpec, Supervisor
from tests.helpers import wait_for

SLEEPER = (sys.executable, '-c',
           'import sys, time; print("up", flush=True); time.sleep(120)')


@pytest.fixture
def supervisor(tmp_path):
    lines = []
    sup = Supervisor([ChildSpec('a', SLEEPER), ChildSpec('b', SLEEPER)],
                     str(tmp_path / 'logs'), console=lines.append)
    sup.lines = lines
    yield sup
    sup.stop_all()


def test_start_logs_and_stop_leave_no_process(supervisor, tmp_path):
    supervisor.start()
    assert supervisor.wait_healthy(timeout=10) == []
    pids = supervisor.pids()
    assert set(pids) == {'a', 'b'}
    assert wait_for(lambda: 'a | up' in supervisor.lines)
    assert wait_for(lambda: (tmp_path / 'logs' / 'a.log').read_bytes()
                    == b'up\n')
    supervisor.stop_all()
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_killed_child_is_restarted_with_backoff(supervisor):
    supervisor.start()
    old_pid = supervisor.pids()['a']
    os.kill(old_pid, signal.SIGKILL)
    assert wait_for(lambda: not supervisor.children['a'].alive())
    supervisor.poll()
    child = supervisor.children['a']
    assert child.restart_at is not None and child.backoff == aio_supervisor.FIRST_BACKOFF
    assert wait_for(lambda: (supervisor.poll() or True) and child.alive()
                    and child.pid != old_pid, timeout=5)
    assert child.restarts == 1


def test_held_child_stays_down_until_released(supervisor):
    supervisor.start()
    supervisor.hold('b')
    # Far past any restart backoff (two steps: notice, then restart).
    supervisor.poll(now=time.monotonic() + aio_supervisor.MAX_BACKOFF)
    supervisor.poll(now=time.monotonic() + 3 * aio_supervisor.MAX_BACKOFF)
    assert not supervisor.children['b'].alive()
    supervisor.release('b')
    assert supervisor.children['b'].alive()


# A child that forks a grandchild ignoring SIGTERM (think of a worker stuck
# in a system call), tells its PID, and dies on SIGTERM itself.
FORKER = (sys.executable, '-c',
          'import os, signal, time\n'
          'if os.fork() == 0:\n'
          '    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n'
          '    print("grandchild", os.getpid(), flush=True)\n'
          'time.sleep(120)\n')


def running(pid):
    """Alive and not a zombie waiting for a reaper."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def test_stop_all_reaches_what_a_child_forked(tmp_path, monkeypatch):
    monkeypatch.setattr(aio_supervisor, 'STOP_GRACE', 0.5)
    lines = []
    sup = Supervisor([ChildSpec('forker', FORKER)], str(tmp_path),
                     console=lines.append)
    sup.start()
    assert wait_for(lambda: any('grandchild' in line for line in lines))
    grandchild = int(next(l for l in lines if 'grandchild' in l).split()[-1])
    try:
        sup.stop_all()
        assert wait_for(lambda: not running(grandchild), timeout=3)
    finally:
        if running(grandchild):
            os.kill(grandchild, signal.SIGKILL)


def test_stop_requested_cuts_start_up_short(tmp_path):
    sup = Supervisor([ChildSpec('a', SLEEPER), ChildSpec('b', SLEEPER)],
                     str(tmp_path))
    sup.stop_requested.set()
    sup.start()
    assert sup.pids() == {}
    started = time.monotonic()
    assert sup.wait_healthy(timeout=30) == ['a', 'b']
    assert time.monotonic() - started < 1


def test_wait_healthy_reports_each_change_of_the_count(supervisor):
    heard = []
    supervisor.start()
    assert supervisor.wait_healthy(timeout=10, progress=lambda done, total:
                                   heard.append((done, total))) == []
    assert heard[-1] == (2, 2)
    assert heard == sorted(set(heard))
