"""Object rows with data, content-type and metadata timestamps: the pure
merge (every arrival order ends with the newest of each field), and on
real SQLite brokers, replication between them and the listing."""

import itertools

from objstore.common.listing import ListingParams
from objstore.common.timestamp import Timestamp
from objstore.container.backend import ContainerBroker
from objstore.container.object_rows import (
    decode_timestamps, encode_timestamps, merge_rows)
from tests.helpers import ts

PUT = {'name': 'o', 'created_at': ts(1), 'size': 300, 'etag': 'm',
       'content_type': 'a/b;swift_bytes=9000', 'deleted': 0,
       'storage_policy_index': 0}
POST = dict(PUT, content_type='c/d;swift_bytes=9000', ctype_timestamp=ts(3),
            meta_timestamp=ts(3))
META_POST = dict(PUT, meta_timestamp=ts(4))
OLDER_PUT = dict(PUT, created_at=ts(0), size=5, etag='x',
                 content_type='e/f')
NEWER_PUT = dict(PUT, created_at=ts(2), size=7, etag='y',
                 content_type='g/h')


def merged(*updates):
    row = None
    for update in updates:
        row = merge_rows(update, row, 0)
    return row


def test_timestamps_roundtrip():
    def t(offset, ordering=0):
        return Timestamp(ts(offset), offset=ordering)
    for three in ((t(1), t(1), t(1)), (t(1), t(3), t(3)),
                  (t(2), t(1), t(4)), (t(1, 5), t(2), t(3))):
        encoded = encode_timestamps(*three)
        assert decode_timestamps(encoded) == three
        assert encoded.startswith(three[0].internal)
    assert encode_timestamps(t(1, 5), t(1, 5), t(1, 5)) == t(1, 5).internal


def test_every_order_ends_with_the_newest_of_each_field():
    updates = (PUT, POST, META_POST, OLDER_PUT, NEWER_PUT)
    results = {tuple(sorted(merged(*order).items()))
               for order in itertools.permutations(updates)}
    assert len(results) == 1
    row = dict(results.pop())
    # Data from the newest PUT, content type from the newer POST, which
    # NEWER_PUT (ts 2) does not beat; swift_bytes goes with the data.
    assert (row['size'], row['etag']) == (7, 'y')
    assert row['content_type'] == 'c/d'
    data, ctype, meta = decode_timestamps(row['created_at'])
    assert (data.internal, ctype.internal, meta.internal) == (
        ts(2), ts(3), ts(4))


def test_older_put_after_post_keeps_posts_content_type():
    row = merged(PUT, POST, dict(PUT, created_at=ts(0.5)))
    assert row['content_type'] == 'c/d;swift_bytes=9000'
    assert row['size'] == 300


def test_rows_without_new_timestamps_merge_as_before():
    row = merged(PUT, NEWER_PUT)
    assert row['created_at'] == ts(2) and row['content_type'] == 'g/h'
    assert merged(NEWER_PUT, PUT) == row


def test_newer_post_type_keeps_swift_bytes_of_the_data():
    row = merged(PUT, dict(POST, content_type='c/d'))
    assert row['content_type'] == 'c/d;swift_bytes=9000'


def broker(tmp_path, name):
    made = ContainerBroker(str(tmp_path / name / 'c.db'), account='a',
                           container='c')
    made.initialize(ts(0))
    return made


def put(db, update):
    extra = {key: update[key] for key in ('ctype_timestamp',
                                          'meta_timestamp') if key in update}
    db.put_object(update['name'], update['created_at'], update['size'],
                  update['content_type'], update['etag'], **extra)


def test_broker_listing_and_stats(tmp_path):
    db = broker(tmp_path, 'a')
    put(db, PUT)
    put(db, POST)
    put(db, OLDER_PUT)
    [entry] = db.list_objects(ListingParams(limit=10))
    assert (entry.size, entry.content_type, entry.created_at) == (
        9000, 'c/d', ts(3))
    info = db.get_info()
    assert (info['object_count'], info['bytes_used']) == (1, 300)


def test_replication_merges_field_by_field(tmp_path):
    one, two = broker(tmp_path, 'one'), broker(tmp_path, 'two')
    put(one, PUT)
    put(one, POST)
    put(two, PUT)
    put(two, META_POST)
    # Only the content type differs: the hashes must tell them apart.
    assert one.get_info()['hash'] != two.get_info()['hash']
    one.merge_items(two.get_items_since(-1, 100))
    two.merge_items(one.get_items_since(-1, 100))
    assert one.get_info()['hash'] == two.get_info()['hash']
    rows = [db.get_items_since(-1, 100) for db in (one, two)]
    assert [{k: v for k, v in r[0].items() if k != 'ROWID'}
            for r in rows][0] == \
        [{k: v for k, v in r[0].items() if k != 'ROWID'} for r in rows][1]
    assert rows[0][0]['content_type'] == 'c/d;swift_bytes=9000'
    assert decode_timestamps(rows[0][0]['created_at'])[2].internal == ts(4)


def test_same_update_again_changes_nothing(tmp_path):
    db = broker(tmp_path, 'a')
    put(db, PUT)
    put(db, POST)
    before = db.get_items_since(-1, 100)
    put(db, POST)
    assert db.get_items_since(-1, 100) == before
