"""objstore-aio as users run it: the real command, real child processes.

Start to healthy, kill -9 of a child, Ctrl-C (SIGINT) leaving nothing
behind, a second instance refused, a restart keeping the data, bad input;
signals during start-up, a stale state file, SIGKILL escalation to whole
process groups, two clusters side by side on their own port bases.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from objstore.cli.aio import AioCluster
from tests.helpers import (
    free_port_block, group_members, kill_groups, pid_alive, wait_for)

AIO = os.path.join(os.path.dirname(sys.executable), 'objstore-aio')
USER = 'test:tester:testing:.admin'


def request(port, method, path, headers=None, body=None):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def token(port):
    status, headers, _ = request(port, 'GET', '/auth/v1.0', {
        'X-Auth-User': 'test:tester', 'X-Auth-Key': 'testing'})
    assert status == 200
    return headers['X-Storage-Url'], headers['X-Auth-Token']


class Aio:
    """One foreground objstore-aio process under test."""

    def __init__(self, data_dir, proxy_port, base, devices=4):
        self.data_dir = data_dir
        self.proxy_port = proxy_port
        self.base = base
        self.args = [AIO, '--data-dir', data_dir, '--port', str(proxy_port),
                     '--storage-port-base', str(base), '--devices',
                     str(devices),
                     '--part-power', '6', '--user', USER]
        self.proc = None

    def start(self, extra=()):
        self.proc = subprocess.Popen(
            self.args + list(extra), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        started = time.monotonic()
        lines = []
        for raw in iter(self.proc.stdout.readline, b''):
            line = raw.decode('utf-8', 'replace')
            lines.append(line)
            if 'healthy after' in line:
                break
            if time.monotonic() - started > 60:
                break
        assert any('healthy after' in l for l in lines), ''.join(lines)
        self._drain()
        return time.monotonic() - started, ''.join(lines)

    def _drain(self):
        def drain(stream):
            for _ in iter(stream.readline, b''):
                pass
        threading.Thread(target=drain, args=(self.proc.stdout,),
                         daemon=True).start()

    def children(self):
        with open(os.path.join(self.data_dir, 'aio-state.json')) as f:
            return json.load(f)['children']

    def stop(self, signum=signal.SIGINT):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signum)
            self.proc.wait(30)


@pytest.fixture
def make_aio():
    """Makes Aio instances on free ports; stops them and every process
    of their children's process groups afterwards."""
    made = []

    def make(devices=4):
        data_dir = tempfile.mkdtemp(prefix='objstore-aio-test-')
        proxy_port, base = free_port_block(devices)
        made.append(Aio(data_dir, proxy_port, base, devices))
        return made[-1]

    yield make
    for instance in made:
        seen = []
        try:
            seen = list(instance.children().values())
        except (OSError, ValueError):
            pass
        instance.stop()
        kill_groups(seen)
        shutil.rmtree(instance.data_dir, ignore_errors=True)


@pytest.fixture
def aio_env(make_aio):
    return make_aio()


def test_start_kill9_restart_and_clean_ctrl_c(aio_env):
    elapsed, banner = aio_env.start()
    print('objstore-aio healthy after %.2fs' % elapsed)
    assert 'Swift auth URL: http://127.0.0.1:%d/auth/v1.0' % (
        aio_env.proxy_port) in banner
    assert 'swift -A' in banner
    # The scrape config names the proxy, whose /metrics answers.
    assert "job_name: objstore-aio" in banner
    assert "'127.0.0.1:%d'" % aio_env.proxy_port in banner
    assert request(aio_env.proxy_port, 'GET', '/metrics')[0] == 200
    assert elapsed < 20
    url, tok = token(aio_env.proxy_port)
    path = url.split(str(aio_env.proxy_port), 1)[1]
    assert request(aio_env.proxy_port, 'PUT', path + '/c',
                   {'X-Auth-Token': tok})[0] in (201, 202)
    assert request(aio_env.proxy_port, 'PUT', path + '/c/o',
                   {'X-Auth-Token': tok}, b'hello')[0] == 201

    children = aio_env.children()
    victim = children['object-server-1']
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    # Prompt, not instant: a fresh interpreter loading the server takes
    # ~1 s on a quiet machine and several on a loaded 2-core one.
    assert wait_for(lambda: aio_env.children().get('object-server-1')
                    not in (None, victim), timeout=10)
    layout = json.load(open(os.path.join(aio_env.data_dir, 'aio.json')))
    object_port = layout['storage_port_base'] + 10
    assert wait_for(lambda: _answers(object_port), timeout=10), open(
        os.path.join(aio_env.data_dir, 'logs', 'object-server-1.log')).read()
    print('object-server-1 serving again %.2fs after kill -9'
          % (time.monotonic() - killed_at))
    assert time.monotonic() - killed_at < 10

    pids = list(aio_env.children().values())
    aio_env.stop(signal.SIGINT)
    assert aio_env.proc.returncode == 0
    assert wait_for(lambda: not any(pid_alive(p) for p in pids), timeout=5)
    assert not os.path.exists(os.path.join(aio_env.data_dir,
                                           'aio-state.json'))

    aio_env.start()
    url, tok = token(aio_env.proxy_port)
    status, _, body = request(aio_env.proxy_port, 'GET', path + '/c/o',
                              {'X-Auth-Token': tok})
    assert (status, body) == (200, b'hello')


