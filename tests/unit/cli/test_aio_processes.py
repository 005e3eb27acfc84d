"""Which processes objstore-aio runs (nothing started here)."""

import os

from objstore.cli.aio import AioCluster
from objstore.cli.aio_layout import DAEMONS, AioLayout
from objstore.common.config import readconf
from objstore.common.wsgi import WSGIServerConf


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


def test_proxy_serves_in_the_process_the_aio_supervises(tmp_path):
    # A prefork parent of one worker cost an idle aio ~35 MiB: the aio's
    # supervisor already restarts a proxy that dies.
    cluster = AioCluster(str(tmp_path))
    cluster.prepare()
    defaults = readconf(cluster.dirs.proxy_conf)['DEFAULT']
    assert WSGIServerConf.from_conf(defaults).workers == 0
