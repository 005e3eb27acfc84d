#!/usr/bin/env python3
"""Benchmark: objstore's ring builder and ring against OpenStack Swift's.

Not a test. Run it with the objstore venv's python::

    python bench/ring.py [--part-power 18] [--lookups 200000]

Times are CPU seconds of each worker process (wall seconds are printed
too): on a shared machine other load inflates wall time, not CPU time.

It creates (or reuses) a venv with ``swift`` from PyPI under
``~/.cache/objstore-bench/swift-venv``, then runs the same job for each
implementation in its own subprocess (so imports never mix): build a
builder with the same devices (100 devices = 5 zones x 4 servers x 5 disks,
equal weights), time ``rebalance(seed)``, report balance and dispersion,
save and time loading the ring file, and count ``get_nodes`` lookups per
second. It prints both sets of figures and the objstore/swift ratios.

Only the standard library is imported at the top level: the same file is
the worker in the swift venv, which has no objstore.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

SWIFT_VENV = os.path.expanduser('~/.cache/objstore-bench/swift-venv')
PIP_TIMEOUT = 900
WORKER_TIMEOUT = 600
HASH_PREFIX = b'bench-prefix'
HASH_SUFFIX = b'bench-suffix'


def devices(zones=5, servers=4, disks=5, weight=100.0):
    """The shared input: one dict per device (no ids; builders assign)."""
    devs = []
    for zone in range(1, zones + 1):
        for server in range(servers):
            ip = '10.0.%d.%d' % (zone, server + 1)
            for disk in range(disks):
                devs.append({'region': 1, 'zone': zone, 'ip': ip,
                             'port': 6200, 'replication_ip': ip,
                             'replication_port': 6200,
                             'device': 'sd%s' % chr(ord('b') + disk),
                             'weight': weight, 'meta': ''})
    return devs


def lookup_rate(get_nodes, count, rounds=3):
    """Lookups per CPU second, best of a few rounds (noise only slows)."""
    names = ['o%d' % i for i in range(count)]
    best = 0.0
    for _ in range(rounds):
        started = time.process_time()
        for name in names:
            get_nodes('AUTH_bench', 'cont', name)
        best = max(best, count / (time.process_time() - started))
    return best


def timed(func):
    """(result, CPU seconds, wall seconds) of func().

    CPU time of this process is the figure compared: the machine may be
    shared, and other load inflates wall time far more than CPU time.
    """
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    result = func()
    return (result, time.process_time() - started_cpu,
            time.perf_counter() - started_wall)


def work_objstore(spec, ring_dir):
    from objstore.common.hashing import HashConf
    from objstore.ring import Ring, RingBuilder

    builder = RingBuilder(spec['part_power'], spec['replicas'], 1)
    for dev in spec['devs']:
        builder.add_dev(dev)
    result, seconds, wall = timed(
        lambda: builder.rebalance(seed=spec['seed']))
    path = os.path.join(ring_dir, 'object.ring.gz')
    builder.get_ring().save(path)
    hash_conf = HashConf(HASH_PREFIX, HASH_SUFFIX)
    ring, load_seconds, _ = timed(lambda: Ring(path, hash_conf=hash_conf))
    return {'rebalance_s': seconds, 'rebalance_wall_s': wall,
            'balance': result[1],
            'dispersion': builder.dispersion,
            'ring_load_s': load_seconds,
            'lookups_per_s': lookup_rate(ring.get_nodes, spec['lookups'])}


def work_swift(spec, ring_dir):
    from swift.common import utils
    from swift.common.ring import Ring, RingBuilder

    utils.HASH_PATH_PREFIX = HASH_PREFIX
    utils.HASH_PATH_SUFFIX = HASH_SUFFIX
    builder = RingBuilder(spec['part_power'], spec['replicas'], 1)
    for dev in spec['devs']:
        builder.add_dev(dict(dev))
    result, seconds, wall = timed(
        lambda: builder.rebalance(seed=spec['seed']))
    path = os.path.join(ring_dir, 'object.ring.gz')
    builder.get_ring().save(path)
    ring, load_seconds, _ = timed(lambda: Ring(path))
    return {'rebalance_s': seconds, 'rebalance_wall_s': wall,
            'balance': result[1],
            'dispersion': builder.dispersion,
            'ring_load_s': load_seconds,
            'lookups_per_s': lookup_rate(ring.get_nodes, spec['lookups'])}


def worker_main(kind):
    spec = json.loads(sys.stdin.read())
    with tempfile.TemporaryDirectory() as ring_dir:
        work = work_objstore if kind == 'objstore' else work_swift
        print(json.dumps(work(spec, ring_dir)))


def swift_python():
    """The swift venv's python, creating the venv on first use."""
    python = os.path.join(SWIFT_VENV, 'bin', 'python')
    probe = [python, '-c', 'import swift.common.ring']
    if os.path.exists(python) and subprocess.run(
            probe, capture_output=True, timeout=120).returncode == 0:
        return python
    print('creating %s with swift from PyPI...' % SWIFT_VENV, flush=True)
    subprocess.run([sys.executable, '-m', 'venv', SWIFT_VENV], check=True,
                   timeout=PIP_TIMEOUT)
    subprocess.run([python, '-m', 'pip', 'install', '-q', 'swift'],
                   check=True, timeout=PIP_TIMEOUT)
    subprocess.run(probe, check=True, timeout=120)
    return python


