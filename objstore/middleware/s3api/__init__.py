"""s3api: the S3 API as a proxy middleware (see middleware module).

Buckets are containers and objects are objects of the signing user's
account; the access key is tempauth's ``account:user`` and the secret the
user's key. ``filter_factory`` is the paste entry point.
"""

from objstore.middleware.s3api.middleware import S3ApiMiddleware


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    return lambda app: S3ApiMiddleware(app, conf)
