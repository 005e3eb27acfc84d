"""The prefork parent's respawn policy (pure logic; its worked examples
run as doctests)."""

from objstore.common import wsgi


def test_quick_deaths_back_off_to_the_cap_and_a_long_life_resets():
    delay = 0.0
    for _ in range(20):
        delay = wsgi.worker_respawn_delay(delay, 0.1)
    assert delay == wsgi.WORKER_MAX_DELAY
    assert wsgi.worker_respawn_delay(delay, wsgi.WORKER_QUICK_EXIT) == 0.0
