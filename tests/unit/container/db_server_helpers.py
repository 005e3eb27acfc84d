"""Helpers for the account/container server tests: tmp devices, servers on
real loopback sockets, and a small raw HTTP client (raw so that tests can
send bytes a normal client would refuse: invalid UTF-8, NUL, odd paths)."""

import http.client
import os
import tempfile
import shutil
from contextlib import contextmanager
from urllib.parse import quote

from objstore.common.hashing import HashConf
from objstore.common.storage_policy import StoragePolicies
from objstore.common.wsgi import serve_in_thread

HASH_CONF = HashConf(b'test-prefix', b'test-suffix')
# Policies 0 (the default) to 4, for tests binding containers to others.
POLICIES = StoragePolicies.from_sections(
    {'storage-policy:%d' % i: {'name': 'p%d' % i,
                               'default': 'yes' if i == 0 else 'no'}
     for i in range(5)})


def server_conf(devices, **extra):
    conf = {'devices': devices, 'mount_check': 'false',
            'log_level': 'WARNING', 'conn_timeout': '0.5',
            'node_timeout': '2'}
    conf.update(extra)
    return conf


@contextmanager
def devices_dir(*names):
    root = tempfile.mkdtemp(prefix='objstore-db-test-')
    try:
        for name in names:
            os.makedirs(os.path.join(root, name, 'tmp'))
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def running(app):
    handle = serve_in_thread(app)
    try:
        yield handle
    finally:
        handle.stop()


class Client:
    """Requests to one server; paths are str (quoted here) or raw bytes."""

    def __init__(self, port):
        self.port = port

    def request(self, method, path, headers=None, body=b''):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
        try:
            if isinstance(path, str):
                target = quote(path, safe='/?=&%')
            else:
                target = path.decode('latin-1')
            conn.putrequest(method, target, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            if body or method in ('PUT', 'POST', 'REPLICATE'):
                conn.putheader('Content-Length', str(len(body)))
            conn.endheaders(body or None)
            resp = conn.getresponse()
            payload = resp.read()
            return resp.status, {k.lower(): v for k, v in
                                 resp.getheaders()}, payload
        finally:
            conn.close()
