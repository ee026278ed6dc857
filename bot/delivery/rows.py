"""The outbox's rows: every DM and notice is written to the database in the same transaction
as the change that calls for it, then sent by whichever process claims it first (courier.py).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.security import Vault
from storage import repo
from storage.models import Outbox


def outbox_row(
    *,
    team_id: str,
    key: str,
    purpose: str,
    channel: str,
    message: dict[str, Any],
    now: datetime,
    connection_id: int | None = None,
    invitation_id: int | None = None,
    in_thread: bool = False,
    seal_with: Vault | None = None,
    edit_of: int | None = None,
) -> dict[str, Any]:
    """An outbox row's values. A message that carries a secret (the invitation code) is
    sealed with `seal_with` until it is sent. With `edit_of`, the row edits the message that
    row posted (chat.update) instead of posting one."""
    return {
        "team_id": team_id,
        "key": key,
        "purpose": purpose,
        "channel": channel,
        "in_thread": in_thread,
        "connection_id": connection_id,
        "invitation_id": invitation_id,
        "text": "(sealed)" if seal_with else message["text"][:4000],
        "blocks": [] if seal_with else message.get("blocks") or [],
        "sealed": seal_with.seal(json.dumps(message)) if seal_with else None,
        "edit_of": edit_of,
        "email_to": None,  # a Slack message (bot/mail/courier.py's mail_row: an e-mail)
        "not_before": now,
        "created_at": now,
    }


async def enqueue(session: AsyncSession, values: dict[str, Any]) -> Outbox | None:
    """Add a message (`outbox_row` values) unless one with its key exists already (then
    None)."""
    return await repo.enqueue_message(session=session, values=values)


async def enqueue_many(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Add many messages (`outbox_row` values) in one statement, skipping those whose key
    exists already; the new rows' ids."""
    return await repo.enqueue_messages(session=session, rows=rows)


async def enqueue_edit(session: AsyncSession, values: dict[str, Any]) -> Outbox | None:
    """Add an edit (`outbox_row` values with `edit_of`); the same message's edits not sent
    yet are dropped, this one carrying the latest state (ten changes while Slack answered 429
    end in one edit)."""
    row = await repo.enqueue_message(session=session, values=values)
    if row is not None and row.id is not None:
        await repo.supersede_edits(
            session=session, edit_of=values["edit_of"], newer=row.id, now=values["created_at"]
        )
    return row
