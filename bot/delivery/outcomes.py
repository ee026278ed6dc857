"""What came of a message's try: a Delivery, and how Slack's answers are read (which errors
are worth another try, how long Retry-After says to wait)."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

NOT_INSTALLED = "app_not_installed"  # the workspace has no installation (any more)
PAUSED = "paused"  # its workspace waits out a 429: put back for then, no attempt counted
RATE_LIMITED = frozenset({"ratelimited", "rate_limited", PAUSED})
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)


@dataclass(frozen=True)
class Delivery:
    id: int
    purpose: str
    ok: bool
    error: str | None = None
    retrying: bool = False
    channel: str | None = None
    ts: str | None = None
    follow_up: int | None = None  # an outbox row this outcome wrote, to send next (a DM)


def retry_after_of(exc: SlackApiError) -> float:
    headers = getattr(exc.response, "headers", {}) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0
