import pytest

from zonesync.transfer.schedule import (
    MAX_EXPIRE_SECONDS,
    TimerLimits,
    Timers,
    clamp_timers,
    refresh_delay,
    retry_delay,
    startup_delay,
)

LOW = lambda a, b: a  # noqa: E731 - the earliest the jitter allows
HIGH = lambda a, b: b  # noqa: E731


def test_timers_are_clamped_as_bind():
    limits = TimerLimits()
    assert clamp_timers(10, 10, 10, limits) == Timers(300, 500, 800)
    assert clamp_timers(10**9, 10**9, 10**9, limits) == Timers(
        2419200, 1209600, MAX_EXPIRE_SECONDS
    )
    assert clamp_timers(3600, 600, 1209600, limits) == Timers(3600, 600, 1209600)


def test_expire_is_at_least_refresh_plus_retry():
    limits = TimerLimits(1, 10, 1, 10)
    assert clamp_timers(2, 1, 1, limits) == Timers(2, 1, 3)


def test_crossed_limits_take_the_lower_bound():
    limits = TimerLimits(min_refresh=900, max_refresh=600)
    assert clamp_timers(100, 600, 86400, limits).refresh == 900


@pytest.mark.parametrize(("uniform", "factor"), [(LOW, 0.75), (HIGH, 1.0)])
def test_refresh_jitter_is_75_to_100_percent(uniform, factor):
    timers = Timers(3600, 600, 86400)
    assert refresh_delay(timers, uniform) == 3600 * factor
    assert retry_delay(timers, 3, uniform) == 600 * factor


def test_unloaded_zone_backs_off_from_60s_to_6h():
    delays = [retry_delay(None, n, HIGH) for n in range(1, 12)]
    assert delays[:5] == [60, 120, 240, 480, 960]
    assert delays[-1] == 6 * 3600
    assert max(delays) == 6 * 3600
    assert retry_delay(None, 10**6, HIGH) == 6 * 3600


def test_first_check_after_restart_is_within_a_quarter_and_all_of_retry():
    timers = Timers(3600, 1000, 86400)
    assert startup_delay(timers, LOW) == 250
    assert startup_delay(timers, HIGH) == 1000
