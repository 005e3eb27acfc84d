"""container_quotas: a container's owner caps its size and object count.

Owns Swift's container quotas: ``X-Container-Meta-Quota-Bytes`` and
``X-Container-Meta-Quota-Count``, plain user metadata set by whoever may
POST to the container. A container PUT/POST with a value that is not a
non-negative integer gets 400 (``Invalid bytes quota.`` /
``Invalid count quota.``); an object PUT that would take the container
over either quota gets 413 ``Upload exceeds quota.``. It sits after copy
(a COPY reaches it as the PUT of the destination, with its length) and
after bulk (every archive member is a PUT subrequest), so both are held to
the quota as well.

The 413 comes only to a client that may write there: the check replaces
the request's ``swift.authorize`` by one that answers 413 once the real
decision allowed the write (``refuse_after_authorize``, shared with
account_quotas), so an anonymous client still sees 401, as in Swift.

Must not change the metadata itself: the container server keeps it.
"""

from objstore.common.http import (
    HTTPBadRequest, HTTPRequestEntityTooLarge, Request, html_error,
    is_success)
from objstore.common.info import get_container_info
from objstore.common.subrequest import add_capability, path_parts

QUOTA_EXCEEDED = 'Upload exceeds quota.'
# Request header -> Swift's 400 text when its value is not a count.
QUOTA_HEADERS = {
    'X-Container-Meta-Quota-Bytes': 'Invalid bytes quota.',
    'X-Container-Meta-Quota-Count': 'Invalid count quota.',
}


def invalid_quota(headers):
    """Swift's 400 text for the first quota header in ``headers`` that is
    neither empty (a removal) nor a non-negative integer; else None.

    >>> invalid_quota({'X-Container-Meta-Quota-Bytes': '-1'})
    'Invalid bytes quota.'
    >>> invalid_quota({'X-Container-Meta-Quota-Count': ''}) is None
    True
    """
    for name, reason in QUOTA_HEADERS.items():
        value = headers.get(name)
        if value and not value.isdigit():
            return reason
    return None


def exceeds_container_quota(info, content_length):
    """Whether one more object of ``content_length`` bytes takes the
    container of ``info`` over a quota (quotas that are not counts are
    ignored, as Swift does).

    >>> info = {'bytes': 8, 'object_count': 1,
    ...         'meta': {'quota-bytes': '10', 'quota-count': '2'}}
    >>> exceeds_container_quota(info, 2), exceeds_container_quota(info, 3)
    (False, True)
    >>> exceeds_container_quota(dict(info, object_count=2), 0)
    True
    """
    meta = info.get('meta', {})
    quota_bytes = meta.get('quota-bytes', '')
    if quota_bytes.isdigit() and \
            int(info.get('bytes', 0)) + content_length > int(quota_bytes):
        return True
    quota_count = meta.get('quota-count', '')
    return quota_count.isdigit() and \
        int(info.get('object_count', 0)) + 1 > int(quota_count)


def refuse_after_authorize(environ, reason):
    """Make the request's decision answer 413 ``reason`` where it would
    have allowed the request; its denials (401/403) stand. Without a
    decision (no auth middleware) the 413 is returned at once."""
    refusal = html_error(HTTPRequestEntityTooLarge, reason)
    authorize = environ.get('swift.authorize')
    if authorize is None:
        return refusal

    def authorize_then_refuse(req):
        return authorize(req) or refusal
    environ['swift.authorize'] = authorize_then_refuse
    return None


class ContainerQuotaMiddleware:
    def __init__(self, app, conf=None):
        self.app = app
        self.conf = conf or {}

    def __call__(self, environ, start_response):
        add_capability(environ, 'container_quotas')
        method = environ['REQUEST_METHOD']
        if method not in ('PUT', 'POST'):
            return self.app(environ, start_response)
        try:
            _v, _account, container, obj = path_parts(environ, 3)
        except ValueError:
            return self.app(environ, start_response)
        req = Request(environ)
        answer = None
        if obj is None:
            reason = invalid_quota(req.headers)
            if reason is not None:
                answer = html_error(HTTPBadRequest, reason)
        elif method == 'PUT':
            answer = self._check_upload(req)
        if answer is not None:
            return answer(environ, start_response)
        return self.app(environ, start_response)

    def _check_upload(self, req):
        """None when the PUT may go on (maybe to a 413 after auth, see
        ``refuse_after_authorize``), else the answer to give at once."""
        info = get_container_info(req.environ, self.app, swift_source='CQ')
        if not is_success(info['status']):
            return None
        if exceeds_container_quota(info, req.content_length or 0):
            return refuse_after_authorize(req.environ, QUOTA_EXCEEDED)
        return None


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: ContainerQuotaMiddleware(app, conf)
