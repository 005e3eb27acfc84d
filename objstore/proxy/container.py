"""Container level: ``/v1/<account>/<container>`` GET (object listing),
HEAD, PUT, POST, DELETE.

Owns the container rules of the API: name and metadata checks, ACL
cleaning (``swift.clean_acl`` of the auth middleware, 400 when invalid),
``X-Storage-Policy`` (only the default policy exists), creating the account
on its owner's first container PUT, pairing each container replica with an
account replica to update (``X-Account-Host/-Partition/-Device``), and
hiding ACLs from non-owners. Reaches the container servers over HTTP only.
"""

from objstore.common.constraints import check_metadata, check_name
from objstore.common.http import (
    HTTPBadRequest, HTTP_NOT_FOUND, Response, is_success, text_error)
from objstore.proxy.account import AccountController
from objstore.proxy.base import Controller, update_headers
from objstore.proxy.info import POLICIES

ACL_HEADERS = ('X-Container-Read', 'X-Container-Write')
# lower-case name -> index of every storage policy /info lists (its place
# in that list).
POLICY_INDEXES = {policy['name'].lower(): index
                  for index, policy in enumerate(POLICIES)}


def policy_index_for(name):
    """Index of a policy name (case-insensitive); ValueError if unknown.

    >>> policy_index_for('Policy-0')
    0
    """
    try:
        return POLICY_INDEXES[name.strip().lower()]
    except KeyError:
        raise ValueError('Invalid X-Storage-Policy %r' % name)


class ContainerController(Controller):
    server_type = 'container'

    def __init__(self, app, account, container, obj=None):
        super().__init__(app, account, container)
        check_name(account, 'account')
        check_name(container, 'container')

    @property
    def path(self):
        return '/%s/%s' % (self.account, self.container)

    def _part(self):
        return self.app.container_ring.get_part(self.account, self.container)

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
                    return text_error(HTTPBadRequest, str(err))
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
        return None

    def _write(self, req, method, forward=True, policy_index=0):
        ring = self.app.container_ring
        account_part, account_nodes = self.app.account_ring.get_nodes(
            self.account)
        base = self.backend_headers(req, self.new_timestamp(), forward,
                                    policy_index)
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
        policy_index = 0
        if 'X-Storage-Policy' in req.headers:
            try:
                policy_index = policy_index_for(
                    req.headers['X-Storage-Policy'])
            except ValueError as err:
                return text_error(HTTPBadRequest, str(err))
        denied = self.authorize(req)
        if denied is not None:
            return denied
        missing = self._autocreate_account(req)
        if missing is not None:
            return missing
        return self._write(req, 'PUT', policy_index=policy_index)

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

