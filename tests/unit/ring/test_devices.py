"""Device strings, search values and device normalisation (pure)."""

import pytest

from objstore.ring.devices import (dev_matches, format_dev, normalize_dev,
                                   parse_dev_string, parse_search_value)


def test_full_dev_string():
    dev = parse_dev_string('r2z3-127.0.0.1:6200R127.0.0.2:6300/d1_ssd fast')
    assert dev == {'region': 2, 'zone': 3, 'ip': '127.0.0.1', 'port': 6200,
                   'replication_ip': '127.0.0.2', 'replication_port': 6300,
                   'device': 'd1', 'meta': 'ssd fast'}


def test_dev_string_defaults_region_and_replication_address():
    dev = parse_dev_string('z1-10.0.0.5:6201/sdb')
    assert dev['region'] == 1
    assert (dev['replication_ip'], dev['replication_port']) == \
        ('10.0.0.5', 6201)
    assert dev['meta'] == ''


def test_dev_string_ipv6_and_hostname():
    dev = parse_dev_string('r1z1-[::0001]:6200R[fe80::1]:6300/d1')
    assert dev['ip'] == '::1'
    assert dev['replication_ip'] == 'fe80::1'
    assert parse_dev_string('z1-store-1.example:6200/d1')['ip'] == \
        'store-1.example'


@pytest.mark.parametrize('text', [
    '', 'r1z1-127.0.0.1:6200', 'r1z1-127.0.0.1/d1', 'r1-127.0.0.1:6200/d1',
    'r1z1-127.0.0.1:62x0/d1', 'r1z1-127.0.0.1:0/d1',
    'r1z1-127.0.0.1:70000/d1', 'r1z1-127.0.0.1:6200R127.0.0.1/d1',
    'rXz1-127.0.0.1:6200/d1', 'r1z1-127.0.0.1:6200/', 'r1z1 127.0.0.1:6200/d1',
])
def test_malformed_dev_strings(text):
    with pytest.raises(ValueError):
        parse_dev_string(text)


def test_format_dev_round_trips():
    for text in ('r1z2-127.0.0.1:6200/d1',
                 'r3z4-10.1.1.1:6200R10.2.2.2:6300/sdb1_meta data',
                 'r1z1-[::1]:6200/d9'):
        dev = parse_dev_string(text)
        assert format_dev(dev) == text
        assert parse_dev_string(format_dev(dev)) == dev


@pytest.mark.parametrize('text, expected', [
    ('d3', {'id': 3}),
    ('z2', {'zone': 2}),
    ('r1z2', {'region': 1, 'zone': 2}),
    ('127.0.0.1:6200/d1', {'ip': '127.0.0.1', 'port': 6200, 'device': 'd1'}),
    ('r1z1-127.0.0.1:6200/d1', {'region': 1, 'zone': 1, 'ip': '127.0.0.1',
                                'port': 6200, 'device': 'd1'}),
    ('/sdb1', {'device': 'sdb1'}),
    ('127.0.0.1R127.0.0.2:6300', {'ip': '127.0.0.1',
                                  'replication_ip': '127.0.0.2',
                                  'replication_port': 6300}),
    ('d0_fast', {'id': 0, 'meta': 'fast'}),
])
def test_search_values(text, expected):
    assert parse_search_value(text) == expected


@pytest.mark.parametrize('text', ['', '  ', 'q7', 'z', 'd3 z2', 'z2/'])
def test_bad_search_values(text):
    with pytest.raises(ValueError):
        parse_search_value(text)


def test_dev_matches():
    dev = normalize_dev(dict(parse_dev_string('r1z2-127.0.0.1:6200/d1'),
                             weight=1, id=4))
    assert dev_matches(dev, {'zone': 2})
    assert dev_matches(dev, {'id': 4, 'device': 'd1'})
    assert not dev_matches(dev, {'zone': 2, 'device': 'd2'})
    assert not dev_matches(None, {'zone': 2})


def test_normalize_dev_converts_types_and_defaults():
    dev = normalize_dev({'zone': '2', 'ip': '127.0.0.1', 'port': '6200',
                         'device': 'd1', 'weight': '100'})
    assert dev == {'region': 1, 'zone': 2, 'ip': '127.0.0.1', 'port': 6200,
                   'replication_ip': '127.0.0.1', 'replication_port': 6200,
                   'device': 'd1', 'weight': 100.0, 'meta': ''}


@pytest.mark.parametrize('change', [
    {'weight': -1}, {'weight': 'heavy'}, {'weight': float('nan')},
    {'weight': float('inf')}, {'port': 0}, {'port': 'x'}, {'ip': ''},
    {'ip': 'not an ip!'}, {'device': 'a/b'}, {'device': ''}, {'zone': -1},
])
def test_normalize_dev_rejects(change):
    dev = {'zone': 1, 'ip': '127.0.0.1', 'port': 6200, 'device': 'd1',
           'weight': 1}
    dev.update(change)
    with pytest.raises(ValueError):
        normalize_dev(dev)


def test_normalize_dev_needs_zone_and_weight():
    with pytest.raises(ValueError):
        normalize_dev({'ip': '127.0.0.1', 'port': 1, 'device': 'd',
                       'weight': 1})
    with pytest.raises(ValueError):
        normalize_dev({'zone': 1, 'ip': '127.0.0.1', 'port': 1, 'device': 'd'})


def test_search_value_host_names_need_the_dash():
    assert parse_search_value('z1-store-1:6200') == {
        'zone': 1, 'ip': 'store-1', 'port': 6200}
