"""etag_quoter: RFC 7232 quoted ETags on object answers, as Swift's.

Owns the ``X-Account-Rfc-Compliant-Etags`` and
``X-Container-Rfc-Compliant-Etags`` settings (kept as the account's or
container's sysmeta ``Rfc-Compliant-Etags``, shown back to the client
under their own names) and, for an object request, quoting the answer's
bare ``Etag`` when the container's setting (else the account's, else
``enable_by_default``) says so. An ETag already quoted (or weak) is left
alone. Must sit after the gatekeeper, which would strip the sysmeta it
sets, and it reads the settings through common.info.
"""

import dataclasses

from objstore.common.access import API_VERSIONS
from objstore.common.config import ConfBase, config_true_value
from objstore.common.http import Request, is_success
from objstore.common.info import get_account_info, get_container_info
from objstore.common.subrequest import add_capability, path_parts

SYSMETA_KEY = 'rfc-compliant-etags'


@dataclasses.dataclass(frozen=True)
class EtagQuoterConf(ConfBase):
    enable_by_default: bool = False


def quoted(etag):
    """``etag`` in RFC 7232 form: quoted unless it already is.

    >>> quoted('abc'), quoted('"abc"'), quoted('W/"abc"')
    ('"abc"', '"abc"', 'W/"abc"')
    """
    if etag.startswith(('"', 'W/"')) and etag.endswith('"'):
        return etag
    return '"%s"' % etag


def quote_etags(headers):
    """[(name, value)] with the Etag header quoted."""
    return [(name, quoted(value) if name.lower() == 'etag' else value)
            for name, value in headers]


def setting_value(value):
    """The sysmeta kept for a client's setting: its truth, or '' to
    remove it (an empty value).

    >>> setting_value('yes'), setting_value('no'), setting_value('')
    ('True', 'False', '')
    """
    if not value:
        return ''
    return str(config_true_value(value))


class EtagQuoterMiddleware:
    def __init__(self, app, conf):
        self.app = app
        self.conf = EtagQuoterConf.from_conf(conf)

    def __call__(self, environ, start_response):
        add_capability(environ, 'etag_quoter',
                       enable_by_default=self.conf.enable_by_default)
        try:
            version, _account, container, obj = path_parts(environ, 2)
        except ValueError:
            return self.app(environ, start_response)
        if version not in API_VERSIONS:
            return self.app(environ, start_response)
        if obj is None:
            return self.setting(Request(environ),
                                'Container' if container else 'Account',
                                start_response)
        if not self.enabled(environ):
            return self.app(environ, start_response)
        status, headers, body = Request(environ).call_application(self.app)
        start_response(status, quote_etags(headers))
        return body

    def setting(self, req, level, start_response):
        """An account or container request: the client's setting goes
        into sysmeta, and the sysmeta comes back under the client's
        name."""
        client_header = 'X-%s-Rfc-Compliant-Etags' % level
        sysmeta_header = 'X-%s-Sysmeta-Rfc-Compliant-Etags' % level
        if client_header in req.headers:
            req.headers[sysmeta_header] = setting_value(
                req.headers[client_header])
        if req.headers.get('X-Remove-%s-Rfc-Compliant-Etags' % level):
            req.headers[sysmeta_header] = ''

        def shown_start_response(status, headers, exc_info=None):
            return start_response(status, [
                (client_header if name.lower() == sysmeta_header.lower()
                 else name, value) for name, value in headers], exc_info)
        return self.app(req.environ, shown_start_response)

    def enabled(self, environ):
        """Whether the object's container (else account, else the
        default) asks for quoted ETags; False when either is missing."""
        container = get_container_info(environ, self.app, 'EQ')
        if not is_success(container['status']):
            return False
        flag = container.get('sysmeta', {}).get(SYSMETA_KEY)
        if flag is None:
            account = get_account_info(environ, self.app, 'EQ')
            if not is_success(account['status']):
                return False
            flag = account.get('sysmeta', {}).get(SYSMETA_KEY)
        if flag is None:
            return self.conf.enable_by_default
        return config_true_value(flag)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf)
    conf.update(local_conf)
    EtagQuoterConf.from_conf(conf)

    def etag_quoter_filter(app):
        return EtagQuoterMiddleware(app, conf)
    return etag_quoter_filter
