"""The partner's modals: Accept (paste the code, name the project) and Decline (a reason)."""

from __future__ import annotations

import json
from typing import Any

from bot.invitations.ids import InvitationIds as Ids
from bot.slack.blocks import modal, section, text_input
from bot.slack.payloads import parse_id
from bot.slack.text import TEXT_MAX, escape

ACCEPT_CALLBACK = Ids.ACCEPT_VIEW
DECLINE_CALLBACK = Ids.DECLINE_VIEW


def _partner_modal(
    callback_id: str,
    metadata: dict[str, Any],
    title: str,
    submit: str,
    blocks: list[dict[str, Any]],
) -> dict[str, Any]:
    return modal(callback_id, title, blocks, metadata=metadata, submit=submit, close="Cancel")


def build_accept_view(*, invitation_id: int | None = None) -> dict[str, Any]:
    """As Exalate's own "Accept invitation": paste the code, name the project, Confirm."""
    blocks = [
        section(
            "Paste the invitation code you were sent, and name the project on your side "
            "that receives the synced issues."
        ),
        text_input(
            Ids.CODE,
            "Invitation code",
            max_length=3000,
            multiline=True,
            placeholder="Paste the whole code",
        ),
        text_input(
            Ids.PARTNER_PROJECT,
            "Project on your side",
            max_length=255,
            placeholder="e.g. SUPPORT",
        ),
    ]
    return _partner_modal(
        ACCEPT_CALLBACK, {"invitation": invitation_id}, "Accept invitation", "Confirm", blocks
    )


def build_decline_view(*, invitation_id: int, connection_name: str) -> dict[str, Any]:
    blocks = [
        section(
            f"Decline the invitation to `{escape(connection_name)}`? The person who "
            "invited you is told, with your reason if you give one."
        ),
        text_input(
            Ids.REASON, "Reason (optional)", max_length=TEXT_MAX, multiline=True, optional=True
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
