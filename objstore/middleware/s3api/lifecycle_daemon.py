"""``objstore-s3-lifecycle``: applies S3 bucket lifecycle rules.

Owns the passes: each one reads the registry of buckets with a lifecycle
(``.s3-lifecycle/buckets``, s3api.lifecycle), and for each bucket reads
its rules (container sysmeta), lists every version of every object (the
object_versioning middleware's ``?versions`` listing: its version ids are
S3's) and the multipart uploads in ``<bucket>+segments`` (s3api.multipart
layout), and sends what is due:

- a current object past Expiration Days/Date: a DELETE of the key, so a
  versioned bucket gets a delete marker, as in S3 (a multipart object of
  an unversioned bucket goes with its parts, as DeleteObject does);
- a noncurrent version ``NoncurrentDays`` after it became noncurrent (the
  time of the next newer version), beyond the ``NewerNoncurrentVersions``
  newest noncurrent ones: a DELETE of that version;
- a delete marker that is the only version left, under a rule with
  ``ExpiredObjectDeleteMarker``: a DELETE of the marker;
- an upload ``DaysAfterInitiation`` after it was created: its parts and
  its marker deleted (AbortMultipartUpload).

When it decides is the lifecycle_rules module's (pure); a day lasts
``day_seconds`` (config; tests shorten it). Every request goes through a
proxy pipeline loaded in-process (common.internal_client), so what a
middleware refuses (a locked version) is refused to the daemon too: such a
refusal is counted and logged, and the object is looked at again next pass,
not retried in a loop. Object tags (for tag filters) are read as the
tagging module stores them (``tagging.object_tags``), with a HEAD only
when a rule names tags.

Requests about objects are rate-limited (``objects_per_second``); one
summary line per pass with counts and duration.
"""

import dataclasses
import datetime
import itertools
import json
import time
from urllib.parse import urlencode

from objstore.common import green
from objstore.common.daemon import (
    Daemon, DaemonConf, DaemonStats, RateLimiter, run_daemon)
from objstore.common.exceptions import ConfigError
from objstore.common.http import is_success
from objstore.common.internal_client import InternalClient
from objstore.middleware.s3api import lifecycle_rules as rules_of
from objstore.middleware.s3api import tagging
from objstore.middleware.s3api.lifecycle import (
    LIFECYCLE_SYSMETA, REGISTRY_ACCOUNT, REGISTRY_CONTAINER,
    split_registry_name)
from objstore.middleware.s3api.multipart import PART_NUMBER
from objstore.middleware.s3api.views import SEGMENTS_SUFFIX
from objstore.middleware.versioning import (
    DELETE_MARKER_CONTENT_TYPE, SYSMETA_CONTAINER as VERSIONS_CONTAINER,
    VERSION_ID)

SUMMARY_COUNTS = ('buckets', 'objects', 'expired', 'noncurrent_expired',
                  'markers_removed', 'uploads_aborted', 'refused',
                  'failures', 'gone')
# Answers that mean "not allowed to delete this (now)": object lock and
# the like. Counted as refusals, not failures.
REFUSALS = (400, 403, 409, 412)
NULL_VERSION = 'null'
SOURCE = 'S3LC'


@dataclasses.dataclass(frozen=True)
class S3LifecycleConf(DaemonConf):
    """Options of [s3-lifecycle] (and [DEFAULT])."""

    day_seconds: float = 86400.0
    objects_per_second: float = 50.0
    listing_limit: int = 1000
    internal_pipeline: str = 'internal'

    def validate(self):
        super().validate()
        if self.day_seconds <= 0:
            raise ConfigError('day_seconds must be > 0')
        if self.objects_per_second < 0:
            raise ConfigError('objects_per_second must be >= 0')
        if not 1 <= self.listing_limit <= 10000:
            raise ConfigError('listing_limit must be 1..10000')


def swift_time(last_modified):
    """Seconds since the epoch of a listing's ``last_modified``.

    >>> swift_time('2024-01-02T00:00:01.500000')
    1704153601.5
    """
    seconds, _, fraction = last_modified.partition('.')
    parsed = datetime.datetime.strptime(seconds, '%Y-%m-%dT%H:%M:%S')
    stamp = parsed.replace(tzinfo=datetime.timezone.utc).timestamp()
    return stamp + (float('0.' + fraction) if fraction else 0.0)


def version_time(entry):
    """When a listed version was written: its id is its timestamp."""
    version_id = entry.get('version_id', NULL_VERSION)
    if version_id != NULL_VERSION:
        return float(version_id)
    return swift_time(entry['last_modified'])


def is_delete_marker(entry):
    return entry.get('content_type') == DELETE_MARKER_CONTENT_TYPE


def split_versions(entries):
    """(current, noncurrent newest first) of one key's listed versions;
    current is None when the listing shows no latest version."""
    current = next((e for e in entries if e.get('is_latest')), None)
    others = [e for e in entries if e is not current]
    others.sort(key=version_time, reverse=True)
    return current, others


