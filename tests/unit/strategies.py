"""Hypothesis strategies shared by the property tests of the parsers.

Header values and query parameters reach the parsers as ``str`` decoded
from latin-1 (WSGI's rule), so ``wsgi_text`` draws from U+0000..U+00FF;
``hostile_text`` adds fragments that broke parsers before or are known to
break them (Unicode digits, 400-digit numbers, years past 9999, the last
code point) so that every run tries them, not only a lucky one.
"""

from hypothesis import strategies as st

wsgi_text = st.text(alphabet=st.characters(max_codepoint=255), max_size=60)

HOSTILE_FRAGMENTS = (
    '', ' ', '\t', '\x00', '\r\n', ',', '-', '=', ';', ':', '/', '"', '*',
    '\xb2', '\xb9', '\u0663', '\uff11', '1_0', '0x1f', '1e400', 'nan',
    'inf', '-0', '+5', '9' * 400, '9' * 4301, '\U0010ffff', '\udcff',
    '%F4%8F%BF%BF', 'W/', 'GMT', '99999999999',
)


def text_from(fragments, max_size=12):
    """Text made by joining fragments: reaches a grammar's corners fast."""
    return st.lists(st.sampled_from(tuple(fragments)),
                    max_size=max_size).map(''.join)


hostile_text = st.one_of(
    wsgi_text, st.text(max_size=40), text_from(HOSTILE_FRAGMENTS))
