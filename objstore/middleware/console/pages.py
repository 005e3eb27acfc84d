"""HTML of the console's pages, from the values of console.cluster and
console.history.

Owns the markup and its escaping: every value that comes from the cluster
or a client (container and object names, metadata, device names, error
texts) goes through ``esc`` (the stdlib ``html.escape``, quotes too, so
it is safe in attributes); only ``Html`` values, built here from escaped
parts, are inserted as they are. No JavaScript: tables, forms and inline
SVG (console.svg). Key figures carry an ``id`` (``fact-...``) so that a
test or a script can read them. Pure: returns text, does no I/O.
"""

from html import escape
from urllib.parse import quote

from objstore.middleware.console import svg
from objstore.middleware.console.cluster import mounted_disks
from objstore.middleware.console.history import (
    REPLICATION_AGE_SERIES, REQUESTS_SERIES)

PREFIX = '/console'
NAV = (('Overview', PREFIX + '/'), ('Rings', PREFIX + '/rings'),
       ('Nodes', PREFIX + '/nodes'), ('Rates', PREFIX + '/rates'),
       ('Browse', PREFIX + '/browse'))
STYLE = (
    'body{font-family:sans-serif;margin:0 2em 2em;color:#222}'
    'nav{padding:.6em 0;border-bottom:1px solid #ccc;margin-bottom:1em}'
    'nav a{margin-right:1.2em}nav form{display:inline;float:right}'
    'table{border-collapse:collapse;margin:.5em 0 1.5em}'
    'th,td{border:1px solid #ccc;padding:.2em .6em;text-align:left}'
    'td.n{text-align:right}.bad{color:#b00;font-weight:bold}'
    'dl.facts{display:grid;grid-template-columns:max-content auto;'
    'gap:.2em 1em}dt{font-weight:bold}dd{margin:0}')
HOUR = 3600


class Html(str):
    """Markup that is already safe to insert as it is."""


def esc(value):
    """``value`` as safe text (quotes escaped too), markup kept as is.

    >>> esc('<a href="x">'), esc(Html('<b>'))
    ('&lt;a href=&quot;x&quot;&gt;', '<b>')
    """
    if isinstance(value, Html):
        return value
    return Html(escape(str(value), quote=True))


def link(href, text):
    return Html('<a href="%s">%s</a>' % (esc(href), esc(text)))


def path_link(*parts):
    """The console URL of path segments, each percent-quoted."""
    return PREFIX + '/' + '/'.join(quote(part, safe='') for part in parts)


def size(nbytes):
    """Bytes in binary units.

    >>> size(512), size(3 * 1024 ** 3)
    ('512 B', '3.0 GiB')
    """
    value = float(nbytes)
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if value < 1024 or unit == 'TiB':
            return '%d B' % value if unit == 'B' else '%.1f %s' % (value,
                                                                  unit)
        value /= 1024
    return '%d B' % nbytes


def ago(seconds):
    """A duration in the past, or 'never'.

    >>> ago(None), ago(42), ago(600), ago(10800)
    ('never', '42s ago', '10.0m ago', '3.0h ago')
    """
    if seconds is None:
        return 'never'
    if seconds < 120:
        return '%.0fs ago' % seconds
    if seconds < 2 * HOUR:
        return '%.1fm ago' % (seconds / 60)
    return '%.1fh ago' % (seconds / HOUR)


def percent(part, whole):
    return '%.1f%%' % (100.0 * part / whole) if whole else '-'


def table(headers, rows, numeric=()):
    """A table of escaped cells; columns whose index is in ``numeric``
    are right-aligned."""
    head = ''.join('<th>%s</th>' % esc(h) for h in headers)
    body = ''.join(
        '<tr>%s</tr>' % ''.join(
            '<td%s>%s</td>' % (' class="n"' if index in numeric else '',
                               esc(cell))
            for index, cell in enumerate(row))
        for row in rows)
    return Html('<table><thead><tr>%s</tr></thead><tbody>%s</tbody>'
                '</table>' % (head, body))


def facts(pairs):
    """Key figures as a definition list; each (key, label, value) gives
    ``<dd id="fact-key">``."""
    return Html('<dl class="facts">%s</dl>' % ''.join(
        '<dt>%s</dt><dd id="fact-%s">%s</dd>' % (esc(label), esc(key),
                                                 esc(value))
        for key, label, value in pairs))


