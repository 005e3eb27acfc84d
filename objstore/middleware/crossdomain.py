"""crossdomain: ``GET /crossdomain.xml``, the cross-domain policy that
Flash, Java and Silverlight clients fetch before they talk to the API, as
Swift's crossdomain serves it.

Owns that one document: ``cross_domain_policy`` (the XML elements inside
``<cross-domain-policy>``; continuation lines in the config for several)
wrapped in Swift's prologue. Answered before auth (the policy is public);
every other request passes. The default allows every domain, as Swift's:
right for a public cloud, maybe not for a private one.
"""

import dataclasses

from objstore.common.config import ConfBase
from objstore.common.http import Response
from objstore.common.subrequest import add_capability

POLICY_PATH = '/crossdomain.xml'
DEFAULT_POLICY = '<allow-access-from domain="*" secure="false" />'


@dataclasses.dataclass(frozen=True)
class CrossDomainConf(ConfBase):
    cross_domain_policy: str = DEFAULT_POLICY


def policy_document(policy):
    """The XML body of /crossdomain.xml around ``policy``.

    >>> print(policy_document(DEFAULT_POLICY).decode())
    <?xml version="1.0"?>
    <!DOCTYPE cross-domain-policy SYSTEM \
"http://www.adobe.com/xml/dtds/cross-domain-policy.dtd" >
    <cross-domain-policy>
    <allow-access-from domain="*" secure="false" />
    </cross-domain-policy>
    """
    return ('<?xml version="1.0"?>\n'
            '<!DOCTYPE cross-domain-policy SYSTEM '
            '"http://www.adobe.com/xml/dtds/cross-domain-policy.dtd" >\n'
            '<cross-domain-policy>\n%s\n</cross-domain-policy>'
            % policy).encode('utf-8')


class CrossDomainMiddleware:
    def __init__(self, app, conf):
        self.app = app
        self.document = policy_document(
            CrossDomainConf.from_conf(conf).cross_domain_policy)

    def __call__(self, environ, start_response):
        add_capability(environ, 'crossdomain')
        if environ.get('PATH_INFO') != POLICY_PATH or \
                environ.get('REQUEST_METHOD') != 'GET':
            return self.app(environ, start_response)
        return Response(status=200, body=self.document,
                        content_type='application/xml', charset=None)(
            environ, start_response)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)

    def crossdomain_filter(app):
        return CrossDomainMiddleware(app, conf)
    return crossdomain_filter
