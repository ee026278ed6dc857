"""The values the settings parse: durations, time windows, database URLs, Slack ids."""

from __future__ import annotations

import re
from datetime import time, timedelta

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """`90s`, `15m`, `24h`, `14d` (a bare number is seconds)."""
    if isinstance(value, timedelta):
        return value
    text = str(value).strip()
    if isinstance(value, int | float):
        duration = timedelta(seconds=value)
    elif text.isdigit():
        duration = timedelta(seconds=int(text))
    else:
        match = _DURATION.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a duration")
        duration = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if duration <= timedelta(0):
        raise ValueError("a duration must be greater than zero")
    return duration


def parse_hours(value: str | None) -> tuple[time, time] | None:
    """`09:00-18:00` → (09:00, 18:00); empty → None (any time)."""
    if value is None or not str(value).strip():
        return None
    match = _HOURS.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a time window")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if not (0 <= h1 <= 23 and 0 <= h2 <= 24 and m1 < 60 and m2 < 60):
        raise ValueError(f"{value!r} has an impossible time")
    start = time(h1, m1)
    end = time(23, 59, 59) if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ValueError("the window ends before it starts")
    return start, end


def normalize_database_url(url: str) -> str:
    """Accept plain `sqlite:///…` and `postgresql://…` URLs; return the async-driver form."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep or not rest:
        raise ValueError("not a URL")
    base = scheme.split("+", 1)[0].lower()
    if base == "sqlite":
        if not rest.startswith("/"):
            raise ValueError("a SQLite URL needs three slashes")
        return f"sqlite+aiosqlite://{rest}"
    if base in ("postgresql", "postgres"):
        if rest.startswith("/") and "host=" not in rest:
            raise ValueError("a PostgreSQL URL needs a host")
        return f"postgresql+asyncpg://{rest}"
    raise ValueError(f"unsupported scheme {scheme!r}")


def split_ids(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        items = re.split(r"[\s,]+", str(value))
    ids = [item.strip() for item in items if item.strip()]
    for item in ids:
        if not re.fullmatch(r"[UWS][A-Z0-9]+", item):
            raise ValueError(f"{item!r} is not a user or user-group ID")
    return ids
