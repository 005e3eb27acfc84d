"""Swift's access control lists: container ACLs and account ACLs.

Owns the syntax and the matching of both kinds, for every middleware that
decides access (tempauth now; tempurl, staticweb and s3api later) and for
the proxy, which cleans the ACL headers a client sends:

* **Container ACLs** (``X-Container-Read``/``X-Container-Write``): a comma
  list of grants. ``account:user``, ``account:*`` and ``account`` grant
  users (by the groups an auth middleware gives them); ``.r:<referrer>``
  grants (read only) requests whose ``Referer`` host matches, where
  ``.r:*`` is everyone, ``.r:.example.com`` a domain with its subdomains and
  ``.r:-host`` takes a host back out (later entries win); ``.rlistings``
  lets those referrers list the container too.
* **Account ACLs** (``X-Account-Access-Control``): a JSON object mapping
  ``admin``, ``read-write`` and ``read-only`` to lists of the same user
  grants. ``read-only`` reads the account and everything in it,
  ``read-write`` also writes containers and objects, ``admin`` acts as the
  account's owner.

Pure: no I/O, no WSGI. Deciding who may do what with these facts is the
auth middleware's job.
"""

import json
from urllib.parse import urlparse

REFERRER_ALIASES = ('.r', '.ref', '.referer', '.referrer')
RLISTINGS = '.rlistings'
# Account ACL levels, weakest first.
ACCOUNT_ACL_LEVELS = ('read-only', 'read-write', 'admin')
# The header clients set and owners see, and the account system metadata
# the auth middleware keeps it in (Swift's names, so the two interoperate).
ACCOUNT_ACL_HEADER = 'X-Account-Access-Control'
ACCOUNT_ACL_SYSMETA = 'X-Account-Sysmeta-Core-Access-Control'


# -- container ACLs ------------------------------------------------------------

def clean_acl(name, value):
    """Normalize an X-Container-Read/Write value; ValueError when invalid.

    Referrer forms (``.r:``, ``.ref:``, ``.referer:``, ``.referrer:``) become
    ``.r:<host>``; ``.r:*.example.com`` becomes ``.r:.example.com``; a
    referrer or ``.rlistings`` is only valid in a read ACL.

    >>> clean_acl('X-Container-Read', ' .ref:*.example.com , test:tester')
    '.r:.example.com,test:tester'
    >>> clean_acl('X-Container-Write', '.r:*')
    Traceback (most recent call last):
    ValueError: Referrers not allowed in write ACL: '.r:*'
    """
    values = []
    for raw in value.split(','):
        item = raw.strip()
        if not item:
            continue
        if ':' in item and item.split(':', 1)[0].strip() in REFERRER_ALIASES:
            item = _clean_referrer(name, item)
        elif item == RLISTINGS:
            if 'write' in name.lower():
                raise ValueError('.rlistings is only valid in a read ACL')
        elif item.startswith('.'):
            raise ValueError('unknown designator %r in ACL' % item)
        values.append(item)
    return ','.join(values)


def _clean_referrer(name, item):
    if 'write' in name.lower():
        raise ValueError('Referrers not allowed in write ACL: %r' % item)
    host = item.split(':', 1)[1].strip()
    negate = host.startswith('-')
    if negate:
        host = host[1:].strip()
    if host.startswith('*') and host != '*':
        host = host[1:]
    if not host or host == '.' or (negate and host == '*'):
        raise ValueError('No host/domain value after referrer designation '
                         'in ACL: %r' % item)
    return '.r:%s%s' % ('-' if negate else '', host)


def parse_acl(acl):
    """Split a cleaned container ACL into (referrers, groups).

    >>> parse_acl('.r:*,.rlistings,test:tester,test2')
    (['*'], ['.rlistings', 'test:tester', 'test2'])
    """
    referrers, groups = [], []
    for item in (acl or '').split(','):
        item = item.strip()
        if not item:
            continue
        if item.startswith('.r:'):
            referrers.append(item[3:])
        else:
            groups.append(item)
    return referrers, groups


def format_acl(groups=(), referrers=()):
    """The container ACL value of (groups, referrers): parse_acl reversed.

    >>> format_acl(['test:tester', '.rlistings'], ['*', '-bad.com'])
    'test:tester,.rlistings,.r:*,.r:-bad.com'
    >>> parse_acl(format_acl(['a:b'], ['.example.com']))
    (['.example.com'], ['a:b'])
    """
    return ','.join(list(groups) + ['.r:%s' % host for host in referrers])


def referrer_allowed(referrer, referrers):
    """Whether a Referer header passes the referrer part of an ACL.

    Later entries override earlier ones, so ``.r:*,.r:-bad.com`` lets all
    but bad.com in. ``.example.com`` matches the domain and its subdomains.

    >>> referrer_allowed('http://www.example.com/x', ['.example.com'])
    True
    >>> referrer_allowed(None, ['example.com'])
    False
    >>> referrer_allowed('http://bad.com/', ['*', '-bad.com'])
    False
    """
    host = _referrer_host(referrer)
    allowed = False
    for entry in referrers:
        negate = entry.startswith('-')
        pattern = entry[1:] if negate else entry
        if _referrer_matches(host, pattern):
            allowed = not negate
    return allowed


