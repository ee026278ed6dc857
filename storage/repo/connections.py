"""Connections: creating one with its first invitation, and name look-ups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import first_row
from storage.models import (
    Connection,
    ConnectionState,
    Invitation,
)
from storage.repo.audit import add_audit
from storage.repo.homes import mark_homes_dirty


async def get_connection_by_name(
    *, session: AsyncSession, team_id: str, name: str
) -> Connection | None:
    statement = select(Connection).where(
        Connection.team_id == team_id, Connection.name_key == name.lower()
    )
    return (await session.exec(statement)).first()


# A read on the acknowledgement's path, built once (see storage.db.first_row).
_NAME_TAKEN = (
    select(Connection.id)
    .where(
        col(Connection.team_id) == bindparam("team_id"),
        col(Connection.name_key) == bindparam("name_key"),
    )
    .limit(1)
)


async def connection_name_taken(*, engine: AsyncEngine, team_id: str, name: str) -> bool:
    """Whether the workspace has a connection of this name (in any case)."""
    row = await first_row(engine, _NAME_TAKEN, team_id=team_id, name_key=name.lower())
    return row is not None


async def connection_names_with_prefix(
    *, session: AsyncSession, team_id: str, prefix: str
) -> set[str]:
    statement = select(Connection.name).where(
        Connection.team_id == team_id,
        col(Connection.name_key).startswith(prefix.lower(), autoescape=True),
    )
    return set((await session.exec(statement)).all())


def connection_from(
    *,
    answers: dict[str, Any],
    team_id: str,
    backend: str,
    backend_id: str | None,
    initiator_user_id: str,
    partner_user_id: str,
    partner_team_id: str,
    partner_label: str,
    initiator_label: str = "",
    now: datetime,
) -> Connection:
    """A new PENDING connection from the wizard's answers (not added to a session yet)."""
    return Connection(
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
        partner_user_id=partner_user_id,
        partner_team_id=partner_team_id,
        partner_label=partner_label[:255],
        initiator_label=initiator_label[:255],
        notice_channel=answers.get("notice_channel"),
        created_at=now,
        updated_at=now,
    )


async def create_connection(
    *,
    session: AsyncSession,
    team_id: str,
    answers: dict[str, Any],
    backend: str,
    backend_id: str | None,
    initiator_user_id: str,
    partner_user_id: str,
    partner_team_id: str,
    partner_tz: str | None = None,
    reach_team_id: str | None = None,
    by_hand: bool = False,
    by_email: bool = False,
    partner_email: str | None = None,
    reply_to: str | None = None,
    partner_label: str = "",
    initiator_label: str = "",
    code_hash: str,
    code_sealed: str | None = None,
    expires_at: datetime,
    next_reminder_at: datetime | None,
    now: datetime,
) -> tuple[Connection, Invitation]:
    """A PENDING connection with its first invitation, and the audit row that says so. The
    partner is reached through `reach_team_id`'s installation (default: the admin's own
    workspace), or nowhere when `by_hand` (the admin passes the code on) or `by_email` (it
    goes to `partner_email`, with `reply_to` the admin's address)."""
    reach_team_id = None if by_hand or by_email else (reach_team_id or team_id)
    connection = connection_from(
        answers=answers,
        team_id=team_id,
        backend=backend,
        backend_id=backend_id,
        initiator_user_id=initiator_user_id,
        partner_user_id=partner_user_id,
        partner_team_id=partner_team_id,
        partner_label=partner_label,
        initiator_label=initiator_label,
        now=now,
    )
    session.add(connection)
    await session.flush()
    assert connection.id is not None
    invitation = Invitation(
        team_id=team_id,
        connection_id=connection.id,
        partner_user_id=partner_user_id,
        partner_team_id=partner_team_id,
        partner_tz=partner_tz,
        reach_team_id=reach_team_id,
        partner_email=partner_email,
        by_email=by_email,
        reply_to=reply_to,
        code_hash=code_hash,
        code_sealed=code_sealed,
        note=answers.get("note") or "",
        expires_at=expires_at,
        next_reminder_at=next_reminder_at,
        created_at=now,
        updated_at=now,
    )
    session.add(invitation)
    await session.flush()
    if reach_team_id and partner_user_id:
        await mark_homes_dirty(session=session, team_id=reach_team_id, users=[partner_user_id])
    await add_audit(
        session=session,
        team_id=team_id,
        connection_id=connection.id,
        invitation_id=invitation.id,
        actor=initiator_user_id,
        action="initiated",
        from_state=None,
        to_state=ConnectionState.PENDING,
        detail=f"invited {partner_user_id or 'by hand'}",
        now=now,
    )
    return connection, invitation


async def invitation_sealed_code(*, session: AsyncSession, invitation_id: int) -> str | None:
    """The sealed code of an invitation (None if there is no such invitation, or no code)."""
    invitation = await session.get(Invitation, invitation_id)
    return None if invitation is None else invitation.code_sealed
