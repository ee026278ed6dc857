"""What the node reports: Pending → Active, Active → Deactivated, either → Removed."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.backend.base import ConnectionRef
from bot.invitations import messages as m
from bot.invitations.notices import direct, notice
from bot.invitations.transitions import CS, IS, Transitions
from storage import repo
from storage.db import transaction
from storage.models import ConnectionState


class StatusPoll(Transitions):
    async def poll_status(self) -> int:
        """Ask the backend about open connections: Pending → Active, Active → Deactivated,
        and either → Removed when the node no longer lists it."""
        async with self.s.sessions() as session:  # the columns it needs, not whole rows
            connections = await repo.watched_connections(
                session=session, backend=self.s.backend.kind
            )
        if not connections:
            return 0
        refs = {c.id: ConnectionRef(backend_id=c.backend_id, name=c.name) for c in connections}
        reported = await self.s.backend.statuses(list(refs.values()))
        changes = 0
        for connection in connections:
            status = reported.get(refs[connection.id].key)
            if status == connection.status:
                continue
            async with transaction(self.s.sessions) as session:
                changes += await self._node_reports(session, connection.id or 0, status)
        return changes

    async def _node_reports(
        self, session: AsyncSession, connection_id: int, status: str | None
    ) -> bool:
        now = self.s.clock.now()
        connection = await repo.find_connection(session=session, connection_id=connection_id)
        if connection is None:
            return False
        if status == "ACTIVE" and connection.status == CS.PENDING:
            invitation = await repo.pending_invitation(session=session, connection_id=connection_id)
            if invitation is not None:
                await self._invitation_moves(
                    session, invitation, state=IS.REDEEMED, redeemed_at=now, next_reminder_at=None
                )
            return bool(await self._activate(session, connection, invitation, "node", now))
        if status == "DEACTIVATED" and connection.status == CS.ACTIVE:
            to, message, what = CS.DEACTIVATED, m.notice_deactivated, "was deactivated"
        elif status is None:
            to, message, what = CS.REMOVED, m.notice_removed, "was removed"
        else:
            return False
        previous = ConnectionState(connection.status)
        if not await self._set_state(session, connection, to, now, frm=previous):
            return False
        await self._revoke_pending(session, connection_id, now)
        await self._audit(session, connection, to.lower(), now, actor="node", frm=previous, to=to)
        key = f"{to.lower()}:{int(now.timestamp())}"
        await notice(session, connection, key, message(name=connection.name), now)
        await direct(
            session,
            connection,
            connection.initiator_user_id,
            key,
            m.dm_node_change(name=connection.name, what=what),
            now,
        )
        return True
