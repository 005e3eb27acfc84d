"""Properties of the constraint checks: each accepts exactly what a plain
statement of the limit accepts, and rejects everything else with
InvalidInput (a 4xx), never another exception."""

from hypothesis import example, given, strategies as st

from objstore.common.constraints import (
    MAX_FILE_SIZE, MAX_META_COUNT, MAX_META_NAME_LENGTH,
    MAX_META_OVERALL_SIZE, MAX_META_VALUE_LENGTH, META_PREFIXES, NAME_LIMITS,
    check_metadata, check_name, check_object_length)
from objstore.common.exceptions import InvalidInput
from tests.unit.strategies import hostile_text, text_from

KINDS = ('account', 'container', 'object')
name_text = st.one_of(
    hostile_text, text_from(('a', '/', '.', '..', '\x00', '\xe9', '\udcff',
                             'x' * 100, '\U0010ffff')))


def utf8_or_none(value):
    try:
        return value.encode('utf-8')
    except UnicodeEncodeError:
        return None


def name_is_valid(value, kind):
    encoded = utf8_or_none(value)
    if not value or encoded is None or len(encoded) > NAME_LIMITS[kind]:
        return False
    if b'\x00' in encoded:
        return False
    return kind == 'object' or b'/' not in encoded


@given(value=name_text, kind=st.sampled_from(KINDS))
def test_check_name_accepts_exactly_the_valid_names(value, kind):
    try:
        check_name(value, kind)
    except InvalidInput as err:
        assert not name_is_valid(value, kind)
        assert 400 <= err.status < 500
        return
    assert name_is_valid(value, kind)


meta_key = st.one_of(
    st.text(alphabet=st.characters(max_codepoint=255), max_size=140),
    st.sampled_from(('', 'a', 'k' * MAX_META_NAME_LENGTH,
                     'k' * (MAX_META_NAME_LENGTH + 1))))
meta_value = st.one_of(
    hostile_text, st.sampled_from(('', 'v' * MAX_META_VALUE_LENGTH,
                                   'v' * (MAX_META_VALUE_LENGTH + 1))))


def metadata_is_valid(headers, kind):
    prefix = META_PREFIXES[kind]
    items = [(name.lower()[len(prefix):], value)
             for name, value in headers.items()
             if name.lower().startswith(prefix)]
    return (all(key and utf8_or_none(value) is not None and
                len(key) <= MAX_META_NAME_LENGTH and
                len(value) <= MAX_META_VALUE_LENGTH for key, value in items)
            and len(items) <= MAX_META_COUNT and
            sum(len(k) + len(v) for k, v in items) <= MAX_META_OVERALL_SIZE)


@st.composite
def metadata_headers(draw):
    kind = draw(st.sampled_from(KINDS))
    prefix = draw(st.sampled_from((META_PREFIXES[kind],
                                   META_PREFIXES[kind].upper(),
                                   'x-other-meta-', 'content-type')))
    items = draw(st.dictionaries(meta_key, meta_value, max_size=100))
    return kind, {prefix + key: value for key, value in items.items()}


@given(case=metadata_headers())
@example(case=('account', {'x-account-meta-k%d' % n: 'v' for n in range(91)}))
@example(case=('object', {'x-object-meta-%03d' % n: 'v' * 45
                          for n in range(90)}))
def test_check_metadata_accepts_exactly_the_valid_sets(case):
    kind, headers = case
    try:
        check_metadata(headers, kind)
    except InvalidInput as err:
        assert not metadata_is_valid(headers, kind)
        assert 400 <= err.status < 500
        return
    assert metadata_is_valid(headers, kind)


@given(value=st.one_of(st.none(), hostile_text,
                       st.integers(-5, MAX_FILE_SIZE + 5).map(str)),
       chunked=st.booleans())
@example(value='9' * 5000, chunked=False)
def test_check_object_length_returns_a_size_or_a_4xx(value, chunked):
    try:
        length = check_object_length(value, chunked)
    except InvalidInput as err:
        assert 400 <= err.status < 500
        return
    if value is None:
        assert chunked and length is None
    else:
        assert 0 <= length <= MAX_FILE_SIZE
        assert length == int(value)