def upload_of(name):
    """(key, upload id) of a segments-container name that is an upload's
    marker (``<key>/<upload id>``), else None (a part ends in digits)."""
    key, _, upload_id = name.rpartition('/')
    if not key or not upload_id or PART_NUMBER.match(upload_id):
        return None
    return key, upload_id


class BucketPass:
    """One bucket's work in one pass: ``run()`` with the rules."""

    def __init__(self, daemon, account, bucket, rules, stats, versioned):
        self.daemon = daemon
        self.versioned = versioned
        self.account = account
        self.bucket = bucket
        self.rules = rules
        self.stats = stats
        self.now = daemon.now()
        self.day = daemon.daemon_conf.day_seconds

    def path(self, key=None, container=None):
        return '/v1/%s/%s%s' % (self.account, container or self.bucket,
                                '' if key is None else '/' + key)

    def run(self):
        if any('Expiration' in rule or 'NoncurrentVersionExpiration' in rule
               for rule in self.rules):
            for key, entries in self.daemon.listed_keys(
                    self.path(), versions=True):
                if self.daemon.stopping:
                    return
                self.stats.incr('objects')
                self.apply_to_key(key, entries)
        if any('AbortIncompleteMultipartUpload' in rule
               for rule in self.rules):
            self.abort_uploads()

    # -- objects -------------------------------------------------------

    def tags_of(self, key, version_id):
        """A lookup of the version's tags, HEADing it once at most."""
        found = []

        def lookup():
            if not found:
                resp = self.daemon.object_request(
                    'HEAD', self.path(key), query=urlencode(
                        {'version-id': version_id}))
                found.append(dict(tagging.object_tags(resp.headers)))
            return found[0]
        return lookup

    def matching(self, key, entry, wanted):
        """The rules holding action ``wanted`` that apply to the listed
        version ``entry`` of ``key``."""
        tags = self.tags_of(key, entry.get('version_id', NULL_VERSION))
        return [rule for rule in self.rules if wanted(rule) and
                rules_of.RuleFilter(rule).matches(
                    key, entry.get('bytes', 0), tags)]

    def apply_to_key(self, key, entries):
        current, noncurrent = split_versions(entries)
        if current is not None and not is_delete_marker(current):
            self.expire_current(key, current)
        elif current is not None and not noncurrent:
            self.expire_marker(key, current)
        if current is not None and noncurrent:
            self.expire_noncurrent(key, current, noncurrent)

    def expire_current(self, key, entry):
        modified = swift_time(entry['last_modified'])
        due = [rule for rule in self.matching(
            key, entry, rules_of.expires_current)
            if rules_of.current_expired(rule, modified, self.now, self.day)]
        if due:
            self.delete(key, 'expired')

    def expire_marker(self, key, marker):
        if any(rules_of.expires_delete_markers(rule) and
               rules_of.RuleFilter(rule).matches_key(key)
               for rule in self.rules):
            self.delete(key, 'markers_removed', marker['version_id'])

    def expire_noncurrent(self, key, current, noncurrent):
        successor = current
        due = []
        for newer, entry in enumerate(noncurrent):
            since = version_time(successor)
            successor = entry
            # A DELETE of version "null" would be one of the key itself.
            if entry.get('version_id', NULL_VERSION) == NULL_VERSION:
                continue
            if any(rules_of.noncurrent_expired(rule, since, newer, self.now,
                                               self.day)
                   for rule in self.matching(
                       key, entry, lambda r: 'NoncurrentVersionExpiration'
                       in r)):
                due.append(entry['version_id'])
        if not due:
            return
        # The listing may be a page behind a concurrent write: never
        # remove what is current now.
        head = self.daemon.object_request('HEAD', self.path(key))
        live = head.headers.get(VERSION_ID) if is_success(
            head.status_int) else None
        for version_id in due:
            if version_id != live:
                self.delete(key, 'noncurrent_expired', version_id)

    def delete(self, key, counter, version_id=None):
        query = ''
        if version_id is not None:
            query = urlencode({'version-id': version_id})
        elif not self.versioned and self.is_multipart(key):
            query = 'multipart-manifest=delete'
        resp = self.daemon.object_request('DELETE', self.path(key),
                                          query=query)
        self.daemon.count_delete(resp, counter, self.stats, '%s/%s/%s%s' % (
            self.account, self.bucket, key,
            '' if version_id is None else '?version-id=' + version_id))

    def is_multipart(self, key):
        head = self.daemon.object_request('HEAD', self.path(key))
        return head.headers.get('X-Static-Large-Object', '').lower() == \
            'true'

    # -- uploads -------------------------------------------------------

    def abort_uploads(self):
        container = self.bucket + SEGMENTS_SUFFIX
        for entry in self.daemon.listed_names(self.path(
                container=container)):
            found = upload_of(entry['name'])
            if found is None or self.daemon.stopping:
                continue
            key, upload_id = found
            initiated = swift_time(entry['last_modified'])
            if any(rules_of.upload_expired(rule, initiated, self.now,
                                           self.day) and
                   rules_of.RuleFilter(rule).matches_key(key)
                   for rule in self.rules):
                self.abort(container, key, upload_id)

    def abort(self, container, key, upload_id):
        marker = '%s/%s' % (key, upload_id)
        for part in list(self.daemon.listed_names(
                self.path(container=container), prefix=marker + '/')):
            self.daemon.object_request(
                'DELETE', self.path(part['name'], container))
        resp = self.daemon.object_request('DELETE',
                                          self.path(marker, container))
        self.daemon.count_delete(resp, 'uploads_aborted', self.stats,
                                 '%s/%s upload %s' % (self.account,
                                                      self.bucket, marker))


