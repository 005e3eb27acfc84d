"""Imports must point downward (DESIGN.md, "Package layout").

Walks every module of the package with ``ast`` and fails on an import of a
sibling package that the importer's layer may not use (however spelt:
``import objstore.x as y``, ``from objstore import x``), on a relative
import, or on any eventlet import outside objstore/common/green.py, or
webob outside common/http.py.
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
    'pyeclib': 'objstore/common/erasure.py',
    'prometheus_client': 'objstore/common/metrics.py',
}


def imported_modules(path):
    """(absolute module name, relative?) of each import in ``path``.

    ``from X import y`` gives ``X.y``: y may be a module, as in ``from
    objstore import proxy``. A relative import is resolved against the
    file's package so that its direction is checked too.
    """
    tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
    package = path.relative_to(PACKAGE.parent).parent.parts
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, False
        elif isinstance(node, ast.ImportFrom):
            base = from_base(node, package)
            for alias in node.names:
                yield '%s.%s' % (base, alias.name), bool(node.level)


def from_base(node, package):
    """The absolute package an ``ImportFrom`` imports from."""
    if not node.level:
        return node.module
    parts = list(package[:len(package) - (node.level - 1)])
    if node.module:
        parts.append(node.module)
    return '.'.join(parts)


def layer_of(path):
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else None


def module_files():
    return sorted(PACKAGE.rglob('*.py'))


def wrong_way_imports(path):
    problems = []
    layer = layer_of(path)
    shown = path.relative_to(PACKAGE.parent).as_posix()
    for module, relative in imported_modules(path):
        if relative:
            problems.append('%s uses a relative import of %s'
                            % (shown, module))
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


def test_relative_imports_are_refused(tmp_path, monkeypatch):
    fake = tmp_path / 'objstore'
    (fake / 'common').mkdir(parents=True)
    rel = fake / 'common' / 'rel.py'
    rel.write_text('from . import http\n')
    monkeypatch.setattr(sys.modules[__name__], 'PACKAGE', fake)
    assert wrong_way_imports(rel) == [
        'objstore/common/rel.py uses a relative import of '
        'objstore.common.http']


@pytest.mark.parametrize('source', [
    'from objstore import proxy\n',
    'from objstore import ring, proxy\n',
    'import objstore.proxy as x\n',
    'from objstore.proxy.server import ProxyServer\n',
    'from ..proxy import server\n',
    'from .. import proxy\n',
])
def test_checker_catches_every_spelling_of_a_wrong_way_import(
        tmp_path, monkeypatch, source):
    fake = tmp_path / 'objstore'
    (fake / 'common').mkdir(parents=True)
    bad = fake / 'common' / 'bad.py'
    bad.write_text(source)
    monkeypatch.setattr(sys.modules[__name__], 'PACKAGE', fake)
    assert any(problem.startswith('objstore/common/bad.py (common) imports '
                                  'objstore.proxy')
               for problem in wrong_way_imports(bad)), source


@pytest.mark.parametrize('source', [
    'from objstore import common\n',
    'from objstore.common import http\n',
])
def test_checker_allows_a_downward_import(tmp_path, monkeypatch, source):
    fake = tmp_path / 'objstore'
    (fake / 'common').mkdir(parents=True)
    good = fake / 'common' / 'good.py'
    good.write_text(source)
    monkeypatch.setattr(sys.modules[__name__], 'PACKAGE', fake)
    assert wrong_way_imports(good) == [], source