def page(title, body, user=None):
    """The whole document (bytes), with navigation when logged in."""
    nav = ''
    if user:
        nav = '<nav>%s<form method="post" action="%s/logout">%s ' \
              '<button type="submit">Log out</button></form></nav>' % (
                  ' '.join(link(href, text) for text, href in NAV), PREFIX,
                  esc(user))
    document = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<title>%s - objstore console</title><style>%s</style></head>'
        '<body>%s<h1>%s</h1>%s</body></html>'
        % (esc(title), STYLE, nav, esc(title), esc(body)))
    return document.encode('utf-8')


def message_page(title, message, user=None):
    return page(title, Html('<p>%s</p>' % esc(message)), user)


def login_page(message=''):
    notice = '<p class="bad" id="login-error">%s</p>' % esc(message) \
        if message else ''
    return page('Log in', Html(
        '%s<form method="post" action="%s/login">'
        '<p><label>User (account:user) <input name="user" id="user" '
        'autocomplete="username" required></label></p>'
        '<p><label>Key <input name="key" id="key" type="password" '
        'autocomplete="current-password" required></label></p>'
        '<p><button type="submit" id="login">Log in</button></p></form>'
        % (notice, PREFIX)))


# -- cluster pages -----------------------------------------------------

def overview_body(status, rings):
    """Nodes, devices, health and capacity used."""
    servers = list(status.health)
    down = [s for s in servers if s.error]
    disks = mounted_disks(servers)
    used = sum(d['used'] for d in disks.values())
    total = sum(d['size'] for d in disks.values())
    devices = {(dev.ip, dev.device) for ring in rings for dev in ring.devices}
    summary = facts((
        ('nodes', 'Nodes', len(status.nodes)),
        ('servers', 'Storage servers', len(servers)),
        ('servers-up', 'Servers up', len(servers) - len(down)),
        ('devices', 'Devices', len(devices)),
        ('rings', 'Rings', len(rings)),
        ('capacity-used', 'Capacity used', '%s of %s (%s)' % (
            size(used), size(total), percent(used, total))),
        ('async-pendings', 'Async pendings',
         sum(n.async_pendings for n in status.nodes)),
        ('quarantined', 'Quarantined',
         sum(sum(n.quarantined.values()) for n in status.nodes)),
    ))
    health = table(('Kind', 'Server', 'Health'), [
        (s.kind, s.server, Html('<span class="bad">down: %s</span>'
                                % esc(s.error)) if s.error else 'up')
        for s in servers])
    usage = table(('Host', 'Device', 'Used', 'Size', 'Used %'), [
        (host, device, size(d['used']), size(d['size']),
         percent(d['used'], d['size']))
        for (host, device), d in sorted(disks.items())], numeric=(2, 3, 4))
    return Html('%s<h2>Servers</h2>%s<h2>Devices</h2>%s'
                % (summary, health, usage))


def rings_body(rings):
    rows = [(link(path_link('rings', ring.name), ring.name), ring.replicas,
             ring.partitions, len(ring.devices), '%g' % ring.weight,
             '%.2f%%' % ring.balance, '%.2f%%' % ring.dispersion)
            for ring in rings]
    return table(('Ring', 'Replicas', 'Partitions', 'Devices', 'Weight',
                   'Balance', 'Dispersion'), rows, numeric=(1, 2, 3, 4, 5, 6))


def ring_body(ring):
    """One ring: its figures, its devices and a plot of partitions."""
    key = ring.name
    summary = facts((
        ('%s-replicas' % key, 'Replicas', ring.replicas),
        ('%s-partitions' % key, 'Partitions', ring.partitions),
        ('%s-devices' % key, 'Devices', len(ring.devices)),
        ('%s-balance' % key, 'Balance', '%.2f%%' % ring.balance),
        ('%s-dispersion' % key, 'Dispersion', '%.2f%% (%d partitions '
         'crowd a tier)' % (ring.dispersion, ring.parts_crowded)),
    ))
    rows = [(dev.id, dev.region, dev.zone, '%s:%d' % (dev.ip, dev.port),
             dev.device, '%g' % dev.weight, dev.parts, '%.2f%%' % dev.balance)
            for dev in ring.devices]
    devices = table(('Id', 'Region', 'Zone', 'Server', 'Device', 'Weight',
                     'Partitions', 'Balance'), rows, numeric=(0, 5, 6, 7))
    plot = svg.bar_chart(
        'Partition replicas per device (%s)' % ring.name,
        ['%d:%s' % (dev.id, dev.device) for dev in ring.devices],
        [dev.parts for dev in ring.devices])
    return Html('%s%s<figure id="parts-plot">%s</figure>'
                % (summary, devices, plot))


