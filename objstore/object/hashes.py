"""Suffix hashes of a partition: hashes.json, invalidation, quarantine.

A partition's state is summarised per suffix dir (``<hash[-3:]>``): MD5 over
each hash dir name and its kept file names, in sorted order. Two replicas
whose suffix hashes agree hold the same files there, so replicators compare
these (REPLICATE) and sync only differing suffixes. Owns
``<partition>/hashes.json`` and ``<partition>/hashes.invalid``; must not
parse metadata or serve requests.

Invariants:

- Every change to a hash dir is followed by ``invalidate_hash(suffix_dir)``
  (an append of the suffix to hashes.invalid under the partition lock),
  so the next ``get_hashes`` recalculates it; a stale hash is never served.
- ``get_hashes`` folds hashes.invalid into hashes.json under the lock,
  hashes outside it (hashing walks dirs and may be slow), then stores the
  results under the lock again, except for suffixes invalidated meanwhile
  or computed meanwhile by a concurrent caller (replicator and a peer's
  REPLICATE), whose result may be the fresher one.
- hashes.json is replaced atomically (tmp + rename); a missing or corrupt
  one means "recalculate every suffix", never a crash.

hashes.json: ``{"v": 1, "hashes": {"<suffix>": "<md5 hex>" | null}}``,
null meaning "needs recalculating".

Public API (replicator, auditor, diskfile)::

    get_hashes(device_path, partition, recalculate=(), policy_index=0,
               reclaim_age=..., now=None) -> {suffix: md5 hex}
    invalidate_hash(suffix_dir)
    hash_suffix(suffix_dir, reclaim_age, now) -> md5 hex or None (emptied)
    suffix_digest([(hash, kept names)...]) -> md5 hex or None (pure)
    quarantine_hash_dir(device_path, hash_dir, policy_index) -> new path
"""

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import time
import uuid

from objstore.common.exceptions import LockTimeout
from objstore.object import hashdir, ondisk

HASHES_VERSION = 1
LOCK_TIMEOUT = 10.0
# The lock is held for microseconds (an append, a small JSON rewrite), so a
# waiter polls fast at first and backs off only under real contention.
LOCK_POLL_FIRST = 0.0005
LOCK_POLL_MAX = 0.01


