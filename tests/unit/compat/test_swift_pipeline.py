"""The Swift cluster's proxy pipeline the harness compares against: no
process started."""

import shutil

import pytest

from bench.clusters import FULL_FEATURES, SwiftCluster


def pipeline(features):
    cluster = SwiftCluster(features=features)
    try:
        return cluster._pipeline()
    finally:
        shutil.rmtree(cluster.root)


def test_bare_pipeline_is_unchanged():
    assert pipeline(()) == [
        'catch_errors', 'gatekeeper', 'healthcheck', 'proxy-logging',
        'cache', 'listing_formats', 'tempauth', 'copy', 'proxy-logging',
        'proxy-server']


def test_full_pipeline_is_in_the_aios_order():
    names = pipeline(FULL_FEATURES)
    assert names.index('bulk') < names.index('tempurl') < \
        names.index('formpost') < names.index('ratelimit') < \
        names.index('s3api') < names.index('tempauth') < \
        names.index('staticweb') < names.index('copy') < \
        names.index('container_quotas') < names.index('account_quotas') < \
        names.index('slo') < names.index('dlo') < \
        names.index('etag_quoter') < names.index('proxy-server')
    assert set(FULL_FEATURES) <= set(names)
    assert 'cname_lookup' not in names


def test_unknown_feature_is_refused():
    with pytest.raises(ValueError, match='no such Swift feature'):
        SwiftCluster(features=('cname_lookup',))
