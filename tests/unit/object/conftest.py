"""Fixtures shared by the object tests: tmp devices with real xattrs."""

import http.client
import os
from urllib.parse import quote

import pytest

from objstore.common.hashing import HashConf
from objstore.common.wsgi import serve_in_thread
from objstore.object.diskfile import DiskFileManager, DiskFileSettings
from objstore.object.server import ObjectController

HASH_CONF = HashConf(b'', b'objtest')


@pytest.fixture
def devices(tmp_path):
    """A devices root on the real filesystem holding one device, ``sda``."""
    root = tmp_path / 'devices'
    os.makedirs(root / 'sda')
    return str(root)


@pytest.fixture
def device_path(devices):
    return os.path.join(devices, 'sda')


@pytest.fixture
def mgr(devices):
    return DiskFileManager(DiskFileSettings(devices=devices,
                                            disk_chunk_size=4096,
                                            hash_conf=HASH_CONF))


def put_object(mgr, obj, body, timestamp, extra=None, device='sda',
               partition='0', policy_index=0):
    """Write one object through the DiskFile API; returns the DiskFile."""
    df = mgr.get_diskfile(device, partition, 'a', 'c', obj, policy_index)
    with df.create(len(body)) as writer:
        writer.write(body)
        meta = {'X-Timestamp': str(timestamp),
                'Content-Type': 'application/octet-stream'}
        meta.update(extra or {})
        writer.put(meta)
    return df


class ObjectServerHarness:
    """An ObjectController on a real loopback port over tmp devices."""

    def __init__(self, devices, **conf):
        settings = {'devices': devices, 'mount_check': 'false',
                    'log_level': 'ERROR', 'client_timeout': '5'}
        settings.update(conf)
        self.devices = devices
        self.app = ObjectController(settings, hash_conf=HASH_CONF)
        self.server = serve_in_thread(self.app)
        self.host, self.port = self.server.host, self.server.port

    def request(self, method, path, headers=None, body=None):
        """(status, {lower-case header: value}, body); path pre-quoted."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return (resp.status,
                    {k.lower(): v for k, v in resp.getheaders()},
                    resp.read())
        finally:
            conn.close()

    def stop(self):
        self.server.stop()


def opath(obj='o', device='sda', partition='0', account='a', container='c'):
    return '/%s/%s/%s/%s/%s' % (device, partition, quote(account),
                                quote(container), quote(obj))


@pytest.fixture
def server(devices):
    harness = ObjectServerHarness(devices)
    yield harness
    harness.stop()


class RecordingBackend:
    """A stand-in container server on a real port that records requests."""

    def __init__(self, status=201):
        self.status = status
        self.requests = []
        self.server = serve_in_thread(self)

    def __call__(self, environ, start_response):
        headers = {k[5:].replace('_', '-').title(): v
                   for k, v in environ.items() if k.startswith('HTTP_')}
        self.requests.append((environ['REQUEST_METHOD'],
                              environ['PATH_INFO'], headers))
        start_response('%d Status' % self.status,
                       [('Content-Length', '0')])
        return [b'']

    @property
    def host(self):
        return '%s:%d' % (self.server.host, self.server.port)

    def stop(self):
        self.server.stop()


@pytest.fixture
def container_backend():
    backend = RecordingBackend()
    yield backend
    backend.stop()


def tmp_files(device_path):
    """What is left in a device's tmp/ (should be nothing after a request)."""
    try:
        return os.listdir(os.path.join(device_path, 'tmp'))
    except FileNotFoundError:
        return []


def object_files(device_path):
    """Every file under the device's object dirs."""
    found = []
    for root, _dirs, files in os.walk(device_path):
        if '/objects' in root:
            found.extend(os.path.join(root, f) for f in files
                         if not f.startswith('hashes') and f != '.lock')
    return found
