"""The ``swift`` CLI of python-swiftclient against the cluster: stat, post,
upload (a file and a directory), list (prefix, delimiter, --long),
download, copy and delete, each as a subprocess."""

import os
import subprocess
import sys
import uuid

import pytest

SWIFT = os.path.join(os.path.dirname(sys.executable), 'swift')


@pytest.fixture
def swift(cluster):
    def run(*args, expect_ok=True, cwd=None):
        result = subprocess.run(
            [SWIFT, '-A', cluster.auth_url, '-U', 'test:tester',
             '-K', cluster.users['test:tester']] + list(args),
            capture_output=True, timeout=60, cwd=cwd, text=True)
        if expect_ok:
            assert result.returncode == 0, result.stdout + result.stderr
        return result
    return run


@pytest.fixture
def container():
    return 'cli-' + uuid.uuid4().hex[:8]


def test_stat_and_post(swift, container):
    assert 'Account: AUTH_test' in swift('stat').stdout
    swift('post', container, '-m', 'Color:red', '-r', 'test2:tester2')
    out = swift('stat', container).stdout
    assert 'Meta Color: red' in out
    assert 'Read ACL: test2:tester2' in out
    swift('post', '-m', 'Team:blue')
    assert 'Meta Team: blue' in swift('stat').stdout


def test_upload_file_and_directory_then_list(swift, container, tmp_path):
    (tmp_path / 'one.txt').write_text('one')
    tree = tmp_path / 'tree'
    (tree / 'sub').mkdir(parents=True)
    (tree / 'a.txt').write_text('a')
    (tree / 'sub' / 'b.txt').write_text('bb')
    swift('upload', container, 'one.txt', cwd=tmp_path)
    swift('upload', container, 'tree', cwd=tmp_path)
    listed = swift('list', container).stdout.split()
    assert listed == ['one.txt', 'tree/a.txt', 'tree/sub/b.txt']
    assert swift('list', container, '--prefix', 'tree/sub').stdout.split() \
        == ['tree/sub/b.txt']
    assert swift('list', container, '--delimiter', '/').stdout.split() == \
        ['one.txt', 'tree/']
    long_out = swift('list', container, '--long').stdout
    assert 'tree/sub/b.txt' in long_out and ' 2 ' in long_out
    out = swift('stat', container, 'tree/sub/b.txt').stdout
    assert 'Content Length: 2' in out
    assert 'Content Type: text/plain' in out


def test_download_copy_delete(swift, container, tmp_path):
    source = tmp_path / 'src'
    source.mkdir()
    (source / 'f.bin').write_bytes(os.urandom(100000))
    swift('upload', container, 'f.bin', cwd=source)
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    swift('download', container, 'f.bin', cwd=out_dir)
    assert (out_dir / 'f.bin').read_bytes() == \
        (source / 'f.bin').read_bytes()
    swift('copy', container, 'f.bin', '--destination',
          '/%s/g.bin' % container)
    assert swift('list', container).stdout.split() == ['f.bin', 'g.bin']
    swift('download', container, '--output', str(out_dir / 'g.bin'),
          'g.bin')
    assert (out_dir / 'g.bin').read_bytes() == \
        (source / 'f.bin').read_bytes()
    swift('delete', container, 'f.bin')
    assert swift('list', container).stdout.split() == ['g.bin']
    swift('delete', container)
    failed = swift('stat', container, expect_ok=False)
    assert failed.returncode != 0
    assert 'not found' in failed.stderr
