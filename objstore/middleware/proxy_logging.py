"""proxy_logging: one access-log line per client request.

Owns the access line (client address, method, path, status, bytes sent,
duration, transaction id, and the operation name a middleware speaking
another API left in ``environ[OPERATION_KEY]``, such as S3's
``PutObject``), written when the response body has been sent or the
client went away (499). The path is logged quoted, as the client
sent it (common.log.log_access quotes every field), never decoded: a
name with CR/LF in it must not forge a line; signatures in the query
(TempURL, S3 presigned URLs) are cut to 16 characters. Subrequests made by
middlewares further down (COPY) do not pass here, so each client request
is logged once.
"""

import dataclasses
import re
import time
from urllib.parse import quote

from objstore.common.config import ConfBase
from objstore.common.log import OPERATION_KEY, get_logger, log_access


@dataclasses.dataclass(frozen=True)
class ProxyLoggingConf(ConfBase):
    access_log_name: str = 'proxy-access'
    log_name: str = 'proxy-access'


# Query parameters that are credentials: logged cut to their first
# REVEALED_PREFIX characters, as Swift does, so the log cannot replay them.
SECRET_PARAMS = re.compile(
    r'(^|&)(temp_url_sig|signature|x-amz-signature|x-amz-credential)='
    r'([^&]*)', re.IGNORECASE)
REVEALED_PREFIX = 16


def obscured_query(query):
    """``query`` with every credential cut short.

    >>> obscured_query('temp_url_sig=' + 'a' * 40 + '&temp_url_expires=9')
    'temp_url_sig=aaaaaaaaaaaaaaaa...&temp_url_expires=9'
    """
    def cut(match):
        value = match.group(3)
        if len(value) > REVEALED_PREFIX:
            value = value[:REVEALED_PREFIX] + '...'
        return '%s%s=%s' % (match.group(1), match.group(2), value)
    return SECRET_PARAMS.sub(cut, query)


def logged_path(environ):
    """The request target, percent-quoted: the raw one the server kept, or
    PATH_INFO (latin-1 by WSGI's rules) quoted again.

    >>> logged_path({'PATH_INFO': '/v1/a/c/o\\r\\n', 'QUERY_STRING': 'x=1'})
    '/v1/a/c/o%0D%0A?x=1'
    """
    path = environ.get('RAW_PATH_INFO') or quote(
        environ.get('PATH_INFO', '').encode('latin-1', 'backslashreplace'))
    if environ.get('QUERY_STRING'):
        path += '?' + obscured_query(environ['QUERY_STRING'])
    return path


def _client_of(environ):
    forwarded = environ.get('HTTP_X_FORWARDED_FOR')
    if forwarded:
        return forwarded.split(',')[0].strip()
    return environ.get('REMOTE_ADDR')


class LoggedBody:
    """Wraps an app_iter: counts bytes, logs once at close."""

    def __init__(self, app_iter, on_done):
        self._app_iter = app_iter
        self._on_done = on_done
        self.sent = 0
        self.completed = False

    def __iter__(self):
        for chunk in self._app_iter:
            self.sent += len(chunk)
            yield chunk
        self.completed = True

    def close(self):
        try:
            close = getattr(self._app_iter, 'close', None)
            if close is not None:
                close()
        finally:
            self._on_done(self)


class ProxyLogging:
    def __init__(self, app, conf, logger=None, clock=time.monotonic):
        self.app = app
        self.conf = ProxyLoggingConf.from_conf(conf)
        self.logger = logger or get_logger(
            dict(conf, log_name=self.conf.access_log_name))
        self.clock = clock

    def __call__(self, environ, start_response):
        started = self.clock()
        method = environ.get('REQUEST_METHOD')
        path = logged_path(environ)
        status_seen = []

        def start_logged(status, headers, exc_info=None):
            status_seen.append(status.split(' ', 1)[0])
            return start_response(status, headers, exc_info)

        def done(body):
            # A body not sent to its end means the client went away.
            status = status_seen[-1] if status_seen and body.completed \
                else '499'
            log_access(self.logger, method, path, status, body.sent,
                       self.clock() - started,
                       environ.get('swift.trans_id'), _client_of(environ),
                       environ.get(OPERATION_KEY))
        return LoggedBody(self.app(environ, start_logged), done)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: ProxyLogging(app, conf)
