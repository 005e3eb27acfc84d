"""Row updates: a storage process telling a DB node about one row.

Owns the two halves every sender shares: the ``X-<Kind>-Host`` /
``-Partition`` / ``-Device`` headers that name the DB nodes to update
(made by the proxy and the reaper, read by the object and container
servers), and the client that sends one update (an object row to a
container, a container's stats to an account) and turns every failure
into "not delivered". Senders: the object server, object updater and
expirer (container rows), the container server and container updater
(account rows). ``RowBatcher`` (the object server's) sends the rows
that are in flight to one DB at the same time as one batch.

Must not: decide what a failure means (an async pending, a retry next
pass, a 404 to the client): callers do.

Hosts are ``ip:port``, an IPv6 address in brackets (``[::1]:6201``) so
that the port can be told from the address; a header holds a
comma-separated list of them, one per device in ``X-<Kind>-Device``.

A batch of row updates (``BATCH_VERB`` on a DB's path,
``/<device>/<partition>/<account>/<container>``) carries, as a JSON list,
the rows a sender would otherwise send one request each: per row its verb
(``op``), its name under the DB (``obj``) and the headers the single
request would carry, so the receiver reads each row exactly as it reads a
single update. The answer is 200 with a JSON list of one status per row,
in order; any other status is the whole batch's. Made and read here
(``encode_batch``, ``decode_batch``, ``decode_statuses``).
"""

import json

from objstore.common import green
from objstore.common.backend_client import direct_request


def make_host(ip, port):
    """'ip:port' of a node, IPv6 in brackets.

    >>> make_host('::1', 6201)
    '[::1]:6201'
    """
    ip = str(ip).strip('[]')
    return '%s:%d' % ('[%s]' % ip if ':' in ip else ip, int(port))


def parse_host(host):
    """(ip, port) of an 'ip:port' or '[v6]:port'; ValueError if malformed.

    >>> parse_host('[::1]:6201')
    ('::1', 6201)
    """
    ip, sep, port = str(host).strip().rpartition(':')
    ip = ip.strip('[]')
    if not sep or not ip or not (port.isascii() and port.isdigit()):
        raise ValueError('bad host %r' % host)
    return ip, int(port)


def make_host_list(nodes):
    """The X-<Kind>-Host value naming ring ``nodes`` ({'ip', 'port'})."""
    return ','.join(make_host(node['ip'], node['port']) for node in nodes)


def split_list(value):
    """The non-empty, stripped items of a comma-separated header."""
    return [item.strip() for item in (value or '').split(',')
            if item.strip()]


def update_nodes(headers, kind):
    """[{host, partition, device}] named by X-<kind>-Host/-Partition/
    -Device; None if they disagree in number. One partition (a DB has
    one) stands for all hosts, as Swift's proxy sends it.

    >>> update_nodes({'X-Container-Host': '10.0.0.1:6201,[::1]:6201',
    ...               'X-Container-Partition': '7',
    ...               'X-Container-Device': 'd1,d2'}, 'Container')[1]
    {'host': '[::1]:6201', 'partition': '7', 'device': 'd2'}
    """
    hosts, partitions, devices = (
        split_list(headers.get('X-%s-%s' % (kind, field)))
        for field in ('Host', 'Partition', 'Device'))
    if len(partitions) == 1:
        partitions = partitions * len(hosts)
    if not len(hosts) == len(partitions) == len(devices):
        return None
    return [{'host': host, 'partition': partition, 'device': device}
            for host, partition, device in zip(hosts, partitions, devices)]


BATCH_VERB = 'UPDATE'
BATCH_ROW_OPS = ('PUT', 'DELETE')
# Rows one batch may carry: a sender splits longer queues, a receiver
# refuses more (413), so a batch's body and its one append stay small.
MAX_BATCH_ROWS = 256
# A row's headers are at most a request's; with JSON quoting about 10 KiB.
MAX_BATCH_BYTES = MAX_BATCH_ROWS * 10240


