"""The service resource (``GET /``): ListBuckets.

Lists the containers of the signing user's account, leaving out the
``+segments`` containers multipart uploads keep their parts in.
"""

import json
from urllib.parse import quote

from objstore.common.http import is_success
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.views import SEGMENTS_SUFFIX, owner, s3_time
from objstore.middleware.s3api.xmlio import to_xml

PAGE = 10000


def account_containers(ctx):
    """Every container entry of the account listing, page by page."""
    entries, marker = [], ''
    while True:
        resp = ctx.call('GET', query='format=json&limit=%d&marker=%s' % (
            PAGE, quote(marker, safe='')))
        if resp.status_int == 404:
            return entries        # an account not created yet is empty
        if not is_success(resp.status_int):
            raise S3Error('InternalError')
        page = json.loads(resp.body) if resp.status_int == 200 else []
        entries += page
        if len(page) < PAGE:
            return entries
        marker = page[-1]['name']


def list_buckets(ctx):
    buckets = [('Bucket', [('Name', entry['name']),
                           ('CreationDate', s3_time(
                               entry.get('last_modified')))])
               for entry in account_containers(ctx)
               if not entry['name'].endswith(SEGMENTS_SUFFIX)]
    return ctx.xml(to_xml('ListAllMyBucketsResult', [
        ('Owner', owner(ctx.user)), ('Buckets', buckets)]))


HANDLERS = {('GET', None): list_buckets}
