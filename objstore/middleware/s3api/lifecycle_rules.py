"""S3 bucket lifecycle rules: the XML a client sends, the compact JSON
kept in container sysmeta, and the decisions the lifecycle daemon takes.

Owns the meaning of a lifecycle configuration and nothing of storage:

- ``parse_configuration(body)`` checks a PutBucketLifecycleConfiguration
  document the way S3 does (MalformedXML for a wrong shape,
  InvalidArgument / InvalidRequest with S3's messages for wrong values)
  and returns the rules as plain dicts keyed by S3's element names, so
  that ``to_stored``/``from_stored`` (sysmeta JSON, versioned) and
  ``configuration_xml`` (GetBucketLifecycleConfiguration) round-trip what
  the client sent: legacy top-level ``Prefix``, a one-element ``Filter``
  or an ``And`` of several.
- ``RuleFilter`` says whether a key, size and tags fall under a rule;
  ``current_expired``, ``noncurrent_expired``, ``upload_expired`` say
  whether an action is due. They take ``now`` and the length of a day in
  seconds (config, so tests can shorten it) and do no I/O.

A "day" is counted from the object's time exactly (``days * day_seconds``
later), not rounded to the next midnight UTC as AWS does: with a day of a
few seconds, rounding would make rules untestable.

Pure: values in, values out.
"""

import calendar
import datetime
import json
import re

from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.xmlio import XMLError, parse_xml, to_xml

STORED_FORMAT = 1
MAX_RULES = 1000
MAX_ID_LENGTH = 255
ENABLED, DISABLED = 'Enabled', 'Disabled'
DATE_FORMATS = ('%Y-%m-%dT%H:%M:%SZ', '%Y-%m-%dT%H:%M:%S.%fZ',
                '%Y-%m-%dT%H:%M:%S+00:00', '%Y-%m-%dT%H:%M:%S.%f+00:00',
                '%Y-%m-%d')
# The elements a Filter or And may hold, in S3's order of output.
SIZE_ELEMENTS = ('ObjectSizeGreaterThan', 'ObjectSizeLessThan')
ACTIONS = ('Expiration', 'NoncurrentVersionExpiration',
           'AbortIncompleteMultipartUpload')
UNSUPPORTED_ACTIONS = ('Transition', 'NoncurrentVersionTransition')
DIGITS = re.compile(r'^-?[0-9]+$')


def _malformed():
    return S3Error('MalformedXML')


def _positive(message):
    return S3Error('InvalidArgument', message)


def _only_children(element, allowed):
    for child in element:
        if child.tag not in allowed:
            raise _malformed()


def _single(element, name):
    """The one child ``name`` of ``element`` (None when absent)."""
    found = element.findall(name)
    if len(found) > 1:
        raise _malformed()
    return found[0] if found else None


def _text(element, name):
    child = _single(element, name)
    return None if child is None else (child.text or '')


def _integer(element, name):
    value = _text(element, name)
    if value is None:
        return None
    value = value.strip()
    if not DIGITS.match(value):
        raise _malformed()
    return int(value)


def _tag(element):
    _only_children(element, ('Key', 'Value'))
    key = _text(element, 'Key')
    if key is None:
        raise _malformed()
    return [key, _text(element, 'Value') or '']


# ---------------------------------------------------------------- filter


def _filter_parts(element, allow_many):
    """{Prefix, Tags, ObjectSizeGreaterThan, ...} of a Filter or And."""
    _only_children(element, ('Prefix', 'Tag') + SIZE_ELEMENTS +
                   (() if allow_many else ('And',)))
    parts = {}
    prefix = _text(element, 'Prefix')
    if prefix is not None:
        parts['Prefix'] = prefix
    tags = [_tag(tag) for tag in element.findall('Tag')]
    if tags:
        if len(set(key for key, _ in tags)) != len(tags):
            raise S3Error('InvalidRequest', 'Duplicate Tag Keys are not '
                          'allowed.')
        parts['Tags'] = tags
    for name in SIZE_ELEMENTS:
        size = _integer(element, name)
        if size is not None:
            if size < 0:
                raise _positive("'%s' must be a non-negative integer" % name)
            parts[name] = size
    if not allow_many and (len(tags) > 1 or len(parts) > 1):
        raise _malformed()
    return parts


