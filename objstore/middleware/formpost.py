"""formpost: browser uploads straight into a container, Swift's FormPost.

A ``POST`` of ``multipart/form-data`` to ``/v1/<account>/<container>[/
<prefix>]`` carries the form's attributes (``redirect``, ``max_file_size``,
``max_file_count``, ``expires``, ``signature``, optional ``x_delete_at``/
``x_delete_after``, ``content-type``, ``content-encoding``), then its files.
Each file becomes a PUT of ``<path><filename>``, allowed when
``signature`` is the HMAC of ``<path>\\n<redirect>\\n<max_file_size>\\n
<max_file_count>\\n<expires>`` with one of the TempURL keys of the account
or the container (tempurl.scoped_keys; digests as common.digest parses
them) and the form has not expired. Attributes after the first file apply
to the files after them only, as in Swift: the form is read once, as it
arrives.

Owns: reading the form as a stream (a sans-I/O multipart parser fed from
``wsgi.input``; a file goes to its PUT chunk by chunk, never whole in
memory, and one larger than ``max_file_size`` fails its PUT so nothing of
it is stored), and Swift's answers: a 303 to ``redirect`` with
``status``/``message`` in its query, else the status and message in a
text body; ``FormPost: ...`` 400s and 401s. Each PUT is claimed
(common.access) for the signing key's scope only, never as the client.
Anything that is not such a POST passes through.
"""

import dataclasses
import time
from urllib.parse import quote

from multipart import (
    MultipartError, MultipartSegment, PushMultipartParser,
    parse_options_header)

from objstore.common.access import claim
from objstore.common.config import ConfBase
from objstore.common.digest import (
    allowed_digests, find_signer, parse_signature)
from objstore.common.exceptions import ConfigError
from objstore.common.http import (
    HTTPBadRequest, HTTPClientDisconnect, Request, Response, is_success,
    text_error)
from objstore.common.info import get_account_info, get_container_info
from objstore.common.log import get_logger
from objstore.common.subrequest import (
    IDENTITY_KEYS, add_capability, make_subrequest)
from objstore.middleware.tempurl import (
    CONTAINER_SCOPE, scope_authorizer, scoped_keys, signature_refused)

READ_CHUNK_SIZE = 65536
# An attribute's value is cut here: attributes are kept in memory.
MAX_VALUE_LENGTH = 4096
FORM_TYPE = 'multipart/form-data'


@dataclasses.dataclass(frozen=True)
class FormPostConf(ConfBase):
    """Empty ``allowed_digests``: every supported digest."""
    allowed_digests: str = 'sha1 sha256 sha512'
    log_name: str = 'formpost'

    def validate(self):
        try:
            allowed_digests(self.allowed_digests)
        except ValueError as err:
            raise ConfigError('allowed_digests: %s' % err)


class FormInvalid(Exception):
    """The form is malformed: 400 ``FormPost: <message>``."""


class FormUnauthorized(Exception):
    """The form's signature does not hold: 401 ``FormPost: <Message>``."""


class FileTooLarge(ValueError):
    """Raised into the PUT's body read: a ValueError is what the proxy
    takes for a failed client read, so it aborts that PUT."""


# --------------------------------------------------------------- pure parts

def form_boundary(content_type):
    """The boundary of a form upload's Content-Type, else None.

    >>> form_boundary('multipart/form-data; boundary="b1"')
    'b1'
    >>> form_boundary('multipart/mixed; boundary=b1') is None
    True
    """
    kind, options = parse_options_header(content_type or '')
    if kind == FORM_TYPE and options.get('boundary'):
        return options['boundary']
    return None


def hmac_message(path, attributes):
    """What a form's signature signs.

    >>> hmac_message('/v1/a/c/', {'max_file_size': '10', 'expires': '5'})
    '/v1/a/c/\\n\\n10\\n0\\n5'
    """
    return '%s\n%s\n%s\n%s\n%s' % (
        path, attributes.get('redirect') or '',
        attributes.get('max_file_size') or '0',
        attributes.get('max_file_count') or '0',
        attributes.get('expires') or '0')


def int_attribute(attributes, name, message, default=0):
    """An attribute as an int (``default`` when absent or empty);
    FormInvalid(message) when it is no integer.

    >>> int_attribute({'a': '7'}, 'a', 'bad'), int_attribute({}, 'a', 'bad')
    (7, 0)
    """
    value = attributes.get(name) or default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise FormInvalid(message)


def upload_path(form_path, filename):
    """Where a file of the form goes: the form's path, with a slash after
    a bare container, and the file's name.

    >>> upload_path('/v1/a/c', 'f'), upload_path('/v1/a/c/pre-', 'f')
    ('/v1/a/c/f', '/v1/a/c/pre-f')
    """
    if not form_path.endswith('/') and form_path.count('/') < 4:
        form_path += '/'
    return form_path + filename


