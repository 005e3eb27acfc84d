"""Object retention (WORM) facts an object version keeps, and the rule
that says whether it may be deleted now.

Owns the encoding of the two lock facts in object sysmeta, which s3api's
object lock writes (PutObject, PutObjectRetention, PutObjectLegalHold)
and which every path that deletes a version must honour (s3api, and
object_versioning for the Swift API and the daemons that use it):

* ``X-Object-Sysmeta-S3api-Retention: <MODE> <retain-until>``, MODE
  ``GOVERNANCE`` or ``COMPLIANCE``, the date in S3's ISO 8601 form
  (``2030-01-01T00:00:00.000Z``);
* ``X-Object-Sysmeta-S3api-Legal-Hold: ON|OFF``;

and of the container sysmeta that says a bucket has a lock, under which
versioning cannot be suspended (object_versioning refuses it).

Sysmeta, not transient sysmeta: a POST cannot change it, so no metadata
update through any API can drop a lock.

``BYPASS_GOVERNANCE_HEADER`` is how a middleware that checked the
caller's right to bypass GOVERNANCE retention (s3api: the account owner)
says so to object_versioning; it is an ``X-Backend-`` header, which the
gatekeeper strips from clients.

Pure: values in, answers out; ``now`` is passed in.
"""

import dataclasses
import datetime

# The bucket's lock configuration (s3api's object lock owns its value);
# its presence is what makes a container's versioning permanent.
BUCKET_LOCK_SYSMETA = 'X-Container-Sysmeta-S3api-Object-Lock'
# Its key in a container info's ``sysmeta`` (common.info).
BUCKET_LOCK_INFO_KEY = 's3api-object-lock'
RETENTION_SYSMETA = 'X-Object-Sysmeta-S3api-Retention'
LEGAL_HOLD_SYSMETA = 'X-Object-Sysmeta-S3api-Legal-Hold'
BYPASS_GOVERNANCE_HEADER = 'X-Backend-Bypass-Governance-Retention'
GOVERNANCE = 'GOVERNANCE'
COMPLIANCE = 'COMPLIANCE'
MODES = (GOVERNANCE, COMPLIANCE)
HOLD_STATUSES = ('ON', 'OFF')


class InvalidDate(ValueError):
    """A retain-until date that is not an ISO 8601 date and time."""


@dataclasses.dataclass(frozen=True)
class Retention:
    """A retention: its mode and the instant it ends (epoch seconds)."""
    mode: str
    until: float

    def active(self, now):
        return self.until > now


def parse_date(text):
    """Epoch seconds of an ISO 8601 date-time (UTC unless it says).

    >>> parse_date('2030-01-01T00:00:00.000Z')
    1893456000.0
    >>> parse_date('2030-01-01T01:00:00+01:00')
    1893456000.0
    """
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise InvalidDate(text) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def format_date(epoch):
    """S3's form of an instant, milliseconds and ``Z``.

    >>> format_date(1893456000.25)
    '2030-01-01T00:00:00.250Z'
    """
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.') + \
        '%03dZ' % (moment.microsecond // 1000)


def format_retention(retention):
    """The sysmeta value of a retention.

    >>> format_retention(Retention('COMPLIANCE', 1893456000.0))
    'COMPLIANCE 2030-01-01T00:00:00.000Z'
    """
    return '%s %s' % (retention.mode, format_date(retention.until))


def parse_retention(value):
    """The Retention a sysmeta value names; None for none (an empty value
    is how a removed retention is stored).

    >>> parse_retention('GOVERNANCE 2030-01-01T00:00:00.000Z')
    Retention(mode='GOVERNANCE', until=1893456000.0)
    >>> parse_retention('') is None
    True
    """
    mode, _, date = (value or '').partition(' ')
    if mode not in MODES:
        return None
    try:
        return Retention(mode, parse_date(date))
    except InvalidDate:
        return None


def stored_lock(headers):
    """(Retention or None, legal hold on) of an object's headers."""
    lowered = {name.lower(): value for name, value in headers.items()}
    retention = parse_retention(lowered.get(RETENTION_SYSMETA.lower()))
    hold = lowered.get(LEGAL_HOLD_SYSMETA.lower(), '') == 'ON'
    return retention, hold


def deletion_refusal(headers, now, bypass_governance=False):
    """Why the version whose headers these are may not be deleted at
    ``now``, or None when it may: a legal hold always refuses, an active
    COMPLIANCE retention too, an active GOVERNANCE one unless bypassed.

    >>> locked = {RETENTION_SYSMETA: 'GOVERNANCE 2030-01-01T00:00:00.000Z'}
    >>> deletion_refusal(locked, 1893455999.0)
    'the object version is under GOVERNANCE retention'
    >>> deletion_refusal(locked, 1893455999.0, bypass_governance=True)
    >>> deletion_refusal(locked, 1893456000.0)
    """
    retention, hold = stored_lock(headers)
    if hold:
        return 'the object version is under a legal hold'
    if retention is None or not retention.active(now):
        return None
    if retention.mode == GOVERNANCE and bypass_governance:
        return None
    return 'the object version is under %s retention' % retention.mode
