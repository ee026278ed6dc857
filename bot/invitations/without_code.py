"""A connection without an invitation code (Visual mode; Basic mode with admin access to the
destination): the admin accepts it on the destination themselves. What the bot says when it
is created, and the embedded node's "I accepted it on the destination"; a real node's status
poll (status.py) turns it Active like any other."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.backend.base import BackendError, NotSupported
from bot.invitations import next_steps as ns
from bot.invitations import texts as t
from bot.invitations.errors import Refused, Unavailable
from bot.invitations.notices import direct, outbox_ids
from bot.invitations.people import mention
from bot.invitations.transitions import CS, Transitions
from storage import repo
from storage.db import transaction
from storage.models import Connection


class WithoutCode(Transitions):
    async def created_without_code(
        self, session: AsyncSession, connection: Connection, now: datetime, *, active: bool
    ) -> list[int]:
        """In the transaction that created it: the thread's notice and the admin's DM (where
        to finish it); when the node already reports it Active, its activation too."""
        admin = connection.initiator_user_id
        here = self.s.backend.can_initiate  # the embedded node: the admin's word finishes it
        rows = outbox_ids(
            await self.thread.tell(
                session,
                connection,
                "created",
                ns.notice_created_without_code(
                    name=connection.name, by=mention(admin), mode=connection.mode
                ),
                now,
            ),
            None
            if active
            else await direct(
                session,
                connection,
                admin,
                "finish",
                ns.dm_finish_on_destination(
                    name=connection.name,
                    connection_id=connection.id or 0,
                    console_url=self.s.backend.console_url,
                    here=here,
                ),
                now,
            ),
        )
        if active:
            rows += await self._activate(session, connection, None, "node", now)
        return rows

    async def accepted_on_destination(
        self, *, connection_id: int, user_id: str, team_id: str
    ) -> list[int]:
        """The admin accepted it on the destination (the embedded node takes their word):
        Pending → Active, with what comes next. Once: a second click is told it is Active."""
        async with self.s.sessions() as session:
            connection = await repo.find_connection(session=session, connection_id=connection_id)
            coded = await repo.newest_invitation_id(session=session, connection_id=connection_id)
        if connection is None or connection.team_id != team_id:
            raise Refused(t.NO_CONNECTION)
        if coded is not None:
            raise Refused(t.waits_for_code(connection.name))
        if connection.status == CS.ACTIVE:
            raise Refused(t.already_active(connection.name))
        if connection.status != CS.PENDING:
            raise Refused(t.not_pending(connection.name, connection.status))
        try:
            await self.s.backend.accepted_on_destination(connection.backend_id or "")
        except NotSupported:
            raise Refused(t.node_reports(connection.name)) from None
        except BackendError as exc:
            raise Unavailable(t.node_unavailable(exc)) from None
        now = self.s.clock.now()
        async with transaction(self.s.sessions) as session:
            current = await repo.find_connection(session=session, connection_id=connection_id)
            assert current is not None
            rows = await self._activate(session, current, None, user_id, now)
        if not rows:  # the status poll or another click got there first
            raise Refused(t.already_active(connection.name))
        return rows
