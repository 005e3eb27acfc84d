"""slo_manifest: the static large object manifest, as data.

Owns the two manifest shapes and the moves between them, all pure (no
I/O, no HTTP objects):

- the client's (``PUT ?multipart-manifest=put``, ``GET ?multipart-manifest
  =get&format=raw``): ``[{"path": "/c/o", "etag": ..., "size_bytes": ...,
  "range": "a-b"} | {"data": "<base64>"}]``, checked by
  ``parse_manifest_input`` with Swift's error lines (``Index 3: ...``);
- the stored one (Swift's format, which S3 multipart uploads share):
  ``[{"name": "/c/o", "bytes": n, "hash": etag, "content_type": ...,
  "last_modified": ..., ["range": "a-b"], ["sub_slo": true]} | {"data":
  ...}]``.

Also the SLO's ETag (MD5 of its segments' ETags) and the sysmeta names the
manifest object keeps. The result bodies of manifest PUT (heartbeat) and
DELETE are Swift's bulk format: ``bulk.report_body``.
"""

import base64
import binascii
import hashlib
import json

from objstore.common.config import config_true_value
from objstore.common.constraints import CONTENT_TYPE_OVERRIDDEN
from objstore.common.exceptions import BadRange, RangeUnsatisfiable
from objstore.common.ranges import parse_range_header, resolve_ranges
from objstore.common.swift_bytes import with_swift_bytes
from objstore.middleware.segments import Segment

# Swift's names: S3 multipart uploads and other middlewares read them.
SYSMETA_SLO_ETAG = 'X-Object-Sysmeta-Slo-Etag'
SYSMETA_SLO_SIZE = 'X-Object-Sysmeta-Slo-Size'
SLO_HEADER = 'X-Static-Large-Object'
OVERRIDE_ETAG = 'X-Object-Sysmeta-Container-Update-Override-Etag'

# Segment kind -> the optional keys it may have.
SEGMENT_KEYS = {'data': set(), 'path': {'range', 'etag', 'size_bytes'}}
LAST_MODIFIED_FORMAT = '%Y-%m-%dT%H:%M:%S.%f'
# Result bodies' formats, in the order a missing Accept prefers them.
RESULT_FORMATS = ('text/plain', 'application/json', 'application/xml',
                  'text/xml')


class ManifestInvalid(Exception):
    """A manifest a client sent cannot be stored; ``str`` is the body."""

    def __init__(self, body, plain=True):
        super().__init__(body)
        self.plain = plain


def decode_data(value):
    """Bytes of an inline ``data`` segment; ValueError unless base64.

    >>> decode_data('aGk='), decode_data('aGk')
    (b'hi', b'hi')
    """
    if not isinstance(value, str):
        raise ValueError('not a string')
    text = value.strip()
    text += '=' * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError('not base64')


def _single_range(text, size):
    """(start, stop) of a manifest ``range`` for a ``size``-byte object;
    ValueError if it is not one range, RangeUnsatisfiable if it misses.

    >>> _single_range('5-', 10), _single_range('-3', 10)
    ((5, 10), (7, 10))
    """
    pairs = parse_range_header('bytes=%s' % text)
    if len(pairs) != 1:
        raise ValueError('multiple ranges')
    return resolve_ranges(pairs, size)[0]


def _check_path_segment(index, seg, last_index, own_path):
    """The error line of one object segment, or None."""
    if not isinstance(seg['path'], str):
        return 'Index %d: "path" must be a string' % index
    if not (seg.get('etag') is None or isinstance(seg['etag'], str)):
        return 'Index %d: "etag" must be a string or null (if provided)' \
            % index
    if '/' not in seg['path'].strip('/'):
        return ('Index %d: path does not refer to an object. Path must be '
                'of the form /container/object.' % index)
    size = seg.get('size_bytes')
    if size is not None:
        try:
            size = seg['size_bytes'] = int(size)
        except (TypeError, ValueError):
            return 'Index %d: invalid size_bytes' % index
        if size < 1 and index != last_index:
            return ('Index %d: too small; each segment must be at least 1 '
                    'byte.' % index)
    if '/' + seg['path'].lstrip('/') == own_path:
        return 'Index %d: manifest must not include itself as a segment' \
            % index
    if seg.get('range'):
        return _check_range(index, seg['range'], size)
    return None


