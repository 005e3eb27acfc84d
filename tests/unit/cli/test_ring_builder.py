"""objstore-ring-builder: verbs, output, exit codes, and bad input that
must leave the builder file byte-for-byte unchanged."""

import os
import subprocess
import sys

import pytest

from objstore.cli.ring_builder import main
from objstore.ring.builder import RingBuilder
from objstore.ring.ringdata import RingData

DEVS = ['r1z1-127.0.0.1:6200/d1', 'r1z2-127.0.0.1:6201/d2',
        'r1z3-127.0.0.1:6202/d3', 'r1z4-127.0.0.1:6203/d4']


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def builder_path(tmp_path, capsys):
    path = str(tmp_path / 'object.builder')
    assert run(capsys, path, 'create', 6, 3, 1)[0] == 0
    args = []
    for text in DEVS:
        args += [text, 100]
    assert run(capsys, path, 'add', *args)[0] == 0
    return path


@pytest.fixture
def balanced_path(builder_path, capsys):
    assert run(capsys, builder_path, 'rebalance', '--seed', 1)[0] == 0
    return builder_path


def test_create_add_rebalance_writes_builder_ring_and_backup(
        balanced_path, tmp_path):
    assert sorted(os.listdir(tmp_path)) == [
        'object.builder', 'object.builder.bak', 'object.ring.gz']
    ring = RingData.load(str(tmp_path / 'object.ring.gz'))
    assert ring.partition_count == 64 and ring.replica_count == 3
    assert [d['device'] for d in ring.devs] == ['d1', 'd2', 'd3', 'd4']


def test_summary_layout(balanced_path, capsys):
    code, out, err = run(capsys, balanced_path)
    assert (code, err) == (0, '')
    lines = out.splitlines()
    assert lines[0].startswith('object.builder, build version ')
    assert lines[1] == ('64 partitions, 3.000000 replicas, 1 regions, '
                        '4 zones, 4 devices, 0.00 balance, 0.00 dispersion')
    assert lines[2].startswith('The minimum number of hours before a '
                               'partition can be reassigned is 1 (0:')
    assert lines[3] == 'Ring file object.ring.gz is up-to-date'
    assert lines[4].split() == [
        'Devices:', 'id', 'region', 'zone', 'ip', 'address:port',
        'replication', 'ip:port', 'name', 'weight', 'partitions', 'balance',
        'flags', 'meta']
    assert lines[5].split() == ['0', '1', '1', '127.0.0.1:6200',
                                '127.0.0.1:6200', 'd1', '100.00', '48',
                                '0.00']
    assert len(lines) == 9


def test_add_with_flags_replication_address_and_meta(builder_path, capsys):
    code, out, _ = run(capsys, builder_path, 'add', '--region', 2,
                       '--zone', 5, '--ip', '127.0.0.9', '--port', 6200,
                       '--replication-ip', '127.0.0.10',
                       '--replication-port', 6300, '--device', 'sdz',
                       '--weight', 50, '--meta', 'ssd')
    assert code == 0
    assert 'r2z5-127.0.0.9:6200R127.0.0.10:6300/sdz_ssd' in out
    code, out, _ = run(capsys, builder_path, 'add',
                       'r1z1-127.0.0.1:6210R127.0.0.2:6310/e1_fast', 10)
    assert code == 0
    devs = RingBuilder.load(builder_path).devs
    assert devs[4]['replication_port'] == 6300 and devs[4]['meta'] == 'ssd'
    assert devs[5]['replication_ip'] == '127.0.0.2'
    assert devs[5]['meta'] == 'fast'


def test_search_list_parts_and_set_weight(balanced_path, capsys):
    code, out, _ = run(capsys, balanced_path, 'search', 'z2')
    assert code == 0
    rows = out.splitlines()[1:]
    assert len(rows) == 1 and rows[0].split()[5] == 'd2'
    code, out, _ = run(capsys, balanced_path, 'list_parts',
                       '127.0.0.1:6200/d1', 'd1')
    assert code == 0
    rows = out.splitlines()
    assert rows[0] == 'Partition   Matches'
    # 'd1' is the device with id 1 (named d2); with d1 (id 0) in 4 zones
    # and 3 replicas, every partition is on at least one of the two.
    assert len(rows) == 1 + 64
    assert rows[1].split()[1] == '2'
    assert run(capsys, balanced_path, 'set_weight', 'd1', 50, '/d3', 70)[0] \
        == 0
    weights = [d['weight'] for d in RingBuilder.load(balanced_path).devs]
    assert weights == [100.0, 50.0, 70.0, 100.0]


