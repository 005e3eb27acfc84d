"""The default proxy pipeline is valid and /info describes it.

Order: the aio's pipeline (objstore-aio's proxy-server.conf) and the
sample's (etc/proxy-server.conf-sample) are the same list, in the
project's target order, and every rule of ``ORDER_RULES`` holds: each
middleware comes after what it needs to have run first. A rule naming a
middleware the pipeline does not have yet is skipped, so the table grows
with the pipeline: a new middleware adds its rules here.

/info: every middleware of the running aio's pipeline either has an entry
in ``INFO_SECTIONS`` (its /info section and the settings it lists) or is
named in ``NO_INFO`` (Swift lists nothing for it); the live /info has
each section with exactly those settings. A middleware in neither table
fails the test, so no feature goes unadvertised by oversight.
"""

import configparser
import json
import os

import pytest

from objstore.cli.aio_layout import AioLayout, render_proxy_conf
from tests.helpers import SAMPLE_DIR, send_raw

SAMPLE = os.path.join(SAMPLE_DIR, 'proxy-server.conf-sample')

# The project lead's order of every middleware the proxy will have.
TARGET_ORDER = (
    'catch_errors gatekeeper healthcheck proxy_logging metrics console '
    'cname_lookup domain_remap crossdomain list_endpoints listing_formats '
    'bulk tempurl formpost ratelimit name_check s3api tempauth staticweb '
    'copy container_quotas account_quotas slo dlo versioned_writes '
    'object_versioning symlink etag_quoter proxy-server').split()

# (earlier, later, why): ``later`` needs ``earlier`` to have run first.
ORDER_RULES = (
    ('catch_errors', 'gatekeeper', 'errors in the gatekeeper get a 500 '
     'and a transaction id'),
    ('gatekeeper', 'healthcheck', 'nothing before the gatekeeper may see '
     'or set system metadata'),
    ('catch_errors', 'proxy_logging', 'the access line carries the '
     'transaction id'),
    ('proxy_logging', 'metrics', 'a scrape of /metrics is logged too'),
    ('metrics', 'tempauth', '/metrics is answered without credentials, '
     'and every request below it is counted'),
    ('metrics', 'console', 'the console shows request rates it counted'),
    ('console', 'tempauth', 'the console logs in through tempauth and '
     'reads the groups it sets'),
    ('cname_lookup', 'domain_remap', 'a CNAME resolves to a storage-domain '
     'host that domain_remap then maps'),
    ('domain_remap', 'crossdomain', 'every path reader sees /v1/... paths'),
    ('domain_remap', 'list_endpoints', 'every path reader sees /v1/...'),
    ('domain_remap', 'listing_formats', 'every path reader sees /v1/...'),
    ('domain_remap', 'ratelimit', 'limits are per real account/container'),
    ('domain_remap', 'name_check', 'the checked path is the real one'),
    ('domain_remap', 'tempauth', 'auth decides on the real account'),
    ('domain_remap', 'staticweb', 'sites under their own host names'),
    ('listing_formats', 'tempauth', 'a listing format is refused (406) '
     'before auth, as in Swift'),
    ('listing_formats', 'staticweb', 'its listing subrequests get JSON'),
    ('listing_formats', 'bulk', 'its listing subrequests get JSON'),
    ('listing_formats', 's3api', 'its listing subrequests get JSON'),
    ('listing_formats', 'versioned_writes', 'its listing subrequests get '
     'JSON'),
    ('listing_formats', 'dlo', 'its listing subrequests get JSON'),
    ('crossdomain', 'tempauth', 'the policy is public'),
    ('list_endpoints', 'tempauth', 'endpoints are answered without auth'),
    ('healthcheck', 'tempauth', 'a health check needs no credentials'),
    ('bulk', 'ratelimit', "bulk's many subrequests are rate limited"),
    ('ratelimit', 'tempauth', 'a refused request costs no auth work'),
    ('name_check', 'tempauth', 'a bad name is refused before auth'),
    ('tempurl', 'tempauth', 'signed requests are claimed before auth'),
    ('formpost', 'tempauth', 'signed requests are claimed before auth'),
    ('s3api', 'tempauth', 'S3 signatures are checked with its users'),
    ('tempauth', 'copy', 'copy subrequests are authorized as the client'),
    ('tempauth', 'staticweb', 'anonymous access is decided by auth first'),
    ('copy', 'container_quotas', 'a copy counts against the quota'),
    ('copy', 'account_quotas', 'a copy counts against the quota'),
    ('copy', 'slo', 'copying a manifest copies the large object'),
    ('copy', 'dlo', 'copying a manifest copies the large object'),
    ('copy', 'versioned_writes', 'a copy over an object keeps a version'),
    ('copy', 'symlink', 'copying a link copies its target'),
    ('slo', 'versioned_writes', 'manifests are versioned as objects'),
    ('dlo', 'versioned_writes', 'manifests are versioned as objects'),
    ('versioned_writes', 'symlink', 'versions of links are links'),
    ('gatekeeper', 'etag_quoter', 'it keeps its setting in sysmeta'),
    ('symlink', 'etag_quoter', 'the quoted ETag is the final one'),
    ('slo', 'etag_quoter', 'the quoted ETag is the final one'),
)

TEMPURL_SETTINGS = {'methods', 'incoming_remove_headers',
                    'incoming_allow_headers', 'outgoing_remove_headers',
                    'outgoing_allow_headers', 'allowed_digests',
                    'deprecated_digests'}
