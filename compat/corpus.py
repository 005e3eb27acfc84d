"""The corpus: request cases as data, loaded and checked before any I/O.

A corpus file is a YAML list; each item is one case::

    - {name: obj-get-range, setup: [PUT c, PUT c/o body=hello],
       method: GET, path: c/o, headers: {Range: bytes=1-2}}

Fields: ``name`` (unique), ``method``, ``path``, and optionally
``headers`` (name -> value), ``body`` (text, sent as UTF-8), ``user``
(who sends it, see USERS), ``setup`` (steps sent first, in order, as the
admin unless a step names a user) and ``encoding`` (how the path and
header values become bytes: ``utf-8``, or ``latin-1`` to send single raw
bytes such as ``\\xff``). A path starting with ``/`` is sent as written;
any other path is relative to the case's own account, ``/v1/${acct}/``.

Setup steps are mappings with the same fields as a case (no name, no
setup), or a string shorthand ``"METHOD PATH [body=TEXT]"``.

Placeholders, filled in per case and per cluster by the runner:
``${acct}`` (the case's own fresh account, e.g. ``AUTH_k0042``),
``${acct2}`` (a second fresh account), ``${home}`` (the admin's own
account), ``${token}`` (the sender's token), ``${now}``, ``${now+N}``,
``${now-N}`` (Unix seconds) and ``${httpdate}``, ``${httpdate+N}``,
``${httpdate-N}`` (an HTTP date).

This module only parses and validates; it sends nothing.
"""

from dataclasses import dataclass, field

import yaml

METHODS = frozenset(('GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'COPY',
                     'OPTIONS', 'BOGUS'))
USERS = frozenset(('admin', 'user', 'other', 'anon', 'badtoken'))
ENCODINGS = frozenset(('utf-8', 'latin-1'))
CASE_FIELDS = frozenset(('name', 'method', 'path', 'headers', 'body',
                         'user', 'setup', 'encoding'))
STEP_FIELDS = CASE_FIELDS - {'name', 'setup'}


class CorpusError(ValueError):
    """The corpus file is not what this module documents."""


@dataclass(frozen=True)
class Request:
    """One request as written in the corpus (placeholders unfilled)."""

    method: str
    path: str
    headers: tuple = ()
    body: str = ''
    user: str = 'admin'
    encoding: str = 'utf-8'


@dataclass(frozen=True)
class Case:
    """A named request with the setup steps it needs."""

    index: int
    name: str
    request: Request
    setup: tuple = field(default_factory=tuple)


def _check_str(value, what, where):
    if not isinstance(value, str):
        raise CorpusError('%s: %s must be a string, got %r'
                          % (where, what, value))
    return value


def _headers(raw, where):
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise CorpusError('%s: headers must be a mapping' % where)
    return tuple((_check_str(k, 'a header name', where),
                  _check_str(str(v) if isinstance(v, int) else v,
                             'header %s' % k, where))
                 for k, v in raw.items())


def _request(raw, allowed, where):
    unknown = set(raw) - allowed
    if unknown:
        raise CorpusError('%s: unknown fields %s' % (where, sorted(unknown)))
    for needed in ('method', 'path'):
        if needed not in raw:
            raise CorpusError('%s: no %s' % (where, needed))
    method = _check_str(raw['method'], 'method', where)
    if method not in METHODS:
        raise CorpusError('%s: unknown method %r' % (where, method))
    user = raw.get('user', 'admin')
    if user not in USERS:
        raise CorpusError('%s: unknown user %r' % (where, user))
    encoding = raw.get('encoding', 'utf-8')
    if encoding not in ENCODINGS:
        raise CorpusError('%s: unknown encoding %r' % (where, encoding))
    body = raw.get('body', '')
    return Request(method=method,
                   path=_check_str(raw['path'], 'path', where),
                   headers=_headers(raw.get('headers'), where),
                   body=_check_str(str(body) if isinstance(body, int)
                                   else body, 'body', where),
                   user=user, encoding=encoding)


def parse_step(raw, where):
    """A setup step from its mapping or its ``"METHOD PATH [body=TEXT]"``
    shorthand. ``"PUT c/o body=a b"`` puts the body ``a b``."""
    if isinstance(raw, str):
        head, _, body = raw.partition(' body=')
        parts = head.split(' ')
        if len(parts) != 2:
            raise CorpusError('%s: a step string is "METHOD PATH '
                              '[body=TEXT]", got %r' % (where, raw))
        raw = {'method': parts[0], 'path': parts[1], 'body': body}
    if not isinstance(raw, dict):
        raise CorpusError('%s: a step is a string or a mapping' % where)
    return _request(raw, STEP_FIELDS, where)


def parse_case(raw, index):
    where = 'case %d' % index
    if not isinstance(raw, dict) or 'name' not in raw:
        raise CorpusError('%s: a case is a mapping with a name' % where)
    name = _check_str(raw['name'], 'name', where)
    where = 'case %d (%s)' % (index, name)
    request = _request(raw, CASE_FIELDS, where)
    steps = raw.get('setup') or []
    if not isinstance(steps, list):
        raise CorpusError('%s: setup must be a list' % where)
    setup = tuple(parse_step(step, '%s setup %d' % (where, n))
                  for n, step in enumerate(steps))
    return Case(index=index, name=name, request=request, setup=setup)


def parse_corpus(text):
    """Every case of a corpus document, in order; names are unique."""
    data = yaml.safe_load(text)
    if not isinstance(data, list):
        raise CorpusError('a corpus is a YAML list of cases')
    cases = [parse_case(raw, index) for index, raw in enumerate(data)]
    seen = set()
    for case in cases:
        if case.name in seen:
            raise CorpusError('duplicate case name %r' % case.name)
        seen.add(case.name)
    return cases


def load_corpus(path):
    with open(path, encoding='utf-8') as corpus:
        return parse_corpus(corpus.read())


def select(cases, pattern):
    """The cases whose name contains ``pattern`` (all when it is empty)."""
    if not pattern:
        return list(cases)
    return [case for case in cases if pattern in case.name]
