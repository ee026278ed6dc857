"""The approvals' messages and modal, built pure: the approver's request (the review, with
Approve and Reject), the same once decided (no buttons), what the admin who asked is told, the
thread's notices, and the reason modal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.approvals.ids import ApprovalIds as Ids
from bot.backend.base import MODES
from bot.slack.blocks import Block, actions, button, context, fields, modal, section, text_input
from bot.slack.text import escape, slack_date
from storage.models import Connection

REASON_MAX = 500


def _message(text: str, *blocks: Block) -> dict[str, Any]:
    return {"text": text, "blocks": [section(text), *blocks]}


def review_fields(connection: Connection, *, partner: str, note: str) -> list[Block]:
    """What the approver decides on: the wizard's review, as it will go out."""
    destination = (
        f"public: {escape(connection.destination_url or '')}"
        if connection.destination == "public"
        else "private (no URL)"
    )
    pairs = [
        ("Connection", f"`{escape(connection.name)}`"),
        ("Mode", MODES.get(connection.mode, escape(connection.mode))),
        ("Destination", destination),
        (
            "Instances",
            f"{escape(connection.local_short_name)} → {escape(connection.remote_short_name)}",
        ),
        ("Project for incoming sync", escape(connection.project_name)),
        ("Partner", partner),
    ]
    if note:
        pairs.append(("Note to the partner", escape(note)))
    return fields(pairs)


def request_dm(
    connection: Connection, *, approval_id: int, partner: str, note: str, expires_at: datetime
) -> dict[str, Any]:
    """An approver's DM: who asks for what, Approve / Reject, until when."""
    text = (
        f":raised_hand: <@{connection.initiator_user_id}> asks to invite {partner} to the "
        f"Exalate connection `{escape(connection.name)}`. Approve, and the invitation code goes "
        "to the partner; reject, and nothing does."
    )
    value = str(approval_id)
    return _message(
        text,
        *review_fields(connection, partner=partner, note=note),
        actions(
            f"approval_{approval_id}",
            button(Ids.APPROVE, "Approve", value, "primary"),
            button(Ids.REJECT, "Reject", value, "danger"),
        ),
        context(
            f"The first approver's decision stands. Unanswered, the request expires "
            f"{slack_date(expires_at)}."
        ),
    )


def decided_dm(connection: Connection, *, state: str, by: str | None, reason: str) -> dict:
    """An approver's DM once the request is decided (by anyone) or expired: no buttons."""
    name = escape(connection.name)
    if state == "APPROVED":
        said = f":white_check_mark: <@{by}> approved `{name}`: the invitation went to the partner."
    elif state == "REJECTED":
        said = f":no_entry: <@{by}> rejected `{name}`" + (
            f": “{escape(reason)}”." if reason else "."
        )
    else:
        said = f":hourglass: The request to invite a partner to `{name}` expired unanswered."
    return _message(said)


def approved_for_initiator(connection: Connection, *, by: str, partner: str) -> dict[str, Any]:
    return _message(
        f":white_check_mark: <@{by}> approved `{escape(connection.name)}`: the invitation is on "
        f"its way to {partner}."
    )


def rejected_for_initiator(connection: Connection, *, by: str, reason: str) -> dict[str, Any]:
    return _message(
        f":no_entry: <@{by}> rejected `{escape(connection.name)}`: “{escape(reason)}”. "
        "Nothing went to the partner. Run `/exalate connect` again with what to change."
    )


def expired_for_initiator(connection: Connection, *, waited: str) -> dict[str, Any]:
    return _message(
        f":hourglass: No approver decided on `{escape(connection.name)}` within {waited}, so "
        "the request expired and nothing went to the partner. Run `/exalate connect` to ask "
        "again."
    )


def notice_requested(connection: Connection, *, approvers: list[str]) -> dict[str, Any]:
    names = ", ".join(f"<@{a}>" for a in approvers)
    return _message(
        f":raised_hand: <@{connection.initiator_user_id}> asked {names} to approve "
        f"`{escape(connection.name)}`; no code goes out before one of them does."
    )


def notice_rejected(connection: Connection, *, by: str) -> dict[str, Any]:
    return _message(f":no_entry: <@{by}> rejected `{escape(connection.name)}`: nothing was sent.")


def notice_expired(connection: Connection) -> dict[str, Any]:
    return _message(
        f":hourglass: No approver decided on `{escape(connection.name)}` in time: the request "
        "expired, nothing was sent."
    )


def build_reject_view(*, approval_id: int, connection_name: str) -> dict[str, Any]:
    """Reject's modal: a short reason, required (the admin who asked reads it)."""
    blocks = [
        section(
            f"Reject the request to invite a partner to `{escape(connection_name)}`? The admin "
            "who asked is told, with your reason; the partner gets nothing."
        ),
        text_input(Ids.REASON, "Reason", max_length=REASON_MAX, multiline=True),
    ]
    return modal(
        Ids.REJECT_VIEW,
        "Reject request",
        blocks,
        metadata={"approval": approval_id},
        submit="Reject",
        close="Cancel",
    )
