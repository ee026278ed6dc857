"""Block Kit builders for messages: the partner's DM and the channel notices.

Channel notices never carry the invitation code; only `build_invitation_dm` does.
"""

from __future__ import annotations

from typing import Any

from bot.text import escape, quote
from bot.wizard import MODES

HOW_TO_ACCEPT = (
    "*How to accept on your side*\n"
    "1. Open the Exalate console on your instance and go to *Connections*.\n"
    "2. Click *Accept invitation* and paste the code above.\n"
    "3. Choose the project for incoming sync on your side.\n"
    "4. Click *Confirm*: the connection turns Active on both sides."
)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def build_invitation_dm(
    *,
    initiator_user_id: str,
    connection_name: str,
    local_short_name: str,
    remote_short_name: str,
    mode: str,
    code: str,
    note: str = "",
) -> dict[str, Any]:
    """The partner's invitation: who, what, the code in a code block, and how to accept."""
    name = escape(connection_name)
    blocks: list[dict[str, Any]] = [
        _section(f":wave: <@{initiator_user_id}> invites you to the Exalate connection `{name}`."),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*From instance*\n`{escape(local_short_name)}`"},
                {"type": "mrkdwn", "text": f"*To instance*\n`{escape(remote_short_name)}`"},
                {"type": "mrkdwn", "text": f"*Mode*\n{MODES.get(mode, mode)}"},
            ],
        },
        _section(f"*Invitation code*\n```{code}```"),
    ]
    if note:
        blocks.append(_section(f"*Note from <@{initiator_user_id}>*\n{quote(note)}"))
    blocks.append(_section(HOW_TO_ACCEPT))
    text = f"<@{initiator_user_id}> invites you to the Exalate connection {name}"
    return {"text": text, "blocks": blocks}


def build_sent_notice(
    *, partner_user_id: str, connection_name: str, initiator_user_id: str
) -> dict[str, Any]:
    text = (
        f":incoming_envelope: Invitation sent to <@{partner_user_id}> for "
        f"`{escape(connection_name)}` by <@{initiator_user_id}>."
    )
    return {"text": text, "blocks": [_section(text)]}
