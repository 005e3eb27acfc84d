"""objstore-aio as users run it: the real command, real child processes.

Start to healthy, kill -9 of a child, Ctrl-C (SIGINT) leaving nothing
behind, a second instance refused, a restart keeping the data, bad input.
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

from tests.helpers import free_port_block

AIO = os.path.join(os.path.dirname(sys.executable), 'objstore-aio')
USER = 'test:tester:testing:.admin'


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split()[2] != 'Z'
    except OSError:
        return False


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

    def __init__(self, data_dir, proxy_port, base):
        self.data_dir = data_dir
        self.proxy_port = proxy_port
        self.args = [AIO, '--data-dir', data_dir, '--port', str(proxy_port),
                     '--storage-port-base', str(base), '--devices', '4',
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
def aio_env():
    data_dir = tempfile.mkdtemp(prefix='objstore-aio-test-')
    proxy_port, base = free_port_block(4)
    instance = Aio(data_dir, proxy_port, base)
    yield instance
    seen = []
    try:
        seen = list(instance.children().values())
    except (OSError, ValueError):
        pass
    instance.stop()
    for pid in seen:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(data_dir, ignore_errors=True)


def test_start_kill9_restart_and_clean_ctrl_c(aio_env):
    elapsed, banner = aio_env.start()
    print('objstore-aio healthy after %.2fs' % elapsed)
    assert 'Swift auth URL: http://127.0.0.1:%d/auth/v1.0' % (
        aio_env.proxy_port) in banner
    assert 'swift -A' in banner
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
    assert wait_for(lambda: aio_env.children().get('object-server-1')
                    not in (None, victim), timeout=5)
    layout = json.load(open(os.path.join(aio_env.data_dir, 'aio.json')))
    object_port = layout['storage_port_base'] + 10
    assert wait_for(lambda: _answers(object_port), timeout=5), open(
        os.path.join(aio_env.data_dir, 'logs', 'object-server-1.log')).read()
    print('object-server-1 serving again %.2fs after kill -9'
          % (time.monotonic() - killed_at))
    assert time.monotonic() - killed_at < 5

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
            '--storage-port-base', str(base), '--part-power', '6',
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
