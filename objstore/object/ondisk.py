"""On-disk names of the object store: directories, file names, which file wins.

Pure functions, no I/O: they take names (and ``now``) and return names or
decisions, so the layout rules are tested without a disk. ``diskfile``,
``hashes``, ``expiring`` and ``asyncpending`` do the file operations.

Layout under one device (DESIGN.md "On disk")::

    <device>/objects[-N]/<partition>/<hash[-3:]>/<hash>/<timestamp>.data
                                                       /<timestamp>.meta
                                                       /<timestamp>.ts
                                                       /<file>.mdjson
    <device>/objects[-N]/<partition>/hashes.json
    <device>/tmp/<hash[0]>/          (temp files of object writes)
    <device>/async_pending[-N]/<hash[-3:]>/<hash>-<timestamp>
    <device>/expiring[-N]/<delete_at>/<hash>
    <device>/quarantined/objects[-N]/<hash>[-<n>]/

``-N`` is the storage policy index, absent for policy 0.

Which files win in one hash dir (``classify_files``): the newest ``.data``
or ``.ts`` is the object's state (a tombstone newer than every data file
means deleted). The newest ``.meta`` newer than the winning ``.data``
carries the current user metadata. Everything else is obsolete: older data
and tombstones, metas older than the data or superseded by a newer meta,
metas when a tombstone wins. A tombstone that wins is kept until
``reclaim_age`` has passed so that replication can still spread the delete
(without it, an old replica would resurrect the object); after that the
whole hash dir is emptied.

A sidecar (``<file>.mdjson``) holds the metadata of ``<file>`` when the
filesystem refused it as xattrs; it lives and dies with its owner. A sidecar
without its owner is obsolete when older than the winner (a crash between
its rename and its owner's rename), else kept: it may belong to a write in
flight, whose owner is renamed right after it.

Erasure-coded hash dirs hold fragment archives instead of whole objects:
``<timestamp>#<frag_index>.data`` while the PUT is in flight (not durable)
and ``<timestamp>#<frag_index>#d.data`` once the proxy's commit phase made
it durable. There the winner is the newest *durable* timestamp or
tombstone: a newer non-durable archive is kept but not served (the write
may still be committed, or reverted by the reconstructor) until it is made
durable or, after ``reclaim_age``, removed; older archives are obsolete.
Every archive of the winning timestamp is kept (a handoff may hold several
fragment indexes); a timestamp is durable once any of its archives is.
Tombstones and .meta follow the replication rules.
"""

from dataclasses import dataclass, field

from objstore.common.exceptions import InvalidTimestamp
from objstore.common.timestamp import Timestamp

DATA_EXT = '.data'
META_EXT = '.meta'
TOMBSTONE_EXT = '.ts'
SIDECAR_SUFFIX = '.mdjson'
# Separates the timestamp, fragment index and durable mark of an EC name.
FRAG_SEPARATOR = '#'
DURABLE_MARK = 'd'
KNOWN_EXTS = (DATA_EXT, META_EXT, TOMBSTONE_EXT)

TMP_DIR = 'tmp'
# An object write's temp file lives in one of these subdirs of tmp/, the
# first hex digit of its hash: the filesystem places each subdir apart,
# which spreads the creations and deletions over the disk (diskfile).
TMP_SUBDIRS = tuple('0123456789abcdef')
OBJECTS = 'objects'
ASYNC_PENDING = 'async_pending'
EXPIRING = 'expiring'
QUARANTINED = 'quarantined'
HASHES_FILE = 'hashes.json'
HASHES_INVALID_FILE = 'hashes.invalid'
PARTITION_LOCK_FILE = '.lock'
SUFFIX_LENGTH = 3

DEFAULT_RECLAIM_AGE = 7 * 24 * 3600


def policy_dir(base, policy_index):
    """``objects``, ``objects-1``, ... for a base name and a policy index.

    >>> policy_dir('objects', 0), policy_dir('async_pending', 2)
    ('objects', 'async_pending-2')
    """
    policy_index = int(policy_index)
    if policy_index < 0:
        raise ValueError('negative storage policy index %d' % policy_index)
    return base if policy_index == 0 else '%s-%d' % (base, policy_index)


def policy_index_of(dir_name, base):
    """The policy index of a ``base[-N]`` directory name, or None.

    >>> policy_index_of('objects-3', 'objects')
    3
    >>> policy_index_of('tmp', 'objects') is None
    True
    """
    if dir_name == base:
        return 0
    prefix = base + '-'
    if dir_name.startswith(prefix) and dir_name[len(prefix):].isdigit():
        return int(dir_name[len(prefix):])
    return None


