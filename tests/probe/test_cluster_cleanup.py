"""The test clusters themselves leave nothing behind: a test process that
exits without closing its RunningCluster, or is killed outright, takes
every server process with it (and, when it exits, the data dir too)."""

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from tests.helpers import group_members, kill_groups, wait_for

# Starts a cluster, reports it, and exits (never closing it) on a line
# from stdin.
STARTS_A_CLUSTER = '''
import json, sys
from tests.helpers import RunningCluster
cluster = RunningCluster(devices=2, replicas=2)
print(json.dumps({'data_dir': cluster.data_dir,
                  'pids': list(cluster.aio.supervisor.pids().values())}),
      flush=True)
sys.stdin.readline()
'''


def start_cluster_process():
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    proc = subprocess.Popen([sys.executable, '-c', STARTS_A_CLUSTER],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            cwd=root)
    report = json.loads(proc.stdout.readline())
    return proc, report['data_dir'], report['pids']


@pytest.mark.parametrize('ending', ['exit', 'sigkill'])
def test_cluster_dies_with_its_test_process(ending):
    proc, data_dir, groups = start_cluster_process()
    try:
        assert all(group_members(group) for group in groups)
        if ending == 'sigkill':
            proc.send_signal(signal.SIGKILL)
        else:
            proc.stdin.write(b'exit\n')
            proc.stdin.flush()
        proc.wait(30)
        assert wait_for(lambda: not any(group_members(g) for g in groups),
                        10), 'left running: %s' % [
                            group_members(g) for g in groups]
        if ending == 'exit':
            assert not os.path.exists(data_dir)
    finally:
        proc.kill()
        proc.wait()
        kill_groups(g for g in groups if group_members(g))
        # A killed test process cannot remove its data dir: this test does.
        shutil.rmtree(data_dir, ignore_errors=True)
