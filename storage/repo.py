"""Repository functions: keyword-only, each on a session the caller owns (and commits).

Every state change writes its audit row in the same transaction (`add_audit`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import first_row
from storage.models import (
    AuditEvent,
    Connection,
    ConnectionState,
    DmChannel,
    HomeTab,
    IdempotencyKey,
    Invitation,
    WizardDraft,
)


def _insert_or_update(session: AsyncSession) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (an upsert) on PostgreSQL and SQLite."""
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


# --- wizard drafts ---------------------------------------------------------------------


async def get_draft(session: AsyncSession, *, view_key: str) -> WizardDraft | None:
    return await session.get(WizardDraft, view_key)


async def draft_answers(
    session: AsyncSession, *, view_key: str, team_id: str, user_id: str
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
    session: AsyncSession,
    *,
    view_key: str,
    team_id: str,
    user_id: str,
    step: str,
    answers: dict[str, Any],
    now: datetime,
) -> None:
    """Create or update the draft, in one statement (an upsert: it keeps `created_at`)."""
    statement = _insert_or_update(session)(WizardDraft).values(
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


async def delete_draft(session: AsyncSession, *, view_key: str) -> None:
    await session.exec(delete(WizardDraft).where(col(WizardDraft.view_key) == view_key))


async def purge_drafts(session: AsyncSession, *, older_than: datetime) -> int:
    result = await session.exec(delete(WizardDraft).where(col(WizardDraft.updated_at) < older_than))
    return result.rowcount or 0


# --- connections -----------------------------------------------------------------------


async def get_connection_by_name(
    session: AsyncSession, *, team_id: str, name: str
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


async def connection_name_taken(engine: AsyncEngine, *, team_id: str, name: str) -> bool:
    """Whether the workspace has a connection of this name (in any case)."""
    row = await first_row(engine, _NAME_TAKEN, team_id=team_id, name_key=name.lower())
    return row is not None


async def connection_names_with_prefix(
    session: AsyncSession, *, team_id: str, prefix: str
) -> set[str]:
    statement = select(Connection.name).where(
        Connection.team_id == team_id,
        col(Connection.name_key).startswith(prefix.lower(), autoescape=True),
    )
    return set((await session.exec(statement)).all())


async def create_connection(
    session: AsyncSession,
    *,
    team_id: str,
    answers: dict[str, Any],
    backend: str,
    backend_id: str | None,
    initiator_user_id: str,
    partner_user_id: str,
    partner_team_id: str,
    partner_tz: str | None = None,
    code_hash: str,
    code_sealed: str | None = None,
    expires_at: datetime,
    next_reminder_at: datetime | None,
    now: datetime,
) -> tuple[Connection, Invitation]:
    """A PENDING connection with its first invitation, and the audit row that says so."""
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
        partner_user_id=partner_user_id,
        partner_team_id=partner_team_id,
        notice_channel=answers.get("notice_channel"),
        created_at=now,
        updated_at=now,
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
    await mark_homes_dirty(session, team_id=team_id, users=[partner_user_id])
    await add_audit(
        session,
        team_id=team_id,
        connection_id=connection.id,
        invitation_id=invitation.id,
        actor=initiator_user_id,
        action="initiated",
        from_state=None,
        to_state=ConnectionState.PENDING,
        detail=f"invited {partner_user_id}",
        now=now,
    )
    return connection, invitation


async def add_audit(
    session: AsyncSession,
    *,
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


async def list_audit(session: AsyncSession, *, connection_id: int) -> list[AuditEvent]:
    statement = (
        select(AuditEvent)
        .where(AuditEvent.connection_id == connection_id)
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    )
    return list((await session.exec(statement)).all())


async def count_connections(session: AsyncSession, *, team_id: str) -> int:
    statement = select(func.count()).select_from(Connection).where(Connection.team_id == team_id)
    return int((await session.exec(statement)).one())


async def get_dm_channels(
    session: AsyncSession, *, team_id: str, user_ids: list[str]
) -> dict[tuple[str, str], str]:
    """The known DM channels of these users, by (team id, user id), in one query."""
    if not user_ids:
        return {}
    statement = select(DmChannel).where(
        DmChannel.team_id == team_id, col(DmChannel.user_id).in_(user_ids)
    )
    return {(row.team_id, row.user_id): row.channel_id for row in await session.exec(statement)}


async def save_dm_channel(
    session: AsyncSession, *, team_id: str, user_id: str, channel_id: str
) -> None:
    """Remember the DM channel (an upsert: two processes may open the same IM at once)."""
    statement = _insert_or_update(session)(DmChannel).values(
        team_id=team_id, user_id=user_id, channel_id=channel_id
    )
    statement = statement.on_conflict_do_update(
        index_elements=[DmChannel.team_id, DmChannel.user_id], set_={"channel_id": channel_id}
    )
    await session.exec(statement)  # type: ignore[call-overload]


async def add_audits(session: AsyncSession, events: list[dict[str, Any]]) -> None:
    """Many audit rows (AuditEvent values; `detail` cut to fit) in one statement."""
    if events:
        rows = [
            {"from_state": None, "to_state": None, **e, "detail": e["detail"][:2000]}
            for e in events
        ]
        table = AuditEvent.__table__  # Core, not the ORM's bulk insert
        await session.exec(insert(table), params=rows)  # type: ignore[call-overload,arg-type]


# --- reading for people: lists, counts, the Home tab ------------------------------------


async def count_by_status(session: AsyncSession, *, team_id: str) -> dict[str, int]:
    statement = (
        select(Connection.status, func.count())
        .where(Connection.team_id == team_id)
        .group_by(Connection.status)
    )
    return {str(status): int(count) for status, count in (await session.exec(statement)).all()}


async def count_all_by_status(session: AsyncSession) -> dict[str, int]:
    """Across every workspace (for the metrics)."""
    statement = select(Connection.status, func.count()).group_by(Connection.status)
    return {str(status): int(count) for status, count in (await session.exec(statement)).all()}


async def count_all_invitations_by_state(session: AsyncSession) -> dict[str, int]:
    """Across every workspace (for the metrics)."""
    statement = select(Invitation.state, func.count()).group_by(Invitation.state)
    return {str(state): int(count) for state, count in (await session.exec(statement)).all()}


async def list_connections(
    session: AsyncSession,
    *,
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
    session: AsyncSession, *, team_id: str, statuses: list[str] | None = None
) -> int:
    statement = select(func.count()).select_from(Connection).where(Connection.team_id == team_id)
    if statuses:
        statement = statement.where(col(Connection.status).in_(statuses))
    return int((await session.exec(statement)).one())


async def latest_invitations(
    session: AsyncSession, *, connection_ids: list[int]
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
    session: AsyncSession, *, team_id: str, partner_user_id: str, limit: int = 20
) -> list[tuple[Connection, Invitation]]:
    statement = (
        select(Connection, Invitation)
        .join(Invitation, col(Invitation.connection_id) == Connection.id)
        .where(
            Connection.team_id == team_id,
            Invitation.partner_user_id == partner_user_id,
            Invitation.state == "PENDING",
        )
        .order_by(col(Invitation.created_at).desc())
        .limit(limit)
    )
    return [(c, i) for c, i in (await session.exec(statement)).all()]


async def recently_active(
    session: AsyncSession, *, team_id: str, limit: int = 5
) -> list[Connection]:
    statement = (
        select(Connection)
        .where(Connection.team_id == team_id, Connection.status == ConnectionState.ACTIVE)
        .order_by(col(Connection.activated_at).desc())
        .limit(limit)
    )
    return list((await session.exec(statement)).all())


async def names_like(session: AsyncSession, *, team_id: str, prefix: str, limit: int) -> list[str]:
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


# --- the Home tab ----------------------------------------------------------------------


async def home_opened(
    session: AsyncSession, *, team_id: str, user_id: str, is_admin: bool, now: datetime
) -> None:
    tab = await session.get(HomeTab, (team_id, user_id))
    if tab is None:
        tab = HomeTab(team_id=team_id, user_id=user_id, opened_at=now)
    tab.is_admin, tab.opened_at, tab.dirty = is_admin, now, False
    session.add(tab)


async def mark_homes_dirty(session: AsyncSession, *, team_id: str, users: list[str]) -> None:
    """The Home tabs that show a connection of these users (admins see every connection)."""
    await session.exec(  # type: ignore[call-overload]
        update(HomeTab)
        .where(
            col(HomeTab.team_id) == team_id,
            or_(col(HomeTab.is_admin).is_(True), col(HomeTab.user_id).in_(users)),
        )
        .values(dirty=True)
    )


# --- idempotency keys ------------------------------------------------------------------


async def claim_key(session: AsyncSession, *, key: str, now: datetime) -> bool:
    """True for the first caller with this key (in any process); False for every other."""
    statement = (
        _insert_or_update(session)(IdempotencyKey)
        .values(key=key[:160], created_at=now)
        .on_conflict_do_nothing()
    )
    result = await session.exec(statement)  # type: ignore[call-overload]
    return bool(result.rowcount == 1)


async def key_state(session: AsyncSession, *, key: str) -> tuple[bool, dict[str, Any] | None]:
    """(whether the key is held, the result its holder left)."""
    row = await session.get(IdempotencyKey, key[:160])
    return (row is not None, row.result if row else None)


async def set_key_result(session: AsyncSession, *, key: str, result: dict[str, Any]) -> None:
    row = await session.get(IdempotencyKey, key[:160])
    if row is not None:
        row.result = dict(result)
        session.add(row)


async def release_key(session: AsyncSession, *, key: str) -> None:
    await session.exec(delete(IdempotencyKey).where(col(IdempotencyKey.key) == key[:160]))


async def purge_keys(session: AsyncSession, *, older_than: datetime) -> int:
    statement = delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < older_than)
    return (await session.exec(statement)).rowcount or 0
