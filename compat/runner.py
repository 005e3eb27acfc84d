"""Run corpus cases against one cluster through its proxy.

A Target is one running cluster seen from outside: its proxy's host and
port and a token per corpus user (tempauth, the same users on both
clusters). Each case runs in its own fresh accounts (``AUTH_k<index>``
and ``AUTH_k<index>b``, made on first use by account autocreation, the
admin being a reseller admin), so no state leaks from one case into
another; its setup steps run first, then its request.
"""

import re
import time
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import urlparse

from compat.client import send
from compat.normalize import Secrets

# user -> (tempauth account, user, key, groups); the admin's account is
# ${home}.
USERS = {
    'admin': ('test', 'admin', 'adminpw', ('.admin', '.reseller_admin')),
    'user': ('test', 'user', 'userpw', ()),
    'other': ('test2', 'other', 'otherpw', ('.admin',)),
}
BAD_TOKEN = 'AUTH_tk0123456789abcdef0123456789abcdef'
PLACEHOLDER = re.compile(r'\$\{(acct2|acct|home|token|now|httpdate)'
                         r'([+-]\d+)?\}')
AUTH_ATTEMPTS = 60
TOKEN_HEADERS = frozenset(('x-auth-token', 'x-storage-token'))


@dataclass
class Target:
    """One cluster: where its proxy listens and each user's token."""

    name: str
    host: str
    port: int
    tokens: dict
    home: str

    @property
    def secrets(self):
        return Secrets(host='%s:%d' % (self.host, self.port),
                       tokens=tuple(self.tokens.values()))


def authenticate(host, port, user):
    """(storage path, token) for one corpus user; retries while the
    proxy is still starting."""
    account, name, key, _groups = USERS[user]
    for _ in range(AUTH_ATTEMPTS):
        answer = send(host, port, 'GET', b'/auth/v1.0', (
            ('X-Auth-User', b'%s:%s' % (account.encode(), name.encode())),
            ('X-Auth-Key', key.encode())))
        if answer.status == 200:
            headers = {k.lower(): v for k, v in answer.headers}
            return (urlparse(headers['x-storage-url']).path,
                    headers['x-auth-token'])
        time.sleep(1)
    raise RuntimeError('%s:%d gave no token for %s' % (host, port, user))


def connect(name, auth_url):
    url = urlparse(auth_url)
    tokens, home = {}, None
    for user in USERS:
        storage_path, tokens[user] = authenticate(url.hostname, url.port,
                                                  user)
        if user == 'admin':
            home = storage_path.rsplit('/', 1)[-1]
    return Target(name=name, host=url.hostname, port=url.port,
                  tokens=tokens, home=home)


def case_accounts(index):
    account = 'AUTH_k%04d' % index
    return account, account + 'b'


def fill(text, values, now):
    """``text`` with its placeholders filled in (see compat.corpus)."""
    def one(match):
        key, offset = match.group(1), int(match.group(2) or 0)
        if key == 'now':
            return str(int(now) + offset)
        if key == 'httpdate':
            return formatdate(now + offset, usegmt=True)
        return values[key]
    return PLACEHOLDER.sub(one, text)


def token_header(target, user):
    if user == 'anon':
        return ()
    token = BAD_TOKEN if user == 'badtoken' else target.tokens[user]
    return (('X-Auth-Token', token.encode('latin-1')),)


def wire_path(request, values, now):
    path = fill(request.path, values, now)
    if not path.startswith('/'):
        account = '/v1/' + values['acct']
        path = account + path if path[:1] in ('', '?') else \
            account + '/' + path
    return path.encode(request.encoding)


def send_request(target, request, accounts):
    """Send one corpus request to one cluster; (path sent, Answer)."""
    now = time.time()
    values = {'acct': accounts[0], 'acct2': accounts[1],
              'home': target.home,
              'token': target.tokens.get(request.user, BAD_TOKEN)}
    path = wire_path(request, values, now)
    # A case that sends its own token header sends only that one.
    headers = () if any(name.lower() in TOKEN_HEADERS
                        for name, _ in request.headers) \
        else token_header(target, request.user)
    headers += tuple((name, fill(value, values, now).encode(
        request.encoding)) for name, value in request.headers)
    body = fill(request.body, values, now).encode('utf-8')
    return path, send(target.host, target.port, request.method, path,
                      headers, body)


def run_case(target, case):
    """[(path, Answer) of each setup step], (path, Answer) of the case."""
    accounts = case_accounts(case.index)
    steps = [send_request(target, step, accounts) for step in case.setup]
    return steps, send_request(target, case.request, accounts)
