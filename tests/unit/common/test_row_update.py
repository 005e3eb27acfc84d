"""common.row_update: the X-<Kind>-Host make/parse pair (IPv6 included,
comma lists, bad input) and the row-update client against a real WSGI
server on a loopback port (IPv4 and IPv6), a node that accepts and never
answers, and a dead port."""

import logging
import socket

import pytest

from objstore.common.row_update import (
    RowUpdateClient, make_host, make_host_list, parse_host, split_list,
    update_nodes)
from objstore.common.wsgi import serve_in_thread


@pytest.mark.parametrize('ip, port, host', [
    ('127.0.0.1', 6201, '127.0.0.1:6201'),
    ('::1', 6201, '[::1]:6201'),
    ('[::1]', '6201', '[::1]:6201'),
    ('fe80::1:2', 80, '[fe80::1:2]:80'),
    ('node1.example', 6202, 'node1.example:6202'),
])
def test_make_and_parse_are_a_pair(ip, port, host):
    assert make_host(ip, port) == host
    assert parse_host(host) == (ip.strip('[]'), int(port))


@pytest.mark.parametrize('bad', [
    '', 'nohost', ':80', 'h:', 'h:x', '[::1]', '[]:80', 'h:-1', 'h:\xb2',
    None])
def test_parse_host_refuses_malformed(bad):
    with pytest.raises(ValueError):
        parse_host(bad)


def test_host_list_round_trips_through_the_headers():
    ring_nodes = [{'ip': '10.0.0.1', 'port': 6201},
                  {'ip': '::1', 'port': 6201}]
    value = make_host_list(ring_nodes)
    assert value == '10.0.0.1:6201,[::1]:6201'
    assert [parse_host(h) for h in split_list(value)] == [
        ('10.0.0.1', 6201), ('::1', 6201)]


def test_split_list_drops_blanks_and_spaces():
    assert split_list(' a , ,b,') == ['a', 'b']
    assert split_list('') == [] and split_list(None) == []


def test_update_nodes_one_partition_for_all_hosts():
    headers = {'X-Account-Host': '[::1]:6202, 10.0.0.2:6202',
               'X-Account-Partition': '9',
               'X-Account-Device': 'sda,sdb'}
    assert update_nodes(headers, 'Account') == [
        {'host': '[::1]:6202', 'partition': '9', 'device': 'sda'},
        {'host': '10.0.0.2:6202', 'partition': '9', 'device': 'sdb'}]


def test_update_nodes_none_when_counts_disagree():
    assert update_nodes({'X-Container-Host': 'a:1,b:2',
                         'X-Container-Partition': '1',
                         'X-Container-Device': 'sda'}, 'Container') is None
    assert update_nodes({'X-Container-Host': 'a:1,b:2',
                         'X-Container-Partition': '1,2,3',
                         'X-Container-Device': 'sda,sdb'},
                        'Container') is None
    assert update_nodes({}, 'Container') == []


class _RowApp:
    """A DB node stand-in: records each row update, answers ``status``."""

    def __init__(self, status='201 Created'):
        self.status = status
        self.seen = []

    def __call__(self, environ, start_response):
        self.seen.append((environ['REQUEST_METHOD'], environ['PATH_INFO'],
                          environ.get('HTTP_X_TIMESTAMP')))
        start_response(self.status, [('Content-Length', '0')])
        return [b'']


@pytest.fixture
def logger():
    return logging.getLogger('test_row_update')


@pytest.mark.parametrize('bind', ['127.0.0.1', '::1'])
def test_client_delivers_to_a_real_node(bind, logger):
    app = _RowApp()
    server = serve_in_thread(app, host=bind)
    try:
        ip, port = parse_host(make_host(bind, server.port))
        client = RowUpdateClient(logger, conn_timeout=1, node_timeout=2)
        status = client.send(ip, port, 'PUT', '/sda/7/a/c/o',
                             {'X-Timestamp': '0000000001.00000'})
    finally:
        server.stop()
    assert status == 201
    assert app.seen == [('PUT', '/sda/7/a/c/o', '0000000001.00000')]


def test_client_passes_error_statuses_on(logger):
    server = serve_in_thread(_RowApp('404 Not Found'))
    try:
        client = RowUpdateClient(logger, conn_timeout=1, node_timeout=2)
        status = client.send('127.0.0.1', server.port, 'DELETE', '/d/1/a/c',
                             {})
    finally:
        server.stop()
    assert status == 404


def test_client_gives_up_on_a_node_that_never_answers(logger, caplog):
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    try:
        client = RowUpdateClient(logger, conn_timeout=0.2, node_timeout=0.2)
        with caplog.at_level(logging.WARNING, logger=logger.name):
            status = client.send('127.0.0.1', listener.getsockname()[1],
                                 'PUT', '/d/1/a/c/o', {})
    finally:
        listener.close()
    assert status is None
    assert 'PUT /d/1/a/c/o to 127.0.0.1:' in caplog.text


def test_client_reports_a_dead_port_as_not_delivered(logger):
    probe = socket.socket()
    probe.bind(('127.0.0.1', 0))
    port = probe.getsockname()[1]
    probe.close()
    client = RowUpdateClient(logger, conn_timeout=0.5, node_timeout=0.5)
    assert client.send('127.0.0.1', port, 'PUT', '/d/1/a/c', {}) is None
