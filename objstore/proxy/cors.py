"""CORS, as Swift's proxy does it: preflights (``OPTIONS`` with ``Origin``)
and the headers of actual responses to a cross-origin request, decided
from a container's CORS metadata (the ``cors`` dict of its cached info:
``allow_origin``, ``max_age``, ``expose_headers``) and the operator's
``cors_allow_origin``/``cors_expose_headers``/``strict_cors_mode``
(``CorsConf``).

No I/O: the controller looks the container up and builds the response.
"""

import dataclasses

# Headers every CORS answer exposes (the simple response headers of the
# W3C CORS spec plus Swift's own), as Swift lists them.
DEFAULT_EXPOSE_HEADERS = frozenset((
    'cache-control', 'content-language', 'content-type', 'expires',
    'last-modified', 'pragma', 'etag', 'x-timestamp', 'x-trans-id',
    'x-openstack-request-id'))
# Response headers a client set and so may read back from a browser.
USER_META_PREFIXES = ('x-container-meta', 'x-object-meta')


@dataclasses.dataclass(frozen=True)
class CorsConf:
    """The proxy's CORS options: origins allowed on every container, extra
    headers to expose, and whether a disallowed origin gets no CORS
    headers on an actual response (strict) or the container's anyway."""
    allow_origin: frozenset = frozenset()
    expose_headers: frozenset = frozenset()
    strict: bool = True


def split_words(value, separator=' '):
    """The non-empty, stripped items of ``value`` (may be None).

    >>> split_words(' http://a  http://b ')
    ['http://a', 'http://b']
    >>> split_words('a, b,', ',')
    ['a', 'b']
    """
    return [word.strip() for word in (value or '').split(separator)
            if word.strip()]


def allowed_origins(cors, conf=CorsConf()):
    """The origins a container's ``X-Container-Meta-Access-Control-Allow-
    Origin`` lists (space-separated), plus the operator's.

    >>> sorted(allowed_origins({'allow_origin': ' http://a  http://b '}))
    ['http://a', 'http://b']
    """
    return set(split_words(cors.get('allow_origin'))) | conf.allow_origin


def is_origin_allowed(cors, origin, conf=CorsConf()):
    """Whether ``origin`` is one the container or operator allows
    (``*``: any).

    >>> is_origin_allowed({'allow_origin': '*'}, 'http://x')
    True
    >>> is_origin_allowed({}, 'http://x', CorsConf(frozenset(['http://x'])))
    True
    """
    origins = allowed_origins(cors, conf)
    return origin in origins or '*' in origins


def _allows_any(cors):
    return (cors.get('allow_origin') or '').strip() == '*'


def _add_vary(headers, name):
    headers['Vary'] = headers['Vary'] + ', ' + name \
        if headers.get('Vary') else name


def preflight_headers(cors, origin, methods, request_headers):
    """The headers of an allowed preflight's 200, besides ``Allow``.

    ``request_headers`` is the client's Access-Control-Request-Headers
    value (or None): every header it asks for is allowed.

    >>> preflight_headers({'allow_origin': '*'}, 'http://x', ['GET'], None)
    {'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Methods': 'GET'}
    >>> preflight_headers({}, 'http://x', ['GET'], 'x-a')['Vary']
    'Origin, Access-Control-Request-Headers'
    """
    headers = {}
    if _allows_any(cors):
        headers['Access-Control-Allow-Origin'] = '*'
    else:
        headers['Access-Control-Allow-Origin'] = origin
        _add_vary(headers, 'Origin')
    if cors.get('max_age') is not None:
        headers['Access-Control-Max-Age'] = cors['max_age']
    headers['Access-Control-Allow-Methods'] = ', '.join(methods)
    asked = set(split_words(request_headers, ','))
    if asked:
        headers['Access-Control-Allow-Headers'] = ', '.join(sorted(asked))
        _add_vary(headers, 'Access-Control-Request-Headers')
    return headers


def expose_headers(response_names, cors, conf=CorsConf()):
    """The Access-Control-Expose-Headers value of an actual response with
    headers ``response_names``: the defaults, the operator's, the user
    metadata the response carries and the container's own list (sorted,
    lower case).

    >>> names = expose_headers(['X-Object-Meta-Color', 'Content-Length'],
    ...                        {'expose_headers': 'X-A'}).split(', ')
    >>> 'x-a' in names, 'x-object-meta-color' in names, len(names)
    (True, True, 12)
    """
    names = set(DEFAULT_EXPOSE_HEADERS) | conf.expose_headers
    names.update(name.lower() for name in response_names
                 if name.lower().startswith(USER_META_PREFIXES))
    names.update(word.lower() for word in
                 split_words(cors.get('expose_headers')))
    return ', '.join(sorted(names))


def actual_response_headers(response_headers, cors, origin,
                            conf=CorsConf()):
    """{name: value} to set on the answer to a cross-origin request from
    ``origin`` (not a preflight), given the answer's own headers (a
    case-insensitive mapping); empty when strict mode refuses the origin.
    Headers the answer already has are kept.

    >>> sorted(actual_response_headers({}, {'allow_origin': 'http://x'},
    ...                                'http://x'))
    ['Access-Control-Allow-Origin', 'Access-Control-Expose-Headers', 'Vary']
    >>> actual_response_headers({}, {}, 'http://x')
    {}
    """
    if conf.strict and not is_origin_allowed(cors, origin, conf):
        return {}
    added = {}
    if 'Access-Control-Expose-Headers' not in response_headers:
        added['Access-Control-Expose-Headers'] = expose_headers(
            list(response_headers.keys()), cors, conf)
    if 'Access-Control-Allow-Origin' not in response_headers:
        if _allows_any(cors):
            added['Access-Control-Allow-Origin'] = '*'
        else:
            added['Access-Control-Allow-Origin'] = origin
            added['Vary'] = response_headers.get('Vary') or ''
            _add_vary(added, 'Origin')
    return added
