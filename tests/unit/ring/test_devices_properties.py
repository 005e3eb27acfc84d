"""Properties of the operator's device syntax: device strings and search
values parse or raise ValueError, and what parses formats back to itself."""

from hypothesis import example, given, strategies as st

from objstore.ring.devices import (
    DEV_KEYS, format_dev, normalize_dev, parse_dev_string,
    parse_search_value)
from tests.unit.strategies import hostile_text, text_from

DEV_FRAGMENTS = ('r', 'z', 'd', '1', '0', '٣', '-', '127.0.0.1', '10.0.0.1',
                 '[::1]', '[', ']', 'R', ':', '6200', '0', '99999', '/',
                 'sdb1', '_', 'meta', 'host', 'Host', '.', ' ', '\xb2',
                 '9' * 5000)
dev_like = st.one_of(hostile_text, text_from(DEV_FRAGMENTS, max_size=14))

ip = st.one_of(st.ip_addresses().map(str),
               st.from_regex(r'[a-z][a-z0-9\-]{0,8}(\.[a-z0-9]{1,5}){0,2}',
                             fullmatch=True))
port = st.integers(1, 65535)
valid_dev = st.fixed_dictionaries({
    'region': st.integers(0, 99), 'zone': st.integers(0, 99),
    'ip': ip, 'port': port, 'replication_ip': ip,
    'replication_port': port,
    'device': st.from_regex(r'[^/_\s]+', fullmatch=True).filter(
        lambda n: len(n) < 30),
    'meta': st.text(max_size=20).filter(lambda m: '\n' not in m)})


@given(text=dev_like)
@example(text='r1z1-127.0.0.1:' + '9' * 5000 + '/d1')
@example(text='z٣-127.0.0.1:6200/d1')
def test_parse_dev_string_parses_or_raises_value_error(text):
    try:
        dev = parse_dev_string(text)
    except ValueError:
        return
    assert parse_dev_string(format_dev(dev)) == dev
    assert normalize_dev(dict(dev, weight=1.0))


@given(dev=valid_dev)
def test_format_dev_round_trips(dev):
    parsed = parse_dev_string(format_dev(dev))
    normal = normalize_dev(dict(dev, weight=1.0))
    del normal['weight']
    assert parsed == normal


@given(text=dev_like)
@example(text='_')
@example(text='d1_')
def test_parse_search_value_gives_a_filter_or_raises(text):
    try:
        found = parse_search_value(text)
    except ValueError:
        return
    assert found and set(found) <= set(DEV_KEYS)


def test_search_value_with_an_empty_meta_matches_devices_without_meta():
    assert parse_search_value('_') == {'meta': ''}
    assert parse_search_value('d1_') == {'id': 1, 'meta': ''}
