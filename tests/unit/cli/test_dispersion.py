"""The dispersion tools' pure parts: config, sampling, tallies and the
report's text and JSON (the probe runs them against a real cluster)."""

import hashlib
import io
import json
import os

import pytest

from objstore.cli.dispersion import (
    DispersionConf, Tally, covering_names, load_conf, print_tally)
from objstore.common.exceptions import ConfigError
from tests.helpers import SAMPLE_DIR, assert_sample_matches


def test_sample_config_matches_the_dataclass():
    assert_sample_matches(DispersionConf, os.path.join(
        SAMPLE_DIR, 'dispersion.conf-sample'), 'dispersion')


@pytest.mark.parametrize('option,value', [
    ('dispersion_coverage', '0'), ('dispersion_coverage', '101'),
    ('concurrency', '0'), ('timeout', '-1')])
def test_bad_options_are_refused(option, value):
    with pytest.raises(ConfigError):
        DispersionConf.from_conf({option: value})


def test_conf_file_without_the_section_is_an_error(tmp_path):
    path = tmp_path / 'd.conf'
    path.write_text('[other]\n')
    with pytest.raises(ConfigError, match='no \\[dispersion\\] section'):
        load_conf(str(path))
    with pytest.raises(ConfigError, match='cannot read'):
        load_conf(str(tmp_path / 'missing.conf'))


def test_covering_names_take_one_name_per_partition():
    names = covering_names(
        lambda name: int(hashlib.md5(name.encode()).hexdigest(), 16) % 16,
        16, 100.0, 'd_')
    assert len(names) == 16
    assert sorted(part for _name, part in names) == list(range(16))


def test_a_partition_no_name_reaches_stops_the_search():
    names = covering_names(lambda name: 0, 8, 100.0, 'd_')
    assert names == [('d_0', 0)]


def tally_of(results):
    tally = Tally()
    for found, failed in results:
        tally.add(found, 3, failed)
    return tally


def test_report_text_counts_missing_copies_and_failing_devices():
    tally = tally_of([(3, []), (2, ['10.0.0.1:6200/d1']),
                      (1, ['10.0.0.1:6200/d1', '10.0.0.2:6200/d2'])])
    out = io.StringIO()
    print_tally('object', tally, 300, 2.4, out)
    assert out.getvalue().splitlines() == [
        'Queried 3 objects for dispersion reporting, 2s, 0 retries',
        'There were 1 partitions missing 1 copy.',
        'There were 1 partitions missing 2 copies.',
        '66.67% of object copies found (6 of 9)',
        'Sample represents 1.00% of the object partition space',
        'ERROR: 10.0.0.1:6200/d1 answered 2 requests with an error',
        'ERROR: 10.0.0.2:6200/d2 answered 1 request with an error']


def test_report_json_uses_swifts_fields():
    record = tally_of([(3, []), (2, [])]).as_json(64)
    assert json.loads(json.dumps(record)) == {
        'retries': 0, 'copies_expected': 6, 'copies_found': 5,
        'pct_found': pytest.approx(83.333, abs=0.001), 'overlapping': 0,
        'partitions': 2, 'sample_pct': 3.125, 'missing_0': 1,
        'missing_1': 1, 'errors': {}}
