"""Properties of split_path: every input splits or raises ValueError, and
what it accepts splits back into the segments it was joined from."""

from hypothesis import given, strategies as st

from objstore.common.http import split_path
from tests.unit.strategies import hostile_text, wsgi_text

segment = st.text(alphabet=st.characters(max_codepoint=255,
                                         blacklist_characters='/'),
                  min_size=1, max_size=20)


@given(path=st.one_of(hostile_text, wsgi_text.map(lambda t: '/' + t)),
       minsegs=st.integers(1, 5), extra=st.integers(0, 3),
       rest_with_last=st.booleans())
def test_split_path_splits_or_raises_value_error(path, minsegs, extra,
                                                 rest_with_last):
    maxsegs = minsegs + extra
    try:
        segs = split_path(path, minsegs, maxsegs, rest_with_last)
    except ValueError:
        return
    assert len(segs) == maxsegs
    present = [s for s in segs if s is not None]
    assert len(present) >= minsegs
    assert all(present), 'an accepted path has an empty segment: %r' % path
    assert segs[len(present):] == [None] * (maxsegs - len(present))
    if not rest_with_last:
        assert all('/' not in s for s in present)
    assert ('/' + '/'.join(present)) in (path, path.rstrip('/'),
                                         path[:-1])


@given(segs=st.lists(segment, min_size=1, max_size=5),
       extra=st.integers(0, 2), trailing_slash=st.booleans())
def test_split_path_round_trips_joined_segments(segs, extra, trailing_slash):
    path = '/' + '/'.join(segs) + ('/' if trailing_slash else '')
    assert split_path(path, len(segs), len(segs) + extra) == \
        segs + [None] * extra


@given(head=st.lists(segment, min_size=2, max_size=2),
       tail=st.lists(segment, min_size=1, max_size=4))
def test_split_path_rest_with_last_keeps_object_slashes(head, tail):
    path = '/' + '/'.join(head + tail)
    assert split_path(path, 3, 3, True) == head + ['/'.join(tail)]


@given(segs=st.lists(segment, min_size=1, max_size=3),
       empty_at=st.integers(0, 2))
def test_split_path_rejects_an_empty_inner_segment(segs, empty_at):
    segs = list(segs)
    segs.insert(min(empty_at, len(segs) - 1), '')
    path = '/' + '/'.join(segs)
    try:
        split_path(path, 1, len(segs) + 1, False)
    except ValueError:
        return
    raise AssertionError('accepted %r with an empty segment' % path)
