"""The object reconstructor: keeps every erasure-coded archive where it
belongs.

Owns one pass over this node's devices for each ``erasure_coding``
policy. For a partition this device is a primary of (ring position
``p``), it compares suffix hashes with its right-hand partner (position
``p + 1``; suffix hashes ignore fragment indexes, ``ondisk``), and for
each object of a differing suffix asks the partner (HEAD) whether it holds
that durable timestamp; when it does not, the partner's archive is rebuilt
from ``k`` others (GET from the other primaries, ``reconstruct`` segment
by segment) and sent to it with the two-phase PUT of the proxy (the
archive, then the commit). A newer tombstone here is sent as a DELETE.
Every node looking after its right-hand partner, a lost device is rebuilt
by its left-hand one in one pass (two adjacent lost devices in two).

A partition this device holds without being a primary (a handoff archive
of a PUT made while a primary was down) is reverted: each archive is sent
to the primary of its fragment index unless that one already holds it, a
tombstone to every primary, POST metadata likewise, and each file is
removed here only after its primary confirmed it (commit 2xx); then the
empty partition dir goes.

It must not decide the on-disk rules (``ondisk``) or the wire format of
the two phases (``object.server``); it speaks HTTP to the object servers
like the proxy does. Rate-limited (``objects_per_second``); one summary
line per pass; per-device recon status.
"""

import dataclasses
import json
import os

from objstore.common import green
from objstore.common.backend_client import (
    BACKEND_ERRORS, BackendClient, direct_request)
from objstore.common.daemon import (
    Daemon, DaemonConf, DaemonStats, RateLimiter, local_devices,
    run_concurrently, run_daemon, usable_device_path)
from objstore.common.erasure import ECScheme
from objstore.common.exceptions import ConfigError, DiskFileBadMetadata
from objstore.common.http_basics import (
    EC_COMMIT_HEADER, POLICY_HEADER, is_success)
from objstore.common.storage_policy import (
    ERASURE_CODING, load_policies, policy_ring_name)
from objstore.common.timestamp import Timestamp
from objstore.object import hashdir, hashes, metadata as md, ondisk
from objstore.object.ec_diskfile import FRAG_INDEX_HEADER, frag_index_of
from objstore.replicator.object_replicator import differing_suffixes
from objstore.ring.ring import Ring

SUMMARY_COUNTS = ('partitions', 'suffixes_checked', 'reconstructed',
                  'reverted', 'deletes_sent', 'handoffs_removed', 'failures')
# Stored metadata an archive's PUT carries on (user and system metadata
# by prefix, these by name).
CARRIED_HEADERS = ('content-type', 'content-encoding', 'content-disposition',
                   'x-delete-at', 'x-static-large-object')
CARRIED_PREFIXES = ('x-object-meta-', 'x-object-sysmeta-')
EC_LENGTH = 'x-object-sysmeta-ec-content-length'
DATA_TIMESTAMP = 'x-backend-data-timestamp'
SEND_CHUNK = 65536


@dataclasses.dataclass(frozen=True)
class ObjectReconstructorConf(DaemonConf):
    """Options of [object-reconstructor] (DaemonConf's from [DEFAULT])."""

    concurrency: int = 2
    conn_timeout: float = 0.5
    http_timeout: float = 60.0
    objects_per_second: float = 50.0
    reclaim_age: int = ondisk.DEFAULT_RECLAIM_AGE

    def validate(self):
        super().validate()
        if self.concurrency < 1:
            raise ConfigError('concurrency must be >= 1')
        if self.conn_timeout <= 0 or self.http_timeout <= 0:
            raise ConfigError('conn_timeout and http_timeout must be > 0')
        if self.objects_per_second < 0 or self.reclaim_age < 0:
            raise ConfigError('objects_per_second and reclaim_age must be '
                              '>= 0')


