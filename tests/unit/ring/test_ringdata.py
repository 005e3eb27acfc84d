"""The ring file format: round trip, determinism, speed, bad files."""

import gzip
import json
import random
import struct
import time
from array import array

import pytest

from objstore.common.exceptions import RingLoadError
from objstore.ring.ringdata import MAGIC, RingData, dev_id_type


def make_devs(count):
    return [{'id': i, 'region': 1, 'zone': i % 5 + 1, 'ip': '127.0.0.1',
             'port': 6200 + i, 'replication_ip': '127.0.0.1',
             'replication_port': 6200 + i, 'device': 'd%d' % i,
             'weight': 100.0, 'meta': ''} for i in range(count)]


def random_table(replicas, part_power, dev_count, seed=1):
    rng = random.Random(seed)
    parts = 2 ** part_power
    return [array('I', (rng.randrange(dev_count) for _ in range(parts)))
            for _ in range(replicas)]


def test_round_trip(tmp_path):
    ring = RingData(random_table(3, 8, 10), make_devs(10) + [None], 24, 7)
    path = str(tmp_path / 'object.ring.gz')
    ring.save(path)
    loaded = RingData.load(path)
    assert loaded.devs == ring.devs
    assert [list(a) for a in loaded.replica2part2dev] == \
        [list(a) for a in ring.replica2part2dev]
    assert (loaded.part_shift, loaded.build_version) == (24, 7)
    assert (loaded.replica_count, loaded.partition_count) == (3, 256)
    assert loaded.replica2part2dev[0].typecode == 'H'


def test_same_ring_same_bytes():
    ring = RingData(random_table(2, 6, 4), make_devs(4), 26)
    assert ring.to_bytes() == ring.to_bytes()


def test_wide_dev_ids_use_32_bit_entries():
    devs = [None] * 70000
    for dev_id in (69998, 69999):
        devs[dev_id] = dict(make_devs(1)[0], id=dev_id)
    table = [array('I', [69998, 69999] * 8), array('I', [69999, 69998] * 8)]
    assert dev_id_type(devs) == 'I' and dev_id_type(make_devs(3)) == 'H'
    loaded = RingData.from_bytes(gzip.decompress(
        RingData(table, devs, 28).to_bytes()))
    assert loaded.replica2part2dev[0].typecode == 'I'
    assert list(loaded.replica2part2dev[1]) == [69999, 69998] * 8


def test_part_power_18_loads_well_under_a_second(tmp_path):
    path = str(tmp_path / 'object.ring.gz')
    RingData(random_table(3, 18, 100), make_devs(100), 14).save(path)
    started = time.perf_counter()
    loaded = RingData.load(path)
    elapsed = time.perf_counter() - started
    assert loaded.partition_count == 2 ** 18
    assert elapsed < 1.0, elapsed


def _file_with(meta_change=None, version=1, table_bytes=None, magic=MAGIC):
    meta = {'devs': make_devs(2), 'part_shift': 30, 'replica_count': 1,
            'part_count': 4, 'dev_id_type': 'H', 'byteorder': 'little',
            'build_version': 1}
    meta.update(meta_change or {})
    body = json.dumps(meta).encode()
    if table_bytes is None:
        table_bytes = array('H', [0, 1, 0, 1]).tobytes()
    return gzip.compress(magic + struct.pack('!HI', version, len(body)) +
                         body + table_bytes)


def test_the_helper_makes_a_valid_file(tmp_path):
    path = tmp_path / 'ok.ring.gz'
    path.write_bytes(_file_with())
    assert list(RingData.load(str(path)).replica2part2dev[0]) == [0, 1, 0, 1]


@pytest.mark.parametrize('data', [
    b'',
    b'plainly not gzip',
    gzip.compress(b'no magic here'),
    gzip.compress(MAGIC + b'\x00'),
    gzip.compress(b'x' * 20 + b'\x00' * 20)[:-5],
    _file_with(version=2),
    _file_with(magic=b'OBJSTORE-RINX'),
    _file_with(table_bytes=b'\x00\x00'),
    _file_with(table_bytes=array('H', [0, 1, 0, 1, 1]).tobytes()),
    _file_with(table_bytes=array('H', [0, 1, 0, 9]).tobytes()),
    _file_with({'dev_id_type': 'Q'}),
    _file_with({'part_shift': 'x'}),
    _file_with({'devs': [None, None]}),
])
def test_bad_ring_files(tmp_path, data):
    path = tmp_path / 'bad.ring.gz'
    path.write_bytes(data)
    with pytest.raises(RingLoadError):
        RingData.load(str(path))


def test_missing_ring_file(tmp_path):
    with pytest.raises(RingLoadError):
        RingData.load(str(tmp_path / 'nope.ring.gz'))
