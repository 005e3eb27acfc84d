#!/usr/bin/env python3
"""Benchmark: objstore's S3 API against upstream Swift's s3api.

Not a test. Run it with the objstore venv's python::

    python bench/s3.py [--quick] [--rounds 2] [--concurrency 16]

Both clusters have the same shape (bench/clusters.py: 4 devices, 3
replicas, part power 6, one proxy worker, tempauth with the same user;
Swift's pipeline gains its ``s3api`` middleware). Only the cluster under
test runs while it is measured: each round starts one cluster, measures,
stops it, then does the same for the other, and the rounds alternate
which goes first. Through boto3 with its default settings (signature V4,
payload signed, default checksums):

- 4 KiB objects: PutObject, GetObject, DeleteObject ops/s at
  ``--concurrency`` threads (one client each), with the servers' CPU
  seconds per operation (every process of the cluster, workers included,
  from psutil), in all and per kind of server (proxy, object, container;
  the rest, daemons and the account servers, as ``other``);
- 64 MiB objects: PutObject and GetObject MB/s, one at a time.

Figures are the median of the rounds; ratios are objstore/swift for rates
and swift/objstore for CPU per operation, so > 1.0 means objstore is
better. Every process started is stopped by PID.
"""

import argparse
import hashlib
import statistics
import threading
import time

import boto3
from botocore.config import Config

from clusters import (BENCH_USERS, ObjstoreCluster, SwiftCluster,
                      ensure_memcached, ensure_swift_venv)
from streams import cpu_by_kind, cpu_seconds

SMALL = 4096
# Server kinds by a word of their command line (daemons first: an
# object-replicator's names the object server's config too).
DAEMON_WORDS = ('replicator', 'updater', 'auditor', 'expirer', 'reaper',
                'reconstructor', 'sharder', 'reconciler', 'lifecycle')
SERVER_KINDS = ('proxy', 'object', 'container')
LARGE = 64 * 1024 * 1024
USER = BENCH_USERS[0]
ACCESS_KEY = '%s:%s' % (USER.account, USER.user)


def s3_client(endpoint):
    # Default settings, but enough pooled connections for the threads.
    return boto3.client('s3', endpoint_url=endpoint,
                        aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=USER.key,
                        region_name='us-east-1',
                        config=Config(max_pool_connections=64))


def run_threads(count, work):
    """Run ``work(thread_no)`` in ``count`` threads; wall seconds."""
    errors = []

    def guarded(number):
        try:
            work(number)
        except Exception as err:  # noqa: B902 -- reported below
            errors.append(err)
    threads = [threading.Thread(target=guarded, args=(n,))
               for n in range(count)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    if errors:
        raise RuntimeError('%d threads failed: %r' % (len(errors),
                                                      errors[0]))
    return time.monotonic() - started


def server_kind(proc):
    """'proxy', 'object', 'container' or 'other' of a cluster process."""
    command = ' '.join(proc.cmdline())
    if any(word in command for word in DAEMON_WORDS):
        return 'other'
    for kind in SERVER_KINDS:
        if kind + '-server' in command:
            return kind
    return 'other'


def small_ops(endpoint, pids, count, concurrency):
    clients = [s3_client(endpoint) for _ in range(concurrency)]
    body = b's' * SMALL
    share = count // concurrency
    figures = {}
    for verb, call in (
            ('PUT', lambda c, k: c.put_object(Bucket='bench', Key=k,
                                              Body=body)),
            ('GET', lambda c, k: c.get_object(Bucket='bench',
                                              Key=k)['Body'].read()),
            ('DELETE', lambda c, k: c.delete_object(Bucket='bench', Key=k))):
        cpu_before = cpu_seconds(pids)
        kinds_before = cpu_by_kind(pids, server_kind)

        def work(number, call=call):
            for index in range(share):
                call(clients[number], 'small/%d/%d' % (number, index))
        took = run_threads(concurrency, work)
        done = share * concurrency
        figures['4 KiB %s ops/s' % verb] = done / took
        figures['4 KiB %s CPU ms/op' % verb] = \
            (cpu_seconds(pids) - cpu_before) / done * 1e3
        kinds_after = cpu_by_kind(pids, server_kind)
        for kind in SERVER_KINDS + ('other',):
            figures['  %s %s CPU ms/op' % (verb, kind)] = \
                (kinds_after[kind] - kinds_before[kind]) / done * 1e3
    return figures


def large_ops(endpoint, count):
    client = s3_client(endpoint)
    body = hashlib.sha256(b'large').digest() * (LARGE // 32)
    put_time = get_time = 0.0
    for number in range(count):
        started = time.monotonic()
        client.put_object(Bucket='bench', Key='large/%d' % number, Body=body)
        put_time += time.monotonic() - started
        started = time.monotonic()
        data = client.get_object(Bucket='bench',
                                 Key='large/%d' % number)['Body'].read()
        get_time += time.monotonic() - started
        if data != body:
            raise RuntimeError('64 MiB GET returned other bytes')
    megabytes = count * LARGE / 1e6
    return {'64 MiB PUT MB/s': megabytes / put_time,
            '64 MiB GET MB/s': megabytes / get_time}


def s3_endpoint(auth_url):
    """The proxy's root: S3 is served on the same port."""
    return auth_url.split('/auth/', 1)[0]


def measure_one(cluster, args):
    print('starting %s...' % cluster.name, flush=True)
    auth_url = cluster.start()
    try:
        endpoint = s3_endpoint(auth_url)
        s3_client(endpoint).create_bucket(Bucket='bench')
        figures = small_ops(endpoint, cluster.pids(), args.small,
                            args.concurrency)
        figures.update(large_ops(endpoint, args.large))
        return figures
    finally:
        cluster.stop()


def report(rounds):
    ours = {k: statistics.median(r[k] for r in rounds['objstore'])
            for k in rounds['objstore'][0]}
    theirs = {k: statistics.median(r[k] for r in rounds['swift'])
              for k in rounds['swift'][0]}
    print()
    print('%-30s %12s %12s %8s' % ('figure (median)', 'objstore', 'swift',
                                   'ratio'))
    for name, mine in ours.items():
        peer = theirs[name]
        numerator, denominator = (peer, mine) if 'CPU' in name else \
            (mine, peer)
        ratio = numerator / denominator if denominator else float('nan')
        print('%-30s %12.2f %12.2f %7.2fx' % (name, mine, peer, ratio))
    print('(ratio > 1.0: objstore better; CPU per op is swift/objstore)')


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='few objects: a smoke run, not a measurement')
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--concurrency', type=int, default=16)
    parser.add_argument('--small', type=int, default=800,
                        help='4 KiB objects per verb and round')
    parser.add_argument('--large', type=int, default=2,
                        help='64 MiB objects per round')
    args = parser.parse_args(argv)
    if args.quick:
        args.small, args.large, args.rounds = 64, 1, 1
    return args


def main(argv=None):
    args = parse_args(argv)
    ensure_memcached()
    ensure_swift_venv()
    makers = {'objstore': ObjstoreCluster,
              'swift': lambda: SwiftCluster(features=('s3api',))}
    rounds = {'objstore': [], 'swift': []}
    for round_no in range(args.rounds):
        order = ['objstore', 'swift'] if round_no % 2 == 0 else \
            ['swift', 'objstore']
        for name in order:
            print('round %d: %s' % (round_no + 1, name), flush=True)
            rounds[name].append(measure_one(makers[name](), args))
    report(rounds)


if __name__ == '__main__':
    main()