@dataclasses.dataclass
class ECJob:
    """One partition of one local device in one EC policy."""

    device_path: str
    policy_index: int
    partition: int
    scheme: ECScheme
    primaries: list
    position: int = None  # ring position here, None for a handoff

    @property
    def partition_dir(self):
        return hashdir.partition_path(self.device_path, self.policy_index,
                                      self.partition)

    def frag_index(self, position):
        return self.scheme.fragment_index(position)


def carried_headers(stored):
    """The headers that re-create an archive's metadata on another node,
    from its stored metadata or a GET's headers (any case); the fragment
    index is the caller's to add.

    >>> carried_headers({'Content-Type': 'a/b', 'ETag': 'x',
    ...                  'X-Object-Sysmeta-Ec-Frag-Index': '1',
    ...                  'X-Object-Meta-Color': 'red', 'name': '/a/c/o'})
    {'Content-Type': 'a/b', 'X-Object-Meta-Color': 'red'}
    """
    return {key: value for key, value in stored.items()
            if (key.lower() in CARRIED_HEADERS
                or key.lower().startswith(CARRIED_PREFIXES))
            and key.lower() != FRAG_INDEX_HEADER.lower()}


def segment_fragment_sizes(length, scheme):
    """The fragment size of each segment of an object of ``length`` bytes.

    >>> scheme = ECScheme('liberasurecode_rs_vand', 4, 2, 1000)
    >>> sizes = segment_fragment_sizes(2500, scheme)
    >>> len(sizes), sizes[0] == sizes[1] == scheme.fragment_size
    (3, True)
    """
    sizes = []
    for offset in range(0, length, scheme.segment_size):
        sizes.append(scheme.fragment_size_of(
            min(scheme.segment_size, length - offset)))
    return sizes


def read_exact(response, size):
    parts, got = [], 0
    while got < size:
        chunk = response.read(size - got)
        if not chunk:
            raise ConnectionError('archive ended early')
        parts.append(chunk)
        got += len(chunk)
    return b''.join(parts)


