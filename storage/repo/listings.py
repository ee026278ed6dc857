"""Reading for people: lists, counts and the rows of the Home tab."""

from __future__ import annotations

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    AuditEvent,
    Connection,
    ConnectionState,
    Invitation,
)


async def count_connections(*, session: AsyncSession, team_id: str) -> int:
    statement = select(func.count()).select_from(Connection).where(Connection.team_id == team_id)
    return int((await session.exec(statement)).one())


async def count_by_status(*, session: AsyncSession, team_id: str) -> dict[str, int]:
    statement = (
        select(Connection.status, func.count())
        .where(Connection.team_id == team_id)
        .group_by(Connection.status)
    )
    return {str(status): int(count) for status, count in (await session.exec(statement)).all()}


async def count_all_by_status(*, session: AsyncSession) -> dict[str, int]:
    """Across every workspace (for the metrics)."""
    statement = select(Connection.status, func.count()).group_by(Connection.status)
    return {str(status): int(count) for status, count in (await session.exec(statement)).all()}


async def count_all_invitations_by_state(*, session: AsyncSession) -> dict[str, int]:
    """Across every workspace (for the metrics)."""
    statement = select(Invitation.state, func.count()).group_by(Invitation.state)
    return {str(state): int(count) for state, count in (await session.exec(statement)).all()}


async def list_connections(
    *,
    session: AsyncSession,
    team_id: str,
    statuses: list[str] | None = None,
    offset: int = 0,
    limit: int = 10,
) -> list[Connection]:
    """Newest first."""
    statement = select(Connection).where(Connection.team_id == team_id)
    if statuses:
        statement = statement.where(col(Connection.status).in_(statuses))
    statement = statement.order_by(col(Connection.created_at).desc(), col(Connection.id).desc())
    return list((await session.exec(statement.offset(offset).limit(limit))).all())


async def count_connections_in(
    *, session: AsyncSession, team_id: str, statuses: list[str] | None = None
) -> int:
    statement = select(func.count()).select_from(Connection).where(Connection.team_id == team_id)
    if statuses:
        statement = statement.where(col(Connection.status).in_(statuses))
    return int((await session.exec(statement)).one())


async def latest_invitations(
    *, session: AsyncSession, connection_ids: list[int]
) -> dict[int, Invitation]:
    """Each connection's newest invitation (the one reminded, resent, redeemed)."""
    if not connection_ids:
        return {}
    statement = (
        select(Invitation)
        .where(col(Invitation.connection_id).in_(connection_ids))
        .order_by(col(Invitation.id))
    )
    return {inv.connection_id: inv for inv in (await session.exec(statement)).all()}


async def waiting_for_partner(
    *, session: AsyncSession, team_id: str, partner_user_id: str, limit: int = 20
) -> list[tuple[Connection, Invitation]]:
    """The invitations waiting for `partner_user_id`, seen from `team_id`: the admin's
    workspace, or the one that reaches the partner (their own)."""
    statement = (
        select(Connection, Invitation)
        .join(Invitation, col(Invitation.connection_id) == Connection.id)
        .where(
            or_(Connection.team_id == team_id, Invitation.reach_team_id == team_id),
            Invitation.partner_user_id == partner_user_id,
            Invitation.state == "PENDING",
        )
        .order_by(col(Invitation.created_at).desc())
        .limit(limit)
    )
    return [(c, i) for c, i in (await session.exec(statement)).all()]


async def recently_active(
    *, session: AsyncSession, team_id: str, limit: int = 5
) -> list[Connection]:
    statement = (
        select(Connection)
        .where(Connection.team_id == team_id, Connection.status == ConnectionState.ACTIVE)
        .order_by(col(Connection.activated_at).desc())
        .limit(limit)
    )
    return list((await session.exec(statement)).all())


async def names_like(*, session: AsyncSession, team_id: str, prefix: str, limit: int) -> list[str]:
    """Connection names starting with `prefix` (case-insensitively), for near-miss hints."""
    statement = (
        select(Connection.name)
        .where(
            Connection.team_id == team_id,
            col(Connection.name_key).startswith(prefix.lower(), autoescape=True),
        )
        .limit(limit)
    )
    return list((await session.exec(statement)).all())


async def all_connections(*, session: AsyncSession) -> list[Connection]:
    """Every connection of every workspace, oldest first (for the demo's small database)."""
    return list((await session.exec(select(Connection).order_by(col(Connection.id)))).all())


async def all_audit_events(*, session: AsyncSession) -> list[AuditEvent]:
    """Every audit event of every workspace, in the order written (for the demo's transcript)."""
    return list((await session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))).all())
