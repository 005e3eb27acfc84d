"""Bucket CORS: Put/Get/DeleteBucketCors, preflights (``OPTIONS`` on a
bucket or object) and the CORS headers of actual S3 answers.

The configuration is kept as compact JSON (a list of rules) in the
container's ``X-Container-Sysmeta-S3api-Cors`` (bucket_config). A
request is judged by the first rule whose AllowedOrigin (one ``*``
wildcard at most), AllowedMethod and, for a preflight, every requested
header (AllowedHeader patterns, case-insensitive) match.

Preflights need no signature (browsers send none): the bucket's account
comes from the registry. Actual answers get ``Access-Control-*`` from
the matching rule and ``Vary`` whenever the request has an Origin. These
are S3's headers only: Swift's container CORS metadata (proxy.cors) is
never copied into an S3 answer, so the two cannot double up.
"""

import dataclasses
import json

from objstore.common.http import Response, is_success
from objstore.middleware.s3api import bucket_config, registry
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.policy_doc import wildcard
from objstore.middleware.s3api.xmlio import XMLError, parse_xml, to_xml

SYSMETA_NAME = 'S3api-Cors'
MAX_RULES = 100
MAX_CORS_XML = 64 * 1024
METHODS = ('GET', 'PUT', 'POST', 'DELETE', 'HEAD')
VARY = 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method'
NOT_ENABLED = 'CORSResponse: CORS is not enabled for this bucket.'


@dataclasses.dataclass(frozen=True)
class CorsRule:
    origins: tuple
    methods: tuple
    headers: tuple = ()
    expose: tuple = ()
    max_age: int = None
    rule_id: str = None

    def allows(self, origin, method, headers=()):
        """Whether the rule lets ``origin`` use ``method`` sending
        ``headers`` (lower-case names).

        >>> rule = CorsRule(('https://*.example.com',), ('GET',), ('x-*',))
        >>> rule.allows('https://a.example.com', 'GET', ('x-amz-date',))
        True
        >>> rule.allows('https://example.com', 'GET')
        False
        """
        return method in self.methods and any(
            wildcard(pattern).match(origin) for pattern in self.origins) \
            and all(any(wildcard(pattern, True).match(name)
                        for pattern in self.headers) for name in headers)

    def allow_origin(self, origin):
        """Access-Control-Allow-Origin: ``*`` for a rule open to every
        origin, else the request's."""
        return '*' if '*' in self.origins else origin


# ------------------------------------------------------ the configuration


def _texts(element, name):
    return tuple((child.text or '').strip() for child in element
                 if child.tag == name)


def _check_one_wildcard(kind, values):
    for value in values:
        if value.count('*') > 1:
            raise S3Error('InvalidRequest', '%s "%s" can not have more than '
                          'one wildcard.' % (kind, value))


def _rule(element):
    origins, methods = _texts(element, 'AllowedOrigin'), \
        _texts(element, 'AllowedMethod')
    if not origins or not methods:
        raise S3Error('MalformedXML')
    for method in methods:
        if method not in METHODS:
            raise S3Error('InvalidRequest', 'Found unsupported HTTP method '
                          'in CORS config. Unsupported method is %s' % method)
    headers = _texts(element, 'AllowedHeader')
    _check_one_wildcard('AllowedOrigin', origins)
    _check_one_wildcard('AllowedHeader', headers)
    max_ages = _texts(element, 'MaxAgeSeconds')
    ids = _texts(element, 'ID')
    if len(max_ages) > 1 or len(ids) > 1 or (
            max_ages and not max_ages[0].isdigit()):
        raise S3Error('MalformedXML')
    return CorsRule(origins=origins, methods=methods,
                    headers=headers,
                    expose=_texts(element, 'ExposeHeader'),
                    max_age=int(max_ages[0]) if max_ages else None,
                    rule_id=ids[0] if ids else None)


def parse_configuration(body):
    """The rules of a CORSConfiguration document (bytes)."""
    try:
        root = parse_xml(body)
    except XMLError:
        raise S3Error('MalformedXML') from None
    if root.tag != 'CORSConfiguration':
        raise S3Error('MalformedXML')
    elements = [child for child in root if child.tag == 'CORSRule']
    if not elements:
        raise S3Error('MalformedXML')
    if len(elements) > MAX_RULES:
        raise S3Error('InvalidRequest', 'The CORS configuration must not '
                      'have more than %d rules.' % MAX_RULES)
    return [_rule(element) for element in elements]


def rules_to_json(rules):
    return json.dumps([dataclasses.asdict(rule) for rule in rules],
                      separators=(',', ':'))


def rules_from_json(text):
    """The rules stored as ``rules_to_json`` wrote them ([] when none)."""
    if not text:
        return []
    return [CorsRule(**{name: tuple(value) if isinstance(value, list)
                        else value for name, value in raw.items()})
            for raw in json.loads(text)]


