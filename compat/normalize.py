"""Normalize two clusters' answers and list where they differ.

What must differ between two clusters is replaced by a placeholder
before comparing: transaction ids, dates, timestamps, tokens and each
cluster's own host:port, multipart boundaries. Presence is kept (a header that only one
cluster sends is still a difference); only the value is masked. A
listing's ETag is masked when its body held something masked, since it
is the MD5 of that body.

Pure: values in, values out; no sockets, no clock.
"""

import re
from dataclasses import dataclass, field

# Header -> placeholder for values that legitimately differ per run.
VOLATILE_HEADERS = {
    'x-trans-id': '<txid>',
    'x-openstack-request-id': '<txid>',
    'date': '<date>',
    'last-modified': '<date>',
    'x-timestamp': '<ts>',
    'x-put-timestamp': '<ts>',
    'x-backend-timestamp': '<ts>',
    'x-auth-token': '<token>',
    'x-storage-token': '<token>',
    'x-auth-token-expires': '<seconds>',
    # X-Delete-After becomes now + N on the server, a second apart on two
    # clusters.
    'x-delete-at': '<delete-at>',
    # An SLO's: the MD5 of its stored manifest, which holds each segment's
    # last-modified time.
    'x-manifest-etag': '<manifest-etag>',
}
# A multipart answer's boundary is random per response.
BOUNDARY = re.compile(r'boundary=([0-9A-Za-z\'()+_,./:=?-]+)')
# Headers whose value is a set: Swift builds them from Python sets, so
# their order changes from one process to the next.
SET_HEADERS = frozenset(('allow', 'access-control-allow-methods',
                         'access-control-expose-headers'))
BODY_PATTERNS = (
    (re.compile(rb'tx[0-9a-f]{21}-[0-9a-f]{10}'), b'<txid>'),
    # ISO (listings) and StaticWeb's listing page (a space for the T)
    (re.compile(rb'\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,6})?'),
     b'<date>'),
    (re.compile(rb'(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} '
                rb'\d{4} \d\d:\d\d:\d\d GMT'), b'<date>'),
    (re.compile(rb'(?<![\d.])\d{10}\.\d{5}(?![\d.])'), b'<ts>'),
    # An SLO's JSON listing row: its hash is the MD5 of the stored
    # manifest (see x-manifest-etag), its slo_etag the SLO's own.
    (re.compile(rb'"hash": "[0-9a-f]{32}"(?=[^{}]*"slo_etag")'),
     b'"hash": "<manifest-etag>"'),
)


@dataclass(frozen=True)
class Answer:
    """What one cluster answered (``error`` when there was no answer)."""

    status: int
    headers: tuple = ()
    body: bytes = b''
    error: str = ''


@dataclass(frozen=True)
class Secrets:
    """One cluster's per-run values to mask wherever they appear."""

    host: str = ''
    tokens: tuple = field(default_factory=tuple)


def header_map(headers):
    """Lower-cased name -> (name as sent, values joined by ", ")."""
    merged = {}
    for name, value in headers:
        key = name.lower()
        if key in merged:
            merged[key] = (merged[key][0], merged[key][1] + ', ' + value)
        else:
            merged[key] = (name, value)
    return merged


def mask_text(data, secrets, trans_ids=()):
    """``data`` (bytes) with this cluster's volatile values masked."""
    for token in secrets.tokens:
        if token:
            data = data.replace(token.encode('latin-1'), b'<token>')
    if secrets.host:
        data = data.replace(secrets.host.encode('latin-1'), b'<host>')
    for trans_id in trans_ids:
        if trans_id:
            data = data.replace(trans_id.encode('latin-1'), b'<txid>')
    for pattern, placeholder in BODY_PATTERNS:
        data = pattern.sub(placeholder, data)
    return data


def mask_boundary(headers, body):
    """Headers and body with a multipart boundary replaced by
    ``<boundary>``."""
    name, value = headers.get('content-type', ('', ''))
    found = BOUNDARY.search(value)
    if not found:
        return headers, body
    boundary = found.group(1)
    headers = dict(headers, **{'content-type': (
        name, value.replace(boundary, '<boundary>'))})
    return headers, body.replace(boundary.encode('latin-1'), b'<boundary>')


def normalize(answer, secrets):
    """The answer with volatile values masked; headers as a map."""
    headers, raw_body = mask_boundary(header_map(answer.headers),
                                      answer.body)
    trans_ids = [headers[k][1] for k in ('x-trans-id',
                                         'x-openstack-request-id')
                 if k in headers]
    body = mask_text(raw_body, secrets, trans_ids)
    masked = {}
    for key, (name, value) in headers.items():
        if key in VOLATILE_HEADERS:
            value = VOLATILE_HEADERS[key]
        elif key == 'etag' and body != raw_body:
            value = '<etag of a masked body>'
        elif key in SET_HEADERS:
            value = ', '.join(sorted(v.strip() for v in value.split(',')))
        else:
            value = mask_text(value.encode('latin-1'), secrets,
                              trans_ids).decode('latin-1')
        masked[key] = (name, value)
    return Answer(status=answer.status, headers=tuple(sorted(masked.items())),
                  body=body, error=answer.error)


def _show(data, limit=300):
    text = repr(data)
    return text if len(text) <= limit else text[:limit] + '...'


def differences(swift, ours):
    """Every difference between two normalized answers, one line each,
    Swift's side first."""
    found = []
    if swift.error or ours.error:
        if swift.error != ours.error:
            found.append('no answer: swift %r, objstore %r'
                         % (swift.error, ours.error))
        return found
    if swift.status != ours.status:
        found.append('status: swift %d, objstore %d'
                     % (swift.status, ours.status))
    theirs, mine = dict(swift.headers), dict(ours.headers)
    for key in sorted(set(theirs) | set(mine)):
        if key not in mine:
            found.append('header only from swift: %s: %s' % theirs[key])
        elif key not in theirs:
            found.append('header only from objstore: %s: %s' % mine[key])
        elif theirs[key][1] != mine[key][1]:
            found.append('header %s: swift %r, objstore %r'
                         % (theirs[key][0], theirs[key][1], mine[key][1]))
    if swift.body != ours.body:
        found.append('body: swift %s, objstore %s'
                     % (_show(swift.body), _show(ours.body)))
    return found
