"""S3 Object Lock's documents and rules, without I/O: the bucket's lock
configuration (``?object-lock``), an object's ``Retention`` and
``LegalHold`` documents, the lock headers of PutObject, and which
retention changes are allowed.

The bucket configuration is kept compact in container sysmeta as JSON:
``{}`` (lock enabled, no default) or ``{"Mode": "GOVERNANCE", "Days": 1}``
(``Years`` instead of ``Days``). Object facts are common.retention's.

Raises S3Error with AWS's codes and texts; ``now`` is passed in.
"""

import json

from objstore.common.retention import (
    COMPLIANCE, HOLD_STATUSES, MODES, InvalidDate, Retention, format_date,
    parse_date)
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.xmlio import XMLError, parse_xml, to_xml

DAY = 86400
YEAR_DAYS = 365
# AWS's bounds of a default retention period.
MAX_DAYS = 36500
MAX_YEARS = 100
MODE_HEADER = 'x-amz-object-lock-mode'
UNTIL_HEADER = 'x-amz-object-lock-retain-until-date'
HOLD_HEADER = 'x-amz-object-lock-legal-hold'
NOT_LOCKED = 'Bucket is missing Object Lock Configuration'
PAST_DATE = 'The retain until date must be in the future!'


def _parse(body):
    try:
        return parse_xml(body)
    except XMLError:
        raise S3Error('MalformedXML') from None


def _only_children(element, names):
    """MalformedXML when ``element`` has a child not in ``names`` or one
    of them twice."""
    seen = [child.tag for child in element]
    if any(tag not in names for tag in seen) or len(seen) != len(set(seen)):
        raise S3Error('MalformedXML')


def _period(retention, name):
    """The Days or Years of a DefaultRetention, None when absent."""
    text = retention.findtext(name)
    if text is None:
        return None
    try:
        value = int(text.strip())
    except ValueError:
        raise S3Error('MalformedXML') from None
    if value <= 0:
        raise S3Error('InvalidArgument', 'Default retention period must be '
                      'a positive integer value.', ArgumentName=name,
                      ArgumentValue=text)
    if value > (MAX_DAYS if name == 'Days' else MAX_YEARS):
        raise S3Error('InvalidArgument', 'Default retention period is too '
                      'large.', ArgumentName=name, ArgumentValue=text)
    return value


def _default_retention(rule):
    _only_children(rule, ('DefaultRetention',))
    retention = rule.find('DefaultRetention')
    if retention is None:
        raise S3Error('MalformedXML')
    _only_children(retention, ('Mode', 'Days', 'Years'))
    mode = retention.findtext('Mode')
    days, years = _period(retention, 'Days'), _period(retention, 'Years')
    if mode not in MODES or (days is None) == (years is None):
        raise S3Error('MalformedXML')
    return {'Mode': mode, 'Days': days} if days else \
        {'Mode': mode, 'Years': years}


def parse_lock_configuration(body):
    """The stored form of an ObjectLockConfiguration document.

    >>> parse_lock_configuration(b'<ObjectLockConfiguration><ObjectLock'
    ...     b'Enabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>'
    ...     b'<Mode>GOVERNANCE</Mode><Days>2</Days></DefaultRetention>'
    ...     b'</Rule></ObjectLockConfiguration>')
    {'Mode': 'GOVERNANCE', 'Days': 2}
    """
    root = _parse(body)
    if root.tag != 'ObjectLockConfiguration':
        raise S3Error('MalformedXML')
    _only_children(root, ('ObjectLockEnabled', 'Rule'))
    if root.findtext('ObjectLockEnabled') != 'Enabled':
        raise S3Error('MalformedXML')
    rule = root.find('Rule')
    return {} if rule is None else _default_retention(rule)


def lock_configuration_xml(config):
    """The ObjectLockConfiguration document of a stored configuration."""
    children = [('ObjectLockEnabled', 'Enabled')]
    if config.get('Mode'):
        period = [('Days', config['Days'])] if config.get('Days') else \
            [('Years', config['Years'])]
        children.append(('Rule', [('DefaultRetention', [
            ('Mode', config['Mode'])] + period)]))
    return to_xml('ObjectLockConfiguration', children)


def stored_configuration(value):
    """The configuration a container sysmeta value holds; None when the
    bucket has no lock (no value, or one that is not ours)."""
    if not value:
        return None
    try:
        config = json.loads(value)
    except ValueError:
        return None
    return config if isinstance(config, dict) else None