class S3LifecycleDaemon(Daemon):
    """``objstore-s3-lifecycle``; ``client`` (an InternalClient) and the
    clocks may be injected by tests."""

    name = 's3-lifecycle'
    conf_class = S3LifecycleConf

    def __init__(self, conf, logger=None, client=None, now=time.time,
                 clock=time.monotonic, sleep=green.sleep):
        super().__init__(conf, logger)
        self.client = client or InternalClient(
            self.conf.get('__file__'), self.daemon_conf.internal_pipeline,
            source=SOURCE)
        self.now = now
        self.limiter = RateLimiter(self.daemon_conf.objects_per_second,
                                   clock=clock, sleep=sleep)

    def run_once(self, **_kwargs):
        stats = DaemonStats()
        for account, bucket in self.registered_buckets():
            if self.stopping:
                break
            try:
                self.process_bucket(account, bucket, stats)
            except Exception:  # noqa: BLE001 - one bucket must not end a pass
                stats.incr('failures')
                self.logger.exception('lifecycle of %s/%s failed', account,
                                      bucket)
        stats.finish()
        self.log_pass_summary(stats, SUMMARY_COUNTS)
        return stats

    # -- requests ------------------------------------------------------

    def object_request(self, method, path, query=''):
        self.limiter.wait()
        return self.client.request(method, path, query=query)

    def count_delete(self, resp, counter, stats, what):
        if is_success(resp.status_int) or resp.status_int == 404:
            stats.incr(counter)
            self.logger.debug('lifecycle: %s %s', counter, what)
        elif resp.status_int in REFUSALS:
            stats.incr('refused')
            self.logger.info('lifecycle: deleting %s refused (%d); next '
                             'pass tries again', what, resp.status_int)
        else:
            stats.incr('failures')
            self.logger.warning('lifecycle: deleting %s failed (%d)', what,
                                resp.status_int)

    def listed_names(self, path, prefix=None, versions=False):
        """Every listing entry of a container, page by page (none when
        the container is gone)."""
        query = {'format': 'json', 'limit': self.daemon_conf.listing_limit}
        if prefix is not None:
            query['prefix'] = prefix
        if versions:
            query['versions'] = ''
        while True:
            resp = self.client.request('GET', path, query=urlencode(query))
            if resp.status_int == 404:
                return
            if not is_success(resp.status_int):
                raise IOError('listing %s: %d' % (path, resp.status_int))
            page = json.loads(resp.body or b'[]')
            yield from page
            if len(page) < self.daemon_conf.listing_limit:
                return
            last = page[-1]
            query['marker'] = last.get('name', last.get('subdir'))
            if versions:
                query['version_marker'] = last.get('version_id',
                                                   NULL_VERSION)

    def listed_keys(self, path, versions=True):
        """(key, [its listed versions]) of a bucket, key by key."""
        entries = (entry for entry in self.listed_names(path,
                                                        versions=versions)
                   if 'name' in entry)
        for key, group in itertools.groupby(entries, lambda e: e['name']):
            yield key, list(group)

    # -- buckets -------------------------------------------------------

    def registered_buckets(self):
        path = '/v1/%s/%s' % (REGISTRY_ACCOUNT, REGISTRY_CONTAINER)
        for entry in self.listed_names(path):
            found = split_registry_name(entry.get('name', ''))
            if found is not None:
                yield found

    def process_bucket(self, account, bucket, stats):
        head = self.client.request('HEAD', '/v1/%s/%s' % (account, bucket))
        if head.status_int == 404:
            self.forget(account, bucket, stats)
            return
        if not is_success(head.status_int):
            raise IOError('HEAD of the bucket: %d' % head.status_int)
        rules = rules_of.enabled_rules(rules_of.from_stored(
            head.headers.get(LIFECYCLE_SYSMETA)))
        if not rules:
            return
        stats.incr('buckets')
        # Once versioning was on, versions may share a multipart object's
        # parts: expiring it must leave them.
        versioned = bool(head.headers.get(VERSIONS_CONTAINER))
        BucketPass(self, account, bucket, rules, stats, versioned).run()

    def forget(self, account, bucket, stats):
        """A registered bucket that is gone leaves the registry."""
        self.client.request('DELETE', '/v1/%s/%s/%s/%s' % (
            REGISTRY_ACCOUNT, REGISTRY_CONTAINER, account, bucket))
        stats.incr('gone')


def main(argv=None):
    return run_daemon(S3LifecycleDaemon, argv)


if __name__ == '__main__':
    raise SystemExit(main())
