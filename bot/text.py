"""Text helpers for Block Kit: escaping user text for mrkdwn and trimming plain text."""

from __future__ import annotations


def escape(text: str) -> str:
    """Escape &, < and > as Slack asks, so user text can't ping (<!channel>, <@U…>) or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str, limit: int) -> str:
    """Plain text cut to `limit` characters, with an ellipsis when cut."""
    text = text.replace("\x00", "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(text: str) -> str:
    """User text as a mrkdwn block quote, escaped."""
    return "\n".join(f"> {line}" if line else ">" for line in escape(text).splitlines())
