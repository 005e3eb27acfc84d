"""The ``swift`` CLI's large objects against the cluster: a 200 MiB file
uploaded in segments as a DLO (``--segment-size --use-dlo``) and as an
SLO (``--use-slo``), downloaded byte-identical, read in ranges across
segment boundaries, and deleted with its segments."""

import hashlib
import os
import subprocess
import sys
import uuid

import pytest

SWIFT = os.path.join(os.path.dirname(sys.executable), 'swift')
MIB = 1024 * 1024
FILE_SIZE = 200 * MIB
SEGMENT_SIZE = 64 * MIB


@pytest.fixture
def swift(cluster):
    def run(*args, stdout=None, cwd=None):
        result = subprocess.run(
            [SWIFT, '-A', cluster.auth_url, '-U', 'test:tester',
             '-K', cluster.users['test:tester']] + list(args),
            stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE,
            timeout=900, cwd=cwd)
        assert result.returncode == 0, result.stderr.decode()
        return result
    return run


@pytest.fixture(scope='module')
def big_file(tmp_path_factory):
    """A 200 MiB file of random bytes: (path, its MD5)."""
    path = tmp_path_factory.mktemp('big') / 'big.bin'
    digest = hashlib.md5()
    with open(path, 'wb') as out:
        for _ in range(FILE_SIZE // MIB):
            chunk = os.urandom(MIB)
            digest.update(chunk)
            out.write(chunk)
    return path, digest.hexdigest()


def file_md5(path):
    digest = hashlib.md5()
    with open(path, 'rb') as source:
        for chunk in iter(lambda: source.read(MIB), b''):
            digest.update(chunk)
    return digest.hexdigest()


def read_range(path, start, stop):
    with open(path, 'rb') as source:
        source.seek(start)
        return source.read(stop - start)


def listing(swift, container):
    return swift('list', container).stdout.decode().split()


@pytest.mark.slow
@pytest.mark.parametrize('kind', ['--use-dlo', '--use-slo'])
def test_upload_download_ranges_delete(swift, big_file, tmp_path, kind):
    path, digest = big_file
    container = 'lo-' + uuid.uuid4().hex[:8]
    swift('upload', container, path.name, '--segment-size',
          str(SEGMENT_SIZE), kind, cwd=path.parent)
    segments = listing(swift, container + '_segments')
    assert len(segments) == 4
    stat = swift('stat', container, path.name).stdout.decode()
    assert 'Content Length: %d' % FILE_SIZE in stat
    assert ('Manifest:' in stat) == (kind == '--use-dlo')

    out = tmp_path / 'copy.bin'
    swift('download', container, path.name, '--output', str(out))
    assert file_md5(out) == digest

    # one range over the first boundary, one over the last two
    for start, stop in ((SEGMENT_SIZE - 10, SEGMENT_SIZE + 10),
                        (2 * SEGMENT_SIZE - 5, 3 * SEGMENT_SIZE + 5)):
        part = tmp_path / 'part.bin'
        swift('download', container, path.name, '--output', str(part),
              '--ignore-checksum',
              '--header', 'Range:bytes=%d-%d' % (start, stop - 1))
        assert part.read_bytes() == read_range(path, start, stop)

    swift('delete', container, path.name)
    assert listing(swift, container) == []
    assert listing(swift, container + '_segments') == []
