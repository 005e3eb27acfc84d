"""How two versions of one object row merge, and how a row is listed (pure).

An object row carries three timestamps, as in Swift: the *data* one (the
PUT or DELETE that set ``size``, ``etag``, ``deleted`` and the policy),
the *content-type* one (the PUT or POST that set ``content_type``) and the
*metadata* one (the newest PUT or POST; the listing's ``last_modified``).
They are stored together in ``created_at``, Swift's encoding: the data
timestamp, then the hex deltas (in 1e-5 s) of the other two when they
differ, ``1700000000.00000+64+0``. A row whose three timestamps are equal
is just its data timestamp, so rows written before the other two existed
merge unchanged, and the string still starts with the data timestamp
(reclaim compares it as text). An update may also name the other two
apart (``ctype_timestamp``, ``meta_timestamp``: the object server's POST).

Merging takes each field from the row with the newest of its timestamp, so
updates arriving in any order (a PUT's after a newer POST's, replication)
end with the same row.

An SLO manifest's content type holds ``swift_bytes=<total>``: the row's
``size`` is what the manifest takes on disk (the container's bytes used),
the listing shows the total. ``swift_bytes`` belongs to the data (it is
the manifest's), not to the content type a POST may change.

Must not: do I/O or know SQL (backend.py stores the rows).
"""

from objstore.common.swift_bytes import split_swift_bytes, with_swift_bytes
from objstore.common.timestamp import Timestamp

DATA_FIELDS = ('size', 'etag', 'deleted', 'storage_policy_index')


def _shifted(base, delta):
    """``base`` moved by ``delta`` ticks (1e-5 s), without its offset."""
    return Timestamp('%d.%05d' % divmod(base.ticks + delta, 100000))


def encode_timestamps(data, ctype, meta):
    """The ``created_at`` text of three Timestamps.

    >>> encode_timestamps(Timestamp(1), Timestamp(1), Timestamp(1))
    '0000000001.00000'
    >>> encode_timestamps(Timestamp(1), Timestamp(2), Timestamp(2))
    '0000000001.00000+186a0+0'
    """
    if data == ctype == meta:
        return data.internal
    return '%s%+x%+x' % (data.internal, ctype.ticks - data.ticks,
                         meta.ticks - ctype.ticks)


def decode_timestamps(created_at):
    """(data, content-type, metadata) Timestamps of a ``created_at``.

    >>> [t.normal for t in decode_timestamps('0000000002.00000-186a0+30d40')]
    ['0000000002.00000', '0000000001.00000', '0000000003.00000']
    """
    if not isinstance(created_at, str) or (
            '+' not in created_at and '-' not in created_at):
        data = Timestamp(created_at)
        return data, data, data
    parts, signs = [], []
    for positive in created_at.split('+'):
        pieces = positive.split('-')
        parts.extend(pieces)
        signs.extend([1] + [-1] * (len(pieces) - 1))
    data = ctype = meta = Timestamp(parts[0])
    if len(parts) > 1 and int(parts[1], 16):
        ctype = meta = _shifted(data, signs[1] * int(parts[1], 16))
    if len(parts) > 2 and int(parts[2], 16):
        meta = _shifted(ctype, signs[2] * int(parts[2], 16))
    return data, ctype, meta


def row_timestamps(row):
    """(data, content-type, metadata) of an update or a stored row: the
    ``created_at`` encoding, overridden by explicit ``ctype_timestamp``
    and ``meta_timestamp`` items."""
    data, ctype, meta = decode_timestamps(row['created_at'])
    if row.get('ctype_timestamp'):
        ctype = meta = Timestamp(row['ctype_timestamp'])
    if row.get('meta_timestamp'):
        meta = Timestamp(row['meta_timestamp'])
    return data, ctype, meta


def data_wins(incoming, existing, incoming_data, existing_data,
              container_policy):
    """True if ``incoming``'s data fields replace ``existing``'s.

    Newer wins. At the same timestamp, a row in the container's policy
    replaces a misplaced one: that is how the reconciler's move lands on
    every replica without a newer timestamp (which would beat a genuinely
    newer write).
    """
    if incoming_data != existing_data:
        return incoming_data > existing_data
    incoming_policy = int(incoming.get('storage_policy_index') or 0)
    existing_policy = int(existing.get('storage_policy_index') or 0)
    return (incoming_policy == container_policy and
            existing_policy != container_policy)


def merge_rows(incoming, existing, container_policy):
    """The row dict (the stored columns) that an update ``incoming`` and
    a row ``existing`` (stored or merged; None if there is none) merge
    into.

    >>> put = {'name': 'o', 'created_at': '1', 'size': 5, 'etag': 'e',
    ...        'content_type': 'a/b', 'deleted': 0}
    >>> post = dict(put, created_at='1', ctype_timestamp='3',
    ...             meta_timestamp='3', content_type='c/d')
    >>> older_put = dict(put, created_at='0.5')
    >>> stored = merge_rows(put, None, 0)
    >>> row = merge_rows(older_put, merge_rows(post, stored, 0), 0)
    >>> row['content_type'], row['created_at']
    ('c/d', '0000000001.00000+30d40+0')
    """
    data, ctype, meta = row_timestamps(incoming)
    merged = {'name': incoming['name'],
              'deleted': 1 if incoming.get('deleted') else 0,
              'size': 0 if incoming.get('deleted') else int(
                  incoming.get('size') or 0),
              'etag': incoming.get('etag') or '',
              'storage_policy_index': int(
                  incoming.get('storage_policy_index') or 0)}
    content_type, swift_bytes = split_swift_bytes(
        incoming.get('content_type'))
    if existing is not None:
        old_data, old_ctype, old_meta = row_timestamps(existing)
        old_type, old_swift_bytes = split_swift_bytes(
            existing['content_type'])
        if not data_wins(incoming, existing, data, old_data,
                         container_policy):
            merged.update((key, existing[key]) for key in DATA_FIELDS)
            data, swift_bytes = old_data, old_swift_bytes
        if old_ctype >= ctype:
            content_type, ctype = old_type, old_ctype
        meta = max(meta, old_meta)
    merged['content_type'] = with_swift_bytes(content_type, swift_bytes)
    merged['created_at'] = encode_timestamps(data, ctype, max(meta, ctype))
    return merged


def listed_values(name, created_at, size, content_type, etag):
    """(name, last modified, size, content type, etag) a listing shows of
    a stored row: the metadata timestamp, an SLO's total size.

    >>> listed_values('m', '0000000001.00000+0+186a0', 300,
    ...               'a/b;swift_bytes=9000', 'e')
    ('m', '0000000002.00000', 9000, 'a/b', 'e')
    """
    _data, _ctype, meta = decode_timestamps(created_at)
    content_type, swift_bytes = split_swift_bytes(content_type)
    if swift_bytes is not None and swift_bytes.isdigit():
        size = int(swift_bytes)
    return name, meta.internal, size, content_type, etag
