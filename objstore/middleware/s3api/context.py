"""One S3 request's conversation with the Swift pipeline below s3api.

Owns ``S3Context``: the parsed request, its signature, and ``call``, which
sends a Swift subrequest (common.subrequest) as the signing user and turns
an auth refusal into S3's error. The account is not known until the
signature is verified: the first subrequest is addressed to a placeholder
account and carries the ``verify`` callback (common.access) that the auth
middleware further down (tempauth) runs with its credential lookup;
``verify`` checks the signature with the user's secret and points the
path at the user's account. Later subrequests inherit the identity the
auth middleware gave the first one, so every step of an S3 operation is
authorized exactly as the same user's Swift request would be. A V4
request's signing key is kept once verified (``signing_key``): the
chunks of an aws-chunked body are signed with it.

Each verified access key's account is remembered in the process
(``known_account``): a step that only chooses between two ways of doing
the operation may read the bucket's cached info (bucket_config) before
the first subrequest has verified the signature, as that subrequest
still checks it whichever way is chosen.

Also builds S3's answers (``xml_response``, ``error_response``) with the
request id headers every S3 answer carries.
"""

import io
from urllib.parse import quote

from objstore.common.access import await_signature_check, claim
from objstore.common.http import Response, is_success
from objstore.common.subrequest import make_subrequest
from objstore.middleware.s3api import sigv4
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.payload import (
    HashingInput, PayloadMismatch, body_reader)

# The account of a subrequest sent before the signature is verified; no
# tempauth account can be named so ('.' starts no reseller prefix).
UNVERIFIED_ACCOUNT = '.s3-unverified'
# What the first subrequest's answer carries back to later ones.
IDENTITY_KEYS = ('REMOTE_USER', 'swift.authorize', 'swift.clean_acl')
SOURCE = 'S3'
READ_CHUNK = 65536
# Access key -> (the account a signature of it was last verified for,
# whether its signer owned that account), in this process (bounded): see
# known_account.
VERIFIED_ACCOUNTS = {}
MAX_VERIFIED_ACCOUNTS = 4096


def swift_path(account, container=None, obj=None):
    """``/v1/<account>[/<container>[/<object>]]``, unquoted."""
    path = '/v1/' + account
    if container is not None:
        path += '/' + container
        if obj is not None:
            path += '/' + obj
    return path


def request_id_headers(trans_id):
    return {'x-amz-request-id': trans_id or '',
            'x-amz-id-2': trans_id or ''}


def xml_response(body, status=200, headers=None, trans_id=None):
    resp = Response(status=status, body=body)
    resp.headers.update(request_id_headers(trans_id))
    resp.headers.update(headers or {})
    resp.headers['Content-Type'] = 'application/xml'
    return resp


def error_response(err, resource, trans_id, method='GET'):
    """S3's answer for ``err``: the XML document (no body to a HEAD)."""
    body = b'' if method == 'HEAD' else err.to_xml(resource, trans_id or '')
    resp = xml_response(body, err.status, err.headers, trans_id)
    if method == 'HEAD':
        resp.content_length = 0
    return resp