def suffix_of(obj_hash):
    return obj_hash[-SUFFIX_LENGTH:]


def is_hash_name(name):
    return len(name) == 32 and all(c in '0123456789abcdef' for c in name)


def is_suffix_name(name):
    return len(name) == SUFFIX_LENGTH and all(
        c in '0123456789abcdef' for c in name)


def hash_dir_relpath(policy_index, partition, obj_hash):
    """Path of a hash dir relative to the device root.

    >>> hash_dir_relpath(0, 7, 'd41d8cd98f00b204e9800998ecf8427e')
    'objects/7/27e/d41d8cd98f00b204e9800998ecf8427e'
    """
    return '/'.join((policy_dir(OBJECTS, policy_index), str(int(partition)),
                     suffix_of(obj_hash), obj_hash))


def temp_dir_relpath(obj_hash):
    """The temp dir of a write of ``obj_hash``, relative to the device.

    >>> temp_dir_relpath('d41d8cd98f00b204e9800998ecf8427e')
    'tmp/d'
    """
    return '%s/%s' % (TMP_DIR, obj_hash[0])


def make_filename(timestamp, ext):
    """``<timestamp.internal><ext>``.

    >>> make_filename(Timestamp('1700000000.5'), '.data')
    '1700000000.50000.data'
    """
    if ext not in KNOWN_EXTS:
        raise ValueError('unknown object file extension %r' % ext)
    return Timestamp(timestamp).internal + ext


def make_fragment_filename(timestamp, frag_index, durable):
    """``<timestamp>#<frag_index>[#d].data``, an EC fragment archive.

    >>> make_fragment_filename(Timestamp('1700000000.5'), 3, True)
    '1700000000.50000#3#d.data'
    >>> make_fragment_filename(Timestamp('1700000000.5'), 0, False)
    '1700000000.50000#0.data'
    """
    if int(frag_index) < 0:
        raise ValueError('negative fragment index %r' % frag_index)
    parts = [Timestamp(timestamp).internal, str(int(frag_index))]
    if durable:
        parts.append(DURABLE_MARK)
    return FRAG_SEPARATOR.join(parts) + DATA_EXT


def suffix_hash_name(name):
    """The name a suffix hash takes for ``name``: an EC archive's without
    its fragment index, so that the nodes holding one object's archives
    agree (the reconstructor compares them); others unchanged.

    >>> suffix_hash_name('1700000000.00000#3#d.data')
    '1700000000.00000#d.data'
    >>> suffix_hash_name('1700000000.00000#3.data.mdjson')
    '1700000000.00000.data.mdjson'
    >>> suffix_hash_name('1700000000.00000.ts')
    '1700000000.00000.ts'
    """
    try:
        parsed = parse_filename(name)
    except ValueError:
        return name
    if parsed.frag_index is None:
        return name
    stem = parsed.timestamp.internal
    if parsed.durable:
        stem += FRAG_SEPARATOR + DURABLE_MARK
    return stem + DATA_EXT + (SIDECAR_SUFFIX if parsed.sidecar else '')


def sidecar_name(filename):
    return filename + SIDECAR_SUFFIX


@dataclass(frozen=True, order=True)
class OnDiskName:
    """A parsed file name of a hash dir."""

    timestamp: Timestamp
    ext: str
    name: str
    sidecar: bool = False
    # Set for an EC fragment archive only; a replicated file is durable.
    frag_index: int = None
    durable: bool = True

    @property
    def owner(self):
        """For a sidecar, the name of the file it belongs to."""
        return self.name[:-len(SIDECAR_SUFFIX)] if self.sidecar else self.name


def parse_filename(name):
    """Parse ``<timestamp><ext>[.mdjson]``; ValueError when not ours.

    >>> parse_filename('1700000000.50000.meta.mdjson').ext
    '.meta'
    """
    base = name
    sidecar = name.endswith(SIDECAR_SUFFIX)
    if sidecar:
        base = name[:-len(SIDECAR_SUFFIX)]
    stem, dot, ext = base.rpartition('.')
    ext = dot + ext
    if not stem or ext not in KNOWN_EXTS:
        raise ValueError('not an object file name: %r' % name)
    stem, frag_index, durable = _split_fragment_stem(stem, ext, name)
    try:
        timestamp = Timestamp(stem)
    except InvalidTimestamp:
        raise ValueError('bad timestamp in file name: %r' % name)
    if timestamp.internal != stem:
        raise ValueError('non-canonical timestamp in file name: %r' % name)
    return OnDiskName(timestamp, ext, name, sidecar, frag_index, durable)


