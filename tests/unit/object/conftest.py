"""Fixtures shared by the object tests: tmp devices with real xattrs."""

import glob
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import quote

import pytest

from objstore.common.hashing import HashConf
from objstore.common.row_update import BATCH_VERB, decode_batch
from objstore.common.timestamp import Timestamp
from objstore.common.wsgi import serve_in_thread
from objstore.object.diskfile import DiskFileManager, DiskFileSettings
from objstore.object.server import ObjectController
from tests.helpers import free_port

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


class ServerProcess:
    """A real object server process (``python -m objstore.cli.server``,
    workers = 0, monkey patched as in production) on tmp devices."""

    START_TIMEOUT = 15

    def __init__(self, tmp_path, **conf):
        self.port = free_port()
        devices = os.path.join(str(tmp_path), 'devices')
        self.device_path = os.path.join(devices, 'sda')
        os.makedirs(self.device_path, exist_ok=True)
        with open(os.path.join(str(tmp_path), 'objstore.conf'), 'w') as out:
            out.write('[objstore-hash]\npath_hash_suffix = objtest\n')
        settings = {'devices': devices, 'mount_check': 'false',
                    'bind_ip': '127.0.0.1', 'bind_port': str(self.port),
                    'workers': '0', 'conf_dir': str(tmp_path),
                    'log_level': 'ERROR'}
        settings.update(conf)
        self.conf_path = os.path.join(str(tmp_path), 'object-server.conf')
        with open(self.conf_path, 'w') as out:
            out.write('[DEFAULT]\n')
            out.writelines('%s = %s\n' % item for item in settings.items())
            out.write('\n[pipeline:main]\npipeline = object-server\n\n'
                      '[app:object-server]\nuse = egg:objstore#object\n')
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'objstore.cli.server', self.conf_path],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + self.START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                socket.create_connection(('127.0.0.1', self.port),
                                         0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError('object server exited with %s'
                                       % self.proc.returncode)
                time.sleep(0.05)
        self.kill()
        raise RuntimeError('object server did not start')

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def request(self, method, path, headers=None, body=None):
        """(status, body) of one request."""
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()


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

    def __init__(self, status=201, delay=0):
        self.status = status
        self.delay = delay
        self.requests = []
        self.batch_sizes = []   # rows of each batch (also in requests)
        self.client_ports = set()   # one per TCP connection it was sent on
        self.answered = 0
        self.server = serve_in_thread(self)

    def __call__(self, environ, start_response):
        self.client_ports.add(environ['REMOTE_PORT'])
        if environ['REQUEST_METHOD'] == BATCH_VERB:
            return self._batch(environ, start_response)
        headers = {k[5:].replace('_', '-').title(): v
                   for k, v in environ.items() if k.startswith('HTTP_')}
        self.requests.append((environ['REQUEST_METHOD'],
                              environ['PATH_INFO'], headers))
        return self._answer(start_response, b'')

    def _batch(self, environ, start_response):
        """A batch of rows (common.row_update) is recorded as the single
        updates it stands for; 200 with this backend's status per row, or
        its status for the whole batch when that is an error."""
        body = environ['wsgi.input'].read(
            int(environ.get('CONTENT_LENGTH') or 0))
        rows = decode_batch(body)
        self.batch_sizes.append(len(rows))
        for row in rows:
            self.requests.append((row.op, '%s/%s' % (
                environ['PATH_INFO'], row.obj), dict(row.headers)))
        if 200 <= self.status < 300:
            return self._answer(start_response, json.dumps(
                [self.status] * len(rows)).encode(), status=200)
        return self._answer(start_response, b'')

    def _answer(self, start_response, body, status=None):
        # A slow container server (this thread's hub is its own).
        time.sleep(self.delay)
        start_response('%d Status' % (status or self.status),
                       [('Content-Length', str(len(body)))])
        self.answered += 1
        return [body]

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
    """The files left in a device's tmp/ and its subdirs (paths relative
    to tmp/; should be none after a request)."""
    tmp_dir = os.path.join(device_path, 'tmp')
    return sorted(os.path.relpath(os.path.join(parent, name), tmp_dir)
                  for parent, _dirs, names in os.walk(tmp_dir)
                  for name in names)


def object_files(device_path):
    """Every file under the device's object dirs."""
    found = []
    for root, _dirs, files in os.walk(device_path):
        if '/objects' in root:
            found.extend(os.path.join(root, f) for f in files
                         if not f.startswith('hashes') and f != '.lock')
    return found


@pytest.fixture
def sendfile_calls(monkeypatch):
    """The os.sendfile calls made in this process (each still sent)."""
    calls = []
    real = os.sendfile

    def spy(out_fd, in_fd, offset, count):
        calls.append((offset, count))
        return real(out_fd, in_fd, offset, count)
    monkeypatch.setattr(os, 'sendfile', spy)
    return calls


def read_cut_short(host, port, obj='o'):
    """(Content-Length, bytes got) of a GET the server cuts short."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request('GET', opath(obj))
        resp = conn.getresponse()
        assert resp.status == 200
        with pytest.raises(http.client.IncompleteRead) as cut:
            resp.read()
        return int(resp.getheader('Content-Length')), len(cut.value.partial)
    finally:
        conn.close()


def server_put(target, body, obj='o'):
    """PUT ``body`` as ``obj`` through an object server (201 or fail)."""
    status = target.request('PUT', opath(obj), {
        'X-Timestamp': Timestamp.now().internal,
        'Content-Type': 'application/octet-stream',
        'Content-Length': str(len(body))}, body)[0]
    assert status == 201


def data_path(devices):
    """The one .data file on device sda under ``devices``."""
    [path] = glob.glob(os.path.join(devices, 'sda', 'objects', '*', '*', '*',
                                    '*.data'))
    return path
