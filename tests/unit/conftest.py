"""Hypothesis profiles for the property tests of the unit suite.

``ci`` (the default) keeps every property test to a few hundred examples
and the whole property layer well under a minute; ``fuzz`` runs many more
for a long local hunt: ``HYPOTHESIS_PROFILE=fuzz ./run-tests tests/unit``.
No example database is written: a failure prints the example and a
``@reproduce_failure`` blob, which is all a rerun needs.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    'ci', max_examples=150, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    'fuzz', max_examples=20000, deadline=None, database=None,
    print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'ci'))