def _split_fragment_stem(stem, ext, name):
    """(timestamp text, frag index or None, durable) of a file name stem.

    >>> _split_fragment_stem('1700000000.50000#2#d', '.data', '')
    ('1700000000.50000', 2, True)
    >>> _split_fragment_stem('1700000000.50000', '.ts', '')
    ('1700000000.50000', None, True)
    """
    if FRAG_SEPARATOR not in stem:
        return stem, None, True
    parts = stem.split(FRAG_SEPARATOR)
    durable = len(parts) == 3 and parts[2] == DURABLE_MARK
    if ext != DATA_EXT or len(parts) not in (2, 3) or \
            (len(parts) == 3 and not durable) or not parts[1].isdigit() or \
            str(int(parts[1])) != parts[1]:
        raise ValueError('not a fragment archive name: %r' % name)
    return parts[0], int(parts[1]), durable


@dataclass
class FileSet:
    """The verdict on one hash dir's files (names, not paths).

    ``data``/``meta``/``tombstone`` are the winners (at most one of data and
    tombstone); ``obsolete`` are names to remove; ``unknown`` are names this
    module does not recognise (left alone, reported). In an EC hash dir
    ``fragments`` are the durable archives of the winning timestamp
    (``data`` is the one of the lowest index) and ``nondurable`` the newer
    archives not committed yet: kept, never served.
    """

    data: str = None
    meta: str = None
    tombstone: str = None
    sidecars: dict = field(default_factory=dict)
    obsolete: list = field(default_factory=list)
    unknown: list = field(default_factory=list)
    fragments: list = field(default_factory=list)
    nondurable: list = field(default_factory=list)

    @property
    def owners(self):
        """The kept names that are not sidecars."""
        names = {n for n in (self.data, self.meta, self.tombstone) if n}
        return sorted(names.union(self.fragments, self.nondurable))

    @property
    def kept(self):
        names = self.owners
        return sorted(names + [self.sidecars[n] for n in names
                               if n in self.sidecars])


def classify_files(names, reclaim_age=None, now=None):
    """Sort a hash dir's file names into winners and obsolete ones.

    With ``reclaim_age`` and ``now``, what is older than
    ``now - reclaim_age`` and only waited for time is obsolete too: a
    winning tombstone (the delete is reclaimed), a .meta whose data never
    came, and an orphaned sidecar (its write crashed).

    >>> fs = classify_files(['1700000001.00000.data',
    ...                      '1700000002.00000.meta', '1700000003.00000.ts'])
    >>> fs.tombstone, sorted(fs.obsolete)
    ('1700000003.00000.ts', ['1700000001.00000.data', '1700000002.00000.meta'])
    """
    parsed, result = _parse_all(names)
    if len(parsed) == 1 and parsed[0].ext == DATA_EXT and \
            not parsed[0].sidecar and parsed[0].frag_index is None:
        # Most hash dirs hold one replicated .data, and every GET, HEAD
        # and overwrite asks about it: it wins alone, as the rules below
        # would find at more than twice the cost.
        result.data = parsed[0].name
        return result
    owners = sorted((p for p in parsed if not p.sidecar), reverse=True)
    if any(p.frag_index is not None for p in owners):
        winner = _pick_ec_winners(owners, result)
    else:
        winner = next((p for p in owners if p.ext != META_EXT), None)
        _pick_winners(owners, winner, result)
    cutoff = (now - reclaim_age
              if reclaim_age is not None and now is not None else None)
    if cutoff is not None:
        _reclaim_old(result, cutoff)
    _assign_sidecars(parsed, winner, result, cutoff)
    return result


def _reclaim_old(result, cutoff):
    for name in list(result.nondurable):
        if float(parse_filename(name).timestamp) < cutoff:
            # A PUT never committed within reclaim_age will never be.
            result.nondurable.remove(name)
            result.obsolete.append(name)
    for attr in ('tombstone', 'meta'):
        name = getattr(result, attr)
        lone = attr == 'tombstone' or result.data is None
        if name and lone and float(parse_filename(name).timestamp) < cutoff:
            result.obsolete.append(name)
            setattr(result, attr, None)


