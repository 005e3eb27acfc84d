"""Object replication benchmark: objstore against OpenStack Swift.

Not a test. For each implementation it builds three object nodes on this
machine (one device each, a 3-replica ring, real object-server processes,
one real rsync daemon), then measures with the real replicator command
(``--once``, wall clock, process start included):

1. cold pass: ``--objects`` objects (default 100,000) present on all three
   nodes, suffix hashes not computed yet (first pass after a restart of
   the whole cluster: every node hashes every suffix);
2. warm pass: the same, hashes cached (the steady state of an in-sync
   cluster; the goal is <= 60 s for 100,000 objects);
3. repair: ``--missed`` more objects (default 10,000) written to nodes 0
   and 1 only (suffixes invalidated as the object server does), then one
   pass on node 0, which must push them all to node 2; the bench checks
   node 2's count afterwards.

Data is written straight in each implementation's on-disk format (its own
metadata writer, no fsync, then copied with ``cp -a`` to the other nodes)
because writing 300,000 files through the servers would take far longer
than the measurement; the two other in-sync replicas are hard-linked
copies of the first (``cp -al``). Swift runs from its own venv
(``~/.cache/objstore-bench/swift-venv``, ``pip install swift``) and never
sees objstore; its workers are this file run by that venv's python.

    python bench/replication.py [--objects 100000] [--missed 10000]
        [--part-power 10] [--concurrency 4] [--no-swift] [--dir /tmp]

Everything runs under ``--timeout`` seconds; processes are stopped by PID
and the temp dir removed at the end.
"""

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SWIFT_VENV = os.path.expanduser('~/.cache/objstore-bench/swift-venv')
HASH_PREFIX = 'benchprefix'
HASH_SUFFIX = 'benchsuffix'
NODES = 3
BODY = b'replication bench object body\n' * 34   # ~1 KiB
TIMESTAMP = '1700000000.00000'
PARTITION_BOOKKEEPING = ('hashes.json', 'hashes.pkl', 'hashes.invalid',
                         '.lock')


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_for_port(port, proc, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError('server exited with %s' % proc.returncode)
        try:
            socket.create_connection(('127.0.0.1', port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError('server on port %d did not come up' % port)


def stop_process(proc, timeout=10.0):
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


def object_names(start, count):
    return ['o%08d' % i for i in range(start, start + count)]


def count_hash_dirs(device_path):
    objects = os.path.join(device_path, 'objects')
    total = 0
    for part in os.listdir(objects):
        part_dir = os.path.join(objects, part)
        if not os.path.isdir(part_dir):
            continue
        for suffix in os.listdir(part_dir):
            suffix_dir = os.path.join(part_dir, suffix)
            if len(suffix) == 3 and os.path.isdir(suffix_dir):
                total += len(os.listdir(suffix_dir))
    return total


# -- objstore side (runs in this interpreter) ---------------------------

def objstore_ring(etc, ports, part_power):
    from objstore.ring.builder import RingBuilder
    with open(os.path.join(etc, 'objstore.conf'), 'w') as conf:
        conf.write('[objstore-hash]\npath_hash_prefix = %s\n'
                   'path_hash_suffix = %s\n' % (HASH_PREFIX, HASH_SUFFIX))
    builder = RingBuilder(part_power, NODES, 0)
    for n, port in enumerate(ports):
        builder.add_dev({'region': 1, 'zone': n, 'ip': '127.0.0.1',
                         'port': port, 'device': 'd%d' % n, 'weight': 100})
    builder.rebalance(seed=7)
    builder.get_ring().save(os.path.join(etc, 'object.ring.gz'))


def objstore_write(etc, device_paths, names):
    """Write objects in objstore's format on each device, no fsync;
    invalidate their suffixes as the object server would."""
    from objstore.common.hashing import load_hash_conf
    from objstore.object import hashes, metadata, ondisk
    from objstore.ring.ring import Ring
    ring = Ring(etc, 'object', hash_conf=load_hash_conf(etc))
    etag = hashlib.md5(BODY).hexdigest()
    suffix_dirs = set()
    for name in names:
        part, _nodes = ring.get_nodes('AUTH_bench', 'c', name)
        obj_hash = _objstore_hash(ring, name)
        meta = {'name': '/AUTH_bench/c/%s' % name, 'X-Timestamp': TIMESTAMP,
                'Content-Length': str(len(BODY)), 'ETag': etag,
                'Content-Type': 'application/octet-stream'}
        for device_path in device_paths:
            hash_dir = os.path.join(device_path, ondisk.hash_dir_relpath(
                0, part, obj_hash))
            os.makedirs(hash_dir, exist_ok=True)
            path = os.path.join(hash_dir, TIMESTAMP + '.data')
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                os.write(fd, BODY)
                metadata.write_metadata(fd, meta, os.path.join(
                    device_path, 'tmp'))
            finally:
                os.close(fd)
            suffix_dirs.add(os.path.dirname(hash_dir))
    for suffix_dir in suffix_dirs:
        hashes.invalidate_hash(suffix_dir)


def _objstore_hash(ring, name):
    from objstore.common.hashing import hash_path
    return hash_path('AUTH_bench', 'c', name, hash_conf=ring.hash_conf)


def objstore_server_conf(root, n, port, etc):
    path = os.path.join(root, 'object-server-%d.conf' % n)
    with open(path, 'w') as conf:
        conf.write('\n'.join([
            '[DEFAULT]', 'devices = %s' % os.path.join(root, 'node%d' % n),
            'mount_check = false', 'bind_ip = 127.0.0.1',
            'bind_port = %d' % port, 'workers = 1', 'conf_dir = %s' % etc,
            'recon_cache_path = %s' % os.path.join(root, 'recon%d' % n),
            'log_file = %s' % os.path.join(root, 'object-server-%d.log' % n),
            'log_level = WARNING', '',
            '[pipeline:main]', 'pipeline = object-server', '',
            '[app:object-server]', 'use = egg:objstore#object', '',
            '[object-replicator]', 'concurrency = %d' % CONCURRENCY,
            'rsync_module = {replication_ip}::object{replication_port}',
            'rsync_port = %d' % RSYNC_PORT, 'log_file =',
            'log_level = INFO', '']))
    return path


def objstore_commands(root, etc):
    bindir = os.path.dirname(sys.executable)
    return {
        'server': lambda conf: [os.path.join(bindir, 'objstore-server'),
                                conf],
        'replicator': lambda conf: [
            os.path.join(bindir, 'objstore-object-replicator'), conf,
            '--once'],
        'server_conf': lambda n, port: objstore_server_conf(root, n, port,
                                                            etc),
    }


# -- swift side (this file run by the swift venv's python) ---------------

def swift_worker(argv):
    """``--swift-worker ring|write|replicator ...`` inside the swift venv."""
    job = argv[0]
    if job == 'replicator':
        from swift.common import utils
        from swift.common.daemon import run_daemon
        from swift.obj.replicator import ObjectReplicator
        utils.set_swift_dir(argv[2])
        run_daemon(ObjectReplicator, argv[1], once=True, verbose=False)
        return
    spec = json.loads(sys.stdin.read())
    from swift.common import utils
    utils.set_swift_dir(spec['etc'])
    if job == 'ring':
        from swift.common.ring import RingBuilder
        builder = RingBuilder(spec['part_power'], NODES, 0)
        for n, port in enumerate(spec['ports']):
            builder.add_dev({'region': 1, 'zone': n, 'ip': '127.0.0.1',
                             'port': port, 'device': 'd%d' % n,
                             'weight': 100})
        builder.rebalance(seed=7)
        builder.get_ring().save(os.path.join(spec['etc'], 'object.ring.gz'))
    elif job == 'write':
        _swift_write(spec)


def _swift_write(spec):
    from swift.common.ring import Ring
    from swift.common.utils import hash_path
    from swift.obj.diskfile import invalidate_hash, write_metadata
    ring = Ring(spec['etc'], ring_name='object')
    etag = hashlib.md5(BODY).hexdigest()
    suffix_dirs = set()
    for name in object_names(spec['start'], spec['count']):
        part = ring.get_part('AUTH_bench', 'c', name)
        obj_hash = hash_path('AUTH_bench', 'c', name)
        meta = {'name': '/AUTH_bench/c/%s' % name, 'X-Timestamp': TIMESTAMP,
                'Content-Length': str(len(BODY)), 'ETag': etag,
                'Content-Type': 'application/octet-stream'}
        for device_path in spec['devices']:
            hash_dir = os.path.join(device_path, 'objects', str(part),
                                    obj_hash[-3:], obj_hash)
            os.makedirs(hash_dir, exist_ok=True)
            path = os.path.join(hash_dir, TIMESTAMP + '.data')
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                os.write(fd, BODY)
                write_metadata(fd, meta)
            finally:
                os.close(fd)
            suffix_dirs.add(os.path.dirname(hash_dir))
    for suffix_dir in suffix_dirs:
        invalidate_hash(suffix_dir)


def swift_python():
    python = os.path.join(SWIFT_VENV, 'bin', 'python')
    if not os.path.exists(python):
        return None
    probe = subprocess.run([python, '-c', 'import swift.obj.replicator'],
                           capture_output=True)
    return python if probe.returncode == 0 else None


def swift_server_conf(root, n, port, etc):
    path = os.path.join(root, 'object-server-%d.conf' % n)
    with open(path, 'w') as conf:
        conf.write('\n'.join([
            '[DEFAULT]', 'devices = %s' % os.path.join(root, 'node%d' % n),
            'mount_check = false', 'bind_ip = 127.0.0.1',
            'bind_port = %d' % port, 'workers = 1', 'swift_dir = %s' % etc,
            'user = %s' % _user(), 'log_level = WARNING',
            'log_facility = LOG_LOCAL0', 'log_udp_host = 127.0.0.1',
            'log_udp_port = 9', 'recon_cache_path = %s' % os.path.join(
                root, 'recon%d' % n), '',
            '[pipeline:main]', 'pipeline = object-server', '',
            '[app:object-server]', 'use = egg:swift#object', '',
            '[object-replicator]', 'concurrency = %d' % CONCURRENCY,
            'rsync_module = rsync://{replication_ip}:%d/object'
            '{replication_port}' % RSYNC_PORT, '']))
    return path


def _user():
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name


def swift_commands(root, etc, python):
    bindir = os.path.dirname(python)
    return {
        'server': lambda conf: [os.path.join(bindir, 'swift-object-server'),
                                conf],
        'replicator': lambda conf: [python, os.path.abspath(__file__),
                                    '--swift-worker', 'replicator', conf,
                                    etc],
        'server_conf': lambda n, port: swift_server_conf(root, n, port, etc),
    }


def swift_job(python, job, spec, timeout):
    subprocess.run([python, os.path.abspath(__file__), '--swift-worker',
                    job], input=json.dumps(spec).encode(), check=True,
                   timeout=timeout)


# -- the scenario, shared ------------------------------------------------

CONCURRENCY = 4
RSYNC_PORT = 0


class Nodes:
    """Three object servers and an rsync daemon for one implementation."""

    def __init__(self, root, commands):
        from objstore.replicator.rsync import RsyncDaemon, render_rsyncd_conf
        self.root = root
        self.commands = commands
        self.ports = [free_port() for _ in range(NODES)]
        self.devices = []
        for n in range(NODES):
            device = os.path.join(root, 'node%d' % n, 'd%d' % n)
            os.makedirs(os.path.join(device, 'tmp'))
            self.devices.append(device)
        rsyncd = os.path.join(root, 'rsyncd.conf')
        with open(rsyncd, 'w') as conf:
            conf.write(render_rsyncd_conf(
                [('object%d' % port, os.path.join(root, 'node%d' % n))
                 for n, port in enumerate(self.ports)], RSYNC_PORT,
                os.path.join(root, 'rsyncd.pid'),
                os.path.join(root, 'rsyncd.log')))
        self.rsyncd = RsyncDaemon(rsyncd, RSYNC_PORT)
        self.servers = []
        self.confs = []

    def start(self):
        self.rsyncd.start()
        for n, port in enumerate(self.ports):
            conf = self.commands['server_conf'](n, port)
            self.confs.append(conf)
            log = open(os.path.join(self.root, 'server-%d.out' % n), 'wb')
            proc = subprocess.Popen(self.commands['server'](conf),
                                    stdout=log, stderr=subprocess.STDOUT)
            log.close()
            self.servers.append(proc)
            wait_for_port(port, proc)

    def replicate(self, node, timeout):
        started = time.monotonic()
        proc = subprocess.run(self.commands['replicator'](self.confs[node]),
                              capture_output=True, timeout=timeout)
        elapsed = time.monotonic() - started
        if proc.returncode != 0:
            raise RuntimeError('replicator failed: %s'
                               % proc.stderr.decode()[-2000:])
        return elapsed, proc.stderr.decode()

    def stop(self):
        for proc in self.servers:
            stop_process(proc)
        self.rsyncd.stop()


def copy_device(src, dst):
    """The other replicas: same tree, files hard-linked (``cp -al``).

    A replica's files are never rewritten in place (new versions are new
    names), so sharing inodes between the in-sync copies changes nothing
    a replicator looks at, and saves writing 200,000 files on a slow disk.
    """
    shutil.rmtree(os.path.join(dst, 'objects'), ignore_errors=True)
    subprocess.run(['cp', '-al', os.path.join(src, 'objects'), dst],
                   check=True)
    # A partition's bookkeeping (hashes.json/.pkl, hashes.invalid, .lock)
    # is per node: hashes.invalid is appended to in place, so a shared
    # inode would let one node consume another's invalidations.
    objects = os.path.join(dst, 'objects')
    for part in os.listdir(objects):
        for name in PARTITION_BOOKKEEPING:
            try:
                os.unlink(os.path.join(objects, part, name))
            except FileNotFoundError:
                pass


def run_scenario(label, root, commands, write, args, deadline):
    nodes = Nodes(root, commands)
    results = {}
    try:
        started = time.monotonic()
        write(nodes, 0, args.objects, [nodes.devices[0]])
        for n in range(1, NODES):
            copy_device(nodes.devices[0], nodes.devices[n])
        results['setup_s'] = time.monotonic() - started
        nodes.start()
        left = lambda: max(10, deadline - time.monotonic())
        results['cold_s'], _ = nodes.replicate(0, left())
        results['warm_s'], _ = nodes.replicate(0, left())
        write(nodes, args.objects, args.missed, nodes.devices[:2])
        results['repair_s'], output = nodes.replicate(0, left())
        summary = [line for line in output.splitlines()
                   if 'pass done' in line]
        if summary:
            results['repair_summary'] = summary[-1].split(': ', 1)[-1]
        results['node2_objects'] = count_hash_dirs(nodes.devices[2])
        results['expected'] = args.objects + args.missed
        print('%s: %s' % (label, json.dumps(results)), flush=True)
    finally:
        nodes.stop()
    return results


def objstore_scenario(root, args, deadline):
    etc = os.path.join(root, 'etc')
    os.makedirs(etc)
    commands = objstore_commands(root, etc)

    def write(nodes, start, count, devices):
        if not os.path.exists(os.path.join(etc, 'object.ring.gz')):
            objstore_ring(etc, nodes.ports, args.part_power)
        objstore_write(etc, devices, object_names(start, count))

    return run_scenario('objstore', root, commands, write, args, deadline)


def swift_scenario(root, args, deadline, python):
    etc = os.path.join(root, 'etc')
    os.makedirs(etc)
    with open(os.path.join(etc, 'swift.conf'), 'w') as conf:
        conf.write('[swift-hash]\nswift_hash_path_prefix = %s\n'
                   'swift_hash_path_suffix = %s\n\n[storage-policy:0]\n'
                   'name = gold\ndefault = yes\n' % (HASH_PREFIX,
                                                      HASH_SUFFIX))
    commands = swift_commands(root, etc, python)

    def write(nodes, start, count, devices):
        timeout = max(10, deadline - time.monotonic())
        if not os.path.exists(os.path.join(etc, 'object.ring.gz')):
            swift_job(python, 'ring', {'etc': etc, 'ports': nodes.ports,
                                       'part_power': args.part_power},
                      timeout)
        swift_job(python, 'write', {'etc': etc, 'devices': devices,
                                    'start': start, 'count': count}, timeout)

    return run_scenario('swift', root, commands, write, args, deadline)


def report(args, ours, swift, why_no_swift):
    print()
    print('replication of %d in-sync objects (3 nodes, 3 replicas, part '
          'power %d, concurrency %d); repair of %d missed objects'
          % (args.objects, args.part_power, CONCURRENCY, args.missed))
    print('%-34s %12s %12s %16s' % ('', 'objstore', 'swift',
                                    'objstore/swift'))
    rows = (('cold pass, hashes computed (s)', 'cold_s'),
            ('warm pass, in sync (s)', 'warm_s'),
            ('repair pass (s)', 'repair_s'))
    for label, key in rows:
        theirs = swift.get(key) if swift else None
        print('%-34s %12.2f %12s %16s' % (
            label, ours[key], '%.2f' % theirs if theirs else '-',
            '%.2f' % (ours[key] / theirs) if theirs else '-'))
    print('objects on repaired node: objstore %d/%d%s' % (
        ours['node2_objects'], ours['expected'],
        '' if not swift else ', swift %d/%d' % (swift['node2_objects'],
                                                 swift['expected'])))
    if args.objects >= 100000:
        print('warm-pass goal (<= 60 s for 100,000 objects): %s'
              % ('met' if ours['warm_s'] <= 60 else 'NOT met'))
    if why_no_swift:
        print('swift not compared: %s' % why_no_swift)


def main(argv=None):
    global CONCURRENCY, RSYNC_PORT
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--objects', type=int, default=100000)
    parser.add_argument('--missed', type=int, default=10000)
    parser.add_argument('--part-power', type=int, default=10)
    parser.add_argument('--concurrency', type=int, default=4)
    parser.add_argument('--dir', default=tempfile.gettempdir())
    parser.add_argument('--no-swift', action='store_true')
    parser.add_argument('--timeout', type=float, default=1800.0,
                        help='overall limit in seconds')
    args = parser.parse_args(argv)
    CONCURRENCY = args.concurrency
    RSYNC_PORT = free_port()
    deadline = time.monotonic() + args.timeout
    root = tempfile.mkdtemp(prefix='objstore-bench-repl-', dir=args.dir)
    swift = None
    why_no_swift = None
    try:
        ours = objstore_scenario(os.path.join(root, 'objstore'), args,
                                 deadline)
        python = None if args.no_swift else swift_python()
        if args.no_swift:
            why_no_swift = '--no-swift given'
        elif python is None:
            why_no_swift = ('no swift venv at %s (pip install swift there)'
                            % SWIFT_VENV)
        else:
            try:
                swift = swift_scenario(os.path.join(root, 'swift'), args,
                                       deadline, python)
            except (RuntimeError, subprocess.SubprocessError) as err:
                why_no_swift = 'swift run failed: %s' % err
        report(args, ours, swift, why_no_swift)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--swift-worker':
        swift_worker(sys.argv[2:])
    else:
        sys.exit(main())
