"""Bucket policy documents: parsing, validation and evaluation.

The subset of AWS's policy language offered (anything else is refused
with MalformedPolicy rather than silently misread):

* ``Version`` (optional): ``2012-10-17`` or ``2008-10-17``; ``Id``.
* ``Statement``: one statement or a list, each with ``Sid`` (optional),
  ``Effect`` ``Allow``/``Deny``, ``Principal``, ``Action``, ``Resource``
  and optional ``Condition``.
* ``Principal``: ``"*"`` or ``{"AWS": "*"}`` (everyone, anonymous
  included); ``{"AWS": ids}`` or ``{"CanonicalUser": ids}`` where an id
  is a canonical user id (our ``account:user``, the Owner ID S3 answers
  show) or a whole account: ``arn:aws:iam::<swift account>:root`` or the
  Swift account itself (``AUTH_test``).
* ``Action``: ``s3:<Name>`` with ``*``/``?`` wildcards, case-insensitive
  (``s3:Get*``, ``s3:*``, ``*``).
* ``Resource``: ``arn:aws:s3:::<bucket>`` or ``arn:aws:s3:::<bucket>/<key
  pattern>`` with wildcards; the bucket must be the policy's.
* ``Condition``: ``IpAddress``/``NotIpAddress`` on ``aws:SourceIp``
  (CIDRs), ``StringEquals``/``StringNotEquals``/``StringLike``/
  ``StringNotLike`` on ``s3:prefix``.

Evaluation (``evaluate``): an explicit Deny of a matching statement wins,
then an Allow; None when no statement matches (the ACLs and ownership
decide then).

Pure: no I/O.
"""

import dataclasses
import ipaddress
import json
import re

ALLOW = 'Allow'
DENY = 'Deny'
VERSIONS = ('2012-10-17', '2008-10-17')
ARN_PREFIX = 'arn:aws:s3:::'
STATEMENT_KEYS = frozenset(('Sid', 'Effect', 'Principal', 'Action',
                            'Resource', 'Condition'))
UNSUPPORTED_KEYS = ('NotPrincipal', 'NotAction', 'NotResource')
IP_OPERATORS = ('IpAddress', 'NotIpAddress')
STRING_OPERATORS = ('StringEquals', 'StringNotEquals', 'StringLike',
                    'StringNotLike')
# Condition key (lower case: AWS's keys are case-insensitive) -> the
# operators it may be used with.
CONDITION_KEYS = {'aws:sourceip': IP_OPERATORS, 's3:prefix': STRING_OPERATORS}
NOT_JSON = "Policies must be valid JSON and the first byte must be '{'"


class PolicyError(ValueError):
    """Why a policy document is malformed (MalformedPolicy's message)."""


@dataclasses.dataclass(frozen=True)
class Condition:
    operator: str
    key: str              # lower case
    values: tuple


@dataclasses.dataclass(frozen=True)
class Statement:
    effect: str
    principals: frozenset     # {'*'} for everyone
    actions: tuple            # lower-case patterns
    resources: tuple
    conditions: tuple = ()


@dataclasses.dataclass(frozen=True)
class RequestFacts:
    """What a statement is matched against. ``principals``: the ids the
    requester answers to (empty: anonymous); ``prefix``: the listing's
    ``prefix`` parameter, None when absent."""
    principals: frozenset
    action: str
    resource: str
    source_ip: str
    prefix: str = None


def wildcard(pattern, ignore_case=False):
    """A compiled regex of an AWS pattern: ``*`` any run, ``?`` any one.

    >>> bool(wildcard('arn:aws:s3:::b/pub/*').match('arn:aws:s3:::b/pub/x'))
    True
    >>> bool(wildcard('s3:get*', True).match('s3:GetObject'))
    True
    """
    body = ''.join('.*' if char == '*' else '.' if char == '?'
                   else re.escape(char) for char in pattern)
    return re.compile(body + r'\Z', re.IGNORECASE if ignore_case else 0)