class BatchRow:
    """One row of a batch: its verb, name and headers (case-insensitive
    lookup, as a request's; ``get`` and ``in`` are what receivers use)."""

    __slots__ = ('op', 'obj', 'headers', '_lowered')

    def __init__(self, op, obj, headers):
        self.op = op
        self.obj = obj
        self.headers = headers
        self._lowered = {key.lower(): value for key, value in headers.items()}

    def get(self, name, default=None):
        return self._lowered.get(name.lower(), default)

    def __contains__(self, name):
        return name.lower() in self._lowered

    def __getitem__(self, name):
        return self._lowered[name.lower()]


def encode_batch(rows):
    """The body of a batch of BatchRow.

    >>> encode_batch([BatchRow('DELETE', 'o', {'X-Timestamp': '1.00000'})])
    b'[{"op":"DELETE","obj":"o","headers":{"X-Timestamp":"1.00000"}}]'
    """
    return json.dumps(
        [{'op': row.op, 'obj': row.obj, 'headers': row.headers}
         for row in rows], separators=(',', ':')).encode('utf-8')


def decode_batch(body):
    """[BatchRow, or a one-line reason for a row that is not one] of a
    batch body; ValueError (with the reason) if the body is no batch.

    >>> rows = decode_batch(b'[{"op":"PUT","obj":"o","headers":{}},{}]')
    >>> rows[0].op, rows[1]
    ('PUT', 'row 1: op must be PUT or DELETE')
    """
    try:
        items = json.loads(body)
    except ValueError:
        raise ValueError('batch body is not JSON')
    if not isinstance(items, list):
        raise ValueError('batch body is not a JSON list')
    if len(items) > MAX_BATCH_ROWS:
        raise ValueError('batch has %d rows; max %d'
                         % (len(items), MAX_BATCH_ROWS))
    return [_batch_row(index, item) for index, item in enumerate(items)]


def _batch_row(index, item):
    """A BatchRow, or the reason ``item`` (row ``index``) is not one."""
    if not isinstance(item, dict) or item.get('op') not in BATCH_ROW_OPS:
        return 'row %d: op must be PUT or DELETE' % index
    name, headers = item.get('obj'), item.get('headers')
    if not isinstance(name, str) or not name:
        return 'row %d: obj must be a non-empty string' % index
    if not isinstance(headers, dict) or not all(
            isinstance(value, str) for value in headers.values()):
        return 'row %d: headers must map names to strings' % index
    return BatchRow(item['op'], name, headers)


def decode_statuses(body, count):
    """The per-row statuses of a batch's 200 answer; ValueError unless it
    is a list of ``count`` integers.

    >>> decode_statuses(b'[201, 400]', 2)
    [201, 400]
    """
    statuses = json.loads(body)
    if not (isinstance(statuses, list) and len(statuses) == count and
            all(isinstance(status, int) for status in statuses)):
        raise ValueError('batch answer is not %d statuses' % count)
    return statuses


class RowUpdateClient:
    """Sends one row update to one DB node within a bounded time.

    ``request`` is direct_request-like (tests inject fakes); the whole
    call, connect included, is bounded by ``conn_timeout + node_timeout``
    so a node that accepts and then stalls cannot hold a sender.
    """

    def __init__(self, logger, conn_timeout, node_timeout,
                 request=direct_request):
        self.logger = logger
        self.conn_timeout = conn_timeout
        self.node_timeout = node_timeout
        self.request = request

    def send(self, ip, port, method, path, headers):
        """The node's status, or None when it could not be reached (the
        failure is logged as a warning)."""
        answer = self.exchange(ip, port, method, path, headers)
        return None if answer is None else answer[0]

    def exchange(self, ip, port, method, path, headers, body=b''):
        """(status, body) of the node's answer, or None as ``send``."""
        try:
            with green.Timeout(self.conn_timeout + self.node_timeout):
                status, _headers, answer = self.request(
                    ip, port, method, path, headers, body=body,
                    conn_timeout=self.conn_timeout,
                    node_timeout=self.node_timeout)
        except (Exception, green.Timeout) as err:  # noqa: B902 -- any
            # failure to deliver is the caller's "not delivered".
            self.logger.warning('row update %s %s to %s failed: %s',
                                method, path, make_host(ip, port), err)
            return None
        return status, answer


