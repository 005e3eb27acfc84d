"""AccountBroker on real SQLite: container rows, stats, merge rules."""

import pytest

from objstore.account.backend import AccountBroker, merge_container_row
from objstore.common.listing import ContainerEntry, ListingParams, Subdir
from objstore.common.timestamp import Timestamp
from tests.helpers import ts

@pytest.fixture
def broker(tmp_path):
    made = AccountBroker(str(tmp_path / 'a' / 'a.db'), account='a')
    made.initialize(ts(0))
    yield made
    made.close()


def stats(broker):
    info = broker.get_info()
    return (info['container_count'], info['object_count'], info['bytes_used'])


def test_reports_drive_stats(broker):
    broker.put_container('c1', ts(1), 0, 3, 30)
    broker.put_container('c2', ts(1), 0, 1, 5)
    assert stats(broker) == (2, 4, 35)
    broker.put_container('c1', ts(1), 0, 4, 40)
    assert stats(broker) == (2, 5, 45)


def test_same_timestamp_later_report_wins_within_a_batch(broker):
    broker.put_container('c', ts(1), 0, 1, 1)
    broker.put_container('c', ts(1), 0, 2, 2)
    assert stats(broker) == (1, 2, 2)


def test_older_report_never_overwrites_newer(broker):
    broker.put_container('c', ts(5), 0, 7, 70)
    broker.get_info()
    broker.put_container('c', ts(3), 0, 1, 10)
    assert stats(broker) == (1, 7, 70)
    row = broker.get_container_row('c')
    assert row['put_timestamp'] == ts(5)


def test_delete_report_marks_row_deleted(broker):
    broker.put_container('c', ts(1), 0, 0, 0)
    broker.put_container('c', ts(1), ts(2), 0, 0)
    assert stats(broker) == (0, 0, 0)
    assert broker.get_container_row('c')['deleted'] == 1
    # An older put arriving late keeps the newer delete.
    broker.put_container('c', ts(1.5), 0, 0, 0)
    row = broker.get_container_row('c')
    assert row['deleted'] == 1 and row['delete_timestamp'] == ts(2)
    broker.put_container('c', ts(3), 0, 0, 0)
    assert broker.get_container_row('c')['deleted'] == 0
    assert stats(broker)[0] == 1


def test_merge_container_row_pure():
    stored = {'name': 'c', 'put_timestamp': ts(2), 'delete_timestamp': ts(0),
              'object_count': 5, 'bytes_used': 50, 'deleted': 0,
              'storage_policy_index': 0}
    assert merge_container_row(stored, dict(stored)) is None
    newer_delete = dict(stored, delete_timestamp=ts(3), object_count=0,
                        bytes_used=0)
    merged = merge_container_row(stored, newer_delete)
    assert merged['deleted'] == 1 and merged['put_timestamp'] == ts(2)
    nonempty_delete = dict(newer_delete, object_count=1)
    assert merge_container_row(stored, nonempty_delete)['deleted'] == 0
    fresh = merge_container_row(None, dict(stored, put_timestamp='1'))
    assert fresh['put_timestamp'] == Timestamp(1).internal


def test_account_deletion_rules(broker):
    assert not broker.is_deleted()
    broker.delete_db(ts(1))
    assert broker.is_deleted() and broker.is_status_deleted()
    info = broker.get_info()
    assert info['delete_timestamp'] == ts(1)


def test_list_containers(broker):
    broker.put_container('photos', ts(1), 0, 2, 20)
    broker.put_container('logs-2024', ts(2), 0, 1, 1)
    broker.put_container('logs-2025', ts(3), 0, 1, 1)
    broker.put_container('gone', ts(1), ts(2), 0, 0)
    page = broker.list_containers(ListingParams(limit=10, delimiter='-'))
    assert page == [Subdir('logs-'), ContainerEntry('photos', 2, 20, ts(1))]
    page = broker.list_containers(ListingParams(limit=10, prefix='logs',
                                                reverse=True))
    assert [e.name for e in page] == ['logs-2025', 'logs-2024']


def test_reclaim_old_deleted_containers(broker):
    broker.put_container('old', ts(1), ts(2), 0, 0)
    broker.put_container('new', ts(1), ts(20), 0, 0)
    broker.reclaim(ts(10))
    assert broker.get_container_row('old') is None
    assert broker.get_container_row('new') is not None


def test_replication_rows_and_hash(tmp_path, broker):
    broker.put_container('c1', ts(1), 0, 1, 1)
    broker.put_container('c2', ts(2), 0, 2, 2)
    copy = AccountBroker(str(tmp_path / 'b' / 'b.db'), account='a')
    copy.initialize(ts(0))
    copy.merge_items(broker.get_items_since(-1, 10),
                     source_id=broker.get_info()['id'])
    assert copy.get_info()['hash'] == broker.get_info()['hash']
    assert stats(copy) == stats(broker)
    assert copy.get_sync(broker.get_info()['id']) == broker.get_max_row()


def test_policy_stats_sum_each_policys_containers(broker):
    broker.put_container('gold1', ts(1), 0, 3, 30, storage_policy_index=0)
    broker.put_container('gold2', ts(1), 0, 1, 5, storage_policy_index=0)
    broker.put_container('silver', ts(1), 0, 2, 7, storage_policy_index=1)
    assert broker.policy_stats() == {
        0: {'container_count': 2, 'object_count': 4, 'bytes_used': 35},
        1: {'container_count': 1, 'object_count': 2, 'bytes_used': 7}}


def test_policy_stats_follow_updates_deletes_and_policy_changes(broker):
    broker.put_container('c', ts(1), 0, 3, 30, storage_policy_index=1)
    broker.put_container('c', ts(2), 0, 5, 50, storage_policy_index=1)
    assert broker.policy_stats()[1] == {
        'container_count': 1, 'object_count': 5, 'bytes_used': 50}
    broker.put_container('c', ts(2), ts(3), 0, 0, storage_policy_index=1)
    # The policy's row stays, with zero counts, as in Swift.
    assert broker.policy_stats() == {
        1: {'container_count': 0, 'object_count': 0, 'bytes_used': 0}}
    broker.put_container('c', ts(4), 0, 1, 9, storage_policy_index=0)
    assert broker.policy_stats() == {
        0: {'container_count': 1, 'object_count': 1, 'bytes_used': 9},
        1: {'container_count': 0, 'object_count': 0, 'bytes_used': 0}}


def test_db_made_before_policy_stat_gains_it_with_totals(broker):
    broker.put_container('a', ts(1), 0, 3, 30, storage_policy_index=0)
    broker.put_container('b', ts(1), 0, 2, 20, storage_policy_index=1)
    broker.put_container('gone', ts(1), ts(2), 0, 0, storage_policy_index=1)
    broker.get_info()
    broker.conn.executescript(
        'DROP TRIGGER container_insert_policy_stat; '
        'DROP TRIGGER container_delete_policy_stat; DROP TABLE policy_stat;')
    assert broker.policy_stats() == {
        0: {'container_count': 1, 'object_count': 3, 'bytes_used': 30},
        1: {'container_count': 1, 'object_count': 2, 'bytes_used': 20}}
    broker.put_container('b', ts(3), 0, 4, 40, storage_policy_index=1)
    assert broker.policy_stats()[1] == {
        'container_count': 1, 'object_count': 4, 'bytes_used': 40}
