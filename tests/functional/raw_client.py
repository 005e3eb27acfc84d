"""A raw-HTTP client of one user's storage URL on the test cluster, for
the functional tests of the middlewares (quotas, bulk, staticweb): every
request goes out as written (tests.helpers.send_raw), with the user's
token unless ``token=None``."""

from urllib.parse import quote, urlparse

from tests.helpers import send_raw


class UserClient:
    """``client(method, path, headers, body, query)`` -> (status,
    {lower-case header: value}, body) below ``user``'s storage URL."""

    def __init__(self, cluster, user):
        storage_url, self.token = cluster.get_token(user)
        parsed = urlparse(storage_url)
        self.host, self.port = parsed.hostname, parsed.port
        self.account_path = parsed.path
        self.account = parsed.path.rsplit('/', 1)[-1]

    def __call__(self, method, path='', headers=None, body=None, query='',
                 token=True, account_path=None):
        sent = dict(headers or {})
        if token:
            sent['X-Auth-Token'] = self.token
        target = quote((account_path or self.account_path) + path)
        if query:
            target += '?' + query
        return send_raw(self.host, self.port, method, target, sent, body)
