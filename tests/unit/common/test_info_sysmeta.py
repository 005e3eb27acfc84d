"""Account and container info carry system metadata (``info['sysmeta']``,
names without the prefix), so middlewares read their state from the one
cached info lookup as Swift's do."""

import doctest

from objstore.common import infocache
from objstore.common.infocache import account_info_from, container_info_from


def test_doctests():
    assert doctest.testmod(infocache).failed == 0


def test_account_info_keeps_sysmeta_apart_from_meta():
    info = account_info_from(204, {
        'x-account-meta-color': 'red',
        'x-account-sysmeta-core-access-control': '{"admin":["a:b"]}',
        'x-container-sysmeta-other': 'no'})
    assert info['meta'] == {'color': 'red'}
    assert info['sysmeta'] == {'core-access-control': '{"admin":["a:b"]}'}


def test_container_info_keeps_sysmeta_apart_from_meta():
    info = container_info_from(204, {
        'x-container-meta-color': 'red',
        'x-container-sysmeta-versions-location': 'v',
        'x-account-sysmeta-other': 'no'})
    assert info['meta'] == {'color': 'red'}
    assert info['sysmeta'] == {'versions-location': 'v'}
