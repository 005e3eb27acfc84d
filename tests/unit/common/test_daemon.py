"""Tests for the daemon skeleton: rate maths, stats, status files,
concurrency, local-device discovery and the shared command line."""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from objstore.common.daemon import (
    Daemon, DaemonConf, DaemonStats, RateLimiter, local_devices,
    parse_int_list, read_status_file, run_concurrently, status_file_path,
    usable_device_path, write_status_file)
from objstore.common.exceptions import ConfigError
from tests.helpers import FakeClock


def test_rate_limiter_worked_example():
    limiter = RateLimiter(items_per_second=2, burst=1)
    assert [limiter.delay(10.0) for _ in range(3)] == [0, 0, 0.5]
    assert limiter.delay(10.5) == 0.5


def test_rate_limiter_average_rate_with_injected_clock():
    clock = FakeClock()
    limiter = RateLimiter(items_per_second=10, burst=0, clock=clock,
                          sleep=clock.sleep, min_pause=0)
    start = clock.now
    for _ in range(50):
        limiter.wait()
    assert clock.now - start == pytest.approx(5.0)


def test_rate_limiter_gathers_short_pauses_into_few_sleeps():
    # Each sleep wakes the process: 50 items/s must not mean 50 sleeps/s.
    clock = FakeClock()
    naps = []

    def sleep(seconds):
        naps.append(seconds)
        clock.sleep(seconds)
    limiter = RateLimiter(items_per_second=50, burst=0, clock=clock,
                          sleep=sleep, min_pause=0.25)
    start = clock.now
    for _ in range(500):
        limiter.wait()
    assert 35 <= len(naps) <= 40
    assert all(0.25 <= nap < 0.25 + 0.02 + 1e-9 for nap in naps)
    # The rate holds: 500 items at 50/s take 10 s, less at most the last
    # owed 0.25 s that no later item had to wait for.
    assert 10.0 - 0.25 <= clock.now - start <= 10.0


def test_rate_limiter_bytes_dominates_when_larger():
    clock = FakeClock()
    start = clock.now
    limiter = RateLimiter(items_per_second=1000, bytes_per_second=100,
                          burst=0, clock=clock, sleep=clock.sleep)
    limiter.wait(items=1, nbytes=1000)
    assert clock.now - start == pytest.approx(10.0)


def test_rate_limiter_slow_loop_earns_only_burst():
    limiter = RateLimiter(items_per_second=1, burst=2)
    limiter.delay(0.0)
    # Idle for an hour: only 2 s of catch-up, then the rate applies.
    delays = [limiter.delay(3600.0) for _ in range(4)]
    assert delays == [0, 0, 1.0, 2.0]


def test_rate_limiter_zero_means_unlimited():
    limiter = RateLimiter()
    assert all(limiter.delay(1.0, 1, 10 ** 9) == 0 for _ in range(100))


def test_rate_limiter_rejects_negative():
    with pytest.raises(ValueError):
        RateLimiter(items_per_second=-1)


def test_stats_merge_summary_and_record():
    ticks = iter([1000.0, 1004.5])
    total = DaemonStats(clock=lambda: next(ticks))
    device = DaemonStats(clock=lambda: 0.0)
    device.incr('rsyncs', 3)
    device.incr('failures')
    device.add_time('rsync', 0.25)
    total.merge(device)
    total.merge(device)
    total.finish()
    assert total.get('rsyncs') == 6
    assert total.get('missing') == 0
    assert total.summary(['rsyncs', 'failures']) == 'rsyncs=6, failures=2'
    record = total.status_record('object-replicator', 'd1', once=True)
    assert record['duration'] == pytest.approx(4.5)
    assert record['counts'] == {'rsyncs': 6, 'failures': 2}
    assert record['timings'] == {'rsync': 0.5}
    assert record['format'] == 1 and record['once'] is True


def test_status_file_atomic_write_and_read(tmp_path):
    record = {'format': 1, 'counts': {'successes': 3}}
    path = write_status_file(str(tmp_path), 'object-auditor', 'd1', record)
    assert path == status_file_path(str(tmp_path), 'object-auditor', 'd1')
    assert read_status_file(str(tmp_path), 'object-auditor', 'd1') == record
    write_status_file(str(tmp_path), 'object-auditor', 'd1', {'format': 1})
    assert os.listdir(tmp_path / 'object-auditor') == ['d1.json']
    assert read_status_file(str(tmp_path), 'object-auditor', 'd2') is None
    (tmp_path / 'object-auditor' / 'd3.json').write_text('{broken')
    assert read_status_file(str(tmp_path), 'object-auditor', 'd3') is None