def _check_range(index, text, size):
    try:
        pairs = parse_range_header('bytes=%s' % text)
    except (BadRange, TypeError, AttributeError):
        return 'Index %d: invalid range' % index
    if len(pairs) > 1:
        return 'Index %d: multiple ranges (only one allowed)' % index
    if size is not None:
        try:
            resolve_ranges(pairs, size)
        except RangeUnsatisfiable:
            return 'Index %d: unsatisfiable range' % index
    return None


def _check_segment(index, seg, last_index, own_path):
    if not isinstance(seg, dict):
        return 'Index %d: not a JSON object' % index
    kind = next((key for key in SEGMENT_KEYS if key in seg), None)
    if kind is None:
        return "Index %d: expected keys to include one of 'data' or " \
            "'path'" % index
    extra = sorted(key for key in seg
                   if key not in SEGMENT_KEYS[kind] | {kind})
    if extra:
        return 'Index %d: extraneous keys %s' % (
            index, ', '.join(json.dumps(key) for key in extra))
    if kind == 'path':
        return _check_path_segment(index, seg, last_index, own_path)
    try:
        data = decode_data(seg['data'])
    except ValueError:
        return 'Index %d: data must be valid base64' % index
    if not data:
        return 'Index %d: too small; each segment must be at least 1 byte.' \
            % index
    seg['data'] = base64.b64encode(data).decode('ascii')
    return None


def parse_manifest_input(body, own_path):
    """The segments of a client's manifest, checked; ManifestInvalid with
    Swift's body (every bad segment's line) otherwise. ``own_path`` is the
    manifest's ``/container/object`` (it may not name itself).

    >>> parse_manifest_input(b'[{"path": "c/o", "size_bytes": "3"}]', '/c/m')
    [{'path': 'c/o', 'size_bytes': 3}]
    >>> parse_manifest_input(b'[{"path": "c"}, 7, {"x": 1}]', '/c/m')
    Traceback (most recent call last):
    ...
    objstore.middleware.slo_manifest.ManifestInvalid: Index 0: path does \
not refer to an object. Path must be of the form /container/object.
    Index 1: not a JSON object
    Index 2: expected keys to include one of 'data' or 'path'
    <BLANKLINE>
    """
    try:
        segments = json.loads(body)
    except ValueError:
        raise ManifestInvalid('Manifest must be valid JSON.\n', plain=False)
    if not isinstance(segments, list):
        raise ManifestInvalid('Manifest must be a list.\n', plain=False)
    errors = [_check_segment(index, seg, len(segments) - 1, own_path)
              for index, seg in enumerate(segments)]
    errors = [line for line in errors if line]
    if segments and all(isinstance(seg, dict) and 'data' in seg
                        for seg in segments):
        errors.append('Inline data segments require at least one '
                      'object-backed segment.')
    if errors:
        raise ManifestInvalid(''.join(line + '\n' for line in errors))
    return segments


def stored_entry(seg, head):
    """The stored form of object segment ``seg`` and its problems.

    ``head`` is what a HEAD of the segment told: a dict with ``status``
    (int), ``status_line``, ``length``, ``etag``, ``content_type``,
    ``last_modified`` (datetime) and ``is_slo``. Returns (entry, length
    it contributes, [problem texts]).
    """
    if head['status'] // 100 != 2:
        return None, 0, [head['status_line']]
    problems = []
    length = head['length']
    entry = {'name': '/' + seg['path'].lstrip('/'), 'bytes': length,
             'hash': head['etag'], 'content_type': head['content_type'],
             'last_modified': head['last_modified'].strftime(
                 LAST_MODIFIED_FORMAT)}
    if seg.get('range'):
        try:
            start, stop = _single_range(seg['range'], length)
        except (RangeUnsatisfiable, BadRange, ValueError):
            problems.append('Unsatisfiable Range')
        else:
            if (start, stop) != (0, length):
                entry['range'] = '%d-%d' % (start, stop - 1)
                length = stop - start
    if head['is_slo']:
        entry['sub_slo'] = True
    return entry, length, problems


def segment_problems(seg, head, length, allow_empty):
    """Swift's checks of an object segment against its HEAD."""
    problems = []
    if length < 1 and not allow_empty:
        problems.append('Too small; each segment must be at least 1 byte.')
    if seg.get('size_bytes') is not None and \
            seg['size_bytes'] != head['length']:
        problems.append('Size Mismatch')
    if seg.get('etag') is not None and seg['etag'] != head['etag']:
        problems.append('Etag Mismatch')
    return problems


