"""Device description strings and device search filters.

Owns the operator-facing device syntax that swift-ring-builder made familiar:

* a device string ``r1z1-127.0.0.1:6200R127.0.0.1:6300/d1_meta`` (region,
  zone, ip:port, optional replication ip:port, device name, optional meta),
  parsed by ``parse_dev_string``;
* a search value ``d3``, ``z2``, ``127.0.0.1:6200/d1`` ... parsed by
  ``parse_search_value`` into a filter dict, matched by ``dev_matches``;
* ``normalize_dev``, the one place a device dict is checked and given its
  canonical types.

Pure functions: no I/O, no builder state. Errors are ValueError with a
message fit for one line on an operator's terminal.
"""

import ipaddress
import re

DEV_KEYS = ('id', 'region', 'zone', 'ip', 'port', 'replication_ip',
            'replication_port', 'device', 'weight', 'meta')

# An address is an IPv4 literal, a bracketed IPv6 literal or a lower-case
# host name. Host names are kept lower case so that the upper-case 'R' that
# introduces the replication address can never be mistaken for part of one.
_ADDR = r'(?:\[[0-9A-Fa-f:.]+\]|[0-9a-z][0-9a-z.\-]*)'
_DEV_STRING_RE = re.compile(
    r'^(?:r(?P<region>\d+))?z(?P<zone>\d+)-'
    r'(?P<ip>' + _ADDR + r'):(?P<port>\d+)'
    r'(?:R(?P<replication_ip>' + _ADDR + r'):(?P<replication_port>\d+))?'
    r'/(?P<device>[^/_\s]+)'
    r'(?:_(?P<meta>.*))?$')

# Search values are a sequence of optional pieces, each introduced by its own
# marker, in this fixed order (the order swift-ring-builder uses).
_SEARCH_PIECES = (
    ('id', re.compile(r'd(\d+)')),
    ('region', re.compile(r'r(\d+)')),
    ('zone', re.compile(r'z(\d+)')),
    # A bare address must be an IP literal; a host name needs the '-'
    # (as in r1z1-host:6200) so that 'q7' is an error, not a host.
    ('ip', re.compile(r'(?:-(' + _ADDR + r')'
                      r'|([0-9][0-9.]*|\[[0-9A-Fa-f:.]+\]))(?=$|[:R/_])')),
    ('port', re.compile(r':(\d+)')),
    ('replication_ip', re.compile(r'R(' + _ADDR + r')(?=$|[:/_])')),
    ('replication_port', re.compile(r':(\d+)')),
    ('device', re.compile(r'/([^/_\s]+)')),
    ('meta', re.compile(r'_(.*)$')),
)
_INT_KEYS = frozenset(('id', 'region', 'zone', 'port', 'replication_port'))


def normalize_ip(value):
    """Canonical form of an address: compressed IP literal or host name.

    >>> normalize_ip('[::0001]')
    '::1'
    """
    text = str(value).strip()
    if text.startswith('[') and text.endswith(']'):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not re.fullmatch(r'[0-9A-Za-z][0-9A-Za-z.\-]*', text):
        raise ValueError('invalid ip address or host name %r' % value)
    return text.lower()


def _check_port(value, what):
    port = int(value)
    if not 1 <= port <= 65535:
        raise ValueError('%s %s is outside 1..65535' % (what, value))
    return port


def parse_dev_string(text):
    """Parse ``[r<region>]z<zone>-<ip>:<port>[R<ip>:<port>]/<name>[_<meta>]``.

    The region defaults to 1. The replication address defaults to the
    service address. Weight is not part of the string.

    >>> sorted(parse_dev_string('r1z2-10.0.0.1:6200/sdb1').items())[:4]
    [('device', 'sdb1'), ('ip', '10.0.0.1'), ('meta', ''), ('port', 6200)]
    """
    match = _DEV_STRING_RE.match(text or '')
    if not match:
        raise ValueError(
            'invalid device string %r; expected '
            'r<region>z<zone>-<ip>:<port>[R<ip>:<port>]/<device>[_<meta>]'
            % text)
    fields = match.groupdict()
    ip = normalize_ip(fields['ip'])
    port = _check_port(fields['port'], 'port')
    if fields['replication_ip']:
        replication_ip = normalize_ip(fields['replication_ip'])
        replication_port = _check_port(fields['replication_port'],
                                       'replication port')
    else:
        replication_ip, replication_port = ip, port
    return {
        'region': int(fields['region'] or 1),
        'zone': int(fields['zone']),
        'ip': ip,
        'port': port,
        'replication_ip': replication_ip,
        'replication_port': replication_port,
        'device': fields['device'],
        'meta': fields['meta'] or '',
    }


