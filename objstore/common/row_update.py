"""Row updates: a storage process telling a DB node about one row.

Owns the two halves every sender shares: the ``X-<Kind>-Host`` /
``-Partition`` / ``-Device`` headers that name the DB nodes to update
(made by the proxy and the reaper, read by the object and container
servers), and the client that sends one update (an object row to a
container, a container's stats to an account) and turns every failure
into "not delivered". Senders: the object server, object updater and
expirer (container rows), the container server and container updater
(account rows).

Must not: decide what a failure means (an async pending, a retry next
pass, a 404 to the client): callers do.

Hosts are ``ip:port``, an IPv6 address in brackets (``[::1]:6201``) so
that the port can be told from the address; a header holds a
comma-separated list of them, one per device in ``X-<Kind>-Device``.
"""

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
        try:
            with green.Timeout(self.conn_timeout + self.node_timeout):
                status, _headers, _body = self.request(
                    ip, port, method, path, headers,
                    conn_timeout=self.conn_timeout,
                    node_timeout=self.node_timeout)
        except (Exception, green.Timeout) as err:  # noqa: B902 -- any
            # failure to deliver is the caller's "not delivered".
            self.logger.warning('row update %s %s to %s failed: %s',
                                method, path, make_host(ip, port), err)
            return None
        return status
