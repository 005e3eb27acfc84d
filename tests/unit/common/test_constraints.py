import pytest

from objstore.common import constraints
from objstore.common.exceptions import InvalidInput


@pytest.mark.parametrize('name,kind', [
    ('c', 'container'), ('a' * 256, 'account'), ('dir/obj', 'object'),
    ('\u00e9t\u00e9', 'object'), ('x' * 1024, 'object'), ('..a', 'object'),
    ('a/../b', 'object'), ('.', 'object')])
def test_good_names(name, kind):
    constraints.check_name(name, kind)


@pytest.mark.parametrize('name,kind,fragment', [
    ('', 'object', 'empty'), ('x' * 1025, 'object', 'Object name length of 1025 longer than 1024'),
    ('c' * 257, 'container', 'length of 257 longer than 256'), ('a\x00b', 'object', 'NUL'),
    ('a/b', 'container', '"/"'), ('\udcff', 'object', 'UTF-8')])
def test_bad_names(name, kind, fragment):
    with pytest.raises(InvalidInput) as info:
        constraints.check_name(name, kind)
    assert fragment in str(info.value)
    assert info.value.status == 400


def test_metadata_limits():
    constraints.check_metadata({'X-Object-Meta-A': 'b', 'Other': 'x' * 999},
                               'object')
    with pytest.raises(InvalidInput):
        constraints.check_metadata({'X-Object-Meta-': 'b'}, 'object')
    with pytest.raises(InvalidInput):
        constraints.check_metadata({'X-Container-Meta-' + 'n' * 129: 'v'},
                                   'container')
    with pytest.raises(InvalidInput):
        constraints.check_metadata({'X-Account-Meta-k': 'v' * 257},
                                   'account')
    many = {'X-Object-Meta-%d' % i: 'v' for i in range(91)}
    with pytest.raises(InvalidInput):
        constraints.check_metadata(many, 'object')
    big = {'X-Object-Meta-%02d' % i: 'v' * 250 for i in range(17)}
    with pytest.raises(InvalidInput):
        constraints.check_metadata(big, 'object')


def test_object_length():
    assert constraints.check_object_length('10', False) == 10
    assert constraints.check_object_length(None, True) is None
    cases = [(None, False, 411), ('-1', False, 400), ('x', False, 400),
             (str(constraints.MAX_FILE_SIZE + 1), False, 413)]
    for value, chunked, status in cases:
        with pytest.raises(InvalidInput) as info:
            constraints.check_object_length(value, chunked)
        assert info.value.status == status


def test_public_limits_cover_listing_and_sizes():
    limits = constraints.public_limits()
    assert limits['container_listing_limit'] == 10000
    assert limits['max_file_size'] == constraints.MAX_FILE_SIZE


def db_meta(items):
    return {name: [value, '1700000000.00000'] for name, value in items}


def test_db_metadata_usage_counts_live_user_metadata_only():
    metadata = db_meta([
        ('X-Account-Meta-Color', 'red'),         # 5 + 3
        ('X-Container-Meta-Size', 'xl'),         # 4 + 2
        ('X-Container-Meta-Gone', ''),           # deleted: free
        ('X-Container-Sysmeta-Versions', 'v'),   # system: free
        ('X-Container-Read', '.r:*')])           # ACL: free
    assert constraints.db_metadata_usage(metadata) == (2, 14)
    assert constraints.db_metadata_usage({}) == (0, 0)


def test_db_metadata_exactly_at_the_limits_is_accepted():
    names = ['k%02d' % i for i in range(constraints.MAX_META_COUNT)]
    room = constraints.MAX_META_OVERALL_SIZE - sum(map(len, names))
    base, extra = divmod(room, len(names))
    metadata = db_meta(('X-Container-Meta-' + name,
                        'v' * (base + (i < extra)))
                       for i, name in enumerate(names))
    assert constraints.db_metadata_usage(metadata) == (
        constraints.MAX_META_COUNT, constraints.MAX_META_OVERALL_SIZE)
    constraints.check_db_metadata(metadata)


@pytest.mark.parametrize('items, message', [
    ([('X-Account-Meta-%d' % i, 'v') for i in range(91)],
     'Too many metadata items; max 90'),
    ([('X-Container-Meta-%02d' % i, 'v' * 254) for i in range(16)] +
     [('X-Container-Meta-Last', 'v' * 29)],
     'Total metadata too large; max 4096'),
])
def test_db_metadata_over_the_limits_is_refused(items, message):
    with pytest.raises(InvalidInput) as info:
        constraints.check_db_metadata(db_meta(items))
    assert str(info.value) == message
    assert info.value.status == 400
