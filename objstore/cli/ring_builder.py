"""objstore-ring-builder: swift-ring-builder's verbs over objstore.ring.

Owns argument parsing, the terminal output and exit codes only; every ring
decision is RingBuilder's. A verb that fails leaves the builder file
byte-for-byte as it was: changes are made in memory and saved (atomically,
previous file kept as ``<builder>.bak``) only after the whole verb worked.
"""

import argparse
import datetime
import os
import sys

from objstore.common.exceptions import RingError, RingLoadError
from objstore.ring.builder import RingBuilder
from objstore.ring.devices import (format_dev, parse_dev_string,
                                   parse_search_value)
from objstore.ring.ringdata import RingData

EXIT_SUCCESS = 0
EXIT_WARNING = 1
EXIT_ERROR = 2
# Like swift-ring-builder: a balance above this after rebalance is worth a
# warning (push the ring, wait min_part_hours, rebalance again).
BALANCE_WARNING = 5.0

USAGE = """\
usage: objstore-ring-builder BUILDER [VERB ARGS...]

  BUILDER                       print a summary of the builder
  BUILDER create PART_POWER REPLICAS MIN_PART_HOURS
  BUILDER add r<region>z<zone>-<ip>:<port>[R<ip>:<port>]/<device>[_<meta>]
              WEIGHT [DEVICE WEIGHT ...]
  BUILDER add --region R --zone Z --ip IP --port P [--replication-ip IP]
              [--replication-port P] --device NAME --weight W [--meta M]
  BUILDER remove SEARCH [SEARCH ...]
  BUILDER set_weight SEARCH WEIGHT [SEARCH WEIGHT ...]
  BUILDER search SEARCH
  BUILDER list_parts SEARCH [SEARCH ...]
  BUILDER rebalance [--seed N] [--progress|--no-progress]
                                (also writes the ring file; progress on
                                stderr, the default on a terminal)
  BUILDER write_ring
  BUILDER validate
  BUILDER dispersion
  BUILDER pretend_min_part_hours_passed
  BUILDER set_min_part_hours HOURS

SEARCH is e.g. d3 (id), z2 (zone), r1z2, 127.0.0.1:6200/d1, /d1.
The ring file is BUILDER with .builder replaced by .ring.gz. Each save keeps
the previous builder file as BUILDER.bak.
Exit status: 0 success, 1 warning (nothing moved, balance not reached),
2 error (bad input, missing or corrupt builder; nothing is changed).
"""


