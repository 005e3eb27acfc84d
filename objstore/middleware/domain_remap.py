"""domain_remap: the account and container named by the Host, as Swift's.

A request to ``<container>.<account>.<storage_domain>/<object>`` (or
``<account>.<storage_domain>/...``) is served as
``/<path_root>/<account>/<container>/<object>``: virtual-hosted names,
e.g. for StaticWeb sites under their own host names. Owns parsing the
Host against ``storage_domain`` (comma-separated; a leading dot
optional), the account's reseller prefix (``reseller_prefixes``, any
case, ``-`` allowed for its ``_`` because DNS names have none;
``default_reseller_prefix`` added to a bare name), ``mangle_client_paths``
(a path already starting with path_root loses it), and writing the
client's path back into ``Location``/``Content-Location`` answers. A Host
outside the storage domain passes untouched; one with more than two
names before it is 400 ``Bad domain in host header``.
"""

import dataclasses
import re
from urllib.parse import quote

from objstore.common.config import ConfBase
from objstore.common.http import HTTPBadRequest, text_error
from objstore.common.subrequest import add_capability

LOCATION_HEADERS = ('location', 'content-location')


@dataclasses.dataclass(frozen=True)
class DomainRemapConf(ConfBase):
    storage_domain: tuple[str, ...] = ('example.com',)
    path_root: str = 'v1'
    reseller_prefixes: tuple[str, ...] = ('AUTH',)
    default_reseller_prefix: str = ''
    mangle_client_paths: bool = False


class BadDomain(ValueError):
    """More names before the storage domain than container.account."""


def host_names(host, domains):
    """(container or None, account) named by ``host`` (port dropped)
    under one of ``domains`` (each with its leading dot); None when it is
    under none; BadDomain for more than two names.

    >>> host_names('c.AUTH-a.example.com:8080', ['.example.com'])
    ('c', 'AUTH-a')
    >>> host_names('AUTH_a.example.com', ['.example.com'])
    (None, 'AUTH_a')
    >>> host_names('example.com', ['.example.com']) is None
    True
    """
    name = host.rsplit(':', 1)[0] if ':' in host else host
    domain = next((d for d in domains if name.endswith(d)), None)
    if domain is None:
        return None
    parts = name[:-len(domain)].strip('.').split('.')
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) == 1 and parts[0]:
        return None, parts[0]
    if len(parts) == 1:
        return None
    raise BadDomain(name)


def account_name(name, conf):
    """The account a host name means: its reseller prefix spelled as
    configured (``auth-x`` -> ``AUTH_x``), or the default prefix added;
    None when it has no known prefix and there is no default.

    >>> conf = DomainRemapConf(default_reseller_prefix='')
    >>> account_name('auth-test', conf), account_name('other', conf)
    ('AUTH_test', None)
    >>> account_name('test', DomainRemapConf(default_reseller_prefix='AUTH'))
    'AUTH_test'
    """
    if not conf.reseller_prefixes:
        return name
    if '_' not in name and '-' in name:
        name = name.replace('-', '_', 1)
    prefix = name.split('_', 1)[0].lower()
    for real in conf.reseller_prefixes:
        if real.lower() == prefix:
            return real + name[len(real):]
    if conf.default_reseller_prefix:
        return '%s_%s' % (conf.default_reseller_prefix, name)
    return None


def remapped_path(path, account, container, conf):
    """The API path of a request for ``path`` on the account's (and
    container's) host.

    >>> remapped_path('/o', 'AUTH_a', 'c', DomainRemapConf())
    '/v1/AUTH_a/c/o'
    >>> remapped_path('/v1/c/o', 'AUTH_a', None,
    ...               DomainRemapConf(mangle_client_paths=True))
    '/v1/AUTH_a/c/o'
    """
    root = conf.path_root.strip('/')
    rest = path[1:]
    if conf.mangle_client_paths and (rest + '/').startswith(root + '/'):
        rest = rest[len(root) + 1:]
    parts = ['', root, account] + ([container] if container else [])
    return '/'.join(parts + [rest])


def wsgi_quote(path):
    """The URL form of a WSGI path (a str of the path's bytes)."""
    return quote(path.encode('latin-1'))


class DomainRemapMiddleware:
    def __init__(self, app, conf):
        self.app = app
        self.conf = DomainRemapConf.from_conf(conf)
        self.domains = ['.' + d.lstrip('.') for d in self.conf.storage_domain]

    def __call__(self, environ, start_response):
        add_capability(environ, 'domain_remap',
                       default_reseller_prefix=(
                           self.conf.default_reseller_prefix or None))
        host = environ.get('HTTP_HOST') or environ.get('SERVER_NAME', '')
        try:
            names = host_names(host, self.domains)
        except BadDomain:
            return text_error(HTTPBadRequest, 'Bad domain in host header')(
                environ, start_response)
        if names is None:
            return self.app(environ, start_response)
        container, account = names
        account = account_name(account, self.conf)
        if account is None:
            return self.app(environ, start_response)
        requested = environ['PATH_INFO']
        environ['PATH_INFO'] = remapped_path(requested, account, container,
                                             self.conf)
        return self.app(environ, self._location_rewriter(
            start_response, requested, environ['PATH_INFO']))

    @staticmethod
    def _location_rewriter(start_response, requested, rewritten):
        """A start_response writing the client's path back into
        Location headers that name the remapped one."""
        pattern = re.compile(r'^(https?://[^/]+)%s(.*)$'
                             % re.escape(wsgi_quote(rewritten)))
        client_path = wsgi_quote(requested).replace('\\', '\\\\')

        def rewriting(status, headers, exc_info=None):
            headers = [(name, pattern.sub(r'\g<1>%s\g<2>' % client_path,
                                          value)
                        if name.lower() in LOCATION_HEADERS else value)
                       for name, value in headers]
            return start_response(status, headers, exc_info)
        return rewriting


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    DomainRemapConf.from_conf(conf)

    def domain_remap_filter(app):
        return DomainRemapMiddleware(app, conf)
    return domain_remap_filter
