"""console's pure parts: ring views, node status, request totals, the
history's rates, SVG plots and HTML escaping of the pages."""

import html
import re
import xml.dom.minidom

from objstore.middleware.console import cluster, pages, svg
from objstore.middleware.console.history import (
    REQUESTS_SERIES, History, sample_values)
from objstore.ring.builder import RingBuilder

HOSTILE = '<script>alert("x")</script>&amp;\'"'


def make_ring(weights, part_power=6, replicas=3):
    builder = RingBuilder(part_power, replicas, 1)
    for index, weight in enumerate(weights):
        builder.add_dev({'region': 1, 'zone': index + 1,
                         'ip': '127.0.0.%d' % (index + 1), 'port': 6200,
                         'device': 'd%d' % index, 'weight': weight})
    builder.rebalance(seed=1)
    return builder.get_ring()


def test_ring_view_counts_partitions_per_device():
    data = make_ring([100, 100, 200, 200])
    view = cluster.ring_view('object', data)
    assert view.partitions == 64 and view.replicas == 3
    assert sum(dev.parts for dev in view.devices) == 64 * 3
    by_dev = {dev.device: dev.parts for dev in view.devices}
    for dev_id, name in enumerate(('d0', 'd1', 'd2', 'd3')):
        assert by_dev[name] == sum(list(row).count(dev_id)
                                   for row in data.replica2part2dev)
    assert by_dev['d2'] > by_dev['d0']
    assert view.weight == 600
    assert view.balance == max(abs(dev.balance) for dev in view.devices)


def test_node_statuses_from_recon_answers():
    daemons = {'object-replicator': {'d0': {
        'pass_end': 100.0, 'duration': 2.5, 'age': 30.0,
        'counts': {'failures': 2, 'successes': 7}}},
        'object-updater': {'d0': {'pass_end': 90.0, 'age': 40.0,
                                  'counts': {'errors': 1}}}}
    results = {
        'daemons': {'all': {'10.0.0.1:6200': daemons,
                            '10.0.0.2:6200': {'error': 'timed out'}}},
        'async': {'object': {'10.0.0.1:6200': {'total': 5}}},
        'quarantined': {'all': {'10.0.0.1:6200': {
            'objects': 1, 'containers': 0, 'accounts': 2}}},
    }
    up, down = cluster.node_statuses(results, ['10.0.0.1:6200',
                                               '10.0.0.2:6200'])
    assert up.error == '' and up.async_pendings == 5
    assert up.failures == 3
    assert up.oldest_age('-replicator') == 30.0
    assert up.oldest_age('-updater') == 40.0
    assert sum(up.quarantined.values()) == 3
    assert down.error == 'timed out' and down.passes == ()


def test_request_totals_sum_methods_and_statuses():
    samples = [('objstore_requests_total', {'server': 'proxy-server',
                                            'method': 'GET'}, 3.0),
               ('objstore_requests_total', {'server': 'proxy-server',
                                            'method': 'PUT'}, 2.0),
               ('objstore_requests_created', {'server': 'proxy-server'},
                1e9),
               ('objstore_requests_total', {'server': 'object-server-0'},
                7.0)]
    assert cluster.request_totals(samples) == {'proxy-server': 5.0,
                                               'object-server-0': 7.0}


def test_history_keeps_one_window_and_throttles():
    history = History(window=100, min_interval=10)
    assert history.due(0)
    history.add(0, {'n': 0})
    assert not history.due(5) and history.due(10)
    history.add(50, {'n': 100})
    history.add(120, {'n': 170})
    assert [s.time for s in history.samples] == [50, 120]
    assert history.series('n') == [(50, 100), (120, 170)]
    assert history.samples[-1].values == {'n': 170}
    assert history.series('missing') == []


def test_svg_is_well_formed_and_escaped():
    bars = svg.bar_chart(HOSTILE, ['d0', HOSTILE], [3, 0])
    lines = svg.line_plot(HOSTILE, {HOSTILE: [(5, 1.0), (9, 4.0)],
                                    'empty': []}, now=10, window=3600)
    for image in (bars, lines):
        xml.dom.minidom.parseString(image)
        assert '<script>' not in image
    assert lines.count('<polyline') == 1
    assert 'empty (no data)' in lines
    assert bars.count('<rect') == 2


def test_svg_bar_heights_follow_values():
    image = svg.bar_chart('t', ['a', 'b'], [10, 5])
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"',
                                            image)]
    assert heights[0] == 2 * heights[1]


def test_pages_escape_names_everywhere():
    body = pages.container_body(
        HOSTILE, {'X-Container-Object-Count': '1'},
        [{'name': HOSTILE, 'bytes': 1, 'content_type': HOSTILE,
          'last_modified': 'x', 'hash': 'h'}], next_marker=HOSTILE)
    document = pages.page(HOSTILE, body, user=HOSTILE).decode()
    assert '<script>' not in document
    assert html.escape(HOSTILE) in document
    # Links quote names: no quote or angle bracket ends the attribute.
    for href in re.findall(r'href="([^"]*)"', document):
        assert '<' not in href and "'" not in href
    metadata = pages.object_body(HOSTILE, HOSTILE, {'X-Object-Meta-A':
                                                    HOSTILE})
    assert '<script>' not in metadata


def test_facts_carry_ids_for_scripts():
    text = pages.facts((('nodes', 'Nodes', 4),))
    assert '<dd id="fact-nodes">4</dd>' in text


def test_samples_plot_request_rates_between_them():
    status = cluster.ClusterStatus(servers={}, health=(), nodes=(
        cluster.NodeStatus('n1', '', (), 2, {'objects': 1}),))
    history = History()
    history.add(100, sample_values(status, {'proxy-server': 7.0}))
    history.add(110, sample_values(status, {'proxy-server': 12.0}))
    assert history.samples[-1].values['async pendings'] == 2
    assert history.samples[-1].values['quarantined'] == 1
    assert history.rates(REQUESTS_SERIES + 'proxy-server') == [(110, 0.5)]


def test_disks_shared_by_a_hosts_servers_count_once():
    disk = {'device': 'd0', 'mounted': True, 'used': 1, 'size': 4}
    health = [cluster.ServerHealth('object', '10.0.0.1:6200', '', (disk,)),
              cluster.ServerHealth('account', '10.0.0.1:6202', '', (disk,)),
              cluster.ServerHealth('object', '10.0.0.2:6200', '', (
                  disk, {'device': 'd9', 'mounted': False}))]
    assert sorted(cluster.mounted_disks(health)) == [
        ('10.0.0.1', 'd0'), ('10.0.0.2', 'd0')]
