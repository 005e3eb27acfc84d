"""What the object, container and account servers share: one WSGI shape.

Owns: the transaction id of a request (the proxy's ``X-Trans-Id``, else a
new one), one access-log line per request (written once the body has
gone, with the body bytes moved), the lookup of a domain error in a
server's error -> status table (``error_status``), the catch-all that logs
the traceback and answers 500, and the request parsing every storage
server does alike: the path (``request_path``, ``split_storage_path``,
``log_path``), the partition and the ``X-Timestamp``.

Must not: know what a verb means, or how a server words its error bodies
(each server's ``error_response``).
"""

import time
import uuid
from urllib.parse import quote

from objstore.common.constraints import check_name
from objstore.common.exceptions import InvalidInput, InvalidTimestamp
from objstore.common.http import HTTPException, Request, split_path
from objstore.common.log import log_access, set_txn_id
from objstore.common.timestamp import Timestamp

# WSGI environ key: body bytes a request brought in, for the access line.
BYTES_RECEIVED = 'objstore.bytes_received'
NAME_KINDS = ('account', 'container', 'object')


# -- request parsing ---------------------------------------------------------

def request_path(environ):
    """PATH_INFO as sent: UTF-8, invalid bytes kept as lone surrogates so
    the name checks reject them."""
    raw = environ.get('PATH_INFO', '')
    return raw.encode('latin-1').decode('utf-8', 'surrogateescape')


def log_path(environ):
    """The request path for logs: quoted bytes, whatever their encoding."""
    return quote(environ.get('PATH_INFO', '').encode('latin-1'))


def printable(text):
    """``text`` with the surrogates of invalid UTF-8 shown as U+FFFD."""
    return text.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')


def is_ascii_digits(text):
    """``isdigit`` alone takes digits ``int`` cannot read ('\\xb2')."""
    return text.isascii() and text.isdigit()


def parse_partition(value):
    """A partition as it comes in a path: decimal ASCII digits."""
    if not is_ascii_digits(value):
        raise InvalidInput('Invalid partition: %r' % printable(value))
    return value


def split_storage_path(path, minsegs, maxsegs):
    """[device, partition, account, container?, object?], names checked.

    Accounts, containers and objects are checked with
    constraints.check_name; the partition must be a decimal number.

    >>> split_storage_path('/sda/7/a/c', 3, 5)
    ['sda', '7', 'a', 'c', None]
    """
    try:
        parts = split_path(path, minsegs, maxsegs, True)
    except ValueError:
        raise InvalidInput('Invalid path: %s' % printable(path))
    device, partition = parts[0], parts[1]
    if device in ('.', '..') or not device.isprintable():
        raise InvalidInput('Invalid device: %r' % printable(device))
    parse_partition(partition)
    for kind, value in zip(NAME_KINDS, parts[2:]):
        if value is not None:
            # Storage servers serve only the proxy, which lets a reserved
            # name through for middlewares only (common.constraints).
            check_name(value, kind, allow_reserved=True)
    return parts


def required_timestamp(headers, name='X-Timestamp'):
    """The Timestamp in header ``name``; InvalidInput if missing or bad."""
    value = headers.get(name)
    if not value:
        raise InvalidInput('Missing %s header' % name)
    try:
        return Timestamp(value)
    except InvalidTimestamp:
        raise InvalidInput('Invalid %s header: %r' % (name, value))


# -- domain errors -----------------------------------------------------------

def error_status(err, table):
    """The status ``table`` ({domain error class: status}) gives ``err``,
    the nearest class in its MRO first; InvalidInput carries its own;
    None for an error no table entry covers (a bug: 500).

    >>> error_status(InvalidInput('bad', status=411), {})
    411
    >>> error_status(KeyError('k'), {LookupError: 404})
    404
    """
    if isinstance(err, InvalidInput):
        return err.status
    for kind in type(err).__mro__:
        if kind in table:
            return table[kind]
    return None


def error_message(err):
    """One line naming what went wrong, for an error body."""
    text = str(err) or type(err).__name__
    return text.splitlines()[0]


# -- the server skeleton -----------------------------------------------------

class StorageServer:
    """Base of the object, container and account WSGI apps.

    Subclasses set ``verbs``, ``error_statuses`` (their one domain error ->
    status table) and ``self.logger``, and define ``dispatch(req)`` (call
    the verb) and ``error_response(status, message)`` (their error body).
    """

    verbs = ()
    error_statuses = {}

    def __call__(self, environ, start_response):
        started = time.monotonic()
        req = Request(environ)
        txn_id = req.headers.get('X-Trans-Id') or 'tx' + uuid.uuid4().hex
        set_txn_id(txn_id)
        resp = self.handle(req)
        resp.headers['X-Trans-Id'] = txn_id
        return self._logged(resp(environ, start_response), req, resp,
                            started, txn_id)

    def handle(self, req):
        """The response to ``req``; never raises."""
        if req.method not in self.verbs:
            return self.error_response(
                405, 'Method %s not allowed' % req.method)
        try:
            return self.dispatch(req)
        except HTTPException as err:
            return err
        except Exception as err:  # noqa: B902 -- the WSGI catch-all
            status = error_status(err, self.error_statuses)
            if status is not None:
                return self.error_response(status, error_message(err))
            self.logger.exception('ERROR %s %s', req.method,
                                  log_path(req.environ))
            return self.error_response(
                500, 'Internal error: %s' % type(err).__name__)

    def dispatch(self, req):
        raise NotImplementedError

    def error_response(self, status, message):
        raise NotImplementedError

    def _logged(self, app_iter, req, resp, started, txn_id):
        """Pass the body through, then write the access line: bytes sent
        for a GET, bytes received otherwise."""
        sent = 0
        try:
            for chunk in app_iter:
                sent += len(chunk)
                yield chunk
        finally:
            close = getattr(app_iter, 'close', None)
            if close:
                close()
            nbytes = sent if req.method == 'GET' else \
                req.environ.get(BYTES_RECEIVED, 0)
            log_access(self.logger, req.method, log_path(req.environ),
                       resp.status_int, nbytes, time.monotonic() - started,
                       txn_id, req.remote_addr)
            set_txn_id(None)
