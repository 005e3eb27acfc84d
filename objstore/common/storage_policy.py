"""Storage policies: parsed from objstore.conf into values every process
is handed (no module globals).

A policy is declared by a ``[storage-policy:N]`` section::

    [storage-policy:0]
    name = gold
    aliases = yellow, orange
    default = yes

    [storage-policy:1]
    name = silver
    policy_type = replication
    deprecated = no

The rules are Swift's: indexes are non-negative integers; names (and
aliases) use letters, digits and ``-`` only, are unique across all
policies without regard to case, and ``Policy-0`` is reserved for index
0; when no section exists, policy 0 named ``Policy-0`` is implied; once any
section exists, index 0 must be one of them; exactly one policy is the
default (a lone policy is the default without saying so); a deprecated
policy cannot be the default and at least one policy must not be
deprecated. Deprecated policies keep serving the containers bound to them
but cannot be chosen for new ones (the proxy enforces that).

``erasure_coding`` policies carry the EC options (``ec_type``,
``ec_num_data_fragments``, ``ec_num_parity_fragments``,
``ec_object_segment_size``, ``ec_duplication_factor``) checked here as
plain values; whether the installed liberasurecode runs the ``ec_type``,
and whether the policy's ring fits, common.erasure checks at start-up.

Pure: parsing takes a ConfigParser-like mapping of sections; only
``load_policies`` reads a file.
"""

import dataclasses
import os
import string
from configparser import ConfigParser, Error as ConfigParserError

from objstore.common.config import parse_bool
from objstore.common.exceptions import ConfigError
from objstore.common.hashing import OBJSTORE_CONF

SECTION_PREFIX = 'storage-policy:'
LEGACY_POLICY_NAME = 'Policy-0'
REPLICATION = 'replication'
ERASURE_CODING = 'erasure_coding'
POLICY_TYPES = (REPLICATION, ERASURE_CODING)
VALID_NAME_CHARS = frozenset('-' + string.ascii_letters + string.digits)
DEFAULT_EC_SEGMENT_SIZE = 1048576

COMMON_OPTIONS = frozenset(('name', 'aliases', 'default', 'deprecated',
                            'policy_type'))
EC_OPTIONS = frozenset(('ec_type', 'ec_num_data_fragments',
                        'ec_num_parity_fragments', 'ec_object_segment_size',
                        'ec_duplication_factor'))
OPTIONS_BY_TYPE = {REPLICATION: COMMON_OPTIONS,
                   ERASURE_CODING: COMMON_OPTIONS | EC_OPTIONS}


def policy_ring_name(policy_index):
    """The object ring (``<name>.ring.gz``) of a storage policy.

    >>> policy_ring_name(0), policy_ring_name('2')
    ('object', 'object-2')
    """
    index = int(policy_index)
    return 'object' if index == 0 else 'object-%d' % index


class PolicyError(ConfigError):
    """A storage policy section breaks a rule; names the index when known.

    >>> str(PolicyError('Invalid name', 3))
    'Invalid name, for index 3'
    """

    def __init__(self, message, index=None):
        if index is not None:
            message = '%s, for index %s' % (message, index)
        super().__init__(message)


@dataclasses.dataclass(frozen=True)
class ECParams:
    """The erasure coding options of an ``erasure_coding`` policy."""

    ec_type: str
    data_fragments: int
    parity_fragments: int
    segment_size: int = DEFAULT_EC_SEGMENT_SIZE
    duplication_factor: int = 1

    def info(self):
        """What ``/info`` shows of an EC policy (Swift shows none of it;
        clients that pick a policy may want to know).

        >>> ECParams('isa_l_rs_vand', 4, 2).info()['ec_num_data_fragments']
        4
        """
        return {'policy_type': ERASURE_CODING, 'ec_type': self.ec_type,
                'ec_num_data_fragments': self.data_fragments,
                'ec_num_parity_fragments': self.parity_fragments,
                'ec_object_segment_size': self.segment_size,
                'ec_duplication_factor': self.duplication_factor}


