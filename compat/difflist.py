"""Write docs/compat.md's figures and "Every difference" lists from a run.

``python -m compat.difflist RESULTS.json`` reads what ``python -m compat
--json RESULTS.json`` wrote and prints Markdown: the summary figures
(cases, differences, how many in status, by name prefix), then (A) the
differences shared by many cases, one table row each, and (B) every
differing case, by prefix, with what remains once A is taken out.

Pure text processing: it starts nothing and sends nothing.
"""

import argparse
import collections
import json
import re

# A difference in at least this many cases is cross-cutting (list A).
CROSS_CUTTING = 20
CUT = 200
# Content-Length follows the body: one row for every value.
CONTENT_LENGTH = re.compile(r"^header Content-Length: swift '\d+', "
                            r"objstore '\d+'$", re.IGNORECASE)


def theme_key(diff):
    """What groups a difference across cases (lengths merged)."""
    if CONTENT_LENGTH.match(diff):
        return 'header Content-Length differs'
    return diff


def prefix_of(name):
    return name.split('-', 1)[0]


def cut(text):
    return text if len(text) <= CUT else text[:CUT] + '…'


def cross_cutting(results):
    """[(key, case count, first case name)] of the frequent differences,
    most frequent first."""
    counts = collections.Counter()
    first = {}
    for result in results:
        for key in {theme_key(d) for d in result['differences']}:
            counts[key] += 1
            first.setdefault(key, result['name'])
    return [(key, count, first[key]) for key, count in counts.most_common()
            if count >= CROSS_CUTTING]


def figures(results):
    """Markdown lines: totals, status differences and the count by
    prefix."""
    differing = [r for r in results if r['differences']]
    in_status = [r for r in differing
                 if r['swift_status'] != r['objstore_status']]
    by_prefix = collections.Counter(prefix_of(r['name']) for r in differing)
    return ['    cases: %d, differences: %d' % (len(results), len(differing)),
            '',
            '%d of the %d differ in status: %s.' % (
                len(in_status), len(differing),
                ', '.join('`%s`' % r['name'] for r in in_status) or 'none'),
            'By prefix: %s.' % ', '.join(
                '%s %d' % item for item in by_prefix.most_common())]


def table_a(rows):
    lines = ['| # | cases | difference (Swift first, then objstore) | e.g. |',
             '|---|---|---|---|']
    lines.extend('| A%d | %d | %s | `%s` |' % (
        number, count, cut(key).replace('|', '\\|'), name)
        for number, (key, count, name) in enumerate(rows, 1))
    return lines


def list_b(results, shared):
    """Per prefix, each differing case with the differences not in A."""
    lines = []
    groups = collections.defaultdict(list)
    for result in results:
        left = [d for d in result['differences']
                if theme_key(d) not in shared]
        if left:
            groups[prefix_of(result['name'])].append((result, left))
    for prefix in sorted(groups):
        lines += ['', '#### `%s-` (%d cases)' % (prefix, len(groups[prefix])),
                  '']
        lines.extend('- `%s` (%s %s): %s' % (
            result['name'], result['method'], cut(result['path']),
            '; '.join(cut(d) for d in left))
            for result, left in groups[prefix])
    return lines


def render(results):
    rows = cross_cutting(results)
    shared = {key for key, _count, _name in rows}
    return '\n'.join(figures(results) + [
        '', '### A. Cross-cutting differences (each in %d or more cases)'
        % CROSS_CUTTING, ''] + table_a(rows) + [
        '', '### B. Per case, by prefix (after taking out A)'] +
        list_b(results, shared)) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m compat.difflist')
    parser.add_argument('results', help='JSON from python -m compat --json')
    args = parser.parse_args(argv)
    with open(args.results, encoding='utf-8') as source:
        print(render(json.load(source)), end='')


if __name__ == '__main__':
    main()
