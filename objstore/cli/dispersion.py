"""``objstore-dispersion-populate`` and ``objstore-dispersion-report``:
how many copies of a sample of containers and objects are where the rings
say they should be, as Swift's dispersion tools report it.

Populate (once, through the proxy, as a user of ``dispersion.conf``):
creates containers named ``dispersion_<n>`` until their names cover
``dispersion_coverage`` percent of the container ring's partitions, and in
the container ``dispersion_objects`` (of the default policy, or
``--policy-name``) one small object per covered object partition. The
names are found by trying ``<prefix><n>`` for n = 0, 1, ... and keeping
the first name of each partition not yet covered; the report finds the
same names again by listing them.

Report: asks every primary of each sampled container and object directly
(HEAD to the storage servers, not through the proxy) and counts copies
found, partitions missing 1, 2, ... copies, and the devices that answered
errors. Exit status: 0 when every copy was found, 2 when some were not,
1 on a usage or config error. ``--json`` prints Swift's field names.

Config: ``[dispersion]`` with ``auth_url`` (tempauth ``/auth/v1.0``),
``auth_user``, ``auth_key``, ``conf_dir`` (rings), ``dispersion_coverage``
(percent, default 1.0), ``concurrency``, ``timeout``.
"""

import argparse
import configparser
import dataclasses
import json
import math
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from swiftclient.client import ClientException, Connection

from objstore.common.backend_client import BACKEND_ERRORS, direct_request
from objstore.common.config import ConfBase
from objstore.common.exceptions import ConfigError
from objstore.common.hashing import load_hash_conf
from objstore.common.storage_policy import load_policies
from objstore.ring.ring import Ring

CONTAINER_PREFIX = 'dispersion_'
OBJECTS_CONTAINER = 'dispersion_objects'
OBJECT_PREFIX = 'dispersion_'
POLICY_HEADER = 'X-Backend-Storage-Policy-Index'
# Names tried per partition to cover before giving up (a ring whose
# partitions no short name reaches would otherwise loop for ever).
NAME_TRIES_PER_PARTITION = 1000


@dataclasses.dataclass(frozen=True)
class DispersionConf(ConfBase):
    """The ``[dispersion]`` options (defaults only here)."""

    auth_url: str = 'http://127.0.0.1:8080/auth/v1.0'
    auth_user: str = 'test:tester'
    auth_key: str = 'testing'
    conf_dir: str = '/etc/objstore'
    dispersion_coverage: float = 1.0
    concurrency: int = 25
    timeout: float = 5.0

    def validate(self):
        if not 0 < self.dispersion_coverage <= 100:
            raise ConfigError('dispersion_coverage must be in (0, 100]')
        if self.concurrency < 1:
            raise ConfigError('concurrency must be >= 1')
        if self.timeout <= 0:
            raise ConfigError('timeout must be > 0')


def load_conf(path):
    parser = configparser.ConfigParser(interpolation=None)
    if not parser.read(path):
        raise ConfigError('cannot read %s' % path)
    if not parser.has_section('dispersion'):
        raise ConfigError('%s has no [dispersion] section' % path)
    return DispersionConf.from_conf(dict(parser.items('dispersion')))


def partitions_wanted(partition_count, coverage):
    """How many partitions a ``coverage`` percent sample covers (>= 1).

    >>> partitions_wanted(1024, 1.0), partitions_wanted(64, 100.0)
    (11, 64)
    """
    return max(1, min(partition_count,
                      math.ceil(partition_count * coverage / 100.0)))


def covering_names(part_of, partition_count, coverage, prefix):
    """[(name, partition)]: the first name ``<prefix><n>`` of each
    partition until ``coverage`` percent of them are covered.

    >>> covering_names(lambda name: int(name[1:]) % 4, 4, 50.0, 'x')
    [('x0', 0), ('x1', 1)]
    """
    wanted = partitions_wanted(partition_count, coverage)
    found, seen = [], set()
    limit = wanted * NAME_TRIES_PER_PARTITION
    number = 0
    while len(found) < wanted and number < limit:
        name = '%s%d' % (prefix, number)
        part = part_of(name)
        if part not in seen:
            seen.add(part)
            found.append((name, part))
        number += 1
    return found


# ---------------------------------------------------------------- populate


def connect(conf):
    return Connection(conf.auth_url, conf.auth_user, conf.auth_key,
                      retries=2, timeout=conf.timeout)


