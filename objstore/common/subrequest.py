"""Pipeline helpers: subrequests, middlewares' sections of ``/info``, and
what the client really sent (``sent_content_type``).

Owns ``make_subrequest``: a new WSGI environ for a request a middleware
sends further down the pipeline (COPY reads the source and writes the
destination this way; large objects, versioning and S3 will too). The
copy keeps who the client is (``REMOTE_USER``, ``swift.authorize``,
``swift.clean_acl``, ``reseller_request``), the transaction id and the
server facts, and nothing of the original request's body, query or
conditional headers, so the subrequest is authorized as the client for
its own path. The request's infocache and the shared info cache go
along by reference, so what a subrequest learns or changes is seen by
the whole request (common.info).

``make_preauthed_subrequest`` is the other kind: a lookup a middleware
makes for itself (account/container info), which no ACL of the client may
stop and whose answer never reaches the client. It carries no identity of
the client and is claimed (common.access) with a decision that allows it,
overriding any auth middleware further down.

``call_app`` gives an app's answer as plain WSGI values, for the many
middlewares that pass most answers on untouched after a look at one
header (webob's get_response builds a Response they would then undo).

``path_parts`` parses the request's path once for the whole pipeline:
most middlewares look at the same four names and pass the request on.

``add_capability`` lets a middleware add its section to ``/info``: on an
``/info`` request it writes into ``environ['objstore.capabilities']``,
which the proxy app merges into the document (no process-wide registry).
"""

import io
from urllib.parse import parse_qsl, quote

from objstore.common.access import claim
from objstore.common.http import Request, split_path
from objstore.common.infocache import INFOCACHE_KEY, SHARED_CACHE_KEY

# Environ keys a subrequest inherits from the request that makes it.
INHERITED_KEYS = (
    'REMOTE_USER', 'REMOTE_ADDR', 'HTTP_HOST', 'HTTP_REFERER',
    'HTTP_USER_AGENT', 'HTTP_ORIGIN', 'SERVER_NAME', 'SERVER_PORT',
    'SERVER_PROTOCOL', 'SCRIPT_NAME', 'wsgi.url_scheme', 'wsgi.errors', 'wsgi.version',
    'wsgi.multithread', 'wsgi.multiprocess', 'wsgi.run_once',
    'swift.trans_id', 'swift.authorize', 'swift.clean_acl',
    'reseller_request', INFOCACHE_KEY, SHARED_CACHE_KEY,
)
# The client's identity: what a pre-authorized subrequest must not carry.
IDENTITY_KEYS = ('REMOTE_USER', 'swift.authorize', 'swift.clean_acl',
                 'reseller_request')


CAPABILITIES_KEY = 'objstore.capabilities'
INFO_PATH = '/info'


def add_capability(environ, name, **facts):
    """On an /info request, list middleware ``name`` with ``facts``."""
    if environ.get('PATH_INFO', '').rstrip('/') == INFO_PATH:
        environ.setdefault(CAPABILITIES_KEY, {}).setdefault(
            name, {}).update(facts)


def request_path(environ):
    """The request's path as text, as webob's ``path_info`` gives it,
    without building a Request (a middleware that lets most requests by
    needs only this); UnicodeDecodeError when its bytes are not UTF-8.

    >>> request_path({'PATH_INFO': '/v1/a/\xc3\xa9'})
    '/v1/a/\xe9'
    """
    return environ.get('PATH_INFO', '').encode('latin-1').decode('utf-8')


PATH_PARTS_KEY = 'objstore.path_parts'
API_SEGMENTS = 4


def path_parts(environ, minsegs=1):
    """``(version, account, container, obj)`` of the request's path as
    ``split_path(request_path(environ), minsegs, 4, True)`` gives them,
    raising the same ValueError or UnicodeDecodeError; a missing name is
    None.

    The split is kept in the environ with the exact PATH_INFO it came
    from, so the ~10 middlewares that each look at the path split it
    once, and a middleware that rewrites PATH_INFO gets a fresh split.
    ``split_path`` with a smaller ``minsegs`` gives the same names and
    only refuses fewer of them, so one split serves every ``minsegs``.

    >>> path_parts({'PATH_INFO': '/v1/a/c/o/x'}, 3)
    ('v1', 'a', 'c', 'o/x')
    >>> path_parts({'PATH_INFO': '/v1/a/'}, 3)
    Traceback (most recent call last):
    ...
    ValueError: invalid path: /v1/a/
    """
    path = environ.get('PATH_INFO', '')
    cached = environ.get(PATH_PARTS_KEY)
    if cached is None or cached[0] != path:
        try:
            cached = (path, tuple(split_path(request_path(environ), 1,
                                             API_SEGMENTS, True)), None)
        except (ValueError, UnicodeDecodeError) as err:
            cached = (path, None, err)
        environ[PATH_PARTS_KEY] = cached
    parts = cached[1]
    if parts is None:
        # A new exception each time: one raised again and again would
        # pile every raise's traceback onto the same object.
        raise type(cached[2])(*cached[2].args)
    if minsegs > 1 and parts[minsegs - 1] is None:
        raise ValueError('invalid path: %s' % quote(request_path(environ)))
    return parts


