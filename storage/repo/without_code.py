"""Connections without an invitation code (Visual mode; Basic mode with admin access to the
destination): the admin accepts them on the destination themselves, so no invitation is
written, and the status poll (or, on the embedded node, the admin's word) turns them Active."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Connection, ConnectionState
from storage.repo.audit import add_audit
from storage.repo.connections import connection_from


async def create_connection_without_code(
    *,
    session: AsyncSession,
    team_id: str,
    answers: dict[str, Any],
    backend: str,
    backend_id: str | None,
    initiator_user_id: str,
    partner_label: str,
    now: datetime,
) -> Connection:
    """A PENDING connection with no invitation, and the audit row that says so. There is no
    partner: `partner_label` names who accepts it on the destination (the admin)."""
    connection = connection_from(
        answers=answers,
        team_id=team_id,
        backend=backend,
        backend_id=backend_id,
        initiator_user_id=initiator_user_id,
        partner_user_id="",
        partner_team_id=team_id,
        partner_label=partner_label,
        now=now,
    )
    session.add(connection)
    await session.flush()
    assert connection.id is not None
    await add_audit(
        session=session,
        team_id=team_id,
        connection_id=connection.id,
        invitation_id=None,
        actor=initiator_user_id,
        action="initiated",
        from_state=None,
        to_state=ConnectionState.PENDING,
        detail="no invitation code: accepted on the destination by the admin",
        now=now,
    )
    return connection
