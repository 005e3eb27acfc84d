"""name_check: refuse request paths with forbidden characters, too long,
or with a forbidden substring, before anything else looks at them, as
Swift's name_check does.

Owns the three checks of the request's path (the WSGI ``PATH_INFO``,
percent-decoded, its length counted in bytes): ``forbidden_chars``,
``maximum_length`` and ``forbidden_regexp`` (default: a ``.`` or ``..``
path segment), each refused with 400 and Swift's one-line reason. Only
looks at the path; the proxy's own name rules (common.constraints) still
apply after it.
"""

import dataclasses
import re

from objstore.common.config import ConfBase
from objstore.common.constraints import NAME_LIMITS
from objstore.common.exceptions import ConfigError
from objstore.common.http import HTTPBadRequest, html_error
from objstore.common.subrequest import add_capability

FORBIDDEN_CHARS = '\'"`<>'
MAX_LENGTH = 255
FORBIDDEN_REGEXP = r'/\./|/\.\./|/\.$|/\.\.$'
# The longest path whose names the API itself accepts (``/v1.0/a/c/o``):
# a maximum_length at least this refuses no valid request.
LONGEST_API_PATH = len('/v1.0/') + sum(NAME_LIMITS.values()) + 2


@dataclasses.dataclass(frozen=True)
class NameCheckConf(ConfBase):
    forbidden_chars: str = FORBIDDEN_CHARS
    maximum_length: int = MAX_LENGTH
    # Empty: no substring is forbidden.
    forbidden_regexp: str = FORBIDDEN_REGEXP

    def validate(self):
        if self.maximum_length < 1:
            raise ConfigError('maximum_length must be >= 1')
        try:
            re.compile(self.forbidden_regexp)
        except re.error as err:
            raise ConfigError('forbidden_regexp: %s' % err)


def path_problem(path, conf):
    """Swift's reason for refusing ``path``, None when it passes.

    >>> conf = NameCheckConf()
    >>> path_problem('/v1/a/c/o<', conf)
    'Object/Container/Account name contains forbidden chars from \\'"`<>'
    >>> path_problem('/v1/a/./o', conf).startswith(
    ...     'Object/Container/Account name contains a forbidden substring')
    True
    >>> path_problem('/v1/a/c/o', conf) is None
    True
    """
    if any(char in path for char in conf.forbidden_chars):
        return ('Object/Container/Account name contains forbidden chars '
                'from %s' % conf.forbidden_chars)
    if len(path) > conf.maximum_length:
        return ('Object/Container/Account name longer than the allowed '
                'maximum %s' % conf.maximum_length)
    if conf.forbidden_regexp and re.search(conf.forbidden_regexp, path):
        return ('Object/Container/Account name contains a forbidden '
                'substring from regular expression %s'
                % conf.forbidden_regexp)
    return None


class NameCheckMiddleware:
    def __init__(self, app, conf):
        self.app = app
        self.conf = NameCheckConf.from_conf(conf)

    def __call__(self, environ, start_response):
        add_capability(environ, 'name_check',
                       forbidden_chars=self.conf.forbidden_chars,
                       maximum_length=self.conf.maximum_length,
                       forbidden_regexp=self.conf.forbidden_regexp)
        # PATH_INFO is the WSGI str of the path's bytes: its length is
        # theirs, as Swift counts it.
        problem = path_problem(environ.get('PATH_INFO', ''), self.conf)
        if problem is None:
            return self.app(environ, start_response)
        return html_error(HTTPBadRequest, problem)(environ, start_response)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    NameCheckConf.from_conf(conf)

    def name_check_filter(app):
        return NameCheckMiddleware(app, conf)
    return name_check_filter
