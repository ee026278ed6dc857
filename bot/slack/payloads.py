"""Reading what Slack sends: command text and ids from button values and metadata."""

from __future__ import annotations

import re

from bot.slack.text import clean_unicode


def clean_command_text(text: str, limit: int = 500) -> str:
    """Slash-command text as the bot reads it: no control characters, at most `limit` long."""
    return re.sub(r"[\x00-\x1f\x7f]", " ", clean_unicode(text))[:limit].strip()


def parse_id(value: object) -> int | None:
    """A record id from a button value or metadata: plain ASCII digits, in range, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**31 else None
    text = str(value or "")
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number < 2**31 else None
