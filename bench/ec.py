#!/usr/bin/env python3
"""Benchmark: erasure coding 4+2 against 3 replicas, objstore against Swift.

Not a test. Run it with the objstore venv's python::

    python bench/ec.py [--size-mib 64] [--rounds 2]

It starts, one at a time (only the cluster under test runs while it is
measured), a 6-device objstore aio (policies ``Policy-0``, 3 replicas,
and ``ec42``, ``liberasurecode_rs_vand`` 4+2, 1 MiB segments) and a
6-device OpenStack Swift cluster from PyPI with the same two policies
(``bench/clusters.py``). Through each proxy it PUTs and GETs one
``--size-mib`` MiB object per policy, ``--rounds`` times, keeping the
best MB/s, and adds up the bytes the object files of that policy take on
the devices. It prints one table, side by side, with objstore/swift
ratios (> 1.0: objstore faster, or for bytes stored, smaller). Every
process it starts is stopped by PID.
"""

import argparse
import hashlib
import os
import time

from clusters import ObjstoreCluster, SwiftCluster, ensure_memcached, \
    ensure_swift_venv
from proxy import Session, authenticate

DEVICES = 6
EC_TYPE = 'liberasurecode_rs_vand'
# cluster name -> {label: (X-Storage-Policy, objects dir of the policy)}
POLICIES = {
    'objstore': {'3-replica': ('Policy-0', 'objects'),
                 'ec 4+2': ('ec42', 'objects-2')},
    'swift': {'3-replica': ('Policy-0', 'objects'),
              'ec 4+2': ('ec42', 'objects-1')},
}


def device_roots(cluster):
    if isinstance(cluster, ObjstoreCluster):
        return [cluster.aio.dirs.device_path(n) for n in range(DEVICES)]
    return [os.path.join(cluster.root, 'node%d' % n, 'd%d' % n)
            for n in range(DEVICES)]


def bytes_stored(roots, objects_dir):
    total = 0
    for root in roots:
        for dirpath, _dirs, names in os.walk(os.path.join(root, objects_dir)):
            total += sum(os.path.getsize(os.path.join(dirpath, name))
                         for name in names if name.endswith('.data'))
    return total


def measure(cluster, body, rounds):
    """{label: (put MB/s, get MB/s, bytes stored)} of one cluster."""
    storage_url, token = authenticate(cluster.start())
    session = Session(storage_url, token)
    expected = hashlib.md5(body).hexdigest()
    results = {}
    try:
        for label, (policy, objects_dir) in POLICIES[cluster.name].items():
            container = 'bench-%s' % policy.lower()
            status, _ = session.request('PUT', '/' + container,
                                        headers={'X-Storage-Policy': policy})
            if status not in (201, 202):
                raise RuntimeError('%s: container PUT %s' % (label, status))
            best_put = best_get = 0.0
            for _ in range(rounds):
                begin = time.perf_counter()
                status, _ = session.request('PUT', '/%s/big' % container,
                                            body=body)
                put_rate = len(body) / (time.perf_counter() - begin) / 1e6
                begin = time.perf_counter()
                got_status, got = session.request('GET', '/%s/big'
                                                  % container)
                get_rate = len(body) / (time.perf_counter() - begin) / 1e6
                if status != 201 or got_status != 200 or \
                        hashlib.md5(got).hexdigest() != expected:
                    raise RuntimeError('%s on %s: PUT %s, GET %s (%s)'
                                       % (label, cluster.name, status,
                                          got_status, 'intact' if got ==
                                          body else 'corrupt'))
                best_put = max(best_put, put_rate)
                best_get = max(best_get, get_rate)
            results[label] = (best_put, best_get,
                              bytes_stored(device_roots(cluster),
                                           objects_dir))
    finally:
        cluster.stop()
    return results


def print_table(size, ours, theirs):
    print('\n%d MiB object, best of the rounds; ratio = objstore/swift '
          '(bytes: swift/objstore)' % (size // (1024 * 1024)))
    print('%-10s %-8s %12s %12s %8s' % ('policy', 'metric', 'objstore',
                                        'swift', 'ratio'))
    for label in ours:
        mine, peer = ours[label], theirs[label]
        for name, index, unit in (('PUT', 0, 'MB/s'), ('GET', 1, 'MB/s')):
            print('%-10s %-8s %7.1f %4s %7.1f %4s %8.2f' % (
                label, name, mine[index], unit, peer[index], unit,
                mine[index] / peer[index]))
        print('%-10s %-8s %12d %12d %8.2f' % (
            label, 'stored', mine[2], peer[2], peer[2] / mine[2]))
    for cluster_name, figures in (('objstore', ours), ('swift', theirs)):
        print('%s: EC stores %.2fx the object, 3-replica %.2fx' % (
            cluster_name, figures['ec 4+2'][2] / size,
            figures['3-replica'][2] / size))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size-mib', type=int, default=64)
    parser.add_argument('--rounds', type=int, default=2)
    args = parser.parse_args(argv)
    ensure_memcached()
    ensure_swift_venv()
    size = args.size_mib * 1024 * 1024
    body = os.urandom(size)
    ours = measure(ObjstoreCluster(devices=DEVICES), body, args.rounds)
    theirs = measure(SwiftCluster(devices=DEVICES,
                                  ec_policy=('ec42', EC_TYPE, 4, 2)),
                     body, args.rounds)
    print_table(size, ours, theirs)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
