"""Reserved names (leading NUL): named and checked by common.constraints,
left out of listings unless asked for (common.listing, on a real broker),
and let through by the proxy only with X-Backend-Allow-Reserved-Names."""

import pytest

from objstore.common.constraints import (
    allows_reserved, check_name, reserved_name, split_reserved_name)
from objstore.common.exceptions import InvalidInput
from objstore.common.listing import ListingParams
from objstore.container.backend import ContainerBroker
from objstore.proxy.server import path_error
from tests.helpers import ts

HIDDEN = reserved_name('versions', 'c')


def test_names_round_trip():
    assert split_reserved_name(reserved_name('o', '123')) == ['o', '123']
    with pytest.raises(ValueError):
        reserved_name('a\x00b')
    with pytest.raises(ValueError):
        split_reserved_name('plain')


def test_nul_only_as_reserved_and_only_when_allowed():
    check_name(HIDDEN, 'container', allow_reserved=True)
    for name, allow in ((HIDDEN, False), ('c\x00d', True)):
        with pytest.raises(InvalidInput):
            check_name(name, 'container', allow_reserved=allow)


def test_header_decides():
    assert allows_reserved({'HTTP_X_BACKEND_ALLOW_RESERVED_NAMES': 'true'})
    assert not allows_reserved({'HTTP_X_BACKEND_ALLOW_RESERVED_NAMES': 'yes'})
    assert not allows_reserved({})


def test_proxy_path_check():
    path = '/v1/AUTH_test/%s/o' % HIDDEN
    assert path_error(path).status_int == 412
    assert path_error(path, allow_reserved=True) is None


@pytest.fixture
def broker(tmp_path):
    made = ContainerBroker(str(tmp_path / 'c.db'), account='a', container='c')
    made.initialize(ts(0), storage_policy_index=0)
    for name in (HIDDEN, reserved_name('o', '1'), '\x01first', 'b'):
        made.put_object(name, ts(1), 1, 'text/plain', 'e')
    yield made
    made.close()


@pytest.mark.parametrize('reverse', [False, True])
def test_listing_hides_reserved_unless_asked(broker, reverse):
    def names(**kwargs):
        params = ListingParams(limit=100, reverse=reverse, **kwargs)
        return sorted(e.name for e in broker.list_objects(params))

    assert names() == ['\x01first', 'b']
    assert names(prefix='\x00') == []
    assert names(with_reserved=True) == sorted(
        [HIDDEN, reserved_name('o', '1'), '\x01first', 'b'])
    assert names(with_reserved=True, prefix='\x00versions') == [HIDDEN]
