"""ObjectServerConf: sample file agreement, conversion, validation."""

import os

import pytest

from objstore.common.exceptions import ConfigError
from objstore.common.storage_policy import REPLICATION
from objstore.object.server import ObjectServerConf, app_factory
from tests.helpers import sample_options

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'object-server.conf-sample')


def test_sample_lists_every_option_with_its_default():
    sample = sample_options(SAMPLE, 'DEFAULT')
    sample.update(sample_options(SAMPLE, 'app:object-server'))
    sample.pop('use')
    defaults = ObjectServerConf.option_defaults()
    assert sorted(sample) == sorted(defaults)
    for name, value in sample.items():
        assert getattr(ObjectServerConf.from_conf({name: value}), name) == \
            defaults[name], name


def test_conversion_and_validation():
    conf = ObjectServerConf.from_conf({'mount_check': 'no', 'workers': '4',
                                       'node_timeout': '2.5', 'other': 'x'})
    assert (conf.mount_check, conf.workers, conf.node_timeout) == \
        (False, 4, 2.5)
    for bad in ({'workers': 'many'}, {'mount_check': 'perhaps'},
                {'disk_chunk_size': '0'}, {'conn_timeout': '-1'},
                {'fallocate_reserve': '-5'}):
        with pytest.raises(ConfigError):
            ObjectServerConf.from_conf(bad)


def test_app_factory_reads_hash_conf(tmp_path):
    (tmp_path / 'objstore.conf').write_text(
        '[objstore-hash]\npath_hash_suffix = s3cret\n')
    app = app_factory({'devices': str(tmp_path), 'conf_dir': str(tmp_path),
                       'log_level': 'ERROR'}, mount_check='false')
    assert app.conf.mount_check is False
    assert app.managers[REPLICATION].settings.hash_conf.suffix == b's3cret'
    with pytest.raises(ConfigError):
        app_factory({'conf_dir': str(tmp_path / 'missing')})


def test_app_factory_reads_storage_policies(tmp_path):
    (tmp_path / 'objstore.conf').write_text(
        '[objstore-hash]\npath_hash_suffix = s\n'
        '[storage-policy:0]\nname = gold\ndefault = yes\n'
        '[storage-policy:1]\nname = silver\n')
    app = app_factory({'devices': str(tmp_path), 'conf_dir': str(tmp_path),
                       'log_level': 'ERROR'}, mount_check='false')
    assert [p.name for p in app.policies] == ['gold', 'silver']
