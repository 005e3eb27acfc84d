"""healthcheck: ``GET /healthcheck`` answers ``200 OK`` from the filter
itself, or ``503 DISABLED BY FILE`` while the file named by ``disable_path``
exists (an operator draining the node, as in Swift). Everything else goes
down the pipeline untouched.
"""

import dataclasses
import os

from objstore.common.config import ConfBase

PATH = '/healthcheck'


@dataclasses.dataclass(frozen=True)
class HealthcheckConf(ConfBase):
    disable_path: str = ''


def _plain(start_response, status, body):
    start_response(status, [('Content-Type', 'text/plain'),
                            ('Content-Length', str(len(body)))])
    return [body]


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
        return _plain(start_response, '200 OK', b'OK')


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: Healthcheck(app, conf)
