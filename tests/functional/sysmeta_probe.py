"""A test middleware that keeps its state in system metadata, as real
middlewares will: placed after the gatekeeper in a proxy pipeline, it sets
sysmeta on the writes that pass through it and reports what it reads back.

* A PUT or POST carrying ``X-Probe-Set: <value>`` gets
  ``X-<Level>-Sysmeta-Probe: <value>`` added (and on objects also
  ``X-Object-Transient-Sysmeta-Probe: <value>``), where the level is the
  path's: account, container or object.
* A GET or HEAD answer carrying that sysmeta gets it copied into
  ``X-Probe-Kept`` (and ``X-Probe-Transient``), which the gatekeeper
  lets through while it removes the sysmeta itself.
* ``X-Probe-Lookup: 1`` on any request makes the probe read the path's
  sysmeta through a HEAD subrequest of its own first and report it as
  ``X-Probe-Looked-Up`` (how a middleware reads state it keeps).
"""

from objstore.common.http import split_path
from objstore.common.subrequest import make_subrequest

LEVELS = {2: 'account', 3: 'container', 4: 'object'}


def level_of(path):
    """'account', 'container' or 'object' for an API path, else None."""
    try:
        parts = split_path(path, 2, 4, True)
    except ValueError:
        return None
    return LEVELS[len([p for p in parts if p])]


def sysmeta_name(level):
    return 'x-%s-sysmeta-probe' % level


TRANSIENT = 'x-object-transient-sysmeta-probe'


def header_key(name):
    return 'HTTP_' + name.upper().replace('-', '_')


class SysmetaProbe:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        level = level_of(environ.get('PATH_INFO', ''))
        if level is None:
            return self.app(environ, start_response)
        looked_up = None
        if environ.get('HTTP_X_PROBE_LOOKUP'):
            looked_up = self.lookup(environ, level)
        value = environ.pop('HTTP_X_PROBE_SET', None)
        if value is not None and environ['REQUEST_METHOD'] in ('PUT', 'POST'):
            environ[header_key(sysmeta_name(level))] = value
            if level == 'object':
                environ[header_key(TRANSIENT)] = value

        def probe_start_response(status, headers, exc_info=None):
            found = {name.lower(): v for name, v in headers}
            extra = []
            if sysmeta_name(level) in found:
                extra.append(('X-Probe-Kept',
                              found[sysmeta_name(level)]))
            if TRANSIENT in found:
                extra.append(('X-Probe-Transient', found[TRANSIENT]))
            if looked_up is not None:
                extra.append(('X-Probe-Looked-Up', looked_up))
            return start_response(status, list(headers) + extra, exc_info)
        return self.app(environ, probe_start_response)

    def lookup(self, environ, level):
        sub = make_subrequest(environ, 'HEAD', environ['PATH_INFO'],
                              source='sysmeta_probe')
        resp = sub.get_response(self.app)
        return resp.headers.get(sysmeta_name(level), '')


def filter_factory(global_conf, **local_conf):
    return SysmetaProbe
