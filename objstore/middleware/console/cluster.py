"""What the console shows of the cluster, gathered from the rings, the
storage servers' ``/recon/...`` and their ``/metrics``.

Owns turning those sources into plain values the pages render: one
``RingView`` per ring file (partitions, weight and balance per device,
the ring's dispersion), node status (``NodeStatus``: daemons' last passes,
async pendings, quarantines, disk usage, whether each server answered)
and request totals per server for the rates. I/O is limited to
``read_rings`` (ring files) and ``gather_status`` / ``gather_request_totals``
(HTTP through common.recon_client); the summaries are pure functions of
what those return. It renders no HTML and keeps no history.

A node is an object server's ``ip:port``: every host runs the same set of
servers sharing its disks and daemons' status (DESIGN.md), so the object
servers' answers cover each node once; every other server is asked only
for its disk usage, which tells whether it is up.
"""

import dataclasses
import os

from objstore.common import metrics
from objstore.common.recon_client import fetch_many, fetch_raw, gather
from objstore.ring.placement import (
    dev_balances, dispersion_report, part_counts)
from objstore.ring.ringdata import RingData
from objstore.ring.servers import ring_paths, servers_by_kind

NODE_SECTIONS = ('daemons', 'async', 'quarantined')
REQUESTS_SAMPLE = 'objstore_requests_total'
QUARANTINE_KINDS = ('objects', 'containers', 'accounts')


@dataclasses.dataclass(frozen=True)
class DeviceRow:
    """One device of a ring, with its share of the partitions."""

    id: int
    region: int
    zone: int
    ip: str
    port: int
    device: str
    weight: float
    parts: int
    balance: float


@dataclasses.dataclass(frozen=True)
class RingView:
    """One ring file as the ring page shows it."""

    name: str
    replicas: int
    partitions: int
    devices: tuple
    balance: float
    dispersion: float
    parts_crowded: int

    @property
    def weight(self):
        return sum(dev.weight for dev in self.devices)


def ring_view(name, data):
    """The RingView of ``data`` (a RingData), computed without I/O."""
    table = data.replica2part2dev
    parts = data.partition_count
    counts = part_counts(table, len(data.devs))
    balances = dev_balances(data.devs, table, parts, len(table))
    rows = tuple(
        DeviceRow(id=dev['id'], region=dev.get('region', 1),
                  zone=dev.get('zone', 1), ip=dev['ip'],
                  port=int(dev['port']), device=dev['device'],
                  weight=float(dev.get('weight', 0)),
                  parts=counts[dev['id']], balance=balances[dev['id']])
        for dev in data.devs if dev is not None)
    spread = dispersion_report(data.devs, table, parts)
    return RingView(
        name=name, replicas=len(table), partitions=parts, devices=rows,
        balance=max((abs(row.balance) for row in rows), default=0.0),
        dispersion=spread['dispersion'],
        parts_crowded=spread['parts_crowded'])


def read_rings(conf_dir):
    """[RingView] of every ring file in ``conf_dir``, by file name."""
    views = []
    for path in ring_paths(conf_dir):
        name = os.path.basename(path)[:-len('.ring.gz')]
        views.append(ring_view(name, RingData.load(path)))
    return views


# -- node status -------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class DaemonPass:
    """The last pass of one daemon on one device of a node (``age`` None
    when no pass has ended)."""

    daemon: str
    device: str
    end: float
    duration: float
    age: float
    failures: int
    counts: dict


@dataclasses.dataclass(frozen=True)
class NodeStatus:
    """What one node's object server says of the node."""

    node: str
    error: str
    passes: tuple
    async_pendings: int
    quarantined: dict

    @property
    def failures(self):
        return sum(p.failures for p in self.passes)

    def oldest_age(self, suffix):
        """Age of the oldest last pass of the daemons named ``*suffix``."""
        ages = [p.age for p in self.passes
                if p.daemon.endswith(suffix) and p.age is not None]
        return max(ages) if ages else None


def _number(value):
    """A recon figure, or 0 where a node sent something else."""
    return value if isinstance(value, (int, float)) else 0