@contextlib.contextmanager
def lock_partition(partition_dir, timeout=LOCK_TIMEOUT):
    """Exclusive lock on a partition's hashes files.

    Polls a non-blocking flock so that a green thread waiting for it lets the
    others run (time.sleep is cooperative once the process is monkey patched).
    """
    os.makedirs(partition_dir, exist_ok=True)
    fd = os.open(os.path.join(partition_dir, ondisk.PARTITION_LOCK_FILE),
                 os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        poll = LOCK_POLL_FIRST
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout('lock on %s not taken in %ss'
                                      % (partition_dir, timeout))
                time.sleep(poll)
                poll = min(poll * 2, LOCK_POLL_MAX)
        yield
    finally:
        os.close(fd)


def invalidate_hash(suffix_dir):
    """Mark one suffix of its partition as needing a recalculation."""
    suffix = os.path.basename(suffix_dir.rstrip('/'))
    partition_dir = os.path.dirname(suffix_dir.rstrip('/'))
    with lock_partition(partition_dir):
        with open(os.path.join(partition_dir, ondisk.HASHES_INVALID_FILE),
                  'a', encoding='ascii') as invalid:
            invalid.write(suffix + '\n')


def hash_suffix(suffix_dir, reclaim_age=ondisk.DEFAULT_RECLAIM_AGE,
                now=None):
    """Clean every hash dir of the suffix and hash what remains.

    Returns None, and removes the suffix dir, when nothing remains.
    """
    value = suffix_digest(
        (obj_hash, hashdir.cleanup_ondisk_files(
            os.path.join(suffix_dir, obj_hash), reclaim_age, now).kept)
        for obj_hash in hashdir.list_hash_dirs(suffix_dir))
    if value is None:
        hashdir.remove_dir_if_empty(suffix_dir)
    return value


def suffix_digest(kept_files):
    """The suffix hash of (hash dir name, its kept file names) pairs, in
    sorted hash order; None when no file is kept.

    >>> suffix_digest([('abd', [])]) is None
    True
    """
    digest = hashlib.md5(usedforsecurity=False)
    found = False
    for obj_hash, names in kept_files:
        if not names:
            continue
        found = True
        digest.update(obj_hash.encode('ascii'))
        for name in names:
            digest.update(name.encode('ascii'))
    return digest.hexdigest() if found else None


def _read_hashes(partition_dir):
    """{suffix: hash or None}, or None when hashes.json is unusable."""
    try:
        with open(os.path.join(partition_dir, ondisk.HASHES_FILE),
                  'rb') as stored:
            document = json.loads(stored.read().decode('utf-8'))
    except (FileNotFoundError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(document, dict) or document.get('v') != HASHES_VERSION:
        return None
    hashes = document.get('hashes')
    if not isinstance(hashes, dict):
        return None
    return {s: h for s, h in hashes.items() if ondisk.is_suffix_name(s)}


def _write_hashes(partition_dir, hashes):
    path = os.path.join(partition_dir, ondisk.HASHES_FILE)
    tmp_path = '%s.%s.tmp' % (path, uuid.uuid4().hex)
    with open(tmp_path, 'w', encoding='ascii') as out:
        json.dump({'v': HASHES_VERSION, 'hashes': hashes}, out,
                  sort_keys=True)
    # No fsync: losing hashes.json in a crash only costs a recalculation.
    os.replace(tmp_path, path)


def _consume_invalid(partition_dir):
    path = os.path.join(partition_dir, ondisk.HASHES_INVALID_FILE)
    try:
        with open(path, 'r+', encoding='ascii') as invalid:
            suffixes = {line.strip() for line in invalid if line.strip()}
            invalid.seek(0)
            invalid.truncate()
    except FileNotFoundError:
        return set()
    return {s for s in suffixes if ondisk.is_suffix_name(s)}


def _marked_for_recalculation(partition_dir, recalculate):
    """Under the lock: hashes.json with invalidated suffixes set to None."""
    hashes = _read_hashes(partition_dir)
    invalid = _consume_invalid(partition_dir)
    if hashes is None:
        hashes = {s: None for s in hashdir.list_suffixes(partition_dir)}
    for suffix in invalid | set(recalculate):
        if ondisk.is_suffix_name(suffix):
            hashes[suffix] = None
    _write_hashes(partition_dir, hashes)
    return hashes


def get_hashes(device_path, partition, recalculate=(), policy_index=0,
               reclaim_age=ondisk.DEFAULT_RECLAIM_AGE, now=None):
    """{suffix: md5 hex} for a partition, recalculating stale suffixes.

    ``recalculate`` lists suffixes to rehash even if they look valid (the
    replicator passes those it just synced). Suffixes that turn out empty
    are dropped. A partition that does not exist has no suffixes: {}.
    """
    partition_dir = hashdir.partition_path(device_path, policy_index,
                                           partition)
    if not os.path.isdir(partition_dir):
        return {}
    with lock_partition(partition_dir):
        hashes = _marked_for_recalculation(partition_dir, recalculate)
    computed = {suffix: hash_suffix(os.path.join(partition_dir, suffix),
                                    reclaim_age, now)
                for suffix, value in hashes.items() if value is None}
    with lock_partition(partition_dir):
        current = _read_hashes(partition_dir)
        if current is None:
            current = hashes
        invalidated = _consume_invalid(partition_dir)
        _store_computed(current, computed, invalidated)
        _write_hashes(partition_dir, current)
    # This call's answer: a suffix invalidated while we hashed still
    # exists; report what we saw (the next call rehashes it).
    result = {s: h for s, h in current.items() if h is not None}
    for suffix in invalidated:
        seen = computed.get(suffix) or hashes.get(suffix)
        if seen:
            result[suffix] = seen
    return result


def _store_computed(current, computed, invalidated_meanwhile):
    """Fold freshly computed hashes into hashes.json's ``current`` dict.

    A suffix that another caller computed meanwhile (its value is no longer
    None) keeps that value: ours may predate a change it saw. A suffix
    invalidated meanwhile goes back to None. An emptied suffix is dropped.
    """
    for suffix, value in computed.items():
        if current.get(suffix) is not None:
            continue
        if value is None:
            current.pop(suffix, None)
        else:
            current[suffix] = value
    for suffix in invalidated_meanwhile:
        current[suffix] = None


def quarantine_hash_dir(device_path, hash_dir, policy_index=0):
    """Move a corrupt hash dir to ``<device>/quarantined/objects[-N]/``.

    The replicator restores the object from another replica. Returns the
    new path (uniquified if that hash was quarantined before).
    """
    hash_dir = hash_dir.rstrip('/')
    target_root = os.path.join(device_path, ondisk.QUARANTINED,
                               ondisk.policy_dir(ondisk.OBJECTS,
                                                 policy_index))
    os.makedirs(target_root, exist_ok=True)
    target = os.path.join(target_root, os.path.basename(hash_dir))
    while True:
        try:
            os.rename(hash_dir, target)
            break
        except OSError as err:
            if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            target = os.path.join(target_root, '%s-%s' % (
                os.path.basename(hash_dir), uuid.uuid4().hex))
    invalidate_hash(os.path.dirname(hash_dir))
    return target
