"""The reminder policy, pure: working hours in the partner's zone, weekends, DST, snooze."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.invitations.policy import next_reminder, snooze_until, waited, within_hours

HOURS = (time(9), time(18))
NY, BERLIN, TOKYO, KOLKATA = "America/New_York", "Europe/Berlin", "Asia/Tokyo", "Asia/Kolkata"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        # inside the window: unchanged
        (local(NY, 2026, 3, 4, 10, 30), NY, local(NY, 2026, 3, 4, 10, 30)),
        # before the window: the same morning
        (local(NY, 2026, 3, 4, 4, 0), NY, local(NY, 2026, 3, 4, 9, 0)),
        # at the end of the window (18:00 is outside): the next morning
        (local(BERLIN, 2026, 3, 4, 18, 0), BERLIN, local(BERLIN, 2026, 3, 5, 9, 0)),
        # Friday evening: Monday morning
        (local(TOKYO, 2026, 3, 6, 19, 0), TOKYO, local(TOKYO, 2026, 3, 9, 9, 0)),
        # Saturday and Sunday: Monday morning
        (local(KOLKATA, 2026, 3, 7, 12, 0), KOLKATA, local(KOLKATA, 2026, 3, 9, 9, 0)),
        (local(KOLKATA, 2026, 3, 8, 8, 0), KOLKATA, local(KOLKATA, 2026, 3, 9, 9, 0)),
        # UTC Monday 02:00 is Sunday 21:00 in New York: Monday 09:00 there
        (utc(2026, 3, 2, 2, 0), NY, local(NY, 2026, 3, 2, 9, 0)),
        # UTC Friday 23:30 is Saturday 08:30 in Tokyo: Monday 09:00 there
        (utc(2026, 3, 6, 23, 30), TOKYO, local(TOKYO, 2026, 3, 9, 9, 0)),
    ],
)
def test_within_hours(moment: datetime, zone: str, expected: datetime) -> None:
    assert within_hours(moment, tz=zone, hours=HOURS) == expected


def test_the_same_utc_moment_means_different_things_in_different_zones() -> None:
    moment = utc(2026, 3, 4, 15, 0)  # 10:00 New York, 16:00 Berlin, 00:00 Tokyo (Thu)
    assert within_hours(moment, tz=NY, hours=HOURS) == moment
    assert within_hours(moment, tz=BERLIN, hours=HOURS) == moment
    assert within_hours(moment, tz=TOKYO, hours=HOURS) == local(TOKYO, 2026, 3, 5, 9, 0)


def test_daylight_saving_keeps_nine_in_the_morning_local() -> None:
    # New York springs forward on Sunday 2026-03-08: 09:00 is 14:00 UTC before, 13:00 after.
    before = within_hours(utc(2026, 3, 6, 12, 0), tz=NY, hours=HOURS)
    after = within_hours(utc(2026, 3, 9, 12, 0), tz=NY, hours=HOURS)
    assert before == utc(2026, 3, 6, 14, 0)
    assert after == utc(2026, 3, 9, 13, 0)
    # Berlin falls back on Sunday 2026-10-25: 09:00 is 07:00 UTC before, 08:00 after.
    assert within_hours(utc(2026, 10, 23, 5, 0), tz=BERLIN, hours=HOURS) == utc(2026, 10, 23, 7)
    assert within_hours(utc(2026, 10, 26, 5, 0), tz=BERLIN, hours=HOURS) == utc(2026, 10, 26, 8)


def test_a_daily_cadence_across_the_dst_change_stays_in_hours() -> None:
    now = local(NY, 2026, 3, 5, 10, 0)  # Thursday
    seen = []
    for _ in range(4):
        now = next_reminder(now, interval=timedelta(hours=24), tz=NY, hours=HOURS)
        seen.append(now.astimezone(ZoneInfo(NY)))
    assert [(d.strftime("%a"), d.hour, d.minute) for d in seen] == [
        ("Fri", 10, 0),
        ("Mon", 9, 0),  # Saturday 10:00 is the weekend; DST changed on Sunday
        ("Tue", 9, 0),
        ("Wed", 9, 0),
    ]


def test_no_window_means_any_time() -> None:
    moment = local(NY, 2026, 3, 7, 3, 0)  # Saturday, 03:00
    assert within_hours(moment, tz=NY, hours=None) == moment
    assert next_reminder(moment, interval=timedelta(hours=1), tz=NY, hours=None) == (
        moment + timedelta(hours=1)
    )


def test_an_unknown_zone_is_treated_as_utc() -> None:
    moment = utc(2026, 3, 4, 5, 0)
    assert within_hours(moment, tz="Mars/Olympus_Mons", hours=HOURS) == utc(2026, 3, 4, 9, 0)
    assert within_hours(moment, tz=None, hours=HOURS) == utc(2026, 3, 4, 9, 0)


def test_snooze() -> None:
    wednesday = local(BERLIN, 2026, 3, 4, 11, 0)
    assert snooze_until(wednesday, choice="day", tz=BERLIN, hours=HOURS) == local(
        BERLIN, 2026, 3, 5, 11, 0
    )
    assert snooze_until(wednesday, choice="monday", tz=BERLIN, hours=HOURS) == local(
        BERLIN, 2026, 3, 9, 9, 0
    )
    monday = local(BERLIN, 2026, 3, 9, 10, 0)  # on a Monday: the next Monday
    assert snooze_until(monday, choice="monday", tz=BERLIN, hours=HOURS) == local(
        BERLIN, 2026, 3, 16, 9, 0
    )
    friday = local(NY, 2026, 3, 6, 15, 0)  # a day from Friday is Saturday: Monday morning
    assert snooze_until(friday, choice="day", tz=NY, hours=HOURS) == local(NY, 2026, 3, 9, 9, 0)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=20), "moments"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(hours=3, minutes=5), "3 hours"),
        (timedelta(days=2, hours=1), "2 days"),
        (timedelta(days=1), "1 day"),
    ],
)
def test_waited(delta: timedelta, text: str) -> None:
    start = utc(2026, 3, 2, 9, 0)
    assert waited(start, start + delta) == text