def sent_content_type(environ):
    """The client's Content-Type, or None when it sent none.

    The WSGI server fills CONTENT_TYPE with 'text/plain' when the header is
    absent, so the raw headers it keeps tell whether the client sent one.

    >>> sent_content_type({'CONTENT_TYPE': 'text/plain',
    ...                    'headers_raw': (('Host', 'x'),)}) is None
    True
    >>> sent_content_type({'CONTENT_TYPE': 'image/png'})
    'image/png'
    """
    raw = environ.get('headers_raw')
    if raw is not None:
        for name, value in raw:
            if name.lower() == 'content-type':
                return value or None
        return None
    return environ.get('CONTENT_TYPE') or None


def query_params(environ):
    """The request's query parameters as a dict (the last value of a
    repeated name wins). Bytes that are not UTF-8 become U+FFFD: a
    middleware only looks for its own parameters, and must not fail on a
    query the storage servers answer with their own 400 (webob's
    ``req.GET`` raises on it, which would turn bad input into a 500).

    >>> query_params({'QUERY_STRING': 'symlink=get&versions&p=%FF'})
    {'symlink': 'get', 'versions': '', 'p': '\ufffd'}
    """
    query = environ.get('QUERY_STRING')
    if not query:
        return {}
    return dict(parse_qsl(query,
                          keep_blank_values=True, errors='replace'))


def query_param(environ, name):
    """Query parameter ``name`` (see ``query_params``), or None.

    >>> query_param({'QUERY_STRING': 'a=%FF&b=&multipart-manifest=get'},
    ...             'multipart-manifest')
    'get'
    >>> query_param({'QUERY_STRING': '%FF=%FF'}, 'a') is None
    True
    """
    return query_params(environ).get(name)


class Answer:
    """An app's answer as WSGI gives it: ``status`` line, ``headers``
    list, ``body`` iterable (``call_app``)."""

    __slots__ = ('status', 'headers', 'body')

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def has_any(self, lower_names):
        """True when a header named in ``lower_names`` (a set of lower-case
        names) is present; ``Location`` always counts, since webob makes
        it absolute on the way out (see ``send``)."""
        for key, _value in self.headers:
            key = key.lower()
            if key in lower_names or key == 'location':
                return True
        return False

    def send(self, start_response):
        """Hand the answer on as webob's Response would have (the
        WSGI return value): unchanged when it has no Location header."""
        start_response(self.status, self.headers)
        return self.body

    def response(self, req):
        """The answer as the Response ``req.get_response`` would give."""
        return req.ResponseClass(status=self.status,
                                 headerlist=list(self.headers),
                                 app_iter=self.body, request=req)


def call_app(app, environ):
    """``app``'s Answer to ``environ``, without building a Request or a
    Response: a middleware that reads one header of most answers and
    passes them on spends most of its time on those two otherwise.

    An app that calls start_response only when its body is first read
    has that first chunk read here (webob reads the whole body then).
    """
    started = []

    def start_response(status, headers, exc_info=None):
        started[:] = (status, headers)
        return _refuse_write

    body = app(environ, start_response)
    if not started:
        body = _with_first_chunk_read(body)
    return Answer(started[0], started[1], body)


def _refuse_write(_data):
    raise NotImplementedError('call_app: the write() of start_response')


def _with_first_chunk_read(body):
    chunks = iter(body)
    first = next(chunks, None)
    return _ChainedBody(() if first is None else (first,), chunks, body)


class _ChainedBody:
    """``head`` chunks then the rest of ``chunks``; closes ``source``."""

    def __init__(self, head, chunks, source):
        self._head, self._chunks, self._source = head, chunks, source

    def __iter__(self):
        yield from self._head
        yield from self._chunks

    def close(self):
        close = getattr(self._source, 'close', None)
        if close is not None:
            close()


class IterReader:
    """A ``wsgi.input`` over an iterable of byte chunks (a GET's body)."""

    def __init__(self, chunks):
        self._source = chunks
        self._chunks = iter(chunks)
        self._buffer = b''
        self._done = False

    def read(self, size=-1):
        while not self._done and (size is None or size < 0 or
                                  len(self._buffer) < size):
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                self._done = True
        if size is None or size < 0:
            data, self._buffer = self._buffer, b''
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def close(self):
        close = getattr(self._source, 'close', None)
        if close is not None:
            close()


def make_subrequest(environ, method, path, headers=None, body=None,
                    source=None):
    """A Request for ``path`` (unquoted) carrying the client's identity.

    ``body`` is bytes or an iterable of byte chunks; ``source`` names the
    middleware in ``swift.source`` for logs.
    """
    new_environ = {key: environ[key] for key in INHERITED_KEYS
                   if key in environ}
    if source:
        new_environ['swift.source'] = source
    req = Request.blank(quote(path), environ=new_environ, method=method,
                        headers=headers or {})
    if isinstance(body, (bytes, bytearray)):
        req.body = bytes(body)
    elif body is not None:
        req.environ['wsgi.input'] = IterReader(body)
    else:
        req.environ['wsgi.input'] = io.BytesIO(b'')
    return req


def _allow_internal(_req):
    """The decision of a pre-authorized subrequest: always allowed."""
    return None


def make_preauthed_subrequest(environ, method, path, headers=None,
                              source=None):
    """A Request for ``path`` that auth lets through (see module doc).

    Only for requests whose answers the calling middleware consumes
    itself; never hand their responses to the client.
    """
    req = make_subrequest(environ, method, path, headers, source=source)
    for key in IDENTITY_KEYS:
        req.environ.pop(key, None)
    claim(req.environ, _allow_internal, override=True)
    return req
