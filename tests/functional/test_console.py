"""The operators' console (/console) of a running aio, over raw HTTP:
who may see it, the figures each page shows against what the rings and
the proxy say, and HTML escaping of hostile names."""

import collections
import glob
import html
import os
import re
import threading
import uuid
from urllib.parse import quote, urlencode, urlparse

import pytest

from objstore.ring.ringdata import RingData
from tests.functional.test_api import connect
from tests.helpers import send_raw

FACT = re.compile(r'<dd id="fact-([^"]+)">(.*?)</dd>', re.S)
HOSTILE_CONTAINER = '<svg onload=alert("c")>&amp;'
HOSTILE_OBJECT = '"><img src=x onerror=alert(1)>&amp;'


def proxy_address(cluster):
    parsed = urlparse(cluster.proxy_url)
    return parsed.hostname, parsed.port


def console(cluster, method, path, cookie=None, body=None, headers=None):
    """(status, headers, body text) of one request to the proxy."""
    host, port = proxy_address(cluster)
    sent = {'Host': '%s:%d' % (host, port)}
    if cookie:
        sent['Cookie'] = 'objstore_console=' + cookie
    sent.update(headers or {})
    status, got, raw = send_raw(host, port, method, path, sent, body)
    return status, got, raw.decode('utf-8', 'replace')


def login(cluster, user):
    """The console cookie's value for ``user``."""
    form = urlencode({'user': user, 'key': cluster.users[user]}).encode()
    status, headers, _ = console(cluster, 'POST', '/console/login', body=form,
                                 headers={'Content-Type': 'application/'
                                          'x-www-form-urlencoded'})
    assert status == 303, status
    cookie = headers['set-cookie']
    return cookie.split(';', 1)[0].split('=', 1)[1]


def facts(body):
    return {key: html.unescape(value) for key, value in FACT.findall(body)}


def ring_files(cluster):
    return sorted(glob.glob(os.path.join(cluster.aio.dirs.etc,
                                         '*.ring.gz')))


@pytest.fixture(scope='module')
def admin(cluster):
    return login(cluster, 'admin:admin')


@pytest.fixture(scope='module')
def owner(cluster):
    return login(cluster, 'test:tester')


def test_anonymous_is_sent_to_login(cluster):
    for path in ('/console', '/console/', '/console/rings',
                 '/console/browse', '/console/download/c/o'):
        status, headers, body = console(cluster, 'GET', path)
        assert status == 303, path
        assert headers['location'].endswith('/console/login')
        assert 'partitions' not in body.lower()
    status, _, body = console(cluster, 'GET', '/console/login')
    assert status == 200
    assert 'name="user"' in body and 'type="password"' in body


def test_forged_or_garbage_cookie_is_sent_to_login(cluster):
    for cookie in ('garbage', 'AUTH_tk' + '0' * 80):
        status, headers, _ = console(cluster, 'GET', '/console/',
                                     cookie=cookie)
        assert status == 303
        assert headers['location'].endswith('/console/login')


def test_wrong_key_is_refused(cluster):
    form = urlencode({'user': 'admin:admin', 'key': 'nope'}).encode()
    status, headers, body = console(
        cluster, 'POST', '/console/login', body=form,
        headers={'Content-Type': 'application/x-www-form-urlencoded'})
    assert status == 401
    assert 'set-cookie' not in headers
    assert 'Login failed' in body


def test_login_cookie_is_httponly_strict_and_scoped(cluster):
    form = urlencode({'user': 'admin:admin',
                      'key': cluster.users['admin:admin']}).encode()
    status, headers, _ = console(
        cluster, 'POST', '/console/login', body=form,
        headers={'Content-Type': 'application/x-www-form-urlencoded'})
    assert status == 303
    attributes = [part.strip() for part in
                  headers['set-cookie'].split(';')]
    assert 'HttpOnly' in attributes
    assert 'SameSite=Strict' in attributes
    assert 'Path=/console' in attributes


