"""objstore-aio tells its console each start-up stage (no processes
started here: preparing the data dir is the stage that runs alone)."""

from objstore.cli.aio import AioCluster
from tests.helpers import free_port_block


def test_prepare_reports_creating_then_reusing(tmp_path):
    proxy_port, base = free_port_block(1)
    args = {'devices': 1, 'replicas': 1, 'part_power': 4,
            'proxy_port': proxy_port, 'storage_port_base': base}
    lines = []
    first = AioCluster(str(tmp_path), args, console=lines.append)
    first.prepare()
    first.stop()
    assert lines[0].startswith('objstore-aio: creating %s: 1 devices, '
                               '1 replicas, part power 4' % tmp_path)
    assert lines[-1].startswith('objstore-aio: data dir ready in ')
    lines.clear()
    again = AioCluster(str(tmp_path), args, console=lines.append)
    again.prepare()
    again.stop()
    assert lines[0] == 'objstore-aio: reusing %s' % tmp_path
