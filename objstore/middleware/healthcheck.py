"""healthcheck: ``GET /healthcheck`` answers ``200 OK`` from the filter
itself, or ``503 DISABLED BY FILE`` while the file named by ``disable_path``
exists (an operator draining the node, as in Swift). Everything else goes
down the pipeline untouched.

In a storage server's pipeline (``devices`` set, as the server's
``[DEFAULT]`` does) it also answers ``503 NO WRITABLE DEVICE`` when no
device under ``devices`` takes a new file, so that a load balancer or the
aio supervisor stops trusting a server that can only fail writes. The probe
is an unnamed temporary file (O_TMPFILE on Linux): nothing is left on the
device, and it stops at the first device that works, so a healthy server
pays one file creation per check.
"""

import dataclasses
import os
import tempfile

from objstore.common.config import ConfBase
from objstore.common.daemon import usable_device_path

PATH = '/healthcheck'


@dataclasses.dataclass(frozen=True)
class HealthcheckConf(ConfBase):
    disable_path: str = ''
    devices: str = ''
    mount_check: bool = True


def _plain(start_response, status, body):
    start_response(status, [('Content-Type', 'text/plain'),
                            ('Content-Length', str(len(body)))])
    return [body]


def _takes_a_file(path):
    try:
        with tempfile.TemporaryFile(dir=path) as probe:
            probe.write(b'.')
            probe.flush()
    except OSError:
        return False
    return True


def has_writable_device(devices, mount_check):
    """Whether any device under ``devices`` lets a file be created."""
    try:
        names = sorted(os.listdir(devices))
    except OSError:
        return False
    for name in names:
        path = usable_device_path(devices, name, mount_check)
        if path is not None and _takes_a_file(path):
            return True
    return False


class Healthcheck:
    def __init__(self, app, conf):
        self.app = app
        self.conf = HealthcheckConf.from_conf(conf)

    def __call__(self, environ, start_response):
        if environ.get('PATH_INFO') != PATH:
            return self.app(environ, start_response)
        if self.conf.disable_path and os.path.exists(self.conf.disable_path):
            return _plain(start_response, '503 Service Unavailable',
                          b'DISABLED BY FILE')
        if self.conf.devices and not has_writable_device(
                self.conf.devices, self.conf.mount_check):
            return _plain(start_response, '503 Service Unavailable',
                          b'NO WRITABLE DEVICE')
        return _plain(start_response, '200 OK', b'OK')


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: Healthcheck(app, conf)
