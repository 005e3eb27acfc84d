"""CORS preflight (``OPTIONS`` with ``Origin``): pure decisions on a
container's CORS metadata (the ``cors`` dict of its cached info:
``allow_origin``, ``max_age``), as Swift's proxy makes them.

No I/O: the controller looks the container up and builds the response.
"""


def allowed_origins(cors):
    """The origins a container's ``X-Container-Meta-Access-Control-Allow-
    Origin`` lists (space-separated).

    >>> sorted(allowed_origins({'allow_origin': ' http://a  http://b '}))
    ['http://a', 'http://b']
    """
    return {origin for origin in (cors.get('allow_origin') or '').split(' ')
            if origin}


def is_origin_allowed(cors, origin):
    """Whether ``origin`` is one the container allows (``*``: any).

    >>> is_origin_allowed({'allow_origin': '*'}, 'http://x')
    True
    """
    origins = allowed_origins(cors)
    return origin in origins or '*' in origins


def preflight_headers(cors, origin, methods, request_headers):
    """The headers of an allowed preflight's 200, besides ``Allow``.

    ``request_headers`` is the client's Access-Control-Request-Headers
    value (or None): every header it asks for is allowed.

    >>> preflight_headers({'allow_origin': '*'}, 'http://x', ['GET'], None)
    {'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Methods': 'GET'}
    """
    headers = {}
    if (cors.get('allow_origin') or '').strip() == '*':
        headers['Access-Control-Allow-Origin'] = '*'
    else:
        headers['Access-Control-Allow-Origin'] = origin
        headers['Vary'] = 'Origin'
    if cors.get('max_age') is not None:
        headers['Access-Control-Max-Age'] = cors['max_age']
    headers['Access-Control-Allow-Methods'] = ', '.join(methods)
    asked = {name.strip() for name in (request_headers or '').split(',')
             if name.strip()}
    if asked:
        headers['Access-Control-Allow-Headers'] = ', '.join(sorted(asked))
    return headers
