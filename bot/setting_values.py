"""The values the settings parse: durations, time windows, Slack ids, domains (database URLs:
storage.urls.normalize_database_url)."""

from __future__ import annotations

import re
from datetime import time, timedelta

from bot.mail.config import check_address

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


def parse_domains(value: object) -> list[str]:
    """EXALATE_PARTNER_DOMAINS: comma-separated domains ("globex.com, initech.example"), each
    checked as an address's domain would be (email-validator), lower-cased."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else re.split(r"[\s,]+", str(value))
    domains = []
    for item in (str(i).strip().lower().lstrip("@") for i in items):
        if not item:
            continue
        try:
            check_address(f"partner@{item}")
        except ValueError:
            raise ValueError(f"{item!r} is not a domain") from None
        domains.append(item)
    return domains


# each variable's fix, said after what is wrong with it (bot/settings.py `describe`)
FIXES = {
    "SLACK_BOT_TOKEN": "set it to the app's Bot User OAuth Token (xoxb-…) from OAuth & "
    "Permissions, or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install the app in "
    "several workspaces",
    "SLACK_CLIENT_ID": "set it with SLACK_CLIENT_SECRET, both from Basic Information → App "
    "Credentials (like 1234567890.1234567890), or unset both for single-token mode",
    "SLACK_CLIENT_SECRET": "set it with SLACK_CLIENT_ID, both from Basic Information → App "
    "Credentials, or unset both for single-token mode",
    "EXALATE_PUBLIC_URL": "set it to the https URL where Slack reaches the bot's PORT, like "
    "https://exalate-bot.example.com, or unset it",
    "SLACK_SIGNING_SECRET": "set it to the Signing Secret from Basic Information "
    "(HTTP mode), or set SLACK_APP_TOKEN for Socket Mode",
    "SLACK_APP_TOKEN": "set it to an app-level token (xapp-…) with connections:write, "
    "or leave it unset for HTTP mode",
    "SLACK_API_URL": "set it to an http(s) URL like https://slack.com/api/, or unset it",
    "DATABASE_URL": "use sqlite:///path/to/file.db or postgresql://user@host:5432/db",
    "PORT": "use a port number from 1 to 65535",
    "EXALATE_ADMINS": "use comma-separated user (U…) and user-group (S…) IDs, or unset it",
    "EXALATE_NODE_URL": "set it to the node's base URL like https://node.example.com, or unset "
    "it for the embedded local node",
    "EXALATE_NODE_TOKEN": "with EXALATE_NODE_URL set, give the node's JWT in EXALATE_NODE_TOKEN, "
    "or EXALATE_NODE_USER and EXALATE_NODE_PASSWORD",
    "EXALATE_NODE_PASSWORD": "set it with EXALATE_NODE_USER, so the bot can authenticate",
    "EXALATE_SECRET_KEY": "without a SQLite file beside which to keep a key file, give every "
    "replica the same key; make one with: python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'",
    "REMINDER_INTERVAL": "use a duration like 30s, 15m, 24h or 14d",
    "INVITATION_TTL": "use a duration like 30s, 15m, 24h or 14d",
    "STATUS_POLL_INTERVAL": "use a duration like 30s, 15m, 24h or 14d",
    "SWEEP_INTERVAL": "use a duration like 5s",
    "SLACK_TIMEOUT": "use a duration like 10s",
    "SLACK_MESSAGES_PER_MINUTE": "use a whole number from 1 to 10000",
    "REMINDER_MAX": "use a whole number from 0 to 100",
    "REMINDER_HOURS": "use a window like 09:00-18:00, or set it empty for any time",
    "EXALATE_LOCAL_INSTANCE": "use letters, digits, - and _ only",
    "EXALATE_LOCAL_PROJECTS": "use KEY=Name pairs separated by commas, like SUP=Support",
    "LOG_LEVEL": "use DEBUG, INFO, WARNING or ERROR",
    "LOG_FORMAT": "use text or json",
    "SMTP_URL": "use smtp://host:25, smtp://user:password@host:587?starttls=true or "
    "smtps://host:465 (a password's special characters %-encoded), or unset it for no e-mail",
    "SMTP_FROM": "with SMTP_URL set, give the sender's address, like exalate-bot@example.com",
    "SMTP_MESSAGES_PER_MINUTE": "use a whole number from 1 to 10000",
    "EXALATE_APPROVERS": "use comma-separated user (U…) and user-group (S…) IDs, or unset it for "
    "no approvals",
    "EXALATE_PARTNER_DOMAINS": "use comma-separated domains like globex.com,initech.example, or "
    "unset it to invite anyone",
    "APPROVAL_TTL": "use a duration like 12h or 3d",
    "EXALATE_THREAD_REPLIES": "use all (every change in the thread) or milestones (only "
    "accepted, declined, expired, cancelled and escalated)",
}
