"""The all-in-one data dir: what is where, and creating it the first time.

A data dir holds ``aio.json`` (format version and the layout it was made
with), ``etc/`` (objstore.conf, rings and builders, every config),
``nodes/<n>/d<n>`` (one device per storage node), ``recon/node<n>``,
``logs/`` and ``credentials.json``. Storage node n listens on
``storage_port_base + 10 * n`` (object), ``+ 1`` (container) and ``+ 2``
(account); the rsync daemon on ``storage_port_base + 3``.

Configs are generated from code here, never copied from etc/*-sample, so
that what the aio runs and what the tests run is one thing.

Two replication storage policies: ``Policy-0`` (index 0, the default,
``--replicas`` replicas, ``object.ring.gz``) and ``silver`` (alias
``reduced``; index 1, two replicas, ``object-1.ring.gz``) over the same
devices. A data dir made before policies existed keeps policy 0 alone.
With six devices or more, an erasure coding policy too: ``ec42`` (index
2, ``liberasurecode_rs_vand`` 4 data + 2 parity fragments, 1 MiB
segments, ``object-2.ring.gz`` with 6 replicas: one archive per node).
"""

import ipaddress
import json
import os
import secrets
from dataclasses import asdict, dataclass, field

from objstore.common.durable import write_atomic
from objstore.common.exceptions import ConfigError
from objstore.common.storage_policy import policy_ring_name
from objstore.middleware.name_check import LONGEST_API_PATH
from objstore.replicator.rsync import render_rsyncd_conf
from objstore.ring.builder import RingBuilder

LAYOUT_VERSION = 1
STORAGE_KINDS = ('object', 'container', 'account')
KIND_PORT_OFFSET = {'object': 0, 'container': 1, 'account': 2}
RSYNC_PORT_OFFSET = 3
NODE_PORT_STRIDE = 10
# What objstore-aio itself may have put in a data dir before aio.json:
# its lock and, when backgrounded, its own log.
BOOTSTRAP_FILES = frozenset(('aio.lock', 'aio.log'))

# index -> (objstore.conf options, replica count or None for --replicas)
AIO_POLICIES = {
    0: ((('name', 'Policy-0'), ('default', 'yes')), None),
    1: ((('name', 'silver'), ('aliases', 'reduced'),
         ('policy_type', 'replication')), 2),
}

# The EC policy of an aio with at least EC_MIN_DEVICES devices.
EC_POLICY_INDEX = 2
EC_MIN_DEVICES = 6
EC_POLICY = ((('name', 'ec42'), ('policy_type', 'erasure_coding'),
              ('ec_type', 'liberasurecode_rs_vand'),
              ('ec_num_data_fragments', '4'),
              ('ec_num_parity_fragments', '2')), 6)

DAEMONS = {
    'object': ('object-replicator', 'object-updater', 'object-auditor',
               'object-expirer', 'object-reconstructor'),
    'container': ('container-replicator', 'container-updater',
                  'container-auditor', 'container-reconciler'),
    'account': ('account-replicator', 'account-auditor', 'account-reaper'),
}


@dataclass(frozen=True)
class AioUser:
    """A tempauth user: ``account:user:key[:group,group]``."""

    account: str
    user: str
    key: str
    groups: tuple = ()

    @classmethod
    def parse(cls, text):
        parts = text.split(':')
        if len(parts) not in (3, 4) or not all(parts[:3]):
            raise ConfigError('--user wants ACCOUNT:USER:KEY[:GROUP,...], '
                              'got %r' % text)
        groups = tuple(g for g in parts[3].split(',') if g) \
            if len(parts) == 4 else ()
        for name in parts[:2]:
            if not name.replace('_', '').replace('-', '').isalnum():
                raise ConfigError('account and user names may hold letters, '
                                  'digits, "-" and "_" only: %r' % name)
        if any(c.isspace() for c in parts[2]):
            raise ConfigError('a key cannot contain spaces')
        return cls(parts[0], parts[1], parts[2], groups)

    @property
    def name(self):
        return '%s:%s' % (self.account, self.user)


