"""Command line of the differential harness (see compat/__init__.py).

Starts an OpenStack Swift cluster (PyPI, its own venv) and an objstore
aio with the same users, runs the corpus against both at once (one
thread per cluster; every case in its own accounts), prints each case
that differs and a ``cases: N, differences: M`` summary, and stops every
process it started. Exits 0 whatever the differences; non-zero only
when the harness itself fails.
"""

import argparse
import os
import sys
import threading

from bench.clusters import (FULL_FEATURES, ObjstoreCluster, SwiftCluster,
                            ensure_memcached, ensure_swift_venv)
from compat.corpus import load_corpus, select
from compat.report import compare_case, format_result, summary, to_json
from compat.runner import USERS, connect, run_case
from objstore.cli.aio_layout import AioUser

DEFAULT_CORPUS = os.path.join(os.path.dirname(__file__), 'cases.yaml')
RUN_TIMEOUT = 1800
# Swift's node timeouts (0.5 s to connect, 10 s per answer) turn a busy
# shared machine into 503s on setup steps; the harness compares
# behaviour, not speed.
SWIFT_PROXY_OPTIONS = (('conn_timeout', 5), ('node_timeout', 60))
# Swift keeps all object metadata in xattrs: on ext4 (one ~4 KiB block
# per file) a large-metadata case gets 507 from its object servers, which
# then error-limits them and fails the next cases with 503. tmpfs has
# room, the way XFS under a real Swift does.
SWIFT_PARENT_DIR = '/dev/shm'
PROGRESS_EVERY = 100


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='python -m compat', description=__doc__.split('\n')[0])
    parser.add_argument('--corpus', default=DEFAULT_CORPUS,
                        help='YAML corpus (default: compat/cases.yaml)')
    parser.add_argument('--filter', default='',
                        help='only cases whose name contains this')
    parser.add_argument('--json', metavar='PATH',
                        help='also write every result as JSON here')
    parser.add_argument('--all', action='store_true',
                        help='print matching cases too, not only '
                             'differing ones')
    return parser.parse_args(argv)


def corpus_users():
    return tuple(AioUser(account, user, key, groups)
                 for account, user, key, groups in USERS.values())


def make_cluster(name):
    if name == 'swift':
        parent = SWIFT_PARENT_DIR if os.access(SWIFT_PARENT_DIR,
                                               os.W_OK) else None
        return SwiftCluster(users=corpus_users(),
                            proxy_options=SWIFT_PROXY_OPTIONS,
                            parent_dir=parent, features=FULL_FEATURES)
    return ObjstoreCluster(users=corpus_users())


def run_all(target, cases, into):
    for number, case in enumerate(cases, 1):
        into.append(run_case(target, case))
        if number % PROGRESS_EVERY == 0:
            print('%s: %d/%d cases' % (target.name, number, len(cases)),
                  flush=True)


def run_both(targets, cases):
    """Each target's runs, in case order; both clusters at once."""
    runs = {name: [] for name in targets}
    threads = [threading.Thread(target=run_all, daemon=True,
                                args=(targets[name], cases, runs[name]))
               for name in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(RUN_TIMEOUT)
        if thread.is_alive():
            raise RuntimeError('the corpus run took over %ds' % RUN_TIMEOUT)
    return runs


def main(argv=None):
    args = parse_args(argv)
    cases = select(load_corpus(args.corpus), args.filter)
    ensure_memcached()
    ensure_swift_venv()
    clusters, targets = [], {}
    try:
        # One after the other: each picks its free ports when made, so
        # the second must see the first one's ports taken.
        for name in ('swift', 'objstore'):
            cluster = make_cluster(name)
            clusters.append(cluster)
            print('starting %s...' % cluster.name, flush=True)
            targets[cluster.name] = connect(cluster.name, cluster.start())
        print('running %d cases' % len(cases), flush=True)
        runs = run_both(targets, cases)
    finally:
        for cluster in clusters:
            cluster.stop()
    results = [compare_case(case, swift_run, our_run,
                            targets['swift'].secrets,
                            targets['objstore'].secrets)
               for case, swift_run, our_run in zip(cases, runs['swift'],
                                                   runs['objstore'])]
    for result in results:
        if result.diffs or args.all:
            print(format_result(result))
    print(summary(results))
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as out:
            out.write(to_json(results))
    return 0


if __name__ == '__main__':
    sys.exit(main())
