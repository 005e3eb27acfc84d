"""account_quotas: a reseller admin caps what an account may store.

Owns Swift's account quotas. ``X-Account-Quota-Bytes`` and
``X-Account-Quota-Count`` on an account PUT/POST (and the legacy
``X-Account-Meta-Quota-Bytes``, taken as ``X-Account-Quota-Bytes``; the
``X-Remove-`` forms clear them) are accepted only from a reseller admin
(``environ['reseller_request']``, which tempauth sets for
``.reseller_admin`` users): anyone else gets 403, a value that is not a
non-negative integer 400. The quotas are kept in account sysmeta
(``X-Account-Sysmeta-Quota-Bytes``/``-Count``), which account owners
cannot write, and shown back as ``X-Account-Quota-Bytes``/``-Count``.
An object PUT that would take the account over either quota gets 413
``Upload exceeds quota.`` (after auth allowed it, see
container_quotas.refuse_after_authorize); reseller admins are never held
to it. Like container_quotas it sits after copy and bulk, so copies and
archive members count too.

Per-policy quotas, as Swift's: ``X-Account-Quota-Bytes-Policy-<name>``
and ``X-Account-Quota-Count-Policy-<name>`` (same rules; kept as
``X-Account-Sysmeta-Quota-Bytes-Policy-<index>``) cap what the account
stores in containers of that policy, checked against the account's
``X-Account-Storage-Policy-<Name>-*`` usage: 413 ``Upload exceeds policy
quota.``. The policies come from objstore.conf in ``conf_dir``.

Must not enforce anything on its own answers' way back: it only reads.
"""

from objstore.common.http import (
    HTTPBadRequest, HTTPForbidden, Request)
from objstore.common.info import get_account_info, get_container_info
from objstore.common.storage_policy import load_policies
from objstore.common.subrequest import add_capability, path_parts
from objstore.middleware.container_quotas import (
    QUOTA_EXCEEDED, refuse_after_authorize)

POLICY_QUOTA_EXCEEDED = 'Upload exceeds policy quota.'

RESELLER_REQUEST_KEY = 'reseller_request'
QUOTA_KINDS = ('Quota-Bytes', 'Quota-Count')
# Old header -> the one it stands for when that one is not sent.
LEGACY_HEADERS = {
    'X-Account-Meta-Quota-Bytes': 'X-Account-Quota-Bytes',
    'X-Remove-Account-Meta-Quota-Bytes': 'X-Remove-Account-Quota-Bytes',
}


def quota_kinds(policies):
    """{header kind: sysmeta kind}: the account-wide quotas and, per
    policy, the ones named by policy name and kept by policy index.

    >>> from objstore.common.storage_policy import StoragePolicies
    >>> kinds = quota_kinds(StoragePolicies.from_sections({}))
    >>> kinds['Quota-Count-Policy-Policy-0']
    'Quota-Count-Policy-0'
    """
    kinds = {kind: kind for kind in QUOTA_KINDS}
    for policy in policies:
        for kind in QUOTA_KINDS:
            kinds['%s-Policy-%s' % (kind, policy.name)] = \
                '%s-Policy-%d' % (kind, policy.index)
    return kinds


def requested_quotas(headers, kinds=None):
    """{sysmeta kind: value} of the quotas an account PUT/POST sets ('' clears).

    >>> requested_quotas({'X-Account-Meta-Quota-Bytes': '5'})
    {'Quota-Bytes': '5'}
    >>> requested_quotas({'X-Account-Quota-Count': '3',
    ...                   'X-Remove-Account-Quota-Count': 'x'})
    {'Quota-Count': ''}
    """
    headers = {name.lower(): value for name, value in dict(headers).items()}
    for legacy, current in LEGACY_HEADERS.items():
        if headers.get(legacy.lower()) is not None and \
                not headers.get(current.lower()):
            headers[current.lower()] = headers[legacy.lower()]
    quotas = {}
    for kind, stored in (kinds or {k: k for k in QUOTA_KINDS}).items():
        value = headers.get('x-account-%s' % kind.lower())
        if headers.get('x-remove-account-%s' % kind.lower()):
            value = ''
        if value is not None:
            quotas[stored] = value
    return quotas


def _stored_quota(info, kind, legacy=False):
    """The account's quota of ``kind`` ('quota-bytes'), or None."""
    value = info.get('sysmeta', {}).get(kind)
    if value is None and legacy:
        value = info.get('meta', {}).get(kind)
    try:
        quota = int(value)
    except (TypeError, ValueError):
        return None
    return quota if quota >= 0 else None


