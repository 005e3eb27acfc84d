"""objstore-ring-builder given hostile device strings and weights: a clean
exit code and one ``error:`` line, never a traceback."""

import contextlib
import io
import os
import tempfile

from hypothesis import example, given, settings, strategies as st

from objstore.cli.ring_builder import main
from tests.unit.ring.test_devices_properties import dev_like
from tests.unit.strategies import hostile_text, text_from

weight_like = st.one_of(hostile_text, text_from(
    ('1', '0', '.', '5', '-', 'e', '400', 'nan', 'inf', '_', '\xb2')))


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=40)
@given(dev=dev_like, weight=weight_like)
@example(dev='r1z1-127.0.0.1:6200/d1', weight='1e400')
@example(dev='r1z1-127.0.0.1:6200/d1', weight='9' * 5000)
def test_add_answers_success_or_one_error_line(dev, weight):
    with tempfile.TemporaryDirectory() as tmp:
        builder = os.path.join(tmp, 'object.builder')
        assert run_cli([builder, 'create', '4', '1', '1'])[0] == 0
        code, out, err = run_cli([builder, 'add', dev, weight])
        if code == 0:
            assert 'got id 0' in out
        else:
            assert err.startswith('error: ')
            assert err.count('\n') == 1, err
            assert 'Traceback' not in err


@settings(max_examples=40)
@given(value=dev_like)
@example(value='_')
def test_search_answers_matches_or_one_error_line(value):
    with tempfile.TemporaryDirectory() as tmp:
        builder = os.path.join(tmp, 'object.builder')
        assert run_cli([builder, 'create', '4', '1', '1'])[0] == 0
        assert run_cli([builder, 'add', 'r1z1-127.0.0.1:6200/d1', '1'])[0] \
            == 0
        code, _out, err = run_cli([builder, 'search', value])
        assert code == 0 or (err.startswith('error: ') and
                             err.count('\n') == 1), err
