"""etc/rsyncd.conf-sample must not hand the devices to the whole network:
its modules are writable without a password."""

import ipaddress
import pathlib

SAMPLE = pathlib.Path(__file__).parents[3] / 'etc' / 'rsyncd.conf-sample'


def global_settings(text):
    """rsyncd.conf ``key = value`` pairs before the first [module]."""
    settings = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('['):
            break
        if line and not line.startswith('#') and '=' in line:
            key, value = line.split('=', 1)
            settings[key.strip()] = value.strip()
    return settings


def test_sample_binds_one_address_and_allows_only_listed_hosts():
    settings = global_settings(SAMPLE.read_text())
    assert not ipaddress.ip_address(settings['address']).is_unspecified
    allowed = settings['hosts allow'].split()
    assert allowed and '*' not in allowed
    for net in allowed:
        assert ipaddress.ip_network(net).prefixlen > 0
    assert settings['hosts deny'] == '*'
