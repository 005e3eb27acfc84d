"""Process logging: one format everywhere, the transaction id in each line.

``get_logger(conf, name)`` configures a logger from a service's conf
(``log_name``, ``log_level``, ``log_file``; stderr when no file). The
transaction id of the request being served lives in a green-thread local
set by the servers (``set_txn_id``) and is added to every line.
"""

import logging
import sys

from objstore.common import green

_local = green.green_local()

LOG_FORMAT = '%(asctime)s %(name)s %(levelname)s: %(message)s%(txn_suffix)s'


def set_txn_id(txn_id):
    _local.txn_id = txn_id


def get_txn_id():
    return getattr(_local, 'txn_id', None)


class TxnFilter(logging.Filter):
    """Adds ``txn_suffix`` (`` (txn: <id>)`` or empty) to every record.

    Access lines carry the id in their own field, so they get no suffix.
    """

    def filter(self, record):
        txn_id = None if getattr(record, 'access', False) else get_txn_id()
        record.txn_suffix = ' (txn: %s)' % txn_id if txn_id else ''
        return True


def _make_handler(log_file):
    if log_file:
        return logging.FileHandler(log_file, encoding='utf-8')
    return logging.StreamHandler(sys.stderr)


def get_logger(conf, name=None):
    """A configured logger for one service; idempotent per name."""
    conf = conf or {}
    log_name = conf.get('log_name') or name or 'objstore'
    logger = logging.getLogger('objstore.' + log_name)
    level = str(conf.get('log_level', 'INFO')).upper()
    logger.setLevel(getattr(logging, level, logging.INFO))
    logger.propagate = False
    log_file = conf.get('log_file') or None
    wanted = ('file', log_file) if log_file else ('stderr', None)
    if getattr(logger, '_objstore_handler', None) != wanted:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        handler = _make_handler(log_file)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.addFilter(TxnFilter())
        logger.addHandler(handler)
        logger._objstore_handler = wanted
    return logger


def log_access(logger, method, path, status, nbytes, duration, txn_id,
               client=None):
    """The one access line a server writes per request."""
    logger.info('%s "%s %s" %s %s %.4f txn:%s', client or '-', method, path,
                status, nbytes if nbytes is not None else '-', duration,
                txn_id or '-', extra={'access': True})
