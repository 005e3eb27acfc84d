"""A daemon's client of the Swift API: a proxy pipeline loaded in-process.

Owns ``InternalClient``: background daemons that act as the cluster's
operator on users' data (the S3 lifecycle daemon) send their requests
through the same middlewares a client's request meets (object
versioning, symlinks, large objects, whatever refuses a delete), not
straight to storage servers, so the rules those middlewares keep hold
for the daemon too. The pipeline is a PasteDeploy pipeline of the
daemon's own config file; it should leave out the gatekeeper (the daemon
reads system metadata) and auth: every request is pre-authorized
(common.subrequest), as Swift's internal client is.

It must not be reachable from outside: no socket is opened.
"""

from objstore.common.subrequest import make_preauthed_subrequest
from objstore.common.wsgi import load_app


class InternalClient:
    """``request(method, path, headers, query)`` -> the Response.

    ``app`` may be injected (tests); otherwise pipeline ``pipeline`` of
    ``conf_path`` is loaded.
    """

    def __init__(self, conf_path=None, pipeline='internal', source='',
                 app=None):
        self.app = app if app is not None else load_app(conf_path, pipeline)
        self.source = source

    def request(self, method, path, headers=None, query=''):
        """``path`` unquoted (``/v1/<account>/...``); ``query`` encoded."""
        req = make_preauthed_subrequest({}, method, path, headers=headers,
                                        source=self.source)
        req.environ['QUERY_STRING'] = query
        return req.get_response(self.app)
