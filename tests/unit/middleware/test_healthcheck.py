"""healthcheck in front of the real storage servers, over a real socket:
a server whose devices all refuse new files answers 503, not 200. Devices
are made unwritable for real with the immutable attribute (chattr +i),
which stops root too."""

import http.client
import os
import subprocess

import pytest

from objstore.common.wsgi import serve_in_thread
from objstore.middleware import healthcheck
from tests.unit.proxy.cluster import KINDS

DEVICES = ('d0', 'd1')


@pytest.fixture
def immutable():
    """chattr +i a path; undone at teardown so tmp dirs can be removed."""
    made = []

    def make(path):
        subprocess.run(['chattr', '+i', path], check=True)
        made.append(path)
    yield make
    for path in made:
        subprocess.run(['chattr', '-i', path], check=True)


def serve_storage(tmp_path, kind):
    """The storage server ``kind`` behind healthcheck, as the aio's pipeline
    has it, with its [DEFAULT] (devices, mount_check) as global conf."""
    (tmp_path / 'objstore.conf').write_text(
        '[objstore-hash]\npath_hash_prefix = p\npath_hash_suffix = s\n')
    devices = tmp_path / 'devices'
    for name in DEVICES:
        (devices / name).mkdir(parents=True)
    defaults = {'devices': str(devices), 'mount_check': 'false',
                'conf_dir': str(tmp_path), 'log_level': 'WARNING'}
    app = KINDS[kind]({}, **defaults)
    return serve_in_thread(healthcheck.filter_factory(defaults)(app)), \
        devices


def get_health(server):
    conn = http.client.HTTPConnection('127.0.0.1', server.port, timeout=10)
    try:
        conn.request('GET', '/healthcheck')
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize('kind', sorted(KINDS))
def test_storage_server_with_no_writable_device_is_unhealthy(
        tmp_path, immutable, kind):
    server, devices = serve_storage(tmp_path, kind)
    try:
        assert get_health(server) == (200, b'OK')
        for name in DEVICES:
            immutable(str(devices / name))
        assert get_health(server) == (503, b'NO WRITABLE DEVICE')
        subprocess.run(['chattr', '-i', str(devices / 'd1')], check=True)
        assert get_health(server) == (200, b'OK')
        assert os.listdir(devices / 'd1') == []
    finally:
        server.stop()


def test_no_device_dirs_is_unhealthy(tmp_path):
    (tmp_path / 'd0').write_text('a file where a device dir should be')
    assert not healthcheck.has_writable_device(str(tmp_path), False)
    assert not healthcheck.has_writable_device(str(tmp_path / 'none'), False)
    (tmp_path / 'd1').mkdir()
    assert healthcheck.has_writable_device(str(tmp_path), False)
    assert not healthcheck.has_writable_device(str(tmp_path), True)

