"""The dispersion tools against a real cluster: 100% after population;
after a device is wiped, the copies it held are reported missing (exit
2); after the replicators run, 100% again."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers import DAEMON_TIMEOUT


def tool(name, conf, *args):
    script = os.path.join(os.path.dirname(sys.executable),
                          'objstore-dispersion-' + name)
    return subprocess.run([script, conf] + list(args), capture_output=True,
                          text=True, timeout=DAEMON_TIMEOUT)


@pytest.fixture(scope='module')
def conf(cluster, tmp_path_factory):
    path = tmp_path_factory.mktemp('dispersion') / 'dispersion.conf'
    path.write_text('\n'.join([
        '[dispersion]', 'auth_url = %s' % cluster.auth_url,
        'auth_user = test:tester', 'auth_key = testing',
        'conf_dir = %s' % cluster.conf_dir, 'dispersion_coverage = 100',
        '']))
    return str(path)


def report(conf):
    result = tool('report', conf, '--json')
    return result.returncode, json.loads(result.stdout)


def wipe_device(cluster, node):
    device = cluster.device_path(node)
    for name in os.listdir(device):
        if name.startswith(('objects', 'containers')):
            shutil.rmtree(os.path.join(device, name))


def test_report_finds_every_copy_then_the_missing_then_every(cluster, conf):
    populated = tool('populate', conf)
    assert populated.returncode == 0, populated.stderr
    assert 'Created 64 containers' in populated.stdout
    assert 'Created 64 objects' in populated.stdout
    # A write is acknowledged by a quorum: on a loaded machine a third copy
    # may still be missing; the replicators bring it, as in any cluster.
    # The report lists the containers from the account, and a container's
    # account update that timed out is sent by the container updater.
    cluster.run_daemon('container-updater')
    cluster.run_daemon('container-replicator')
    cluster.run_daemon('object-replicator')
    status, found = report(conf)
    assert status == 0
    for kind in ('container', 'object'):
        assert found[kind]['copies_found'] == 64 * 3
        assert found[kind]['pct_found'] == 100.0
        assert found[kind]['missing_0'] == 64
        assert found[kind]['sample_pct'] == 100.0
    text = tool('report', conf)
    assert '100.00% of container copies found (192 of 192)' in text.stdout
    assert '100.00% of object copies found (192 of 192)' in text.stdout

    wipe_device(cluster, 0)
    status, found = report(conf)
    assert status == 2
    for kind in ('container', 'object'):
        # Every partition has three primaries on four devices: the wiped
        # one held one copy of about three quarters of them.
        missing = found[kind]['missing_1']
        assert 30 < missing < 64
        assert found[kind]['copies_found'] == 192 - missing
        assert found[kind]['missing_0'] == 64 - missing
    text = tool('report', conf)
    assert 'partitions missing 1 copy.' in text.stdout

    cluster.run_daemon('container-replicator')
    cluster.run_daemon('object-replicator')
    status, found = report(conf)
    assert status == 0
    assert found['container']['copies_found'] == 192
    assert found['object']['copies_found'] == 192
