import json
import os
import subprocess

import pytest

from objstore.account.reaper import AccountReaperConf
from objstore.auditor.db_auditor import DBAuditorConf
from objstore.cli.aio_layout import (
    AioLayout, AioUser, DataDir, build_rings, load_layout,
    render_objstore_conf, render_rsyncd, render_server_conf)
from objstore.common.config import readconf
from objstore.common.exceptions import ConfigError
from objstore.common.storage_policy import load_policies
from objstore.object.updater import ObjectUpdaterConf
from objstore.replicator.rsync import RsyncDaemon
from objstore.ring.ring import Ring
from tests.helpers import free_port


def test_user_parsing():
    user = AioUser.parse('acct:bob:s3cret:.admin,.reseller_admin')
    assert user.name == 'acct:bob'
    assert user.groups == ('.admin', '.reseller_admin')
    assert AioUser.parse('a:b:c').groups == ()


@pytest.mark.parametrize('bad', ['a:b', 'a::c', 'a:b:c:d:e', 'a b:c:d',
                                 'a:b:with space'])
def test_bad_users_are_refused(bad):
    with pytest.raises(ConfigError):
        AioUser.parse(bad)


@pytest.mark.parametrize('kwargs', [
    {'devices': 0}, {'replicas': 5, 'devices': 4}, {'part_power': 0},
    {'proxy_port': 6210}, {'storage_port_base': 65500},
    {'storage_port_base': 0}, {'storage_port_base': -6200}])
def test_bad_layouts_are_refused(kwargs):
    with pytest.raises(ConfigError):
        AioLayout(**kwargs).validate()


def test_ports_are_distinct():
    layout = AioLayout(devices=4)
    ports = layout.all_ports()
    assert len(ports) == len(set(ports)) == 2 + 4 * 3
    assert layout.port('container', 2) == 6221


def test_layout_round_trips_through_json():
    layout = AioLayout(users=(AioUser('a', 'b', 'k', ('.admin',)),))
    again = AioLayout.from_json(json.loads(json.dumps(layout.to_json())))
    assert again == layout


def test_foreign_or_newer_dirs_are_refused(tmp_path):
    dirs = DataDir(str(tmp_path))
    assert load_layout(dirs) is None
    (tmp_path / 'aio.log').write_text('a backgrounded aio logs here first')
    assert load_layout(dirs) is None
    (tmp_path / 'precious.txt').write_text('user data')
    with pytest.raises(ConfigError, match='not an objstore-aio data dir'):
        load_layout(dirs)
    (tmp_path / 'aio.json').write_text(json.dumps({'version': 99}))
    with pytest.raises(ConfigError, match='layout version 99'):
        load_layout(dirs)
    (tmp_path / 'aio.json').write_text('{broken')
    with pytest.raises(ConfigError, match='unreadable'):
        load_layout(dirs)


def test_server_conf_has_daemon_sections(tmp_path):
    dirs = DataDir(str(tmp_path))
    layout = AioLayout(devices=2)
    path = tmp_path / 'object-server.conf'
    path.write_text(render_server_conf(dirs, layout, 'object', 1))
    conf = readconf(str(path))
    assert conf['DEFAULT']['bind_port'] == '6210'
    assert conf['object-replicator']['rsync_port'] == '6203'
    assert conf['object-replicator']['devices'].endswith('nodes/1')
    assert 'object-expirer' in conf


def test_daemons_keep_their_default_intervals(tmp_path):
    # Swift's intervals (an updater every 300 s, a DB auditor every
    # 1800 s): the aio once ran every daemon every 30 s, never idle.
    dirs = DataDir(str(tmp_path))
    layout = AioLayout(devices=1)
    checks = {'object': ('object-updater', ObjectUpdaterConf, 300.0),
              'container': ('container-auditor', DBAuditorConf, 1800.0),
              'account': ('account-reaper', AccountReaperConf, 3600.0)}
    for kind, (daemon, conf_class, interval) in checks.items():
        path = tmp_path / ('%s-server.conf' % kind)
        path.write_text(render_server_conf(dirs, layout, kind, 0))
        conf = conf_class.from_conf(readconf(str(path), daemon))
        assert conf.interval == interval


def test_rsyncd_has_a_module_per_node_and_kind(tmp_path):
    text = render_rsyncd(DataDir(str(tmp_path)), AioLayout(devices=2))
    for module in ('[object6200]', '[container6211]', '[account6212]'):
        assert module in text


def _rsync_list(ip, port, module, source_ip):
    return subprocess.run(
        ['rsync', '--address=%s' % source_ip, '--contimeout=5',
         '--timeout=5', 'rsync://%s:%d/%s/' % (ip, port, module)],
        capture_output=True, timeout=30)


@pytest.mark.parametrize('bind', ['127.0.0.1', '0.0.0.0'])
def test_aio_rsyncd_serves_only_its_own_address(tmp_path, bind):
    """A real rsync daemon on the aio's rsyncd.conf, reached at the ring's
    replication_ip: a client from 127.0.0.1 lists a module, one from
    127.0.0.2 (another "host" on the loopback net) is refused."""
    layout = AioLayout(devices=1, bind=bind,
                       storage_port_base=free_port() - 3)
    data_dir = DataDir(str(tmp_path))
    os.makedirs(data_dir.device_path(0))
    os.makedirs(data_dir.logs)
    conf = tmp_path / 'rsyncd.conf'
    text = render_rsyncd(data_dir, layout)
    conf.write_text(text)
    module = 'object%d' % layout.port('object', 0)
    with RsyncDaemon(str(conf), layout.rsync_port):
        local = _rsync_list(bind, layout.rsync_port, module, '127.0.0.1')
        other = _rsync_list(bind, layout.rsync_port, module, '127.0.0.2')
    assert local.returncode == 0, local.stderr
    assert b'd0' in local.stdout
    assert other.returncode != 0
    assert (b'access denied' in other.stderr
            or b'Connection refused' in other.stderr), other.stderr
    assert 'address = 127.0.0.1\n' in text


def test_two_replication_policies_with_their_rings(tmp_path):
    dirs = DataDir(str(tmp_path))
    os.makedirs(dirs.etc)
    (tmp_path / 'etc' / 'objstore.conf').write_text(
        render_objstore_conf('pre', 'suf'))
    policies = load_policies(dirs.etc)
    assert [(p.index, p.name, p.policy_type) for p in policies] == [
        (0, 'Policy-0', 'replication'), (1, 'silver', 'replication')]
    assert policies.default.index == 0
    assert policies.get_by_name('reduced').index == 1
    build_rings(dirs, AioLayout(devices=4, replicas=3))
    replicas = {name: Ring(dirs.etc, name).replica_count
                for name in ('object', 'object-1', 'container')}
    assert replicas == {'object': 3, 'object-1': 2, 'container': 3}


def test_replicas_option_sets_policy_0_only(tmp_path):
    dirs = DataDir(str(tmp_path))
    os.makedirs(dirs.etc)
    (tmp_path / 'etc' / 'objstore.conf').write_text(
        render_objstore_conf('pre', 'suf'))
    build_rings(dirs, AioLayout(devices=1, replicas=1))
    assert Ring(dirs.etc, 'object').replica_count == 1
    assert Ring(dirs.etc, 'object-1').replica_count == 1
    build_rings(dirs, AioLayout(devices=4, replicas=4))
    assert Ring(dirs.etc, 'object').replica_count == 4
    assert Ring(dirs.etc, 'object-1').replica_count == 2
