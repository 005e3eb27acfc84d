"""ContainerBroker on real SQLite: rows, stats, deletion rules, listings."""

import pytest

from objstore.common.listing import ListingParams, ObjectEntry, Subdir
from objstore.container.backend import ContainerBroker, stats_need_report
from tests.helpers import ts

@pytest.fixture
def broker(tmp_path):
    made = ContainerBroker(str(tmp_path / 'c' / 'c.db'), account='a',
                           container='c')
    made.initialize(ts(0), storage_policy_index=3)
    yield made
    made.close()


def test_stat_row_defaults(broker):
    info = broker.get_info()
    assert info['storage_policy_index'] == 3
    assert (info['object_count'], info['bytes_used']) == (0, 0)
    assert info['delete_timestamp'] == '0'
    assert not broker.is_deleted()
    assert broker.is_empty()


def test_stats_follow_puts_overwrites_and_deletes(broker):
    broker.put_object('a', ts(1), 10, 'text/plain', 'e1')
    broker.put_object('b', ts(1), 20, 'text/plain', 'e2')
    broker.put_object('a', ts(2), 15, 'text/plain', 'e3')
    assert (broker.get_info()['object_count'],
            broker.get_info()['bytes_used']) == (2, 35)
    broker.delete_object('b', ts(3))
    broker.delete_object('never-existed', ts(3))
    info = broker.get_info()
    assert (info['object_count'], info['bytes_used']) == (1, 15)
    row = broker.get_object_row('never-existed')
    assert row['deleted'] == 1 and row['created_at'] == ts(3)


def test_delete_older_than_put_is_ignored(broker):
    broker.put_object('a', ts(5), 10, 'text/plain', 'e1')
    broker.delete_object('a', ts(4))
    assert broker.get_object_row('a')['deleted'] == 0
    assert broker.get_info()['object_count'] == 1


def test_rows_are_never_updated_in_place(broker):
    broker.put_object('a', ts(1), 10, 'text/plain', 'e1')
    broker.get_info()
    with pytest.raises(Exception, match='replaced, never updated'):
        broker.conn.execute("UPDATE object SET size = 1")


def test_container_deleted_only_when_empty_and_delete_newer(broker):
    broker.put_object('a', ts(1), 10, 'text/plain', 'e1')
    broker.delete_db(ts(2))
    assert not broker.is_deleted()
    broker.delete_object('a', ts(3))
    assert broker.is_deleted()
    broker.update_put_timestamp(ts(4))
    assert not broker.is_deleted()


def test_list_objects_entries(broker):
    broker.put_object('d/x', ts(1), 1, 'text/plain', 'e1')
    broker.put_object('top', ts(2), 2, 'image/png', 'e2')
    broker.delete_object('dead', ts(3))
    page = broker.list_objects(ListingParams(limit=10, delimiter='/'))
    assert page == [Subdir('d/'),
                    ObjectEntry('top', ts(2), 2, 'image/png', 'e2')]
    page = broker.list_objects(ListingParams(limit=1))
    assert page == [ObjectEntry('d/x', ts(1), 1, 'text/plain', 'e1')]


def test_reported_stats(broker):
    info = broker.get_info()
    assert stats_need_report(info)
    broker.set_reported(put_timestamp=info['put_timestamp'],
                        delete_timestamp=info['delete_timestamp'],
                        object_count=0, bytes_used=0)
    assert not stats_need_report(broker.get_info())
    broker.put_object('a', ts(1), 10, 'text/plain', 'e1')
    assert stats_need_report(broker.get_info())


def test_policy_can_be_rebound(broker):
    broker.set_storage_policy_index(1)
    assert broker.get_info()['storage_policy_index'] == 1


def test_storage_policy_index_of_rows(broker):
    broker.put_object('a', ts(1), 1, 'x', 'e', storage_policy_index=2)
    assert broker.get_object_row('a')['storage_policy_index'] == 2
