"""Glance's image stores (``glance_store`` from PyPI, in the test venv)
against the aio, the way an image service uses them: the swift driver
with Keystone v3 auth and large-object chunking, and the s3 driver with
its defaults and with data integrity protection. Each image is added,
read back (checksum verified) and deleted."""

import hashlib
import uuid

import pytest
from glance_store import backend, location
from oslo_config import cfg
from swiftclient.client import Connection

MIB = 1024 * 1024
USER, PROJECT, KEY = 'tester', 'test', 'testing'


class PatternFile:
    """A file-like image of ``size`` bytes made on the fly (never whole in
    memory); its sha256 is known once read to the end."""

    def __init__(self, size, seed):
        self.size = size
        self.left = size
        self.block = hashlib.sha256(seed.encode()).digest() * (MIB // 32)
        self.counter = 0
        self.buffer = b''

    def read(self, amount=-1):
        if amount is None or amount < 0:
            amount = self.left
        while len(self.buffer) < amount and self.left > len(self.buffer):
            self.counter += 1
            self.buffer += self.counter.to_bytes(8, 'big') + self.block[8:]
        data = self.buffer[:min(amount, self.left)]
        self.buffer = self.buffer[len(data):]
        self.left -= len(data)
        return data


def pattern_sha256(size, seed):
    digest = hashlib.sha256()
    image = PatternFile(size, seed)
    for chunk in iter(lambda: image.read(MIB), b''):
        digest.update(chunk)
    return digest.hexdigest()


def glance_conf(tmp_path, store, options):
    conf = cfg.ConfigOpts()
    backend.register_opts(conf)
    conf([], project='objstore-glance-test', default_config_files=[])
    conf.set_override('stores', [store], group='glance_store')
    conf.set_override('default_store', store, group='glance_store')
    for name, value in options.items():
        conf.set_override(name, value, group='glance_store')
    backend.create_stores(conf)
    return conf


def round_trip(conf, scheme, size, declared_size=None):
    """Add an image of ``size`` (Glance tells the store ``declared_size``,
    0 when it streams an upload of unknown size), read it back; the store
    and the image's location."""
    store = backend.get_store_from_scheme(scheme)
    image_id = str(uuid.uuid4())
    uri, stored, _md5, multihash, _meta = store.add(
        image_id, PatternFile(size, image_id),
        size if declared_size is None else declared_size, 'sha256')
    assert stored == size
    expected = pattern_sha256(size, image_id)
    assert multihash == expected
    loc = location.get_location_from_uri(uri, conf=conf)
    chunks, got_size = store.get(loc)
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    assert (got_size, digest.hexdigest()) == (size, expected)
    return store, loc, image_id


@pytest.mark.slow
def test_swift_store_with_keystone_v3_and_chunking(cluster, tmp_path):
    refs = tmp_path / 'swift-store.conf'
    refs.write_text('\n'.join([
        '[objstore]',
        'user = %s:%s' % (PROJECT, USER),
        'key = %s' % KEY,
        'auth_address = %s/v3' % cluster.proxy_url,
        'auth_version = 3',
        'user_domain_id = default',
        'project_domain_id = default', '']))
    conf = glance_conf(tmp_path, 'swift', {
        'swift_store_config_file': str(refs),
        'default_swift_reference': 'objstore',
        'swift_store_container': 'glance-' + uuid.uuid4().hex[:6],
        'swift_store_create_container_on_put': True,
        'swift_store_large_object_size': 100,
        'swift_store_large_object_chunk_size': 50})
    # Glance streams an upload of unknown size (declared 0): the swift
    # driver then sends each chunk with chunked transfer encoding. (With a
    # declared size it sends every chunk's Content-Length as the full
    # chunk size, which no Swift can take for a shorter last chunk.)
    store, loc, image_id = round_trip(conf, 'swift', 200 * MIB,
                                      declared_size=0)
    # Chunked: a manifest and its 50 MiB segments in the image container.
    swift = Connection(cluster.auth_url, '%s:%s' % (PROJECT, USER), KEY)
    container = loc.store_location.container
    headers = swift.head_object(container, image_id)
    assert headers['content-length'] == str(200 * MIB)
    _, listing = swift.get_container(container, prefix=image_id + '-')
    # The driver's MB is 1,024,000 bytes: four full chunks and a short one.
    chunk = 50 * 1024000
    assert [entry['bytes'] for entry in listing] == \
        [chunk] * 4 + [200 * MIB - 4 * chunk]
    store.delete(loc)
    _, listing = swift.get_container(container)
    assert listing == []


@pytest.mark.slow
@pytest.mark.parametrize('integrity', [False, True])
def test_s3_store(cluster, tmp_path, integrity):
    conf = glance_conf(tmp_path, 's3', {
        's3_store_host': cluster.proxy_url,
        's3_store_access_key': '%s:%s' % (PROJECT, USER),
        's3_store_secret_key': KEY,
        's3_store_bucket': 'glance-' + uuid.uuid4().hex[:6],
        's3_store_create_bucket_on_put': True,
        's3_store_enable_data_integrity_protection': integrity})
    store, loc, _image_id = round_trip(conf, 's3', 100 * MIB)
    store.delete(loc)
    with pytest.raises(Exception, match='not found|NotFound|404'):
        store.get(loc)
