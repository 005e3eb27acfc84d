"""The object auditor on real tmp devices with real xattrs."""

import os
import shutil
import time

import pytest

from objstore.common.daemon import DaemonConf, read_status_file
from objstore.common.exceptions import ConfigError, DiskFileNotExist
from objstore.common.timestamp import Timestamp
from objstore.object import expiring, hashes, metadata as md
from objstore.object.diskfile import DiskFileManager, DiskFileSettings
from objstore.auditor.object_auditor import (
    FAST, FULL, ObjectAuditor, ObjectAuditorConf, split_name)
from tests.helpers import FakeClock, assert_sample_matches
from tests.unit.object.conftest import HASH_CONF

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'object-daemons.conf-sample')


@pytest.fixture
def node(tmp_path):
    devices = tmp_path / 'devices'
    for name in ('d1', 'd2'):
        (devices / name).mkdir(parents=True)
    mgr = DiskFileManager(DiskFileSettings(devices=str(devices),
                                           hash_conf=HASH_CONF))
    return tmp_path, str(devices), mgr


def auditor(tmp_path, devices, clock=None, **extra):
    conf = {'devices': devices, 'mount_check': 'false',
            'recon_cache_path': str(tmp_path / 'recon'),
            'log_level': 'ERROR', 'files_per_second': '0',
            'bytes_per_second': '0', 'zero_byte_files_per_second': '0'}
    conf.update({k: str(v) for k, v in extra.items()})
    if clock is None:
        return ObjectAuditor(conf)
    return ObjectAuditor(conf, clock=clock, sleep=clock.sleep)


def put(mgr, obj, body, device='d1', part=3, extra=None, timestamp=None):
    df = mgr.get_diskfile(device, part, 'a', 'c', obj)
    with df.create(len(body)) as writer:
        writer.write(body)
        meta = {'X-Timestamp': Timestamp(timestamp or time.time()).internal,
                'Content-Type': 'text/plain'}
        meta.update(extra or {})
        writer.put(meta)
    return df


def data_file(df):
    return os.path.join(df.hash_dir, [n for n in os.listdir(df.hash_dir)
                                      if n.endswith('.data')][0])


def flip_byte(path, offset=0):
    with open(path, 'r+b') as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def quarantined(devices, device='d1'):
    root = os.path.join(devices, device, 'quarantined', 'objects')
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


def test_split_name():
    assert split_name('/a/c/o/x') == ('a', 'c', 'o/x')
    for bad in ('a/c/o', '/a/c', '/a//o', ''):
        with pytest.raises(ValueError):
            split_name(bad)


def test_conf_validation_and_sample():
    with pytest.raises(ConfigError):
        ObjectAuditorConf.from_conf({'files_per_second': '-1'})
    with pytest.raises(ConfigError):
        ObjectAuditorConf.from_conf({'concurrency': '0'})
    assert_sample_matches(ObjectAuditorConf, SAMPLE, 'object-auditor',
                          ignore=tuple(DaemonConf.option_defaults())[:-1])


def test_flipped_byte_is_found_by_full_pass_only(node):
    tmp_path, devices, mgr = node
    good = put(mgr, 'good', b'fine body')
    bad = put(mgr, 'bad', b'will be corrupted')
    flip_byte(data_file(bad), 3)
    part_dir = os.path.dirname(os.path.dirname(bad.hash_dir))
    before = hashes.get_hashes(os.path.join(devices, 'd1'), 3)
    fast = auditor(tmp_path, devices).run_once(mode=FAST)
    assert fast.get('quarantines') == 0 and fast.get('fast_audited') == 2
    full = auditor(tmp_path, devices).run_once(mode=FULL)
    assert full.get('quarantines') == 1
    assert full.get('bytes') == len(b'fine body')
    assert quarantined(devices) == [bad.hash]
    assert not os.path.exists(bad.hash_dir)
    assert os.path.exists(good.hash_dir)
    after = hashes.get_hashes(os.path.join(devices, 'd1'), 3)
    assert after != before and os.path.isdir(part_dir)
    with pytest.raises(DiskFileNotExist):
        mgr.get_diskfile('d1', 3, 'a', 'c', 'bad').open()


def test_truncated_and_zero_byte_files_are_found_by_fast_pass(node):
    tmp_path, devices, mgr = node
    short = put(mgr, 'short', b'0123456789')
    empty = put(mgr, 'empty', b'abc', device='d2')
    os.truncate(data_file(short), 4)
    os.truncate(data_file(empty), 0)
    stats = auditor(tmp_path, devices).run_once(mode=FAST)
    assert stats.get('quarantines') == 2
    assert quarantined(devices, 'd1') == [short.hash]
    assert quarantined(devices, 'd2') == [empty.hash]


def test_garbled_metadata_is_quarantined(node):
    tmp_path, devices, mgr = node
    df = put(mgr, 'meta', b'body')
    path = data_file(df)
    for key in os.listxattr(path):
        os.setxattr(path, key, b'\x00not json')
    stats = auditor(tmp_path, devices).run_once(once=True)
    assert stats.get('quarantines') == 1
    status = read_status_file(str(tmp_path / 'recon'), 'object-auditor',
                              'd1')
    assert status['counts']['quarantines'] == 1 and status['once'] is True
    assert status['counts']['fast_passes'] == 1
    assert status['counts']['full_passes'] == 1