# Middleware -> {its /info section: the settings it lists}.
INFO_SECTIONS = {
    'domain_remap': {'domain_remap': {'default_reseller_prefix'}},
    'crossdomain': {'crossdomain': set()},
    'list_endpoints': {'list_endpoints': {'list_endpoints_path'}},
    'bulk': {'bulk_upload': {'max_containers_per_extraction',
                             'max_failed_extractions'},
             'bulk_delete': {'max_deletes_per_request',
                             'max_failed_deletes'}},
    'tempurl': {'tempurl': TEMPURL_SETTINGS},
    'formpost': {'formpost': {'allowed_digests', 'deprecated_digests'}},
    'ratelimit': {'ratelimit': {'account_ratelimit',
                                'max_sleep_time_seconds',
                                'container_ratelimits',
                                'container_listing_ratelimits'}},
    'name_check': {'name_check': {'forbidden_chars', 'maximum_length',
                                  'forbidden_regexp'}},
    's3api': {'s3api': {'location', 'storage_domain', 'signature_versions',
                        'max_xml_size'}},
    'tempauth': {'tempauth': {'account_acls'}},
    'staticweb': {'staticweb': set()},
    'copy': {'copy': set()},
    'container_quotas': {'container_quotas': set()},
    'slo': {'slo': {'max_manifest_segments', 'max_manifest_size',
                    'yield_frequency', 'min_segment_size',
                    'allow_async_delete'}},
    'dlo': {'dlo': set()},
    'versioned_writes': {'versioned_writes': {'allowed_flags'}},
    'object_versioning': {'object_versioning': set()},
    'symlink': {'symlink': {'symloop_max', 'static_links'}},
    'account_quotas': {'account_quotas': set()},
    'etag_quoter': {'etag_quoter': {'enable_by_default'}},
    'proxy-server': {'swift': {'strict_cors_mode', 'policies',
                               'max_object_name_length', 'version'}},
}
# Middlewares Swift lists nothing for in /info (metrics and console are
# operators' pages, not client features).
NO_INFO = {'catch_errors', 'gatekeeper', 'healthcheck', 'proxy_logging',
           'metrics', 'console', 'listing_formats'}


def pipeline_of(text):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser['pipeline:main']['pipeline'].split()


def aio_pipeline(tmp_path):
    class Dirs:
        etc = str(tmp_path)
    return pipeline_of(render_proxy_conf(Dirs, AioLayout()))


def broken_rules(pipeline):
    """The rules ``pipeline`` breaks, as readable lines."""
    position = {name: index for index, name in enumerate(pipeline)}
    return ['%s must come before %s: %s' % (earlier, later, why)
            for earlier, later, why in ORDER_RULES
            if earlier in position and later in position
            and position[earlier] > position[later]]


def test_aio_and_sample_pipelines_agree(tmp_path):
    with open(SAMPLE, encoding='utf-8') as sample:
        assert pipeline_of(sample.read()) == aio_pipeline(tmp_path)


def test_pipeline_follows_the_target_order(tmp_path):
    pipeline = aio_pipeline(tmp_path)
    unknown = [name for name in pipeline if name not in TARGET_ORDER]
    assert not unknown, 'not in TARGET_ORDER: %s' % unknown
    assert pipeline == sorted(pipeline, key=TARGET_ORDER.index)
    assert pipeline[:2] == ['catch_errors', 'gatekeeper']
    assert pipeline[-1] == 'proxy-server'


def test_every_order_rule_holds(tmp_path):
    assert broken_rules(aio_pipeline(tmp_path)) == []
    assert broken_rules(TARGET_ORDER) == []


def test_the_rules_catch_a_bad_order():
    swapped = ['catch_errors', 'gatekeeper', 'tempauth', 'domain_remap',
               'etag_quoter', 'copy', 'proxy-server']
    assert broken_rules(swapped) == [
        'domain_remap must come before tempauth: auth decides on the real '
        'account']


@pytest.fixture(scope='module')
def info(cluster):
    with open(cluster.aio.dirs.proxy_conf, encoding='utf-8') as conf:
        pipeline = pipeline_of(conf.read())
    url, _token = cluster.get_token('test:tester')
    host, port = url.split('//', 1)[1].split('/', 1)[0].rsplit(':', 1)
    status, _, body = send_raw(host, int(port), 'GET', '/info', {})
    assert status == 200
    return pipeline, json.loads(body)


def test_every_middleware_is_accounted_for(info):
    pipeline, _document = info
    missing = [name for name in pipeline
               if name not in INFO_SECTIONS and name not in NO_INFO]
    assert not missing, 'add to INFO_SECTIONS or NO_INFO: %s' % missing


def test_info_lists_every_enabled_feature_with_its_settings(info):
    pipeline, document = info
    for name in pipeline:
        if name in NO_INFO:
            continue
        for section, settings in INFO_SECTIONS[name].items():
            assert section in document, name
            if name == 'proxy-server':
                assert settings <= set(document[section])
            else:
                assert set(document[section]) == settings, name
    assert document['swift']['strict_cors_mode'] is True
    assert document['ratelimit']['account_ratelimit'] == 0.0
    assert document['etag_quoter']['enable_by_default'] is False
    listed = {section for name in pipeline if name in INFO_SECTIONS
              for section in INFO_SECTIONS[name]}
    assert set(document) == listed
