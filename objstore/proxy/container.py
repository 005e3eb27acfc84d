"""Container level: ``/v1/<account>/<container>`` GET (object listing),
HEAD, PUT, POST, DELETE.

Owns the container rules of the API: name and metadata checks, ACL
cleaning (``swift.clean_acl`` of the auth middleware, 400 when invalid),
``X-Storage-Policy`` (a PUT binds the container to a policy by name or
alias; without it the container servers give a new container the default
one; GET/HEAD name the bound policy), creating the account
on its owner's first container PUT, pairing each container replica with an
account replica to update (``X-Account-Host/-Partition/-Device``), and
hiding ACLs from non-owners. Reaches the container servers over HTTP only.
"""

from objstore.common.constraints import check_metadata, check_name
from objstore.common.exceptions import InvalidInput
from objstore.common.http import (
    HTTPBadRequest, HTTP_NOT_FOUND, POLICY_DEFAULT_HEADER, POLICY_HEADER,
    Response, html_error, is_success)
from objstore.proxy.account import AccountController
from objstore.proxy.base import (
    RESELLER_REQUEST, Controller, paired_by_server, update_headers)

ACL_HEADERS = ('X-Container-Read', 'X-Container-Write')


def requested_policy(policies, headers):
    """The policy an X-Storage-Policy header names (any case, name or
    alias), None without one; InvalidInput (400) for an unknown or
    deprecated one, with Swift's texts."""
    name = headers.get('X-Storage-Policy')
    if not name:
        return None
    policy = policies.get_by_name(name)
    if policy is None:
        raise InvalidInput("Invalid X-Storage-Policy '%s'" % name)
    if policy.is_deprecated:
        raise InvalidInput('Storage Policy %r is deprecated' % policy.name)
    return policy


class ContainerController(Controller):
    server_type = 'container'

    def __init__(self, app, account, container, obj=None,
                 allow_reserved=False):
        super().__init__(app, account, container)
        check_name(account, 'account')
        check_name(container, 'container', allow_reserved)

    @property
    def path(self):
        return '/%s/%s' % (self.account, self.container)

    def _part(self):
        return self.app.container_ring.get_part(self.account, self.container)

    # Set when this request created the account (its owner's first use).
    account_is_new = False

    def failure_headers(self, req):
        """A reseller sees ``X-Container-Sharding`` on a missing
        container's answer too, as in Swift, when the account existed
        (Swift answers in a missing account before asking any container
        server; objstore creates it, see ``_autocreate_account``)."""
        if req.environ.get(RESELLER_REQUEST, False) and \
                not self.account_is_new:
            return [('X-Container-Sharding', 'False')]
        return []

    def GETorHEAD(self, req):
        denied = self.authorize(req)
        if denied is not None:
            info = self.container_info(req)
            denied = self.authorize(req, info.get('read_acl'))
            if denied is not None:
                return denied
        elif self.is_owner(req):
            self._autocreate_account(req)
        return self.get_or_head(
            req, self.app.container_ring, self._part(), self.path,
            self.backend_headers(req, forward=True),
            query=req.query_string or None, owner=self.is_owner(req))

    GET = HEAD = GETorHEAD

    def _clean_acls(self, req):
        """Normalize ACL headers in place; a 400 response when invalid."""
        clean = req.environ.get('swift.clean_acl')
        for name in ACL_HEADERS:
            if name in req.headers and clean is not None:
                try:
                    req.headers[name] = clean(name, req.headers[name])
                except ValueError as err:
                    # Swift's proxy sends ACL reasons with swob's type
                    return html_error(HTTPBadRequest, str(err))
        return None

    def _check_write(self, req):
        check_metadata(req.headers, 'container')
        return self._clean_acls(req)

    def _autocreate_account(self, req):
        """Make sure the account exists; an error response when it cannot."""
        info = self.account_info(req)
        if is_success(info['status']):
            return None
        if info['status'] != HTTP_NOT_FOUND or \
                not self.app.conf.account_autocreate:
            return Response(status=info['status'], content_type='text/plain',
                            body=('Account %s is not available\n'
                                  % self.account).encode('utf-8'))
        account = AccountController(self.app, self.account)
        resp = account.autocreate(req)
        if not is_success(resp.status_int):
            return resp
        self.account_is_new = True
        return None

    def extra_client_headers(self, backend_headers):
        """X-Storage-Policy: the name of the container's policy."""
        index = backend_headers.get(POLICY_HEADER.lower())
        if index is None:
            return []
        policy = self.app.policies.get_by_index(index)
        if policy is None:
            self.app.logger.error('%s: container has unknown policy index '
                                  '%r', self.path, index)
            return []
        return [('X-Storage-Policy', policy.name)]

    def _write(self, req, method, forward=True, policy=None):
        """Fan ``method`` out to the container replicas; a PUT names its
        ``policy``, or the default for a container it creates."""
        ring = self.app.container_ring
        account_part, account_nodes = self.app.account_ring.get_nodes(
            self.account)
        base = self.backend_headers(req, self.new_timestamp(), forward)
        del base[POLICY_HEADER]
        if policy is not None:
            base[POLICY_HEADER] = str(policy.index)
        elif method == 'PUT':
            base[POLICY_DEFAULT_HEADER] = str(self.app.policies.default.index)
        account_nodes = paired_by_server(
            account_nodes, ring.get_part_nodes(self._part()))
        headers_list = [dict(base, **pair) for pair in update_headers(
            'Account', account_nodes, account_part, ring.replica_count)]
        resp = self.fan_out(req, ring, self._part(), method, self.path,
                            headers_list)
        self.invalidate(req, self.account, self.container)
        self.invalidate(req, self.account)
        return resp

    def PUT(self, req):
        bad = self._check_write(req)
        if bad is not None:
            return bad
        policy = requested_policy(self.app.policies, req.headers)
        denied = self.authorize(req)
        if denied is not None:
            return denied
        missing = self._autocreate_account(req)
        if missing is not None:
            return missing
        return self._write(req, 'PUT', policy=policy)

    def POST(self, req):
        bad = self._check_write(req)
        if bad is not None:
            return bad
        denied = self.authorize(req)
        if denied is not None:
            return denied
        self._autocreate_account(req)
        return self._write(req, 'POST')

    def DELETE(self, req):
        denied = self.authorize(req)
        if denied is not None:
            return denied
        return self._write(req, 'DELETE', forward=False)

