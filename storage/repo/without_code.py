"""Connections without an invitation code (Visual mode; Basic mode with admin access to the
destination): the admin accepts them on the destination themselves, so no invitation is
written, and the status poll (or, on the embedded node, the admin's word) turns them Active."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Connection, ConnectionState
from storage.repo.audit import add_audit


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
    connection = Connection(
        team_id=team_id,
        name=answers["connection_name"],
        name_key=answers["connection_name"].lower(),
        destination=answers["destination"],
        destination_url=answers.get("destination_url"),
        mode=answers["mode"],
        local_short_name=answers["local_short_name"],
        remote_short_name=answers["remote_short_name"],
        description=answers.get("description") or "",
        project_key=answers["project_key"],
        project_name=answers.get("project_name") or answers["project_key"],
        backend=backend,
        backend_id=backend_id,
        status=ConnectionState.PENDING,
        initiator_user_id=initiator_user_id,
        partner_user_id="",
        partner_team_id=team_id,
        partner_label=partner_label[:255],
        notice_channel=answers.get("notice_channel"),
        created_at=now,
        updated_at=now,
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
