"""What an S3 request addresses and carries, read from the WSGI environ:
bucket and key (path-style ``/bucket/key`` or virtual-hosted
``bucket.<storage_domain>/key``), the query as decoded pairs, the headers
by lower-case name, and the path as the client sent it (Signature V2
signs that form).

Owns reading only; it sends nothing and decides nothing about auth.
"""

import dataclasses
from urllib.parse import quote, unquote

from objstore.common.subrequest import sent_content_type
from objstore.middleware.s3api.errors import S3Error


@dataclasses.dataclass
class S3Request:
    method: str
    path: str           # decoded, as the signature's canonical URI
    raw_path: str       # as sent (percent-encoded), as V2 signs it
    pairs: list         # decoded (name, value) query pairs, in order
    headers: dict       # {lower-case name: value}
    bucket: str = None
    key: str = None

    @property
    def params(self):
        """The query as a dict (the first value of a repeated name)."""
        found = {}
        for name, value in self.pairs:
            found.setdefault(name, value)
        return found

    @property
    def resource(self):
        """``Resource`` of an error body: ``/bucket/key``."""
        if self.bucket is None:
            return '/'
        return '/' + self.bucket + ('/' + self.key if self.key else '')


def parse_query(query):
    """Decoded pairs of a query string; '+' stays '+' (S3 clients encode a
    space as %20, and sign it that way).

    >>> parse_query('list-type=2&prefix=a%20b+c&delete')
    [('list-type', '2'), ('prefix', 'a b+c'), ('delete', '')]
    """
    pairs = []
    for part in query.split('&'):
        if part:
            name, _, value = part.partition('=')
            pairs.append((unquote(name), unquote(value)))
    return pairs


def request_headers(environ):
    """The client's headers by lower-case name. Content-Type only when
    the client sent one (the WSGI server fills in a default, which V2
    would otherwise sign)."""
    headers = {}
    for name, value in environ.items():
        if name.startswith('HTTP_'):
            headers[name[5:].replace('_', '-').lower()] = value
    if environ.get('CONTENT_LENGTH'):
        headers['content-length'] = environ['CONTENT_LENGTH']
    content_type = sent_content_type(environ)
    if content_type is not None:
        headers['content-type'] = content_type
    return headers


def _decoded_path(environ):
    try:
        return environ.get('PATH_INFO', '/').encode('latin-1').decode(
            'utf-8')
    except UnicodeError:
        raise S3Error('InvalidURI') from None


def split_bucket_key(path, host, storage_domain):
    """(bucket, key) of a decoded path on ``host``; None where absent.

    >>> split_bucket_key('/b/dir/k', 'localhost:8080', '')
    ('b', 'dir/k')
    >>> split_bucket_key('/dir/k', 'b.s3.example.com:80', 's3.example.com')
    ('b', 'dir/k')
    >>> split_bucket_key('/', 'h', '')
    (None, None)
    """
    hostname = host.rsplit(':', 1)[0] if host.count(':') == 1 else host
    hostname = hostname.lower()
    suffix = '.' + storage_domain.lower() if storage_domain else None
    if suffix and hostname.endswith(suffix) and len(hostname) > len(suffix):
        return hostname[:-len(suffix)], path[1:] or None
    bucket, _, key = path[1:].partition('/')
    return bucket or None, key or None


def parse_request(environ, storage_domain=''):
    path = _decoded_path(environ)
    headers = request_headers(environ)
    bucket, key = split_bucket_key(path, headers.get('host', ''),
                                   storage_domain)
    raw = environ.get('RAW_PATH_INFO') or quote(
        environ.get('PATH_INFO', '/').encode('latin-1'))
    raw_path = raw.split('?', 1)[0]
    if bucket is not None and not path.startswith('/' + bucket):
        raw_path = '/' + bucket + raw_path     # V2 signs the bucket in
    return S3Request(
        method=environ['REQUEST_METHOD'], path=path, raw_path=raw_path,
        pairs=parse_query(environ.get('QUERY_STRING', '')),
        headers=headers, bucket=bucket, key=key)
