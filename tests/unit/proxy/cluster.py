"""An in-process cluster for proxy tests: the real account, container and
object servers of four nodes (one device each) on loopback port 0, real
tmp rings (4 devices, 3 replicas) and the proxy pipeline in front.

Every server runs in its own thread with its own event hub
(common.wsgi.serve_in_thread); the proxy pipeline is the same stack as
etc/proxy-server.conf-sample (catch_errors, gatekeeper, healthcheck,
proxy_logging, tempauth, copy, proxy-server), assembled here without
PasteDeploy.
"""

import os

from objstore.account.server import app_factory as account_factory
from objstore.common.hashing import HashConf
from objstore.common.wsgi import serve_in_thread
from objstore.container.server import app_factory as container_factory
from objstore.middleware import (
    catch_errors, copy, gatekeeper, healthcheck, proxy_logging, tempauth)
from objstore.object.server import app_factory as object_factory
from objstore.proxy.server import Application
from objstore.ring.builder import RingBuilder
from objstore.ring.ring import Ring

KINDS = {'account': account_factory, 'container': container_factory,
         'object': object_factory}
NODES = 4
USERS = {
    'user_admin_admin': 'admin .admin .reseller_admin',
    'user_test_tester': 'testing .admin',
    'user_test2_tester2': 'testing2 .admin',
    'user_test_tester3': 'testing3',
}
CREDENTIALS = {'admin:admin': 'admin', 'test:tester': 'testing',
               'test2:tester2': 'testing2', 'test:tester3': 'testing3'}


# Three replication policies: gold (the default, 3 replicas), silver (2
# replicas) and a deprecated one (2 replicas); used with ``policies=True``.
POLICIES_CONF = ('[storage-policy:0]\nname = gold\naliases = yellow\n'
                 'default = yes\n'
                 '[storage-policy:1]\nname = silver\naliases = reduced\n'
                 '[storage-policy:2]\nname = old\ndeprecated = yes\n')
POLICY_REPLICAS = {'object-1': 2, 'object-2': 2}


class InProcessCluster:
    def __init__(self, root, proxy_conf=None, logger=None, policies=False):
        self.root = str(root)
        with open(os.path.join(self.root, 'objstore.conf'), 'w') as conf:
            conf.write('[objstore-hash]\npath_hash_prefix = p\n'
                       'path_hash_suffix = s\n')
            if policies:
                conf.write(POLICIES_CONF)
        self.servers = {kind: [] for kind in KINDS}
        for kind, factory in KINDS.items():
            for index in range(NODES):
                devices = os.path.join(self.root, kind, 'node%d' % index)
                os.makedirs(os.path.join(devices, 'd%d' % index))
                app = factory({}, devices=devices, mount_check='false',
                              conf_dir=self.root, log_level='WARNING')
                self.servers[kind].append(serve_in_thread(app))
        self.rings = {kind: self._ring(kind) for kind in KINDS}
        if policies:
            self.rings.update((name, self._ring('object', name, replicas))
                              for name, replicas in POLICY_REPLICAS.items())
        conf = {'conf_dir': self.root, 'node_timeout': '2',
                'post_quorum_timeout': '0.2', 'log_level': 'WARNING'}
        conf.update(proxy_conf or {})
        self.proxy_app = Application(
            conf, logger=logger, account_ring=self.rings['account'],
            container_ring=self.rings['container'],
            object_ring=self.rings['object'])
        self.pipeline = self._pipeline(self.proxy_app)
        self.proxy = serve_in_thread(self.pipeline)

    def _ring(self, kind, name=None, replicas=3):
        builder = RingBuilder(6, replicas, 0)
        for index, server in enumerate(self.servers[kind]):
            builder.add_dev({'region': 1, 'zone': index + 1,
                             'ip': '127.0.0.1', 'port': server.port,
                             'device': 'd%d' % index, 'weight': 100})
        builder.rebalance(seed=7)
        path = os.path.join(self.root, '%s.ring.gz' % (name or kind))
        builder.get_ring().save(path)
        return Ring(path, hash_conf=HashConf(b'p', b's'))

    @staticmethod
    def _pipeline(app):
        conf = dict(USERS, log_level='WARNING')
        app = copy.filter_factory({})(app)
        app = tempauth.filter_factory({}, **conf)(app)
        app = proxy_logging.filter_factory({}, log_level='WARNING')(app)
        app = healthcheck.filter_factory({})(app)
        app = gatekeeper.filter_factory({}, log_level='WARNING')(app)
        return catch_errors.filter_factory({}, log_level='WARNING')(app)

    @property
    def url(self):
        return self.proxy.url

    def node_index(self, kind, node):
        return next(i for i, s in enumerate(self.servers[kind])
                    if s.port == node['port'])

    def stop_node(self, kind, index):
        self.servers[kind][index].stop()

    def start_node(self, kind, index):
        old = self.servers[kind][index]
        self.servers[kind][index] = serve_in_thread(old.app, port=old.port)

    def stop(self):
        self.proxy.stop()
        for servers in self.servers.values():
            for server in servers:
                server.stop()
        self.proxy_app.client.pool.close_all()