def run_worker(python, kind, spec):
    result = subprocess.run(
        [python, os.path.abspath(__file__), '--worker', kind],
        input=json.dumps(spec), capture_output=True, text=True,
        timeout=WORKER_TIMEOUT)
    if result.returncode != 0:
        raise SystemExit('%s worker failed:\n%s' % (kind, result.stderr))
    return json.loads(result.stdout.strip().splitlines()[-1])


def best_of(results):
    """Fastest times and highest rate over repeated runs (the rest of the
    figures are deterministic for the seed)."""
    best = dict(results[0])
    for result in results[1:]:
        for key in ('rebalance_s', 'rebalance_wall_s', 'ring_load_s'):
            best[key] = min(best[key], result[key])
        best['lookups_per_s'] = max(best['lookups_per_s'],
                                    result['lookups_per_s'])
    return best


def report(spec, ours, swift):
    print('ring benchmark: part_power %d, %d replicas, %d devices in 5 '
          'zones, seed %d, %d lookups, best of %d runs each'
          % (spec['part_power'], spec['replicas'], len(spec['devs']),
             spec['seed'], spec['lookups'], spec['repeat']))
    rows = [('rebalance CPU seconds', 'rebalance_s', '%.2f'),
            ('rebalance wall seconds', 'rebalance_wall_s', '%.2f'),
            ('balance %', 'balance', '%.4f'),
            ('dispersion %', 'dispersion', '%.2f'),
            ('ring load CPU seconds', 'ring_load_s', '%.4f'),
            ('get_nodes lookups/CPU s', 'lookups_per_s', '%.0f')]
    print('%-24s %12s %12s %15s' % ('', 'objstore', 'swift',
                                     'objstore/swift'))
    for label, key, fmt in rows:
        ratio = '%.2f' % (ours[key] / swift[key]) if swift[key] else '-'
        print('%-24s %12s %12s %15s' % (label, fmt % ours[key],
                                         fmt % swift[key], ratio))
    print('rebalance speed-up (swift CPU time / objstore CPU time): %.2fx'
          % (swift['rebalance_s'] / ours['rebalance_s']))
    print('lookup rate ratio (objstore / swift): %.2fx'
          % (ours['lookups_per_s'] / swift['lookups_per_s']))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--worker', choices=('objstore', 'swift'))
    parser.add_argument('--part-power', type=int, default=18)
    parser.add_argument('--replicas', type=int, default=3)
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--lookups', type=int, default=200000)
    parser.add_argument('--repeat', type=int, default=2,
                        help='runs per implementation; best figures kept')
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker)
        return
    spec = {'part_power': args.part_power, 'replicas': args.replicas,
            'seed': args.seed, 'lookups': args.lookups,
            'repeat': args.repeat, 'devs': devices()}
    python = swift_python()
    runs = {'swift': [], 'objstore': []}
    for attempt in range(args.repeat):
        # Alternate who goes first so drifting machine load hits both.
        order = [('swift', python), ('objstore', sys.executable)]
        for kind, interpreter in order[::1 if attempt % 2 == 0 else -1]:
            runs[kind].append(run_worker(interpreter, kind, spec))
    report(spec, best_of(runs['objstore']), best_of(runs['swift']))


if __name__ == '__main__':
    main()
