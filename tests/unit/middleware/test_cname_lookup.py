"""cname_lookup against a real DNS server on a loopback UDP port (a tiny
one answering from a table, built with dnspython's message types): CNAME
chains to the storage domain, Swift's 400s, caching by TTL, Location
written back, and the sample config."""

import os
import socket
import threading

import dns.message
import dns.rcode
import dns.rrset
import pytest

from objstore.common.exceptions import ConfigError
from objstore.common.http import Request
from objstore.middleware import domain_remap
from objstore.middleware.cname_lookup import (
    CnameLookupConf, CnameLookupMiddleware, filter_factory)
from tests.helpers import SAMPLE_DIR, assert_sample_matches

SAMPLE = os.path.join(SAMPLE_DIR, 'proxy-server.conf-sample')
RECORDS = {
    'www.customer.test': 'c.auth_a.example.com',
    'hop1.customer.test': 'hop2.customer.test',
    'hop2.customer.test': 'c.auth_a.example.com',
    'loop.customer.test': 'loop.customer.test',
    'away.customer.test': 'elsewhere.test',
}


class DnsServer:
    """Answers CNAME queries from RECORDS; NXDOMAIN for other names."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        self.queries = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                wire, client = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(wire)
            name = query.question[0].name.to_text().rstrip('.')
            self.queries.append(name)
            answer = dns.message.make_response(query)
            if name in RECORDS:
                answer.answer.append(dns.rrset.from_text(
                    name + '.', 300, 'IN', 'CNAME', RECORDS[name] + '.'))
            else:
                answer.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(answer.to_wire(), client)

    def close(self):
        self.sock.close()


@pytest.fixture
def dns_server():
    server = DnsServer()
    yield server
    server.close()


def storage(environ, start_response):
    start_response('301 Moved Permanently', [
        ('X-Host', environ.get('HTTP_HOST', '')),
        ('Location', 'http://%s/c/o' % environ.get('HTTP_HOST', ''))])
    return [b'']


def middleware(dns_server, **conf):
    conf.setdefault('nameservers', '127.0.0.1:%d' % dns_server.port)
    return filter_factory({}, **conf)(storage)


def send(app, host):
    return Request.blank('/o', headers={'Host': host}).get_response(app)


def test_cname_to_the_storage_domain(dns_server):
    app = middleware(dns_server)
    resp = send(app, 'www.customer.test:8080')
    assert resp.headers['X-Host'] == 'c.auth_a.example.com:8080'
    assert resp.headers['Location'] == 'http://www.customer.test:8080/c/o'
    # Cached for its TTL: no second query.
    send(app, 'www.customer.test:8080')
    assert dns_server.queries == ['www.customer.test']


def test_chains_follow_up_to_lookup_depth(dns_server):
    assert send(middleware(dns_server, lookup_depth='2'),
                'hop1.customer.test').headers['X-Host'] == \
        'c.auth_a.example.com'
    resp = send(middleware(dns_server), 'hop1.customer.test')
    assert (resp.status_int, resp.body) == (
        400, b'CNAME lookup failed after 1 tries')


@pytest.mark.parametrize('host', ['nothing.test', 'loop.customer.test',
                                  'localhost'])
def test_no_useful_cname_is_refused(dns_server, host):
    resp = send(middleware(dns_server), host)
    assert (resp.status_int, resp.body) == (
        400, b'CNAME lookup failed to resolve to a valid domain')
    assert resp.content_type == 'text/plain'


def test_ips_and_storage_domain_hosts_pass_without_dns(dns_server):
    app = middleware(dns_server)
    for host in ('127.0.0.1:8080', '[::1]:80', 'c.AUTH_a.example.com',
                 'example.com'):
        assert send(app, host).headers['X-Host'] == host
    assert dns_server.queries == []


def test_unreachable_dns_is_a_quick_400():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(('127.0.0.1', 0))
    try:
        app = filter_factory({}, nameservers='127.0.0.1:%d'
                             % sock.getsockname()[1],
                             lookup_timeout='0.3')(storage)
        assert send(app, 'www.customer.test').status_int == 400
    finally:
        sock.close()


def test_bad_nameserver_stops_the_filter():
    with pytest.raises(ConfigError):
        filter_factory({}, nameservers='dns.example.com')
    assert CnameLookupConf.from_conf({'nameservers': '[::1]:53, 10.0.0.1'})


def test_info_section(dns_server):
    environ = Request.blank('/info').environ
    middleware(dns_server, lookup_depth='3')(environ, lambda *a: None)
    assert environ['objstore.capabilities']['cname_lookup'] == {
        'lookup_depth': 3}


def test_sample_matches_dataclass():
    assert_sample_matches(CnameLookupConf, SAMPLE, 'filter:cname_lookup',
                          ignore=('use',))


def test_with_domain_remap_the_customer_host_reaches_its_container(
        dns_server):
    seen = {}

    def recording(environ, start_response):
        seen['path'] = environ['PATH_INFO']
        return storage(environ, start_response)
    app = CnameLookupMiddleware(
        domain_remap.filter_factory({})(recording),
        {'nameservers': '127.0.0.1:%d' % dns_server.port})
    resp = send(app, 'www.customer.test')
    assert resp.status_int == 301
    assert seen['path'] == '/v1/AUTH_a/c/o'
