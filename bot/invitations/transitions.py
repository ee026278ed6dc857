"""The moves every action on an invitation shares: a connection's state, a pending
invitation's change, the audit row, the reminders' rows, activation, revoking the code.

`Transitions` holds the services; the actions (sweep.py, partner.py, admin.py, status.py)
are built on it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.backend.base import BackendError, NotSupported
from bot.delivery.courier import Courier
from bot.delivery.rows import enqueue, enqueue_many
from bot.invitations import by_email, following
from bot.invitations import messages as m
from bot.invitations import next_steps as ns
from bot.invitations.by_email import goes_by_email
from bot.invitations.notices import (
    Thread,
    audit_row,
    direct,
    direct_row,
    notice_row,
    outbox_ids,
    partner_row,
)
from bot.invitations.people import admin_for_partner, partner_for_admin
from bot.invitations.policy import next_reminder, waited
from bot.services import Services
from storage import repo
from storage.models import Connection, ConnectionState, Invitation, InvitationState, Outbox

log = logging.getLogger(__name__)

CS, IS = ConnectionState, InvitationState


class Transitions:
    def __init__(self, services: Services) -> None:
        self.s = services
        self.settings = services.settings

    @property
    def thread(self) -> Thread:
        """How changes are told in a connection's channel (its card, its thread)."""
        return Thread.of(self.settings)

    @property
    def mail_on(self) -> bool:
        """Whether e-mail reaches partners outside Slack (SMTP_URL is set)."""
        return self.s.mail_courier is not None

    @property
    def courier(self) -> Courier:
        """The process's one Courier (services.courier)."""
        return self.s.courier

    def next_reminder(self, now: datetime, tz: str | None) -> datetime:
        return next_reminder(
            now, interval=self.settings.reminder_interval, tz=tz, hours=self.settings.reminder_hours
        )

    async def _invitation_moves(
        self, session: AsyncSession, invitation: Invitation, **values: Any
    ) -> bool:
        """Change a PENDING invitation, if it still is: True when this call changed it."""
        return await repo.move_invitation(
            session=session, invitation_id=invitation.id, now=self.s.clock.now(), **values
        )

    async def _set_state(
        self,
        session: AsyncSession,
        connection: Connection,
        to: ConnectionState,
        now: datetime,
        *,
        frm: ConnectionState | None = None,
    ) -> bool:
        """Move the connection from `frm` (default: its state as loaded) to `to`, if it is
        still there: the conditional update that lets only one of two racers win."""
        frm = frm or ConnectionState(connection.status)
        if not await repo.move_connection(
            session=session, connection_id=connection.id, frm=frm, to=to, now=now
        ):
            return False
        connection.status = to
        if connection.partner_user_id:  # their Home shows it: in whichever workspace it is
            for team_id in {connection.team_id, connection.partner_team_id}:
                await repo.mark_homes_dirty(
                    session=session, team_id=team_id, users=[connection.partner_user_id]
                )
        return True

    async def _audit(
        self,
        session: AsyncSession,
        connection: Connection,
        action: str,
        now: datetime,
        **details: Any,
    ) -> None:
        """One audit row; `details` as `audit_row` takes them."""
        await repo.add_audits(
            session=session, events=[audit_row(connection, action, now, **details)]
        )

    async def _revoke_pending(
        self,
        session: AsyncSession,
        connection: Connection,
        now: datetime,
        *,
        ended_as: str | None = "cancelled",
    ) -> list[Outbox | None]:
        """The connection's pending invitation stops; its DMs say how (`ended_as`; None: the
        caller tells them)."""
        connection_id = connection.id or 0
        pending = await repo.pending_invitation(session=session, connection_id=connection_id)
        closed = []
        if pending is not None and ended_as is not None:
            closed = await following.ended(session, connection, pending, ended_as, now)
        await repo.revoke_pending_invitations(session=session, connection_id=connection_id, now=now)
        return closed

    async def _revoke_quietly(self, backend_id: str | None) -> None:
        if not backend_id:
            return
        try:
            await self.s.backend.revoke(backend_id)
        except NotSupported:
            pass
        except BackendError as exc:
            log.warning("could not revoke the code on the node: %s", exc)

    async def _remind(
        self,
        session: AsyncSession,
        due: list[tuple[Connection, Invitation]],
        now: datetime,
        *,
        actor: str = "system",
    ) -> list[int]:
        """The reminders (already counted on each invitation), their notices, audit rows and
        Home flags: one statement each for the whole batch. The new outbox rows' ids."""
        of = self.settings.reminder_max
        rows: list[dict[str, Any] | None] = []
        audits, partners = [], defaultdict(set)
        dms = await repo.partner_dms_of(
            session=session, invitation_ids=[i.id for _, i in due if i.id is not None]
        )
        for connection, invitation in due:
            number = invitation.reminders_sent
            key = f"{invitation.id}:{number}"
            partner = partner_for_admin(connection)
            reminder = partner_row(
                connection,
                invitation,
                key,
                m.build_reminder_dm(
                    initiator=admin_for_partner(connection),
                    connection_name=connection.name,
                    waited=waited(invitation.created_at, now),
                    number=number,
                    of=of,
                    invitation_id=invitation.id or 0,
                    accept_here=self.s.backend.can_redeem,
                ),
                now,
                invitation_id=invitation.id,
                purpose="reminder",
            )
            if reminder is not None:  # the DM before it loses its buttons, pointing to it
                await following.reminded(
                    session,
                    connection,
                    invitation,
                    now,
                    vault=self.s.vault,
                    accept_here=self.s.backend.can_redeem,
                    dms=following.theirs(connection, invitation, dms.get(invitation.id or 0, [])),
                )
            elif goes_by_email(invitation, mail_on=self.mail_on):
                reminder = by_email.reminder_row(
                    connection, invitation, now, vault=self.s.vault, number=number, of=of
                )
            else:  # Slack reaches them nowhere: the admin nudges them
                reminder = direct_row(
                    connection,
                    connection.initiator_user_id,
                    key,
                    m.dm_nudge(
                        partner=partner,
                        name=connection.name,
                        waited=waited(invitation.created_at, now),
                        number=number,
                        of=of,
                        connection_id=connection.id or 0,
                        invitation_id=invitation.id or 0,
                    ),
                    now,
                    invitation_id=invitation.id,
                    purpose="reminder",
                )
            rows.append(reminder)
            await self.thread.card(session, connection, now)
            if self.thread.keeps("reminded"):
                rows.append(
                    notice_row(
                        connection,
                        f"reminded:{key}",
                        m.notice_reminded(
                            partner=partner,
                            name=connection.name,
                            number=number,
                            of=of,
                            how=" by e-mail" if reminder.get("email_to") else "",
                        ),
                        now,
                    )
                )
            audits.append(
                audit_row(
                    connection,
                    "reminded",
                    now,
                    invitation=invitation,
                    actor=actor,
                    detail=f"reminder {number} of {of}",
                )
            )
            if invitation.reach_team_id:
                partners[invitation.reach_team_id].add(invitation.partner_user_id)
        ids = await enqueue_many(session, [row for row in rows if row is not None])
        await repo.add_audits(session=session, events=audits)
        for team_id, users in partners.items():
            await repo.mark_homes_dirty(session=session, team_id=team_id, users=sorted(users))
        return ids

    async def _activate(
        self,
        session: AsyncSession,
        connection: Connection,
        invitation: Invitation | None,
        actor: str,
        now: datetime,
    ) -> list[int]:
        """Pending → Active: the notice and the admin's DM, once, whoever gets here first."""
        if not await self._set_state(session, connection, CS.ACTIVE, now, frm=CS.PENDING):
            return []
        closed = []  # the partner's DMs, without their buttons now
        if invitation is not None:
            closed = await following.ended(session, connection, invitation, "accepted", now)
        connection.activated_at = now
        session.add(connection)
        await self._audit(
            session,
            connection,
            "accepted",
            now,
            invitation=invitation,
            actor=actor,
            frm=CS.PENDING,
            to=CS.ACTIVE,
        )
        partner, name = partner_for_admin(connection), connection.name
        after = waited(connection.created_at, now)
        without_code = invitation is None and not await repo.newest_invitation_id(
            session=session, connection_id=connection.id or 0
        )
        if without_code:  # Visual, or Basic with admin access: no partner accepted a code
            said = told = ns.active_without_code(name=name, after=after)
        else:
            said = m.notice_active(partner=partner, name=name, after=after)
            told = m.dm_active(
                name=name, partner=partner, after=after, project=connection.partner_project
            )
        return outbox_ids(
            closed,
            await self.thread.tell(session, connection, "active", said, now),
            await direct(session, connection, connection.initiator_user_id, "active", told, now),
            *await self._next_steps(session, connection, invitation, now, both=without_code),
        )

    async def _next_steps(
        self,
        session: AsyncSession,
        connection: Connection,
        invitation: Invitation | None,
        now: datetime,
        *,
        both: bool,
    ) -> list[Outbox | None]:
        """What comes after acceptance: in the thread, to the admin, and to the partner when
        Slack reaches them (in their workspace, named as it names them)."""
        console = self.s.backend.console_url

        def steps(side: ns.Side) -> dict[str, Any]:
            return ns.build_next_steps(
                name=connection.name, mode=connection.mode, side=side, console_url=console
            )

        admin = connection.initiator_user_id
        rows = [
            await self.thread.tell(session, connection, "next_steps", steps("thread"), now),
            await direct(
                session,
                connection,
                admin,
                "next_steps:admin",
                steps("both" if both else "admin"),
                now,
            ),
        ]
        if invitation is not None:
            to_partner = partner_row(
                connection, invitation, "next_steps:partner", steps("partner"), now
            )
            if to_partner is not None:
                rows.append(await enqueue(session, to_partner))
        return rows
