"""Names with CR, LF and other control characters cannot forge log lines:
real requests, over real sockets, whose paths carry %0A/%0D, through the
proxy pipeline and to each storage server; each request leaves exactly one
access line in the log file, with the path percent-quoted (as Swift's
access log has it), and nothing the client wrote starts a line."""

import http.client
import random
from urllib.parse import quote

import pytest

from objstore.common.log import ACCESS_SAFE, get_logger, quote_field
from objstore.common.wsgi import serve_in_thread
from objstore.middleware import catch_errors, proxy_logging, tempauth
from tests.unit.proxy.cluster import KINDS, USERS, InProcessCluster

FORGED = '%0D%0A2026-01-01%2000.00.00%20forged%20ERROR%20%1B%7F%09'


def send(port, method, target, headers=None):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=20)
    try:
        conn.request(method, target, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def log_lines(path, logger_name):
    for handler in list(get_logger({}, logger_name).handlers):
        handler.flush()
    return path.read_text(encoding='utf-8').splitlines()


def assert_one_quoted_line(lines, quoted_name):
    assert len(lines) == 1, lines
    assert quoted_name in lines[0]
    assert 'forged' not in lines[0].replace(quoted_name, '')
    assert not any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in lines[0])


@pytest.fixture
def cluster(tmp_path):
    (tmp_path / 'cluster').mkdir()
    handle = InProcessCluster(tmp_path / 'cluster')
    yield handle
    handle.stop()


def test_proxy_access_line(tmp_path, cluster):
    log = tmp_path / 'proxy.log'
    name = 'proxy-access-injection-test'
    app = tempauth.filter_factory({}, **USERS)(cluster.proxy_app)
    app = proxy_logging.filter_factory(
        {}, access_log_name=name, log_file=str(log))(app)
    app = catch_errors.filter_factory({}, log_level='WARNING')(app)
    server = serve_in_thread(app)
    try:
        target = '/v1/AUTH_test/c/o' + FORGED
        assert send(server.port, 'GET', target, {
            'X-Forwarded-For': '6.6.6.6 "GET /spoofed"'}) == 401
    finally:
        server.stop()
    lines = log_lines(log, name)
    assert_one_quoted_line(lines, 'o' + FORGED)
    assert ' 6.6.6.6%20%22GET%20/spoofed%22 "GET /v1/' in lines[0]


@pytest.mark.parametrize('kind', sorted(KINDS))
def test_storage_server_access_line(tmp_path, kind):
    (tmp_path / 'objstore.conf').write_text(
        '[objstore-hash]\npath_hash_prefix = p\npath_hash_suffix = s\n')
    (tmp_path / 'devices' / 'd0').mkdir(parents=True)
    log = tmp_path / ('%s.log' % kind)
    name = '%s-injection-test' % kind
    app = KINDS[kind]({}, devices=str(tmp_path / 'devices'),
                      mount_check='false', conf_dir=str(tmp_path),
                      log_file=str(log), log_name=name)
    server = serve_in_thread(app)
    target = '/d0/1/a/c/o' + FORGED
    try:
        send(server.port, 'HEAD', target, {'X-Timestamp': '1.0'})
    finally:
        server.stop()
    assert_one_quoted_line(log_lines(log, name), FORGED)


def test_access_fields_are_quoted_exactly_as_urllib_quotes_them():
    # quote_field skips quote() for fields it would leave alone: the
    # answer must never differ.
    rng = random.Random(5)
    alphabet = [chr(code) for code in range(0x80)] + ['\xe9', '\u2028', '%']
    for _ in range(5000):
        value = ''.join(rng.choice(alphabet)
                        for _char in range(rng.randint(1, 8)))
        assert quote_field(value) == quote(value, safe=ACCESS_SAFE), value
