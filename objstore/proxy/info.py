"""``/info``: what this cluster offers, as Swift's discoverability does.

Pure: builds the document from the constraint limits, the cluster's
storage policies (the ones not deprecated, as Swift lists them) and the
sections that middlewares add to ``environ['objstore.capabilities']`` when an
``/info`` request passes through them (no process-wide registry). The
proxy serves it as JSON to anyone, without auth.
"""

import json
from urllib.parse import parse_qs

from objstore.common.access import API_VERSIONS, swift_error
from objstore.common.constraints import (
    MAX_HEADER_COUNT, MAX_META_COUNT, public_limits)
from objstore.common.http import HTTPForbidden, Response

# eventlet's limit on the request line, which our WSGI server keeps.
MAX_REQUEST_LINE = 8192
# Swift allows max_meta_count + 36 + extra_header_count header lines; this
# is the extra that comes to our own limit (common.constraints).
EXTRA_HEADER_COUNT = MAX_HEADER_COUNT - MAX_META_COUNT - 36
# The query of Swift's signed admin /info; without an admin key configured
# (objstore has none) Swift refuses it.
ADMIN_QUERY = ('swiftinfo_sig', 'swiftinfo_expires')

def base_capabilities(policies, strict_cors_mode=True):
    """The ``swift`` section: limits and facts clients rely on;
    ``policies`` is a StoragePolicies."""
    swift = dict(public_limits())
    swift.update({
        'version': 'objstore',
        'policies': policies.info(),
        'strict_cors_mode': strict_cors_mode,
        'allow_account_management': False,
        'account_autocreate': True,
        'allow_open_expired': False,
        'max_request_line': MAX_REQUEST_LINE,
        'valid_api_versions': list(API_VERSIONS),
        'extra_header_count': EXTRA_HEADER_COUNT,
        'auto_create_account_prefix': '.',
    })
    return {'swift': swift}


def info_document(capabilities):
    """The JSON body of ``/info``, keys sorted for stable output."""
    return json.dumps(capabilities, sort_keys=True).encode('utf-8')


def info_response(method, query_string, capabilities):
    """The answer to a GET or HEAD of ``/info``: the document with Swift's
    Content-Type, or Swift's 403 to an admin request, as Swift gives when
    no admin key is set. Any query is read, none refused: bytes that are
    not UTF-8 are replaced.

    >>> info_response('GET', 'swiftinfo_sig=x', {}).status_int
    403
    >>> info_response('GET', 'prefix=%FF', {}).status_int
    200
    """
    params = parse_qs(query_string, errors='replace')
    if any(any(params.get(name, ())) for name in ADMIN_QUERY):
        return swift_error(HTTPForbidden, method)
    return Response(status=200, body=info_document(capabilities),
                    content_type='application/json; charset=UTF-8',
                    charset=None)
