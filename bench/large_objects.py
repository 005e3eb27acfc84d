#!/usr/bin/env python3
"""Benchmark: a 1 GiB static large object through the swift CLI, objstore
against upstream Swift.

Not a test. Run it with the objstore venv's python::

    python bench/large_objects.py [--quick] [--rounds 2] [--size-mib 1024]

Both clusters have the same shape (bench/clusters.py; Swift's pipeline
gains its ``slo`` and ``dlo`` middlewares). Only the cluster under test
runs while it is measured, and the rounds alternate which goes first.
Each round uploads one file with ``swift upload --use-slo --segment-size
64M --segment-threads 4`` (segments in parallel, then the manifest) and
downloads it with ``swift download``, checking the bytes. Figures are
the median MB/s of the rounds and the servers' CPU per MB (psutil, over
the cluster's processes); ratios > 1.0 mean objstore is better
(objstore/swift for MB/s, swift/objstore for CPU). Every process started is stopped by PID; the file is removed.
"""

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import time

from clusters import (BENCH_USERS, ObjstoreCluster, SwiftCluster,
                      ensure_memcached, ensure_swift_venv)
from streams import cpu_seconds

SWIFT_CLI = os.path.join(os.path.dirname(sys.executable), 'swift')
USER = BENCH_USERS[0]
COMMAND_TIMEOUT = 1800


def make_file(path, size_mib):
    block = os.urandom(1024 * 1024)
    with open(path, 'wb') as out:
        for number in range(size_mib):
            out.write(number.to_bytes(8, 'big') + block[8:])


def swift(auth_url, *args, cwd=None):
    command = [SWIFT_CLI, '-A', auth_url, '-U', '%s:%s' % (
        USER.account, USER.user), '-K', USER.key] + list(args)
    started = time.monotonic()
    subprocess.run(command, check=True, capture_output=True, cwd=cwd,
                   timeout=COMMAND_TIMEOUT)
    return time.monotonic() - started


def measure_one(cluster, source, size_mib, workdir):
    print('starting %s...' % cluster.name, flush=True)
    auth_url = cluster.start()
    try:
        name = os.path.basename(source)
        pids = cluster.pids()
        cpu_before = cpu_seconds(pids)
        upload = swift(auth_url, 'upload', '--use-slo', '--segment-size',
                       '64M', '--segment-threads', '4',
                       '--object-name', name, 'bench', source)
        upload_cpu = cpu_seconds(pids) - cpu_before
        target = os.path.join(workdir, 'download')
        os.makedirs(target, exist_ok=True)
        cpu_before = cpu_seconds(pids)
        download = swift(auth_url, 'download', 'bench', name, '-o',
                         os.path.join(target, name))
        download_cpu = cpu_seconds(pids) - cpu_before
        if not filecmp.cmp(source, os.path.join(target, name),
                           shallow=False):
            raise RuntimeError('%s: downloaded bytes differ' % cluster.name)
        os.unlink(os.path.join(target, name))
        megabytes = size_mib * 1024 * 1024 / 1e6
        return {'SLO upload MB/s': megabytes / upload,
                'SLO download MB/s': megabytes / download,
                'SLO upload CPU ms/MB': upload_cpu * 1e3 / megabytes,
                'SLO download CPU ms/MB': download_cpu * 1e3 / megabytes}
    finally:
        cluster.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='a 160 MiB file, one round: a smoke run')
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--size-mib', type=int, default=1024)
    args = parser.parse_args(argv)
    if args.quick:
        args.size_mib, args.rounds = 160, 1
    ensure_memcached()
    ensure_swift_venv()
    makers = {'objstore': ObjstoreCluster,
              'swift': lambda: SwiftCluster(features=('slo', 'dlo'))}
    rounds = {'objstore': [], 'swift': []}
    with tempfile.TemporaryDirectory(prefix='bench-lo-') as workdir:
        source = os.path.join(workdir, 'image.bin')
        make_file(source, args.size_mib)
        for round_no in range(args.rounds):
            order = ['objstore', 'swift'] if round_no % 2 == 0 else \
                ['swift', 'objstore']
            for name in order:
                print('round %d: %s' % (round_no + 1, name), flush=True)
                rounds[name].append(measure_one(
                    makers[name](), source, args.size_mib, workdir))
    print()
    print('%-24s %10s %10s %8s' % ('figure (median)', 'objstore', 'swift',
                                   'ratio'))
    for key in rounds['objstore'][0]:
        mine = statistics.median(r[key] for r in rounds['objstore'])
        peer = statistics.median(r[key] for r in rounds['swift'])
        ratio = peer / mine if ' ms/' in key else mine / peer
        print('%-24s %10.2f %10.2f %7.2fx' % (key, mine, peer, ratio))


if __name__ == '__main__':
    main()
