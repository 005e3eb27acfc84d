"""cname_lookup: customer host names mapped to the storage domain through
DNS CNAME records, as Swift's cname_lookup (put it before domain_remap).

A request whose Host is neither an IP address nor under
``storage_domain`` has its host's CNAME looked up (following a chain up to
``lookup_depth`` names); when it ends under the storage domain, the Host
becomes that name (port kept), so ``www.customer.test -> c.AUTH_a.
example.com`` then serves container ``c`` of ``AUTH_a`` through
domain_remap, and ``Location`` answers name the client's host again. A
name with no CNAME, or a chain that never reaches the storage domain, is
400 with Swift's reason. DNS through dnspython, at ``nameservers`` when
given (else the system's), each query bounded by ``lookup_timeout``;
answers are cached per worker for their TTL (Swift caches them in
memcached).

Not in the default pipeline: like Swift's, it refuses every host name
outside the storage domain that has no CNAME (``localhost`` too), and it
needs a reachable DNS server.
"""

import collections
import dataclasses
import ipaddress
import re
import threading
import time

import dns.exception
import dns.resolver

from objstore.common.config import ConfBase
from objstore.common.exceptions import ConfigError
from objstore.common.http import HTTPBadRequest, text_error
from objstore.common.log import get_logger
from objstore.common.subrequest import add_capability

LOCATION_HEADERS = ('location', 'content-location')
# How long a failed lookup (no such name, no CNAME) is remembered, as
# Swift's; a DNS error is not remembered.
NEGATIVE_TTL = 60
CACHE_MAX_ENTRIES = 10000


@dataclasses.dataclass(frozen=True)
class CnameLookupConf(ConfBase):
    storage_domain: tuple[str, ...] = ('example.com',)
    lookup_depth: int = 1
    nameservers: tuple[str, ...] = ()
    lookup_timeout: float = 2.0
    log_name: str = 'cname_lookup'
    log_level: str = 'INFO'
    log_file: str = ''

    def validate(self):
        if self.lookup_depth < 1:
            raise ConfigError('lookup_depth must be >= 1')
        if self.lookup_timeout <= 0:
            raise ConfigError('lookup_timeout must be > 0')
        for server in self.nameservers:
            parse_nameserver(server)


def parse_nameserver(text):
    """(ip, port or None) of ``ip``, ``ip:port`` or ``[ipv6]:port``;
    ConfigError otherwise, with Swift's message.

    >>> parse_nameserver('10.0.0.1:5353'), parse_nameserver('[::1]')
    (('10.0.0.1', 5353), ('::1', None))
    """
    match = re.match(r'^\[([^\]]+)\](?::(\d+))?$', text) or \
        re.match(r'^([^:]+)(?::(\d+))?$', text) or \
        re.match(r'^([0-9a-fA-F:]+)()$', text)
    try:
        ipaddress.ip_address(match.group(1))
    except (AttributeError, ValueError):
        raise ConfigError(
            'Invalid cname_lookup/nameservers configuration found. All '
            'nameservers must be valid IPv4 or IPv6, followed by an '
            'optional :<integer> port.')
    port = match.group(2)
    return match.group(1), int(port) if port else None


def split_host(host):
    """(name, port or '') of a Host value.

    >>> split_host('www.a.test:8080'), split_host('[::1]:80')
    (('www.a.test', '8080'), ('::1', '80'))
    """
    if host.startswith('['):
        name, _, rest = host[1:].partition(']')
        return name, rest.lstrip(':')
    if host.count(':') == 1:
        name, port = host.split(':')
        return name, port
    return host, ''


def is_ip(name):
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def in_domains(name, domains):
    """Whether ``name`` is under one of ``domains`` (leading-dot form).

    >>> in_domains('c.a.example.com', ['.example.com'])
    True
    >>> in_domains('example.com', ['.example.com'])
    True
    """
    return any(('.' + name).endswith(domain) for domain in domains)