class ObjectReconstructor(Daemon):
    """``objstore-object-reconstructor``; ``policies`` and ``rings``
    ({policy index: Ring}) may be injected by tests."""

    name = 'object-reconstructor'
    conf_class = ObjectReconstructorConf

    def __init__(self, conf, logger=None, rings=None, policies=None):
        super().__init__(conf, logger)
        self.policies = policies or load_policies(self.daemon_conf.conf_dir)
        self._rings = dict(rings) if rings else {}
        dconf = self.daemon_conf
        self.client = BackendClient(dconf.conn_timeout, dconf.http_timeout)
        self.limiter = RateLimiter(dconf.objects_per_second)

    def ring_for(self, policy_index):
        if policy_index not in self._rings:
            self._rings[policy_index] = Ring(self.daemon_conf.conf_dir,
                                             policy_ring_name(policy_index))
        return self._rings[policy_index]

    # -- the pass --------------------------------------------------------

    def run_once(self, devices=None, partitions=None, once=False, **_kw):
        total = DaemonStats()
        names = set()
        for policy in self.policies:
            if policy.policy_type != ERASURE_CODING:
                continue
            scheme = ECScheme.from_policy(policy)
            ring = self.ring_for(policy.index)
            for dev in local_devices(ring, self.daemon_conf.bind_ip,
                                     self.daemon_conf.bind_port, devices):
                path = usable_device_path(self.daemon_conf.devices,
                                          dev['device'],
                                          self.daemon_conf.mount_check)
                if path is None:
                    continue
                names.add(dev['device'])
                stats = self.reconstruct_device(
                    dev, path, policy.index, scheme, ring, partitions)
                self.write_device_status(dev['device'], stats.finish(), once)
                total.merge(stats)
        total.finish()
        self.log_pass_summary(total, SUMMARY_COUNTS, ','.join(sorted(names)))
        return total

    def reconstruct_device(self, dev, device_path, policy_index, scheme,
                           ring, partitions=None):
        stats = DaemonStats()
        jobs = []
        wanted = set(partitions) if partitions else None
        for name in hashdir.list_partitions(device_path, policy_index):
            part = int(name)
            if (wanted is not None and part not in wanted) or \
                    part >= ring.partition_count:
                continue
            primaries = ring.get_part_nodes(part)
            position = next((i for i, node in enumerate(primaries)
                             if node['id'] == dev['id']), None)
            jobs.append(ECJob(device_path, policy_index, part, scheme,
                              primaries, position))
        run_concurrently(lambda job: self.process_job(job, stats), jobs,
                         self.daemon_conf.concurrency,
                         should_stop=lambda: self.stopping,
                         on_error=lambda job, exc: self._job_failed(
                             job, exc, stats))
        return stats

    def _job_failed(self, job, exc, stats):
        stats.incr('failures')
        self.logger.error('partition %s/%d (policy %d) failed: %s',
                          job.device_path, job.partition, job.policy_index,
                          exc, exc_info=exc)

    def process_job(self, job, stats):
        stats.incr('partitions')
        if job.position is None:
            self.revert_partition(job, stats)
        else:
            self.sync_partition(job, stats)

    # -- primaries: rebuild the partner's archives -----------------------

    def sync_partition(self, job, stats):
        position = (job.position + 1) % len(job.primaries)
        partner = job.primaries[position]
        remote = self._remote_hashes(job, partner)
        if remote is None:
            stats.incr('failures')
            return
        local = self._local_hashes(job)
        suffixes = differing_suffixes(local, remote)
        if suffixes:
            local = self._local_hashes(job, suffixes)
            suffixes = differing_suffixes(local, remote)
        for suffix in suffixes:
            stats.incr('suffixes_checked')
            suffix_dir = os.path.join(job.partition_dir, suffix)
            for obj_hash in hashdir.list_hash_dirs(suffix_dir):
                if self.stopping:
                    return
                self.limiter.wait()
                self.sync_object(job, os.path.join(suffix_dir, obj_hash),
                                 partner, position, stats)
        if suffixes:
            self._remote_hashes(job, partner, suffixes)

    def _local_hashes(self, job, recalculate=()):
        return hashes.get_hashes(job.device_path, job.partition, recalculate,
                                 job.policy_index,
                                 self.daemon_conf.reclaim_age)

    def _remote_hashes(self, job, node, suffixes=()):
        path = '/%s/%d' % (node['device'], job.partition)
        if suffixes:
            path += '/' + '-'.join(suffixes)
        status, _headers, body = self._direct(
            node, 'REPLICATE', path, {POLICY_HEADER: str(job.policy_index)})
        if status is None or not is_success(status):
            return None
        try:
            remote = json.loads(body.decode('utf-8'))
        except (UnicodeDecodeError, ValueError):
            return None
        return remote if isinstance(remote, dict) else None

    def _direct(self, node, method, path, headers, body=b''):
        """(status, headers, body) of one request, (None, {}, b'') when
        the node could not be reached."""
        dconf = self.daemon_conf
        try:
            with green.Timeout(dconf.conn_timeout + dconf.http_timeout):
                return direct_request(
                    node['ip'], node['port'], method, path, headers, body,
                    conn_timeout=dconf.conn_timeout,
                    node_timeout=dconf.http_timeout)
        except (Exception, green.Timeout) as err:  # noqa: BLE001 - any
            # network or protocol failure means "this node, not now".
            self.logger.warning('%s %s:%s%s failed: %s', method, node['ip'],
                                node['port'], path, err)
            return None, {}, b''

    def sync_object(self, job, hash_dir, partner, position, stats):
        """Bring ``partner`` up to this node's state of one object."""
        file_set = ondisk.classify_files(hashdir.listdir(hash_dir))
        winner = file_set.data or file_set.tombstone
        if winner is None:
            return
        try:
            stored = md.read_metadata(os.path.join(hash_dir, winner))
        except (DiskFileBadMetadata, OSError) as err:
            self.logger.warning('%s/%s: %s', hash_dir, winner, err)
            return
        timestamp = ondisk.parse_filename(winner).timestamp
        path = '/%s/%d%s' % (partner['device'], job.partition, stored['name'])
        if self._holds(job, partner, path, timestamp):
            return
        if file_set.tombstone:
            self._send_delete(job, partner, path, timestamp, stats)
        elif self.rebuild(job, stored['name'], partner, position, timestamp):
            stats.incr('reconstructed')
        else:
            stats.incr('failures')

    def _holds(self, job, node, path, timestamp):
        """True when ``node`` holds ``timestamp`` (or newer) durably,
        or is unreachable (nothing to do now)."""
        status, headers, _body = self._direct(
            node, 'HEAD', path, {POLICY_HEADER: str(job.policy_index)})
        if status is None:
            return True
        for name in (DATA_TIMESTAMP, 'x-backend-timestamp'):
            if headers.get(name) and Timestamp(headers[name]) >= timestamp:
                return True
        return False

    def _send_delete(self, job, node, path, timestamp, stats):
        status, _h, _b = self._direct(node, 'DELETE', path, {
            POLICY_HEADER: str(job.policy_index),
            'X-Timestamp': timestamp.internal})
        ok = status is not None and (is_success(status) or status == 404)
        stats.incr('deletes_sent' if ok else 'failures')
        return ok

    def rebuild(self, job, name, target, position, timestamp):
        """Rebuild the archive of ring ``position`` from ``k`` others and
        send it to ``target``; True once it committed."""
        sources = self._open_sources(job, name, position, timestamp)
        try:
            if len(sources) < job.scheme.k:
                self.logger.warning('%s: %d of %d archives readable; cannot '
                                    'rebuild fragment %d', name,
                                    len(sources), job.scheme.k,
                                    job.frag_index(position))
                return False
            headers = carried_headers(sources[0].headers)
            headers[FRAG_INDEX_HEADER] = str(job.frag_index(position))
            length = int(sources[0].headers.get(EC_LENGTH, 0))
            fragments = self._rebuilt_fragments(job, sources, length,
                                                job.frag_index(position))
            return self._send_archive(job, target, name, timestamp, headers,
                                      fragments)
        finally:
            for source in sources:
                source.close()

    def _open_sources(self, job, name, position, timestamp):
        sources, seen = [], set()
        headers = {POLICY_HEADER: str(job.policy_index)}
        for index, node in enumerate(job.primaries):
            if index == position or len(sources) >= job.scheme.k:
                continue
            try:
                response = self.client.request(
                    node['ip'], node['port'], 'GET',
                    '/%s/%d%s' % (node['device'], job.partition, name),
                    headers)
            except BACKEND_ERRORS as err:
                self.logger.warning('GET %s from %s: %s', name,
                                    node['device'], err)
                continue
            frag = response.headers.get(FRAG_INDEX_HEADER.lower(), '')
            if response.status != 200 or \
                    response.headers.get(DATA_TIMESTAMP) != \
                    timestamp.internal or not frag.isdigit() or \
                    int(frag) in seen:
                response.close()
                continue
            seen.add(int(frag))
            sources.append(response)
        return sources

    def _rebuilt_fragments(self, job, sources, length, frag_index):
        for size in segment_fragment_sizes(length, job.scheme):
            yield job.scheme.reconstruct(
                [read_exact(source, size) for source in sources], frag_index)

    def _send_archive(self, job, node, name, timestamp, headers, chunks):
        """The two phases to ``node``: stream ``chunks`` as the archive,
        then commit; True when the commit answered 2xx."""
        path = '/%s/%d%s' % (node['device'], job.partition, name)
        base = dict(headers, **{POLICY_HEADER: str(job.policy_index),
                                'X-Timestamp': timestamp.internal})
        try:
            put = self.client.start_put(node['ip'], node['port'], path, base,
                                        chunked=True)
            if not put.continued:
                put.final.read()
                return False
            for chunk in chunks:
                put.send(chunk)
            response = put.finish()
            response.read()
        except BACKEND_ERRORS as err:
            self.logger.warning('PUT %s to %s: %s', name, node['device'], err)
            return False
        if not is_success(response.status):
            return False
        commit = dict(base, **{EC_COMMIT_HEADER: 'yes',
                               'Content-Length': '0'})
        status, _h, _b = self._direct(node, 'PUT', path, commit)
        return status is not None and is_success(status)

    # -- handoffs: revert to the primaries -------------------------------

    def revert_partition(self, job, stats):
        part_dir = job.partition_dir
        for suffix in hashdir.list_suffixes(part_dir):
            suffix_dir = os.path.join(part_dir, suffix)
            for obj_hash in hashdir.list_hash_dirs(suffix_dir):
                if self.stopping:
                    return
                self.limiter.wait()
                hash_dir = os.path.join(suffix_dir, obj_hash)
                self.revert_object(job, hash_dir, stats)
                hashdir.cleanup_ondisk_files(hash_dir,
                                             self.daemon_conf.reclaim_age)
            hashdir.remove_dir_if_empty(suffix_dir)
            if os.path.isdir(suffix_dir):
                hashes.invalidate_hash(suffix_dir)
        if hashdir.remove_partition_if_empty(part_dir):
            stats.incr('handoffs_removed')

    def revert_object(self, job, hash_dir, stats):
        """Send each file of a handoff hash dir where it belongs; remove
        those their primaries confirmed."""
        file_set = ondisk.classify_files(hashdir.listdir(hash_dir))
        for name in file_set.fragments:
            if self._revert_archive(job, hash_dir, name):
                stats.incr('reverted')
                self._remove(hash_dir, name, file_set)
            else:
                stats.incr('failures')
        for name, method in ((file_set.tombstone, 'DELETE'),
                             (file_set.meta, 'POST')):
            if name and self._send_to_all(job, hash_dir, name, method):
                self._remove(hash_dir, name, file_set)

    def _remove(self, hash_dir, name, file_set):
        for victim in (name, file_set.sidecars.get(name)):
            if victim:
                try:
                    os.unlink(os.path.join(hash_dir, victim))
                except FileNotFoundError:
                    pass

    def _revert_archive(self, job, hash_dir, name):
        path = os.path.join(hash_dir, name)
        stored = md.read_metadata(path)
        frag_index = frag_index_of(stored)
        timestamp = ondisk.parse_filename(name).timestamp
        targets = [node for i, node in enumerate(job.primaries)
                   if job.frag_index(i) == frag_index]
        for node in targets:
            obj_path = '/%s/%d%s' % (node['device'], job.partition,
                                     stored['name'])
            if self._holds(job, node, obj_path, timestamp):
                continue
            headers = carried_headers(stored)
            headers[FRAG_INDEX_HEADER] = str(frag_index)
            if not self._send_archive(job, node, stored['name'], timestamp,
                                      headers, _file_chunks(path)):
                return False
        return True

    def _send_to_all(self, job, hash_dir, name, method):
        """A tombstone (DELETE) or .meta (POST) to every primary."""
        try:
            stored = md.read_metadata(os.path.join(hash_dir, name))
        except (DiskFileBadMetadata, OSError):
            return False
        headers = carried_headers(stored) if method == 'POST' else {}
        headers.update({POLICY_HEADER: str(job.policy_index),
                        'X-Timestamp': stored['X-Timestamp']})
        ok = True
        for node in job.primaries:
            path = '/%s/%d%s' % (node['device'], job.partition,
                                 stored['name'])
            status, _h, _b = self._direct(node, method, path, headers)
            # 404: nothing there to delete, or no data for the .meta yet
            # (a later revert of the archive brings its own metadata).
            ok = ok and status is not None and (
                is_success(status) or status in (404, 409))
        return ok


def _file_chunks(path):
    with open(path, 'rb') as f:
        while True:
            chunk = f.read(SEND_CHUNK)
            if not chunk:
                return
            yield chunk


def main(argv=None):
    return run_daemon(ObjectReconstructor, argv)


if __name__ == '__main__':
    raise SystemExit(main())