def exceeds_account_quota(info, content_length):
    """Whether one more object of ``content_length`` bytes takes the
    account of ``info`` over a quota.

    >>> info = {'bytes': 5, 'total_object_count': 1,
    ...         'sysmeta': {'quota-bytes': '6'}, 'meta': {}}
    >>> exceeds_account_quota(info, 1), exceeds_account_quota(info, 2)
    (False, True)
    >>> exceeds_account_quota({'bytes': 0, 'total_object_count': 3,
    ...     'sysmeta': {'quota-count': '3'}}, 0)
    True
    """
    quota = _stored_quota(info, 'quota-bytes', legacy=True)
    if quota is not None and info.get('bytes', 0) + content_length > quota:
        return True
    quota = _stored_quota(info, 'quota-count')
    return quota is not None and info.get('total_object_count', 0) + 1 > quota


def exceeds_policy_quota(info, policy, content_length):
    """Whether one more object of ``content_length`` bytes in a container
    of ``policy`` takes the account of ``info`` over that policy's quota.

    >>> from objstore.common.storage_policy import StoragePolicy
    >>> gold = StoragePolicy(2, ('Gold',))
    >>> info = {'sysmeta': {'quota-bytes-policy-2': '10'},
    ...         'storage_policies': {'gold': {'bytes': 8}}}
    >>> exceeds_policy_quota(info, gold, 2), exceeds_policy_quota(info, gold, 3)
    (False, True)
    """
    usage = info.get('storage_policies', {}).get(policy.name.lower(), {})
    quota = _stored_quota(info, 'quota-bytes-policy-%d' % policy.index)
    if quota is not None and usage.get('bytes', 0) + content_length > quota:
        return True
    quota = _stored_quota(info, 'quota-count-policy-%d' % policy.index)
    return quota is not None and usage.get('object_count', 0) + 1 > quota


class AccountQuotaMiddleware:
    def __init__(self, app, conf=None):
        self.app = app
        self.conf = conf or {}
        self.policies = load_policies(
            self.conf.get('conf_dir', '/etc/objstore'))
        self.kinds = quota_kinds(self.policies)

    def __call__(self, environ, start_response):
        add_capability(environ, 'account_quotas')
        try:
            _v, _account, container, obj = path_parts(environ, 2)
        except ValueError:
            return self.app(environ, start_response)
        if container is None:
            return self.handle_account(Request(environ))(environ,
                                                         start_response)
        if environ['REQUEST_METHOD'] == 'PUT' and obj is not None and \
                environ.get(RESELLER_REQUEST_KEY) is not True:
            refusal = self._quota_refusal(Request(environ))
            if refusal is not None:
                return refusal(environ, start_response)
        return self.app(environ, start_response)

    def _quota_refusal(self, req):
        """A 413 (once auth allowed the PUT) when it goes over a quota of
        the account or of the container's policy, else None."""
        environ = req.environ
        length = req.content_length or 0
        info = get_account_info(environ, self.app, swift_source='AQ')
        if exceeds_account_quota(info, length):
            return refuse_after_authorize(environ, QUOTA_EXCEEDED)
        if not any(key.startswith('quota-') and '-policy-' in key
                   for key in info.get('sysmeta', {})):
            return None
        container = get_container_info(environ, self.app,
                                       swift_source='AQ')
        policy = self.policies.get_by_index(
            container.get('storage_policy') or 0)
        if policy is not None and exceeds_policy_quota(info, policy,
                                                       length):
            return refuse_after_authorize(environ, POLICY_QUOTA_EXCEEDED)
        return None

    def handle_account(self, req):
        """Translate quota headers to sysmeta on the way in (reseller
        admins only) and sysmeta to quota headers on the way out."""
        if req.method in ('PUT', 'POST'):
            quotas = requested_quotas(req.headers, self.kinds)
            if quotas and req.environ.get(RESELLER_REQUEST_KEY) is not True:
                return HTTPForbidden()
            if any(value and not value.isdigit()
                   for value in quotas.values()):
                return HTTPBadRequest()
            for kind, value in quotas.items():
                req.headers['X-Account-Sysmeta-%s' % kind] = value
        resp = req.get_response(self.app)
        for kind, stored in self.kinds.items():
            value = resp.headers.get('X-Account-Sysmeta-%s' % stored)
            if value:
                resp.headers['X-Account-%s' % kind] = value
        return resp


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: AccountQuotaMiddleware(app, conf)
