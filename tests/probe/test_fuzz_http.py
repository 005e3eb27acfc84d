"""Bounded HTTP fuzz of a whole aio cluster, and the slow-client bounds.

For ``OBJSTORE_FUZZ_SECONDS`` (60 by default) random raw requests (verbs,
targets, header lines, bodies and framings, illegal bytes included) go to
the proxy, mixed with valid but unusual PUTs into a ledger account. The
rules: no 5xx while every node is up, no response later than 5 s, no
traceback in any response or in any log under the data dir, and every
ledger object that was acknowledged (201) reads back byte-identical at
the end. ``OBJSTORE_FUZZ_SEED`` replays a run; the seed and the number of
requests are printed, and each kind of failure is shrunk to a minimal
request that still fails, which is printed too.

Why the probe fixture's own cluster and not the functional session one:
the fuzzer floods account metadata and sends requests on every limit; a
single bad answer can leave an account unusable (a known defect made an
account answer 503 forever after a 90-item metadata POST), and this
proxy runs with a short ``client_timeout`` so that a request whose body
never comes is answered within the 5 s bound. Neither may leak into the
functional tests.
"""

import http.client
import os
import random
import re
import socket
import threading
import time
from urllib.parse import urlparse

import pytest

from tests.probe.fuzz_requests import (
    RequestMaker, exchange, failure_kind, failure_of, shrink)

FUZZ_SECONDS = float(os.environ.get('OBJSTORE_FUZZ_SECONDS') or 60)
RESPONSE_BOUND = 5.0
CLIENT_TIMEOUT = 2.0
LEDGER_SHARE = 0.2
SHRUNK_PER_KIND = 4
TRACEBACK = re.compile(rb'Traceback \(most recent call last\)')
CHAINED = re.compile(rb'During handling|The above exception')
CHAIN_LINES = ('Traceback', 'During handling', 'The above exception')


def set_proxy_client_timeout(cluster, seconds):
    """Restart the proxy with ``client_timeout`` in its [DEFAULT]."""
    supervisor = cluster.aio.supervisor
    supervisor.hold('proxy-server')
    path = cluster.aio.dirs.proxy_conf
    with open(path) as conf:
        text = conf.read()
    with open(path, 'w') as conf:
        conf.write(text.replace(
            '[DEFAULT]\n', '[DEFAULT]\nclient_timeout = %s\n' % seconds, 1))
    supervisor.release('proxy-server')
    assert not supervisor.wait_healthy(['proxy-server'], 30)


@pytest.fixture(scope='module')
def proxy(cluster):
    set_proxy_client_timeout(cluster, CLIENT_TIMEOUT)
    return cluster


def proxy_address(cluster):
    return cluster.aio.layout.bind, cluster.aio.layout.proxy_port


def logged_tracebacks(cluster):
    """{(log file name, where it was raised, exception): innermost frames}
    of every distinct traceback in every log under the data dir."""
    found = {}
    for root, _dirs, files in os.walk(cluster.data_dir):
        for name in files:
            if not name.endswith('.log'):
                continue
            with open(os.path.join(root, name), 'rb') as log:
                text = log.read()
            for piece in split_tracebacks(text):
                frames = traceback_tail(piece)
                lines = frames.splitlines()
                where = [line.strip() for line in lines
                         if line.strip().startswith('File ')][-1:]
                key = (name.split('-')[0], tuple(where), lines[-1])
                found.setdefault(key, frames)
    return found


def split_tracebacks(text):
    """The tracebacks in a log's bytes, each with its chained ones."""
    starts = [m.start() for m in TRACEBACK.finditer(text)
              if not CHAINED.search(text[max(0, m.start() - 120):m.start()])]
    return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]


def traceback_tail(text):
    """The innermost frames and the exception that escaped, of the
    traceback at the start of ``text`` (through chained exceptions)."""
    lines = text.decode('utf-8', 'replace').splitlines()
    end = 1
    while end < len(lines):
        line = lines[end]
        end += 1
        if line and not line[0].isspace() and not line.startswith(
                CHAIN_LINES):
            following = [n for n in lines[end:end + 2] if n.strip()]
            if not following or not following[0].startswith(CHAIN_LINES):
                break
    return '\n'.join(lines[max(1, end - 9):end])


