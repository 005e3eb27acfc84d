"""Imports must point downward (DESIGN.md, "Package layout").

Walks every module of the package with ``ast`` and fails on an import of a
sibling package that the importer's layer may not use, or on any eventlet
import outside objstore/common/green.py, or webob outside common/http.py.
"""

import ast
import pathlib
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / 'objstore'

ALLOWED = {
    'common': {'common'},
    'ring': {'common', 'ring'},
    'object': {'common', 'ring', 'object'},
    'container': {'common', 'ring', 'container'},
    'account': {'common', 'ring', 'account'},
    'replicator': {'common', 'ring', 'object', 'container', 'account',
                   'replicator'},
    'auditor': {'common', 'ring', 'object', 'container', 'account',
                'auditor'},
    'proxy': {'common', 'ring', 'proxy'},
    'middleware': {'common', 'ring', 'middleware'},
    'cli': {'common', 'ring', 'object', 'container', 'account',
            'replicator', 'auditor', 'proxy', 'middleware', 'cli'},
}

ONLY_IN = {
    'eventlet': 'objstore/common/green.py',
    'webob': 'objstore/common/http.py',
}


def imported_modules(path):
    tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                raise AssertionError('%s uses a relative import' % path)
            yield node.module


def layer_of(path):
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else None


def module_files():
    return sorted(PACKAGE.rglob('*.py'))


def wrong_way_imports(path):
    problems = []
    layer = layer_of(path)
    shown = path.relative_to(PACKAGE.parent).as_posix()
    for module in imported_modules(path):
        top = module.split('.')[0]
        if top in ONLY_IN and shown != ONLY_IN[top]:
            problems.append('%s imports %s (only %s may)'
                            % (shown, module, ONLY_IN[top]))
        parts = module.split('.')
        if parts[0] != 'objstore' or len(parts) < 2 or layer is None:
            continue
        if parts[1] not in ALLOWED[layer]:
            problems.append('%s (%s) imports %s' % (shown, layer, module))
    return problems


def test_every_layer_is_known():
    layers = {p.name for p in PACKAGE.iterdir()
              if p.is_dir() and (p / '__init__.py').exists()}
    assert layers <= set(ALLOWED), layers - set(ALLOWED)


def test_imports_point_downward():
    problems = []
    for path in module_files():
        problems.extend(wrong_way_imports(path))
    assert not problems, '\n'.join(problems)


def test_checker_catches_a_wrong_way_import(tmp_path, monkeypatch):
    fake = tmp_path / 'objstore'
    (fake / 'common').mkdir(parents=True)
    bad = fake / 'common' / 'bad.py'
    bad.write_text('from objstore.proxy import server\nimport eventlet\n')
    monkeypatch.setattr(sys.modules[__name__], 'PACKAGE', fake)
    assert len(wrong_way_imports(bad)) == 2


def test_relative_imports_are_refused(tmp_path):
    rel = tmp_path / 'rel.py'
    rel.write_text('from . import x\n')
    with pytest.raises(AssertionError):
        list(imported_modules(rel))
