"""Which storage policy a split-brained container keeps, and which object
rows are misplaced: the pure rules, then on real SQLite brokers."""

import pytest

from objstore.common.timestamp import Timestamp
from objstore.container.backend import ContainerBroker, policy_winner
from objstore.container.object_rows import data_wins
from tests.helpers import ts


def info(policy, put, delete='0', changed=None, objects=0):
    return {'storage_policy_index': policy, 'put_timestamp': put,
            'delete_timestamp': delete,
            'status_changed_at': changed or max(put, delete),
            'object_count': objects}


def test_first_created_container_wins():
    older, newer = info(1, ts(1)), info(0, ts(2))
    assert policy_winner(newer, older) is older
    assert policy_winner(older, newer) is older


def test_live_container_beats_deleted_one():
    live = info(1, ts(5))
    deleted = info(0, ts(1), delete=ts(2))
    assert policy_winner(deleted, live) is live
    assert policy_winner(live, deleted) is live


def test_recreated_container_beats_never_deleted_one():
    recreated = info(1, ts(5), delete=ts(4))
    original = info(0, ts(1))
    assert policy_winner(original, recreated) is recreated


def test_newest_recreation_wins():
    first = info(1, ts(5), delete=ts(4))
    second = info(0, ts(7), delete=ts(6))
    assert policy_winner(first, second) is second


def test_full_tie_goes_to_lower_index_on_both_sides():
    a, b = info(1, ts(1)), info(0, ts(1))
    assert policy_winner(a, b) is b and policy_winner(b, a) is b


def test_same_policy_keeps_local():
    a, b = info(1, ts(1)), info(1, ts(0))
    assert policy_winner(a, b) is a


def row_replaces(incoming_policy, incoming, stored_policy, stored):
    return data_wins({'storage_policy_index': incoming_policy},
                     {'storage_policy_index': stored_policy},
                     Timestamp(incoming), Timestamp(stored), 0)


def test_row_replaces_rules():
    assert row_replaces(0, ts(1), 1, ts(1))      # fixes a misplaced row
    assert not row_replaces(0, ts(1), 0, ts(1))  # same row again
    assert not row_replaces(1, ts(1), 0, ts(1))
    assert not row_replaces(0, ts(1), 1, ts(2))  # older never wins
    assert row_replaces(0, ts(3), 0, ts(2))


@pytest.fixture
def brokers(tmp_path):
    made = []
    for name, policy, put in (('a', 1, ts(1)), ('b', 0, ts(2))):
        broker = ContainerBroker(str(tmp_path / name / 'c.db'),
                                 account='acct', container='c')
        broker.initialize(put, storage_policy_index=policy)
        made.append(broker)
    yield made
    for broker in made:
        broker.close()


def test_both_replicas_converge_on_the_winner(brokers):
    a, b = brokers
    b.reconcile_with_peer(a.get_replication_info())
    a.reconcile_with_peer(b.get_replication_info())
    assert a.get_info()['storage_policy_index'] == 1
    assert b.get_info()['storage_policy_index'] == 1
    assert b.get_info()['status_changed_at'] == \
        a.get_info()['status_changed_at']


def test_misplaced_rows_are_those_of_another_policy(brokers):
    a, _b = brokers
    a.put_object('right', ts(3), 1, 'text/plain', 'e', storage_policy_index=1)
    a.put_object('wrong', ts(3), 2, 'text/plain', 'e', storage_policy_index=0)
    a.delete_object('gone', ts(4), storage_policy_index=0)
    names = [row['name'] for row in a.get_misplaced_rows()]
    assert names == ['wrong', 'gone']


def test_a_move_at_the_same_timestamp_fixes_the_row(brokers):
    a, _b = brokers
    a.put_object('o', ts(3), 2, 'text/plain', 'e', storage_policy_index=0)
    a.put_object('o', ts(3), 2, 'text/plain', 'e', storage_policy_index=1)
    assert a.get_misplaced_rows() == []
    assert a.get_object_row('o')['storage_policy_index'] == 1
    assert a.get_info()['object_count'] == 1
    # A misplaced copy replicated in later does not undo the fix.
    a.merge_items([dict(a.get_object_row('o'), storage_policy_index=0)])
    assert a.get_object_row('o')['storage_policy_index'] == 1