def test_rate_limits_use_the_injected_clock(node):
    tmp_path, devices, mgr = node
    for i in range(10):
        put(mgr, 'o%d' % i, b'x' * 1000)
    clock = FakeClock()
    auditor(tmp_path, devices, clock, files_per_second=5).run_once(mode=FULL)
    # 10 files at 5/s with a 1 s burst allowance: about 1 s of sleeping.
    assert clock.slept == pytest.approx(1.0, abs=0.21)
    clock = FakeClock()
    auditor(tmp_path, devices, clock, bytes_per_second=2000).run_once(
        mode=FULL)
    assert clock.slept == pytest.approx(4.0, abs=0.51)
    clock = FakeClock()
    auditor(tmp_path, devices, clock,
            zero_byte_files_per_second=2).run_once(mode=FAST)
    assert clock.slept == pytest.approx(4.0, abs=0.51)


def test_old_tombstone_is_reclaimed_and_recent_one_kept(node):
    tmp_path, devices, mgr = node
    old = mgr.get_diskfile('d1', 3, 'a', 'c', 'old')
    old.delete(Timestamp(time.time() - 7200))
    new = mgr.get_diskfile('d1', 3, 'a', 'c', 'new')
    new.delete(Timestamp(time.time()))
    stats = auditor(tmp_path, devices, reclaim_age=3600).run_once(mode=FAST)
    assert stats.get('reclaimed') == 1
    assert not os.path.exists(old.hash_dir)
    assert os.listdir(new.hash_dir)


def test_expirer_entry_added_for_replicated_copies(node):
    tmp_path, devices, mgr = node
    future = int(time.time()) + 3600
    past = int(time.time()) - 10
    put(mgr, 'later', b'x', extra={'X-Delete-At': str(future)})
    put(mgr, 'gone', b'x', extra={'X-Delete-At': str(past)},
        timestamp=time.time() - 100)
    stats = auditor(tmp_path, devices).run_once(mode=FAST)
    assert stats.get('expirer_entries_added') == 2
    device_path = os.path.join(devices, 'd1')
    due = list(expiring.iter_expired(device_path, 0, time.time()))
    assert [entry['obj'] for _path, entry in due] == ['gone']
    assert due[0][1]['account'] == 'a' and due[0][1]['partition'] == '3'
    again = auditor(tmp_path, devices).run_once(mode=FAST)
    assert again.get('expirer_entries_added') == 0


def test_partition_and_device_filters(node):
    tmp_path, devices, mgr = node
    a = put(mgr, 'a', b'aaaa', part=1)
    b = put(mgr, 'b', b'bbbb', part=2)
    c = put(mgr, 'c', b'cccc', device='d2', part=1)
    for df in (a, b, c):
        flip_byte(data_file(df))
    auditor(tmp_path, devices).run_once(partitions=[2], mode=FULL)
    assert quarantined(devices) == [b.hash]
    auditor(tmp_path, devices).run_once(devices=['d2'], mode=FULL)
    assert quarantined(devices, 'd2') == [c.hash]
    assert quarantined(devices) == [b.hash]


def test_stop_request_ends_the_walk(node):
    tmp_path, devices, mgr = node
    for i in range(5):
        flip_byte(data_file(put(mgr, 'o%d' % i, b'body')))
    aud = auditor(tmp_path, devices)
    aud.request_stop()
    stats = aud.run_once()
    assert stats.get('quarantines') == 0


def big_meta(tag):
    """Metadata too large for ext4's xattr block: kept in a sidecar."""
    return {'X-Object-Meta-K%02d' % i: tag * 43 for i in range(90)}


def test_put_racing_the_audit_is_not_quarantined(node, monkeypatch):
    tmp_path, devices, mgr = node
    put(mgr, 'o', b'old', extra=big_meta('a'), timestamp=time.time() - 5)
    real_read_sidecar = md._read_sidecar
    raced = []

    def newer_put_lands_first(path, marker):
        if not raced:
            raced.append(put(mgr, 'o', b'new', extra=big_meta('b')))
        return real_read_sidecar(path, marker)

    monkeypatch.setattr(md, '_read_sidecar', newer_put_lands_first)
    stats = auditor(tmp_path, devices).run_once(once=True)
    monkeypatch.undo()
    assert raced and stats.get('quarantines') == 0
    assert quarantined(devices) == []
    df = mgr.get_diskfile('d1', 3, 'a', 'c', 'o')
    assert df.open()['X-Object-Meta-K00'] == 'b' * 43
    assert b''.join(df.reader()) == b'new'


def test_owner_replicated_before_its_sidecar_is_not_quarantined(node):
    tmp_path, devices, mgr = node
    sent = put(mgr, 'o', b'body', device='d2', extra=big_meta('a'))
    got = mgr.get_diskfile('d1', 3, 'a', 'c', 'o')
    os.makedirs(got.hash_dir)
    [owner] = [n for n in os.listdir(sent.hash_dir) if n.endswith('.data')]
    for name in (owner, owner + '.mdjson'):
        # rsync --xattrs renames the owner into place first.
        shutil.copy2(os.path.join(sent.hash_dir, name), got.hash_dir)
        os.utime(os.path.join(got.hash_dir, name))
        stats = auditor(tmp_path, devices).run_once(devices=['d1'],
                                                    once=True)
        assert stats.get('quarantines') == 0 and stats.get('errors') == 0
    assert quarantined(devices) == []
    assert stats.get('full_audited') == 1
