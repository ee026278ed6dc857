"""Block Kit builders for the partner's modals (accept, decline): pure `build_…() -> dict`
functions. The wizard's views are in bot/wizard/views.py."""

from __future__ import annotations

import json
from typing import Any

from bot.slack.blocks import plain_text as _pt
from bot.slack.blocks import section as _md_section
from bot.slack.blocks import text_input as _text_input
from bot.slack.payloads import parse_id
from bot.slack.text import TEXT_MAX, escape

# --- the partner's modals --------------------------------------------------------------

ACCEPT_CALLBACK = "exalate_accept"
DECLINE_CALLBACK = "exalate_decline"


def _partner_modal(
    callback_id: str,
    metadata: dict[str, Any],
    title: str,
    submit: str,
    blocks: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps(metadata),
        "title": _pt(title, 24),
        "submit": _pt(submit, 24),
        "close": _pt("Cancel", 24),
        "blocks": blocks,
    }


def build_accept_view(*, invitation_id: int | None = None) -> dict[str, Any]:
    """As Exalate's own "Accept invitation": paste the code, name the project, Confirm."""
    blocks = [
        _md_section(
            "Paste the invitation code you were sent, and name the project on your side "
            "that receives the synced issues."
        ),
        _text_input(
            "code",
            "Invitation code",
            max_length=3000,
            multiline=True,
            placeholder="Paste the whole code",
        ),
        _text_input(
            "partner_project", "Project on your side", max_length=255, placeholder="e.g. SUPPORT"
        ),
    ]
    return _partner_modal(
        ACCEPT_CALLBACK, {"invitation": invitation_id}, "Accept invitation", "Confirm", blocks
    )


def build_decline_view(*, invitation_id: int, connection_name: str) -> dict[str, Any]:
    blocks = [
        _md_section(
            f"Decline the invitation to `{escape(connection_name)}`? The person who "
            "invited you is told, with your reason if you give one."
        ),
        _text_input(
            "reason", "Reason (optional)", max_length=TEXT_MAX, multiline=True, optional=True
        ),
    ]
    return _partner_modal(
        DECLINE_CALLBACK, {"invitation": invitation_id}, "Decline invitation", "Decline", blocks
    )


def metadata_id(view: dict[str, Any], key: str) -> int | None:
    try:
        metadata = json.loads(view.get("private_metadata") or "{}")
    except (ValueError, TypeError):
        return None
    return parse_id(metadata.get(key)) if isinstance(metadata, dict) else None
