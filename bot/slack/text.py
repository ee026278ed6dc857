"""Text helpers for Block Kit: escaping user text for mrkdwn and trimming plain text."""

from __future__ import annotations

import unicodedata
from datetime import datetime

TEXT_MAX = 1000  # descriptions, notes, reasons: the README's limit


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


def clean(value: object) -> str:
    return "" if value is None else str(value).strip()


def has_control_chars(text: str, *, allow_newlines: bool = False) -> bool:
    """C0 and C1 control characters (NUL, ESC, U+0085…); newlines and tabs where allowed."""
    for ch in text:
        if ch in "\n\t" and allow_newlines:
            continue
        if unicodedata.category(ch) == "Cc":
            return True
    return False


def check_text(value: object, *, limit: int = TEXT_MAX) -> tuple[str, str | None]:
    text = clean(value)
    if len(text) > limit:
        return text, f"Use at most {limit:,} characters (this has {len(text):,})."
    if has_control_chars(text, allow_newlines=True):
        return text, "Remove the control characters from this text."
    return text, None
