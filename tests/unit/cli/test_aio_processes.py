"""Which processes objstore-aio runs (nothing started here)."""

import os

from objstore.cli.aio import AioCluster
from objstore.cli.aio_layout import DAEMONS, AioLayout


def test_one_daemon_process_serves_every_node(tmp_path):
    # One interpreter per daemon and node cost an aio ~1.5 GiB at rest.
    cluster = AioCluster(str(tmp_path))
    cluster.layout = AioLayout(devices=3)
    specs = {spec.name: spec for spec in cluster.daemon_specs()}
    assert sorted(specs) == sorted(
        [daemon for daemons in DAEMONS.values() for daemon in daemons] +
        ['s3-lifecycle'])
    assert specs['s3-lifecycle'].argv[1:] == (
        cluster.dirs.s3_lifecycle_conf,)
    for kind, daemons in DAEMONS.items():
        for daemon in daemons:
            argv = specs[daemon].argv
            assert os.path.basename(argv[0]) == 'objstore-' + daemon
            assert argv[1:] == tuple(cluster.dirs.server_conf(kind, node)
                                     for node in range(3))