class DnsCnames:
    """CNAME lookups through dnspython, cached for their TTL."""

    def __init__(self, nameservers, timeout, clock=time.monotonic):
        self.resolver = dns.resolver.Resolver(configure=not nameservers)
        if nameservers:
            parsed = [parse_nameserver(server) for server in nameservers]
            self.resolver.nameservers = [ip for ip, _port in parsed]
            self.resolver.nameserver_ports = {
                ip: port for ip, port in parsed if port is not None}
        self.resolver.lifetime = timeout
        self.clock = clock
        self._cache = collections.OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, name):
        """The name ``name`` is a CNAME of, False when it has none, None
        when DNS could not say."""
        now = self.clock()
        with self._lock:
            cached = self._cache.get(name)
        if cached is not None and cached[0] > now:
            return cached[1]
        ttl, target = self._query(name)
        if ttl > 0:
            with self._lock:
                self._cache[name] = (now + ttl, target)
                self._cache.move_to_end(name)
                while len(self._cache) > CACHE_MAX_ENTRIES:
                    self._cache.popitem(last=False)
        return target

    def _query(self, name):
        try:
            answer = self.resolver.resolve(name, 'CNAME', search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return NEGATIVE_TTL, False
        except dns.exception.DNSException:
            return 0, None
        target = next(iter(answer.rrset)).target.to_text().rstrip('.')
        return answer.rrset.ttl, target


class CnameLookupMiddleware:
    def __init__(self, app, conf, logger=None, cnames=None):
        self.app = app
        self.conf = CnameLookupConf.from_conf(conf)
        self.logger = logger or get_logger(conf, self.conf.log_name)
        self.domains = ['.' + d.lstrip('.') for d in self.conf.storage_domain]
        self.cnames = cnames or DnsCnames(self.conf.nameservers,
                                          self.conf.lookup_timeout)

    def __call__(self, environ, start_response):
        add_capability(environ, 'cname_lookup',
                       lookup_depth=self.conf.lookup_depth)
        requested = environ.get('HTTP_HOST') or environ.get('SERVER_NAME', '')
        name, port = split_host(requested)
        if not name or is_ip(name) or in_domains(name, self.domains):
            return self.app(environ, start_response)
        found, problem = self.follow(name)
        if problem is not None:
            return text_error(HTTPBadRequest, problem)(environ,
                                                        start_response)
        self.logger.info('Mapped %s to %s', name, found)
        environ['HTTP_HOST'] = '%s:%s' % (found, port) if port else found
        return self.app(environ, self._location_rewriter(
            start_response, requested, environ['HTTP_HOST']))

    def follow(self, name):
        """(storage-domain name, None) that ``name``'s CNAME chain leads
        to, or (None, Swift's reason)."""
        current = name
        for _hop in range(self.conf.lookup_depth):
            found = self.cnames(current)
            if not found or found == current:
                return None, ('CNAME lookup failed to resolve to a valid '
                              'domain')
            if in_domains(found, self.domains):
                return found, None
            self.logger.debug('Following CNAME chain for %s to %s', name,
                              found)
            current = found
        return None, ('CNAME lookup failed after %d tries'
                      % self.conf.lookup_depth)

    @staticmethod
    def _location_rewriter(start_response, requested, rewritten):
        """A start_response naming the client's host again in Location."""
        pattern = re.compile(r'^(https?://)%s(/.*)?$' % re.escape(rewritten))
        replacement = r'\g<1>%s\g<2>' % requested.replace('\\', '\\\\')

        def rewriting(status, headers, exc_info=None):
            headers = [(name, pattern.sub(replacement, value)
                        if name.lower() in LOCATION_HEADERS else value)
                       for name, value in headers]
            return start_response(status, headers, exc_info)
        return rewriting


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    CnameLookupConf.from_conf(conf)

    def cname_lookup_filter(app):
        return CnameLookupMiddleware(app, conf)
    return cname_lookup_filter
