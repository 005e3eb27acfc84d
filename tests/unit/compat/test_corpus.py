"""The harness's corpus loader (compat/corpus.py): no cluster."""

import os

import pytest

from compat.corpus import (CorpusError, load_corpus, parse_corpus,
                           parse_step, select)

SHIPPED = os.path.join(os.path.dirname(__file__), '..', '..', '..',
                       'compat', 'cases.yaml')


def test_case_with_every_field():
    [case] = parse_corpus(
        "- {name: a, method: PUT, path: c/o, headers: {X-Delete-At: 5},"
        " body: hi, user: user, encoding: latin-1,"
        " setup: [PUT c, {method: POST, path: c, headers: {A: b}}]}")
    assert case.index == 0
    assert case.request.headers == (('X-Delete-At', '5'),)
    assert (case.request.body, case.request.user,
            case.request.encoding) == ('hi', 'user', 'latin-1')
    assert [(s.method, s.path) for s in case.setup] == [('PUT', 'c'),
                                                        ('POST', 'c')]
    assert case.setup[1].headers == (('A', 'b'),)


def test_defaults():
    [case] = parse_corpus('- {name: a, method: GET, path: ""}')
    assert (case.request.user, case.request.encoding,
            case.request.body, case.setup) == ('admin', 'utf-8', '', ())


def test_step_shorthand_keeps_spaces_in_the_body():
    step = parse_step('PUT c/o body=hello world', 'here')
    assert (step.method, step.path, step.body) == ('PUT', 'c/o',
                                                   'hello world')
    assert parse_step('DELETE c', 'here').body == ''


@pytest.mark.parametrize('text, complaint', [
    ('{name: a}', 'YAML list'),
    ('- {method: GET, path: x}', 'with a name'),
    ('- {name: a, path: x}', 'no method'),
    ('- {name: a, method: GET}', 'no path'),
    ('- {name: a, method: FETCH, path: x}', 'unknown method'),
    ('- {name: a, method: GET, path: x, user: root}', 'unknown user'),
    ('- {name: a, method: GET, path: x, encoding: ebcdic}',
     'unknown encoding'),
    ('- {name: a, method: GET, path: x, colour: red}', 'unknown fields'),
    ('- {name: a, method: GET, path: x, headers: [a]}', 'mapping'),
    ('- {name: a, method: GET, path: x, setup: [PUT]}', 'METHOD PATH'),
    ('- {name: a, method: GET, path: x, setup: PUT c}', 'must be a list'),
    ('- {name: a, method: GET, path: x}\n- {name: a, method: GET, path: y}',
     'duplicate'),
])
def test_bad_corpus_is_refused_with_a_reason(text, complaint):
    with pytest.raises(CorpusError, match=complaint):
        parse_corpus(text)


def test_select_by_name_part():
    cases = parse_corpus('- {name: list-a, method: GET, path: ""}\n'
                         '- {name: copy-b, method: GET, path: ""}')
    assert [c.name for c in select(cases, 'copy')] == ['copy-b']
    assert len(select(cases, '')) == 2


def test_shipped_corpus_loads_and_covers_the_issue():
    cases = load_corpus(SHIPPED)
    assert len(cases) >= 400
    names = ' '.join(case.name for case in cases)
    for theme in ('verb-', 'auth-', 'hdr-', 'sysmeta-', 'cond-', 'post-',
                  'expire-', 'if-delete-at', 'copy-from-account', 'path-',
                  'name-1024', 'list-container', 'list-account', 'xts-',
                  'acl-', 'policy-'):
        assert theme in names, theme