def test_remove_then_rebalance_drops_the_device(balanced_path, capsys):
    run(capsys, balanced_path, 'add', 'r1z1-127.0.0.1:6204/d5', 100)
    code, out, _ = run(capsys, balanced_path, 'remove', 'd0')
    assert code == 0 and 'marked for removal' in out
    _, out, _ = run(capsys, balanced_path)
    assert 'DEL' in out
    code, out, _ = run(capsys, balanced_path, 'rebalance', '--seed', 2)
    assert code == 0
    assert 'Removed device r1z1-127.0.0.1:6200/d1' in out
    builder = RingBuilder.load(balanced_path)
    assert builder.devs[0] is None
    assert run(capsys, balanced_path, 'validate')[0] == 0


def test_nothing_to_move_is_a_warning_and_changes_nothing(balanced_path,
                                                         capsys):
    before = open(balanced_path, 'rb').read()
    code, out, _ = run(capsys, balanced_path, 'rebalance')
    assert code == 1
    assert 'No partitions could be reassigned' in out
    assert open(balanced_path, 'rb').read() == before


def test_balance_not_reachable_within_min_part_hours_warns(balanced_path,
                                                          capsys):
    for index in range(4):
        run(capsys, balanced_path, 'add',
            'r1z%d-127.0.0.2:62%02d/n%d' % (index + 1, index, index), 100)
    # Half the replicas must move but only one replica per partition may:
    # the ring is written and the operator told to come back later.
    assert run(capsys, balanced_path, 'pretend_min_part_hours_passed')[0] == 0
    code, out, _ = run(capsys, balanced_path, 'rebalance', '--seed', 3)
    assert code == 1
    assert 'NOTE: Balance of' in out
    assert RingData.load(balanced_path[:-len('.builder')] + '.ring.gz') \
        .devs[7]['device'] == 'n3'


def test_min_part_hours_verbs(balanced_path, capsys):
    assert run(capsys, balanced_path, 'set_min_part_hours', 0)[0] == 0
    assert RingBuilder.load(balanced_path).min_part_hours == 0
    _, out, _ = run(capsys, balanced_path)
    assert 'reassigned is 0 (0:00:00 remaining)' in out


def test_validate_dispersion_write_ring(balanced_path, tmp_path, capsys):
    code, out, _ = run(capsys, balanced_path, 'validate')
    assert (code, out) == (0, 'Ring validation passed\n')
    code, out, _ = run(capsys, balanced_path, 'dispersion')
    assert code == 0 and out.startswith('Dispersion is 0.00: 0 of 64')
    os.unlink(str(tmp_path / 'object.ring.gz'))
    _, out, _ = run(capsys, balanced_path)
    assert 'Ring file object.ring.gz not found' in out
    assert run(capsys, balanced_path, 'write_ring')[0] == 0
    assert RingData.load(str(tmp_path / 'object.ring.gz')).partition_count \
        == 64


def test_same_seed_same_ring(tmp_path, capsys):
    rings = []
    for name in ('a', 'b'):
        path = str(tmp_path / ('%s.builder' % name))
        run(capsys, path, 'create', 8, 3, 1)
        for text in DEVS:
            run(capsys, path, 'add', text, 100)
        assert run(capsys, path, 'rebalance', '--seed', 42)[0] == 0
        rings.append((tmp_path / ('%s.ring.gz' % name)).read_bytes())
    assert rings[0] == rings[1]


BAD_INPUT = [
    ('unknown verb', ['frobnicate']),
    ('malformed device', ['add', 'r1z1-127.0.0.1/d9', 100]),
    ('malformed device port', ['add', 'r1z1-127.0.0.1:99999/d9', 100]),
    ('duplicate device', ['add', 'r1z3-127.0.0.1:6200/d1', 100]),
    ('duplicate in one call', ['add', 'r1z1-127.0.0.1:6209/x', 1,
                               'r1z2-127.0.0.1:6209/x', 1]),
    ('negative weight', ['add', 'r1z1-127.0.0.1:6209/d9', -1]),
    ('weight not a number', ['add', 'r1z1-127.0.0.1:6209/d9', 'heavy']),
    ('odd add arguments', ['add', 'r1z1-127.0.0.1:6209/d9']),
    ('flag add missing zone', ['add', '--ip', '127.0.0.1', '--port', 1,
                               '--device', 'x', '--weight', 1]),
    ('negative set_weight', ['set_weight', 'd1', -5]),
    ('bad search value', ['search', 'q7']),
    ('no device matches', ['remove', 'z9']),
    ('create over existing', ['create', 8, 3, 1]),
    ('bad seed', ['rebalance', '--seed', 'x']),
    ('min_part_hours negative', ['set_min_part_hours', -1]),
    ('validate extra arg', ['validate', 'now']),
]


@pytest.mark.parametrize('name, args', BAD_INPUT,
                         ids=[case[0] for case in BAD_INPUT])
