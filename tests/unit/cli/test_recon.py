"""objstore-recon against real servers running the recon filter."""

import io
import json
import os

import pytest

from objstore.cli.recon import main
from objstore.common.daemon import DaemonStats, write_status_file
from objstore.common.wsgi import serve_in_thread
from objstore.middleware.recon import filter_factory
from objstore.ring.ringdata import RingData
from objstore.ring.servers import ring_kind, servers_by_kind
from tests.helpers import free_port

NOW = 1700000500.0


def not_found(environ, start_response):
    start_response('404 Not Found', [('Content-Length', '0')])
    return [b'']


def ring_dev(n, port):
    return {'id': n, 'region': 1, 'zone': n + 1, 'ip': '127.0.0.1',
            'port': port, 'replication_ip': '127.0.0.1',
            'replication_port': port, 'device': 'd%d' % n, 'weight': 1.0,
            'meta': ''}


def record(daemon, device, end, **counts):
    stats = DaemonStats(clock=lambda: end - 1.5)
    for name, value in counts.items():
        stats.incr(name, value)
    stats.end = end
    return stats.status_record(daemon, device)


class TwoNodes:
    """Two nodes, each serving object and container 'servers' (recon only)
    on its own ports over one devices dir, like the aio."""

    def __init__(self, base):
        self.conf_dir = os.path.join(base, 'etc')
        os.makedirs(self.conf_dir)
        self.servers = []
        self.node_paths = []
        ports = {'object': [], 'container': []}
        for n in range(2):
            devices = os.path.join(base, 'nodes', str(n))
            os.makedirs(os.path.join(devices, 'd%d' % n))
            cache = os.path.join(base, 'recon', str(n))
            conf = {'devices': devices, 'mount_check': 'false',
                    'recon_cache_path': cache}
            for kind in ports:
                server = serve_in_thread(filter_factory({}, **conf)(not_found))
                self.servers.append(server)
                ports[kind].append(server.port)
            self.node_paths.append((devices, cache))
        for kind, kind_ports in ports.items():
            RingData([[0], [1]], [ring_dev(n, p)
                                  for n, p in enumerate(kind_ports)],
                     32).save(os.path.join(self.conf_dir,
                                           '%s.ring.gz' % kind))
        self.ports = ports

    def close(self):
        for server in self.servers:
            server.stop()


@pytest.fixture
def nodes(tmp_path):
    made = TwoNodes(str(tmp_path))
    devices0, cache0 = made.node_paths[0]
    devices1, cache1 = made.node_paths[1]
    write_status_file(cache0, 'object-replicator', 'd0',
                      record('object-replicator', 'd0', NOW - 40,
                             successes=7))
    write_status_file(cache1, 'object-replicator', 'd1',
                      record('object-replicator', 'd1', NOW - 5,
                             successes=3, failures=1))
    write_status_file(cache0, 'container-replicator', 'd0',
                      record('container-replicator', 'd0', NOW - 9,
                             attempted=2))
    pending = os.path.join(devices1, 'd1', 'async_pending', 'abc')
    os.makedirs(pending)
    for name in ('a-1', 'b-2'):
        open(os.path.join(pending, name), 'w').close()
    os.makedirs(os.path.join(devices0, 'd0', 'quarantined', 'objects', 'h1'))
    yield made
    made.close()


def run(argv, timeout='20'):
    out = io.StringIO()
    # A generous per-server timeout: a loaded test machine is slow.
    if timeout:
        argv = argv + ['--timeout', timeout]
    code = main(argv, out=out, now=NOW)
    return code, out.getvalue()


def test_json_output_has_every_section_per_server(nodes):
    code, text = run([nodes.conf_dir, '--json'])
    assert code == 0
    data = json.loads(text)
    assert set(data) == {'replication', 'async', 'quarantined', 'diskusage'}
    object_answers = data['replication']['object']
    assert len(object_answers) == 2
    assert len(data['diskusage']['all']) == 4
    counts = [answer['object-replicator'] for answer in
              object_answers.values()]
    assert {next(iter(c)) for c in counts} == {'d0', 'd1'}


def test_text_output_counts_each_disk_once(nodes):
    code, text = run([nodes.conf_dir, '--all'])
    assert code == 0
    assert '[replication] object-replicator' in text
    assert 'oldest pass: 40s ago' in text and 'newest: 5s ago' in text
    assert 'failures=1 successes=3' in text
    # Two servers share each devices dir: 2 pendings, not 4.
    assert '[async] pending container updates: 2' in text
    assert '[quarantined] objects=1, containers=0, accounts=0' in text
    assert '[diskusage] 2 devices' in text
    assert '[replication] container-replicator' in text
    assert 'never replicated' in text


def test_section_flags_select_sections(nodes):
    code, text = run([nodes.conf_dir, '-a', '-q'])
    assert code == 0
    assert '[async]' in text and '[quarantined]' in text
    assert '[replication]' not in text and '[diskusage]' not in text


def test_unreachable_server_is_reported_with_status_2(nodes):
    nodes.servers[0].stop()
    code, text = run([nodes.conf_dir, '-r'])
    assert code == 2
    assert 'unreachable' in text and text.count('! replication') == 1


def test_bad_invocations(tmp_path):
    assert run([str(tmp_path / 'missing')])[0] == 1
    assert run([str(tmp_path)])[0] == 1
    assert run([str(tmp_path)], timeout='0')[0] == 1
    with pytest.raises(SystemExit):
        run([str(tmp_path), '--bogus'])


def test_server_without_recon_is_an_error(tmp_path):
    conf_dir = tmp_path / 'etc'
    conf_dir.mkdir()
    server = serve_in_thread(not_found)
    try:
        RingData([[0]], [ring_dev(0, server.port)], 32).save(
            str(conf_dir / 'account.ring.gz'))
        code, text = run([str(conf_dir), '-r'])
    finally:
        server.stop()
    assert code == 2 and 'HTTP 404' in text


def test_ring_helpers(tmp_path):
    assert ring_kind('x/object-1.ring.gz') == 'object'
    assert ring_kind('x/account.ring.gz') == 'account'
    port = free_port()
    RingData([[0], [1]], [ring_dev(0, port), ring_dev(1, port)], 32).save(
        str(tmp_path / 'object-1.ring.gz'))
    assert servers_by_kind(str(tmp_path)) == {'object': [('127.0.0.1',
                                                           port)]}


def test_progress_on_stderr_when_asked(nodes, capsys):
    code, text = run([nodes.conf_dir, '--json', '--progress'])
    assert code == 0
    answers = sum(len(by_server) for kinds in json.loads(text).values()
                  for by_server in kinds.values())
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1] == 'objstore-recon: %d/%d answers' % (answers, answers)
    assert 1 < len(lines) <= 11
    code, _text = run([nodes.conf_dir, '--json', '--no-progress'])
    assert capsys.readouterr().err == ''
