"""What can go wrong calling Slack, and how to name it in one word."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError

# ok:false answers (incl. 429 and 5xx, which slack_sdk raises as SlackApiError), timeouts,
# and connections that fail
SLACK_FAILURES: tuple[type[BaseException], ...] = (SlackApiError, TimeoutError, aiohttp.ClientError)
# a workspace's token Slack will never take again: the app was removed, or the token revoked
DEAD_TOKEN_ERRORS = frozenset({"invalid_auth", "token_revoked", "account_inactive"})


def slack_error(exc: BaseException) -> str:
    """`ratelimited`, `channel_not_found`, `http_503`, `timeout`, `connection`…"""
    if isinstance(exc, SlackApiError):
        data = getattr(exc.response, "data", None)
        error = data.get("error") if isinstance(data, dict) else None
        return str(error or f"http_{exc.response.status_code}")
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "connection"


class ForThePerson(Exception):
    """A failure whose message is written for the person who asked (it names no secret): a
    listener that fails with one tells them this text instead of a generic apology."""
