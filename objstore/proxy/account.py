"""Account level: ``/v1/<account>`` GET (container listing), HEAD, POST,
PUT and DELETE (these two only with ``allow_account_management`` and for
reseller admins), and creating an account on its owner's first use
(``account_autocreate``). Reaches the account servers over HTTP only.
"""

from objstore.common.acl import (
    ACCOUNT_ACL_HEADER, ACCOUNT_ACL_SYSMETA, shown_account_acl)
from objstore.common.constraints import check_metadata, check_name
from objstore.common.http import (
    HTTPBadRequest, HTTP_NOT_FOUND, is_success, text_error)
from objstore.proxy.base import Controller


class AccountController(Controller):
    server_type = 'account'
    # PUT and DELETE only with allow_account_management (allowed_methods).
    ALLOWED_METHODS = ('GET', 'HEAD', 'OPTIONS', 'POST')

    def __init__(self, app, account, container=None, obj=None):
        super().__init__(app, account)
        check_name(account, 'account')

    @property
    def path(self):
        return '/%s' % self.account

    def allowed_methods(self):
        if self.app.conf.allow_account_management:
            return self.ALLOWED_METHODS + ('PUT', 'DELETE')
        return self.ALLOWED_METHODS

    def _part(self):
        return self.app.account_ring.get_part(self.account)

    def GETorHEAD(self, req):
        denied = self.authorize(req)
        if denied is not None:
            return denied
        resp = self._read(req)
        if resp.status_int == HTTP_NOT_FOUND and \
                self.app.conf.account_autocreate and self.is_owner(req):
            if is_success(self.autocreate(req).status_int):
                resp = self._read(req)
        return self.show_acl(req, resp)

    GET = HEAD = GETorHEAD

    def show_acl(self, req, resp):
        """Owners see the account's ACL, which the auth middleware keeps in
        sysmeta, as X-Account-Access-Control; nobody sees the sysmeta."""
        shown = shown_account_acl(resp.headers.pop(ACCOUNT_ACL_SYSMETA, ''))
        if shown is not None and self.is_owner(req):
            resp.headers[ACCOUNT_ACL_HEADER] = shown
        return resp

    def _read(self, req):
        ring = self.app.account_ring
        return self.get_or_head(
            req, ring, self._part(), self.path,
            self.backend_headers(req, forward=True),
            query=req.query_string or None, owner=self.is_owner(req))

    def autocreate(self, req):
        """PUT the account to its nodes (none of the client's headers)."""
        resp = self._write(req, 'PUT', forward=False)
        self.app.logger.info('autocreated account %s: %s', self.account,
                             resp.status_int)
        return resp

    def _write(self, req, method, forward=True):
        ring = self.app.account_ring
        headers = self.backend_headers(req, self.new_timestamp(), forward)
        resp = self.fan_out(req, ring, self._part(), method, self.path,
                            [dict(headers) for _ in
                             range(ring.replica_count)])
        self.invalidate(req, self.account)
        return resp

    def POST(self, req):
        check_metadata(req.headers, 'account')
        denied = self.authorize(req)
        if denied is not None:
            return denied
        resp = self._write(req, 'POST')
        if resp.status_int == HTTP_NOT_FOUND and \
                self.app.conf.account_autocreate and self.is_owner(req):
            self.autocreate(req)
            resp = self._write(req, 'POST')
        return resp

    def PUT(self, req):
        check_metadata(req.headers, 'account')
        denied = self.authorize(req)
        if denied is not None:
            return denied
        return self._write(req, 'PUT')

    def DELETE(self, req):
        if req.query_string:
            return text_error(HTTPBadRequest,
                              'DELETE of an account takes no query string')
        denied = self.authorize(req)
        if denied is not None:
            return denied
        return self._write(req, 'DELETE', forward=False)