def _answers(port):
    try:
        request(port, 'GET', '/healthcheck')
        return True
    except OSError:
        return False


def test_second_instance_and_bad_input_are_refused(aio_env):
    aio_env.start()
    second = subprocess.run(aio_env.args, capture_output=True, timeout=30)
    assert second.returncode == 2
    assert b'already running' in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1

    status = subprocess.run([AIO, 'status', '--data-dir', aio_env.data_dir],
                            capture_output=True, timeout=60)
    assert status.returncode == 0, status.stdout
    assert b'proxy-server' in status.stdout and b'DOWN' not in status.stdout


def test_refusals_before_start(tmp_path):
    foreign = tmp_path / 'foreign'
    foreign.mkdir()
    (foreign / 'thesis.tex').write_text('precious')
    result = subprocess.run([AIO, '--data-dir', str(foreign)],
                            capture_output=True, timeout=30)
    assert result.returncode == 2
    assert b'not an objstore-aio data dir' in result.stderr
    assert (foreign / 'thesis.tex').read_text() == 'precious'

    busy_port, base = free_port_block(4)
    holder = socket.socket()
    holder.bind(('127.0.0.1', busy_port))
    holder.listen()
    try:
        result = subprocess.run(
            [AIO, '--data-dir', str(tmp_path / 'new'), '--port',
             str(busy_port), '--storage-port-base', str(base)],
            capture_output=True, timeout=30)
    finally:
        holder.close()
    assert result.returncode == 2
    assert b'already in use' in result.stderr

    result = subprocess.run([AIO, '--data-dir', '/proc/objstore-nope'],
                            capture_output=True, timeout=30)
    assert result.returncode == 2
    assert b'cannot write to data dir' in result.stderr


def test_daemon_mode_status_and_stop(tmp_path):
    proxy_port, base = free_port_block(4)
    data_dir = str(tmp_path / 'bg')
    args = ['--data-dir', data_dir, '--port', str(proxy_port),
            '--port-base', str(base), '--part-power', '6',
            '--no-daemons']
    started = subprocess.run([AIO, '--daemon'] + args, capture_output=True,
                             timeout=120)
    state_file = os.path.join(data_dir, 'aio-state.json')
    try:
        assert started.returncode == 0, started.stderr
        assert b'backgrounded as pid' in started.stdout
        assert request(proxy_port, 'GET', '/healthcheck')[0] == 200
        with open(state_file) as f:
            state = json.load(f)
        status = subprocess.run([AIO, 'status', '--data-dir', data_dir],
                                capture_output=True, timeout=60)
        assert status.returncode == 0
        assert status.stdout.count(b' ok') == len(state['children'])
        stopped = subprocess.run([AIO, 'stop', '--data-dir', data_dir],
                                 capture_output=True, timeout=60)
        assert stopped.returncode == 0, stopped.stderr
        pids = [state['pid']] + list(state['children'].values())
        assert wait_for(lambda: not any(pid_alive(p) for p in pids), 10)
        assert not os.path.exists(state_file)
        assert not os.path.exists(os.path.join(data_dir, 'rsyncd.pid'))
        again = subprocess.run([AIO, 'stop', '--data-dir', data_dir],
                               capture_output=True, timeout=60)
        assert again.returncode == 1
        assert b'not running' in again.stdout
    finally:
        if os.path.exists(state_file):
            subprocess.run([AIO, 'stop', '--data-dir', data_dir],
                           capture_output=True, timeout=60)


