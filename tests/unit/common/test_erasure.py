"""common.erasure with the real liberasurecode: coding round trips and the
range maths checked end to end (archives built from real fragments)."""

import os

import pytest
from hypothesis import given, settings, strategies as st

from objstore.common.erasure import (
    ECScheme, archive_length, archive_span, available_ec_types,
    segment_span, trim_offset)
from objstore.common.exceptions import ConfigError
from objstore.common.storage_policy import (
    ECParams, StoragePolicy, ERASURE_CODING)

SEGMENT = 1000
SCHEME = ECScheme('liberasurecode_rs_vand', 4, 2, SEGMENT)


def archives_of(body, scheme=SCHEME):
    """Fragment archive i of ``body``: fragment i of every segment."""
    archives = [b''] * scheme.fragments
    for start in range(0, len(body), scheme.segment_size):
        fragments = scheme.encode(body[start:start + scheme.segment_size])
        archives = [archive + fragment
                    for archive, fragment in zip(archives, fragments)]
    return archives


def read_range(archives, first, last, size, scheme=SCHEME):
    """Client bytes first..last, as the proxy will read them: the archive
    span from k archives, decoded segment by segment, then trimmed."""
    last = min(last, size - 1)
    seg_start, seg_end = segment_span(first, last, scheme.segment_size)
    seg_end = min(seg_end, size - 1)
    arc_start, arc_end = archive_span(seg_start, seg_end, scheme.segment_size,
                                      scheme.fragment_size)
    pieces = [archive[arc_start:arc_end + 1] for archive in archives]
    decoded = b''
    offset = 0
    while offset < len(pieces[0]):
        fragments = [piece[offset:offset + scheme.fragment_size]
                     for piece in pieces]
        decoded += scheme.decode(fragments)
        offset += scheme.fragment_size
    skip = trim_offset(first, seg_start)
    return decoded[skip:skip + last - first + 1]


@settings(max_examples=40, deadline=None)
@given(body=st.binary(min_size=1, max_size=3 * SEGMENT + 7),
       data=st.data())
def test_any_range_reads_back_from_any_k_archives(body, data):
    archives = archives_of(body)
    first = data.draw(st.integers(0, len(body) - 1))
    last = data.draw(st.integers(first, len(body) + 50))
    keep = data.draw(st.permutations(range(SCHEME.fragments)))[:SCHEME.k]
    chosen = [archives[index] for index in keep]
    assert read_range(chosen, first, last, len(body)) == \
        body[first:last + 1]


def test_archive_length_matches_real_archives():
    for size in (0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 7):
        body = os.urandom(size)
        for archive in archives_of(body):
            assert len(archive) == archive_length(size, SCHEME), size


def test_a_lost_fragment_is_rebuilt_exactly():
    fragments = SCHEME.encode(os.urandom(SEGMENT))
    others = fragments[:2] + fragments[3:5]
    assert SCHEME.reconstruct(others, 2) == fragments[2]


def test_fewer_than_k_fragments_cannot_decode():
    fragments = SCHEME.encode(os.urandom(SEGMENT))
    with pytest.raises(Exception):
        SCHEME.decode(fragments[:SCHEME.k - 1])


def test_duplication_maps_nodes_to_fragments_and_quorum():
    scheme = ECScheme('liberasurecode_rs_vand', 4, 2, SEGMENT, duplication=2)
    assert scheme.node_count == 12
    assert [scheme.fragment_index(node) for node in (0, 5, 6, 11)] == \
        [0, 5, 0, 5]
    assert scheme.write_quorum == 10
    assert SCHEME.write_quorum == 5


def test_ring_must_have_one_node_per_fragment():
    SCHEME.check(6)
    with pytest.raises(ConfigError, match='needs a ring of 6 replicas'):
        SCHEME.check(3)


def test_unavailable_backend_is_refused_with_the_ones_offered():
    scheme = ECScheme('jerasure_rs_vand', 4, 2, SEGMENT)
    with pytest.raises(ConfigError) as caught:
        scheme.check(6)
    message = str(caught.value)
    assert 'jerasure_rs_vand' in message
    assert 'liberasurecode_rs_vand' in message
    assert 'liberasurecode_rs_vand' in available_ec_types()


def test_scheme_from_policy():
    policy = StoragePolicy(2, ('cold',), ERASURE_CODING,
                           ec=ECParams('isa_l_rs_vand', 8, 4, 4096, 1))
    scheme = ECScheme.from_policy(policy)
    assert (scheme.k, scheme.m, scheme.segment_size, scheme.node_count) == \
        (8, 4, 4096, 12)
    assert policy.info()['ec_num_parity_fragments'] == 4
