"""Suffix hashes of a partition: hashes.json, invalidation, quarantine.

A partition's state is summarised per suffix dir (``<hash[-3:]>``): MD5 over
each hash dir name and its kept file names, in sorted order. Two replicas
whose suffix hashes agree hold the same files there, so replicators compare
these (REPLICATE) and sync only differing suffixes. Owns
``<partition>/hashes.json`` and ``<partition>/hashes.invalid``; must not
parse metadata or serve requests.

Invariants:

- Every change to a hash dir is followed by ``invalidate_hash(suffix_dir)``
  (an append of the suffix to hashes.invalid under that file's lock),
  so the next ``get_hashes`` recalculates it; a stale hash is never served.
- ``get_hashes`` folds hashes.invalid into hashes.json under the lock,
  hashes outside it (hashing walks dirs and may be slow), then stores the
  results under the lock again. Every invalidation gives the suffix a new
  random token; a result is stored only if the suffix's token is still the
  one seen when hashing began. So when the replicator and a peer's
  REPLICATE hash at once around a write, the one that hashed before the
  write can never store its stale hash over the write (whichever of them
  took the invalidation from hashes.invalid).
- hashes.json is replaced atomically (tmp + rename); a missing or corrupt
  one means "recalculate every suffix", never a crash.

hashes.json: ``{"v": 2, "hashes": {"<suffix>": "<md5 hex>" | null},
"tokens": {"<suffix>": "<token>"}}``, null meaning "needs recalculating".
A version 1 file (no tokens) is unusable and rebuilt: one recalculation.

Public API (replicator, auditor, diskfile)::

    get_hashes(device_path, partition, recalculate=(), policy_index=0,
               reclaim_age=..., now=None) -> {suffix: md5 hex}
    invalidate_hash(suffix_dir)
    hash_suffix(suffix_dir, reclaim_age, now) -> md5 hex or None (emptied)
    suffix_digest([(hash, kept names)...]) -> md5 hex or None (pure)
    quarantine_files(device_path, hash_dir, names, policy_index) -> new path
"""

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import time
import uuid

from objstore.common.exceptions import LockTimeout
from objstore.object import hashdir, ondisk

HASHES_VERSION = 2
LOCK_TIMEOUT = 10.0
# The lock is held for microseconds (an append, a small JSON rewrite), so a
# waiter polls fast at first and backs off only under real contention.
LOCK_POLL_FIRST = 0.0005
LOCK_POLL_MAX = 0.01


@contextlib.contextmanager
def lock_partition(partition_dir, timeout=LOCK_TIMEOUT):
    """Exclusive lock on a partition's hashes files."""
    fd = _open_lock_file(partition_dir)
    try:
        _lock(fd, partition_dir, timeout)
        yield
    finally:
        os.close(fd)


def _lock(fd, what, timeout=LOCK_TIMEOUT):
    """Take an exclusive flock on ``fd``, released by its close.

    Polls a non-blocking flock so that a green thread waiting for it lets
    the others run (time.sleep is cooperative once the process is monkey
    patched).
    """
    deadline = None
    poll = LOCK_POLL_FIRST
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            now = time.monotonic()
            if deadline is None:
                deadline = now + timeout
            elif now >= deadline:
                raise LockTimeout('lock on %s not taken in %ss'
                                  % (what, timeout))
            time.sleep(poll)
            poll = min(poll * 2, LOCK_POLL_MAX)


def _open_lock_file(partition_dir):
    """The partition's lock file, open; the partition dir is made only
    when missing: every write locks a partition that its own file is in,
    and a makedirs first would cost three syscalls each time."""
    path = os.path.join(partition_dir, ondisk.PARTITION_LOCK_FILE)
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    except FileNotFoundError:
        os.makedirs(partition_dir, exist_ok=True)
        return os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)


def invalidate_hash(suffix_dir):
    """Mark one suffix of its partition as needing a recalculation.

    Locks hashes.invalid itself, not the partition: ``_consume_invalid``
    (under the partition lock) takes this lock too around its read and
    truncate, so an append never falls between them and is lost; and one
    open, flock, write and close (which drops the lock) cost two syscalls
    less than a second file for the lock would. An O_APPEND write, where a
    buffered text file would add a stat, three seeks and an ioctl.
    """
    suffix = os.path.basename(suffix_dir.rstrip('/'))
    partition_dir = os.path.dirname(suffix_dir.rstrip('/'))
    fd = _open_invalid_file(partition_dir)
    try:
        _lock(fd, partition_dir)
        os.write(fd, suffix.encode('ascii') + b'\n')
    finally:
        os.close(fd)


def _open_invalid_file(partition_dir):
    """hashes.invalid open for appending; the partition dir is made only
    when missing (as ``_open_lock_file``)."""
    path = os.path.join(partition_dir, ondisk.HASHES_INVALID_FILE)
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    try:
        return os.open(path, flags, 0o644)
    except FileNotFoundError:
        os.makedirs(partition_dir, exist_ok=True)
        return os.open(path, flags, 0o644)


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
            digest.update(ondisk.suffix_hash_name(name).encode('ascii'))
    return digest.hexdigest() if found else None


