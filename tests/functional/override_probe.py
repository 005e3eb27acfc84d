"""A test middleware that overrides what a container listing shows for an
object, as SLO, symlinks and versioning do: placed after the gatekeeper in
a proxy pipeline, it turns a client's ``X-Probe-Override-<Name>`` on an
object PUT into ``X-Object-Sysmeta-Container-Update-Override-<Name>``
(Name: Etag, Size or Content-Type). The gatekeeper strips that sysmeta
from clients, so only a middleware after it can set it.
"""

NAMES = ('ETAG', 'SIZE', 'CONTENT_TYPE')


class OverrideProbe:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        for name in NAMES:
            value = environ.pop('HTTP_X_PROBE_OVERRIDE_' + name, None)
            if value is not None and environ['REQUEST_METHOD'] == 'PUT':
                environ['HTTP_X_OBJECT_SYSMETA_CONTAINER_UPDATE_OVERRIDE_'
                        + name] = value
        return self.app(environ, start_response)


def filter_factory(global_conf, **local_conf):
    return OverrideProbe
