"""The sweep's share of an invitation's life: expire what is past its life, remind (and, after
the last reminder, escalate to the admin), then send what is due, batch after batch.

The work is claimed in the database (storage/repo/invitations.py), so any number of replicas
may sweep at once. What the sweep does beyond invitations is in bot/sweep.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.backend.base import BackendError, NotSupported
from bot.delivery.outcomes import RATE_LIMITED, Delivery
from bot.delivery.rows import enqueue_many
from bot.invitations import by_email, following
from bot.invitations import messages as m
from bot.invitations.by_email import goes_by_email
from bot.invitations.notices import (
    audit_row,
    direct,
    direct_row,
    notice_row,
    partner_row,
)
from bot.invitations.people import admin_for_partner, mention, partner_for_admin
from bot.invitations.policy import waited
from bot.invitations.transitions import CS, Transitions
from storage import repo
from storage.db import transaction
from storage.models import Connection, Invitation

log = logging.getLogger(__name__)

SWEEP_BATCH = 100


@dataclass(frozen=True)
class Swept:
    expired: int = 0
    reminded: int = 0
    escalated: int = 0
    sent: int = 0
    failed: int = 0


class Sweep(Transitions):
    async def sweep_invitations(self, *, budget: float = 30.0) -> Swept:
        """Expire, remind, escalate, then send; batch after batch while there is more and the
        `budget` (seconds) lasts, so a backlog drains at Slack's pace, not one batch a sweep."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        expired = reminded = escalated = 0
        expiring = reminding = True  # until a batch comes back short: then nothing is left
        deliveries: list[Delivery] = []
        try:
            while True:
                if expiring:
                    batch_expired = await self.expire_due()
                    expired, expiring = expired + batch_expired, batch_expired >= SWEEP_BATCH
                if reminding:
                    batch_reminded, batch_escalated = await self.remind_due()
                    reminded, escalated = reminded + batch_reminded, escalated + batch_escalated
                    reminding = batch_reminded + batch_escalated >= SWEEP_BATCH
                tried = await self.courier.flow()  # some tried, more on their way
                deliveries += tried
                more = expiring or reminding or bool(tried)
                # Slack in trouble (a 5xx, a timeout): wait for the next sweep. A 429 is one
                # workspace's: its messages wait in the table, the others go on now
                troubled = any(not d.ok and d.error not in RATE_LIMITED for d in tried)
                if not more or troubled or loop.time() > deadline:
                    break
        finally:
            deliveries += await self.courier.settle()  # the rest of what is on its way
        if (mail := self.s.mail_courier) is not None:  # e-mail: its own budget, not Slack's
            mailed = await mail.run()
            told = [d.follow_up for d in mailed if d.follow_up is not None]  # refusals' DMs
            deliveries += mailed + (await self.courier.run(ids=told) if told else [])
        sent = sum(d.ok for d in deliveries)
        return Swept(expired, reminded, escalated, sent, len(deliveries) - sent)

    async def remind_due(self) -> tuple[int, int]:
        """Claim up to SWEEP_BATCH due reminders and enqueue them: a few statements a batch."""
        now = self.s.clock.now()
        async with transaction(self.s.sessions) as session:
            won = await repo.claim_due_reminders(
                session=session,
                now=now,
                limit=SWEEP_BATCH,
                reminder_max=self.settings.reminder_max,
                next_reminder=lambda tz: self.next_reminder(now, tz),
            )
            if not won:
                return 0, 0
            connections = await repo.connections_by_id(
                session=session, connection_ids={i.connection_id for i in won}
            )
            escalated = [i for i in won if i.next_reminder_at is None and i.escalated_at == now]
            reminded = [i for i in won if i not in escalated]
            await self._remind(session, [(connections[i.connection_id], i) for i in reminded], now)
            for invitation in escalated:
                connection = connections[invitation.connection_id]
                await self._escalate(session, connection, invitation, now)
        return len(reminded), len(escalated)

    async def _escalate(
        self, session: AsyncSession, connection: Connection, invitation: Invitation, now: datetime
    ) -> None:
        partner, admin = partner_for_admin(connection), connection.initiator_user_id
        count, age = invitation.reminders_sent, waited(invitation.created_at, now)
        dm = m.dm_escalation(
            partner=partner,
            name=connection.name,
            count=count,
            age=age,
            connection_id=connection.id or 0,
            invitation_id=invitation.id or 0,
        )
        await direct(
            session,
            connection,
            admin,
            f"escalated:{invitation.id}",
            dm,
            now,
            invitation_id=invitation.id,
        )
        await self.thread.tell(
            session,
            connection,
            f"escalated:{invitation.id}",
            m.notice_escalated(partner=partner, count=count, admin=mention(admin)),
            now,
        )
        await self._audit(
            session,
            connection,
            "escalated",
            now,
            invitation=invitation,
            detail=f"after {count} reminders",
        )

    async def expire_due(self) -> int:
        """Claim up to SWEEP_BATCH invitations past their life and close them: the code
        stops, the connection turns Expired, the partner, the admin and the thread are told.
        A few statements a batch."""
        now = self.s.clock.now()
        async with transaction(self.s.sessions) as session:
            won = await repo.claim_expired(session=session, now=now, limit=SWEEP_BATCH)
            if not won:
                return 0
            connections = await repo.connections_by_id(
                session=session, connection_ids={i.connection_id for i in won}
            )
            await repo.expire_pending_connections(
                session=session, connection_ids=list(connections), now=now
            )
            rows: list[dict[str, Any] | None] = []
            audits, partners = [], defaultdict(set)
            for invitation in won:
                connection = connections[invitation.connection_id]
                if connection.status == CS.PENDING:  # as expire_pending_connections left it
                    connection.status = CS.EXPIRED
                await following.ended(session, connection, invitation, "expired", now)
                await self.thread.card(session, connection, now)
                rows += self._expiry_messages(connection, invitation, now)
                audits.append(
                    audit_row(
                        connection,
                        "expired",
                        now,
                        invitation=invitation,
                        frm=CS.PENDING,
                        to=CS.EXPIRED,
                    )
                )
                if invitation.reach_team_id:
                    partners[invitation.reach_team_id].add(invitation.partner_user_id)
            await enqueue_many(session, [row for row in rows if row is not None])
            await repo.add_audits(session=session, events=audits)
            for team_id, users in partners.items():
                await repo.mark_homes_dirty(session=session, team_id=team_id, users=sorted(users))
            revoke = [connections[i.connection_id].backend_id for i in won]
        try:
            await self.s.backend.revoke_many([b for b in revoke if b])
        except NotSupported:
            pass
        except BackendError as exc:
            log.warning("could not revoke expired codes on the node: %s", exc)
        return len(won)

    def _expiry_messages(
        self, connection: Connection, invitation: Invitation, now: datetime
    ) -> list[dict[str, Any] | None]:
        """The partner's DM, the admin's (with Resend) and the thread's notice."""
        name, partner = connection.name, partner_for_admin(connection)
        admin = connection.initiator_user_id
        age, key = waited(invitation.created_at, now), f"expired:{invitation.id}"
        on_node = not self.s.backend.can_redeem  # a real node: only its console stops a code
        to_partner = m.dm_expired_partner(
            name=name, age=age, admin=admin_for_partner(connection), on_node=on_node
        )
        told = partner_row(connection, invitation, key, to_partner, now)
        if told is None and goes_by_email(invitation, mail_on=self.mail_on):
            told = by_email.expired_row(
                connection, invitation, now, vault=self.s.vault, on_node=on_node
            )
        return [
            told,
            direct_row(
                connection,
                admin,
                f"{key}:admin",
                m.dm_expired_admin(
                    name=name,
                    age=age,
                    partner=partner,
                    connection_id=connection.id or 0,
                    invitation_id=invitation.id or 0,
                    on_node=on_node,
                ),
                now,
            ),
            notice_row(connection, key, m.notice_expired(partner=partner, name=name, age=age), now),
        ]
