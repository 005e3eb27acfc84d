"""Prometheus metrics of a running aio: the proxy's and a storage
server's /metrics move with the requests they serve, and the object
server reports its node's devices and daemons."""

import http.client
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.functional.test_api import connect


def scrape(host, port):
    """{(sample name, frozenset(labels)): value} of one /metrics."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request('GET', '/metrics')
        resp = conn.getresponse()
        body = resp.read().decode()
        assert resp.status == 200
        assert resp.getheader('Content-Type').startswith('text/plain')
    finally:
        conn.close()
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(body)
            for sample in family.samples}


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope='module')
def conn(cluster):
    return connect(cluster)


def proxy_address(cluster):
    url = cluster.proxy_url.split('//', 1)[1]
    host, port = url.rsplit(':', 1)
    return host.strip('[]'), int(port)


def test_proxy_counts_requests_and_bytes(cluster, conn):
    host, port = proxy_address(cluster)
    before = scrape(host, port)
    container = 'metrics-' + uuid.uuid4().hex[:8]
    conn.put_container(container)
    for _ in range(3):
        conn.put_object(container, 'o', b'x' * 1000)
    conn.get_object(container, 'o')
    after = scrape(host, port)
    labels = {'server': 'proxy-server', 'method': 'PUT', 'status': '2xx'}
    assert value(after, 'objstore_requests_total', **labels) - \
        value(before, 'objstore_requests_total', **labels) >= 4
    received = 'objstore_received_bytes_total'
    assert value(after, received, server='proxy-server') - \
        value(before, received, server='proxy-server') >= 3000
    count = 'objstore_request_duration_seconds_count'
    assert value(after, count, server='proxy-server', method='GET') > \
        value(before, count, server='proxy-server', method='GET')


def test_object_server_reports_requests_and_its_node(cluster, conn):
    ring = cluster.ring('object')
    dev = ring.devs[0]
    before = scrape(dev['ip'], dev['port'])
    container = 'metrics-' + uuid.uuid4().hex[:8]
    conn.put_container(container)
    for number in range(20):
        conn.put_object(container, 'o%d' % number, b'y')
    after = scrape(dev['ip'], dev['port'])
    server = [labels for name, labels in after
              if name == 'objstore_requests_total'
              and ('method', 'PUT') in labels]
    assert server, 'no PUT counted by the object server'
    puts = dict(server[0])
    assert value(after, 'objstore_requests_total', **puts) > \
        value(before, 'objstore_requests_total', **puts)
    assert value(after, 'objstore_device_size_bytes',
                 device=dev['device']) > 0
    assert value(after, 'objstore_device_mounted', device=dev['device']) \
        == 1
    assert ('objstore_async_pendings',
            frozenset({('device', dev['device'])})) in after


def test_metrics_is_public_on_the_proxy_and_other_verbs_pass(cluster):
    host, port = proxy_address(cluster)
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request('PUT', '/metrics')
        resp = conn.getresponse()
        resp.read()
        # Not ours: down the pipeline, where it is no API path.
        assert resp.status == 412
    finally:
        conn.close()
