"""The writer of docs/compat.md's figures and difference lists: no
cluster."""

from compat.difflist import CROSS_CUTTING, render, theme_key


def result(name, diffs, swift=200, ours=200):
    return {'name': name, 'method': 'GET', 'path': '/v1/AUTH_k1/c',
            'swift_status': swift, 'objstore_status': ours,
            'differences': diffs}


def test_content_lengths_group_whatever_their_values():
    assert theme_key("header Content-Length: swift '12', objstore '3'") \
        == theme_key("header Content-Length: swift '7', objstore '70'")
    assert theme_key('body: swift 1, objstore 2') == \
        'body: swift 1, objstore 2'


def test_frequent_differences_go_to_a_the_rest_to_b():
    shared = 'header only from swift: Vary: Accept'
    results = [result('list-%d' % n, [shared]) for n in range(CROSS_CUTTING)]
    results += [result('verb-odd', [shared, 'status: swift 200, objstore 204'],
                       ours=204),
                result('verb-same', [])]
    text = render(results)
    assert 'cases: %d, differences: %d' % (CROSS_CUTTING + 2,
                                           CROSS_CUTTING + 1) in text
    assert '1 of the %d differ in status: `verb-odd`.' % (
        CROSS_CUTTING + 1) in text
    assert 'By prefix: list %d, verb 1.' % CROSS_CUTTING in text
    assert '| A1 | %d | %s | `list-0` |' % (CROSS_CUTTING + 1, shared) in text
    per_case = text.split('### B.')[1]
    assert '#### `verb-` (1 cases)' in per_case
    assert '`verb-odd` (GET /v1/AUTH_k1/c): status: swift 200, objstore ' \
        '204' in per_case
    assert 'list-' not in per_case and 'verb-same' not in per_case
