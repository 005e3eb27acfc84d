"""rsync command lines, results and rsyncd.conf, against a real rsync
daemon on a free loopback port (started and stopped by PID here)."""

import os
import socket
import threading
import time

import pytest

from objstore.common.daemon import run_concurrently
from objstore.common.exceptions import ConfigError
from objstore.replicator.rsync import (
    KILLED_BY_DEADLINE, RsyncDaemon, RsyncSettings, build_rsync_command,
    count_sent_files, render_rsyncd_conf, rsync_destination, run_rsync)
from tests.helpers import free_port


def start_rsync_daemon(tmp_path, modules):
    port = free_port()
    conf = tmp_path / 'rsyncd.conf'
    conf.write_text(render_rsyncd_conf(
        modules, port, str(tmp_path / 'rsyncd.pid'),
        str(tmp_path / 'rsyncd.log')))
    return RsyncDaemon(str(conf), port).start()


@pytest.fixture
def rsyncd(tmp_path):
    devices = tmp_path / 'node'
    (devices / 'd2').mkdir(parents=True)
    daemon = start_rsync_daemon(tmp_path, [('object6010', str(devices))])
    yield daemon, devices
    daemon.stop()
    assert daemon.proc.poll() is not None


def make_file(path, body=b'x', xattr=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    if xattr:
        os.setxattr(str(path), 'user.objstore.metadata', xattr)
    return path


def settings_for(daemon, **kw):
    return RsyncSettings(module='{replication_ip}::object{replication_port}',
                         port=daemon.port, io_timeout=kw.pop('io', 10),
                         conn_timeout=kw.pop('conn', 5), **kw)


PEER = {'ip': '127.0.0.1', 'port': 6010, 'replication_ip': '127.0.0.1',
        'replication_port': 6010, 'device': 'd2'}


def test_destination_template_and_ipv6():
    assert rsync_destination('{replication_ip}::object{replication_port}',
                             PEER) == '127.0.0.1::object6010/d2/'
    dev = dict(PEER, ip='::1', replication_ip='::1')
    assert rsync_destination('{ip}::object_{device}', dev) == \
        '[::1]::object_d2/d2/'
    with pytest.raises(ConfigError):
        rsync_destination('{nope}::object', PEER)


def test_command_has_safe_options_and_never_delete():
    argv = build_rsync_command('/srv/node/d1/', ['objects/7/abc', 'x/'],
                               'h::m/d2/', RsyncSettings(bwlimit='512K',
                                                         compress=True))
    assert '--ignore-existing' in argv and '--xattrs' in argv
    assert not any(a.startswith('--delete') or a.startswith('--partial')
                   for a in argv)
    assert '--bwlimit=512K' in argv and '--compress' in argv
    assert argv[-3:] == ['/srv/node/d1/./objects/7/abc', '/srv/node/d1/./x',
                         'h::m/d2/']
    with pytest.raises(ValueError):
        build_rsync_command('/d', ['objects/../../etc'], 'h::m/',
                            RsyncSettings())
    with pytest.raises(ValueError):
        build_rsync_command('/d', [], 'h::m/', RsyncSettings())


def test_settings_reject_bad_values():
    with pytest.raises(ConfigError):
        RsyncSettings(bwlimit='fast')
    with pytest.raises(ConfigError):
        RsyncSettings(io_timeout=0)


def test_count_sent_files():
    out = ('cd+++++++++ objects/\n<f+++++++++ objects/5/abc/h/1.data\n'
           '<f+++++++++ objects/5/abc/h/1.data.mdjson\n.d..t...... x/\n')
    assert count_sent_files(out) == 2


def test_render_rsyncd_conf_rejects_bad_module():
    text = render_rsyncd_conf([('object6010', '/n/0')], 6203, '/p', '/l',
                              uid='u', gid='g')
    assert '[object6010]\npath = /n/0\nread only = false' in text
    assert 'uid = u' in text and 'use chroot = no' in text
    with pytest.raises(ValueError):
        render_rsyncd_conf([('bad name', '/x')], 1, '/p', '/l')


def test_push_to_real_daemon_keeps_xattrs_and_newer_files(rsyncd, tmp_path):
    daemon, devices = rsyncd
    local = tmp_path / 'local' / 'd1'
    suffix = 'objects/5/abc'
    sent = make_file(local / suffix / 'h1' / '2.00000.data', b'new-body',
                     xattr=b'{"meta": 1}')
    make_file(local / suffix / 'h1' / '.2.00000.data.AbCdEf', b'partial')
    # The receiver already holds a same-named file: it must not be
    # rewritten (file names identify versions), and its newer tombstone
    # must survive (no --delete).
    kept = make_file(devices / 'd2' / suffix / 'h2' / '1.00000.data', b'mine')
    newer = make_file(devices / 'd2' / suffix / 'h1' / '3.00000.ts', b'')
    make_file(local / suffix / 'h2' / '1.00000.data', b'other')
    argv = build_rsync_command(str(local), [suffix],
                               rsync_destination(settings_for(daemon).module,
                                                 PEER),
                               settings_for(daemon))
    result = run_rsync(argv, 20)
    assert result.ok, result.output
    assert result.files_sent == 1
    copy = devices / 'd2' / suffix / 'h1' / '2.00000.data'
    assert copy.read_bytes() == b'new-body'
    assert os.getxattr(str(copy), 'user.objstore.metadata') == b'{"meta": 1}'
    assert kept.read_bytes() == b'mine'
    assert newer.exists()
    assert not (devices / 'd2' / suffix / 'h1' / '.2.00000.data.AbCdEf'
                ).exists()
    assert sent.exists()


def test_unknown_module_fails(rsyncd, tmp_path):
    daemon, _ = rsyncd
    local = tmp_path / 'local' / 'd1'
    make_file(local / 'objects/5/abc/h1/1.00000.data')
    argv = build_rsync_command(str(local), ['objects/5/abc'],
                               '127.0.0.1::nosuchmodule/d2/',
                               settings_for(daemon))
    result = run_rsync(argv, 20)
    assert not result.ok and result.returncode == 5
    assert 'client-server' in result.meaning


def test_connection_refused_fails_fast(tmp_path):
    local = tmp_path / 'd1'
    make_file(local / 'objects/5/abc/h1/1.00000.data')
    settings = RsyncSettings(module='127.0.0.1::object', port=free_port(),
                             io_timeout=5, conn_timeout=2)
    result = run_rsync(build_rsync_command(str(local), ['objects/5/abc'],
                                           '127.0.0.1::object/d2/',
                                           settings), 20)
    assert result.returncode == 10 and not result.ok


def test_silent_peer_is_killed_at_deadline(tmp_path):
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(
        listener.accept()), daemon=True)
    thread.start()
    local = tmp_path / 'd1'
    make_file(local / 'objects/5/abc/h1/1.00000.data')
    settings = RsyncSettings(module='127.0.0.1::object',
                             port=listener.getsockname()[1],
                             io_timeout=30, conn_timeout=30)
    try:
        result = run_rsync(build_rsync_command(
            str(local), ['objects/5/abc'], '127.0.0.1::object/d2/',
            settings), 1.0)
    finally:
        listener.close()
        for conn, _ in accepted:
            conn.close()
    assert result.returncode == KILLED_BY_DEADLINE
    assert result.duration < 5 and not result.ok


def test_daemon_start_fails_cleanly_on_bad_conf(tmp_path):
    conf = tmp_path / 'bad.conf'
    conf.write_text(render_rsyncd_conf([('m', str(tmp_path))], 1,
                                       '/nonexistent/dir/rsyncd.pid',
                                       str(tmp_path / 'log')))
    with pytest.raises(RuntimeError, match='pid.file'):
        RsyncDaemon(str(conf), free_port(), start_timeout=3).start()


def test_runs_of_concurrent_green_threads_overlap():
    # A stand-in command that takes 0.5 s: four at once must take about
    # 0.5 s, not 2 s, whether or not subprocess is monkey-patched.
    started = time.monotonic()
    results = run_concurrently(lambda _i: run_rsync(['sleep', '0.5'], 5),
                               range(4), 4)
    assert [r.returncode for r in results] == [0] * 4
    assert time.monotonic() - started < 1.5
