"""The proxy sample config lists every option with the code's default, and
the pipeline it declares loads."""

import os

import pytest

from objstore.common.exceptions import ConfigError
from objstore.middleware.catch_errors import CatchErrorsConf
from objstore.middleware.gatekeeper import GatekeeperConf
from objstore.middleware.healthcheck import HealthcheckConf
from objstore.middleware.proxy_logging import ProxyLoggingConf
from objstore.middleware.tempauth import TempAuthConf
from objstore.proxy.server import ProxyServerConf
from tests.helpers import assert_sample_matches

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'proxy-server.conf-sample')
USERS = ('user_admin_admin', 'user_test_tester', 'user_test2_tester2',
         'user_test_tester3')


@pytest.mark.parametrize('conf_class,section,ignore', [
    (ProxyServerConf, 'app:proxy-server', ('use',)),
    (TempAuthConf, 'filter:tempauth', ('use',) + USERS),
    (CatchErrorsConf, 'filter:catch_errors', ('use',)),
    (GatekeeperConf, 'filter:gatekeeper', ('use',)),
    (HealthcheckConf, 'filter:healthcheck', ('use',)),
    (ProxyLoggingConf, 'filter:proxy_logging', ('use',)),
])
def test_sample_matches_dataclass(conf_class, section, ignore):
    assert_sample_matches(conf_class, SAMPLE, section, ignore=ignore)


@pytest.mark.parametrize('bad', [
    {'node_timeout': '0'}, {'conn_timeout': 'soon'},
    {'error_suppression_limit': '0'}, {'post_quorum_timeout': '-1'},
    {'account_autocreate': 'maybe'},
])
def test_bad_values_rejected(bad):
    with pytest.raises(ConfigError):
        ProxyServerConf.from_conf(bad)


def test_tuple_option():
    conf = ProxyServerConf.from_conf({'memcache_servers': 'a:1, b:2'})
    assert conf.memcache_servers == ('a:1', 'b:2')
