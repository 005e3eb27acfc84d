"""Conditional writes: ``If-None-Match: *`` and ``If-Match: <etag>`` on
PutObject and CompleteMultipartUpload, as S3 answers them.

Owns turning the client's conditions into the Swift PUT's headers and the
Swift answer back into S3's error. The object servers evaluate the
condition (``If-None-Match: *`` is Swift's own; If-Match, which Swift's
API ignores on a PUT, travels as ``X-Backend-Put-If-Match`` with
``X-Backend-Etag-Is-At`` naming the multipart S3 ETag's sysmeta, so a
multipart object's S3 ETag is what is compared), and repeat the test
under a lock as the new file becomes visible (objstore.object.server).

S3's answers: the condition fails -> 412 PreconditionFailed; If-Match on
a key that does not exist -> 404 NoSuchKey (a HEAD tells, before the
upload); an If-None-Match other than ``*`` -> 501 NotImplemented, as
S3 does; a write that lost to a concurrent conditional writer of the
same key (the proxy's 409) -> 409 ConditionalRequestConflict.
"""

from objstore.common.conditional import PUT_IF_MATCH_HEADER
from objstore.common.http_basics import ETAG_IS_AT_HEADER
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.views import S3_ETAG_SYSMETA


def _star_only(value):
    return [tag.strip() for tag in value.split(',')] in (['*'], ['"*"'])


def is_conditional(s3_headers):
    return 'if-none-match' in s3_headers or 'if-match' in s3_headers


def swift_headers(ctx):
    """The Swift PUT headers of the request's write conditions; S3's
    errors for a condition it does not take or a missing If-Match key."""
    s3_headers = ctx.s3req.headers
    headers = {}
    if 'if-none-match' in s3_headers:
        if not _star_only(s3_headers['if-none-match']):
            raise S3Error('NotImplemented', 'A header you provided implies '
                          'functionality that is not implemented',
                          Header='If-None-Match')
        headers['If-None-Match'] = '*'
    if 'if-match' in s3_headers:
        ctx.head_key()
        headers[PUT_IF_MATCH_HEADER] = s3_headers['if-match']
        headers[ETAG_IS_AT_HEADER] = S3_ETAG_SYSMETA
    return headers


def failed_condition(s3_headers):
    """The condition a 412 to a conditional write names."""
    return 'If-Match' if 'if-match' in s3_headers else 'If-None-Match'


def write_error(s3_headers, status):
    """The S3Error of a conditional write's Swift status, else None."""
    if not is_conditional(s3_headers):
        return None
    if status == 412:
        return S3Error('PreconditionFailed',
                       Condition=failed_condition(s3_headers))
    if status == 409:
        return S3Error('ConditionalRequestConflict')
    return None