class RowBatcher:
    """Coalesces the row updates in flight to one DB into batches.

    The first update to a DB yields once (``pause``) so that the updates
    other green threads are about to send to it join its request; updates
    to that DB arriving while a request is in flight wait and go together
    in the next one. A batch forms only when updates queue up anyway
    (never on a timer) and holds at most ``max_rows``; a batch of one is
    the single request. Every caller gets its own row's status (None: not
    delivered), and a row counts as delivered only on its own 2xx, which
    the receiver gives once the row is durable; so a caller can keep
    (async pending) whatever was not delivered, as after a single update.
    For green threads in one process.
    """

    def __init__(self, client, max_rows=MAX_BATCH_ROWS, pause=green.sleep):
        self.client = client
        self.max_rows = max_rows
        self.pause = pause
        # (ip, port, db path) -> [(BatchRow, Event)] waiting to be sent
        # to that DB; no key: no request to it in flight.
        self._waiting = {}

    def send(self, ip, port, db_path, row):
        """The status of ``row`` sent to the DB at ``db_path`` (no
        trailing slash) on ``ip:port``, or None if not delivered."""
        key = (ip, port, db_path)
        waiting = self._waiting.get(key)
        if waiting is not None:
            event = green.Event()
            waiting.append((row, event))
            return event.wait()
        self._waiting[key] = [(row, None)]
        try:
            self.pause()
            return self._send_next(key)
        finally:
            self._next_batch(key)

    def _send_next(self, key):
        """Send the first ``max_rows`` rows waiting for ``key``; wake their
        callers; the status of the first row."""
        waiting = self._waiting[key]
        self._waiting[key] = waiting[self.max_rows:]
        del waiting[self.max_rows:]
        statuses = [None] * len(waiting)
        try:
            statuses = self._send_rows(key, [row for row, _ in waiting])
        finally:
            for (_row, event), status in zip(waiting, statuses):
                if event is not None:
                    event.send(status)
        return statuses[0]

    def _next_batch(self, key):
        """Send what waited for the request that just ended, in its own
        green thread: the caller whose request ended returns now."""
        if self._waiting[key]:
            green.spawn(self._send_queued, key)
        else:
            del self._waiting[key]

    def _send_queued(self, key):
        try:
            self._send_next(key)
        finally:
            self._next_batch(key)

    def _send_rows(self, key, rows):
        """Each row's status: a single request for one row, else a batch;
        the batch's own status for every row when the node refused it
        whole, None for each when not delivered."""
        ip, port, db_path = key
        if len(rows) == 1:
            return [self.client.send(ip, port, rows[0].op, '%s/%s' % (
                db_path, rows[0].obj), rows[0].headers)]
        body = encode_batch(rows)
        if len(body) > MAX_BATCH_BYTES:
            # Long values (JSON escapes a non-ASCII byte in six): halves,
            # until each fits what the receiver takes.
            half = len(rows) // 2
            return (self._send_rows(key, rows[:half]) +
                    self._send_rows(key, rows[half:]))
        headers = {'X-Trans-Id': rows[0].headers.get('X-Trans-Id', '-'),
                   'Content-Type': 'application/json'}
        answer = self.client.exchange(ip, port, BATCH_VERB, db_path,
                                      headers, body)
        if answer is None:
            return [None] * len(rows)
        status, body = answer
        if status == 405:
            # A node that does not know batches yet (a rolling upgrade):
            # one request per row, as before batches.
            return [self._send_rows(key, [row])[0] for row in rows]
        if status != 200:
            # Only 200 carries the rows' statuses: any other 2xx answers
            # none of them, so none counts as delivered.
            return [None if 200 <= status < 300 else status] * len(rows)
        try:
            return decode_statuses(body, len(rows))
        except ValueError as err:
            self.client.logger.warning(
                'row batch to %s%s: %s', make_host(ip, port), db_path, err)
            return [None] * len(rows)