@dataclass(frozen=True)
class AioLayout:
    """The shape of one aio cluster; saved as aio.json on first run."""

    replicas: int = 3
    devices: int = 4
    part_power: int = 10
    bind: str = '127.0.0.1'
    proxy_port: int = 8080
    storage_port_base: int = 6200
    # 0: the proxy serves in the process the aio supervises, as the storage
    # servers do. A prefork parent of one worker would only restart that
    # worker, which the aio's supervisor already does for the whole
    # process; it would cost an interpreter (~35 MiB) for nothing.
    proxy_workers: int = 0
    users: tuple = field(default_factory=tuple)
    token_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    version: int = LAYOUT_VERSION

    def validate(self):
        if not 1 <= self.devices <= 64:
            raise ConfigError('--devices must be 1..64')
        if not 1 <= self.replicas <= self.devices:
            raise ConfigError('--replicas must be 1..devices (%d)'
                              % self.devices)
        if not 1 <= self.part_power <= 20:
            raise ConfigError('--part-power must be 1..20')
        top = self.storage_port_base + NODE_PORT_STRIDE * self.devices
        if not 1 <= self.proxy_port <= 65535:
            raise ConfigError('--port must be 1..65535')
        if self.storage_port_base < 1 or top > 65535:
            raise ConfigError('--port-base must be 1..%d with %d devices'
                              % (65535 - NODE_PORT_STRIDE * self.devices,
                                 self.devices))
        if self.storage_port_base <= self.proxy_port < top:
            raise ConfigError('--port %d collides with the storage ports '
                              '%d..%d' % (self.proxy_port,
                                          self.storage_port_base, top))

    def port(self, kind, node):
        return (self.storage_port_base + NODE_PORT_STRIDE * node +
                KIND_PORT_OFFSET[kind])

    @property
    def rsync_port(self):
        return self.storage_port_base + RSYNC_PORT_OFFSET

    def all_ports(self):
        ports = [self.proxy_port, self.rsync_port]
        for node in range(self.devices):
            ports.extend(self.port(kind, node) for kind in STORAGE_KINDS)
        return ports

    def to_json(self):
        data = asdict(self)
        data['users'] = [asdict(u) for u in self.users]
        return data

    @classmethod
    def from_json(cls, data):
        users = tuple(AioUser(u['account'], u['user'], u['key'],
                              tuple(u.get('groups', ())))
                      for u in data.get('users', ()))
        known = {k: v for k, v in data.items()
                 if k in cls.__dataclass_fields__ and k != 'users'}
        return cls(users=users, **known)


class DataDir:
    """Paths inside one aio data dir."""

    def __init__(self, root):
        self.root = os.path.abspath(root)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    @property
    def etc(self):
        return self.path('etc')

    @property
    def layout_file(self):
        return self.path('aio.json')

    @property
    def logs(self):
        return self.path('logs')

    def node_devices(self, node):
        return self.path('nodes', str(node))

    def device_path(self, node):
        return self.path('nodes', str(node), 'd%d' % node)

    def server_conf(self, kind, node):
        return self.path('etc', 'node%d' % node, '%s-server.conf' % kind)

    @property
    def proxy_conf(self):
        return self.path('etc', 'proxy-server.conf')

    @property
    def s3_lifecycle_conf(self):
        return self.path('etc', 's3-lifecycle.conf')

    @property
    def rsyncd_conf(self):
        return self.path('etc', 'rsyncd.conf')

    def recon_cache(self, node):
        return self.path('recon', 'node%d' % node)


def default_users():
    """admin:admin with a fresh random key, admin of its account and
    reseller admin (may create and delete other accounts)."""
    return (AioUser('admin', 'admin', secrets.token_urlsafe(18),
                    ('.admin', '.reseller_admin')),)


def load_layout(data_dir):
    """The saved layout, None for an empty/new dir; refuses foreign dirs."""
    if not os.path.exists(data_dir.layout_file):
        if os.path.isdir(data_dir.root) and (
                set(os.listdir(data_dir.root)) - BOOTSTRAP_FILES):
            raise ConfigError(
                '%s is not empty and holds no aio.json: not an objstore-aio '
                'data dir; refusing to touch it' % data_dir.root)
        return None
    try:
        with open(data_dir.layout_file, encoding='utf-8') as f:
            data = json.load(f)
        layout = AioLayout.from_json(data)
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise ConfigError('%s is unreadable (%s); refusing to touch it'
                          % (data_dir.layout_file, err))
    if layout.version != LAYOUT_VERSION:
        raise ConfigError('%s was made by layout version %s; this objstore '
                          'uses %d' % (data_dir.root, layout.version,
                                       LAYOUT_VERSION))
    return layout