def account_of(conn):
    return conn.get_auth()[0].rstrip('/').rsplit('/', 1)[1]


def populate(conf, policy_name=None, out=sys.stdout, containers=True,
             objects=True):
    conn = connect(conf)
    account = account_of(conn)
    hash_conf = load_hash_conf(conf.conf_dir)
    if containers:
        ring = Ring(conf.conf_dir, 'container', hash_conf=hash_conf)
        names = covering_names(
            lambda name: ring.get_part(account, name), ring.partition_count,
            conf.dispersion_coverage, CONTAINER_PREFIX)
        started = time.monotonic()
        _parallel(conf, lambda item: conn.put_container(item[0]), names)
        out.write('Created %d containers for dispersion reporting, %ds\n'
                  % (len(names), time.monotonic() - started))
    if objects:
        policy = _policy(conf, policy_name)
        headers = {'X-Storage-Policy': policy.name}
        conn.put_container(OBJECTS_CONTAINER, headers=headers)
        ring = Ring(conf.conf_dir, policy.ring_name, hash_conf=hash_conf)
        names = covering_names(
            lambda name: ring.get_part(account, OBJECTS_CONTAINER, name),
            ring.partition_count, conf.dispersion_coverage, OBJECT_PREFIX)
        started = time.monotonic()
        _parallel(conf, lambda item: conn.put_object(
            OBJECTS_CONTAINER, item[0], item[0].encode()), names)
        out.write('Created %d objects for dispersion reporting, %ds\n'
                  % (len(names), time.monotonic() - started))


def _policy(conf, policy_name):
    policies = load_policies(conf.conf_dir)
    if policy_name is None:
        return policies.default
    policy = policies.get_by_name(policy_name)
    if policy is None:
        raise ConfigError('No policy named %r' % policy_name)
    return policy


def _parallel(conf, call, items):
    with ThreadPoolExecutor(conf.concurrency) as pool:
        list(pool.map(call, items))


# ------------------------------------------------------------------ report


@dataclasses.dataclass
class Tally:
    """Copies found of one kind (containers or objects)."""

    sampled: int = 0
    expected: int = 0
    found: int = 0
    missing: Counter = dataclasses.field(default_factory=Counter)
    errors: Counter = dataclasses.field(default_factory=Counter)

    def add(self, copies_found, replicas, failed_devices):
        self.sampled += 1
        self.expected += replicas
        self.found += copies_found
        self.missing[replicas - copies_found] += 1
        self.errors.update(failed_devices)

    @property
    def percent(self):
        return 100.0 * self.found / self.expected if self.expected else 0.0

    def as_json(self, partition_count):
        """Swift's ``--dump-json`` fields."""
        record = {'retries': 0, 'copies_expected': self.expected,
                  'copies_found': self.found, 'pct_found': self.percent,
                  'overlapping': 0, 'partitions': self.sampled,
                  'sample_pct': 100.0 * self.sampled / partition_count}
        for count, partitions in self.missing.items():
            record['missing_%d' % count] = partitions
        record['errors'] = dict(self.errors)
        return record


def count_copies(nodes, part, path, headers, timeout):
    """(copies that answered 2xx, ['ip:port/device' that failed])."""
    found, failed = 0, []
    for node in nodes:
        try:
            status, _h, _b = direct_request(
                node['ip'], node['port'], 'HEAD',
                '/%s/%d/%s' % (node['device'], part, path), headers,
                conn_timeout=timeout, node_timeout=timeout)
        except BACKEND_ERRORS:
            failed.append('%s:%s/%s' % (node['ip'], node['port'],
                                        node['device']))
            continue
        if 200 <= status < 300:
            found += 1
        elif status != 404:
            failed.append('%s:%s/%s' % (node['ip'], node['port'],
                                        node['device']))
    return found, failed


def listed_names(conn, container, prefix):
    """Every name under ``prefix`` in ``container`` (account if None)."""
    if container is None:
        _h, entries = conn.get_account(prefix=prefix, full_listing=True)
    else:
        _h, entries = conn.get_container(container, prefix=prefix,
                                         full_listing=True)
    return [entry['name'] for entry in entries]


def container_report(conf, conn, account, ring):
    names = [name for name in listed_names(conn, None, CONTAINER_PREFIX)
             if name != OBJECTS_CONTAINER]
    return _tally(conf, names, lambda name: (
        ring.get_nodes(account, name), '%s/%s' % (account, name), {}))


