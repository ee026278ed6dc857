"""The partner's actions: accept (redeem the pasted code), decline, snooze."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.backend.base import BackendError, CodeRejected
from bot.idempotency import Once
from bot.invitations import following
from bot.invitations import messages as m
from bot.invitations import texts as t
from bot.invitations.errors import Refused, Unavailable
from bot.invitations.notices import direct, outbox_ids
from bot.invitations.people import admin_for_partner, partner_for_admin
from bot.invitations.policy import snooze_until
from bot.invitations.transitions import CS, IS, Transitions
from bot.security import hash_code
from storage import repo
from storage.db import transaction
from storage.models import Connection, Invitation


class PartnerActions(Transitions):
    async def _for_partner(
        self, session: AsyncSession, invitation_id: int, user_id: str, team_id: str
    ) -> tuple[Connection, Invitation]:
        invitation = await repo.get_invitation(session=session, invitation_id=invitation_id)
        if invitation is None or not _from_partner_side(invitation, team_id):
            raise Refused(t.NO_INVITATION)
        if invitation.partner_user_id != user_id:
            raise Refused(t.for_someone_else(invitation.partner_user_id))
        connection = await repo.find_connection(
            session=session, connection_id=invitation.connection_id
        )
        assert connection is not None
        return connection, invitation

    async def check_partner(self, *, invitation_id: int, user_id: str, team_id: str) -> str:
        """The connection's name, when `user_id` is the invited partner; else Refused."""
        async with self.s.sessions() as session:
            connection, _ = await self._for_partner(session, invitation_id, user_id, team_id)
            return connection.name

    async def snooze(self, *, invitation_id: int, user_id: str, team_id: str, choice: str) -> str:
        now = self.s.clock.now()
        async with transaction(self.s.sessions) as session:
            connection, invitation = await self._for_partner(
                session, invitation_id, user_id, team_id
            )
            until = snooze_until(
                now, choice=choice, tz=invitation.partner_tz, hours=self.settings.reminder_hours
            )
            if not await self._invitation_moves(session, invitation, next_reminder_at=until):
                raise Refused(t.NOTHING_TO_SNOOZE)
            await self._audit(
                session,
                connection,
                "snoozed",
                now,
                invitation=invitation,
                actor=user_id,
                detail=f"until {until.isoformat()}",
            )
        return t.snoozed(connection.name, until)

    async def accept(
        self, *, code: str, partner_project: str, user_id: str, team_id: str
    ) -> list[int]:
        """Redeem a pasted code: only while pending, only for its partner, once.

        Returns the outbox rows to send; raises Refused with the reason otherwise."""
        now = self.s.clock.now()
        code = code.strip()
        async with self.s.sessions() as session:
            invitation = await repo.invitation_by_code_hash(
                session=session, code_hash=hash_code(code)
            )
            connection = (
                await repo.find_connection(session=session, connection_id=invitation.connection_id)
                if invitation
                else None
            )
        if invitation is None or connection is None or not _from_partner_side(invitation, team_id):
            raise Refused(t.REJECTED["unknown"])
        self._check_redeemable(connection, invitation, user_id, now)
        try:
            await self.s.backend.redeem(connection.backend_id or "", code, partner_user_id=user_id)
        except CodeRejected as exc:
            raise Refused(t.REJECTED.get(exc.reason, t.NODE_REFUSED)) from None
        except BackendError as exc:
            raise Unavailable(t.node_unavailable(exc)) from None
        async with transaction(self.s.sessions) as session:
            # an e-mailed partner who turned up in Slack: who accepted is kept
            who = {"partner_user_id": user_id, "partner_team_id": team_id}
            if not await self._invitation_moves(
                session,
                invitation,
                state=IS.REDEEMED,
                redeemed_at=now,
                next_reminder_at=None,
                **(who if _emailed(invitation) else {}),
            ):
                raise Refused(t.REJECTED["used"])
            current = await repo.find_connection(session=session, connection_id=connection.id or 0)
            assert current is not None
            current.partner_project = partner_project.strip()[:255] or None
            return await self._activate(session, current, invitation, user_id, now)

    async def accept_once(
        self, *, view_id: str, code: str, partner_project: str, user_id: str, team_id: str
    ) -> tuple[bool, dict[str, Any]]:
        """`accept`, once per submission: the same modal submitted twice (a double click, a
        retry) gets the same answer; a corrected code is a new submission."""
        digest = hashlib.sha256(f"{code.strip()}\n{partner_project.strip()}".encode()).hexdigest()

        async def action() -> dict[str, Any]:
            try:
                outbox = await self.accept(
                    code=code, partner_project=partner_project, user_id=user_id, team_id=team_id
                )
            except Refused as refused:
                return {"error": str(refused), "retry": isinstance(refused, Unavailable)}
            return {"outbox": outbox}

        return await Once(self.s).run(f"accept:{view_id}:{digest[:24]}", action, keep_errors=True)

    @staticmethod
    def _check_redeemable(
        connection: Connection, invitation: Invitation, user_id: str, now: datetime
    ) -> None:
        admin = admin_for_partner(connection)
        if invitation.partner_user_id != user_id and not _emailed(invitation):
            raise Refused(t.REJECTED["other_partner"])
        if invitation.state == IS.REDEEMED:
            raise Refused(t.REJECTED["used"])
        if invitation.state == IS.EXPIRED or invitation.expires_at <= now:
            raise Refused(t.expired(admin))
        if invitation.state != IS.PENDING:
            raise Refused(t.withdrawn(admin))

    async def decline(
        self, *, invitation_id: int, user_id: str, team_id: str, reason: str
    ) -> list[int]:
        now = self.s.clock.now()
        reason = reason.strip()
        async with transaction(self.s.sessions) as session:
            connection, invitation = await self._for_partner(
                session, invitation_id, user_id, team_id
            )
            if not await self._invitation_moves(
                session, invitation, state=IS.REVOKED, next_reminder_at=None
            ):
                raise Refused(t.NOT_OPEN)
            closed = await following.ended(session, connection, invitation, "declined", now)
            await self._set_state(session, connection, CS.DECLINED, now, frm=CS.PENDING)
            await self._audit(
                session,
                connection,
                "declined",
                now,
                invitation=invitation,
                actor=user_id,
                frm=CS.PENDING,
                to=CS.DECLINED,
                detail=reason,
            )
            rows = outbox_ids(
                closed,
                await direct(
                    session,
                    connection,
                    connection.initiator_user_id,
                    f"declined:{invitation.id}",
                    m.dm_declined(
                        partner=partner_for_admin(connection), name=connection.name, reason=reason
                    ),
                    now,
                ),
                await self.thread.tell(
                    session,
                    connection,
                    f"declined:{invitation.id}",
                    m.notice_declined(partner=partner_for_admin(connection), name=connection.name),
                    now,
                ),
            )
            backend_id = connection.backend_id
        await self._revoke_quietly(backend_id)
        return rows


def _emailed(invitation: Invitation) -> bool:
    """An invitation e-mailed to a partner Slack knows nobody for: its code is all they have,
    so whoever holds it may accept it with `/exalate accept`, from any workspace with the app
    (as Exalate's console takes it from whoever pastes it)."""
    return invitation.by_email and not invitation.partner_user_id


def _from_partner_side(invitation: Invitation, team_id: str) -> bool:
    """A partner answers from the workspace that reaches them (their own, or the admin's for
    a Slack Connect member): never from a third workspace; an e-mailed code from any."""
    if _emailed(invitation):
        return True
    return team_id in (invitation.reach_team_id, invitation.partner_team_id, invitation.team_id)
