"""Wizard drafts: the answers of a wizard too long to travel in its modal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import upsert_for
from storage.models import (
    WizardDraft,
)


async def get_draft(*, session: AsyncSession, view_key: str) -> WizardDraft | None:
    return await session.get(WizardDraft, view_key)


async def draft_answers(
    *, session: AsyncSession, view_key: str, team_id: str, user_id: str
) -> dict[str, Any] | None:
    """The answers of this user's draft (None if there is none, or it is someone else's):
    one narrow query, on the acknowledgement's path."""
    statement = select(WizardDraft.answers).where(
        col(WizardDraft.view_key) == view_key,
        col(WizardDraft.team_id) == team_id,
        col(WizardDraft.user_id) == user_id,
    )
    answers = (await session.exec(statement)).first()
    return None if answers is None else dict(answers)


async def save_draft(
    *,
    session: AsyncSession,
    view_key: str,
    team_id: str,
    user_id: str,
    step: str,
    answers: dict[str, Any],
    now: datetime,
) -> None:
    """Create or update the draft, in one statement (an upsert: it keeps `created_at`)."""
    statement = upsert_for(session)(WizardDraft).values(
        view_key=view_key,
        team_id=team_id,
        user_id=user_id,
        step=step,
        answers=dict(answers),
        created_at=now,
        updated_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[WizardDraft.view_key],
        set_={"step": step, "answers": dict(answers), "updated_at": now},
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def delete_draft(*, session: AsyncSession, view_key: str) -> None:
    await session.exec(delete(WizardDraft).where(col(WizardDraft.view_key) == view_key))


async def purge_drafts(*, session: AsyncSession, older_than: datetime) -> int:
    result = await session.exec(delete(WizardDraft).where(col(WizardDraft.updated_at) < older_than))
    return result.rowcount or 0