def _write_text(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_atomic(path, text.encode('utf-8'), mode)


def create_data_dir(data_dir, layout):
    """Lay out a new data dir: dirs, secrets, rings, configs, aio.json.

    aio.json is written last: a run interrupted before it leaves a dir that
    the next run rebuilds (it only holds what this function made).
    """
    for node in range(layout.devices):
        os.makedirs(data_dir.device_path(node), exist_ok=True)
        os.makedirs(data_dir.recon_cache(node), exist_ok=True)
    os.makedirs(data_dir.logs, exist_ok=True)
    _write_text(data_dir.path('etc', 'objstore.conf'), render_objstore_conf(
        secrets.token_hex(8), secrets.token_hex(8), layout.devices),
        mode=0o600)
    build_rings(data_dir, layout)
    write_configs(data_dir, layout)
    _write_text(data_dir.path('credentials.json'), json.dumps(
        {u.name: u.key for u in layout.users}, indent=2) + '\n', mode=0o600)
    _write_text(data_dir.layout_file,
                  json.dumps(layout.to_json(), indent=2) + '\n', mode=0o600)


def aio_policies(devices):
    """{index: (options, replicas)} of the policies of an aio with
    ``devices`` devices (EC only when it has one device per archive)."""
    policies = dict(AIO_POLICIES)
    if devices >= EC_MIN_DEVICES:
        policies[EC_POLICY_INDEX] = EC_POLICY
    return policies


def render_objstore_conf(prefix, suffix, devices=0):
    lines = [
        '[objstore-hash]',
        '# The secret salt of every placement in this cluster. Never change',
        '# these once data exists: every stored path would be lost.',
        'path_hash_prefix = %s' % prefix,
        'path_hash_suffix = %s' % suffix,
    ]
    for index, (options, _replicas) in sorted(aio_policies(devices).items()):
        lines.extend(['', '[storage-policy:%d]' % index])
        lines.extend('%s = %s' % option for option in options)
    return '\n'.join(lines) + '\n'


def ring_plan(layout):
    """[(ring name, kind, replica count)] of every ring the aio builds:
    account, container, and one object ring per storage policy."""
    plan = [(kind, kind, layout.replicas) for kind in STORAGE_KINDS
            if kind != 'object']
    for index, (_options, replicas) in sorted(
            aio_policies(layout.devices).items()):
        plan.append((policy_ring_name(index), 'object',
                     replicas or layout.replicas))
    return plan


def build_rings(data_dir, layout):
    """Every ring of ``ring_plan``: one device per node, one zone per
    node (no more replicas than devices)."""
    for name, kind, replicas in ring_plan(layout):
        builder = RingBuilder(layout.part_power,
                              min(replicas, layout.devices), 0)
        for node in range(layout.devices):
            builder.add_dev({
                'region': 1, 'zone': node + 1, 'ip': layout.bind,
                'port': layout.port(kind, node), 'device': 'd%d' % node,
                'weight': 100.0,
                'replication_ip': layout.bind,
                'replication_port': layout.port(kind, node)})
        builder.rebalance(seed=1)
        builder.save(data_dir.path('etc', '%s.builder' % name))
        builder.get_ring().save(data_dir.path('etc', '%s.ring.gz' % name))


def write_configs(data_dir, layout):
    for node in range(layout.devices):
        for kind in STORAGE_KINDS:
            _write_text(data_dir.server_conf(kind, node),
                          render_server_conf(data_dir, layout, kind, node))
    _write_text(data_dir.proxy_conf, render_proxy_conf(data_dir, layout),
                  mode=0o600)
    _write_text(data_dir.rsyncd_conf, render_rsyncd(data_dir, layout))
    _write_text(data_dir.s3_lifecycle_conf,
                render_s3_lifecycle_conf(data_dir))


def render_server_conf(data_dir, layout, kind, node):
    lines = [
        '[DEFAULT]',
        'devices = %s' % data_dir.node_devices(node),
        'mount_check = false',
        'bind_ip = %s' % layout.bind,
        'bind_port = %d' % layout.port(kind, node),
        'workers = 0',
        'conf_dir = %s' % data_dir.etc,
        'recon_cache_path = %s' % data_dir.recon_cache(node),
        'log_name = %s-server-%d' % (kind, node),
        '',
        '[pipeline:main]',
        'pipeline = metrics healthcheck recon %s-server' % kind,
        '',
        '[app:%s-server]' % kind,
        'use = egg:objstore#%s' % kind,
        '',
        '[filter:metrics]',
        'use = egg:objstore#metrics',
        # One server per node reports the node's figures.
        'node_stats = %s' % ('true' if kind == 'object' else 'false'),
        '',
        '[filter:healthcheck]',
        'use = egg:objstore#healthcheck',
        '',
        '[filter:recon]',
        'use = egg:objstore#recon',
        '',
    ]
    # No interval here: each daemon's default is Swift's (30 s for the
    # replicators, 300 s for updaters, 1800 s for the DB auditors...), what
    # keeps an idle aio quiet.
    for daemon in DAEMONS[kind]:
        lines.extend(['[%s]' % daemon, 'log_name = %s-%d' % (daemon, node)])
        if daemon.endswith('replicator'):
            lines.extend([
                'rsync_module = {replication_ip}::%s{replication_port}' % kind,
                'rsync_port = %d' % layout.rsync_port])
        lines.append('')
    return '\n'.join(lines)


def _tempauth_lines(layout):
    lines = []
    for user in layout.users:
        value = ' '.join((user.key,) + tuple(user.groups))
        lines.append('user_%s_%s = %s' % (user.account, user.user, value))
    return lines


# The S3 region the aio's s3api serves (what clients sign for).
S3_LOCATION = 'us-east-1'


def render_proxy_conf(data_dir, layout):
    lines = [
        '[DEFAULT]',
        'bind_ip = %s' % layout.bind,
        'bind_port = %d' % layout.proxy_port,
        'workers = %d' % layout.proxy_workers,
        'conf_dir = %s' % data_dir.etc,
        'log_name = proxy-server',
        '',
        '[pipeline:main]',
        'pipeline = catch_errors gatekeeper healthcheck proxy_logging '
        'metrics console domain_remap crossdomain list_endpoints '
        'listing_formats bulk tempurl formpost ratelimit name_check s3api '
        'tempauth staticweb copy container_quotas account_quotas slo dlo '
        'versioned_writes object_versioning symlink etag_quoter '
        'proxy-server',
        '',
        '[app:proxy-server]',
        'use = egg:objstore#proxy',
        'account_autocreate = true',
        '',
        '[filter:catch_errors]',
        'use = egg:objstore#catch_errors',
        '',
        '[filter:gatekeeper]',
        'use = egg:objstore#gatekeeper',
        '',
        '[filter:healthcheck]',
        'use = egg:objstore#healthcheck',
        '',
        '[filter:proxy_logging]',
        'use = egg:objstore#proxy_logging',
        '',
        '[filter:metrics]',
        'use = egg:objstore#metrics',
        '',
        '[filter:console]',
        'use = egg:objstore#console',
        '',
        '[filter:copy]',
        'use = egg:objstore#copy',
        '',
        '[filter:tempurl]',
        'use = egg:objstore#tempurl',
        '',
        '[filter:formpost]',
        'use = egg:objstore#formpost',
        '',
        '[filter:bulk]',
        'use = egg:objstore#bulk',
        '',
        '[filter:staticweb]',
        'use = egg:objstore#staticweb',
        '',
        '[filter:container_quotas]',
        'use = egg:objstore#container_quotas',
        '',
        '[filter:account_quotas]',
        'use = egg:objstore#account_quotas',
        '',
        '[filter:ratelimit]',
        'use = egg:objstore#ratelimit',
        '',
        '[filter:name_check]',
        'use = egg:objstore#name_check',
        # Swift's default pipeline has no name_check: the aio's refuses
        # nothing that Swift's API accepts (its limits are for operators).
        'forbidden_chars = ',
        'forbidden_regexp = ',
        'maximum_length = %d' % LONGEST_API_PATH,
        '',
        '[filter:etag_quoter]',
        'use = egg:objstore#etag_quoter',
        '',
        '[filter:domain_remap]',
        'use = egg:objstore#domain_remap',
        '',
        '[filter:crossdomain]',
        'use = egg:objstore#crossdomain',
        '',
        '[filter:list_endpoints]',
        'use = egg:objstore#list_endpoints',
        '',
        '[filter:listing_formats]',
        'use = egg:objstore#listing_formats',
        '',
        '[filter:s3api]',
        'use = egg:objstore#s3api',
        'location = %s' % S3_LOCATION,
        'storage_domain = ',
        '',
        '[filter:slo]',
        'use = egg:objstore#slo',
        # S3 multipart uploads of up to 10,000 parts are SLOs.
        'max_manifest_segments = 10000',
        '',
        '[filter:dlo]',
        'use = egg:objstore#dlo',
        '',
        '[filter:versioned_writes]',
        'use = egg:objstore#versioned_writes',
        'allow_versioned_writes = true',
        '',
        '[filter:object_versioning]',
        'use = egg:objstore#object_versioning',
        '',
        '[filter:symlink]',
        'use = egg:objstore#symlink',
        '',
        '[filter:tempauth]',
        'use = egg:objstore#tempauth',
        'token_secret = %s' % layout.token_secret,
    ] + _tempauth_lines(layout) + ['']
    return '\n'.join(lines)


# Seconds between the aio's lifecycle passes: short, so that a user who
# set a rule sees it fire soon after its day has passed.
S3_LIFECYCLE_INTERVAL = 10


def render_s3_lifecycle_conf(data_dir):
    """objstore-s3-lifecycle's config: its options and the in-process
    pipeline it sends its requests through (no gatekeeper, no auth:
    common.internal_client)."""
    return '\n'.join([
        '[DEFAULT]',
        'conf_dir = %s' % data_dir.etc,
        'log_name = s3-lifecycle',
        '',
        '[s3-lifecycle]',
        'interval = %d' % S3_LIFECYCLE_INTERVAL,
        'day_seconds = 86400',
        'objects_per_second = 50',
        '',
        '[pipeline:internal]',
        'pipeline = catch_errors proxy_logging slo dlo object_versioning '
        'symlink proxy-server',
        '',
        '[app:proxy-server]',
        'use = egg:objstore#proxy',
        'account_autocreate = true',
        '',
        '[filter:catch_errors]',
        'use = egg:objstore#catch_errors',
        '',
        '[filter:proxy_logging]',
        'use = egg:objstore#proxy_logging',
        '',
        '[filter:slo]',
        'use = egg:objstore#slo',
        'max_manifest_segments = 10000',
        '',
        '[filter:dlo]',
        'use = egg:objstore#dlo',
        '',
        '[filter:object_versioning]',
        'use = egg:objstore#object_versioning',
        '',
        '[filter:symlink]',
        'use = egg:objstore#symlink',
        '',
    ])


def rsync_address(bind):
    """Where the aio's rsync daemon listens, and the one client address
    it serves: every node is on this machine, and the writable modules
    must not be reachable from any other. A wildcard ``--bind`` (storage
    servers on every interface) still keeps rsync on loopback, where the
    replicators' connections to the wildcard address arrive."""
    try:
        address = ipaddress.ip_address(bind)
    except ValueError:
        return bind  # a host name: rsync resolves it like the servers do
    if address.is_unspecified:
        return '::1' if address.version == 6 else '127.0.0.1'
    return bind


def render_rsyncd(data_dir, layout):
    """rsyncd.conf: one module per node and kind, named kind + port."""
    modules = [('%s%d' % (kind, layout.port(kind, node)),
                data_dir.node_devices(node))
               for node in range(layout.devices) for kind in STORAGE_KINDS]
    return render_rsyncd_conf(
        modules, layout.rsync_port, data_dir.path('rsyncd.pid'),
        data_dir.path('logs', 'rsyncd.log'),
        address=rsync_address(layout.bind))
