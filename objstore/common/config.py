"""Config files: INI reading and typed per-service config values.

``readconf()`` turns a file into plain dicts. Each service declares its
options once, as a frozen dataclass deriving from ``ConfBase``; the field
defaults are the only home of default values. ``from_conf()`` converts and
validates a dict once, at start-up, with an error that names the option.
"""

import dataclasses
import os
import typing
from configparser import ConfigParser, Error as ConfigParserError

from objstore.common.exceptions import ConfigError

TRUE_VALUES = frozenset(('true', '1', 'yes', 'on', 't', 'y'))
FALSE_VALUES = frozenset(('false', '0', 'no', 'off', 'f', 'n'))


def config_true_value(value):
    """True for 'true', 'yes', '1', 'on' (any case) or a True bool."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in TRUE_VALUES


def parse_bool(value, name='value'):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    raise ConfigError('%s: expected a boolean, got %r' % (name, value))


def readconf(path, section=None, defaults=None):
    """Read an INI file.

    Without ``section``: {section name: {option: value}} for every section,
    the [DEFAULT] values merged into each as configparser does. With
    ``section``: that section's dict, or ConfigError if it is absent. Every
    dict carries ``__file__``.
    """
    parser = ConfigParser(defaults=defaults, interpolation=None)
    try:
        found = parser.read(path)
    except ConfigParserError as err:
        raise ConfigError('cannot parse %s: %s' % (path, err))
    if not found:
        raise ConfigError('cannot read config file %s' % path)
    if section is not None:
        if not parser.has_section(section):
            raise ConfigError('%s has no [%s] section' % (path, section))
        result = dict(parser.items(section))
        result['__file__'] = os.path.abspath(path)
        return result
    conf = {}
    for name in parser.sections():
        conf[name] = dict(parser.items(name))
        conf[name]['__file__'] = os.path.abspath(path)
    conf['DEFAULT'] = dict(parser.defaults())
    return conf


def _convert(field_type, raw, name):
    if field_type is bool:
        return parse_bool(raw, name)
    if field_type in (int, float):
        try:
            return field_type(str(raw).strip())
        except ValueError:
            raise ConfigError('%s: expected %s, got %r'
                              % (name, field_type.__name__, raw))
    if typing.get_origin(field_type) is tuple:
        if isinstance(raw, (tuple, list)):
            return tuple(raw)
        return tuple(item.strip() for item in str(raw).split(',')
                     if item.strip())
    return str(raw)


class ConfBase:
    """Mixin for frozen dataclasses of one service's options.

    Subclasses may define ``validate(self)`` raising ConfigError for
    cross-field or range checks.
    """

    @classmethod
    def from_conf(cls, conf):
        hints = typing.get_type_hints(cls)
        values = {}
        for field in dataclasses.fields(cls):
            if field.name in conf and conf[field.name] is not None:
                values[field.name] = _convert(hints[field.name],
                                              conf[field.name], field.name)
        instance = cls(**values)
        instance.validate()
        return instance

    def validate(self):
        """Override to check ranges; the default accepts everything."""

    @classmethod
    def option_defaults(cls):
        """{option: default} for every field, for the sample-file test."""
        defaults = {}
        for field in dataclasses.fields(cls):
            if field.default is not dataclasses.MISSING:
                defaults[field.name] = field.default
            elif field.default_factory is not dataclasses.MISSING:
                defaults[field.name] = field.default_factory()
        return defaults
