import fcntl
import os
import struct

import pytest

from objstore.common import durable
from objstore.common.durable import (
    fsync_dir, make_dirs, makedirs_durable, start_writeback, write_atomic)
from tests.helpers import dirty_pages, wait_for


def test_write_atomic_replaces_whole_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / 'ring.gz'
    target.write_bytes(b'old')
    write_atomic(str(target), b'new contents', mode=0o600)
    assert target.read_bytes() == b'new contents'
    assert oct(target.stat().st_mode & 0o777) == '0o600'
    assert os.listdir(tmp_path) == ['ring.gz']


def test_write_atomic_failure_keeps_old_file_and_no_temp(tmp_path):
    target = tmp_path / 'f'
    target.write_bytes(b'old')
    with pytest.raises(TypeError):
        write_atomic(str(target), 'not bytes')
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['f']


def test_make_dirs_reports_what_it_created(tmp_path):
    (tmp_path / 'a').mkdir()
    created = make_dirs(str(tmp_path / 'a' / 'b' / 'c'))
    assert created == [str(tmp_path / 'a' / 'b'),
                       str(tmp_path / 'a' / 'b' / 'c')]
    assert make_dirs(str(tmp_path / 'a' / 'b' / 'c')) == []
    makedirs_durable(str(tmp_path / 'x' / 'y'))
    assert (tmp_path / 'x' / 'y').is_dir()
    fsync_dir(str(tmp_path))


def test_makedirs_durable_fsyncs_each_new_parent(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(durable, 'fsync_dir', synced.append)
    (tmp_path / 'exists').mkdir()
    target = tmp_path / 'exists' / 'a' / 'b'
    durable.makedirs_durable(str(target))
    assert target.is_dir()
    assert synced == [str(tmp_path / 'exists'), str(tmp_path / 'exists' / 'a')]
    durable.makedirs_durable(str(target))
    assert len(synced) == 2


def test_start_writeback_sends_dirty_pages_to_disk_without_fsync(tmp_path):
    path = str(tmp_path / 'big')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.write(fd, os.urandom(4 * 1024 * 1024))
        # The kernel holds a fresh file's pages for up to half a minute.
        assert dirty_pages(path) > 0
        start_writeback(fd, 0, 4 * 1024 * 1024)
        assert wait_for(lambda: dirty_pages(path) == 0, timeout=10)
    finally:
        os.close(fd)


def test_make_dirs_goes_up_only_while_parents_are_missing(tmp_path,
                                                           monkeypatch):
    # A PUT makes its hash dir (and often the suffix dir) this way: one
    # stat of the dir itself, then no stat per level, one mkdir per new
    # dir plus one per missing parent found.
    (tmp_path / 'part').mkdir()
    calls = []
    real_mkdir, real_isdir = os.mkdir, os.path.isdir

    def recording(name, real):
        def call(path, *args):
            calls.append((name, os.path.relpath(path, tmp_path)))
            return real(path, *args)
        return call
    monkeypatch.setattr(durable.os, 'mkdir', recording('mkdir', real_mkdir))
    monkeypatch.setattr(durable.os.path, 'isdir',
                        recording('isdir', real_isdir))
    assert make_dirs(str(tmp_path / 'part' / 'abc')) == [
        str(tmp_path / 'part' / 'abc')]
    assert calls == [('isdir', 'part/abc'), ('mkdir', 'part/abc')]
    del calls[:]
    suffix_dir = tmp_path / 'part' / 'def'
    assert make_dirs(str(suffix_dir / 'hash')) == [
        str(suffix_dir), str(suffix_dir / 'hash')]
    assert calls == [('isdir', 'part/def/hash'), ('mkdir', 'part/def/hash'),
                     ('mkdir', 'part/def'), ('mkdir', 'part/def/hash')]
    del calls[:]
    assert make_dirs(str(suffix_dir / 'hash')) == []
    assert calls == [('isdir', 'part/def/hash')]


def dir_flags(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return struct.unpack('I', fcntl.ioctl(
            fd, durable.FS_IOC_GETFLAGS, struct.pack('I', 0)))[0]
    finally:
        os.close(fd)


def test_spread_subdirs_sets_the_top_directory_flag(tmp_path):
    """On ext4 (the filesystem here, DESIGN.md), as chattr +T does."""
    assert not dir_flags(tmp_path) & durable.FS_TOPDIR_FL
    assert durable.spread_subdirs(str(tmp_path))
    assert dir_flags(tmp_path) & durable.FS_TOPDIR_FL
    assert durable.spread_subdirs(str(tmp_path))  # already set: still fine


def test_spread_subdirs_of_what_is_no_dir_is_refused_quietly(tmp_path):
    assert not durable.spread_subdirs(str(tmp_path / 'missing'))
    (tmp_path / 'file').write_bytes(b'')
    assert not durable.spread_subdirs(str(tmp_path / 'file'))


def test_create_temp_file_makes_a_new_private_file(tmp_path):
    fd, path = durable.create_temp_file(str(tmp_path), '.obj-')
    try:
        assert os.path.dirname(path) == str(tmp_path)
        assert os.path.basename(path).startswith('.obj-')
        assert os.fstat(fd).st_mode & 0o777 == 0o600
        assert os.write(fd, b'abc') == 3
        assert fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    finally:
        os.close(fd)
    with open(path, 'rb') as written:
        assert written.read() == b'abc'


def test_create_temp_file_draws_again_when_a_name_is_taken(tmp_path,
                                                           monkeypatch):
    draws = iter([7, 7, 8])
    monkeypatch.setattr(durable.random, 'getrandbits', lambda _bits: next(
        draws))
    first, first_path = durable.create_temp_file(str(tmp_path), 'x')
    second, second_path = durable.create_temp_file(str(tmp_path), 'x')
    os.close(first)
    os.close(second)
    assert (os.path.basename(first_path), os.path.basename(second_path)) \
        == ('x%016x' % 7, 'x%016x' % 8)


def test_create_temp_file_never_follows_a_symlink(tmp_path, monkeypatch):
    target = tmp_path / 'target'
    os.symlink(target, tmp_path / ('x%016x' % 1))
    draws = iter([1, 2])
    monkeypatch.setattr(durable.random, 'getrandbits', lambda _bits: next(
        draws))
    fd, path = durable.create_temp_file(str(tmp_path), 'x')
    os.close(fd)
    assert path.endswith('x%016x' % 2) and not target.exists()
