"""Text helpers for Block Kit: escaping user text for mrkdwn and trimming plain text."""

from __future__ import annotations

from datetime import datetime


def clean_unicode(text: str) -> str:
    """Text that can be encoded: a lone surrogate (which Slack never sends, but a forged
    payload can) becomes U+FFFD. Control characters are left to the validators to refuse."""
    if text.isascii():
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


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


def slack_date(moment: datetime) -> str:
    """A time each reader sees in their own zone (Slack's date formatting), UTC as fallback."""
    stamp = int(moment.timestamp())
    fallback = f"{moment:%Y-%m-%d %H:%M} UTC"
    return f"<!date^{stamp}^{{date_short_pretty}} at {{time}}|{fallback}>"
