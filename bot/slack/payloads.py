"""Reading what Slack sends: command text, ids from button values and metadata, and the
answers in a submitted view's state."""

from __future__ import annotations

import re
from typing import Any

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


def read_state(values: dict[str, Any]) -> dict[str, Any]:
    """`view.state.values` → {block_id: the plain answer} for every element type we use.
    Text comes back storable (see `clean_unicode`); the validators judge the rest."""
    return {
        key: clean_unicode(value) if isinstance(value, str) else value
        for key, value in _read_state(values).items()
        if value is None or isinstance(value, str)  # answers are text; anything else is forged
    }


_SELECTED = {
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
}


def _read_state(values: Any) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    if not isinstance(values, dict):
        return answers
    for block_id, elements in values.items():
        if not isinstance(elements, dict):
            continue
        for state in elements.values():
            if not isinstance(state, dict):
                continue
            kind = state.get("type")
            if kind in ("radio_buttons", "static_select", "external_select"):
                option = state.get("selected_option") or {}
                answers[block_id] = option.get("value") if isinstance(option, dict) else None
            elif isinstance(kind, str) and kind in _SELECTED:  # forged: a list, a dict
                answers[block_id] = state.get(_SELECTED[kind])
            else:
                answers[block_id] = state.get("value")
    return answers
