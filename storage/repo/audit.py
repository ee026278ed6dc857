"""The audit trail: one row per state change, written in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    AuditEvent,
)


async def add_audit(
    *,
    session: AsyncSession,
    team_id: str,
    connection_id: int | None,
    actor: str,
    action: str,
    now: datetime,
    invitation_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    detail: str = "",
) -> AuditEvent:
    event = AuditEvent(
        team_id=team_id,
        connection_id=connection_id,
        invitation_id=invitation_id,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        detail=detail[:2000],
        at=now,
    )
    session.add(event)
    await session.flush()
    return event


async def list_audit(*, session: AsyncSession, connection_id: int) -> list[AuditEvent]:
    statement = (
        select(AuditEvent)
        .where(AuditEvent.connection_id == connection_id)
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    )
    return list((await session.exec(statement)).all())


async def add_audits(*, session: AsyncSession, events: list[dict[str, Any]]) -> None:
    """Many audit rows (AuditEvent values; `detail` cut to fit) in one statement."""
    if events:
        rows = [
            {"from_state": None, "to_state": None, **e, "detail": e["detail"][:2000]}
            for e in events
        ]
        table = AuditEvent.__table__  # Core, not the ORM's bulk insert
        await session.exec(insert(table), params=rows)  # type: ignore[call-overload,arg-type]
