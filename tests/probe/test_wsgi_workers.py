"""objstore-server's prefork workers as real processes.

A worker that cannot load its app must not be re-forked forever: the
server logs the error and exits non-zero, promptly.
"""

import os
import signal
import subprocess
import sys

from objstore.replicator.rsync import free_port

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
