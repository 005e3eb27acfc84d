"""Properties of tempauth's pure parts: ACL strings, referrer matching,
the authorization decision and token verification.

Every one of them reads client-controlled text (X-Container-Read/Write,
Referer, X-Auth-Token); each must answer (a cleaned ACL or ValueError, a
bool, a decision, None) and never raise something that becomes a 500.
"""

from hypothesis import example, given, strategies as st

from objstore.middleware.tempauth import (
    ALLOW, FORBIDDEN, OWNER, TOKEN_TAG_HEX, UNAUTHORIZED, AccessRequest,
    TokenSigner, clean_acl, decide, group_allowed, parse_acl,
    referrer_allowed)
from tests.unit.strategies import hostile_text, text_from

ACL_HEADERS = ('X-Container-Read', 'X-Container-Write')
acl_text = st.one_of(hostile_text, text_from((
    '.r:', '.ref:', '.referer:', '.referrer:', '*', '-', '.', 'example.com',
    '.rlistings', '.other', 'test', ':', 'tester', ',', ' ', '*.', 'AUTH_a')))
referrer_text = st.one_of(st.none(), hostile_text, text_from((
    'http://', 'https://', '//', '[', ']', '::1', 'example.com', ':', '80',
    '/', 'x', '@', '%')))
referrer_entries = st.lists(text_from(('-', '*', '.', 'example.com', 'x')),
                            max_size=4)
account = st.sampled_from(('AUTH_test', 'AUTH_', 'AUTH_.x', 'other', ''))
groups = st.one_of(st.none(), st.lists(st.sampled_from(
    ('test', 'test:tester', 'AUTH_test', '.reseller_admin', '.admin')),
    max_size=3))


def has_wildcard_prefix(value):
    """Whether an ACL item holds a '*' that is not a whole host: like
    Swift's, one clean strips one leading '*' of a referrer host, so
    '.r:**x' or '.r:*-x' change again when cleaned twice."""
    return any('*' in item and item.split(':', 1)[-1].strip() != '*'
               for item in value.split(','))


@given(header=st.sampled_from(ACL_HEADERS), value=acl_text)
def test_clean_acl_is_idempotent_or_raises_value_error(header, value):
    try:
        cleaned = clean_acl(header, value)
    except ValueError:
        return
    referrers, acl_groups = parse_acl(cleaned)
    if not has_wildcard_prefix(value):
        assert clean_acl(header, cleaned) == cleaned
    assert all(referrers) and all(acl_groups)
    if header == 'X-Container-Write':
        assert not referrers and '.rlistings' not in acl_groups


@given(referrer=referrer_text, referrers=referrer_entries)
@example(referrer='http://[', referrers=['*'])
@example(referrer='//[x]/', referrers=['.example.com'])
def test_referrer_allowed_answers_a_bool(referrer, referrers):
    assert referrer_allowed(referrer, referrers) in (True, False)


@given(method=st.sampled_from(('GET', 'HEAD', 'PUT', 'POST', 'DELETE',
                               'OPTIONS')),
       account_name=account, container=st.sampled_from((None, 'c')),
       obj=st.sampled_from((None, 'o')), user_groups=groups, acl=acl_text,
       referrer=referrer_text)
@example(method='GET', account_name='AUTH_test', container='c', obj='o',
         user_groups=None, acl='.r:*', referrer='http://[')
def test_decide_always_decides(method, account_name, container, obj,
                               user_groups, acl, referrer):
    access = AccessRequest(method, account_name, container, obj,
                           user_groups, acl, referrer)
    assert decide(access, 'AUTH_') in (ALLOW, OWNER, UNAUTHORIZED, FORBIDDEN)


@given(user=st.sampled_from(('tester', 'tester3', 'x')))
def test_account_wildcard_grants_every_user_of_the_account(user):
    assert group_allowed(['test', 'test:' + user], ['test:*'])
    assert not group_allowed(['test2', 'test2:' + user], ['test:*'])


signer = TokenSigner(b'secret', 'AUTH_')


@given(user_id=st.text(min_size=1, max_size=40).filter(
           lambda t: t.encode('utf-8', 'surrogatepass') == t.encode(
               'utf-8', 'ignore')),
       expires=st.integers(1, 2 ** 63), now=st.integers(0, 2 ** 63))
def test_tokens_verify_until_they_expire(user_id, expires, now):
    token = signer.issue(user_id, expires)
    assert signer.verify(token, now) == (
        (user_id, expires) if now < expires else None)


@given(token=st.one_of(hostile_text, text_from((
    'AUTH_tk', '00', 'ff', 'zz', '\xe9', '0' * TOKEN_TAG_HEX))))
@example(token='AUTH_tk' + '00' * 40 + '\xe9' * TOKEN_TAG_HEX)
def test_a_forged_token_verifies_to_none(token):
    assert signer.verify(token, 0) is None