def _parse_filter(element):
    """The stored Filter: {} (all), one element, or {'And': {...}}."""
    and_element = _single(element, 'And')
    if and_element is not None:
        if len(element) != 1:
            raise _malformed()
        return {'And': _filter_parts(and_element, True)}
    parts = _filter_parts(element, False)
    if 'Tags' in parts:
        return {'Tag': parts['Tags'][0]}
    return parts


def _check_sizes(parts):
    greater = parts.get('ObjectSizeGreaterThan')
    less = parts.get('ObjectSizeLessThan')
    if greater is not None and less is not None and less <= greater:
        raise _positive('ObjectSizeLessThan must be greater than '
                        'ObjectSizeGreaterThan')


class RuleFilter:
    """What a rule applies to: a prefix, tags that must all be present,
    and size bounds (exclusive)."""

    def __init__(self, rule):
        found = rule.get('Filter')
        if found is None:
            parts = {'Prefix': rule.get('Prefix', '')}
        elif 'And' in found:
            parts = found['And']
        elif 'Tag' in found:
            parts = {'Tags': [found['Tag']]}
        else:
            parts = found
        self.prefix = parts.get('Prefix', '')
        self.tags = dict(parts.get('Tags', ()))
        self.greater_than = parts.get('ObjectSizeGreaterThan')
        self.less_than = parts.get('ObjectSizeLessThan')

    def matches_key(self, key):
        return key.startswith(self.prefix)

    def matches_size(self, size):
        if self.greater_than is not None and not size > self.greater_than:
            return False
        return self.less_than is None or size < self.less_than

    def matches_tags(self, tags):
        return all(tags.get(key) == value for key, value in self.tags.items())

    def matches(self, key, size, tags):
        """``tags``: the object's tags (a dict); only read when the rule
        names some, so callers may pass a callable for a lazy lookup."""
        if not self.matches_key(key) or not self.matches_size(size):
            return False
        if not self.tags:
            return True
        return self.matches_tags(tags() if callable(tags) else tags)


# --------------------------------------------------------------- actions


def parse_date(value):
    """Seconds since the epoch of an S3 lifecycle Date, which must be at
    midnight UTC.

    >>> parse_date('2024-01-02T00:00:00Z')
    1704153600
    >>> parse_date('2024-01-02T00:00:00.000Z')
    1704153600
    """
    for form in DATE_FORMATS:
        try:
            parsed = datetime.datetime.strptime(value.strip(), form)
        except ValueError:
            continue
        if parsed.time() != datetime.time(0):
            break
        return calendar.timegm(parsed.timetuple())
    raise _positive("'Date' must be at midnight GMT")


def _parse_expiration(element):
    _only_children(element, ('Days', 'Date', 'ExpiredObjectDeleteMarker'))
    days = _integer(element, 'Days')
    date = _text(element, 'Date')
    marker = _text(element, 'ExpiredObjectDeleteMarker')
    if sum(item is not None for item in (days, date, marker)) != 1:
        raise _malformed()
    if days is not None:
        if days <= 0:
            raise _positive("'Days' for Expiration action must be a "
                            "positive integer")
        return {'Days': days}
    if date is not None:
        parse_date(date)
        return {'Date': date.strip()}
    marker = marker.strip().lower()
    if marker not in ('true', 'false'):
        raise _malformed()
    return {'ExpiredObjectDeleteMarker': marker == 'true'}