def _parse_all(names):
    result = FileSet()
    parsed = []
    for name in names:
        try:
            parsed.append(parse_filename(name))
        except ValueError:
            result.unknown.append(name)
    return parsed, result


def _pick_winners(owners, winner, result):
    for entry in owners:
        if entry is winner:
            if entry.ext == DATA_EXT:
                result.data = entry.name
            else:
                result.tombstone = entry.name
        elif (entry.ext == META_EXT and winner is not None
              and winner.ext == DATA_EXT and result.meta is None
              and entry.timestamp > winner.timestamp):
            result.meta = entry.name
        elif entry.ext == META_EXT and winner is None and result.meta is None:
            # A .meta with no data at all (e.g. the data was not replicated
            # yet): keep it, the data may arrive and it will apply then.
            result.meta = entry.name
        else:
            result.obsolete.append(entry.name)


def _pick_ec_winners(owners, result):
    """The EC rules (module docstring) over ``owners``, newest first;
    returns the winner (a durable archive or a tombstone) or None."""
    durable = {p.timestamp for p in owners if p.ext == DATA_EXT and p.durable}
    winner = next((p for p in owners if p.ext == TOMBSTONE_EXT or (
        p.ext == DATA_EXT and p.timestamp in durable)), None)
    rest, fragments = [], []
    for entry in owners:
        if entry.ext != DATA_EXT:
            rest.append(entry)
        elif winner is None or entry.timestamp > winner.timestamp:
            result.nondurable.append(entry.name)
        elif winner.ext == DATA_EXT and entry.timestamp == winner.timestamp:
            fragments.append(entry)
        else:
            result.obsolete.append(entry.name)
    fragments.sort(key=lambda p: p.frag_index)
    result.fragments = [p.name for p in fragments]
    if fragments:
        winner = fragments[0]
        result.data = winner.name
    _pick_winners([p for p in rest if p is not winner], winner, result)
    if winner is not None and winner.ext == TOMBSTONE_EXT:
        result.tombstone = winner.name
    return winner


def _assign_sidecars(parsed, winner, result, cutoff):
    kept = set(result.owners)
    for entry in parsed:
        if not entry.sidecar:
            continue
        if entry.owner in kept:
            result.sidecars[entry.owner] = entry.name
        elif entry.owner in result.obsolete:
            result.obsolete.append(entry.name)
        elif winner is not None and entry.timestamp <= winner.timestamp:
            result.obsolete.append(entry.name)
        elif cutoff is not None and float(entry.timestamp) < cutoff:
            result.obsolete.append(entry.name)
        # else: an orphan newer than the winner, maybe a write in flight.


def quarantine_names(names, bad):
    """The files of a hash dir to quarantine along with the corrupt ``bad``.

    ``bad`` and its sidecar; for a data file also every older file (what it
    superseded: left behind, an older version would be served as current).
    Newer files stay: they are later writes, not this file's damage.

    >>> for name in quarantine_names(
    ...         ['1700000001.00000.data', '1700000001.00000.data.mdjson',
    ...          '1700000000.00000.ts', '1700000002.00000.meta'],
    ...         '1700000001.00000.data'):
    ...     print(name)
    1700000001.00000.data
    1700000001.00000.data.mdjson
    1700000000.00000.ts
    """
    bad_entry = parse_filename(bad)
    chosen = [bad, sidecar_name(bad)]
    if bad_entry.ext == DATA_EXT:
        for name in sorted(names):
            try:
                entry = parse_filename(name)
            except ValueError:
                continue
            if entry.timestamp < bad_entry.timestamp:
                chosen.append(name)
    return [name for name in chosen if name in names]


def newest_timestamp(file_set):
    """The newest timestamp among the winners (meta included), or None."""
    stamps = [parse_filename(n).timestamp for n in
              (file_set.data, file_set.meta, file_set.tombstone) if n]
    return max(stamps) if stamps else None


def async_pending_name(obj_hash, timestamp):
    """``<hash>-<timestamp.internal>``, the file name of an async pending."""
    return '%s-%s' % (obj_hash, Timestamp(timestamp).internal)


def parse_async_pending_name(name):
    """(hash, Timestamp) of an async pending file name; ValueError if not."""
    obj_hash, sep, stamp = name.partition('-')
    if not sep or not is_hash_name(obj_hash):
        raise ValueError('not an async pending name: %r' % name)
    try:
        return obj_hash, Timestamp(stamp)
    except InvalidTimestamp:
        raise ValueError('not an async pending name: %r' % name)