def default_retention(config, now):
    """The Retention a new object gets from its bucket's configuration,
    or None. A year is 365 days.

    >>> default_retention({'Mode': 'COMPLIANCE', 'Days': 1}, 0)
    Retention(mode='COMPLIANCE', until=86400.0)
    """
    if not config or not config.get('Mode'):
        return None
    days = config.get('Days') or config.get('Years', 0) * YEAR_DAYS
    return Retention(config['Mode'], float(now + days * DAY))


def future_date(text, argument, now):
    """Epoch seconds of a retain-until date that must be after ``now``."""
    try:
        until = parse_date(text)
    except InvalidDate:
        raise S3Error('InvalidArgument', 'The retain until date is not a '
                      'valid ISO 8601 date.', ArgumentName=argument,
                      ArgumentValue=text) from None
    if until <= now:
        raise S3Error('InvalidArgument', PAST_DATE, ArgumentName=argument,
                      ArgumentValue=text)
    return until


def requested_lock(headers, now):
    """(Retention or None, legal hold status or None) of PutObject's
    ``x-amz-object-lock-*`` headers (both mode and date, or neither)."""
    mode, date = headers.get(MODE_HEADER), headers.get(UNTIL_HEADER)
    hold = headers.get(HOLD_HEADER)
    if (mode is None) != (date is None):
        raise S3Error('InvalidArgument', 'x-amz-object-lock-retain-until-'
                      'date and x-amz-object-lock-mode must both be '
                      'supplied', ArgumentName=MODE_HEADER if mode is None
                      else UNTIL_HEADER)
    retention = None
    if mode is not None:
        if mode not in MODES:
            raise S3Error('InvalidArgument', 'Unknown wormMode directive.',
                          ArgumentName=MODE_HEADER, ArgumentValue=mode)
        retention = Retention(mode, future_date(date, UNTIL_HEADER, now))
    if hold is not None and hold not in HOLD_STATUSES:
        raise S3Error('InvalidArgument', "Legal Hold must be either of "
                      "'ON' or 'OFF'", ArgumentName=HOLD_HEADER,
                      ArgumentValue=hold)
    return retention, hold


def parse_retention_document(body, now):
    """The Retention a PutObjectRetention body asks for; None for an empty
    ``<Retention/>`` (remove the retention)."""
    root = _parse(body)
    if root.tag != 'Retention':
        raise S3Error('MalformedXML')
    _only_children(root, ('Mode', 'RetainUntilDate'))
    mode, date = root.findtext('Mode'), root.findtext('RetainUntilDate')
    if mode is None and date is None:
        return None
    if mode not in MODES or date is None:
        raise S3Error('MalformedXML')
    return Retention(mode, future_date(date, 'RetainUntilDate', now))


def retention_document(retention):
    return to_xml('Retention', [
        ('Mode', retention.mode),
        ('RetainUntilDate', format_date(retention.until))])


def parse_legal_hold_document(body):
    """The status (ON or OFF) a PutObjectLegalHold body asks for."""
    root = _parse(body)
    if root.tag != 'LegalHold':
        raise S3Error('MalformedXML')
    _only_children(root, ('Status',))
    status = root.findtext('Status')
    if status not in HOLD_STATUSES:
        raise S3Error('MalformedXML')
    return status


def legal_hold_document(status):
    return to_xml('LegalHold', [('Status', status)])


def change_allowed(old, new, now, bypass_governance):
    """Whether a version under ``old`` retention may get ``new`` (None:
    removed). Keeping or lengthening (and GOVERNANCE to COMPLIANCE) is
    always allowed; shortening or removing an active retention only for
    GOVERNANCE with the bypass; COMPLIANCE never.

    >>> old = Retention('COMPLIANCE', 100.0)
    >>> change_allowed(old, Retention('COMPLIANCE', 200.0), 50, False)
    True
    >>> change_allowed(old, Retention('COMPLIANCE', 90.0), 50, True)
    False
    >>> change_allowed(Retention('GOVERNANCE', 100.0), None, 50, True)
    True
    """
    if old is None or not old.active(now):
        return True
    if new is not None and new.until >= old.until and (
            new.mode == old.mode or new.mode == COMPLIANCE):
        return True
    return old.mode != COMPLIANCE and bypass_governance