def container_names(path):
    """(account, container) of a form's path, or None when it names no
    container of an API version.

    >>> container_names('/v1/a/c/pre'), container_names('/v1/a')
    (('a', 'c'), None)
    """
    parts = path.split('/', 4)
    if len(parts) < 4 or parts[0] or parts[1] not in ('v1', 'v1.0') or \
            not parts[2] or not parts[3]:
        return None
    return parts[2], parts[3]


def redirect_location(redirect, status_code, message):
    """
    >>> redirect_location('http://x/done?a=1', 201, '')
    'http://x/done?a=1&status=201&message='
    >>> redirect_location('http://x/', 400, 'max file count exceeded')
    'http://x/?status=400&message=max%20file%20count%20exceeded'
    """
    return '%s%sstatus=%s&message=%s' % (
        redirect, '&' if '?' in redirect else '?', quote(str(status_code)),
        quote(message))


# --------------------------------------------------------------- the stream

class FormReader:
    """A form body read from ``wsgi.input`` as it arrives: ``parts()``
    yields each part's headers; its body is then ``body()`` (chunks) or
    ``value(limit)``; what the caller leaves unread is skipped."""

    def __init__(self, wsgi_input, boundary, chunk_size=READ_CHUNK_SIZE):
        self._input = wsgi_input
        self._chunk_size = chunk_size
        self._parser = PushMultipartParser(boundary)
        self._events = self._read_events()
        self.parts_seen = 0

    def _read_events(self):
        while not self._parser.closed:
            chunk = self._input.read(self._chunk_size)
            # An empty chunk closes the parser, which raises when the
            # form was cut short.
            yield from self._parser.parse(chunk)

    def parts(self):
        for event in self._events:
            if isinstance(event, MultipartSegment):
                self.parts_seen += 1
                yield event

    def body(self):
        for event in self._events:
            if event is None:
                return
            yield event

    def value(self, limit=MAX_VALUE_LENGTH):
        data = b''
        for chunk in self.body():
            data += chunk[:limit - len(data)]
        return data


class Upload:
    """A file part as the body of its PUT: cut off with FileTooLarge past
    ``max_size``; ``broken`` keeps a parse error met on the way."""

    def __init__(self, reader, max_size):
        self.reader = reader
        self.max_size = max_size
        self.too_large = False
        self.broken = None

    def __iter__(self):
        size = 0
        try:
            for chunk in self.reader.body():
                size += len(chunk)
                if size > self.max_size:
                    self.too_large = True
                    raise FileTooLarge('max_file_size exceeded')
                yield chunk
        except MultipartError as err:
            self.broken = err
            raise


# --------------------------------------------------------------- middleware

@dataclasses.dataclass
class Outcome:
    """How the form went: the status line of the last PUT (or of the
    form's own failure), a message, and that PUT's headers and body."""
    status: str = ''
    message: str = ''
    headers: list = dataclasses.field(default_factory=list)
    body: bytes = b''