@dataclasses.dataclass(frozen=True)
class StoragePolicy:
    """One policy; ``names`` is its name followed by its other aliases."""

    index: int
    names: tuple
    policy_type: str = REPLICATION
    is_default: bool = False
    is_deprecated: bool = False
    ec: ECParams = None

    @property
    def name(self):
        return self.names[0]

    @property
    def aliases(self):
        """Every name, comma separated, as Swift's /info shows them.

        >>> StoragePolicy(1, ('silver', 'grey')).aliases
        'silver, grey'
        """
        return ', '.join(self.names)

    @property
    def ring_name(self):
        return policy_ring_name(self.index)

    def info(self):
        """The policy's ``/info`` entry.

        >>> StoragePolicy(0, ('gold', 'yellow'), is_default=True).info()
        {'name': 'gold', 'aliases': 'gold, yellow', 'default': True}
        """
        entry = {'name': self.name, 'aliases': self.aliases}
        if self.is_default:
            entry['default'] = True
        if self.ec is not None:
            entry.update(self.ec.info())
        return entry


def parse_index(text):
    """The index of a ``storage-policy:N`` section suffix.

    >>> parse_index('2')
    2
    >>> parse_index('-1')
    Traceback (most recent call last):
    ...
    objstore.common.storage_policy.PolicyError: Invalid index, for index '-1'
    """
    stripped = str(text).strip()
    if not stripped.isdigit() or not stripped.isascii():
        raise PolicyError('Invalid index', repr(text))
    return int(stripped)


def check_name(name, index):
    """PolicyError unless ``name`` may name the policy at ``index``.

    >>> check_name('Policy-0', 1)
    Traceback (most recent call last):
    ...
    objstore.common.storage_policy.PolicyError: The name Policy-0 is \
reserved for policy index 0. Invalid name 'Policy-0', for index 1
    """
    if not name:
        raise PolicyError('Invalid name %r' % name, index)
    if not set(name) <= VALID_NAME_CHARS:
        raise PolicyError(
            'Names are used as HTTP headers, and can not reliably contain '
            'any characters not in %r. Invalid name %r'
            % (''.join(sorted(VALID_NAME_CHARS)), name), index)
    if name.upper() == LEGACY_POLICY_NAME.upper() and index != 0:
        raise PolicyError('The name %s is reserved for policy index 0. '
                          'Invalid name %r' % (LEGACY_POLICY_NAME, name),
                          index)


def parse_names(name, aliases, index):
    """(name, alias, ...) of a section, each checked, no repeats.

    >>> parse_names('gold', 'yellow, gold, orange', 0)
    ('gold', 'yellow', 'orange')
    >>> parse_names('gold', 'GOLD', 0)
    Traceback (most recent call last):
    ...
    objstore.common.storage_policy.PolicyError: The name GOLD is already \
assigned to this policy., for index 0
    """
    names = []
    for candidate in [name] + [a.strip() for a in aliases.split(',')
                               if a.strip()]:
        check_name(candidate, index)
        if candidate.upper() in (n.upper() for n in names):
            if candidate == name:
                continue
            raise PolicyError('The name %s is already assigned to this '
                              'policy.' % candidate, index)
        names.append(candidate)
    return tuple(names)


def _positive_int(options, key, index, default=None):
    raw = options.get(key, default)
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        value = 0
    if value <= 0:
        raise PolicyError('Invalid %s %r' % (key, raw), index)
    return value


def parse_ec_params(options, index):
    """The EC options of a section; PolicyError when missing or bad.

    >>> parse_ec_params({'ec_type': 'liberasurecode_rs_vand',
    ...                  'ec_num_data_fragments': '4',
    ...                  'ec_num_parity_fragments': '2'}, 1).segment_size
    1048576
    """
    ec_type = options.get('ec_type', '').strip()
    if not ec_type:
        raise PolicyError('Missing ec_type', index)
    return ECParams(
        ec_type,
        _positive_int(options, 'ec_num_data_fragments', index),
        _positive_int(options, 'ec_num_parity_fragments', index),
        _positive_int(options, 'ec_object_segment_size', index,
                      DEFAULT_EC_SEGMENT_SIZE),
        _positive_int(options, 'ec_duplication_factor', index, 1))


def _flag(options, key, index):
    try:
        return parse_bool(options.get(key, 'false'), key)
    except ConfigError as err:
        raise PolicyError(str(err), index)