def _parse_noncurrent(element):
    _only_children(element, ('NoncurrentDays', 'NewerNoncurrentVersions'))
    days = _integer(element, 'NoncurrentDays')
    if days is None:
        raise _malformed()
    if days <= 0:
        raise _positive("'NoncurrentDays' for NoncurrentVersionExpiration "
                        "action must be a positive integer")
    action = {'NoncurrentDays': days}
    newer = _integer(element, 'NewerNoncurrentVersions')
    if newer is not None:
        if newer <= 0:
            raise _positive("'NewerNoncurrentVersions' for "
                            "NoncurrentVersionExpiration action must be a "
                            "positive integer")
        action['NewerNoncurrentVersions'] = newer
    return action


def _parse_abort(element):
    _only_children(element, ('DaysAfterInitiation',))
    days = _integer(element, 'DaysAfterInitiation')
    if days is None:
        raise _malformed()
    if days <= 0:
        raise _positive("'DaysAfterInitiation' for "
                        "AbortIncompleteMultipartUpload action must be a "
                        "positive integer")
    return {'DaysAfterInitiation': days}


ACTION_PARSERS = {'Expiration': _parse_expiration,
                  'NoncurrentVersionExpiration': _parse_noncurrent,
                  'AbortIncompleteMultipartUpload': _parse_abort}


# ------------------------------------------------------------------ rule


def _parse_rule(element):
    _only_children(element, ('ID', 'Status', 'Filter', 'Prefix') +
                   ACTIONS + UNSUPPORTED_ACTIONS)
    for name in UNSUPPORTED_ACTIONS:
        if _single(element, name) is not None:
            raise S3Error('NotImplemented', 'Lifecycle transitions to other '
                          'storage classes are not implemented')
    rule = {'ID': (_text(element, 'ID') or '').strip()}
    if len(rule['ID']) > MAX_ID_LENGTH:
        raise _positive('ID length should not exceed allowed limit of %d'
                        % MAX_ID_LENGTH)
    rule['Status'] = _text(element, 'Status')
    if rule['Status'] not in (ENABLED, DISABLED):
        raise _malformed()
    filter_element = _single(element, 'Filter')
    prefix = _text(element, 'Prefix')
    if (filter_element is None) == (prefix is None):
        raise _malformed()
    if prefix is not None:
        rule['Prefix'] = prefix
    else:
        rule['Filter'] = _parse_filter(filter_element)
        _check_sizes(rule['Filter'].get('And', rule['Filter']))
    for name, parse in ACTION_PARSERS.items():
        action = _single(element, name)
        if action is not None:
            rule[name] = parse(action)
    _check_actions(rule)
    return rule


def _check_actions(rule):
    if not any(name in rule for name in ACTIONS):
        raise S3Error('InvalidRequest', 'At least one action needs to be '
                      'specified in a rule')
    has_tags = bool(RuleFilter(rule).tags)
    if has_tags and rule.get('Expiration', {}).get(
            'ExpiredObjectDeleteMarker') is not None:
        raise S3Error('InvalidRequest', 'ExpiredObjectDeleteMarker cannot '
                      'be specified with tags.')
    if has_tags and 'AbortIncompleteMultipartUpload' in rule:
        raise S3Error('InvalidRequest', 'AbortIncompleteMultipartUpload '
                      'cannot be specified with Tags.')


def parse_configuration(body):
    """The rules of a PutBucketLifecycleConfiguration body (see module
    doc); S3Error when S3 would refuse it."""
    try:
        root = parse_xml(body)
    except XMLError:
        raise _malformed() from None
    if root.tag != 'LifecycleConfiguration':
        raise _malformed()
    _only_children(root, ('Rule',))
    elements = root.findall('Rule')
    if not elements:
        raise _malformed()
    if len(elements) > MAX_RULES:
        raise _positive('Lifecycle configuration allows a maximum of %d '
                        'rules' % MAX_RULES)
    rules = [_parse_rule(element) for element in elements]
    ids = [rule['ID'] for rule in rules if rule['ID']]
    if len(set(ids)) != len(ids):
        raise _positive('Rule ID must be unique. Found same ID for more '
                        'than one rule')
    return rules