class FormPost:
    def __init__(self, app, conf, logger=None, clock=time.time):
        self.app = app
        self.conf = FormPostConf.from_conf(conf)
        self.logger = logger or get_logger(conf, self.conf.log_name)
        self.clock = clock
        self.digests, deprecated, unsupported = allowed_digests(
            self.conf.allowed_digests)
        if unsupported:
            self.logger.warning('The following digest algorithms are '
                                'configured but not supported: %s',
                                ', '.join(sorted(unsupported)))
        self.info = {'allowed_digests': sorted(self.digests)}
        if deprecated:
            self.info['deprecated_digests'] = sorted(deprecated)

    def __call__(self, environ, start_response):
        add_capability(environ, 'formpost', **self.info)
        boundary = None
        if environ.get('REQUEST_METHOD') == 'POST':
            boundary = form_boundary(environ.get('CONTENT_TYPE'))
        if boundary is None:
            return self.app(environ, start_response)
        environ['HTTP_USER_AGENT'] = (
            '%s FormPost' % environ.get('HTTP_USER_AGENT', '')).strip()
        reader = None
        try:
            reader = FormReader(environ['wsgi.input'], boundary)
            resp = self.translate(environ, reader)
        except FormInvalid as err:
            resp = text_error(HTTPBadRequest, 'FormPost: %s' % err)
        except FormUnauthorized as err:
            resp = signature_refused(environ, (
                'FormPost: %s' % str(err).title()).encode('utf-8'))
        except MultipartError:
            resp = text_error(HTTPBadRequest, 'FormPost: %s' % (
                'malformed multipart body' if reader and reader.parts_seen
                else 'invalid starting boundary'))
        except OSError:
            resp = text_error(HTTPClientDisconnect, 'Client disconnected')
        return resp(environ, start_response)

    def translate(self, environ, reader):
        """Store the form's files; the answer to the form."""
        path = Request(environ).path_info
        keys = self.keys(environ, path)
        attributes = {}
        outcome = Outcome()
        file_count = 0
        for part in reader.parts():
            if part.disposition != 'form-data' or not part.filename:
                self.read_attribute(reader, part, attributes)
                continue
            file_count += 1
            if file_count > int_attribute(attributes, 'max_file_count',
                                          'max_file_count not an integer'):
                outcome = Outcome('400 Bad Request', 'max file count exceeded')
                break
            outcome = self.upload(environ, path, keys, reader, part,
                                  attributes)
            if not is_success(int(outcome.status.split(' ', 1)[0])):
                break
        if not outcome.status:
            outcome = Outcome('400 Bad Request', 'no files to process')
        return self.answer(outcome, attributes.get('redirect'))

    def keys(self, environ, path):
        """[(key, scope)] that may sign a form to ``path``."""
        if container_names(path) is None:
            return []
        return scoped_keys(get_account_info(environ, self.app, 'FP'),
                           get_container_info(environ, self.app, 'FP'))

    @staticmethod
    def read_attribute(reader, part, attributes):
        try:
            value = reader.value().decode('utf-8')
        except UnicodeDecodeError:
            raise FormInvalid('%s not UTF-8' % part.name)
        if part.name is not None:
            attributes[part.name.lower()] = value

    def upload(self, environ, path, keys, reader, part, attributes):
        """The Outcome of one file's PUT, once the form's signature holds."""
        if not keys:
            raise FormUnauthorized('invalid signature')
        max_size = int_attribute(attributes, 'max_file_size',
                                 'max_file_size not an integer')
        headers = self.put_headers(attributes, part)
        if int_attribute(attributes, 'expires',
                         'expired not an integer') < self.clock():
            raise FormUnauthorized('form expired')
        scope = self.signer_scope(path, attributes, keys)
        upload = Upload(reader, max_size)
        put = make_subrequest(environ, 'PUT', upload_path(path, part.filename),
                              headers=headers, body=upload, source='FP')
        for key in IDENTITY_KEYS:
            put.environ.pop(key, None)
        account, container = container_names(path)
        claim(put.environ, scope_authorizer(
            account, container if scope == CONTAINER_SCOPE else None),
            override=True)
        resp = put.get_response(self.app)
        body = resp.body
        if upload.too_large:
            raise FormInvalid('max_file_size exceeded')
        if upload.broken is not None:
            raise upload.broken
        return Outcome(resp.status, '', resp.headerlist, body)

    @staticmethod
    def put_headers(attributes, part):
        """The PUT's headers from the form and the file part."""
        headers = {'Transfer-Encoding': 'chunked'}
        # Present means meant: an empty one is no integer, as in Swift.
        if 'x_delete_at' in attributes:
            headers['X-Delete-At'] = str(int_attribute(
                attributes, 'x_delete_at',
                'x_delete_at not an integer: Unix timestamp required.',
                default=None))
        if 'x_delete_after' in attributes:
            headers['X-Delete-After'] = str(int_attribute(
                attributes, 'x_delete_after',
                'x_delete_after not an integer: Number of seconds required.',
                default=None))
        content_type = attributes.get('content-type', part.header(
            'Content-Type', None))
        if content_type is not None:
            headers['Content-Type'] = content_type or \
                'application/octet-stream'
        encoding = attributes.get('content-encoding', part.header(
            'Content-Encoding', None))
        if encoding is not None:
            headers['Content-Encoding'] = encoding
        return headers

    def signer_scope(self, path, attributes, keys):
        """The scope of the key that signed the form; FormUnauthorized when
        none did."""
        try:
            digest, signature = parse_signature(
                attributes.get('signature', ''))
        except ValueError:
            raise FormUnauthorized('invalid signature')
        if digest not in self.digests:
            raise FormUnauthorized('invalid signature')
        message = hmac_message(path, attributes)
        scope = find_signer(signature, digest,
                            [(key, message, scope) for key, scope in keys])
        if scope is None:
            raise FormUnauthorized('invalid signature')
        return scope

    @staticmethod
    def answer(outcome, redirect):
        """Swift's answer to a form: a 303 to ``redirect`` with the status
        and message in its query, else both in a text body (the failed
        PUT's own body when it had one). CORS headers of the last PUT go
        along."""
        headers = [(name, value) for name, value in outcome.headers
                   if name.lower().startswith('access-control')]
        code = int(outcome.status.split(' ', 1)[0])
        if redirect:
            location = redirect_location(redirect, code, outcome.message)
            body = ('<html><body><p><a href="%s">Click to continue...</a>'
                    '</p></body></html>' % location).encode('utf-8')
            headers.append(('Location', location))
            return Response(status='303 See Other', headerlist=headers,
                            body=body)
        body = outcome.status
        if outcome.message:
            body += '\r\nFormPost: ' + outcome.message.title()
        body = body.encode('utf-8')
        if not is_success(code) and outcome.body:
            body = outcome.body
        headers.append(('Content-Type', 'text/plain'))
        return Response(status=outcome.status, headerlist=headers, body=body)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    FormPostConf.from_conf(conf)  # a bad option fails at start-up
    return lambda app: FormPost(app, conf)
