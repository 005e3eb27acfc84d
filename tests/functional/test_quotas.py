"""Container and account quotas against the running cluster, over raw
HTTP: bad values are 400, uploads and copies over a quota are 413, only
a reseller admin sets an account quota."""

import json
import uuid

import pytest

from tests.functional.raw_client import UserClient


@pytest.fixture(scope='module')
def tester(cluster):
    return UserClient(cluster, 'test:tester')


@pytest.fixture(scope='module')
def reseller(cluster):
    return UserClient(cluster, 'admin:admin')


def new_container(client, **headers):
    name = '/quota-%s' % uuid.uuid4().hex
    status, _h, body = client('PUT', name, headers)
    assert status in (201, 202), body
    return name


def test_bad_container_quota_values_are_400(tester):
    container = new_container(tester)
    for name, value, reason in (
            ('X-Container-Meta-Quota-Bytes', '-5', b'Invalid bytes quota.'),
            ('X-Container-Meta-Quota-Count', 'many',
             b'Invalid count quota.')):
        for method in ('PUT', 'POST'):
            status, _h, body = tester(method, container, {name: value})
            assert (status, body) == (400, reason)


def test_container_bytes_quota_stops_put_and_copy(tester):
    container = new_container(tester,
                              **{'X-Container-Meta-Quota-Bytes': '10'})
    status, _h, _b = tester('PUT', container + '/small', body=b'123456')
    assert status == 201
    status, _h, body = tester('PUT', container + '/big', body=b'x' * 11)
    assert (status, body) == (413, b'Upload exceeds quota.')
    other = new_container(tester)
    status, _h, _b = tester('PUT', other + '/src', body=b'y' * 11)
    assert status == 201
    status, _h, body = tester('COPY', other + '/src',
                              {'Destination': container + '/copy'})
    assert (status, body) == (413, b'Upload exceeds quota.')
    status, _h, body = tester('PUT', container + '/copy2',
                              {'X-Copy-From': other + '/src'}, body=b'')
    assert (status, body) == (413, b'Upload exceeds quota.')
    assert tester('GET', container + '/big')[0] == 404


def test_container_count_quota(tester):
    container = new_container(tester,
                              **{'X-Container-Meta-Quota-Count': '0'})
    status, _h, body = tester('PUT', container + '/o', body=b'')
    assert (status, body) == (413, b'Upload exceeds quota.')
    status, _h, _b = tester('POST', container,
                            {'X-Container-Meta-Quota-Count': ''})
    assert status == 204
    assert tester('PUT', container + '/o', body=b'')[0] == 201


def test_anonymous_over_quota_still_sees_401(tester):
    container = new_container(tester,
                              **{'X-Container-Meta-Quota-Count': '0'})
    status, _h, _b = tester('PUT', container + '/o', body=b'', token=False)
    assert status == 401


def test_only_reseller_admin_sets_account_quota(tester, reseller):
    for name in ('X-Account-Meta-Quota-Bytes', 'X-Account-Quota-Bytes'):
        status, _h, _b = tester('POST', '', {name: '0'})
        assert status == 403
    path = tester.account_path
    status, _h, _b = reseller('POST', '', {'X-Account-Quota-Bytes': 'x'},
                              account_path=path)
    assert status == 400
    status, _h, _b = reseller('POST', '', {'X-Account-Quota-Bytes': '0'},
                              account_path=path)
    assert status == 204
    try:
        status, headers, _b = tester('HEAD', '')
        assert headers.get('x-account-quota-bytes') == '0'
        container = new_container(tester)
        status, _h, body = tester('PUT', container + '/o', body=b'z')
        assert (status, body) == (413, b'Upload exceeds quota.')
        # A reseller admin is never held to the quota.
        status, _h, _b = reseller('PUT', container + '/o', body=b'z',
                                  account_path=path)
        assert status == 201
        status, _h, _b = reseller('COPY', container + '/o',
                                  {'Destination': container + '/o-copy'},
                                  account_path=path)
        assert status == 201
    finally:
        status, _h, _b = reseller(
            'POST', '', {'X-Remove-Account-Quota-Bytes': 't'},
            account_path=path)
        assert status == 204
    status, headers, _b = tester('HEAD', '')
    assert 'x-account-quota-bytes' not in headers
    assert tester('PUT', container + '/o2', body=b'z')[0] == 201


def test_info_lists_both_quotas(tester):
    info = json.loads(tester('GET', '', account_path='/info')[2])
    assert 'container_quotas' in info and 'account_quotas' in info


def test_policy_quota_caps_only_that_policys_containers(cluster, reseller):
    owner = UserClient(cluster, 'test2:tester2')
    path = owner.account_path
    header = 'X-Account-Quota-Bytes-Policy-silver'
    assert owner('POST', '', {header: '10'})[0] == 403
    assert reseller('POST', '', {header: 'ten'}, account_path=path)[0] == 400
    assert reseller('POST', '', {header: '10'}, account_path=path)[0] == 204
    try:
        assert owner('HEAD', '')[1].get(header.lower()) == '10'
        silver = new_container(owner, **{'X-Storage-Policy': 'silver'})
        gold = new_container(owner)
        assert owner('PUT', silver + '/small', body=b'x' * 10)[0] == 201
        status, _h, body = owner('PUT', silver + '/big', body=b'x' * 11)
        assert (status, body) == (413, b'Upload exceeds policy quota.')
        assert owner('PUT', gold + '/big', body=b'x' * 11)[0] == 201
    finally:
        assert reseller('POST', '', {'X-Remove-Account-Quota-Bytes-Policy-'
                                     'silver': 'x'}, account_path=path)[0] \
            == 204
    assert header.lower() not in owner('HEAD', '')[1]
    assert owner('PUT', silver + '/big', body=b'x' * 11)[0] == 201