def test_run_concurrently_bounds_concurrency_and_reports_errors():
    from objstore.common import green
    running = []
    peak = []

    def work(item):
        running.append(item)
        peak.append(len(running))
        green.sleep(0.01)
        running.remove(item)
        if item == 3:
            raise RuntimeError('boom')
        return item * 2

    errors = []
    results = run_concurrently(work, range(8), 3,
                               on_error=lambda i, e: errors.append((i, e)))
    assert max(peak) == 3
    assert sorted(results) == [0, 2, 4, 8, 10, 12, 14]
    assert [i for i, _ in errors] == [3]


def test_run_concurrently_stops_starting_items():
    seen = []
    run_concurrently(seen.append, range(10), 1,
                     should_stop=lambda: len(seen) >= 4)
    assert seen == [0, 1, 2, 3]


class FakeRing:
    def __init__(self, devs):
        self.devs = devs


def _dev(dev_id, ip, port, name, rep_ip=None, rep_port=None):
    return {'id': dev_id, 'ip': ip, 'port': port, 'device': name,
            'replication_ip': rep_ip or ip,
            'replication_port': rep_port or port}


def test_local_devices_by_port_and_ip():
    ring = FakeRing([
        _dev(0, '127.0.0.1', 6010, 'd0'),
        _dev(1, '127.0.0.1', 6020, 'd1'),
        None,
        _dev(3, '127.0.0.1', 6020, 'b1'),
        _dev(4, '10.0.0.9', 6020, 'far'),
        _dev(5, '10.0.0.8', 7000, 'rep', rep_ip='127.0.0.1',
             rep_port=6020),
    ])
    names = [d['device'] for d in local_devices(ring, '127.0.0.1', 6020)]
    assert names == ['b1', 'd1', 'rep']
    names = [d['device'] for d in local_devices(ring, '127.0.0.1', 6020,
                                                only_devices=['d1', 'x'])]
    assert names == ['d1']
    wild = local_devices(ring, '0.0.0.0', 6020, local_ips={'10.0.0.9'})
    assert [d['device'] for d in wild] == ['far']


def test_usable_device_path(tmp_path):
    (tmp_path / 'd1').mkdir()
    assert usable_device_path(str(tmp_path), 'd1', False) == str(
        tmp_path / 'd1')
    assert usable_device_path(str(tmp_path), 'd1', True) is None
    assert usable_device_path(str(tmp_path), 'nope', False) is None


def test_parse_int_list():
    assert parse_int_list('1, 2,3', '--partitions') == [1, 2, 3]
    assert parse_int_list('', '--partitions') is None
    with pytest.raises(ConfigError, match='--partitions'):
        parse_int_list('1,x', '--partitions')


def test_daemon_conf_validates_interval():
    with pytest.raises(ConfigError):
        DaemonConf.from_conf({'interval': '-1'})
    with pytest.raises(ConfigError):
        DaemonConf.from_conf({'bind_port': 'abc'})


class CountingDaemon(Daemon):
    name = 'counting'

    def __init__(self, conf, logger=None):
        super().__init__(conf, logger)
        self.passes = 0

    def run_once(self, **kwargs):
        self.passes += 1
        if self.passes == 2:
            raise RuntimeError('a bad pass must not kill the daemon')
        if self.passes == 3:
            self.request_stop()


def test_run_forever_survives_failed_pass_and_stops(tmp_path):
    daemon = CountingDaemon({'interval': '0',
                             'recon_cache_path': str(tmp_path)})
    daemon.run_forever()
    assert daemon.passes == 3


class FirstPassTimer(Daemon):
    name = 'first-pass-timer'
    first_pass_jitter = True

    def run_once(self, **kwargs):
        self.first_pass_at = time.monotonic()
        self.request_stop()


