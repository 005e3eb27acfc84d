"""A middleware's view of container info (common.info), in a real pipeline.

The pipeline is the aio's own proxy-server.conf, loaded with PasteDeploy
in this process, with one test-only filter (``InfoProbe``) inserted before
tempauth; it reaches the aio cluster's storage servers over HTTP. Backend
requests are counted in the container servers' access logs.
"""

import glob
import http.client
import json
import os
import re
import time
import uuid
from urllib.parse import urlparse

import pytest

from objstore.common.info import get_account_info, get_container_info
from objstore.common.wsgi import load_app, serve_in_thread
from tests.helpers import proxy_request

PROBE_HEADER = 'HTTP_X_PROBE_INFO'
SYSMETA_HEADER = 'HTTP_X_PROBE_SYSMETA'


class InfoProbe:
    """Test-only filter. A request with ``X-Probe-Info: container|account``
    is a question: a GET is answered here with the info as JSON; any other
    verb goes down the pipeline first, with the info looked up before and
    after it within the same request. ``X-Probe-Sysmeta`` is kept as this
    middleware's container sysmeta, the way middlewares keep their state.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        what = environ.pop(PROBE_HEADER, None)
        sysmeta = environ.pop(SYSMETA_HEADER, None)
        if sysmeta is not None:
            environ['HTTP_X_CONTAINER_SYSMETA_PROBE'] = sysmeta
        if what is None:
            return self.app(environ, start_response)
        lookup = get_container_info if what == 'container' \
            else get_account_info
        answer = {'before': lookup(environ, self.app, 'probe')}
        if environ['REQUEST_METHOD'] != 'GET':
            answer['write'] = self._pass_down(environ)
            answer['after'] = lookup(environ, self.app, 'probe')
        start_response('200 OK', [('Content-Type', 'application/json')])
        return [json.dumps(answer).encode('utf-8')]

    def _pass_down(self, environ):
        statuses = []
        body = self.app(environ, lambda status, headers, exc_info=None:
                        statuses.append(status))
        try:
            for _chunk in body:
                pass
        finally:
            getattr(body, 'close', lambda: None)()
        return int(statuses[0].split()[0])


def probe_filter_factory(global_conf, **local_conf):
    return InfoProbe


class ProbePipeline:
    """The aio's proxy pipeline plus InfoProbe, served on a loopback port."""

    def __init__(self, cluster, tmp_dir):
        with open(cluster.aio.dirs.proxy_conf, encoding='utf-8') as conf:
            text = conf.read()
        text = re.sub(r'(pipeline = .*?)tempauth', r'\1probe tempauth', text)
        text += ('\n[filter:probe]\npaste.filter_factory = '
                 '%s:probe_filter_factory\n' % __name__)
        path = os.path.join(tmp_dir, 'proxy-server.conf')
        with open(path, 'w', encoding='utf-8') as conf:
            conf.write(text)
        self.app = load_app(path)
        self.server = serve_in_thread(self.app)

    def request(self, method, path, token, headers=None, body=None):
        conn = http.client.HTTPConnection('127.0.0.1', self.server.port,
                                          timeout=30)
        try:
            conn.request(method, path, body=body,
                         headers=dict(headers or {}, **{'X-Auth-Token':
                                                        token}))
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def ask(self, method, path, token, what='container', headers=None):
        status, body = self.request(method, path, token,
                                    dict(headers or {},
                                         **{'X-Probe-Info': what}))
        assert status == 200, body
        return json.loads(body)

    def close(self):
        self.server.stop()


@pytest.fixture(scope='module')
def pipeline(cluster, tmp_path_factory):
    probe = ProbePipeline(cluster, str(tmp_path_factory.mktemp('probe')))
    yield probe
    probe.close()


def container_heads(cluster, account, container):
    """How many HEADs of the container its servers have logged."""
    wanted = '/%s/%s"' % (account, container)
    count = 0
    for log in glob.glob(os.path.join(cluster.aio.dirs.logs,
                                      'container-server-*.log')):
        with open(log, encoding='utf-8', errors='replace') as lines:
            count += sum(1 for line in lines
                         if '"HEAD /' in line and wanted in line)
    return count