class S3Context:
    """See module doc. ``signature``: auth.Signature of the request."""

    def __init__(self, environ, app, s3req, signature, conf):
        self.environ = environ
        self.app = app
        self.s3req = s3req
        self.signature = signature
        self.conf = conf
        self.account = None
        self.user = None
        self.auth_error = None
        # The V4 signing key, once the signature checked: aws-chunked
        # bodies' chunk signatures are made with it.
        self.signing_key = None
        self.payload_input = None
        self._identity = {}
        # A decision (common.access) that replaces the auth middleware's
        # for this operation's subrequests: a bucket policy's Allow.
        self.authorization = None

    @property
    def trans_id(self):
        return self.environ.get('swift.trans_id')

    @property
    def groups(self):
        """The signer's groups (``REMOTE_USER``), once verified."""
        remote = self._identity.get('REMOTE_USER') or ''
        return tuple(group for group in remote.split(',') if group)

    # -- the signature check, run by the auth middleware ---------------------

    def _verifier(self, sub_environ):
        def verify(lookup):
            credentials = lookup(self.signature.access_key)
            if credentials is None:
                self.auth_error = S3Error(
                    'InvalidAccessKeyId',
                    AWSAccessKeyId=self.signature.access_key)
                return None
            self.auth_error = self.signature.check(credentials.secret)
            if self.auth_error is not None:
                return None
            self.account = credentials.account
            self.user = credentials.user
            if self.signature.scope is not None:
                self.signing_key = sigv4.signing_key(credentials.secret,
                                                     self.signature.scope)
            placeholder = swift_path(UNVERIFIED_ACCOUNT)
            sub_environ['PATH_INFO'] = swift_path(credentials.account) + \
                sub_environ['PATH_INFO'][len(placeholder):]
            return credentials
        return verify

    # -- subrequests ---------------------------------------------------------

    def call(self, method, container=None, obj=None, headers=None,
             body=None, query=None, client_body=False, environ=None):
        """The Swift answer to ``method`` on the path; raises AccessDenied
        (or the signature's error) when auth refuses.

        ``client_body``: stream the client's body (checked against the
        signed SHA-256, payload module) instead of ``body``. ``environ``:
        keys for the middlewares below (what no client may send).
        """
        first = self.account is None
        account = UNVERIFIED_ACCOUNT if first else self.account
        base = dict(self.environ, **self._identity)
        req = make_subrequest(base, method,
                              swift_path(account, container, obj),
                              headers=headers, body=body, source=SOURCE)
        if query:
            req.environ['QUERY_STRING'] = query
        req.environ.update(environ or {})
        if client_body:
            self._attach_client_body(req)
        if first:
            await_signature_check(req.environ, self._verifier(req.environ))
        elif self.authorization is not None:
            claim(req.environ, self.authorization, override=True)
        resp = req.get_response(self.app)
        if first:
            self._identity = {key: req.environ[key] for key in IDENTITY_KEYS
                              if key in req.environ}
            self._remember_account()
        if resp.status_int == 401:
            raise self.auth_error or S3Error('AccessDenied')
        if resp.status_int == 403:
            raise S3Error('AccessDenied')
        return resp

    def _remember_account(self):
        if self.account is None or self.signature is None:
            return
        if len(VERIFIED_ACCOUNTS) >= MAX_VERIFIED_ACCOUNTS:
            VERIFIED_ACCOUNTS.clear()
        VERIFIED_ACCOUNTS[self.signature.access_key] = (
            self.account, self.is_account_owner())

    def known_account(self, owned=False):
        """The signer's account once verified, else the one its access
        key was verified for before in this process, else None; with
        ``owned``, only an account the signer owns (no ACL keeps it from
        any of its buckets). Only a hint before the signature is checked:
        never authorizes anything."""
        if self.account is not None:
            return self.account if not owned or self.is_account_owner() \
                else None
        if self.signature is None:
            return None
        account, owner = VERIFIED_ACCOUNTS.get(self.signature.access_key,
                                               (None, False))
        return account if owner or not owned else None

    def is_account_owner(self):
        """Whether the verified signer owns the account (its groups, as
        the auth middleware set them, name the account)."""
        groups = self._identity.get('REMOTE_USER', '').split(',')
        return self.account is not None and (
            self.account in groups or '.reseller_admin' in groups)

    def _attach_client_body(self, req):
        length = self.environ.get('CONTENT_LENGTH')
        source = body_reader(self.environ.get('wsgi.input', io.BytesIO(b'')),
                             int(length) if length else None,
                             self.signature.payload_hash)
        if isinstance(source, HashingInput):
            self.payload_input = source
            if length == '0':
                self._check_empty_body(source)
        req.environ['wsgi.input'] = source
        if length:
            req.environ['CONTENT_LENGTH'] = length
        else:
            req.environ.pop('CONTENT_LENGTH', None)
            req.environ['HTTP_TRANSFER_ENCODING'] = 'chunked'

    def _check_empty_body(self, source):
        """An empty body is never read by the proxy: check it here."""
        try:
            source.read(0)
        except PayloadMismatch:
            raise S3Error('XAmzContentSHA256Mismatch',
                          ClientComputedContentSHA256=(
                              self.signature.payload_hash)) from None

    def body_mismatched(self):
        """Whether the client's body failed its signed SHA-256."""
        return self.payload_input is not None and \
            self.payload_input.mismatched

    def bucket_exists(self, bucket):
        """Whether ``bucket`` exists (a HEAD as the client)."""
        return is_success(self.call('HEAD', bucket).status_int)

    def head_key(self, version=None):
        """The HEAD answer of the request's key (``version``: that
        version, Swift's ``version-id``); NoSuchBucket, NoSuchKey or
        NoSuchVersion when it is missing (a version id in a bucket never
        versioned is Swift's 400), ServiceUnavailable when storage fails."""
        bucket, key = self.s3req.bucket, self.s3req.key
        resp = self.call('HEAD', bucket, key, query=None if version is None
                         else 'version-id=' + quote(version))
        if resp.status_int == 404 or (resp.status_int == 400 and version):
            if not self.bucket_exists(bucket):
                raise S3Error('NoSuchBucket', BucketName=bucket)
            if version is not None:
                raise S3Error('NoSuchVersion', Key=key, VersionId=version)
            raise S3Error('NoSuchKey', Key=key)
        if not is_success(resp.status_int):
            raise S3Error('ServiceUnavailable')
        return resp

    def read_body(self, limit):
        """The client's body (up to ``limit`` bytes), for XML requests;
        checked against the signed SHA-256."""
        length = self.environ.get('CONTENT_LENGTH')
        if length and int(length) > limit:
            raise S3Error('MaxMessageLengthExceeded')
        expected = self.signature.payload_hash
        reader = body_reader(self.environ.get('wsgi.input', io.BytesIO(b'')),
                             int(length) if length else None, expected)
        chunks, total = [], 0
        try:
            while True:
                chunk = reader.read(READ_CHUNK)
                if not chunk:
                    return b''.join(chunks)
                total += len(chunk)
                if total > limit:
                    raise S3Error('MaxMessageLengthExceeded')
                chunks.append(chunk)
        except PayloadMismatch:
            raise S3Error('XAmzContentSHA256Mismatch',
                          ClientComputedContentSHA256=expected) from None

    def xml(self, body, status=200, headers=None):
        return xml_response(body, status, headers, self.trans_id)
