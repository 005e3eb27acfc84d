"""Differential harness: the same Swift v1 requests to upstream Swift and
to objstore, every difference in status, headers and body reported.

Not part of the test suite; run ``python -m compat --help`` from the
repository root with the objstore venv. The corpus is data
(``compat/cases.yaml``); docs/compat.md lists what differs and why.
"""
