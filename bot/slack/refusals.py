"""Slack's refusals after the acknowledgement that happen in normal use, and what the person
is told: a trigger_id lives 3 seconds and opens one modal, so a slow click (or a retried
one) meets `expired_trigger_id`; a user or channel may be gone; Slack may say 429 or 5xx."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.slack.errors import slack_error

# views.open's answers for a trigger it won't take (Slack's method docs)
TRIGGER_GONE = frozenset({"expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"})
# the person (or channel) the call was about is not there (any more)
NOT_THERE = frozenset({"user_not_found", "users_not_found", "channel_not_found", "not_in_channel"})


def trigger_gone(exc: BaseException) -> bool:
    return isinstance(exc, SlackApiError) and slack_error(exc) in TRIGGER_GONE


def too_late(again: str) -> str:
    """The text for a trigger Slack no longer takes; `again` says what to do."""
    return f"That took too long: {again}."


def could_not_open(exc: BaseException, *, what: str, again: str) -> str:
    """What to tell the person when views.open refused to open `what`."""
    if trigger_gone(exc):
        return too_late(again)
    return f":warning: I couldn't open {what} (`{slack_error(exc)}`). Try again."
