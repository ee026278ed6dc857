"""`/exalate export`'s read: a workspace's audit trail with its connections, in pages.

Keyset pages (the audit row's id, ascending: the order written), each a short query of plain
columns (no ORM objects, nothing kept in the session), so an export of any size holds one
page at a time. The columns are named here and nowhere holds a code: no `code_hash`, no
`code_sealed`, nothing from the outbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEvent, Connection, Invitation

PAGE = 1000

# (label, column): what an exported row holds, in the order of the CSV's columns
EXPORTED: tuple[tuple[str, Any], ...] = (
    ("id", AuditEvent.id),
    ("connection", Connection.name),
    ("description", Connection.description),
    ("mode", Connection.mode),
    ("destination", Connection.destination),
    ("destination_url", Connection.destination_url),
    ("state", Connection.status),
    ("partner_label", Connection.partner_label),
    ("partner_user_id", Connection.partner_user_id),
    ("note", Invitation.note),
    ("actor", AuditEvent.actor),
    ("action", AuditEvent.action),
    ("at", AuditEvent.at),
    ("from_state", AuditEvent.from_state),
    ("to_state", AuditEvent.to_state),
    ("detail", AuditEvent.detail),
)


async def audit_trail_pages(
    *, session: AsyncSession, team_id: str, since: datetime, page: int = PAGE
) -> AsyncIterator[Sequence[Any]]:
    """The audit rows of the team's connections written at `since` or later, oldest first,
    `page` at a time; each row has the attributes named in EXPORTED. Audit rows with no
    connection are not the connections' trail and are left out; so are a partner's
    workspace's connections (theirs to export)."""
    after = 0
    while True:
        statement = (
            select(*(column.label(label) for label, column in EXPORTED))
            .join(Connection, col(Connection.id) == col(AuditEvent.connection_id))
            .outerjoin(Invitation, col(Invitation.id) == col(AuditEvent.invitation_id))
            .where(
                _of_team(session, team_id),
                col(AuditEvent.at) >= since,
                col(AuditEvent.id) > after,
            )
            .order_by(col(AuditEvent.id))
            .limit(page)
        )
        rows = (await session.exec(statement)).all()  # type: ignore[call-overload]
        if not rows:
            return
        yield rows
        if len(rows) < page:
            return
        after = rows[-1].id


def _of_team(session: AsyncSession, team_id: str) -> Any:
    """The connection is the team's. SQLite (no statistics) would start from the team's
    connections by their index and sort all their audit rows again for every page; `|| ''`
    keeps that index out of its choice (SQLite's documented way), so it walks audit_event in
    id order and a page costs only its rows. PostgreSQL plans it from its statistics."""
    if session.bind.dialect.name == "sqlite":
        return (col(Connection.team_id) + "") == team_id
    return col(Connection.team_id) == team_id
