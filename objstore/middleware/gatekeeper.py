"""gatekeeper: clients neither set nor see system metadata or backend headers.

Owns the border between clients and everything behind the front of the
proxy pipeline. System metadata (``X-Account-Sysmeta-*``,
``X-Container-Sysmeta-*``, ``X-Object-Sysmeta-*``,
``X-Object-Transient-Sysmeta-*``) is where middlewares keep state they must
be able to trust, and ``X-Backend-*`` is the proxy's private language with
the storage servers; a client that could set either could forge that state,
and one that could read them would learn it. So this filter removes them
from every request it passes on and from every response it passes back.

It sits right after catch_errors, before anything that may set sysmeta
(Swift's order), so that middlewares further down set and read sysmeta
through their own (sub)requests freely. It must not look at paths or auth.
"""

import dataclasses

from objstore.common.config import ConfBase
from objstore.common.http import environ_key
from objstore.common.log import get_logger

# Lower-case header name prefixes that only the cluster itself may use.
EXCLUDED_PREFIXES = (
    'x-account-sysmeta-', 'x-container-sysmeta-', 'x-object-sysmeta-',
    'x-object-transient-sysmeta-', 'x-backend-')
# The same prefixes as WSGI environ keys; a header spelled with '_' lands
# on the same key as with '-', so neither spelling gets through.
EXCLUDED_ENVIRON_PREFIXES = tuple(
    environ_key(prefix) for prefix in EXCLUDED_PREFIXES)


@dataclasses.dataclass(frozen=True)
class GatekeeperConf(ConfBase):
    log_name: str = 'gatekeeper'


def is_excluded(name):
    """Whether a header name is the cluster's own.

    >>> is_excluded('X-Object-Sysmeta-Foo'), is_excluded('x-backend-x')
    (True, True)
    >>> is_excluded('X-Object-Meta-Foo'), is_excluded('X-Sysmeta-Foo')
    (False, False)
    """
    return name.lower().startswith(EXCLUDED_PREFIXES)


def strip_request_headers(environ):
    """Remove the excluded headers from a WSGI environ; their keys, sorted.

    >>> env = {'HTTP_X_OBJECT_SYSMETA_A': '1', 'HTTP_X_OBJECT_META_A': '2'}
    >>> strip_request_headers(env), env
    (['HTTP_X_OBJECT_SYSMETA_A'], {'HTTP_X_OBJECT_META_A': '2'})
    """
    removed = sorted(key for key in environ
                     if key.startswith(EXCLUDED_ENVIRON_PREFIXES))
    for key in removed:
        del environ[key]
    return removed


def allowed_response_headers(headers):
    """The (name, value) pairs of a response a client may see.

    >>> allowed_response_headers([('X-Backend-Timestamp', '1'),
    ...                           ('Etag', 'e')])
    [('Etag', 'e')]
    """
    return [(name, value) for name, value in headers
            if not is_excluded(name)]


class Gatekeeper:
    """The WSGI filter: strips excluded headers both ways."""

    def __init__(self, app, conf, logger=None):
        self.app = app
        self.conf = GatekeeperConf.from_conf(conf)
        self.logger = logger or get_logger(conf, self.conf.log_name)

    def __call__(self, environ, start_response):
        removed = strip_request_headers(environ)
        if removed:
            self.logger.debug('removed request headers: %s', removed)

        def gatekeeper_start_response(status, headers, exc_info=None):
            allowed = allowed_response_headers(headers)
            if len(allowed) != len(headers):
                self.logger.debug(
                    'removed response headers: %s',
                    [name for name, _ in headers if is_excluded(name)])
            return start_response(status, allowed, exc_info)
        return self.app(environ, gatekeeper_start_response)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)

    def gatekeeper_filter(app):
        return Gatekeeper(app, conf)
    return gatekeeper_filter
