"""The DB auditor on real SQLite files in tmp devices."""

import os

import pytest

from objstore.account.backend import AccountBroker
from objstore.auditor.db_auditor import (
    AccountAuditor, AccountAuditorConf, ContainerAuditor,
    ContainerAuditorConf, quarantine_db_dir)
from objstore.common.daemon import read_status_file
from objstore.common.db_layout import db_path, iter_db_files
from objstore.common.exceptions import ConfigError
from objstore.common.timestamp import Timestamp
from objstore.container.backend import ContainerBroker
from objstore.ring.ringdata import RingData
from tests.helpers import assert_db_daemon_sample_matches

PORT = 6201


class OneDeviceRing:
    """The auditor asks a ring only for ``devs``."""

    def __init__(self, port=PORT):
        self.devs = [{'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1',
                      'port': port, 'replication_ip': '127.0.0.1',
                      'replication_port': port, 'device': 'd0',
                      'weight': 1.0, 'meta': ''}]


def auditor_conf(tmp_path, **overrides):
    conf = {'devices': str(tmp_path / 'node'), 'mount_check': 'false',
            'bind_ip': '127.0.0.1', 'bind_port': str(PORT),
            'recon_cache_path': str(tmp_path / 'recon'),
            'databases_per_second': '0', 'log_level': 'WARNING'}
    conf.update(overrides)
    return conf


def make_container_db(device, part, name_hash, rows=3):
    broker = ContainerBroker(db_path(device, 'container', part, name_hash),
                             account='a', container='c-%s' % name_hash[:4])
    broker.initialize(Timestamp.now().internal)
    for i in range(rows):
        broker.put_object('o%d' % i, Timestamp.now().internal, 1, 'x', 'e')
    broker.get_info()
    broker.close()
    return broker.db_file


def corrupt(db_file):
    """Overwrite pages past the header: SQLite opens it, the check fails."""
    size = os.path.getsize(db_file)
    with open(db_file, 'r+b') as db:
        db.seek(max(100, size // 2))
        db.write(b'\xff' * 2048)


@pytest.fixture
def device(tmp_path):
    path = tmp_path / 'node' / 'd0'
    path.mkdir(parents=True)
    return str(path)


def test_good_dbs_pass_and_a_bad_one_is_quarantined(tmp_path, device):
    good = make_container_db(device, 1, 'a' * 32)
    bad = make_container_db(device, 2, 'b' * 32, rows=200)
    corrupt(bad)
    auditor = ContainerAuditor(auditor_conf(tmp_path), ring=OneDeviceRing())
    stats = auditor.run_once(once=True)
    assert stats.get('passes') == 1 and stats.get('quarantines') == 1
    assert os.path.exists(good)
    assert not os.path.exists(bad)
    moved = os.path.join(device, 'quarantined', 'containers', 'b' * 32,
                         'b' * 32 + '.db')
    assert os.path.exists(moved)
    record = read_status_file(str(tmp_path / 'recon'), 'container-auditor',
                              'd0')
    assert record['counts']['quarantines'] == 1
    # The next pass finds only the good DB.
    assert auditor.run_once().get('quarantines') == 0


def test_unreadable_file_is_quarantined_too(tmp_path, device):
    bad = make_container_db(device, 1, 'c' * 32)
    with open(bad, 'wb') as db:
        db.write(b'not sqlite ' * 100)
    stats = ContainerAuditor(auditor_conf(tmp_path),
                             ring=OneDeviceRing()).run_once()
    assert stats.get('quarantines') == 1


def test_second_quarantine_of_a_hash_keeps_the_first(tmp_path, device):
    first = make_container_db(device, 1, 'd' * 32)
    quarantine_db_dir(device, 'containers', 'd' * 32, first)
    second = make_container_db(device, 1, 'd' * 32)
    target = quarantine_db_dir(device, 'containers', 'd' * 32, second)
    assert os.path.basename(target).startswith('d' * 32 + '-')
    assert len(os.listdir(os.path.join(device, 'quarantined',
                                       'containers'))) == 2


def test_account_auditor_checks_account_dbs_only(tmp_path, device):
    broker = AccountBroker(db_path(device, 'account', 0, 'e' * 32),
                           account='AUTH_x')
    broker.initialize(Timestamp.now().internal)
    broker.close()
    make_container_db(device, 1, 'f' * 32)
    stats = AccountAuditor(auditor_conf(tmp_path, bind_port='6202'),
                           ring=OneDeviceRing(6202)).run_once()
    assert stats.get('passes') == 1


def test_device_not_in_ring_or_missing_is_skipped(tmp_path, device):
    make_container_db(device, 1, 'a' * 32)
    other_node = ContainerAuditor(auditor_conf(tmp_path, bind_port='7000'),
                                  ring=OneDeviceRing())
    assert other_node.run_once().get('passes') == 0
    missing = ContainerAuditor(auditor_conf(tmp_path, devices=str(
        tmp_path / 'nowhere')), ring=OneDeviceRing())
    stats = missing.run_once()
    assert stats.get('unmounted') == 1 and stats.get('passes') == 0


def test_rate_limit_is_applied(tmp_path, device):
    for i in range(3):
        make_container_db(device, i, '%032x' % (i + 1))
    auditor = ContainerAuditor(auditor_conf(tmp_path), ring=OneDeviceRing())
    waits = []
    auditor.limiter.wait = lambda *a, **k: waits.append(1)
    auditor.run_once()
    assert len(waits) == 3


def test_iter_db_files_finds_only_db_dirs(device):
    make_container_db(device, 4, 'a' * 32)
    os.makedirs(os.path.join(device, 'containers', '4', 'zzz', 'empty'))
    found = list(iter_db_files(device, 'containers'))
    assert [name for _part, name, _path in found] == ['a' * 32]


def test_bad_rate_is_refused():
    with pytest.raises(ConfigError):
        ContainerAuditorConf.from_conf({'databases_per_second': '-1'})


def test_ring_file_is_read_from_conf_dir(tmp_path, device):
    conf_dir = tmp_path / 'etc'
    conf_dir.mkdir()
    (conf_dir / 'objstore.conf').write_text(
        '[objstore-hash]\npath_hash_prefix = p\npath_hash_suffix = s\n')
    RingData([[0]], OneDeviceRing().devs, 32).save(
        str(conf_dir / 'container.ring.gz'))
    make_container_db(device, 0, 'a' * 32)
    auditor = ContainerAuditor(auditor_conf(tmp_path,
                                            conf_dir=str(conf_dir)))
    assert auditor.run_once().get('passes') == 1


# -- the sample config agrees with the dataclass ----------------------

@pytest.mark.parametrize('conf_class, sample, section', [
    (ContainerAuditorConf, 'container-daemons.conf-sample',
     'container-auditor'),
    (AccountAuditorConf, 'account-daemons.conf-sample', 'account-auditor')])
def test_sample_config_matches_the_dataclass(conf_class, sample, section):
    assert_db_daemon_sample_matches(conf_class, sample, section)


def test_partitions_option_limits_the_pass(tmp_path, device):
    make_container_db(device, 1, 'a' * 32)
    make_container_db(device, 2, 'b' * 32)
    auditor = ContainerAuditor(auditor_conf(tmp_path), ring=OneDeviceRing())
    assert auditor.run_once(partitions=[2]).get('passes') == 1
    assert auditor.run_once(partitions=[7]).get('passes') == 0
    assert [h for _p, h, _f in iter_db_files(device, 'containers', [1])] == \
        ['a' * 32]
