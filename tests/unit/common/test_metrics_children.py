"""common.metrics keeps each labelled child of a metric: counting a
request looks it up in a dict instead of calling prometheus_client's
``labels()`` (argument checks and a lock, most of a proxy's metrics cost);
what a scrape shows stays the same."""

from prometheus_client.parser import text_string_to_metric_families

from objstore.common import metrics


def scraped(server):
    body, _type = metrics.render()
    return {(s.name, s.labels.get('method'), s.labels.get('status')): s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples if s.labels.get('server') == server}


def test_labels_are_looked_up_once_per_label_values(monkeypatch):
    server = 'children-test'
    metrics.observe_request(server, 'HEAD', 200, 0.001, 0, 0)
    made = []
    original = metrics._client().Counter.labels

    def counting_labels(self, *values):
        made.append(values)
        return original(self, *values)
    monkeypatch.setattr(metrics._client().Counter, 'labels', counting_labels)
    for _ in range(5):
        metrics.observe_request(server, 'HEAD', 200, 0.001, 0, 0)
    metrics.observe_request(server, 'HEAD', 404, 0.001, 0, 0)
    assert made == [(server, 'HEAD', '4xx')]
    counts = scraped(server)
    assert counts['objstore_requests_total', 'HEAD', '2xx'] == 6
    assert counts['objstore_requests_total', 'HEAD', '4xx'] == 1


def test_bytes_are_counted_and_zero_sends_nothing():
    server = 'bytes-test'
    metrics.observe_request(server, 'HEAD', 200, 0.001, 0, 0)
    counts = scraped(server)
    assert counts['objstore_received_bytes_total', None, None] == 0
    assert counts['objstore_sent_bytes_total', None, None] == 0
    metrics.observe_request(server, 'PUT', 201, 0.001, 4096, 7)
    counts = scraped(server)
    assert counts['objstore_received_bytes_total', None, None] == 4096
    assert counts['objstore_sent_bytes_total', None, None] == 7
    assert counts['objstore_request_duration_seconds_count', 'PUT',
                  None] == 1