def daemon_passes(answer):
    """DaemonPass of each (daemon, device) in a ``/recon/daemons`` answer."""
    passes = []
    for daemon in sorted(answer or {}):
        for device, record in sorted(answer[daemon].items()):
            counts = record.get('counts') or {}
            passes.append(DaemonPass(
                daemon=daemon, device=device,
                end=_number(record.get('pass_end')),
                duration=_number(record.get('duration')),
                age=record.get('age') if isinstance(
                    record.get('age'), (int, float)) else None,
                failures=int(sum(_number(counts.get(name))
                                 for name in ('failures', 'errors'))),
                counts=dict(counts)))
    return tuple(passes)


def node_status(node, daemons, async_answer, quarantine):
    """The NodeStatus of one node's three recon answers; the first error
    among them marks the node down."""
    for answer in (daemons, async_answer, quarantine):
        if isinstance(answer, dict) and 'error' in answer:
            return NodeStatus(node, answer['error'], (), 0,
                              dict.fromkeys(QUARANTINE_KINDS, 0))
    return NodeStatus(
        node=node, error='', passes=daemon_passes(daemons),
        async_pendings=int(_number(async_answer.get('total'))),
        quarantined={kind: int(_number(quarantine.get(kind)))
                     for kind in QUARANTINE_KINDS})


def node_statuses(results, nodes):
    """[NodeStatus] of each node ('ip:port') from ``gather`` results of
    NODE_SECTIONS (async pendings are asked of object servers)."""
    def answer(section, kind, node):
        return results.get(section, {}).get(kind, {}).get(node, {})
    return [node_status(node, answer('daemons', 'all', node),
                        answer('async', 'object', node),
                        answer('quarantined', 'all', node))
            for node in nodes]


@dataclasses.dataclass(frozen=True)
class ServerHealth:
    """One storage server: up or not, and its devices' usage."""

    kind: str
    server: str
    error: str
    disks: tuple


def server_health(by_kind, results):
    """[ServerHealth] of every server of every kind from ``diskusage``."""
    answers = results.get('diskusage', {}).get('all', {})
    health = []
    for kind in sorted(by_kind):
        for ip, port in by_kind[kind]:
            where = '%s:%d' % (ip, port)
            answer = answers.get(where, {'error': 'not asked'})
            if isinstance(answer, dict):
                health.append(ServerHealth(kind, where,
                                           answer.get('error', '?'), ()))
            else:
                health.append(ServerHealth(kind, where, '', tuple(answer)))
    return health


def mounted_disks(health):
    """{(host, device): disk usage} of every mounted device, each disk
    once: the servers of one host share its devices dir."""
    disks = {}
    for entry in health:
        host = entry.server.rsplit(':', 1)[0]
        for disk in entry.disks:
            if disk.get('mounted'):
                disks.setdefault((host, disk['device']), disk)
    return disks


@dataclasses.dataclass(frozen=True)
class ClusterStatus:
    """One look at the whole cluster."""

    servers: dict
    health: tuple
    nodes: tuple


def gather_status(conf_dir, timeout):
    """ClusterStatus: every server's disk usage, every node's status."""
    by_kind = servers_by_kind(conf_dir)
    nodes = ['%s:%d' % server for server in by_kind.get('object', [])]
    usage = gather(by_kind, ('diskusage',), timeout)
    status = gather({'object': by_kind.get('object', [])}, NODE_SECTIONS,
                    timeout)
    return ClusterStatus(servers=by_kind,
                         health=tuple(server_health(by_kind, usage)),
                         nodes=tuple(node_statuses(status, nodes)))


# -- request totals ----------------------------------------------------

def request_totals(samples):
    """{server label: requests answered} of parsed metric samples."""
    totals = {}
    for name, labels, value in samples:
        if name == REQUESTS_SAMPLE:
            server = labels.get('server', '?')
            totals[server] = totals.get(server, 0.0) + value
    return totals


def gather_request_totals(conf_dir, timeout):
    """{server label: requests} of this proxy (all its workers) and every
    storage server, read from their metrics; unreachable servers are
    left out."""
    own, _content_type = metrics.render()
    totals = request_totals(metrics.parse_samples(own.decode('utf-8')))
    servers = sorted({server for found in servers_by_kind(conf_dir).values()
                      for server in found})
    bodies = fetch_many([(server, '/metrics') for server in servers],
                        fetch_raw, timeout)
    for body, error in bodies:
        if error is None:
            found = request_totals(metrics.parse_samples(
                body.decode('utf-8', 'replace')))
            for server, count in found.items():
                totals[server] = totals.get(server, 0.0) + count
    return totals
