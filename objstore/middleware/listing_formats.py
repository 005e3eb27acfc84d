"""listing_formats: the proxy's one place that chooses the format of an
account or container listing, as Swift's listing_formats middleware.

Owns, for a GET or HEAD of ``/v1/<account>[/<container>]``: negotiating
the format from ``format=json|xml|plain`` (which wins) or the Accept
header (common.listing.negotiate_format), refusing an Accept that allows
no listing type (406) or cannot be parsed (400 ``Invalid Accept
header``) before anything else runs, telling the storage server the
chosen type exactly (as the Accept it receives), and ``Vary: Accept`` on
a successful answer whose format followed Accept.

What stays elsewhere: the storage servers render the listing body in the
type asked for (common.listing; they also negotiate for a client talking
to them directly), unlike Swift, whose servers send JSON that its
middleware converts; the bodies are the same. A ``format`` value that is
not UTF-8 is left to the storage server's 400.
"""

from urllib.parse import parse_qsl

from objstore.common.access import API_VERSIONS
from objstore.common.exceptions import (
    InvalidListingParam, ListingNotAcceptable)
from objstore.common.http import (
    HTTPBadRequest, Response, html_error)
from objstore.common.listing import negotiate_format
from objstore.common.subrequest import path_parts

LISTING_METHODS = ('GET', 'HEAD')


def format_param(query_string):
    """The ``format`` value of a raw query (the last one, as the servers
    read it), None without one; ValueError when it is not UTF-8.

    >>> format_param('limit=1&format=xml'), format_param('formats=x')
    ('xml', None)
    """
    value = None
    for name, raw in parse_qsl(query_string, keep_blank_values=True,
                               encoding='utf-8', errors='surrogateescape'):
        if name == 'format':
            value = raw
    if value is not None:
        value.encode('utf-8')  # a lone surrogate: not UTF-8 (ValueError)
    return value


def add_vary_accept(headers):
    """[(name, value)] with ``Accept`` in its Vary header.

    >>> add_vary_accept([('Vary', 'Origin')])
    [('Vary', 'Origin, Accept')]
    >>> add_vary_accept([('Vary', 'accept')])
    [('Vary', 'accept')]
    """
    for index, (name, value) in enumerate(headers):
        if name.lower() == 'vary':
            words = [word.strip().lower() for word in value.split(',')]
            if 'accept' not in words:
                headers[index] = (name, value + ', Accept')
            return headers
    return headers + [('Vary', 'Accept')]


def is_listing(environ):
    """Whether a request is a GET/HEAD of an account or container."""
    if environ.get('REQUEST_METHOD') not in LISTING_METHODS:
        return False
    try:
        version, _account, _container, obj = path_parts(environ, 2)
    except ValueError:
        return False
    return obj is None and version in API_VERSIONS


class ListingFormatsMiddleware:
    def __init__(self, app, conf):
        self.app = app

    def __call__(self, environ, start_response):
        if not is_listing(environ):
            return self.app(environ, start_response)
        try:
            requested = format_param(environ.get('QUERY_STRING', ''))
        except ValueError:
            return self.app(environ, start_response)
        try:
            content_type = negotiate_format(requested,
                                            environ.get('HTTP_ACCEPT'))
        except InvalidListingParam:
            return html_error(HTTPBadRequest, 'Invalid Accept header')(
                environ, start_response)
        except ListingNotAcceptable:
            return Response(status=406)(environ, start_response)
        environ['HTTP_ACCEPT'] = content_type
        if requested is not None:
            return self.app(environ, start_response)

        def varying_start_response(status, headers, exc_info=None):
            if status.startswith(('200 ', '204 ')):
                headers = add_vary_accept(list(headers))
            return start_response(status, headers, exc_info)
        return self.app(environ, varying_start_response)


def filter_factory(global_conf, **local_conf):
    def listing_formats_filter(app):
        return ListingFormatsMiddleware(app, local_conf)
    return listing_formats_filter
