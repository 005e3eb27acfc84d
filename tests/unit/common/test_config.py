from dataclasses import dataclass

import pytest

from objstore.common.config import ConfBase, config_true_value, readconf
from objstore.common.exceptions import ConfigError
from tests.helpers import assert_sample_matches, sample_options


@dataclass(frozen=True)
class DemoConf(ConfBase):
    port: int = 6200
    timeout: float = 0.5
    mount_check: bool = True
    devices: str = '/srv/node'
    names: tuple[str, ...] = ('a', 'b')

    def validate(self):
        if self.port < 0:
            raise ConfigError('port must be >= 0')


def test_from_conf_converts_types_and_keeps_defaults():
    conf = DemoConf.from_conf({'port': '7000', 'mount_check': 'no',
                               'names': 'x, y,', 'unknown': 'ignored'})
    assert conf.port == 7000
    assert conf.mount_check is False
    assert conf.names == ('x', 'y')
    assert conf.timeout == 0.5


@pytest.mark.parametrize('key,value', [('port', 'abc'), ('timeout', 'x'),
                                       ('mount_check', 'maybe'),
                                       ('port', '-1')])
def test_from_conf_rejects_bad_values_naming_the_option(key, value):
    with pytest.raises(ConfigError) as info:
        DemoConf.from_conf({key: value})
    assert 'port' in str(info.value) or key in str(info.value)


def test_config_true_value():
    assert config_true_value('Yes') and config_true_value(True)
    assert not config_true_value('off') and not config_true_value(None)


def test_readconf_sections_and_defaults(tmp_path):
    path = tmp_path / 'x.conf'
    path.write_text('[DEFAULT]\nbind_port = 1\n[app:main]\nuse = egg:x\n')
    conf = readconf(str(path))
    assert conf['app:main']['bind_port'] == '1'
    assert conf['DEFAULT'] == {'bind_port': '1'}
    assert readconf(str(path), 'app:main')['use'] == 'egg:x'
    with pytest.raises(ConfigError):
        readconf(str(path), 'missing')


def test_readconf_errors(tmp_path):
    with pytest.raises(ConfigError):
        readconf(str(tmp_path / 'absent.conf'))
    broken = tmp_path / 'broken.conf'
    broken.write_text('no section header\n')
    with pytest.raises(ConfigError):
        readconf(str(broken))


def test_sample_options_and_agreement(tmp_path):
    sample = tmp_path / 'demo.conf-sample'
    sample.write_text('[demo]\n# The port to listen on.\n# port = 6200\n'
                      'timeout = 0.5\n# mount_check = true\n'
                      '# devices = /srv/node\n# names = a, b\n[other]\nx=1\n')
    assert sample_options(str(sample), 'demo')['port'] == '6200'
    assert_sample_matches(DemoConf, str(sample), 'demo')
    sample.write_text('[demo]\nport = 1\n')
    with pytest.raises(AssertionError):
        assert_sample_matches(DemoConf, str(sample), 'demo')