def nodes_body(status, history, now):
    """Replication and updater status per node, with the last hour."""
    rows = [(n.node, Html('<span class="bad">%s</span>' % esc(n.error))
             if n.error else 'up', ago(n.oldest_age('-replicator')),
             ago(n.oldest_age('-updater')), n.failures, n.async_pendings,
             sum(n.quarantined.values())) for n in status.nodes]
    summary = table(('Node', 'Health', 'Oldest replication',
                     'Oldest update pass', 'Failures', 'Async pendings',
                     'Quarantined'), rows, numeric=(4, 5, 6))
    plots = ''.join(
        svg.line_plot(title, {name: history.series(name)
                              for name in names}, now, HOUR)
        for title, names in (
            ('Async pendings and quarantined entries, last hour',
             ('async pendings', 'quarantined')),
            ('Oldest replication pass age (s), last hour',
             [REPLICATION_AGE_SERIES + n.node for n in status.nodes]),
            ('Daemon failures in last passes, last hour',
             ('failures',))))
    details = ''.join(
        '<h3>%s</h3>%s' % (esc(n.node), table(
            ('Daemon', 'Device', 'Last pass', 'Duration', 'Failures',
             'Counts'),
            [(p.daemon, p.device, ago(p.age), '%.2fs' % p.duration,
              p.failures, ', '.join('%s=%s' % kv for kv in
                                    sorted(p.counts.items())) or '-')
             for p in n.passes], numeric=(3, 4)))
        for n in status.nodes if not n.error)
    return Html('%s<figure id="status-plots">%s</figure><h2>Last passes'
                '</h2>%s' % (summary, plots, details))


def rates_body(totals, rates, history, now):
    """Requests per server: counts since start and per second now."""
    rows = [(server, '%d' % totals[server],
             '%.2f' % rates[server] if rates.get(server) is not None
             else '-') for server in sorted(totals)]
    summary = table(('Server', 'Requests answered', 'Requests/s now'),
                    rows, numeric=(1, 2))
    # Between samples the console's own status requests are counted too.
    plot = svg.line_plot(
        'Requests per second between samples (with the console\'s own), '
        'last hour',
        {server: history.rates(REQUESTS_SERIES + server)
         for server in sorted(totals)}, now, HOUR)
    return Html('%s<figure id="rates-plot">%s</figure>' % (summary, plot))


# -- object browser ----------------------------------------------------

def account_body(account, headers, containers, next_marker):
    summary = facts((
        ('account', 'Account', account),
        ('containers', 'Containers',
         headers.get('X-Account-Container-Count', '?')),
        ('objects', 'Objects', headers.get('X-Account-Object-Count', '?')),
        ('bytes', 'Bytes used', headers.get('X-Account-Bytes-Used', '?')),
    ))
    rows = [(link(path_link('browse', c['name']), c['name']), c['count'],
             c['bytes']) for c in containers]
    return Html('%s%s%s' % (summary, table(
        ('Container', 'Objects', 'Bytes'), rows, numeric=(1, 2)),
        _more(path_link('browse'), next_marker)))


def container_body(container, headers, objects, next_marker):
    summary = facts((
        ('container', 'Container', container),
        ('objects', 'Objects', headers.get('X-Container-Object-Count', '?')),
        ('bytes', 'Bytes used', headers.get('X-Container-Bytes-Used', '?')),
        ('policy', 'Storage policy',
         headers.get('X-Storage-Policy', '-')),
    ))
    rows = [(link(path_link('browse', container, o['name']), o['name']),
             o.get('bytes', ''), o.get('content_type', ''),
             o.get('last_modified', ''), o.get('hash', ''))
            for o in objects]
    return Html('%s%s%s' % (summary, table(
        ('Object', 'Bytes', 'Content type', 'Last modified', 'ETag'), rows,
        numeric=(1,)), _more(path_link('browse', container), next_marker)))


def object_body(container, obj, headers):
    rows = sorted(headers.items())
    download = path_link('download', container, obj)
    return Html('<p>%s / %s</p>%s<p>%s</p>' % (
        link(path_link('browse', container), container), esc(obj),
        table(('Header', 'Value'), rows),
        Html('<a id="download" href="%s">Download</a>' % esc(download))))


def _more(base, next_marker):
    if not next_marker:
        return ''
    return '<p>%s</p>' % link('%s?marker=%s' % (base, quote(next_marker,
                                                          safe='')),
                              'Next page')