def nodes_down(cluster):
    return [name for name, child in cluster.aio.supervisor.children.items()
            if child.spec.health and not child.alive()]


def client_request(cluster, method, path, token, body=None):
    host, port = proxy_address(cluster)
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request(method, path, body=body,
                     headers={'X-Auth-Token': token})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def storage(cluster, user):
    url, token = cluster.get_token(user)
    return urlparse(url).path, token


class FuzzRun:
    """One fuzz session: sends, judges and remembers what failed."""

    def __init__(self, cluster, maker):
        self.host, self.port = proxy_address(cluster)
        self.maker = maker
        self.sent = 0
        self.failures = {}
        self.ledger = {}

    def send(self, request):
        self.sent += 1
        outcome = exchange(self.host, self.port, request, RESPONSE_BOUND)
        reason = failure_of(request, outcome, RESPONSE_BOUND)
        if reason:
            key = (failure_kind(reason), request.label)
            self.failures.setdefault(key, []).append((request, reason))
        return outcome

    def step(self):
        if self.maker.rng.random() < LEDGER_SHARE:
            name, body, request = self.maker.ledger_put()
            if self.send(request).status == 201:
                self.ledger[name] = body
        else:
            self.send(self.maker.chaos())

    def still_fails(self, kind):
        def check(request):
            self.sent += 1
            outcome = exchange(self.host, self.port, request, RESPONSE_BOUND)
            reason = failure_of(request, outcome, RESPONSE_BOUND)
            return bool(reason) and failure_kind(reason) == kind
        return check

    def report(self):
        """Each kind of failure, shrunk; failures that a request shrunk
        already explains are not shrunk again."""
        lines = []
        for (kind, label), found in sorted(self.failures.items()):
            minimal = []
            for request, reason in found:
                if len(minimal) == SHRUNK_PER_KIND:
                    break
                if any(explains(small, request) for small in minimal):
                    continue
                small = shrink(request, self.still_fails(kind))
                minimal.append(small)
                lines.append('%s request failed as %r: %s\n'
                             '  minimal failing request: %s'
                             % (label, reason, request.describe(300),
                                small.describe()))
            lines.append('(%d %s request(s) failed as %s in all)'
                         % (len(found), label, kind))
        return '\n'.join(lines)


def explains(small, request):
    """Whether ``request`` holds everything the shrunk ``small`` holds
    (a method shrunk to GET did not matter)."""
    return (small.method in (b'GET', request.method) and
            request.target.startswith(small.target) and
            set(small.lines) <= set(request.lines))


@pytest.mark.slow
@pytest.mark.timeout(FUZZ_SECONDS + 400)
def test_fuzzed_requests_get_bounded_non_5xx_answers_and_lose_no_data(
        proxy):
    seed = int(os.environ.get('OBJSTORE_FUZZ_SEED') or
               random.SystemRandom().randrange(2 ** 32))
    chaos_root, chaos_token = storage(proxy, 'test2:tester2')
    ledger_root, ledger_token = storage(proxy, 'test:tester')
    assert client_request(proxy, 'PUT', chaos_root + '/fuzz',
                          chaos_token)[0] in (201, 202)
    assert client_request(proxy, 'PUT', ledger_root + '/ledger',
                          ledger_token)[0] in (201, 202)
    maker = RequestMaker(random.Random(seed), chaos_root.encode(),
                         chaos_token.encode(),
                         (ledger_root + '/ledger').encode(),
                         ledger_token.encode())
    print('fuzz seed %d (OBJSTORE_FUZZ_SEED replays it)' % seed)
    run = FuzzRun(proxy, maker)
    for request in maker.known():
        run.send(request)
    deadline = time.monotonic() + FUZZ_SECONDS
    while time.monotonic() < deadline:
        run.step()
    print('fuzz seed %d: %d requests sent, %d ledger objects acknowledged'
          % (seed, run.sent, len(run.ledger)))

    down = nodes_down(proxy)
    lost = {}
    for name, body in run.ledger.items():
        status, got = client_request(
            proxy, 'GET', ledger_root + '/ledger/' + name.decode(),
            ledger_token)
        if status != 200 or got != body:
            lost[name] = (status, len(got), len(body))
    problems = []
    if run.failures:
        problems.append(run.report())
    if down:
        problems.append('nodes down after the run: %s' % down)
    if lost:
        problems.append('%d acknowledged objects do not read back '
                        '(name: status, got bytes, put bytes): %s'
                        % (len(lost), dict(list(lost.items())[:5])))
    tracebacks = logged_tracebacks(proxy)
    if tracebacks:
        problems.append('%d distinct tracebacks in the logs:\n%s' % (
            len(tracebacks), '\n--\n'.join(
                '%s log:\n%s' % (key[0], frames)
                for key, frames in sorted(tracebacks.items()))))
    assert not problems, 'seed %d (OBJSTORE_FUZZ_SEED=%d replays it), %d ' \
        'requests:\n%s' % (seed, seed, run.sent, '\n'.join(problems))