def parse_policy(index_text, options):
    """One StoragePolicy from a section's suffix and its options."""
    index = parse_index(index_text)
    policy_type = options.get('policy_type', REPLICATION).strip()
    if policy_type not in POLICY_TYPES:
        raise PolicyError('Invalid policy_type %r' % policy_type, index)
    unknown = sorted(set(options) - OPTIONS_BY_TYPE[policy_type])
    if unknown:
        raise PolicyError('Invalid option %r in storage-policy section'
                          % unknown[0], index)
    is_default = _flag(options, 'default', index)
    is_deprecated = _flag(options, 'deprecated', index)
    if is_default and is_deprecated:
        raise PolicyError('Deprecated policy can not be default.  '
                          'Invalid config', index)
    name = options.get('name', LEGACY_POLICY_NAME if index == 0 else '')
    ec = parse_ec_params(options, index) \
        if policy_type == ERASURE_CODING else None
    return StoragePolicy(index, parse_names(name.strip(),
                                            options.get('aliases', ''),
                                            index),
                         policy_type, is_default, is_deprecated, ec)


@dataclasses.dataclass(frozen=True)
class StoragePolicies:
    """Every policy of a cluster, validated together; lookups by index,
    name or alias (any case), the default, and ring names."""

    policies: tuple
    _by_index: dict = dataclasses.field(init=False, repr=False, compare=False)
    _by_name: dict = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        by_index, by_name = {}, {}
        for policy in self.policies:
            if policy.index in by_index:
                raise PolicyError('Duplicate index %d conflicts with %s'
                                  % (policy.index,
                                     by_index[policy.index].name))
            for name in policy.names:
                if name.upper() in by_name:
                    raise PolicyError('Duplicate name %s conflicts with %s'
                                      % (name, by_name[name.upper()].name))
                by_name[name.upper()] = policy
            by_index[policy.index] = policy
        object.__setattr__(self, '_by_index', by_index)
        object.__setattr__(self, '_by_name', by_name)
        self._check_defaults()

    def _check_defaults(self):
        if 0 not in self._by_index:
            raise PolicyError('You must specify a storage policy section '
                              'for policy index 0 in order to define '
                              'multiple policies')
        if all(p.is_deprecated for p in self.policies):
            raise PolicyError("Unable to find policy that's not deprecated!")
        defaults = [p for p in self.policies if p.is_default]
        if len(defaults) > 1:
            raise PolicyError('Duplicate default %s conflicts with %s'
                              % (defaults[1].name, defaults[0].name))
        if not defaults:
            raise PolicyError('Unable to find default policy')

    @classmethod
    def from_sections(cls, sections):
        """From ``{section name: {option: value}}``; other sections are
        ignored. No policy section means policy 0, ``Policy-0``.

        >>> StoragePolicies.from_sections({}).default.name
        'Policy-0'
        """
        policies = tuple(
            parse_policy(name[len(SECTION_PREFIX):], options)
            for name, options in sorted(sections.items())
            if name.startswith(SECTION_PREFIX))
        if not policies:
            policies = (StoragePolicy(0, (LEGACY_POLICY_NAME,)),)
        if len(policies) == 1 and not policies[0].is_deprecated:
            # A lone policy is the default without saying so.
            policies = (dataclasses.replace(policies[0], is_default=True),)
        return cls(tuple(sorted(policies, key=lambda p: p.index)))

    def __iter__(self):
        return iter(self.policies)

    def __len__(self):
        return len(self.policies)

    @property
    def default(self):
        """The policy of containers created without X-Storage-Policy."""
        return next(p for p in self.policies if p.is_default)

    def get_by_index(self, index):
        """The policy at ``index`` (int or digits), or None."""
        try:
            return self._by_index.get(int(index))
        except (TypeError, ValueError):
            return None

    def get_by_name(self, name):
        """The policy with this name or alias (any case), or None."""
        return self._by_name.get(str(name).upper())

    def ring_names(self):
        """{policy index: object ring name} of every policy."""
        return {p.index: p.ring_name for p in self.policies}

    def info(self):
        """``/info``'s ``policies`` list: every policy not deprecated."""
        return [p.info() for p in self.policies if not p.is_deprecated]


def load_policies(conf_dir_or_file):
    """The StoragePolicies declared in objstore.conf (a file, or the dir
    holding it). A missing file declares none: policy 0 alone, as Swift
    does without swift.conf sections; an unparsable one is a ConfigError.
    """
    path = conf_dir_or_file
    if os.path.isdir(path):
        path = os.path.join(path, OBJSTORE_CONF)
    parser = ConfigParser(interpolation=None, default_section='\x00')
    try:
        parser.read(path)
    except ConfigParserError as err:
        raise ConfigError('cannot parse %s: %s' % (path, err))
    return StoragePolicies.from_sections(
        {name: dict(parser.items(name)) for name in parser.sections()})
