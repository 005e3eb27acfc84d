"""Erasure coding: the one module that talks to liberasurecode (pyeclib).

Owns: checking an ``erasure_coding`` policy against the backends the
installed liberasurecode offers and against its ring (at start-up, with a
message that says what to change), encoding one segment into fragments and
decoding any ``k`` of them back, and the pure maths that maps a client's
byte range onto segments and fragment archives.

The layout, as Swift's: the proxy cuts an object into segments of
``segment_size`` bytes (the last one shorter); each segment is encoded into
``k + m`` fragments (a small header that names the fragment's index, then
the payload); fragment archive ``i``, which node ``i`` stores, is fragment
``i`` of every segment, one after the other. Every fragment of a full
segment has the same length, ``fragment_size``, so segment ``n`` starts at
byte ``n * fragment_size`` of every archive: a client range maps to the
whole segments that cover it, those to one byte range of each archive, and
after decoding the proxy trims the segments to the client's range.

With ``ec_duplication_factor`` ``d`` every fragment is stored on ``d``
nodes: the ring has ``(k + m) * d`` replicas and node ``j`` holds fragment
``j % (k + m)``.
"""

import dataclasses

from pyeclib.ec_iface import (
    ECDriver, ECDriverError, VALID_EC_TYPES)

from objstore.common.exceptions import ConfigError


def available_ec_types():
    """The ec_types the installed liberasurecode can run, sorted."""
    return sorted(VALID_EC_TYPES)


@dataclasses.dataclass(frozen=True)
class ECScheme:
    """One EC policy's coding: ``k`` data and ``m`` parity fragments of
    ``segment_size``-byte segments, each fragment kept ``duplication``
    times."""

    ec_type: str
    k: int
    m: int
    segment_size: int
    duplication: int = 1
    _driver: object = dataclasses.field(default=None, init=False,
                                        repr=False, compare=False)

    @classmethod
    def from_policy(cls, policy):
        ec = policy.ec
        return cls(ec.ec_type, ec.data_fragments, ec.parity_fragments,
                   ec.segment_size, ec.duplication_factor)

    @property
    def driver(self):
        """The pyeclib driver, made on first use (it loads the backend);
        ConfigError when the backend cannot run here."""
        if self._driver is None:
            try:
                driver = ECDriver(k=self.k, m=self.m, ec_type=self.ec_type)
            except ECDriverError as err:
                raise ConfigError(
                    'ec_type %s cannot be used (%s); this machine offers: '
                    '%s' % (self.ec_type, err,
                            ', '.join(available_ec_types())))
            object.__setattr__(self, '_driver', driver)
        return self._driver

    @property
    def fragments(self):
        """Fragments per segment: k + m."""
        return self.k + self.m

    @property
    def node_count(self):
        """Nodes an object's archives go to: the ring's replica count."""
        return self.fragments * self.duplication

    @property
    def write_quorum(self):
        """Archives that must be stored before a PUT is acknowledged:
        ``k + 1`` (or all of them when there is one parity fragment), as
        Swift's default; times the duplication factor."""
        return min(self.k + 1, self.fragments) * self.duplication

    @property
    def fragment_size(self):
        """Bytes of one fragment (header included) of a full segment."""
        return self.fragment_size_of(self.segment_size)

    def fragment_size_of(self, segment_length):
        """Bytes of one fragment of a segment of ``segment_length``."""
        info = self.driver.get_segment_info(segment_length, segment_length)
        return info['fragment_size']

    def fragment_index(self, node_index):
        """The fragment a node at ``node_index`` in the ring stores."""
        return node_index % self.fragments

    def encode(self, segment):
        """The ``k + m`` fragments (header included) of one segment."""
        return self.driver.encode(segment)

    def decode(self, fragments):
        """The segment from at least ``k`` of its fragments, any ones."""
        return self.driver.decode(fragments)

    def reconstruct(self, fragments, missing_index):
        """Fragment ``missing_index`` rebuilt from ``k`` others."""
        return self.driver.reconstruct(fragments, [missing_index])[0]

    def check(self, ring_replicas):
        """ConfigError unless the backend runs here and the ring has one
        node per fragment (times the duplication factor)."""
        if self.ec_type not in VALID_EC_TYPES:
            raise ConfigError(
                'ec_type %s is not available on this machine; it offers: %s'
                % (self.ec_type, ', '.join(available_ec_types())))
        self.fragment_size_of(self.segment_size)
        if ring_replicas != self.node_count:
            raise ConfigError(
                'EC policy %s+%s with duplication %d needs a ring of %d '
                'replicas, not %s' % (self.k, self.m, self.duplication,
                                      self.node_count, ring_replicas))


def segment_span(first, last, segment_size):
    """The bytes ``(start, end)`` (inclusive) of the whole segments that
    hold client bytes ``first`` to ``last``.

    >>> segment_span(0, 0, 100)
    (0, 99)
    >>> segment_span(150, 250, 100)
    (100, 299)
    """
    start = first - first % segment_size
    end = last - last % segment_size + segment_size - 1
    return start, end


def archive_span(segment_start, segment_end, segment_size, fragment_size):
    """The bytes ``(start, end)`` of every fragment archive that hold
    the segments spanning ``segment_start`` to ``segment_end`` (as
    ``segment_span`` gives them).

    Worked example: 1,000-byte segments whose fragments are 284 bytes;
    client bytes 1,500-2,600 lie in segments 1 to 2 (bytes 1,000-2,999),
    which are bytes 284-851 of each archive.

    >>> archive_span(*segment_span(1500, 2600, 1000), 1000, 284)
    (284, 851)
    """
    first_segment = segment_start // segment_size
    last_segment = segment_end // segment_size
    return (first_segment * fragment_size,
            (last_segment + 1) * fragment_size - 1)


def trim_offset(first, segment_start):
    """Bytes to drop from the decoded segments before client byte
    ``first`` (they start at ``segment_start``).

    >>> trim_offset(1500, 1000)
    500
    """
    return first - segment_start


def archive_length(object_size, scheme):
    """The length of each fragment archive of an object of
    ``object_size`` bytes: full segments, then the shorter last one.

    >>> scheme = ECScheme('liberasurecode_rs_vand', 4, 2, 1000)
    >>> archive_length(2500, scheme) == 2 * scheme.fragment_size + len(
    ...     scheme.encode(b'x' * 500)[0])
    True
    >>> archive_length(0, scheme)
    0
    """
    full, rest = divmod(object_size, scheme.segment_size)
    length = full * scheme.fragment_size
    if rest:
        length += scheme.fragment_size_of(rest)
    return length
