"""Compare one case's answers from both clusters and print the report.

Pure apart from printing: takes the raw answers of each cluster, masks
them (compat.normalize) and lists the differences, setup steps first
(a setup step that went differently usually explains the rest).
"""

import json
from dataclasses import dataclass

from compat.normalize import differences, normalize


@dataclass(frozen=True)
class CaseResult:
    name: str
    method: str
    path: bytes
    swift_status: int
    objstore_status: int
    diffs: tuple


def compare_case(case, swift_run, our_run, swift_secrets, our_secrets):
    """A CaseResult from each cluster's ``([(path, Answer)], (path,
    Answer))`` as runner.run_case returns it."""
    diffs = []
    swift_steps, (path, swift_answer) = swift_run
    our_steps, (_path, our_answer) = our_run
    for number, ((step_path, theirs), (_p, mine)) in enumerate(
            zip(swift_steps, our_steps)):
        if theirs.status != mine.status or theirs.error != mine.error:
            diffs.append('setup %d (%s %s): swift %s, objstore %s' % (
                number, case.setup[number].method,
                step_path.decode('latin-1'),
                theirs.error or theirs.status, mine.error or mine.status))
    diffs.extend(differences(normalize(swift_answer, swift_secrets),
                             normalize(our_answer, our_secrets)))
    return CaseResult(name=case.name, method=case.request.method, path=path,
                      swift_status=swift_answer.status,
                      objstore_status=our_answer.status, diffs=tuple(diffs))


def format_result(result):
    lines = ['case %s: %s %s' % (result.name, result.method,
                                 result.path.decode('latin-1'))]
    lines.extend('  ' + diff for diff in result.diffs)
    return '\n'.join(lines)


def summary(results):
    differing = sum(1 for r in results if r.diffs)
    return 'cases: %d, differences: %d' % (len(results), differing)


def to_json(results):
    return json.dumps([{
        'name': r.name, 'method': r.method,
        'path': r.path.decode('latin-1'),
        'swift_status': r.swift_status,
        'objstore_status': r.objstore_status,
        'differences': list(r.diffs)} for r in results], indent=1)