def wait_for_heads(cluster, account, container, above, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = container_heads(cluster, account, container)
        if count > above:
            return count
        time.sleep(0.1)
    return container_heads(cluster, account, container)


@pytest.fixture
def owner(cluster):
    storage_url, token = cluster.get_token('test:tester')
    return urlparse(storage_url).path, token


def test_a_middleware_sees_acls_meta_sysmeta_and_counts(
        cluster, pipeline, owner):
    account_path, token = owner
    path = '%s/info-%s' % (account_path, uuid.uuid4().hex)
    status, body = pipeline.request('PUT', path, token, {
        'X-Container-Read': 'test2:tester2',
        'X-Container-Write': 'test:tester3',
        'X-Container-Meta-Color': 'red',
        'X-Probe-Sysmeta': 'kept'})
    assert status == 201, body
    # Through the aio's own proxy: an object write through this one would
    # cache the container's info first, and counts in cached info are
    # only as fresh as recheck_container_existence (as in Swift).
    status, _body = proxy_request(cluster, 'test:tester',
                                  'PUT', path[len(account_path):] + '/obj',
                                  body=b'12345')
    assert status == 201
    # Not the owner: a client HEAD would hide the ACLs from this user, the
    # middleware's lookup must still see them.
    _url, reader = cluster.get_token('test:tester3')
    info = pipeline.ask('GET', path, reader)['before']
    assert info['status'] == 204
    assert (info['read_acl'], info['write_acl']) == ('test2:tester2',
                                                     'test:tester3')
    assert info['meta'] == {'color': 'red'}
    assert info['sysmeta'] == {'probe': 'kept'}
    assert (info['object_count'], info['bytes']) == (1, 5)
    assert info['storage_policy'] == '0'
    account = pipeline.ask('GET', path, token, what='account')['before']
    assert account['status'] == 204 and account['container_count'] >= 1


def test_cached_info_is_served_without_a_backend_request(cluster, pipeline,
                                                         owner):
    account_path, token = owner
    name = 'cached-%s' % uuid.uuid4().hex
    path = '%s/%s' % (account_path, name)
    account = account_path.rsplit('/', 1)[1]
    assert pipeline.request('PUT', path, token)[0] == 201
    before = container_heads(cluster, account, name)
    assert pipeline.ask('GET', path, token)['before']['status'] == 204
    looked_up = wait_for_heads(cluster, account, name, before)
    assert looked_up > before, 'the first lookup reached no backend'
    for _ in range(3):
        assert pipeline.ask('GET', path, token)['before']['status'] == 204
    time.sleep(1.0)     # time for a late access line to be written
    assert container_heads(cluster, account, name) == looked_up


def test_info_changes_right_after_this_proxys_post(cluster, pipeline,
                                                   owner):
    account_path, token = owner
    path = '%s/post-%s' % (account_path, uuid.uuid4().hex)
    assert pipeline.request('PUT', path, token, {
        'X-Container-Meta-Color': 'red'})[0] == 201
    assert pipeline.ask('GET', path, token)['before']['meta'] == {
        'color': 'red'}
    # Within one request: looked up, written, looked up again.
    answer = pipeline.ask('POST', path, token, headers={
        'X-Container-Meta-Color': 'blue',
        'X-Container-Read': '.r:*'})
    assert answer['write'] == 204
    assert answer['before']['meta'] == {'color': 'red'}
    assert answer['after']['meta'] == {'color': 'blue'}
    assert answer['after']['read_acl'] == '.r:*'
    # And in the next request, although the old info was cached.
    info = pipeline.ask('GET', path, token)['before']
    assert info['meta'] == {'color': 'blue'} and info['read_acl'] == '.r:*'


def test_a_deleted_container_is_not_found_at_once(cluster, pipeline, owner):
    account_path, token = owner
    path = '%s/gone-%s' % (account_path, uuid.uuid4().hex)
    assert pipeline.request('PUT', path, token)[0] == 201
    assert pipeline.ask('GET', path, token)['before']['status'] == 204
    assert pipeline.request('DELETE', path, token)[0] == 204
    assert pipeline.ask('GET', path, token)['before']['status'] == 404