def test_cross_origin_login_and_writes_are_refused(cluster, admin):
    form = urlencode({'user': 'admin:admin',
                      'key': cluster.users['admin:admin']}).encode()
    status, headers, _ = console(
        cluster, 'POST', '/console/login', body=form,
        headers={'Content-Type': 'application/x-www-form-urlencoded',
                 'Origin': 'http://evil.example'})
    assert status == 403
    assert 'set-cookie' not in headers
    for method in ('POST', 'PUT', 'DELETE'):
        status, headers, _ = console(cluster, method, '/console/rings',
                                     cookie=admin, body=b'')
        assert status == 405
        assert headers['allow'] == 'GET, HEAD'


def test_user_without_admin_rights_is_forbidden(cluster):
    cookie = login(cluster, 'test:tester3')
    for path in ('/console/', '/console/rings', '/console/nodes',
                 '/console/rates', '/console/browse',
                 '/console/download/c/o'):
        status, _, body = console(cluster, 'GET', path, cookie=cookie)
        assert status == 403, path
        assert 'Partitions' not in body


def test_account_owner_sees_only_own_account(cluster, owner):
    status, headers, _ = console(cluster, 'GET', '/console/', cookie=owner)
    assert status == 303
    assert headers['location'].endswith('/console/browse')
    for path in ('/console/rings', '/console/nodes', '/console/rates'):
        assert console(cluster, 'GET', path, cookie=owner)[0] == 403
    status, _, body = console(cluster, 'GET', '/console/browse',
                              cookie=owner)
    assert status == 200
    assert facts(body)['account'] == 'AUTH_test'


def test_overview_counts_nodes_devices_and_rings(cluster, admin):
    status, headers, body = console(cluster, 'GET', '/console/',
                                    cookie=admin)
    assert status == 200
    assert headers['content-type'].startswith('text/html')
    assert "default-src 'none'" in headers['content-security-policy']
    shown = facts(body)
    object_ring = RingData.load(os.path.join(cluster.aio.dirs.etc,
                                             'object.ring.gz'))
    nodes = {(d['ip'], d['port']) for d in object_ring.devs if d}
    devices = {(d['ip'], d['device']) for path in ring_files(cluster)
               for d in RingData.load(path).devs if d}
    servers = {(d['ip'], d['port']) for path in ring_files(cluster)
               for d in RingData.load(path).devs if d}
    assert shown['nodes'] == str(len(nodes))
    assert shown['devices'] == str(len(devices))
    assert shown['rings'] == str(len(ring_files(cluster)))
    assert shown['servers'] == str(len(servers))
    assert shown['servers-up'] == str(len(servers))
    assert re.match(r'[\d.]+ \w?i?B of [\d.]+ \w?i?B \([\d.]+%\)',
                    shown['capacity-used'])


def test_each_ring_page_shows_its_partitions(cluster, admin):
    status, _, listing = console(cluster, 'GET', '/console/rings',
                                 cookie=admin)
    assert status == 200
    for path in ring_files(cluster):
        name = os.path.basename(path)[:-len('.ring.gz')]
        data = RingData.load(path)
        assert 'href="/console/rings/%s"' % name in listing
        status, _, body = console(cluster, 'GET', '/console/rings/' + name,
                                  cookie=admin)
        assert status == 200
        shown = facts(body)
        parts = len(data.replica2part2dev[0])
        assert shown['%s-partitions' % name] == str(parts)
        assert shown['%s-replicas' % name] == str(
            len(data.replica2part2dev))
        counts = collections.Counter(
            dev for row in data.replica2part2dev for dev in row)
        for dev in data.devs:
            if dev is None:
                continue
            row = re.search(
                r'<tr><td class="n">%d</td>.*?</tr>' % dev['id'], body)
            assert row, dev
            assert '<td class="n">%d</td><td class="n">' % counts[
                dev['id']] in row.group(0)
        assert body.count('<g class="bar">') == len(
            [d for d in data.devs if d])
    assert console(cluster, 'GET', '/console/rings/nope',
                   cookie=admin)[0] == 404