# -- slow clients ---------------------------------------------------------

def connect(cluster, rcvbuf=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(proxy_address(cluster))
    return sock


def dropped_within(sock, seconds):
    """Read until the server closes; (closed, bytes read) after ``seconds``."""
    deadline = time.monotonic() + seconds
    total = 0
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            return True, total
        if not chunk:
            return True, total
        total += len(chunk)
    return False, total


def quick_info(cluster):
    """Seconds a fresh client waits for /info."""
    started = time.monotonic()
    host, port = proxy_address(cluster)
    conn = http.client.HTTPConnection(host, port, timeout=RESPONSE_BOUND)
    try:
        conn.request('GET', '/info')
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
    finally:
        conn.close()
    return time.monotonic() - started


def test_slowloris_headers_are_cut_off_after_client_timeout(proxy):
    """A client dripping header bytes, each well inside client_timeout,
    must still be dropped once client_timeout has passed since it
    connected, and must not hold up anyone else meanwhile."""
    sock = connect(proxy)
    dripping = threading.Event()
    cut_off = []

    def drip():
        started = time.monotonic()
        try:
            sock.sendall(b'GET /info HTTP/1.1\r\nHost: x\r\n')
            while time.monotonic() - started < 6 * CLIENT_TIMEOUT:
                sock.sendall(b'X-Drip: a\r\n')
                dripping.set()
                time.sleep(CLIENT_TIMEOUT / 4)
        except OSError:
            cut_off.append(time.monotonic() - started)

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        assert dripping.wait(5)
        assert quick_info(proxy) < RESPONSE_BOUND
        dripper.join(8 * CLIENT_TIMEOUT)
        closed, _ = dropped_within(sock, 1)
        assert cut_off or closed, (
            'a client sending one header line every %.1fs was still '
            'connected after %.0fs (client_timeout %.0fs)'
            % (CLIENT_TIMEOUT / 4, 6 * CLIENT_TIMEOUT, CLIENT_TIMEOUT))
        assert not cut_off or cut_off[0] < 3 * CLIENT_TIMEOUT
    finally:
        sock.close()


def test_client_that_never_reads_is_dropped_and_blocks_nobody(proxy):
    tracebacks_before = set(logged_tracebacks(proxy))
    path, token = storage(proxy, 'test:tester')
    size = 16 * 1024 * 1024
    body = os.urandom(1024) * (size // 1024)
    assert client_request(proxy, 'PUT', path + '/slow', token)[0] in (201,
                                                                      202)
    assert client_request(proxy, 'PUT', path + '/slow/big', token,
                          body=body)[0] == 201
    stuck = connect(proxy, rcvbuf=4096)
    try:
        stuck.sendall(b'GET %s/slow/big HTTP/1.1\r\nHost: x\r\n'
                      b'X-Auth-Token: %s\r\n\r\n'
                      % (path.encode(), token.encode()))
        time.sleep(0.5)
        for _ in range(3):
            assert quick_info(proxy) < RESPONSE_BOUND
        status, got = client_request(proxy, 'GET', path + '/slow/big', token)
        assert status == 200 and got == body
        time.sleep(CLIENT_TIMEOUT + 3)
        closed, received = dropped_within(stuck, 3 * CLIENT_TIMEOUT)
        assert closed, 'a client that stopped reading was never dropped'
        assert received < size
    finally:
        stuck.close()
    assert set(logged_tracebacks(proxy)) <= tracebacks_before