def _referrer_host(referrer):
    """The host of a Referer value; '' when it has none or is no URL.

    >>> _referrer_host('http://www.example.com/x'), _referrer_host('http://[')
    ('www.example.com', '')
    """
    if not referrer:
        return ''
    try:
        return urlparse(referrer).hostname or ''
    except ValueError:
        return ''


def _referrer_matches(host, pattern):
    if pattern == '*':
        return True
    if not host:
        return False
    if pattern.startswith('.'):
        return host.endswith(pattern) or host == pattern[1:]
    return host == pattern


def group_allowed(groups_of_user, acl_groups):
    """Whether any group of the user is granted by the ACL's groups.

    ``groups_of_user`` starts with the user's account (as auth middlewares
    list them); ``<account>:*`` grants every user of that account.

    >>> group_allowed(['test', 'test:tester3'], ['test:*'])
    True
    >>> group_allowed(['test2', 'test2:tester2'], ['test:tester'])
    False
    """
    for granted in acl_groups:
        if granted in groups_of_user:
            return True
        if granted.endswith(':*') and granted[:-2] in groups_of_user[:1]:
            return True
    return False


# -- account ACLs --------------------------------------------------------------

def parse_account_acl(value):
    """The {level: [grants]} of an X-Account-Access-Control value.

    ValueError, with Swift's reason text, when it is not a JSON object of
    known levels each mapped to a list of strings; unknown keys are
    reported first, then the levels strongest first (Swift's order).
    Empty levels are dropped, so an ACL that grants nothing is ``{}``; so
    is an empty value.

    >>> parse_account_acl('{"read-only": ["test2"], "admin": []}')
    {'read-only': ['test2']}
    >>> parse_account_acl('{"owner": ["x"]}')
    Traceback (most recent call last):
    ValueError: Key "owner" not recognized
    """
    if not value or not value.strip():
        return {}
    try:
        acl = json.loads(value)
    except ValueError:
        acl = None
    if not isinstance(acl, dict):
        raise ValueError('Syntax error in input (%r)' % value)
    for level in acl:
        if level not in ACCOUNT_ACL_LEVELS:
            raise ValueError('Key %s not recognized' % json.dumps(level))
    for level in reversed(ACCOUNT_ACL_LEVELS):
        grants = acl.get(level, [])
        if not isinstance(grants, list):
            raise ValueError('Value for key %s must be a list'
                             % json.dumps(level))
        if not all(isinstance(grant, str) for grant in grants):
            raise ValueError('Elements of %s list must be strings'
                             % json.dumps(level))
    return {level: grants for level, grants in acl.items() if grants}


def format_account_acl(acl):
    """The X-Account-Access-Control value of {level: [grants]}: compact,
    sorted JSON (ASCII), without empty levels, so equal ACLs are equal text.

    >>> format_account_acl({'read-only': ['b', 'a'], 'admin': []})
    '{"read-only":["b","a"]}'
    """
    return json.dumps({level: list(grants) for level, grants in acl.items()
                       if grants},
                      ensure_ascii=True, separators=(',', ':'),
                      sort_keys=True)


def shown_account_acl(stored):
    """The X-Account-Access-Control an owner sees for the ``stored``
    sysmeta value: canonical, or None when it grants nothing or cannot be
    read (an owner then sees no ACL, as in Swift).

    >>> shown_account_acl('{"read-only": ["test:user"], "admin": []}')
    '{"read-only":["test:user"]}'
    >>> shown_account_acl('{}') is None
    True
    """
    try:
        acl = parse_account_acl(stored)
    except ValueError:
        return None
    return format_account_acl(acl) if acl else None


def account_acl_level(acl, groups_of_user):
    """The strongest level ``acl`` grants any of the user's groups, or None.

    >>> acl = {'read-only': ['test'], 'admin': ['test:tester']}
    >>> account_acl_level(acl, ['test', 'test:tester'])
    'admin'
    >>> account_acl_level(acl, ['test', 'test:tester3'])
    'read-only'
    >>> account_acl_level(acl, ['test2', 'test2:tester2']) is None
    True
    """
    for level in reversed(ACCOUNT_ACL_LEVELS):
        if group_allowed(groups_of_user, acl.get(level, ())):
            return level
    return None


def account_acl_allows(level, method, container):
    """Whether an account ACL ``level`` allows ``method`` on the account
    (``container`` None) or on something in it.

    Reads need ``read-only``; writes below the account need ``read-write``;
    writing the account itself (its metadata) needs ``admin``.

    >>> account_acl_allows('read-only', 'HEAD', None)
    True
    >>> account_acl_allows('read-write', 'PUT', 'c')
    True
    >>> account_acl_allows('read-write', 'POST', None)
    False
    """
    if level is None:
        return False
    if method in ('GET', 'HEAD', 'OPTIONS'):
        return True
    if container is not None and level in ('read-write', 'admin'):
        return True
    return level == 'admin'
