"""Replies to `/exalate` subcommands: pure builders of ephemeral messages."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.commands.ids import CommandId
from bot.home.views import Row, describe, when
from bot.slack.blocks import actions, button, message, section
from bot.slack.text import escape
from storage.models import AuditEvent

PAGE = 10


def build_list(
    *, rows: list[Row], total: int, which: str, offset: int, now: datetime, reminder_max: int
) -> dict[str, Any]:
    title = f"{which.title()} connections" if which != "all" else "All connections"
    if not rows:
        return message(f"*{title}*: none.")
    first, last = offset + 1, offset + len(rows)
    blocks = [section(f"*{title}* ({first}–{last} of {total:,}, newest first)")]
    blocks += [section(describe(row, now, reminder_max=reminder_max)) for row in rows]
    buttons = []
    if offset > 0:
        buttons.append(_page_button("◀ Newer", which, max(offset - PAGE, 0)))
    if last < total:
        buttons.append(_page_button("Older ▶", which, last))
    if buttons:
        blocks.append(actions(CommandId.LIST_PAGES_BLOCK, *buttons))
    return {"text": f"{title}: {total:,}", "blocks": blocks}


def _page_button(text: str, which: str, offset: int) -> dict[str, Any]:
    action_id = f"{CommandId.LIST_PAGE_ACTION}_{'older' if 'Older' in text else 'newer'}"
    return button(action_id, text, json.dumps({"filter": which, "offset": offset}))


def _who(actor: str) -> str:
    if actor == "system":
        return "the system"
    return "the node" if actor == "node" else f"<@{actor}>"


def build_status(
    *, row: Row, mode: str, project: str, events: list[AuditEvent], now: datetime, reminder_max: int
) -> dict[str, Any]:
    lines = []
    for event in events[-20:]:
        move = f" ({event.from_state or '—'} → {event.to_state})" if event.to_state else ""
        detail = f": {escape(event.detail)}" if event.detail else ""
        lines.append(f"• {when(event.at)} {_who(event.actor)} *{event.action}*{move}{detail}")
    how = f"Mode: {escape(mode)} · Project: {escape(project)} · Initiated by <@{row.initiator}>"
    blocks = [
        section(describe(row, now, reminder_max=reminder_max)),
        section(how),
        section("*Audit trail*\n" + ("\n".join(lines) or "No events yet.")),
    ]
    return {"text": f"{escape(row.name)}: {row.status}", "blocks": blocks}


def build_cancel_question(*, connection_id: int, name: str) -> dict[str, Any]:
    text = (
        f"Cancel the invitation for `{escape(name)}`? Its code stops working, the partner is "
        "told it was withdrawn, and the reminders stop."
    )
    value = str(connection_id)
    confirm = button(CommandId.CANCEL_CONFIRM_ACTION, "Cancel the invitation", value, "danger")
    keep = button(CommandId.CANCEL_KEEP_ACTION, "Keep it", value)
    return message(text, actions(CommandId.CANCEL_BLOCK, confirm, keep))


def unknown_name(name: str, suggestion: str | None) -> str:
    hint = f" Did you mean `{escape(suggestion)}`?" if suggestion else ""
    return f"I know no connection named `{escape(name)}`.{hint} `/exalate list` shows them all."
