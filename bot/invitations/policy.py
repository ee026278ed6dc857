"""Reminder policy, pure: when may the partner be reminded, in their own zone and hours.

A reminder that falls outside the working window (REMINDER_HOURS, Monday to Friday, in the
partner's time zone) waits for the start of their next working window. With no window
(REMINDER_HOURS="") any time will do.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Window = tuple[time, time] | None
SATURDAY = 5


def zone(name: str | None) -> ZoneInfo:
    """The partner's zone from Slack's `tz` (e.g. "America/New_York"); UTC when unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def _at(day: date, when: time, tz: ZoneInfo) -> datetime:
    """`when` on `day` in `tz`, as UTC."""
    return datetime.combine(day, when, tzinfo=tz).astimezone(UTC)


def _next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= SATURDAY:
        day += timedelta(days=1)
    return day


def within_hours(moment: datetime, *, tz: str | None, hours: Window) -> datetime:
    """`moment` if it is inside the partner's working window, else the next window's start."""
    if hours is None:
        return moment
    start, end = hours
    place = zone(tz)
    local = moment.astimezone(place)
    day = local.date()
    if day.weekday() < SATURDAY:
        if local.time() < start:
            return _at(day, start, place)
        if local.time() < end:
            return moment
    return _at(_next_working_day(day), start, place)


def next_reminder(now: datetime, *, interval: timedelta, tz: str | None, hours: Window) -> datetime:
    """The next reminder: `interval` from now, moved into the partner's working window."""
    return within_hours(now + interval, tz=tz, hours=hours)


def snooze_until(now: datetime, *, choice: str, tz: str | None, hours: Window) -> datetime:
    """ "day": a day from now (in hours); "monday": the start of next Monday's window."""
    if choice == "day":
        return within_hours(now + timedelta(days=1), tz=tz, hours=hours)
    place = zone(tz)
    today = now.astimezone(place).date()
    monday = today + timedelta(days=(7 - today.weekday()) or 7)
    start = hours[0] if hours else time(9)
    return _at(monday, start, place)


def waited(since: datetime, now: datetime) -> str:
    """How long an invitation has waited, for people: "3 hours", "2 days"."""
    seconds = max(0, int((now - since).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "moments"