def test_bad_input_exit_2_one_line_file_unchanged(builder_path, capsys,
                                                  name, args):
    before = open(builder_path, 'rb').read()
    code, out, err = run(capsys, builder_path, *args)
    assert code == 2, out
    assert len(err.splitlines()) == 1 and err.startswith('error: ')
    assert open(builder_path, 'rb').read() == before


def test_replicas_more_than_devices(tmp_path, capsys):
    path = str(tmp_path / 'object.builder')
    run(capsys, path, 'create', 6, 3, 1)
    run(capsys, path, 'add', DEVS[0], 100, DEVS[1], 100)
    before = open(path, 'rb').read()
    code, _, err = run(capsys, path, 'rebalance')
    assert code == 2 and len(err.splitlines()) == 1
    assert 'need at least 3 devices' in err
    assert open(path, 'rb').read() == before
    assert not os.path.exists(str(tmp_path / 'object.ring.gz'))


@pytest.mark.parametrize('args', [[0, 3, 1], [33, 3, 1], ['x', 3, 1],
                                  [8, 0, 1], [8, 3, -1], [8, 3]])
def test_bad_create_creates_nothing(tmp_path, capsys, args):
    path = str(tmp_path / 'object.builder')
    code, _, err = run(capsys, path, 'create', *args)
    assert code == 2 and len(err.splitlines()) == 1
    assert os.listdir(tmp_path) == []


def test_missing_builder(tmp_path, capsys):
    for args in ([], ['rebalance'], ['add', DEVS[0], 1]):
        code, _, err = run(capsys, str(tmp_path / 'nope.builder'), *args)
        assert code == 2 and len(err.splitlines()) == 1
        assert 'No such file' in err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('content', [b'', b'garbage', b'\x1f\x8b\x08junk'])
def test_corrupt_builder(tmp_path, capsys, content):
    path = tmp_path / 'object.builder'
    path.write_bytes(content)
    for args in ([], ['add', DEVS[0], 1], ['rebalance'], ['write_ring']):
        code, _, err = run(capsys, str(path), *args)
        assert code == 2 and len(err.splitlines()) == 1
        assert path.read_bytes() == content
    assert os.listdir(tmp_path) == ['object.builder']


def test_no_arguments_prints_usage_and_fails(capsys):
    code, _, err = run(capsys)
    assert code == 2 and err.startswith('usage: objstore-ring-builder')
    code, out, _ = run(capsys, '--help')
    assert code == 0 and 'rebalance [--seed N]' in out


def test_real_process_exit_codes(tmp_path):
    path = str(tmp_path / 'object.builder')

    def cli(*args):
        return subprocess.run(
            [sys.executable, '-m', 'objstore.cli.ring_builder', path] +
            [str(a) for a in args], capture_output=True, text=True,
            timeout=60)

    assert cli('create', 4, 1, 0).returncode == 0
    assert cli('add', DEVS[0], 1).returncode == 0
    assert cli('rebalance').returncode == 0
    result = cli('add', DEVS[0], 1)
    assert result.returncode == 2
    assert result.stderr.startswith('error: device 127.0.0.1:6200/d1')


def test_unwritable_directory_is_an_error_not_a_traceback(balanced_path,
                                                         tmp_path, capsys):
    before = open(balanced_path, 'rb').read()
    os.chmod(str(tmp_path), 0o500)
    try:
        if os.access(str(tmp_path), os.W_OK):
            # root ignores directory permissions: make saving fail another
            # way, with a directory where the backup must go.
            os.chmod(str(tmp_path), 0o700)
            os.unlink(balanced_path + '.bak')
            os.mkdir(balanced_path + '.bak')
        code, _, err = run(capsys, balanced_path, 'set_weight', 'd0', 5)
    finally:
        os.chmod(str(tmp_path), 0o700)
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith('error: ')
    assert open(balanced_path, 'rb').read() == before
    assert sorted(os.listdir(str(tmp_path))) == [
        'object.builder', 'object.builder.bak', 'object.ring.gz']


def test_rebalance_progress_on_stderr_only_when_asked(builder_path, capsys):
    code, out, err = run(capsys, builder_path, 'rebalance', '--seed', 1,
                         '--progress')
    assert code == 0
    lines = err.splitlines()
    # A first rebalance places every partition: 64 of them, by tenths.
    assert 'rebalance: placing 64/64 partitions' in lines
    assert lines[0].startswith('rebalance: placing ')
    assert all(line.startswith('rebalance: ') for line in lines)
    assert out.startswith('Reassigned 64 ')
    assert run(capsys, builder_path, 'set_weight', 'd1', 200)[0] == 0
    assert run(capsys, builder_path, 'pretend_min_part_hours_passed')[0] \
        == 0
    code, out, err = run(capsys, builder_path, 'rebalance', '--seed', 2,
                         '--no-progress')
    assert err == ''