def entry_etag_part(entry):
    """What one stored entry adds to the SLO's ETag (Swift's recipe).

    >>> entry_etag_part({'hash': 'abc', 'range': '0-9'})
    'abc:0-9;'
    """
    if 'data' in entry:
        return hashlib.md5(decode_data(entry['data']),
                           usedforsecurity=False).hexdigest()
    if entry.get('range'):
        return '%s:%s;' % (entry['hash'], entry['range'])
    return entry['hash']


def slo_etag(entries):
    """The SLO's ETag: MD5 of its segments' parts, concatenated.

    >>> slo_etag([{'hash': 'a'}, {'hash': 'b'}]) == \\
    ...     hashlib.md5(b'ab').hexdigest()
    True
    """
    digest = hashlib.md5(usedforsecurity=False)
    for entry in entries:
        digest.update(entry_etag_part(entry).encode('ascii'))
    return digest.hexdigest()


def entry_length(entry):
    """Bytes a stored entry contributes to the large object.

    >>> entry_length({'bytes': 10, 'range': '2-4'}), entry_length(
    ...     {'data': 'aGk='})
    (3, 2)
    """
    if 'data' in entry:
        return len(decode_data(entry['data']))
    if entry.get('range'):
        first, last = entry['range'].split('-')
        return int(last) - int(first) + 1
    return int(entry['bytes'])


def to_segment(entry, version, account):
    """The ``segments.Segment`` of a stored entry."""
    if 'data' in entry:
        data = decode_data(entry['data'])
        return Segment(len(data), data=data)
    offset = int(entry['range'].split('-')[0]) if entry.get('range') else 0
    return Segment(entry_length(entry),
                   path='/%s/%s/%s' % (version, account,
                                       entry['name'].lstrip('/')),
                   offset=offset, etag=entry.get('hash'),
                   size=int(entry['bytes']),
                   sub_slo=config_true_value(entry.get('sub_slo')))


def raw_manifest(entries):
    """The stored manifest as a client could PUT it again (format=raw).

    >>> raw_manifest([{'name': '/c/o', 'bytes': 3, 'hash': 'h',
    ...                'content_type': 'x', 'last_modified': 't'}])
    b'[{"etag": "h", "path": "/c/o", "size_bytes": 3}]'
    """
    raw = []
    for entry in entries:
        if 'data' in entry:
            raw.append(entry)
            continue
        item = {'path': entry.get('name'), 'size_bytes': entry.get('bytes'),
                'etag': entry.get('hash')}
        if entry.get('range'):
            item['range'] = entry['range']
        raw.append(item)
    return json.dumps(raw, sort_keys=True).encode('utf-8')


def split_listing_etag(hash_value):
    """(hash, slo_etag or None) of a listing entry's ``hash`` as the
    container stores it for a manifest.

    >>> split_listing_etag('abc; slo_etag=def')
    ('abc', 'def')
    >>> split_listing_etag('abc')
    ('abc', None)
    """
    base, _sep, params = hash_value.partition(';')
    kept, slo = [], None
    for param in params.split(';'):
        key, _eq, value = param.strip().partition('=')
        if key == 'slo_etag':
            slo = value.strip('"')
        elif key:
            kept.append('; %s=%s' % (key, value))
    return base.strip() + ''.join(kept), slo


def keep_manifest_type(put, source_headers):
    """Store the copy ``put`` of an SLO manifest with the Content-Type the
    manifest must keep, from the manifest GET's ``source_headers`` (whose
    type the proxy stripped of ``swift_bytes``: common.swift_bytes), as
    Swift's versioning restores it; nothing when the source is not a
    manifest.

    >>> class Put:
    ...     headers, environ = {}, {}
    >>> put = Put()
    >>> keep_manifest_type(put, {'Content-Type': 'a/b', SLO_HEADER: 'True',
    ...                          SYSMETA_SLO_SIZE: '12'})
    >>> put.headers['Content-Type'], put.environ[CONTENT_TYPE_OVERRIDDEN]
    ('a/b;swift_bytes=12', True)
    """
    size = source_headers.get(SYSMETA_SLO_SIZE)
    if size is None or not config_true_value(source_headers.get(SLO_HEADER)):
        return
    put.headers['Content-Type'] = with_swift_bytes(
        source_headers.get('Content-Type', 'application/octet-stream'), size)
    put.environ[CONTENT_TYPE_OVERRIDDEN] = True
