"""The lifecycle daemon's decisions against a scripted Swift API (the
edge: a small WSGI app standing for the proxy pipeline); the real
pipeline is exercised by tests/probe/test_s3_lifecycle.py."""

import datetime
import os

import pytest

from objstore.cli.aio_layout import DataDir, render_s3_lifecycle_conf
from objstore.common.config import readconf
from objstore.common.exceptions import ConfigError
from objstore.common.http import Request, Response
from objstore.common.internal_client import InternalClient
from objstore.middleware.s3api.lifecycle import LIFECYCLE_SYSMETA
from objstore.middleware.s3api.lifecycle_daemon import (
    S3LifecycleConf, S3LifecycleDaemon, swift_time)
from objstore.middleware.s3api.lifecycle_rules import to_stored
from objstore.middleware.versioning import DELETE_MARKER_CONTENT_TYPE
from tests.helpers import assert_sample_matches

SAMPLE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..',
                      'etc', 's3-lifecycle.conf-sample')
DAY = 10
NOW = 1_800_000_000.0
REGISTRY = '/v1/.s3-lifecycle/buckets'
BUCKET = '/v1/acct/bkt'
VERSIONS_SYSMETA = 'X-Container-Sysmeta-Versions-Container'


def listed_time(seconds):
    """A container listing's ``last_modified`` of a time."""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%f')


class ScriptedSwift:
    """Answers the daemon's requests from a few tables and records them."""

    def __init__(self, rules, objects, bucket_headers=None, deletes=None,
                 heads=None):
        self.rules = rules
        self.objects = objects
        self.bucket_headers = bucket_headers or {}
        self.delete_status = deletes or {}
        self.heads = heads or {}
        self.sent = []

    def __call__(self, environ, start_response):
        req = Request(environ)
        self.sent.append((req.method, req.path_info, req.query_string))
        return self.answer(req)(environ, start_response)

    def answer(self, req):
        if req.path_info == REGISTRY and req.method == 'GET':
            return Response(json_body=[{'name': 'acct/bkt'}] if
                            'marker' not in req.params else [])
        if req.path_info == BUCKET and req.method == 'HEAD':
            if self.rules is None:
                return Response(status=404)
            headers = dict(self.bucket_headers)
            headers[LIFECYCLE_SYSMETA] = to_stored(self.rules)
            return Response(status=204, headers=headers)
        if req.path_info == BUCKET and req.method == 'GET':
            return Response(json_body=self.objects if
                            'marker' not in req.params else [])
        if req.method == 'HEAD':
            key = (req.path_info, req.params.get('version-id'))
            return Response(status=200, headers=self.heads.get(key, {}))
        if req.method == 'DELETE':
            return Response(status=self.delete_status.get(
                (req.path_info, req.params.get('version-id')), 204))
        return Response(status=404)

    def deleted(self):
        return [(path, query) for method, path, query in self.sent
                if method == 'DELETE']


def make_daemon(app):
    return S3LifecycleDaemon(
        {'day_seconds': str(DAY), 'objects_per_second': '0'},
        client=InternalClient(app=app), now=lambda: NOW)


def version(name, version_id, latest, size=5, marker=False):
    return {'name': name, 'version_id': version_id, 'is_latest': latest,
            'bytes': size, 'last_modified': listed_time(float(version_id)),
            'content_type': DELETE_MARKER_CONTENT_TYPE if marker
            else 'text/plain'}


def expire_days(days, **filters):
    return {'ID': 'r', 'Status': 'Enabled', 'Filter': filters,
            'Expiration': {'Days': days}}


def test_expires_due_current_objects_only():
    objects = [dict(version('old', str(NOW - 2 * DAY), True), version_id=
                    'null'), dict(version('new', str(NOW - 1), True),
                                  version_id='null'),
               dict(version('other/old', str(NOW - 2 * DAY), True),
                    version_id='null')]
    app = ScriptedSwift([expire_days(1, Prefix='')], objects)
    stats = make_daemon(app).run_once()
    assert app.deleted() == [('/v1/acct/bkt/old', ''),
                             ('/v1/acct/bkt/other/old', '')]
    assert stats.get('expired') == 2 and stats.get('buckets') == 1


def test_refused_delete_is_counted_once():
    objects = [dict(version('locked', str(NOW - 2 * DAY), True),
                    version_id='null')]
    app = ScriptedSwift([expire_days(1)], objects,
                        deletes={('/v1/acct/bkt/locked', None): 403})
    stats = make_daemon(app).run_once()
    assert app.deleted() == [('/v1/acct/bkt/locked', '')]
    assert stats.get('refused') == 1 and stats.get('expired') == 0
    assert stats.get('failures') == 0


def test_tag_filter_reads_the_tags_as_the_tagging_module_stores_them():
    """A PutObjectTagging (transient sysmeta) wins over the upload's tags."""
    old = str(NOW - 2 * DAY)
    objects = [dict(version('a', old, True), version_id='null'),
               dict(version('b', old, True), version_id='null')]
    stored = 'X-Object-Sysmeta-S3api-Tagging'
    changed = 'X-Object-Transient-Sysmeta-S3api-Tagging'
    app = ScriptedSwift(
        [expire_days(1, Tag=['class', 'tmp'])], objects,
        heads={('/v1/acct/bkt/a', 'null'): {
                   stored: '[["class","keep"]]',
                   changed: '[["class","tmp"],["x","1"]]'},
               ('/v1/acct/bkt/b', 'null'): {stored: '[["class","keep"]]'}})
    make_daemon(app).run_once()
    assert app.deleted() == [('/v1/acct/bkt/a', '')]