def object_report(conf, conn, account, ring, policy_index):
    names = listed_names(conn, OBJECTS_CONTAINER, OBJECT_PREFIX)
    headers = {POLICY_HEADER: str(policy_index)}
    return _tally(conf, names, lambda name: (
        ring.get_nodes(account, OBJECTS_CONTAINER, name),
        '%s/%s/%s' % (account, OBJECTS_CONTAINER, name), headers))


def _tally(conf, names, target_of):
    tally = Tally()

    def check(name):
        (part, nodes), path, headers = target_of(name)
        return count_copies(nodes, part, path, headers, conf.timeout) + (
            len(nodes),)

    with ThreadPoolExecutor(conf.concurrency) as pool:
        for found, failed, replicas in pool.map(check, names):
            tally.add(found, replicas, failed)
    return tally


def print_tally(kind, tally, partition_count, seconds, out):
    out.write('Queried %d %ss for dispersion reporting, %ds, 0 retries\n'
              % (tally.sampled, kind, seconds))
    for count in sorted(tally.missing):
        if count:
            out.write('There were %d partitions missing %d cop%s.\n' % (
                tally.missing[count], count, 'y' if count == 1 else 'ies'))
    out.write('%.2f%% of %s copies found (%d of %d)\n' % (
        tally.percent, kind, tally.found, tally.expected))
    out.write('Sample represents %.2f%% of the %s partition space\n' % (
        100.0 * tally.sampled / partition_count, kind))
    for device, errors in sorted(tally.errors.items()):
        out.write('ERROR: %s answered %d request%s with an error\n' % (
            device, errors, '' if errors == 1 else 's'))


def report(conf, policy_name=None, as_json=False, out=sys.stdout):
    """Run the report; True when every copy was found."""
    conn = connect(conf)
    account = account_of(conn)
    hash_conf = load_hash_conf(conf.conf_dir)
    policy = _policy(conf, policy_name)
    results = {}
    for kind, ring in (
            ('container', Ring(conf.conf_dir, 'container',
                               hash_conf=hash_conf)),
            ('object', Ring(conf.conf_dir, policy.ring_name,
                            hash_conf=hash_conf))):
        started = time.monotonic()
        if kind == 'container':
            tally = container_report(conf, conn, account, ring)
        else:
            tally = object_report(conf, conn, account, ring, policy.index)
        results[kind] = (tally, ring.partition_count,
                         time.monotonic() - started)
    if as_json:
        out.write(json.dumps({kind: tally.as_json(parts) for kind, (
            tally, parts, _s) in results.items()}, sort_keys=True) + '\n')
    else:
        for kind, (tally, parts, seconds) in results.items():
            print_tally(kind, tally, parts, seconds, out)
    return all(t.found == t.expected and t.sampled
               for t, _p, _s in results.values())


# -------------------------------------------------------------- entry points


def _parser(prog, description):
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument('conf_file', nargs='?',
                        default='/etc/objstore/dispersion.conf')
    parser.add_argument('--policy-name', default=None,
                        help='storage policy of the sampled objects '
                             '(default: the default policy)')
    return parser


def populate_main(argv=None, out=None):
    parser = _parser('objstore-dispersion-populate',
                     'Place the containers and objects the dispersion '
                     'report samples.')
    parser.add_argument('--container-only', action='store_true')
    parser.add_argument('--object-only', action='store_true')
    args = parser.parse_args(argv)
    out = out or sys.stdout
    try:
        populate(load_conf(args.conf_file), args.policy_name, out,
                 containers=not args.object_only,
                 objects=not args.container_only)
    except (ConfigError, ClientException, OSError) as err:
        sys.stderr.write('objstore-dispersion-populate: %s\n' % err)
        return 1
    return 0


def report_main(argv=None, out=None):
    parser = _parser('objstore-dispersion-report',
                     'Report how many copies of the sample are in place.')
    parser.add_argument('--json', action='store_true',
                        help="Swift's --dump-json fields")
    args = parser.parse_args(argv)
    out = out or sys.stdout
    try:
        complete = report(load_conf(args.conf_file), args.policy_name,
                          args.json, out)
    except (ConfigError, ClientException, OSError) as err:
        sys.stderr.write('objstore-dispersion-report: %s\n' % err)
        return 1
    return 0 if complete else 2
