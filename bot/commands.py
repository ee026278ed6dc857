"""Replies to `/exalate` subcommands: pure builders of ephemeral messages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.home.views import Row, describe, when
from bot.slack.text import escape
from storage.models import AuditEvent

PAGE = 10
FILTERS = {
    "pending": ["PENDING"],
    "active": ["ACTIVE"],
    "expired": ["EXPIRED"],
    "declined": ["DECLINED"],
    "cancelled": ["CANCELLED"],
    "deactivated": ["DEACTIVATED"],
    "removed": ["REMOVED"],
    "all": [],
}
LIST_PAGE_ACTION = "list_page"
CANCEL_CONFIRM_ACTION = "cancel_confirm"
CANCEL_KEEP_ACTION = "cancel_keep"

ACCEPT_IN_CONSOLE = (
    "Invitations to this workspace's Exalate node are accepted in *your* Exalate console: "
    "*Connections → Accept invitation*, paste the code, choose your project, *Confirm*. I "
    "notice when it turns Active."
)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _reply(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"text": text, "blocks": blocks or [_section(text)]}


def help_text(admins: str) -> str:
    return (
        "*Exalate connections from Slack*\n"
        f"For Exalate admins ({admins}):\n"
        "• `/exalate connect`: initiate a connection and invite the partner.\n"
        "• `/exalate list [pending|active|expired|declined|all]`: connections, newest first.\n"
        "• `/exalate status <connection>`: one connection's state and its audit trail.\n"
        "• `/exalate resend <connection>`: a fresh code to the partner; reminders start over.\n"
        "• `/exalate cancel <connection>`: withdraw the invitation (asks first).\n"
        "For partners:\n"
        "• `/exalate accept`: accept an invitation code you were sent.\n"
        "• `/exalate help`: this message. The app's *Home* tab shows what concerns you."
    )


def build_list(
    *, rows: list[Row], total: int, which: str, offset: int, now: datetime, reminder_max: int
) -> dict[str, Any]:
    title = f"{which.title()} connections" if which != "all" else "All connections"
    if not rows:
        return _reply(f"*{title}*: none.")
    first, last = offset + 1, offset + len(rows)
    blocks = [_section(f"*{title}* ({first}–{last} of {total:,}, newest first)")]
    blocks += [_section(describe(row, now, reminder_max=reminder_max)) for row in rows]
    buttons = []
    if offset > 0:
        buttons.append(_page_button("◀ Newer", which, max(offset - PAGE, 0)))
    if last < total:
        buttons.append(_page_button("Older ▶", which, last))
    if buttons:
        blocks.append({"type": "actions", "block_id": "list_pages", "elements": buttons})
    return {"text": f"{title}: {total:,}", "blocks": blocks}


def _page_button(text: str, which: str, offset: int) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": f"{LIST_PAGE_ACTION}_{'older' if 'Older' in text else 'newer'}",
        "text": {"type": "plain_text", "text": text},
        "value": json.dumps({"filter": which, "offset": offset}),
    }


def build_status(
    *, row: Row, mode: str, project: str, events: list[AuditEvent], now: datetime, reminder_max: int
) -> dict[str, Any]:
    lines = []
    for event in events[-20:]:
        move = f" ({event.from_state or '—'} → {event.to_state})" if event.to_state else ""
        who = (
            "the system"
            if event.actor == "system"
            else ("the node" if event.actor == "node" else f"<@{event.actor}>")
        )
        detail = f": {escape(event.detail)}" if event.detail else ""
        lines.append(f"• {when(event.at)} {who} *{event.action}*{move}{detail}")
    blocks = [
        _section(describe(row, now, reminder_max=reminder_max)),
        _section(f"Mode: {escape(mode)} · Project: {escape(project)} · Initiated by "
                 f"<@{row.initiator}>"),
        _section("*Audit trail*\n" + ("\n".join(lines) or "No events yet.")),
    ]  # fmt: skip
    return {"text": f"{escape(row.name)}: {row.status}", "blocks": blocks}


def build_cancel_question(*, connection_id: int, name: str) -> dict[str, Any]:
    text = (
        f"Cancel the invitation for `{escape(name)}`? Its code stops working, the partner is "
        "told it was withdrawn, and the reminders stop."
    )
    value = str(connection_id)
    buttons = [
        {"type": "button", "action_id": CANCEL_CONFIRM_ACTION, "style": "danger", "value": value,
         "text": {"type": "plain_text", "text": "Cancel the invitation"}},
        {"type": "button", "action_id": CANCEL_KEEP_ACTION, "value": value,
         "text": {"type": "plain_text", "text": "Keep it"}},
    ]  # fmt: skip
    return {
        "text": text,
        "blocks": [_section(text), {"type": "actions", "block_id": "cancel", "elements": buttons}],
    }


def unknown_name(name: str, suggestion: str | None) -> str:
    hint = f" Did you mean `{escape(suggestion)}`?" if suggestion else ""
    return f"I know no connection named `{escape(name)}`.{hint} `/exalate list` shows them all."
