"""What the node reports: Pending → Active, Active → Deactivated → Active (reactivated),
any of them → Removed; a status the bot has no move for is shown as it comes.

Connections are followed by the node's id (a real node's id is taken at attach; a
connection without one is found by name once, and its id kept). The bot's own state moves
only on the steps above; any other status (one the bot doesn't know, say PAUSED, or a known
one out of turn) is kept in `node_status` and told once per change in the thread (the
admin's DM where there is no thread), and cleared when the node agrees with the bot again.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.backend.base import ConnectionRef, Reported
from bot.invitations import messages as m
from bot.invitations import node_messages as nm
from bot.invitations.notices import direct
from bot.invitations.transitions import CS, IS, Transitions
from storage import repo
from storage.db import transaction
from storage.models import Connection, ConnectionState

# (the bot's state, what the node says) → the bot's new state, the audit action, the notice
# in the thread, and the admin's DM
MOVES: dict[tuple[str, str | None], tuple[ConnectionState, str, Any, Any]] = {
    (CS.ACTIVE, "DEACTIVATED"): (
        CS.DEACTIVATED,
        "deactivated",
        m.notice_deactivated,
        lambda name: m.dm_node_change(name=name, what="was deactivated"),
    ),
    (CS.DEACTIVATED, "ACTIVE"): (
        CS.ACTIVE,
        "reactivated",
        nm.notice_reactivated,
        lambda name: nm.dm_reactivated(name=name),
    ),
    **{
        (state, None): (
            CS.REMOVED,
            "removed",
            m.notice_removed,
            lambda name: m.dm_node_change(name=name, what="was removed"),
        )
        for state in (CS.PENDING, CS.ACTIVE, CS.DEACTIVATED)
    },
}


class StatusPoll(Transitions):
    async def poll_status(self) -> int:
        """Ask the backend about the connections it may still change; the number of changes
        told (moves, and statuses shown as they came)."""
        async with self.s.sessions() as session:  # the columns it needs, not whole rows
            connections = await repo.watched_connections(
                session=session, backend=self.s.backend.kind
            )
        if not connections:
            return 0
        refs = {c.id: ConnectionRef(backend_id=c.backend_id, name=c.name) for c in connections}
        reported = await self.s.backend.reports(list(refs.values()))
        changes = 0
        for connection in connections:
            report = reported.get(refs[connection.id].key)
            if not _news(connection, report):
                continue
            async with transaction(self.s.sessions) as session:
                changes += await self._node_reports(session, connection.id or 0, report)
        return changes

    async def _node_reports(
        self, session: AsyncSession, connection_id: int, report: Reported | None
    ) -> bool:
        now = self.s.clock.now()
        connection = await repo.find_connection(session=session, connection_id=connection_id)
        if connection is None:
            return False
        if report is not None and report.backend_id and not connection.backend_id:
            await repo.remember_backend_id(
                session=session, connection_id=connection_id, backend_id=report.backend_id, now=now
            )
        status = report.status if report is not None else None
        if status == "ACTIVE" and connection.status == CS.PENDING:
            await self._clear_node_status(session, connection)
            invitation = await repo.pending_invitation(session=session, connection_id=connection_id)
            if invitation is not None:
                await self._invitation_moves(
                    session, invitation, state=IS.REDEEMED, redeemed_at=now, next_reminder_at=None
                )
            return bool(await self._activate(session, connection, invitation, "node", now))
        move = MOVES.get((connection.status, status))
        if move is not None:
            return await self._move(session, connection, move)
        if status is None:
            return False
        return await self._node_status(session, connection, status)

    async def _move(
        self,
        session: AsyncSession,
        connection: Connection,
        move: tuple[ConnectionState, str, Any, Any],
    ) -> bool:
        to, action, notice_of, dm_of = move
        now = self.s.clock.now()
        previous = ConnectionState(connection.status)
        if not await self._set_state(session, connection, to, now, frm=previous):
            return False
        await self._clear_node_status(session, connection)
        await self._revoke_pending(session, connection, now)
        await self._audit(session, connection, action, now, actor="node", frm=previous, to=to)
        key = f"{action}:{int(now.timestamp())}"
        await self.thread.tell(session, connection, key, notice_of(name=connection.name), now)
        await direct(
            session, connection, connection.initiator_user_id, key, dm_of(connection.name), now
        )
        return True

    async def _node_status(
        self, session: AsyncSession, connection: Connection, status: str
    ) -> bool:
        """The node says what the bot's state doesn't: shown once per change; or it agrees
        with the bot again after that."""
        now = self.s.clock.now()
        agrees = status == connection.status
        if not await repo.set_node_status(
            session=session,
            connection_id=connection.id,
            node_status=None if agrees else status,
            now=now,
        ):
            return False
        if agrees:
            told = nm.notice_node_agrees(name=connection.name, status=status)
        else:
            told = nm.notice_node_status(
                name=connection.name, status=status, state=connection.status
            )
        await self._audit(
            session,
            connection,
            "node_status",
            now,
            actor="node",
            detail=f"the node says {status}",
        )
        key = f"node_status:{status}:{int(now.timestamp())}"
        if connection.notice_channel:
            await self.thread.tell(session, connection, key, told, now)
        else:
            await direct(session, connection, connection.initiator_user_id, key, told, now)
        return True

    async def _clear_node_status(self, session: AsyncSession, connection: Connection) -> None:
        if connection.node_status is not None:
            await repo.set_node_status(
                session=session,
                connection_id=connection.id,
                node_status=None,
                now=self.s.clock.now(),
            )


def _news(connection: Any, report: Reported | None) -> bool:
    """Whether the node says something the bot hasn't taken in yet (a watched row's columns)."""
    if report is None:
        return True  # the node no longer has it: removed
    if report.backend_id and not connection.backend_id:
        return True  # found by name: its id to keep
    if report.status == connection.status:
        return connection.node_status is not None  # agrees again, after a status shown
    return report.status != connection.node_status
