"""The console in a real browser: headless Debian chromium, driven by
Selenium through the system chromedriver, logs into the console of a
running aio, visits every page, checks the figures shown against the
rings and the proxy, and saves a screenshot of each page (the test prints
where). The chromedriver runs in its own session and is killed by its
process group id; the browser processes under it by their PIDs."""

import glob
import os
import signal
import subprocess
import uuid
from urllib.parse import quote

import psutil
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from objstore.ring.ringdata import RingData
from tests.functional.test_api import connect
from tests.helpers import free_port, pid_alive, wait_for

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
PAGE_TIMEOUT = 60


@pytest.fixture
def browser(tmp_path):
    """A Selenium session on a headless chromium; everything it started
    is killed afterwards, by PID."""
    port = free_port()
    driver_proc = subprocess.Popen(
        [CHROMEDRIVER, '--port=%d' % port],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    session = None
    try:
        assert wait_for(lambda: _listening(port), timeout=20), \
            'chromedriver did not start'
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ('--headless=new', '--no-sandbox', '--disable-gpu',
                    '--disable-dev-shm-usage', '--window-size=1280,1800',
                    '--user-data-dir=%s' % (tmp_path / 'profile')):
            options.add_argument(arg)
        session = webdriver.Remote('http://127.0.0.1:%d' % port,
                                   options=options)
        session.set_page_load_timeout(PAGE_TIMEOUT)
        yield session
    finally:
        _close(session, driver_proc)


def _listening(port):
    return any(conn.laddr and conn.laddr.port == port and
               conn.status == psutil.CONN_LISTEN
               for conn in psutil.net_connections('tcp'))


def _close(session, driver_proc):
    browsers = [child.pid for child in
                psutil.Process(driver_proc.pid).children(recursive=True)]
    if session is not None:
        try:
            session.quit()
        except Exception:  # the browser may already be gone; kill below
            pass
    for pid in browsers:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    os.killpg(driver_proc.pid, signal.SIGKILL)
    driver_proc.wait(timeout=10)


class ConsoleVisit:
    """The browser on one cluster's console, saving a screenshot per
    page into ``shots``."""

    def __init__(self, driver, cluster, shots):
        self.driver = driver
        self.base = cluster.proxy_url
        self.users = cluster.users
        self.shots = shots
        self.saved = []

    def open(self, path, shot):
        self.driver.get(self.base + path)
        name = str(self.shots / ('%02d-%s.png' % (len(self.saved), shot)))
        self.driver.save_screenshot(name)
        self.saved.append(name)
        return self.driver.title

    def fact(self, key):
        return self.driver.find_element(By.ID, 'fact-' + key).text

    def login(self, user):
        self.open('/console/', 'login-' + user.replace(':', '-'))
        assert '/console/login' in self.driver.current_url
        self.driver.find_element(By.ID, 'user').send_keys(user)
        self.driver.find_element(By.ID, 'key').send_keys(self.users[user])
        self.driver.find_element(By.ID, 'login').click()
        assert wait_for(
            lambda: '/console/login' not in self.driver.current_url,
            timeout=PAGE_TIMEOUT), self.driver.page_source[:2000]

    def logout(self):
        self.driver.find_element(By.CSS_SELECTOR,
                                 'nav form button').click()
        assert wait_for(
            lambda: '/console/login' in self.driver.current_url,
            timeout=PAGE_TIMEOUT)

    def rows(self):
        """Cell texts of every body row of the page's tables."""
        return [[cell.text for cell in row.find_elements(By.TAG_NAME, 'td')]
                for row in self.driver.find_elements(By.CSS_SELECTOR,
                                                     'tbody tr')]


def _rings(cluster):
    return {os.path.basename(path)[:-len('.ring.gz')]: RingData.load(path)
            for path in glob.glob(os.path.join(cluster.conf_dir,
                                               '*.ring.gz'))}


def _put_objects(cluster, container, count):
    conn = connect(cluster)
    conn.put_container(container)
    for index in range(count):
        conn.put_object(container, 'obj-%d' % index, b'x' * (index + 1),
                        headers={'X-Object-Meta-Index': str(index)})
    return conn


@pytest.mark.slow
def test_console_pages_in_chromium(cluster, browser, tmp_path):
    container = 'console-' + uuid.uuid4().hex[:8]
    conn = _put_objects(cluster, container, 3)
    cluster.run_daemon('object-replicator')
    visit = ConsoleVisit(browser, cluster, tmp_path)
    rings = _rings(cluster)
    shown = {}
    try:
        visit.login('admin:admin')
        visit.open('/console/', 'overview')
        nodes = {(d['ip'], d['port']) for d in rings['object'].devs if d}
        devices = {(d['ip'], d['device']) for ring in rings.values()
                   for d in ring.devs if d}
        shown['overview'] = {key: visit.fact(key) for key in (
            'nodes', 'servers', 'servers-up', 'devices', 'rings',
            'capacity-used')}
        assert shown['overview']['nodes'] == str(len(nodes))
        assert shown['overview']['devices'] == str(len(devices))
        assert shown['overview']['rings'] == str(len(rings))
        assert shown['overview']['servers-up'] == \
            shown['overview']['servers']

        visit.open('/console/rings', 'rings')
        for name, data in sorted(rings.items()):
            visit.open('/console/rings/' + name, 'ring-' + name)
            parts = len(data.replica2part2dev[0])
            assert visit.fact(name + '-partitions') == str(parts)
            assert visit.fact(name + '-replicas') == str(
                len(data.replica2part2dev))
            per_device = {int(row[0]): int(row[6]) for row in visit.rows()}
            expected = {d['id']: sum(row.count(d['id'])
                                     for row in data.replica2part2dev)
                        for d in data.devs if d}
            assert per_device == expected
            shown['ring ' + name] = 'partitions %d, per device %s' % (
                parts, per_device)
            assert len(browser.find_elements(
                By.CSS_SELECTOR, '#parts-plot g.bar')) == len(expected)

        visit.open('/console/nodes', 'nodes')
        page = browser.find_element(By.TAG_NAME, 'body').text
        for ip, port in nodes:
            assert '%s:%d up' % (ip, port) in page
        assert 'object-replicator' in page
        shown['nodes'] = [' '.join(row) for row in visit.rows()[:len(nodes)]]

        visit.open('/console/rates', 'rates')
        rates = {row[0]: row[1:] for row in visit.rows()}
        assert int(rates['proxy-server'][0]) > 0
        assert rates['proxy-server'][1] != '-'
        shown['rates'] = rates
        visit.logout()

        visit.login('test:tester')
        assert browser.current_url.endswith('/console/browse')
        headers = conn.head_account()
        assert visit.fact('containers') == \
            headers['x-account-container-count']
        assert visit.fact('objects') == headers['x-account-object-count']
        visit.open('/console/browse/' + quote(container), 'container')
        assert visit.fact('objects') == '3'
        names = [row[0] for row in visit.rows()]
        assert names == ['obj-0', 'obj-1', 'obj-2']
        visit.open('/console/browse/%s/obj-2' % quote(container), 'object')
        assert ['X-Object-Meta-Index', '2'] in visit.rows()
        assert browser.find_element(By.ID, 'download').get_attribute(
            'href').endswith('/console/download/%s/obj-2' % container)
        shown['browse'] = {'account objects': headers[
            'x-account-object-count'], 'container': names}
        visit.open('/console/rings', 'forbidden-for-owner')
        assert 'Forbidden' in browser.title
    finally:
        print('\nconsole screenshots in %s:\n  %s' % (
            tmp_path, '\n  '.join(visit.saved)))
        print('console pages showed: %s' % shown)
