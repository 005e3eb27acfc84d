"""domain_remap over a recording app: the remapped paths, reseller
prefixes, Location headers written back, and the sample config."""

import os
from urllib.parse import quote

import pytest

from objstore.common.http import Request
from objstore.middleware.domain_remap import (
    DomainRemapConf, DomainRemapMiddleware)
from tests.helpers import SAMPLE_DIR, assert_sample_matches

SAMPLE = os.path.join(SAMPLE_DIR, 'proxy-server.conf-sample')


def recorder(environ, start_response):
    start_response('301 Moved Permanently', [
        ('Location', 'http://proxy%s/' % quote(environ['PATH_INFO'])),
        ('X-Path', environ['PATH_INFO'])])
    return [b'']


def send(host, path='/o', **conf):
    return Request.blank(path, headers={'Host': host}).get_response(
        DomainRemapMiddleware(recorder, conf))


@pytest.mark.parametrize('host,path,conf,expected', [
    ('c.AUTH_a.example.com', '/o', {}, '/v1/AUTH_a/c/o'),
    ('c.auth-a.example.com:80', '/o', {}, '/v1/AUTH_a/c/o'),
    ('AUTH_a.example.com', '/c/o', {}, '/v1/AUTH_a/c/o'),
    ('c.a.example.com', '/o', {}, '/o'),
    ('c.a.example.com', '/o', {'default_reseller_prefix': 'AUTH'},
     '/v1/AUTH_a/c/o'),
    ('c.KEY_a.store.test', '/o', {'storage_domain': 'example.com, .store.test',
                                   'reseller_prefixes': 'AUTH, KEY',
                                   'path_root': '/v2/'}, '/v2/KEY_a/c/o'),
    ('AUTH_a.example.com', '/v1/c/o', {'mangle_client_paths': 'true'},
     '/v1/AUTH_a/c/o'),
    ('AUTH_a.example.com', '/v1/c/o', {}, '/v1/AUTH_a/v1/c/o'),
    ('example.com', '/o', {}, '/o'),
])
def test_remapped_paths(host, path, conf, expected):
    assert send(host, path, **conf).headers['X-Path'] == expected


def test_location_names_the_clients_path():
    resp = send('c.AUTH_a.example.com', '/d%20x')
    assert resp.headers['X-Path'] == '/v1/AUTH_a/c/d x'
    assert resp.headers['Location'] == 'http://proxy/d%20x/'


def test_bad_domain():
    resp = send('x.c.AUTH_a.example.com')
    assert (resp.status_int, resp.body) == (400, b'Bad domain in host header')


def test_sample_matches_dataclass():
    assert_sample_matches(DomainRemapConf, SAMPLE, 'filter:domain_remap',
                          ignore=('use',))
