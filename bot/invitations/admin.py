"""The admin's actions: remind now, resend with a fresh code, cancel."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.backend.base import BackendError
from bot.delivery.rows import enqueue
from bot.idempotency import Once
from bot.installs.oauth import install_url
from bot.invitations import by_email, following
from bot.invitations import messages as m
from bot.invitations import texts as t
from bot.invitations.by_email import goes_by_email
from bot.invitations.errors import Refused
from bot.invitations.notices import Thread, enqueue_invitation, outbox_ids, partner_row
from bot.invitations.people import admin_for_partner, mention
from bot.invitations.transitions import CS, Transitions
from bot.security import hash_code
from storage import repo
from storage.db import transaction
from storage.models import Connection, ConnectionState


class AdminActions(Transitions):
    async def remind_now(self, *, connection_id: int, user_id: str, team_id: str) -> list[int]:
        """One more reminder, right away, whatever the hour: the admin asked for it."""
        now = self.s.clock.now()
        async with transaction(self.s.sessions) as session:
            invitation = await repo.pending_invitation(
                session=session, connection_id=connection_id, team_id=team_id
            )
            if invitation is None:
                raise Refused(t.NOT_WAITING)
            if not await self._invitation_moves(
                session,
                invitation,
                reminders_sent=invitation.reminders_sent + 1,
                next_reminder_at=self.next_reminder(now, invitation.partner_tz),
            ):
                raise Refused(t.CHANGED_NOT_SENT)
            await session.refresh(invitation)
            connection = await repo.find_connection(session=session, connection_id=connection_id)
            assert connection is not None
            return await self._remind(session, [(connection, invitation)], now, actor=user_id)

    async def resend(
        self,
        *,
        connection_id: int,
        user_id: str,
        team_id: str,
        invitation_id: int | None = None,
    ) -> list[int]:
        """A fresh code for a pending or expired invitation; the old code stops working.

        Once per invitation: a double click (or the same button in two places) resends once;
        `invitation_id` is the invitation the button was for, when it came from one."""
        async with self.s.sessions() as session:
            latest = await repo.newest_invitation_id(session=session, connection_id=connection_id)
            connection = (
                await repo.find_connection(session=session, connection_id=connection_id)
                if latest is None
                else None
            )
        if latest is None:  # none ever: no connection, or one without a code
            if connection is not None and connection.team_id == team_id:
                raise Refused(t.no_code_to_resend(connection.name))
            raise Refused(t.NO_CONNECTION)
        if invitation_id is not None and invitation_id != latest:
            raise Refused(t.ALREADY_RESENT)

        async def action() -> dict[str, Any]:
            try:
                return {"outbox": await self._resend(connection_id, user_id, team_id)}
            except Refused as refused:
                return {"error": str(refused)}

        ran, result = await Once(self.s).run(f"resend:{latest}", action)
        if "error" in result:
            raise Refused(result["error"])
        if not ran:
            raise Refused(t.ALREADY_RESENT)
        return list(result["outbox"])

    async def _resend(self, connection_id: int, user_id: str, team_id: str) -> list[int]:
        now = self.s.clock.now()
        async with self.s.sessions() as session:
            connection = await self._reopenable(session, connection_id, team_id, "resent")
        try:
            initiated = await self.s.backend.reissue(connection.backend_id or "")
        except BackendError as exc:
            raise Refused(t.no_fresh_code(exc)) from None
        async with transaction(self.s.sessions) as session:
            current = await self._reopenable(session, connection_id, team_id, "resent")
            old = await repo.newest_invitation(session=session, connection_id=connection_id)
            assert old is not None
            closed = outbox_ids(await following.ended(session, current, old, "replaced", now))
            await self._revoke_pending(session, current, now, ended_as=None)
            invitation = await repo.add_invitation(
                session=session,
                team_id=current.team_id,
                connection_id=connection_id,
                partner_user_id=old.partner_user_id,
                partner_team_id=old.partner_team_id,
                partner_tz=old.partner_tz,
                reach_team_id=old.reach_team_id,
                partner_email=old.partner_email,
                by_email=old.by_email,
                reply_to=old.reply_to,
                code_hash=hash_code(initiated.code),
                code_sealed=self.s.vault.seal(initiated.code),
                note=old.note,
                dm_channel=old.dm_channel,
                expires_at=now + self.settings.invitation_ttl,
                next_reminder_at=self.next_reminder(now, old.partner_tz),
                created_at=now,
                updated_at=now,
            )
            previous = ConnectionState(current.status)
            await self._set_state(session, current, CS.PENDING, now, frm=previous)
            await self._audit(
                session,
                current,
                "resent",
                now,
                invitation=invitation,
                actor=user_id,
                frm=previous,
                to=CS.PENDING,
                detail="a fresh code",
            )
            return closed + await enqueue_invitation(
                session,
                connection=current,
                invitation=invitation,
                code=initiated.code,
                now=now,
                vault=self.s.vault,
                resent_by=user_id,
                accept_here=self.s.backend.can_redeem,
                install_link=install_url(self.settings) if self.settings.oauth else None,
                thread=Thread.of(self.settings),
                mail_on=self.mail_on,
            )

    async def cancel(self, *, connection_id: int, user_id: str, team_id: str) -> list[int]:
        now = self.s.clock.now()
        async with transaction(self.s.sessions) as session:
            connection = await self._reopenable(session, connection_id, team_id, "cancelled")
            previous = ConnectionState(connection.status)
            if not await self._set_state(session, connection, CS.CANCELLED, now, frm=previous):
                raise Refused(t.CHANGED_NOT_CANCELLED)
            newest = await repo.newest_invitation(session=session, connection_id=connection_id)
            closed = await self._revoke_pending(session, connection, now, ended_as="cancelled")
            await self._audit(
                session, connection, "cancelled", now, actor=user_id, frm=previous, to=CS.CANCELLED
            )
            name = connection.name
            withdrawn = m.dm_withdrawn(admin=admin_for_partner(connection, user_id), name=name)
            to_partner = newest and partner_row(connection, newest, "withdrawn", withdrawn, now)
            if not to_partner and goes_by_email(newest, mail_on=self.mail_on):
                assert newest is not None
                to_partner = by_email.withdrawn_row(connection, newest, now, vault=self.s.vault)
            rows = outbox_ids(
                closed,
                await enqueue(session, to_partner) if to_partner else None,
                await self.thread.tell(
                    session,
                    connection,
                    "cancelled",
                    m.notice_cancelled(admin=mention(user_id), name=name),
                    now,
                ),
            )
            backend_id = connection.backend_id
        await self._revoke_quietly(backend_id)
        return rows

    async def _reopenable(
        self, session: AsyncSession, connection_id: int, team_id: str, verb: str
    ) -> Connection:
        connection = await repo.find_connection(session=session, connection_id=connection_id)
        if connection is None or connection.team_id != team_id:
            raise Refused(t.NO_CONNECTION)
        if connection.status not in (CS.PENDING, CS.EXPIRED):
            raise Refused(t.not_reopenable(connection.name, connection.status, verb))
        return connection