def test_first_pass_waits_a_random_part_of_the_interval(monkeypatch):
    # Swift's updaters, DB replicators... start at a random point of
    # their interval: an aio's daemons, started together, spread out.
    drawn = []

    def uniform(low, high):
        drawn.append((low, high))
        return high
    monkeypatch.setattr(random, 'uniform', uniform)
    daemon = FirstPassTimer({'interval': '0.3'})
    started = time.monotonic()
    daemon.run_forever()
    assert drawn == [(0, 0.3)]
    assert daemon.first_pass_at - started >= 0.3


def test_write_device_status_and_summary(tmp_path, caplog):
    daemon = CountingDaemon({'recon_cache_path': str(tmp_path)})
    stats = DaemonStats()
    stats.incr('successes', 2)
    daemon.write_device_status('d7', stats.finish(), once=True)
    record = json.loads((tmp_path / 'counting' / 'd7.json').read_text())
    assert record['counts'] == {'successes': 2}
    assert record['daemon'] == 'counting' and record['device'] == 'd7'


SCRIPT = textwrap.dedent('''
    import sys, time
    from objstore.common.daemon import Daemon, run_daemon

    class Slow(Daemon):
        name = 'slow-daemon'

        def run_once(self, **kwargs):
            print('ARGS', sorted((k, v) for k, v in kwargs.items()),
                  flush=True)
            for item in range(1000):
                if self.stopping:
                    print('STOPPED-AFTER', item, flush=True)
                    return
                print('START', item, flush=True)
                time.sleep(0.3)
                print('DONE', item, flush=True)

    sys.exit(run_daemon(Slow, sys.argv[1:]))
''')


def _write_daemon(tmp_path, section=True):
    script = tmp_path / 'slow.py'
    script.write_text(SCRIPT)
    conf = tmp_path / 'slow.conf'
    text = '[DEFAULT]\nrecon_cache_path = %s\ninterval = 0\n' % tmp_path
    if section:
        text += '[slow-daemon]\n'
    conf.write_text(text)
    return script, conf


def test_run_daemon_once_passes_filters(tmp_path):
    script, conf = _write_daemon(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(conf), '--once',
         '--devices', 'd1,d2', '--partitions', '4,5'],
        stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert "('devices', ['d1', 'd2'])" in first
        assert "('partitions', [4, 5])" in first
        assert "('once', True)" in first
    finally:
        proc.kill()
        proc.wait(10)


