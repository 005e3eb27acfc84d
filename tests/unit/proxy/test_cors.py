"""CORS through the proxy pipeline of an in-process cluster: the headers
of actual cross-origin responses (Access-Control-Allow-Origin,
-Expose-Headers, Vary) and preflights, from container metadata and the
operator's cors_allow_origin / cors_expose_headers / strict_cors_mode."""

import pytest

from objstore.proxy.cors import (
    CorsConf, DEFAULT_EXPOSE_HEADERS, actual_response_headers)
from tests.helpers import make_logger
from tests.unit.proxy.cluster import InProcessCluster
from tests.unit.proxy.test_cluster import Client

ORIGIN = 'http://web.example'


def exposed(headers):
    return set(headers['access-control-expose-headers'].split(', '))


@pytest.fixture
def make_cluster(tmp_path):
    started = []

    def start(**proxy_conf):
        root = tmp_path / ('c%d' % len(started))
        root.mkdir()
        handle = InProcessCluster(root, proxy_conf=proxy_conf,
                                  logger=make_logger('cors'))
        started.append(handle)
        return handle, Client(handle, 'test:tester')
    yield start
    for handle in started:
        handle.stop()


def put_object(tester, allow_origin=None, expose=None):
    meta = {}
    if allow_origin:
        meta['X-Container-Meta-Access-Control-Allow-Origin'] = allow_origin
    if expose:
        meta['X-Container-Meta-Access-Control-Expose-Headers'] = expose
    assert tester('PUT', '/c', meta)[0] == 201
    assert tester('PUT', '/c/o', {'X-Object-Meta-Color': 'red'},
                  body=b'x')[0] == 201


def test_actual_response_of_an_allowed_origin(make_cluster):
    _cluster, tester = make_cluster()
    put_object(tester, ORIGIN + ' http://other', 'X-Custom')
    status, headers, _ = tester('GET', '/c/o', {'Origin': ORIGIN})
    assert status == 200
    assert headers['access-control-allow-origin'] == ORIGIN
    assert headers['vary'] == 'Origin'
    assert exposed(headers) == DEFAULT_EXPOSE_HEADERS | {
        'x-object-meta-color', 'x-custom'}
    # A container's own answers are CORS answers too.
    status, headers, _ = tester('HEAD', '/c', {'Origin': ORIGIN})
    assert status == 204
    assert headers['access-control-allow-origin'] == ORIGIN
    assert 'x-container-meta-access-control-allow-origin' in exposed(headers)


def test_wildcard_origin_answers_star_without_vary(make_cluster):
    _cluster, tester = make_cluster()
    put_object(tester, '*')
    status, headers, _ = tester('GET', '/c/o', {'Origin': ORIGIN})
    assert status == 200
    assert headers['access-control-allow-origin'] == '*'
    assert 'vary' not in headers


def test_strict_mode_gives_a_refused_origin_no_cors_headers(make_cluster):
    _cluster, tester = make_cluster()
    put_object(tester, 'http://other')
    status, headers, _ = tester('GET', '/c/o', {'Origin': ORIGIN})
    assert status == 200
    assert not any(name.startswith('access-control-') for name in headers)
    status, headers, _ = tester('GET', '/c/o')
    assert 'access-control-allow-origin' not in headers


def test_lax_mode_answers_any_origin(make_cluster):
    _cluster, tester = make_cluster(strict_cors_mode='false')
    put_object(tester)
    status, headers, _ = tester('GET', '/c/o', {'Origin': ORIGIN})
    assert status == 200
    assert headers['access-control-allow-origin'] == ORIGIN


def test_operator_origins_and_expose_headers(make_cluster):
    cluster, tester = make_cluster(cors_allow_origin='http://a, ' + ORIGIN,
                                   cors_expose_headers='X-Ops-One')
    put_object(tester)
    status, headers, _ = tester('GET', '/c/o', {'Origin': ORIGIN})
    assert headers['access-control-allow-origin'] == ORIGIN
    assert 'x-ops-one' in exposed(headers)
    status, headers, body = Client(cluster).raw(
        'OPTIONS', tester.storage_path + '/c/o', {
            'Origin': ORIGIN, 'Access-Control-Request-Method': 'PUT',
            'Access-Control-Request-Headers': 'x-auth-token, content-type'})
    assert status == 200
    assert headers['access-control-allow-origin'] == ORIGIN
    assert headers['access-control-allow-headers'] == \
        'content-type, x-auth-token'
    assert headers['vary'] == 'Origin, Access-Control-Request-Headers'


def test_existing_headers_are_kept_and_vary_extended():
    added = actual_response_headers(
        {'Vary': 'Accept', 'Access-Control-Expose-Headers': 'x-a'},
        {'allow_origin': ORIGIN}, ORIGIN, CorsConf())
    assert added == {'Access-Control-Allow-Origin': ORIGIN,
                     'Vary': 'Accept, Origin'}