def test_noncurrent_versions_expire_after_their_successor():
    # v1 became noncurrent when v2 was written, v2 when v3 was.
    v1, v2, v3 = NOW - 3 * DAY, NOW - 1.5 * DAY, NOW - 0.2 * DAY
    objects = [version('k', '%.5f' % v3, True),
               version('k', '%.5f' % v2, False),
               version('k', '%.5f' % v1, False)]
    rule = {'ID': 'n', 'Status': 'Enabled', 'Filter': {},
            'NoncurrentVersionExpiration': {'NoncurrentDays': 1}}
    app = ScriptedSwift([rule], objects, bucket_headers={
        VERSIONS_SYSMETA: 'x'}, heads={('/v1/acct/bkt/k', None): {
            'X-Object-Version-Id': '%.5f' % v3}})
    stats = make_daemon(app).run_once()
    assert app.deleted() == [('/v1/acct/bkt/k', 'version-id=%.5f' % v1)]
    assert stats.get('noncurrent_expired') == 1


def test_a_version_that_is_live_again_is_kept():
    # The listing says v1 is noncurrent, but it is current by the time
    # of the pass (a stale page): it must not be deleted.
    v1, v2 = NOW - 5 * DAY, NOW - 3 * DAY
    objects = [version('k', '%.5f' % v2, True),
               version('k', '%.5f' % v1, False)]
    rule = {'ID': 'n', 'Status': 'Enabled', 'Filter': {},
            'NoncurrentVersionExpiration': {'NoncurrentDays': 1}}
    app = ScriptedSwift([rule], objects, heads={('/v1/acct/bkt/k', None): {
        'X-Object-Version-Id': '%.5f' % v1}})
    make_daemon(app).run_once()
    assert app.deleted() == []


def test_a_noncurrent_null_version_is_never_deleted_by_name():
    # DELETE ?version-id=null is a DELETE of the key: the daemon must not
    # send it for a noncurrent version.
    objects = [version('k', '%.5f' % (NOW - 5 * DAY), True),
               dict(version('k', '%.5f' % (NOW - 9 * DAY), False),
                    version_id='null')]
    rule = {'ID': 'n', 'Status': 'Enabled', 'Filter': {},
            'NoncurrentVersionExpiration': {'NoncurrentDays': 1}}
    app = ScriptedSwift([rule], objects)
    make_daemon(app).run_once()
    assert app.deleted() == []


def test_lone_delete_markers_go_only_with_the_flag():
    marker_only = [version('gone', '%.5f' % (NOW - 1), True, 0, True)]
    with_flag = {'ID': 'm', 'Status': 'Enabled', 'Filter': {},
                 'Expiration': {'ExpiredObjectDeleteMarker': True}}
    app = ScriptedSwift([with_flag], marker_only)
    stats = make_daemon(app).run_once()
    assert app.deleted() == [('/v1/acct/bkt/gone',
                              'version-id=%.5f' % (NOW - 1))]
    assert stats.get('markers_removed') == 1
    app = ScriptedSwift([expire_days(1)], marker_only)
    make_daemon(app).run_once()
    assert app.deleted() == []


def test_disabled_rules_and_gone_buckets():
    objects = [dict(version('old', str(NOW - 9 * DAY), True),
                    version_id='null')]
    app = ScriptedSwift([dict(expire_days(1), Status='Disabled')], objects)
    make_daemon(app).run_once()
    assert app.deleted() == []
    app = ScriptedSwift(None, objects)
    stats = make_daemon(app).run_once()
    assert app.deleted() == [('/v1/.s3-lifecycle/buckets/acct/bkt', '')]
    assert stats.get('gone') == 1


def test_sample_and_aio_conf_agree_with_the_dataclass(tmp_path):
    assert_sample_matches(S3LifecycleConf, SAMPLE, 's3-lifecycle', ignore=(
        'devices', 'mount_check', 'bind_ip', 'bind_port', 'conf_dir',
        'recon_cache_path'))
    path = tmp_path / 's3-lifecycle.conf'
    path.write_text(render_s3_lifecycle_conf(DataDir(str(tmp_path))))
    conf = S3LifecycleConf.from_conf(readconf(str(path), 's3-lifecycle'))
    assert conf.day_seconds == 86400 and conf.interval <= 30
    assert 'gatekeeper' not in readconf(str(path))['pipeline:internal'][
        'pipeline']


@pytest.mark.parametrize('option', ['day_seconds = 0',
                                    'objects_per_second = -1',
                                    'listing_limit = 0'])
def test_bad_options_are_refused(option):
    name, value = option.split(' = ')
    with pytest.raises(ConfigError) as caught:
        S3LifecycleConf.from_conf({name: value})
    assert name in str(caught.value)


def test_listing_times_round_trip():
    assert swift_time('2024-01-02T00:00:00') == 1704153600.0
    assert swift_time(listed_time(NOW + 0.25)) == NOW + 0.25
