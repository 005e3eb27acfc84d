"""The reconstructor's config, and the suffix hashes it compares."""

import os

from objstore.common.daemon import DaemonConf
from objstore.common.timestamp import Timestamp
from objstore.object import hashes, ondisk
from objstore.replicator.reconstructor import ObjectReconstructorConf
from tests.helpers import assert_sample_matches

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                      'object-daemons.conf-sample')


def test_sample_lists_every_option_with_its_default():
    assert_sample_matches(ObjectReconstructorConf, SAMPLE,
                          'object-reconstructor',
                          ignore=tuple(DaemonConf.option_defaults())[:-1])


def test_archives_of_one_object_hash_alike_on_every_node():
    stamp = Timestamp('1700000000.5')

    def digest(frag_index, durable=True):
        return hashes.suffix_digest([('abc', [ondisk.make_fragment_filename(
            stamp, frag_index, durable)])])
    assert digest(0) == digest(5)
    assert digest(0) != digest(0, durable=False)
    assert digest(0) != hashes.suffix_digest(
        [('abc', [ondisk.make_fragment_filename(Timestamp('1700000001'), 0,
                                                True)])])
