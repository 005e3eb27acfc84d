"""objstore-server's prefork workers as real processes.

A worker that cannot load its app must not be re-forked forever: the
server logs the error and exits non-zero, promptly. Workers that keep
dying young are replaced after growing delays, not in a tight loop.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time

import psutil
from prometheus_client.parser import text_string_to_metric_families

from objstore.cli.aio_layout import render_objstore_conf
from objstore.common.backend_client import direct_request
from tests.helpers import children_of, free_port, wait_for

SERVER = os.path.join(os.path.dirname(sys.executable), 'objstore-server')
BROKEN_PROXY_CONF = """\
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = %d
workers = 2

[pipeline:main]
pipeline = nosuchfilter proxy-server

[filter:nosuchfilter]
use = egg:objstore#nosuchfilter

[app:proxy-server]
use = egg:objstore#proxy
"""


def test_worker_that_cannot_load_its_app_stops_the_server(tmp_path):
    conf = tmp_path / 'proxy-server.conf'
    conf.write_text(BROKEN_PROXY_CONF % free_port())
    server = subprocess.Popen([SERVER, str(conf)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        output = server.communicate(timeout=20)[0].decode()
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        output = server.communicate()[0].decode()
        raise AssertionError('still running after 20s (%d worker exits '
                             'logged)' % output.count('exited'))
    assert server.returncode != 0, output
    assert 'nosuchfilter' in output
    assert 'cannot load' in output
    assert output.count('exited') <= 2, output


ACCOUNT_CONF = """\
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = %(port)d
workers = 1
devices = %(dir)s/devices
mount_check = false
conf_dir = %(dir)s

[pipeline:main]
pipeline = healthcheck account-server

[app:account-server]
use = egg:objstore#account

[filter:healthcheck]
use = egg:objstore#healthcheck
"""


@contextlib.contextmanager
def running_server(conf):
    """The objstore-server process of `conf`; its whole group is killed
    on the way out, whatever state the test left it in."""
    server = subprocess.Popen([SERVER, str(conf)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        yield server
    finally:
        try:
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.wait()


def wait_for_worker(parent, not_this, timeout):
    fresh = wait_for(lambda: [p for p in children_of(parent)
                              if p != not_this], timeout, interval=0.01)
    assert fresh, 'no worker within %.0fs' % timeout
    return fresh[0]


def test_workers_dying_young_are_replaced_after_growing_delays(tmp_path):
    (tmp_path / 'devices').mkdir()
    (tmp_path / 'objstore.conf').write_text(render_objstore_conf('a', 'b'))
    conf = tmp_path / 'account-server.conf'
    conf.write_text(ACCOUNT_CONF % {'port': free_port(),
                                    'dir': str(tmp_path)})
    with running_server(conf) as server:
        worker = wait_for_worker(server.pid, None, 10)
        gaps = []
        for _ in range(5):
            os.kill(worker, signal.SIGKILL)
            killed = time.monotonic()
            worker = wait_for_worker(server.pid, worker, 10)
            gaps.append(time.monotonic() - killed)
        assert gaps[-1] >= 0.8, gaps
        assert gaps[-1] > 2 * gaps[0], gaps


METERED_CONF = """\
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = %(port)d
workers = 3
devices = %(dir)s/devices
mount_check = false
conf_dir = %(dir)s
metrics_dir = %(dir)s/metrics
log_name = metered

[pipeline:main]
pipeline = metrics account-server

[app:account-server]
use = egg:objstore#account

[filter:metrics]
use = egg:objstore#metrics
"""


def scraped_count(port, method):
    status, _headers, body = direct_request('127.0.0.1', port, 'GET',
                                            '/metrics')
    assert status == 200
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == 'objstore_requests_total' and \
                    sample.labels.get('method') == method:
                return sample.value
    return 0


def test_metrics_sum_every_worker_and_outlive_them(tmp_path):
    (tmp_path / 'devices' / 'sda').mkdir(parents=True)
    (tmp_path / 'objstore.conf').write_text(render_objstore_conf('a', 'b'))
    port = free_port()
    conf = tmp_path / 'account-server.conf'
    conf.write_text(METERED_CONF % {'port': port, 'dir': str(tmp_path)})
    with running_server(conf) as server:
        assert wait_for(lambda: len(children_of(server.pid)) == 3, 20)
        assert wait_for(lambda: _answers(port), 20)
        for number in range(30):
            # Fresh connections: the workers take turns accepting them.
            status, _h, _b = direct_request(
                '127.0.0.1', port, 'HEAD', '/sda/1/AUTH_%d' % number)
            assert status == 404
        assert {scraped_count(port, 'HEAD') for _ in range(6)} == {30.0}
        # Every worker replaced: the new ones counted nothing themselves,
        # the server's counts are in the workers' files and stay.
        old = set(children_of(server.pid))
        for pid in old:
            os.kill(pid, signal.SIGKILL)
        assert wait_for(lambda: len(set(children_of(server.pid)) - old) == 3,
                        30)
        assert wait_for(lambda: _answers(port), 20)
        assert scraped_count(port, 'HEAD') == 30.0


def _answers(port):
    try:
        return direct_request('127.0.0.1', port, 'GET', '/metrics')[0] == 200
    except OSError:
        return False


def account_server_conf(tmp_path):
    """(conf path, port) of a one-worker account server with no device."""
    (tmp_path / 'devices').mkdir()
    (tmp_path / 'objstore.conf').write_text(render_objstore_conf('a', 'b'))
    conf = tmp_path / 'account-server.conf'
    port = free_port()
    conf.write_text(ACCOUNT_CONF % {'port': port, 'dir': str(tmp_path)})
    return conf, port


def test_prefork_parent_sleeps_at_rest_and_still_stops_and_respawns(
        tmp_path):
    # An idle aio's proxy parent polled waitpid 20 times a second.
    conf, port = account_server_conf(tmp_path)
    with running_server(conf) as server:
        worker = wait_for_worker(server.pid, None, 10)
        # The worker answers (503: this node has no device dir).
        assert direct_request('127.0.0.1', port, 'GET',
                              '/healthcheck')[0] == 503
        parent = psutil.Process(server.pid)
        before = parent.num_ctx_switches().voluntary
        time.sleep(3)
        assert parent.num_ctx_switches().voluntary - before <= 2
        os.kill(worker, signal.SIGKILL)
        wait_for_worker(server.pid, worker, 5)
        stop_sent = time.monotonic()
        server.send_signal(signal.SIGTERM)
        assert server.wait(10) == 0
        assert time.monotonic() - stop_sent < 5


def test_prefork_parent_sleeps_while_its_worker_serves(tmp_path):
    # The worker kept the event hub (one epoll instance) made before the
    # fork: the kernel woke the parent for every socket event of the
    # worker, and the idle parent burned as much CPU as the worker.
    conf, port = account_server_conf(tmp_path)
    with running_server(conf) as server:
        wait_for_worker(server.pid, None, 10)
        assert direct_request('127.0.0.1', port, 'GET',
                              '/healthcheck')[0] == 503
        parent = psutil.Process(server.pid)
        before = parent.num_ctx_switches().voluntary
        for _ in range(200):
            assert direct_request('127.0.0.1', port, 'GET',
                                  '/healthcheck')[0] == 503
        assert parent.num_ctx_switches().voluntary - before <= 5
