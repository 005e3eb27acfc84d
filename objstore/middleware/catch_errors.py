"""catch_errors: the outermost filter of the proxy pipeline.

Owns the transaction id: made here for every client request (Swift's form,
``tx<21 hex>-<hex epoch>`` plus an optional ``trans_id_suffix``, or the
client's ``X-Trans-Id-Extra`` appended), put in ``environ['swift.trans_id']``
and the log context, and returned as ``X-Trans-Id`` and
``X-Openstack-Request-Id`` on every response, errors included. Any
exception escaping the pipeline becomes a 500 with the id in the log line.
It must not look at paths or auth.
"""

import dataclasses
import os
import time
from urllib.parse import quote

from objstore.common.config import ConfBase
from objstore.common.log import get_logger, set_txn_id

EXTRA_MAX = 32


def make_txn_id(suffix='', now=None, extra=None):
    """A transaction id; unique (random), roughly sortable by time.

    >>> make_txn_id(now=0x5f5e100)[23:]
    '-0005f5e100'
    """
    now = time.time() if now is None else now
    # 21 random hex digits straight from urandom: a uuid4 object made
    # only for its hex was half the cost of this filter.
    txn = 'tx%s-%010x%s' % (os.urandom(11).hex()[:21], int(now), suffix)
    if extra:
        txn += quote(extra[:EXTRA_MAX], safe='')
    return txn


@dataclasses.dataclass(frozen=True)
class CatchErrorsConf(ConfBase):
    trans_id_suffix: str = ''
    log_name: str = 'catch_errors'


class CatchErrors:
    def __init__(self, app, conf, logger=None):
        self.app = app
        self.conf = CatchErrorsConf.from_conf(conf)
        self.logger = logger or get_logger(conf, self.conf.log_name)

    def __call__(self, environ, start_response):
        txn_id = make_txn_id(self.conf.trans_id_suffix,
                             extra=environ.get('HTTP_X_TRANS_ID_EXTRA'))
        environ['swift.trans_id'] = txn_id
        set_txn_id(txn_id)
        id_headers = [('X-Trans-Id', txn_id),
                      ('X-Openstack-Request-Id', txn_id)]
        started = []

        def start_with_ids(status, headers, exc_info=None):
            started.append(status)
            headers = [(k, v) for k, v in headers if k.lower() not in
                       ('x-trans-id', 'x-openstack-request-id')]
            return start_response(status, headers + id_headers, exc_info)
        try:
            return self.app(environ, start_with_ids)
        except Exception:
            self.logger.exception('ERROR unhandled exception in %s %s',
                                  environ.get('REQUEST_METHOD'),
                                  environ.get('PATH_INFO'))
            body = b'An error occurred\n'
            start_with_ids('500 Internal Error', [
                ('Content-Type', 'text/plain'),
                ('Content-Length', str(len(body)))])
            return [body]


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: CatchErrors(app, conf)
