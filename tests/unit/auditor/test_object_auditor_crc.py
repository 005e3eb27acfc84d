"""The object auditor's full pass checks bodies by their stored CRC32C,
and by MD5 those written before CRC32Cs were stored.

To tell which check ran, a corrupt body's stored ETag is "fixed up" to
the MD5 of the corrupt bytes (only a CRC32C check catches that), or only
the stored CRC32C is spoilt (only a CRC32C check notices). Real tmp
devices, real xattrs.
"""

import hashlib
import os

from objstore.auditor.object_auditor import FULL
from objstore.object.body_checksum import CRC32C_KEY
from tests.unit.auditor import test_object_auditor
from tests.unit.auditor.test_object_auditor import (
    auditor, data_file, flip_byte, put, quarantined)
from tests.unit.object.test_body_crc import rewrite_metadata

# Two devices under tmp_path: (tmp_path, devices root, DiskFileManager).
node = test_object_auditor.node
BODY = bytes(range(256)) * 1000


def md5_of_file(path):
    with open(path, 'rb') as data:
        return hashlib.md5(data.read()).hexdigest()


def full_pass(tmp_path, devices):
    return auditor(tmp_path, devices).run_once(mode=FULL)


def test_full_pass_finds_what_only_the_crc32c_can_tell(node):
    tmp_path, devices, mgr = node
    good = put(mgr, 'good', BODY)
    fixed_up = put(mgr, 'fixed-up', BODY)
    flip_byte(data_file(fixed_up), 1000)
    rewrite_metadata(data_file(fixed_up),
                     ETag=md5_of_file(data_file(fixed_up)))
    spoilt = put(mgr, 'spoilt', BODY)
    rewrite_metadata(data_file(spoilt), **{CRC32C_KEY: '00000000'})
    stats = full_pass(tmp_path, devices)
    assert stats.get('quarantines') == 2
    assert quarantined(devices) == sorted([fixed_up.hash, spoilt.hash])
    assert os.path.exists(good.hash_dir)


def test_full_pass_checks_objects_without_a_crc32c_by_md5(node):
    tmp_path, devices, mgr = node
    old_good = put(mgr, 'old-good', BODY)
    old_bad = put(mgr, 'old-bad', BODY)
    for df in (old_good, old_bad):
        rewrite_metadata(data_file(df), **{CRC32C_KEY: None})
    flip_byte(data_file(old_bad), 5)
    stats = full_pass(tmp_path, devices)
    assert stats.get('quarantines') == 1
    assert quarantined(devices) == [old_bad.hash]
    assert os.path.exists(old_good.hash_dir)
    old_good.open()
    reader = old_good.reader()
    assert reader.checked_with == 'md5'
    reader.close()
