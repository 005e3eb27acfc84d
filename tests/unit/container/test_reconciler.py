"""container-reconciler: its options and the pure choices it makes (the
moves themselves are exercised on a real cluster in
tests/probe/test_reconciler.py)."""

import pytest

from objstore.common.exceptions import ConfigError
from objstore.common.timestamp import Timestamp
from objstore.container.reconciler import (
    ContainerReconcilerConf, Copy, agreed_policy, copy_headers, newest,
    replica_info)
from tests.helpers import assert_db_daemon_sample_matches


def test_sample_config_matches_the_dataclass():
    assert_db_daemon_sample_matches(ContainerReconcilerConf,
                                    'container-daemons.conf-sample',
                                    'container-reconciler')


@pytest.mark.parametrize('option, value', [
    ('rows_per_container', '0'), ('objects_per_second', '-1'),
    ('node_timeout', '0')])
def test_bad_options_are_refused(option, value):
    with pytest.raises(ConfigError):
        ContainerReconcilerConf.from_conf({option: value})


def test_newest_copy_prefers_a_tombstone_of_equal_time():
    data = Copy(Timestamp(5), False)
    tomb = Copy(Timestamp(5), True)
    assert newest([data, tomb]) is tomb
    assert newest([Copy(Timestamp(6), False), tomb]).timestamp == \
        Timestamp(6)


def test_copy_headers_keep_the_object_and_drop_the_server():
    answer = {'content-type': 'text/plain', 'etag': 'abc',
              'x-object-meta-color': 'red', 'content-length': '3',
              'x-timestamp': '1.00000', 'x-backend-timestamp': '1.00000',
              'last-modified': 'x', 'date': 'y'}
    headers = copy_headers(answer, Timestamp(2))
    assert headers == {'content-type': 'text/plain', 'etag': 'abc',
                       'x-object-meta-color': 'red',
                       'X-Timestamp': Timestamp(2).internal}


def test_replica_info_reads_a_container_head():
    headers = {'x-backend-storage-policy-index': '1',
               'x-backend-put-timestamp': '1.00000',
               'x-backend-delete-timestamp': '0',
               'x-backend-status-changed-at': '1.00000',
               'x-container-object-count': '4'}
    assert replica_info(headers) == {
        'storage_policy_index': 1, 'put_timestamp': '1.00000',
        'delete_timestamp': '0', 'status_changed_at': '1.00000',
        'object_count': 4}
    assert replica_info({}) is None


def test_a_replica_that_lost_does_not_agree_with_itself():
    first = {'storage_policy_index': 1, 'put_timestamp': '1.00000',
             'delete_timestamp': '0', 'status_changed_at': '1.00000'}
    later = dict(first, storage_policy_index=0, put_timestamp='2.00000',
                 status_changed_at='2.00000')
    assert agreed_policy(later, [later, first, None]) == 1
    assert agreed_policy(first, [later]) == 1