def test_nodes_page_lists_every_node(cluster, admin):
    status, _, body = console(cluster, 'GET', '/console/nodes',
                              cookie=admin)
    assert status == 200
    object_ring = RingData.load(os.path.join(cluster.aio.dirs.etc,
                                             'object.ring.gz'))
    for dev in object_ring.devs:
        if dev:
            assert '<td>%s:%d</td><td>up</td>' % (dev['ip'],
                                                  dev['port']) in body
    assert body.count('<svg') == 3


def test_rates_page_counts_the_proxy_requests(cluster, admin):
    status, _, body = console(cluster, 'GET', '/console/rates',
                              cookie=admin)
    assert status == 200
    row = re.search(r'<td>proxy-server</td><td class="n">(\d+)</td>'
                    r'<td class="n">([\d.]+)</td>', body)
    assert row, body[:2000]
    first = int(row.group(1))
    conn = connect(cluster)
    for _ in range(5):
        conn.head_account()
    _, _, body = console(cluster, 'GET', '/console/rates', cookie=admin)
    row = re.search(r'<td>proxy-server</td><td class="n">(\d+)</td>', body)
    assert int(row.group(1)) >= first + 5


def test_live_rate_moves_with_traffic(cluster, admin):
    done = threading.Event()

    def traffic():
        conn = connect(cluster)
        while not done.is_set():
            conn.head_account()
    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        _, _, body = console(cluster, 'GET', '/console/rates', cookie=admin)
    finally:
        done.set()
        worker.join(timeout=30)
    row = re.search(r'<td>proxy-server</td><td class="n">\d+</td>'
                    r'<td class="n">([\d.]+)</td>', body)
    assert float(row.group(1)) > 0


def test_browser_escapes_hostile_names_and_downloads(cluster, owner):
    conn = connect(cluster)
    container = HOSTILE_CONTAINER + uuid.uuid4().hex[:6]
    conn.put_container(container)
    conn.put_object(container, HOSTILE_OBJECT, b'<html>payload</html>',
                    content_type='text/html',
                    headers={'X-Object-Meta-Note': '<b>bold</b>'})
    status, _, body = console(cluster, 'GET', '/console/browse',
                              cookie=owner)
    assert status == 200
    assert HOSTILE_CONTAINER not in body
    assert html.escape(container) in body
    c_path = '/console/browse/' + quote(container, safe='')
    status, _, body = console(cluster, 'GET', c_path, cookie=owner)
    assert status == 200
    assert HOSTILE_OBJECT not in body and HOSTILE_CONTAINER not in body
    assert html.escape(HOSTILE_OBJECT) in body
    assert facts(body)['objects'] == '1'
    o_path = c_path + '/' + quote(HOSTILE_OBJECT, safe='')
    status, _, body = console(cluster, 'GET', o_path, cookie=owner)
    assert status == 200
    assert '<b>bold</b>' not in body
    assert '&lt;b&gt;bold&lt;/b&gt;' in body
    d_path = '/console/download/' + o_path[len('/console/browse/'):]
    status, headers, payload = console(cluster, 'GET', d_path, cookie=owner)
    assert status == 200
    assert payload == '<html>payload</html>'
    assert headers['content-disposition'].startswith('attachment;')
    assert headers['content-security-policy'] == 'sandbox'
    missing = console(cluster, 'GET', c_path + '/nothing-here',
                      cookie=owner)
    assert missing[0] == 404


def test_logout_clears_the_cookie(cluster):
    cookie = login(cluster, 'admin:admin')
    status, headers, _ = console(cluster, 'POST', '/console/logout',
                                 cookie=cookie, body=b'')
    assert status == 303
    assert headers['set-cookie'].startswith('objstore_console=;')
    assert 'Max-Age=0' in headers['set-cookie']


def test_bad_paths_get_a_clear_4xx(cluster, admin):
    assert console(cluster, 'GET', '/console/%ff', cookie=admin)[:1] == (
        400,)
    status, _, body = console(cluster, 'GET', '/console/no-such-page',
                              cookie=admin)
    assert status == 404
    assert 'Traceback' not in body