def test_sigterm_finishes_current_item_then_exits(tmp_path):
    script, conf = _write_daemon(tmp_path)
    proc = subprocess.Popen([sys.executable, str(script), str(conf)],
                            stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        while not any(line.startswith('START 1') for line in lines):
            lines.append(proc.stdout.readline())
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    tail = out.splitlines()
    assert proc.returncode == 0
    assert tail[0] == 'DONE 1'
    assert tail[-1].startswith('STOPPED-AFTER 2')


def test_run_daemon_config_errors(tmp_path):
    script, conf = _write_daemon(tmp_path, section=False)
    proc = subprocess.run([sys.executable, str(script), str(conf), '--once'],
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 1
    assert 'slow-daemon' in proc.stderr
    script, conf = _write_daemon(tmp_path)
    proc = subprocess.run([sys.executable, str(script), str(conf), '--once',
                           '--partitions', 'x'],
                          capture_output=True, text=True, timeout=20)
    assert proc.returncode == 1 and '--partitions' in proc.stderr


NODE_SCRIPT = textwrap.dedent('''
    import sys, time
    from objstore.common.daemon import Daemon, run_daemon

    class Node(Daemon):
        name = 'node-daemon'

        def run_once(self, once=False, **kwargs):
            node = self.conf['log_name']
            print('PASS', node, once, flush=True)
            while not once and not self.stopping:
                time.sleep(0.1)
            print('STOPPED', node, flush=True)

    sys.exit(run_daemon(Node, sys.argv[1:]))
''')


def _node_confs(tmp_path, count):
    script = tmp_path / 'node.py'
    script.write_text(NODE_SCRIPT)
    confs = []
    for node in range(count):
        conf = tmp_path / ('node%d.conf' % node)
        conf.write_text('[DEFAULT]\nrecon_cache_path = %s\ninterval = 0\n'
                        '[node-daemon]\nlog_name = node-%d\n'
                        % (tmp_path, node))
        confs.append(str(conf))
    return str(script), confs


def test_one_process_runs_a_daemon_per_config_and_stops_them_all(tmp_path):
    # An aio runs one process per daemon for all its nodes' configs.
    script, confs = _node_confs(tmp_path, 3)
    proc = subprocess.Popen([sys.executable, script] + confs,
                            stdout=subprocess.PIPE, text=True)
    try:
        started = {proc.stdout.readline().split()[1] for _ in confs}
        assert started == {'node-0', 'node-1', 'node-2'}
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0
    assert sorted(out.split()) == sorted(
        ['STOPPED', 'node-0', 'STOPPED', 'node-1', 'STOPPED', 'node-2'])


WAITING_SCRIPT = textwrap.dedent('''
    import sys
    from objstore.common.daemon import Daemon, run_daemon

    class Waiting(Daemon):
        name = 'waiting-daemon'

        def run_once(self, **kwargs):
            print('PASS', flush=True)

    sys.exit(run_daemon(Waiting, sys.argv[1:]))
''')


def test_a_daemon_waiting_for_its_next_pass_sleeps_and_wakes_on_stop(
        tmp_path):
    # An idle aio runs dozens of daemons: between passes each must sleep
    # (no naps every half second), and a stop must still end it at once.
    script = tmp_path / 'waiting.py'
    script.write_text(WAITING_SCRIPT)
    conf = tmp_path / 'waiting.conf'
    conf.write_text('[DEFAULT]\nrecon_cache_path = %s\n[waiting-daemon]\n'
                    'interval = 3600\n' % tmp_path)
    proc = subprocess.Popen([sys.executable, str(script), str(conf)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == 'PASS\n'
        time.sleep(0.5)
        waking = psutil.Process(proc.pid)
        before = waking.num_ctx_switches().voluntary
        time.sleep(3)
        assert waking.num_ctx_switches().voluntary - before <= 2
        stop_sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert time.monotonic() - stop_sent < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


def test_once_with_several_configs_runs_one_pass_each(tmp_path):
    script, confs = _node_confs(tmp_path, 2)
    proc = subprocess.run([sys.executable, script, '--once'] + confs,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert sorted(line for line in proc.stdout.splitlines()
                  if line.startswith('PASS')) == [
        'PASS node-0 True', 'PASS node-1 True']



def test_local_device_names_lists_usable_dirs_filtered(tmp_path):
    for name in ('sdb', 'sda', 'sdc'):
        (tmp_path / name).mkdir()
    (tmp_path / 'stray-file').write_text('not a device')
    daemon = Daemon({'devices': str(tmp_path), 'mount_check': 'false'})
    assert daemon.local_device_names() == ['sda', 'sdb', 'sdc']
    assert daemon.local_device_names(['sdc', 'nope']) == ['sdc']
    missing = Daemon({'devices': str(tmp_path / 'absent'),
                      'mount_check': 'false'})
    assert missing.local_device_names() == []
    mounted_only = Daemon({'devices': str(tmp_path), 'mount_check': 'true'})
    assert mounted_only.local_device_names() == []


CHURN_SCRIPT = textwrap.dedent('''
    import os
    from objstore.common.daemon import Daemon

    def rss():
        with open('/proc/self/statm') as statm:
            return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')

    class Churn(Daemon):
        name = 'churn'

        def run_once(self, **kwargs):
            # 40 MB of C-heap blocks (bytes over 512 bytes are malloc's),
            # freed below one that stays: no free() can shrink the heap.
            blocks = [bytes(4000) for _ in range(10000)]
            self.kept = bytes(4000)
            del blocks
            self.after_pass = rss()
            self.request_stop()

    daemon = Churn({'interval': '0'})
    daemon.run_forever()
    print(daemon.after_pass - rss())
''')


def test_a_pass_gives_its_freed_heap_back(tmp_path):
    # An idle aio's daemons wait minutes between passes; what a pass (or
    # start-up) freed must not stay resident meanwhile.
    script = tmp_path / 'churn.py'
    script.write_text(CHURN_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True,
                          text=True, timeout=60, check=True)
    released = int(done.stdout.split()[-1])
    assert released > 20 * 2 ** 20, released