class CliError(Exception):
    """Bad input: one line on stderr, exit 2, no file changed."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CliError(message)


def ring_path_for(builder_path):
    if builder_path.endswith('.builder'):
        return builder_path[:-len('.builder')] + '.ring.gz'
    return builder_path + '.ring.gz'


def _int_arg(name, text):
    try:
        return int(text)
    except ValueError:
        raise CliError('%s must be an integer, got %r' % (name, text)) \
            from None


def _weight_arg(text):
    try:
        weight = float(text)
    except ValueError:
        raise CliError('weight must be a number, got %r' % text) from None
    if not weight >= 0 or weight == float('inf'):
        raise CliError('weight must be a finite number >= 0, got %r' % text)
    return weight


def _search(builder, text):
    try:
        search_filter = parse_search_value(text)
    except ValueError as err:
        raise CliError(str(err)) from None
    devs = builder.search_devs(search_filter)
    if not devs:
        raise CliError('no device matches %r' % text)
    return devs


def _pairs(args, what):
    if not args or len(args) % 2:
        raise CliError('%s needs pairs of arguments' % what)
    return list(zip(args[0::2], args[1::2]))


class Command:
    """One invocation: the builder path and what the verb needs."""

    def __init__(self, builder_path, out=None):
        self.path = builder_path
        self.out = out
        self._builder = None

    def say(self, text=''):
        print(text, file=self.out or sys.stdout)

    @property
    def builder(self):
        if self._builder is None:
            try:
                self._builder = RingBuilder.load(self.path)
            except RingLoadError as err:
                raise CliError(str(err)) from None
        return self._builder

    def load(self):
        return self.builder

    def save(self):
        self.builder.save(self.path)

    # -- verbs -------------------------------------------------------------

    def create(self, args):
        if len(args) != 3:
            raise CliError('create needs PART_POWER REPLICAS MIN_PART_HOURS')
        if os.path.exists(self.path):
            raise CliError('%s already exists; not overwriting it'
                           % self.path)
        part_power = _int_arg('part power', args[0])
        replicas = _int_arg('replicas', args[1])
        min_part_hours = _int_arg('min_part_hours', args[2])
        self._builder = RingBuilder(part_power, replicas, min_part_hours)
        self.save()
        self.say('Created %s: %d partitions, %d replicas, '
                 'min_part_hours %d' % (self.path, self.builder.parts,
                                        replicas, min_part_hours))
        return EXIT_SUCCESS

    def add(self, args):
        if args and args[0].startswith('--'):
            new_devs = [self._dev_from_flags(args)]
        else:
            new_devs = []
            for text, weight in _pairs(args, 'add'):
                try:
                    dev = parse_dev_string(text)
                except ValueError as err:
                    raise CliError(str(err)) from None
                dev['weight'] = _weight_arg(weight)
                new_devs.append(dev)
        for dev in new_devs:
            dev_id = self.builder.add_dev(dev)
            self.say('Device %s with %s weight got id %d'
                     % (format_dev(self.builder.devs[dev_id]),
                        dev['weight'], dev_id))
        self.save()
        return EXIT_SUCCESS

    @staticmethod
    def _dev_from_flags(args):
        parser = _Parser(prog='add', add_help=False)
        parser.add_argument('--region', type=int, default=1)
        parser.add_argument('--zone', type=int, required=True)
        parser.add_argument('--ip', required=True)
        parser.add_argument('--port', type=int, required=True)
        parser.add_argument('--replication-ip')
        parser.add_argument('--replication-port', type=int)
        parser.add_argument('--device', required=True)
        parser.add_argument('--weight', required=True)
        parser.add_argument('--meta', default='')
        opts = parser.parse_args(args)
        dev = vars(opts)
        dev['weight'] = _weight_arg(opts.weight)
        return dev

    def remove(self, args):
        if not args:
            raise CliError('remove needs a search value')
        for text in args:
            for dev in _search(self.builder, text):
                self.builder.remove_dev(dev['id'])
                self.say('Device %s marked for removal; it goes at the '
                         'next rebalance' % format_dev(dev))
        self.save()
        return EXIT_SUCCESS

    def set_weight(self, args):
        for text, weight in _pairs(args, 'set_weight'):
            weight = _weight_arg(weight)
            for dev in _search(self.builder, text):
                self.builder.set_dev_weight(dev['id'], weight)
                self.say('Device %s weight set to %s'
                         % (format_dev(dev), weight))
        self.save()
        return EXIT_SUCCESS

    def search(self, args):
        if len(args) != 1:
            raise CliError('search needs one search value')
        self._dev_table(_search(self.builder, args[0]))
        return EXIT_SUCCESS

    def list_parts(self, args):
        if not args:
            raise CliError('list_parts needs a search value')
        wanted = set()
        for text in args:
            wanted.update(dev['id'] for dev in _search(self.builder, text))
        if not self.builder.has_table:
            raise CliError('%s was never rebalanced' % self.path)
        self.say('Partition   Matches')
        for part, matches in self.builder.parts_on_devs(wanted):
            self.say('%9d   %7d' % (part, matches))
        return EXIT_SUCCESS

    def rebalance(self, args):
        parser = _Parser(prog='rebalance', add_help=False)
        parser.add_argument('--seed', type=int)
        parser.add_argument('--progress', action='store_true', default=None)
        parser.add_argument('--no-progress', dest='progress',
                            action='store_false')
        opts = parser.parse_args(args)
        builder = self.builder
        show = sys.stderr.isatty() if opts.progress is None \
            else opts.progress
        try:
            moved, balance, removed = builder.rebalance(
                seed=opts.seed, progress=show_progress if show else None)
        except RingError as err:
            raise CliError(str(err)) from None
        if not moved and not removed:
            self.say('No partitions could be reassigned. Either none need '
                     'to be or none can be due to min_part_hours [%d].'
                     % builder.min_part_hours)
            return EXIT_WARNING
        ring = builder.get_ring()
        self.save()
        ring.save(ring_path_for(self.path))
        for dev in removed:
            self.say('Removed device %s' % format_dev(dev))
        self.say('Reassigned %d (%.2f%%) partitions. Balance is now %.2f.  '
                 'Dispersion is now %.2f' % (
                     moved, 100.0 * moved / builder.parts, balance,
                     builder.dispersion))
        if balance > BALANCE_WARNING:
            self.say('NOTE: Balance of %.2f indicates you should push this '
                     'ring, wait at least %d hours, and rebalance/repush.'
                     % (balance, builder.min_part_hours))
            return EXIT_WARNING
        return EXIT_SUCCESS

    def write_ring(self, args):
        if args:
            raise CliError('write_ring takes no arguments')
        try:
            ring = self.builder.get_ring()
        except RingError as err:
            raise CliError(str(err)) from None
        ring.save(ring_path_for(self.path))
        self.say('Wrote %s' % ring_path_for(self.path))
        return EXIT_SUCCESS

    def validate(self, args):
        if args:
            raise CliError('validate takes no arguments')
        try:
            self.builder.validate()
        except RingError as err:
            raise CliError('validation failed: %s' % err) from None
        self.say('Ring validation passed')
        return EXIT_SUCCESS

    def dispersion(self, args):
        if args:
            raise CliError('dispersion takes no arguments')
        report = self.builder.dispersion_report()
        self.say('Dispersion is %.2f: %d of %d partitions have replicas '
                 'crowded in one tier more than the topology needs'
                 % (report['dispersion'], report['parts_crowded'],
                    self.builder.parts))
        for level, count in report['by_level'].items():
            self.say('  %-8s %d' % (level, count))
        return EXIT_SUCCESS

    def pretend_min_part_hours_passed(self, args):
        if args:
            raise CliError('pretend_min_part_hours_passed takes no arguments')
        self.builder.pretend_min_part_hours_passed()
        self.save()
        self.say('Every partition may move at the next rebalance')
        return EXIT_SUCCESS

    def set_min_part_hours(self, args):
        if len(args) != 1:
            raise CliError('set_min_part_hours needs HOURS')
        hours = _int_arg('min_part_hours', args[0])
        if hours < 0:
            raise CliError('min_part_hours must be >= 0')
        self.builder.min_part_hours = hours
        self.save()
        self.say('The minimum number of hours before a partition can be '
                 'reassigned is now set to %d' % hours)
        return EXIT_SUCCESS

    # -- summary -----------------------------------------------------------

    def summary(self):
        builder = self.builder
        devs = [dev for dev in builder.devs if dev is not None]
        regions = {dev['region'] for dev in devs}
        zones = {(dev['region'], dev['zone']) for dev in devs}
        self.say('%s, build version %d, id %s' % (
            os.path.basename(self.path), builder.version, builder.id))
        self.say('%d partitions, %.6f replicas, %d regions, %d zones, '
                 '%d devices, %.2f balance, %.2f dispersion' % (
                     builder.parts, builder.replicas, len(regions),
                     len(zones), len(devs), builder.get_balance(),
                     builder.dispersion))
        remaining = builder.min_part_hours_remaining()
        self.say('The minimum number of hours before a partition can be '
                 'reassigned is %d (%s remaining)' % (
                     builder.min_part_hours,
                     datetime.timedelta(seconds=remaining)))
        self.say(self._ring_file_status())
        self._dev_table(devs)
        return EXIT_SUCCESS

    def _ring_file_status(self):
        ring_path = ring_path_for(self.path)
        name = os.path.basename(ring_path)
        if not os.path.exists(ring_path):
            return 'Ring file %s not found, probably it has not been ' \
                   'written yet' % name
        try:
            ring = RingData.load(ring_path)
        except RingLoadError:
            return 'Ring file %s is invalid' % name
        if ring.build_version == self.builder.version:
            return 'Ring file %s is up-to-date' % name
        return 'Ring file %s is obsolete' % name

    def _dev_table(self, devs):
        builder = self.builder
        counts = builder.part_counts()
        balances = builder.dev_balances()
        removing = set(builder.pending_removal())
        self.say('Devices:   id region zone     ip address:port '
                 'replication ip:port  name weight partitions balance '
                 'flags meta')
        for dev in devs:
            address = '%s:%d' % (_bracket(dev['ip']), dev['port'])
            replication = '%s:%d' % (_bracket(dev['replication_ip']),
                                     dev['replication_port'])
            self.say('         %4d %6d %4d %20s %19s %5s %6.2f %10d %7.2f '
                     '%5s %s' % (
                         dev['id'], dev['region'], dev['zone'], address,
                         replication, dev['device'], dev['weight'],
                         counts.get(dev['id'], 0),
                         balances.get(dev['id'], 0.0),
                         'DEL' if dev['id'] in removing else '',
                         dev['meta']))


def _bracket(ip):
    return '[%s]' % ip if ':' in ip else ip


VERBS = ('create', 'add', 'remove', 'set_weight', 'search', 'list_parts',
         'rebalance', 'write_ring', 'validate', 'dispersion',
         'pretend_min_part_hours_passed', 'set_min_part_hours')


def show_progress(stage, done, total):
    """A rebalance's progress, on stderr: stdout keeps its report."""
    print('rebalance: %s %d/%d partitions' % (stage, done, total),
          file=sys.stderr, flush=True)


def run(argv, out=None):
    """Run one command line (without the program name); return exit code."""
    if not argv or argv[0] in ('-h', '--help', 'help'):
        print(USAGE, file=(out or sys.stdout) if argv else sys.stderr, end='')
        return EXIT_SUCCESS if argv else EXIT_ERROR
    command = Command(argv[0], out)
    if len(argv) == 1:
        return command.summary()
    verb, args = argv[1], argv[2:]
    if verb not in VERBS:
        raise CliError('unknown verb %r (one of: %s)'
                       % (verb, ', '.join(VERBS)))
    if verb != 'create':
        command.load()  # a missing or corrupt builder is the first error
    try:
        return getattr(command, verb)(args)
    except RingError as err:
        raise CliError(str(err)) from None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        return run(argv)
    except CliError as err:
        print('error: %s' % err, file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader (e.g. `| head`) has all it wanted; point stdout at
        # /dev/null so the interpreter's final flush does not fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_SUCCESS
    except OSError as err:
        # e.g. no permission to write beside the builder: the temp file is
        # gone and the old builder untouched.
        print('error: %s' % err, file=sys.stderr)
        return EXIT_ERROR


if __name__ == '__main__':
    sys.exit(main())