def _strings(value, what):
    """A string or a non-empty list of strings, as a tuple."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(
            isinstance(item, str) for item in value):
        return tuple(value)
    raise PolicyError('Invalid %s in policy' % what)


def _principals(value):
    if value == '*':
        return frozenset(('*',))
    if not isinstance(value, dict) or not value or \
            not set(value) <= {'AWS', 'CanonicalUser'}:
        raise PolicyError('Invalid principal in policy')
    found = set()
    for ids in value.values():
        found.update(_strings(ids, 'principal'))
    return frozenset(found)


def _actions(value):
    actions = _strings(value, 'action')
    for action in actions:
        if action != '*' and not action.lower().startswith('s3:'):
            raise PolicyError('Policy has invalid action')
    return tuple(action.lower() for action in actions)


def _resources(value, bucket):
    resources = _strings(value, 'resource')
    for resource in resources:
        named = resource[len(ARN_PREFIX):].split('/', 1)[0] \
            if resource.startswith(ARN_PREFIX) else None
        if not named or not wildcard(named).match(bucket):
            raise PolicyError('Policy has invalid resource')
    return resources


def _condition_values(operator, values):
    if operator in STRING_OPERATORS:
        return values
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise PolicyError('Invalid IP address: %s' % value) from None
    return values


def _conditions(value):
    if not isinstance(value, dict):
        raise PolicyError('Invalid Condition block in policy')
    found = []
    for operator, tests in value.items():
        if operator not in IP_OPERATORS + STRING_OPERATORS:
            raise PolicyError('Invalid Condition type : %s' % operator)
        if not isinstance(tests, dict) or not tests:
            raise PolicyError('Invalid Condition block in policy')
        for key, values in tests.items():
            if operator not in CONDITION_KEYS.get(key.lower(), ()):
                raise PolicyError('Policy has an invalid condition key')
            found.append(Condition(operator, key.lower(), _condition_values(
                operator, _strings(values, 'condition value'))))
    return tuple(found)


def _statement(raw, bucket):
    if not isinstance(raw, dict):
        raise PolicyError('Invalid statement in policy')
    for name in UNSUPPORTED_KEYS:
        if name in raw:
            raise PolicyError('%s is not supported' % name)
    unknown = set(raw) - STATEMENT_KEYS
    if unknown:
        raise PolicyError('Unknown field %s' % sorted(unknown)[0])
    for name in ('Effect', 'Principal', 'Action', 'Resource'):
        if name not in raw:
            raise PolicyError('Missing required field %s' % name)
    if raw['Effect'] not in (ALLOW, DENY):
        raise PolicyError('Invalid effect: %s' % raw['Effect'])
    return Statement(
        effect=raw['Effect'], principals=_principals(raw['Principal']),
        actions=_actions(raw['Action']),
        resources=_resources(raw['Resource'], bucket),
        conditions=_conditions(raw.get('Condition', {})))


def parse_policy(text, bucket):
    """The statements of a policy document (str) for ``bucket``;
    PolicyError when it is malformed.

    >>> doc = ('{"Statement": {"Effect": "Allow", "Principal": "*", '
    ...        '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}')
    >>> parse_policy(doc, 'b')[0].principals
    frozenset({'*'})
    >>> parse_policy('[]', 'b')
    Traceback (most recent call last):
    objstore.middleware.s3api.policy_doc.PolicyError: Policies must be \
valid JSON and the first byte must be '{'
    """
    try:
        document = json.loads(text)
    except ValueError:
        raise PolicyError(NOT_JSON) from None
    if not isinstance(document, dict):
        raise PolicyError(NOT_JSON)
    version = document.get('Version', VERSIONS[0])
    if version not in VERSIONS:
        raise PolicyError('The policy must contain a valid version string')
    unknown = set(document) - {'Version', 'Id', 'Statement'}
    if unknown:
        raise PolicyError('Unknown field %s' % sorted(unknown)[0])
    raw = document.get('Statement')
    if raw is None:
        raise PolicyError('Missing required field Statement')
    raw = raw if isinstance(raw, list) else [raw]
    if not raw:
        raise PolicyError('Could not parse the policy: Statement is empty!')
    return tuple(_statement(item, bucket) for item in raw)


def compact(text):
    """The document as stored: JSON without insignificant whitespace,
    ASCII only (a header value).

    >>> compact('{ "Version" : "2012-10-17" }')
    '{"Version":"2012-10-17"}'
    """
    return json.dumps(json.loads(text), separators=(',', ':'))


# ------------------------------------------------------------ evaluation


def _in_networks(address, networks):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False)
               for net in networks)


def _condition_holds(condition, facts):
    if condition.operator in IP_OPERATORS:
        inside = _in_networks(facts.source_ip, condition.values)
        return inside if condition.operator == 'IpAddress' else not inside
    value = facts.prefix
    if condition.operator.endswith('Like'):
        matched = value is not None and any(
            wildcard(pattern).match(value) for pattern in condition.values)
    else:
        matched = value is not None and value in condition.values
    return not matched if 'Not' in condition.operator else matched


def _applies(statement, facts):
    if '*' not in statement.principals and \
            not statement.principals & facts.principals:
        return False
    if not any(wildcard(action, True).match(facts.action)
               for action in statement.actions):
        return False
    if not any(wildcard(resource).match(facts.resource)
               for resource in statement.resources):
        return False
    return all(_condition_holds(condition, facts)
               for condition in statement.conditions)


def evaluate(statements, facts):
    """DENY, ALLOW or None (no statement applies).

    >>> allow = Statement(ALLOW, frozenset(['*']), ('s3:get*',),
    ...                   ('arn:aws:s3:::b/*',))
    >>> facts = RequestFacts(frozenset(), 's3:GetObject',
    ...                      'arn:aws:s3:::b/k', '10.0.0.1')
    >>> evaluate([allow], facts)
    'Allow'
    >>> deny = Statement(DENY, frozenset(['*']), ('*',), ('arn:aws:s3:::b*',),
    ...                  (Condition('IpAddress', 'aws:sourceip',
    ...                             ('10.0.0.0/8',)),))
    >>> evaluate([allow, deny], facts)
    'Deny'
    """
    verdict = None
    for statement in statements:
        if _applies(statement, facts):
            if statement.effect == DENY:
                return DENY
            verdict = ALLOW
    return verdict


def is_public(statements):
    """Whether the policy grants anything to everyone without a
    condition (GetBucketPolicyStatus's IsPublic)."""
    return any(statement.effect == ALLOW and '*' in statement.principals
               and not statement.conditions for statement in statements)