def parse_search_value(text):
    """Turn a search value into a filter dict (keys from DEV_KEYS).

    >>> parse_search_value('z2')
    {'zone': 2}
    >>> parse_search_value('127.0.0.1:6200/d1')
    {'ip': '127.0.0.1', 'port': 6200, 'device': 'd1'}
    """
    rest = (text or '').strip()
    if not rest:
        raise ValueError('empty search value')
    found = {}
    for key, pattern in _SEARCH_PIECES:
        match = pattern.match(rest)
        if not match:
            continue
        # The ip piece has two alternative groups; an empty meta ('_')
        # is a value too (devices without meta), so test for None.
        value = next(group for group in match.groups() if group is not None)
        if key in _INT_KEYS:
            value = int(value)
        elif key in ('ip', 'replication_ip'):
            value = normalize_ip(value)
        found[key] = value
        rest = rest[match.end():]
    if rest or not found:
        raise ValueError('invalid search value %r (e.g. d3, z2, '
                         '127.0.0.1:6200/d1, r1z1-10.0.0.1:6200/sdb1)'
                         % text)
    return found


def dev_matches(dev, search_filter):
    """True when every key of the filter equals the device's value."""
    return dev is not None and all(
        dev.get(key) == value for key, value in search_filter.items())


def format_dev(dev):
    """The device string of a device, the inverse of parse_dev_string."""

    def addr(ip):
        return '[%s]' % ip if ':' in ip else ip

    text = 'r%dz%d-%s:%d' % (dev['region'], dev['zone'], addr(dev['ip']),
                             dev['port'])
    if (dev['replication_ip'], dev['replication_port']) != (dev['ip'],
                                                           dev['port']):
        text += 'R%s:%d' % (addr(dev['replication_ip']),
                            dev['replication_port'])
    text += '/' + dev['device']
    if dev.get('meta'):
        text += '_' + dev['meta']
    return text


def _number(dev, key, kind):
    try:
        return kind(dev[key])
    except KeyError:
        raise ValueError('device has no %s' % key) from None
    except (TypeError, ValueError):
        raise ValueError('device %s %r is not a number'
                         % (key, dev[key])) from None


def normalize_dev(dev):
    """Check a device dict and return a copy with canonical types.

    Needs region (default 1), zone, ip, port, device, weight; replication
    address defaults to the service address; meta defaults to ''. Keeps
    'id' when given. Raises ValueError on anything missing or out of range.
    """
    region = _number({'region': dev.get('region', 1)}, 'region', int)
    zone = _number(dev, 'zone', int)
    weight = _number(dev, 'weight', float)
    if weight < 0 or weight != weight or weight == float('inf'):
        raise ValueError('weight %r must be a finite number >= 0'
                         % dev['weight'])
    if region < 0 or zone < 0:
        raise ValueError('region and zone must be >= 0')
    if not dev.get('ip'):
        raise ValueError('device has no ip')
    ip = normalize_ip(dev['ip'])
    port = _check_port(_number(dev, 'port', int), 'port')
    replication_ip = normalize_ip(dev.get('replication_ip') or ip)
    replication_port = _check_port(
        dev.get('replication_port') or port, 'replication port')
    name = str(dev.get('device') or '')
    if not re.fullmatch(r'[^/_\s]+', name):
        raise ValueError('invalid device name %r (no "/", "_" or spaces)'
                         % name)
    out = {'region': region, 'zone': zone, 'ip': ip, 'port': port,
           'replication_ip': replication_ip,
           'replication_port': int(replication_port), 'device': name,
           'weight': weight, 'meta': str(dev.get('meta') or '')}
    if dev.get('id') is not None:
        out['id'] = _number(dev, 'id', int)
    return out
