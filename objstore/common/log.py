"""Process logging: one format everywhere, the transaction id in each line.

``get_logger(conf, name)`` configures a logger from a service's conf
(``log_name``, ``log_level``, ``log_file``; stderr when no file). The
transaction id of the request being served lives in a green-thread local
set by the servers (``set_txn_id``) and is added to every line.

One record is one line: names and headers come from clients, and a CR or
LF in them must not forge a log line. So every message has its control
characters escaped (``OneLineFilter``), and access lines percent-quote
each field as Swift's access log does (``log_access``). Tracebacks keep
their own line breaks.
"""

import logging
import re
import sys
import time
from urllib.parse import quote

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


# C0 controls and DEL: each would end, rewind or garble a line in a log.
_CONTROL_ESCAPES = {code: '\\x%02x' % code for code in (*range(0x20), 0x7f)}


def escape_controls(text):
    """``text`` with control characters as visible escapes.

    >>> escape_controls('/a/c/o\\r\\nforged line')
    '/a/c/o\\\\x0d\\\\x0aforged line'
    """
    return text.translate(_CONTROL_ESCAPES)


class OneLineFilter(logging.Filter):
    """Formats each message once, with its control characters escaped."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:
            return True     # let the handler report the bad format call
        record.msg, record.args = escape_controls(message), None
        return True


def _make_handler(log_file):
    if log_file:
        return logging.FileHandler(log_file, encoding='utf-8')
    return logging.StreamHandler(sys.stderr)


def _skip_unused_record_fields():
    """Records stop collecting what LOG_FORMAT never shows: the thread,
    the process and the caller's source line (the logging docs'
    "Optimization" switches). Under eventlet the current thread's name
    is a lookup among green threads, and the caller a walk up the stack:
    together most of the cost of an access line."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None


def get_logger(conf, name=None):
    """A configured logger for one service; idempotent per name."""
    _skip_unused_record_fields()
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
        handler.addFilter(OneLineFilter())
        logger.addHandler(handler)
        logger._objstore_handler = wanted
    return logger


# What an access-line field keeps as it is: the characters of a URL, '%'
# included since a raw path arrives quoted already. Everything else
# (controls, spaces, quotes, non-ASCII) is percent-quoted, so a line always
# has the same fields whatever the client sent.
ACCESS_SAFE = "/:@&=+$,;!~*'()?%[]"


# A field made only of what ``quote`` keeps (its always-safe ASCII plus
# ACCESS_SAFE): most fields, which then skip the encode-and-scan of quote.
_UNQUOTED_FIELD = re.compile(r"[A-Za-z0-9_.~/:@&=+$,;!*'()?%\[\]-]*\Z")


def quote_field(value):
    """One access-line field; '-' when there is none.

    >>> quote_field('/v1/a/c/o\\n1.2.3.4 "GET /forged"')
    '/v1/a/c/o%0A1.2.3.4%20%22GET%20/forged%22'
    >>> quote_field('/sda/5/a/c/o%20x'), quote_field(None)
    ('/sda/5/a/c/o%20x', '-')
    """
    if value is None or value == '':
        return '-'
    value = str(value)
    if _UNQUOTED_FIELD.match(value):
        return value
    return quote(value, safe=ACCESS_SAFE)


# Where a middleware that speaks another API (s3api) names the operation a
# request is (``PutObject``), for the access line.
OPERATION_KEY = 'objstore.operation'


def log_access(logger, method, path, status, nbytes, duration, txn_id,
               client=None, operation=None):
    """The one access line a server writes per request; ``operation``,
    when given, ends it as ``op:<name>``."""
    line = '%s "%s %s" %s %s %.4f txn:%s' % (
        quote_field(client), quote_field(method), quote_field(path),
        status, nbytes if nbytes is not None else '-', duration,
        quote_field(txn_id))
    if operation:
        line += ' op:' + quote_field(operation)
    if not _write_access_line(logger, line):
        logger.info('%s', line, extra={'access': True})


def _write_access_line(logger, message):
    """Write an access line straight to the one handler get_logger gave
    ``logger``, as LOG_FORMAT lays it out; False when the logger is not
    that plain (another handler, INFO off, ...) and logging must do it.

    Every request writes one, and logging's way (a LogRecord, two
    filters, a Formatter) cost more than the write itself; the line needs
    none of it: its fields are quoted already and it has no txn suffix.
    """
    if len(logger.handlers) != 1 or \
            not getattr(logger, '_objstore_handler', None):
        return False
    handler = logger.handlers[0]
    if logger.disabled or not logger.isEnabledFor(logging.INFO) or \
            handler.level > logging.INFO or handler.stream is None:
        return False
    text = '%s %s INFO: %s\n' % (asctime(time.time()), logger.name, message)
    with handler.lock:
        try:
            handler.stream.write(text)
            handler.stream.flush()
        except (OSError, ValueError):
            return False
    return True


_asctime_cache = [None, '']


def asctime(now):
    """``now`` as logging.Formatter's default asctime shows it (local
    time, milliseconds after a comma); the part without milliseconds is
    made once per second."""
    second = int(now)
    if _asctime_cache[0] != second:
        _asctime_cache[:] = [second, time.strftime('%Y-%m-%d %H:%M:%S',
                                                   time.localtime(second))]
    return '%s,%03d' % (_asctime_cache[1], (now - second) * 1000)