def _children_started(instance):
    try:
        return instance.children()
    except (OSError, ValueError):
        return {}


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_signal_during_start_up_stops_every_child(aio_env, signum):
    aio_env.proc = subprocess.Popen(
        aio_env.args + ['--no-daemons', '--quiet'], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    servers = 1 + 4 * 3 + 1  # rsyncd, 4 nodes' servers, proxy
    assert wait_for(lambda: len(_children_started(aio_env)) == servers, 30)
    pids = list(aio_env.children().values())
    aio_env.proc.send_signal(signum)
    output = aio_env.proc.communicate(timeout=30)[0].decode()
    assert 'healthy after' not in output, 'signalled too late: ' + output
    assert wait_for(lambda: not any(group_members(p) for p in pids), 10), (
        'left running: %s' % [group_members(p) for p in pids])
    assert not os.path.exists(os.path.join(aio_env.data_dir,
                                           'aio-state.json'))


def test_stop_never_signals_a_process_that_is_not_the_aio(tmp_path):
    data_dir = tmp_path / 'crashed'
    data_dir.mkdir()
    (data_dir / 'aio.lock').write_text('1')
    # Not our child: the kernel reaps it, so its death shows at once.
    unrelated = int(subprocess.run(
        ['sh', '-c', 'sleep 60 >/dev/null 2>&1 & echo $!'],
        capture_output=True, check=True, timeout=10).stdout)
    try:
        # What a crashed (kill -9) objstore-aio leaves behind, once the
        # kernel has handed its PID to some other process.
        (data_dir / 'aio-state.json').write_text(json.dumps(
            {'pid': unrelated, 'proxy_url': 'http://127.0.0.1:1',
             'children': {}}))
        stopped = subprocess.run([AIO, 'stop', '--data-dir', str(data_dir)],
                                 capture_output=True, timeout=30)
        assert stopped.returncode == 1, stopped.stderr
        assert b'not running' in stopped.stdout
        time.sleep(0.2)
        assert pid_alive(unrelated), 'stop killed an unrelated process'
        status = subprocess.run(
            [AIO, 'status', '--data-dir', str(data_dir)],
            capture_output=True, timeout=30)
        assert status.returncode == 1 and b'not running' in status.stdout
    finally:
        try:
            os.kill(unrelated, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _open_rsync_session(port):
    """A connection the rsync daemon has forked a child for."""
    conn = socket.create_connection(('127.0.0.1', port), 5)
    conn.settimeout(5)
    assert conn.recv(100).startswith(b'@RSYNCD:')
    conn.sendall(b'@RSYNCD: 31.0\n')
    return conn


@pytest.mark.slow
def test_sigkill_escalation_reaches_whole_process_groups(aio_env):
    aio_env.start(['--no-daemons', '--proxy-workers', '2'])
    children = aio_env.children()
    proxy, rsyncd = children['proxy-server'], children['rsyncd']
    assert wait_for(lambda: len(group_members(proxy)) == 3, 10)
    session = _open_rsync_session(aio_env.base + 3)
    try:
        assert wait_for(lambda: len(group_members(rsyncd)) >= 2, 10)
        # Stopped processes cannot act on SIGTERM: only the SIGKILL
        # escalation can end them, and it must reach every member.
        members = group_members(proxy) + group_members(rsyncd)
        os.killpg(proxy, signal.SIGSTOP)
        os.killpg(rsyncd, signal.SIGSTOP)
        aio_env.stop(signal.SIGINT)
        assert wait_for(lambda: not any(pid_alive(p) for p in members), 5), (
            'survived: %s' % [p for p in members if pid_alive(p)])
    finally:
        session.close()
        kill_groups([proxy, rsyncd])


def test_two_clusters_run_side_by_side_on_their_own_port_bases(make_aio):
    first, second = make_aio(devices=2), make_aio(devices=2)
    for instance in (first, second):
        instance.args[instance.args.index('--storage-port-base')] = (
            '--port-base')
        instance.start(['--no-daemons', '--replicas', '2'])
    for instance in (first, second):
        assert request(instance.proxy_port, 'GET', '/healthcheck')[0] == 200
        layout = json.load(open(os.path.join(instance.data_dir, 'aio.json')))
        assert layout['storage_port_base'] == instance.base
        assert _answers(instance.base + 10 + 2)
    url, tok = token(second.proxy_port)
    path = url.split(str(second.proxy_port), 1)[1]
    assert request(second.proxy_port, 'PUT', path + '/c',
                   {'X-Auth-Token': tok})[0] in (201, 202)


def test_taken_storage_port_is_refused_naming_its_holder(tmp_path):
    proxy_port, base = free_port_block(4)
    taken = base + 10 + 1
    holder = subprocess.Popen(
        [sys.executable, '-c',
         'import socket, sys, time\n'
         's = socket.socket()\n'
         's.bind(("127.0.0.1", int(sys.argv[1])))\n'
         's.listen()\n'
         'print("ready", flush=True)\n'
         'time.sleep(60)\n', str(taken)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b'ready\n'
        result = subprocess.run(
            [AIO, '--data-dir', str(tmp_path / 'd'), '--port',
             str(proxy_port), '--port-base', str(base)],
            capture_output=True, timeout=60)
    finally:
        holder.kill()
        holder.wait()
    message = result.stderr.decode()
    assert result.returncode == 2, message
    assert len(message.strip().splitlines()) == 1, message
    assert '127.0.0.1:%d (for container-server-1) is already in use' % (
        taken) in message
    assert 'pid %d' % holder.pid in message
    assert '--port-base' in message


def test_sigkill_of_the_aio_takes_every_child_and_grandchild_down(make_aio):
    # A killed test run or a crash gives the aio no chance to stop its
    # children: they must go by themselves (parent-death signal).
    instance = make_aio(devices=2)
    instance.start(['--proxy-workers', '2', '--replicas', '2'])
    cluster = AioCluster.existing(instance.data_dir)
    everyone = len(cluster.server_specs()) + len(cluster.daemon_specs())
    assert wait_for(lambda: len(instance.children()) == everyone, 30), (
        'only %s started' % sorted(instance.children()))
    groups = list(instance.children().values())
    assert wait_for(lambda: len(group_members(
        instance.children()['proxy-server'])) == 3, 10)
    members = [pid for group in groups for pid in group_members(group)]
    instance.proc.kill()
    instance.proc.wait(10)
    assert wait_for(lambda: not any(pid_alive(p) for p in members), 10), (
        'survived their aio: %s' % [p for p in members if pid_alive(p)])