def configuration_xml(rules):
    elements = []
    for rule in rules:
        children = [('ID', rule.rule_id)] if rule.rule_id else []
        children += [('AllowedHeader', name) for name in rule.headers]
        children += [('AllowedMethod', name) for name in rule.methods]
        children += [('AllowedOrigin', name) for name in rule.origins]
        children += [('ExposeHeader', name) for name in rule.expose]
        if rule.max_age is not None:
            children.append(('MaxAgeSeconds', rule.max_age))
        elements.append(('CORSRule', children))
    return to_xml('CORSConfiguration', elements)


# ------------------------------------------------------------ operations


def put_bucket_cors(ctx):
    bucket_config.require_owner(ctx)
    rules = parse_configuration(ctx.read_body(MAX_CORS_XML))
    document = rules_to_json(rules)
    if len(document) > bucket_config.MAX_DOCUMENT:
        raise S3Error('InvalidRequest', 'The CORS configuration is too '
                      'large.')
    bucket_config.bucket_headers(ctx)
    registry.register_existing(ctx)
    bucket_config.store(ctx, SYSMETA_NAME, document)
    return Response(status=200, content_length=0)


def get_bucket_cors(ctx):
    bucket_config.require_owner(ctx)
    text = bucket_config.stored_in_headers(bucket_config.bucket_headers(ctx),
                                           SYSMETA_NAME)
    if not text:
        raise S3Error('NoSuchCORSConfiguration', BucketName=ctx.s3req.bucket)
    return ctx.xml(configuration_xml(rules_from_json(text)))


def delete_bucket_cors(ctx):
    bucket_config.require_owner(ctx)
    bucket_config.bucket_headers(ctx)
    bucket_config.store(ctx, SYSMETA_NAME, '')
    return Response(status=204)


# ------------------------------------------------- preflights and answers


def bucket_rules(environ, app, bucket):
    """The CORS rules of a registered bucket ([] when none or unknown);
    None when the bucket is not registered or does not exist."""
    try:
        found = registry.owner_of(environ, app, bucket)
    except registry.RegistryUnavailable:
        raise S3Error('ServiceUnavailable') from None
    if found is None:
        return None
    info = bucket_config.bucket_info(environ, app, found.account, bucket)
    if not is_success(info['status']):
        return None
    return rules_from_json(bucket_config.stored(info.get('sysmeta', {}),
                                                SYSMETA_NAME))


def _requested_headers(value):
    return tuple(name.strip().lower() for name in (value or '').split(',')
                 if name.strip())


def preflight(environ, app, s3req):
    """S3's answer to ``OPTIONS`` on a bucket or object."""
    origin = s3req.headers.get('origin')
    if not origin:
        raise S3Error('BadRequest', 'Insufficient information. Origin '
                      'request header needed.')
    method = s3req.headers.get('access-control-request-method')
    if method not in METHODS:
        raise S3Error('BadRequest', 'Invalid Access-Control-Request-Method: '
                      '%s' % method)
    rules = bucket_rules(environ, app, s3req.bucket)
    if rules is None:
        raise S3Error('NoSuchBucket', BucketName=s3req.bucket)
    if not rules:
        raise S3Error('AccessForbidden', NOT_ENABLED, Method=method,
                      ResourceType='BUCKET' if s3req.key is None
                      else 'OBJECT')
    requested = s3req.headers.get('access-control-request-headers')
    for rule in rules:
        if rule.allows(origin, method, _requested_headers(requested)):
            return Response(status=200, content_length=0,
                            headers=_preflight_headers(rule, origin,
                                                       requested))
    raise S3Error('AccessForbidden', Method=method,
                  ResourceType='BUCKET' if s3req.key is None else 'OBJECT')


def _preflight_headers(rule, origin, requested):
    headers = _rule_headers(rule, origin)
    if requested:
        headers['Access-Control-Allow-Headers'] = requested
    if rule.max_age is not None:
        headers['Access-Control-Max-Age'] = str(rule.max_age)
    return headers


def _rule_headers(rule, origin):
    headers = {'Access-Control-Allow-Origin': rule.allow_origin(origin),
               'Access-Control-Allow-Methods': ', '.join(rule.methods),
               'Vary': VARY}
    if rule.allow_origin(origin) != '*':
        headers['Access-Control-Allow-Credentials'] = 'true'
    if rule.expose:
        headers['Access-Control-Expose-Headers'] = ', '.join(rule.expose)
    return headers


def add_response_headers(environ, app, s3req, resp):
    """Give an actual answer to a cross-origin request (with ``Origin``)
    the CORS headers of the first rule that allows it."""
    origin = s3req.headers.get('origin')
    if not origin or s3req.bucket is None or s3req.method == 'OPTIONS':
        return
    try:
        rules = bucket_rules(environ, app, s3req.bucket) or []
    except (S3Error, ValueError):
        # The answer stands without CORS headers: a browser then keeps it
        # from the page, which is what an unreadable configuration means.
        return
    for rule in rules:
        if rule.allows(origin, s3req.method):
            resp.headers.update(_rule_headers(rule, origin))
            return