@dataclasses.dataclass
class SuffixCache:
    """hashes.json in memory.

    ``hashes``: suffix -> md5 hex, or None when it needs recalculating.
    ``tokens``: suffix -> a random token replaced at every invalidation,
    so a computation can tell whether the suffix was invalidated after it
    started (a counter could repeat after hashes.json is rebuilt; a token
    cannot).
    """

    hashes: dict
    tokens: dict

    def invalidate(self, suffix):
        self.hashes[suffix] = None
        self.tokens[suffix] = uuid.uuid4().hex

    def stale(self):
        """{suffix: token} of the suffixes to recalculate."""
        return {s: self.tokens.get(s) for s, value in self.hashes.items()
                if value is None}

    def store(self, computed, started):
        """Keep the hashes computed since ``started`` ({suffix: token}).

        A suffix whose token changed was invalidated after our hashing
        began, maybe by a write we did not see: our value is dropped and it
        stays None. Emptied suffixes (None) are dropped from the cache.
        """
        for suffix, value in computed.items():
            token = started.get(suffix)
            if token is None or self.tokens.get(suffix) != token:
                continue
            if value is None:
                self.hashes.pop(suffix, None)
                self.tokens.pop(suffix, None)
            else:
                self.hashes[suffix] = value


def _read_cache(partition_dir):
    """The SuffixCache of hashes.json, or None when it is unusable."""
    try:
        with open(os.path.join(partition_dir, ondisk.HASHES_FILE),
                  'rb') as stored:
            document = json.loads(stored.read().decode('utf-8'))
    except (FileNotFoundError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(document, dict) or document.get('v') != HASHES_VERSION:
        return None
    hashes, tokens = document.get('hashes'), document.get('tokens')
    if not isinstance(hashes, dict) or not isinstance(tokens, dict):
        return None
    hashes = {s: h for s, h in hashes.items() if ondisk.is_suffix_name(s)}
    return SuffixCache(hashes,
                       {s: t for s, t in tokens.items() if s in hashes})


def _write_cache(partition_dir, cache):
    path = os.path.join(partition_dir, ondisk.HASHES_FILE)
    tmp_path = '%s.%s.tmp' % (path, uuid.uuid4().hex)
    with open(tmp_path, 'w', encoding='ascii') as out:
        json.dump({'v': HASHES_VERSION, 'hashes': cache.hashes,
                   'tokens': cache.tokens}, out, sort_keys=True)
    # No fsync: losing hashes.json in a crash only costs a recalculation.
    os.replace(tmp_path, path)


def _consume_invalid(partition_dir):
    """Under the partition lock: the suffixes hashes.invalid names, and
    the file emptied, under its own lock too (see invalidate_hash)."""
    path = os.path.join(partition_dir, ondisk.HASHES_INVALID_FILE)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return set()
    try:
        _lock(fd, partition_dir)
        text = _read_all(fd).decode('ascii', 'replace')
        os.ftruncate(fd, 0)
    finally:
        os.close(fd)
    return {s for s in (line.strip() for line in text.splitlines())
            if ondisk.is_suffix_name(s)}


def _read_all(fd):
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b''.join(chunks)
        chunks.append(chunk)


def _load_invalidated(partition_dir, recalculate=()):
    """Under the lock: the cache with every pending invalidation applied.

    An unusable hashes.json is rebuilt with every suffix invalidated, so
    no computation that started before the rebuild can store its result.
    """
    cache = _read_cache(partition_dir)
    stale = _consume_invalid(partition_dir) | set(recalculate)
    if cache is None:
        cache = SuffixCache({}, {})
        stale |= set(hashdir.list_suffixes(partition_dir))
    for suffix in stale:
        if ondisk.is_suffix_name(suffix):
            cache.invalidate(suffix)
    return cache


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
        cache = _load_invalidated(partition_dir, recalculate)
        started = cache.stale()
        if started:
            _write_cache(partition_dir, cache)
    if not started:
        # Nothing changed: an unchanged partition costs two small reads.
        return dict(cache.hashes)
    computed = {suffix: hash_suffix(os.path.join(partition_dir, suffix),
                                    reclaim_age, now)
                for suffix in started}
    with lock_partition(partition_dir):
        cache = _load_invalidated(partition_dir)
        cache.store(computed, started)
        _write_cache(partition_dir, cache)
    # This call's answer: a suffix invalidated while we hashed still
    # exists; report what we saw (the next call rehashes it).
    result = {s: h for s, h in cache.hashes.items() if h is not None}
    for suffix, value in computed.items():
        if value is not None and cache.hashes.get(suffix) is None:
            result[suffix] = value
    return result


def quarantine_files(device_path, hash_dir, names, policy_index=0):
    """Move ``names`` of a hash dir to a new dir in
    ``<device>/quarantined/objects[-N]/`` (``<hash>``, or ``<hash>-<uuid>``
    when that hash was quarantined before); return its path.

    Only the named files go: newer files beside them are other writes'.
    A file gone meanwhile (a newer write removed it) is skipped. The hash
    dir is removed when emptied and the suffix invalidated, so the
    replicator restores the object from another replica.
    """
    hash_dir = hash_dir.rstrip('/')
    target = _new_quarantine_dir(device_path, os.path.basename(hash_dir),
                                 policy_index)
    for name in names:
        try:
            os.rename(os.path.join(hash_dir, name),
                      os.path.join(target, name))
        except FileNotFoundError:
            continue
    hashdir.remove_dir_if_empty(hash_dir)
    invalidate_hash(os.path.dirname(hash_dir))
    return target


def _new_quarantine_dir(device_path, obj_hash, policy_index):
    root = os.path.join(device_path, ondisk.QUARANTINED,
                        ondisk.policy_dir(ondisk.OBJECTS, policy_index))
    os.makedirs(root, exist_ok=True)
    target = os.path.join(root, obj_hash)
    while True:
        try:
            os.mkdir(target)
            return target
        except FileExistsError:
            target = os.path.join(root, '%s-%s' % (obj_hash, uuid.uuid4().hex))
