import doctest
import os

import pytest

from objstore.common import storage_policy
from objstore.common.storage_policy import (
    ERASURE_CODING, REPLICATION, PolicyError, StoragePolicies,
    load_policies)


def test_doctests():
    assert doctest.testmod(storage_policy).failed == 0


def policies(**sections):
    return StoragePolicies.from_sections(
        {'storage-policy:%s' % key.lstrip('p'): value
         for key, value in sections.items()})


def test_no_section_implies_policy_0_default():
    result = StoragePolicies.from_sections({'objstore-hash': {'x': 'y'}})
    assert [p.index for p in result] == [0]
    assert result.default.name == 'Policy-0'
    assert result.info() == [{'name': 'Policy-0', 'aliases': 'Policy-0',
                              'default': True}]


def test_two_policies_lookups():
    result = policies(p0={'name': 'gold', 'aliases': 'yellow, orange',
                          'default': 'yes'},
                      p1={'name': 'silver', 'policy_type': 'replication'})
    assert result.default.index == 0
    assert result.get_by_name('GOLD').index == 0
    assert result.get_by_name('Orange').index == 0
    assert result.get_by_name('silver').index == 1
    assert result.get_by_name('bronze') is None
    assert result.get_by_index('1').name == 'silver'
    assert result.get_by_index(7) is None
    assert result.get_by_index('x') is None
    assert result.ring_names() == {0: 'object', 1: 'object-1'}
    assert result.get_by_index(1).policy_type == REPLICATION


def test_lone_policy_is_the_default():
    result = policies(p0={'name': 'only'})
    assert result.default.name == 'only'
    assert result.info()[0]['default'] is True


def test_info_leaves_out_deprecated_policies():
    result = policies(p0={'name': 'gold', 'default': 'true'},
                      p1={'name': 'old', 'deprecated': 'true'})
    assert [p['name'] for p in result.info()] == ['gold']
    assert result.get_by_name('old').is_deprecated


def test_erasure_coding_options_parsed():
    result = policies(p0={'name': 'gold', 'default': 'yes'},
                      p2={'name': 'ec', 'policy_type': 'erasure_coding',
                          'ec_type': 'liberasurecode_rs_vand',
                          'ec_num_data_fragments': '4',
                          'ec_num_parity_fragments': '2',
                          'ec_object_segment_size': '65536'})
    ec = result.get_by_index(2)
    assert ec.policy_type == ERASURE_CODING
    assert (ec.ec.data_fragments, ec.ec.parity_fragments,
            ec.ec.segment_size) == (4, 2, 65536)
    assert ec.ring_name == 'object-2'


@pytest.mark.parametrize('sections,message', [
    ({'p1': {'name': 'a'}}, 'You must specify a storage policy section '
                            'for policy index 0'),
    ({'p0': {'name': 'a'}, 'p1': {'name': 'b'}},
     'Unable to find default policy'),
    ({'p0': {'name': 'a', 'default': 'y'}, 'p1': {'name': 'b',
                                                  'default': 'y'}},
     'Duplicate default'),
    ({'p0': {'name': 'a', 'default': 'y'}, 'p1': {'name': 'A'}},
     'Duplicate name A conflicts with a'),
    ({'p0': {'name': 'a', 'default': 'y'}, 'p1': {'name': 'b',
                                                  'aliases': 'A'}},
     'Duplicate name A conflicts with a'),
    ({'p0': {'name': 'a', 'default': 'y', 'deprecated': 'y'}},
     'Deprecated policy can not be default'),
    ({'p0': {'name': 'a', 'deprecated': 'y'}},
     "Unable to find policy that's not deprecated"),
    ({'p0': {'name': 'a b'}}, "Invalid name 'a b'"),
    ({'p0': {'name': 'a', 'default': 'y'}, 'p1': {'name': 'policy-0'}},
     'reserved for policy index 0'),
    ({'p0': {'name': 'a'}, 'p1': {}}, "Invalid name ''"),
    ({'p-1': {'name': 'a'}}, 'Invalid index'),
    ({'p0': {'name': 'a', 'policy_type': 'mirror'}}, 'Invalid policy_type'),
    ({'p0': {'name': 'a', 'replicas': '3'}}, "Invalid option 'replicas'"),
    ({'p0': {'name': 'a', 'default': 'maybe'}}, 'expected a boolean'),
    ({'p0': {'name': 'a', 'policy_type': 'erasure_coding',
             'ec_num_data_fragments': '4',
             'ec_num_parity_fragments': '2'}}, 'Missing ec_type'),
    ({'p0': {'name': 'a', 'policy_type': 'erasure_coding',
             'ec_type': 'x', 'ec_num_data_fragments': '0',
             'ec_num_parity_fragments': '2'}},
     "Invalid ec_num_data_fragments '0'"),
])
def test_invalid_configs_are_refused(sections, message):
    with pytest.raises(PolicyError, match=message):
        policies(**sections)


def test_load_policies_from_conf_dir(tmp_path):
    (tmp_path / 'objstore.conf').write_text(
        '[objstore-hash]\npath_hash_suffix = s\n'
        '[storage-policy:0]\nname = gold\ndefault = yes\n'
        '[storage-policy:1]\nname = silver\naliases = grey\n')
    result = load_policies(str(tmp_path))
    assert [p.name for p in result] == ['gold', 'silver']
    assert result.get_by_name('grey').index == 1


def test_load_policies_without_a_file_is_policy_0(tmp_path):
    assert load_policies(str(tmp_path)).default.name == 'Policy-0'


def test_load_policies_refuses_unparsable_file(tmp_path):
    (tmp_path / 'objstore.conf').write_text('no section header\n')
    with pytest.raises(storage_policy.ConfigError):
        load_policies(str(tmp_path))


def test_sample_config_declares_a_valid_policy_0():
    sample = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                          'objstore.conf-sample')
    result = load_policies(sample)
    assert [(p.index, p.name, p.is_default) for p in result] == [
        (0, 'Policy-0', True)]