# ------------------------------------------------------- stored and shown


def to_stored(rules):
    """Compact JSON for ``X-Container-Sysmeta-S3api-Lifecycle``."""
    return json.dumps({'v': STORED_FORMAT, 'rules': rules},
                      separators=(',', ':'), ensure_ascii=False)


def from_stored(value):
    """The rules kept by ``to_stored``; [] for none or an unknown format."""
    if not value:
        return []
    try:
        stored = json.loads(value)
    except ValueError:
        return []
    if not isinstance(stored, dict) or stored.get('v') != STORED_FORMAT:
        return []
    return stored.get('rules') or []


def _filter_elements(parts):
    elements = []
    if 'Prefix' in parts:
        elements.append(('Prefix', parts['Prefix']))
    for key, value in parts.get('Tags', ()):
        elements.append(('Tag', [('Key', key), ('Value', value)]))
    if 'Tag' in parts:
        key, value = parts['Tag']
        elements.append(('Tag', [('Key', key), ('Value', value)]))
    elements += [(name, parts[name]) for name in SIZE_ELEMENTS
                 if name in parts]
    return elements


def _rule_elements(rule):
    elements = []
    if rule['ID']:
        elements.append(('ID', rule['ID']))
    if 'Filter' in rule:
        found = rule['Filter']
        inner = [('And', _filter_elements(found['And']))] if 'And' in found \
            else _filter_elements(found)
        elements.append(('Filter', inner))
    else:
        elements.append(('Prefix', rule.get('Prefix', '')))
    elements.append(('Status', rule['Status']))
    for name in ACTIONS:
        if name in rule:
            elements.append((name, list(rule[name].items())))
    return elements


def configuration_xml(rules):
    """The GetBucketLifecycleConfiguration document."""
    return to_xml('LifecycleConfiguration',
                  [('Rule', _rule_elements(rule)) for rule in rules])


# ------------------------------------------------------------- decisions


def enabled_rules(rules):
    return [rule for rule in rules if rule.get('Status') == ENABLED]


def expires_current(rule):
    """Whether the rule expires current versions (Days or Date)."""
    expiration = rule.get('Expiration') or {}
    return 'Days' in expiration or 'Date' in expiration


def current_expired(rule, modified, now, day_seconds):
    """Whether the rule's Expiration (Days or Date) is due for a current
    object last modified at ``modified`` (seconds)."""
    expiration = rule.get('Expiration') or {}
    if 'Days' in expiration:
        return now >= modified + expiration['Days'] * day_seconds
    if 'Date' in expiration:
        return now >= parse_date(expiration['Date'])
    return False


def expires_delete_markers(rule):
    return bool((rule.get('Expiration') or {}).get(
        'ExpiredObjectDeleteMarker'))


def noncurrent_expired(rule, noncurrent_since, newer_noncurrent, now,
                       day_seconds):
    """Whether a noncurrent version is due: noncurrent since
    ``noncurrent_since`` (its successor's time), with ``newer_noncurrent``
    noncurrent versions of the key newer than it.

    >>> rule = {'NoncurrentVersionExpiration': {'NoncurrentDays': 1,
    ...         'NewerNoncurrentVersions': 1}}
    >>> noncurrent_expired(rule, 100, 0, 200, 10)
    False
    >>> noncurrent_expired(rule, 100, 1, 200, 10)
    True
    >>> noncurrent_expired(rule, 100, 1, 105, 10)
    False
    """
    action = rule.get('NoncurrentVersionExpiration')
    if not action:
        return False
    if newer_noncurrent < action.get('NewerNoncurrentVersions', 0):
        return False
    return now >= noncurrent_since + action['NoncurrentDays'] * day_seconds


def upload_expired(rule, initiated, now, day_seconds):
    action = rule.get('AbortIncompleteMultipartUpload')
    if not action:
        return False
    return now >= initiated + action['DaysAfterInitiation'] * day_seconds
