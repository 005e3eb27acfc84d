"""What a background daemon process loads: webob (~3.7 MiB of RSS per
process) only serves HTTP, and the daemons speak HTTP only as clients;
awscrt (~5 MiB) only when an S3 request needs CRC32C/CRC64NVME.

Each module is imported in a fresh interpreter, as its process does.
"""

import subprocess
import sys

import pytest

DAEMON_MODULES = [
    'objstore.replicator.object_replicator',
    'objstore.replicator.reconstructor',
    'objstore.replicator.db_replicator',
    'objstore.auditor.object_auditor',
    'objstore.auditor.db_auditor',
    'objstore.object.updater',
    'objstore.object.expirer',
    'objstore.container.updater',
    'objstore.container.reconciler',
    'objstore.account.reaper',
]


def modules_loaded_by(statement):
    out = subprocess.run(
        [sys.executable, '-c', statement + '\nimport sys\n'
         'print("\\n".join(sys.modules))'],
        capture_output=True, text=True, timeout=60, check=True).stdout
    return set(out.split())


@pytest.mark.parametrize('module', DAEMON_MODULES)
def test_daemon_does_not_load_webob(module):
    loaded = modules_loaded_by('import %s' % module)
    assert module in loaded
    assert 'webob' not in loaded


def test_s3api_loads_awscrt_only_for_the_checksums_that_need_it():
    loaded = modules_loaded_by(
        'from objstore.middleware.s3api import checksums\n'
        'checksums.new_checksum("CRC32").update(b"x")')
    assert 'objstore.middleware.s3api.checksums' in loaded
    assert 'awscrt' not in loaded
    assert 'awscrt' in modules_loaded_by(
        'from objstore.middleware.s3api import checksums\n'
        'checksums.new_checksum("CRC32C").update(b"x")')
