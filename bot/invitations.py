"""An invitation's life after Initiate: reminders, escalation, expiry, acceptance, decline,
snooze, resend, cancel, and what the node reports.

Every change is a conditional update of the state it starts from (so of two replicas or two
clicks only one wins), its audit row, and the messages it calls for, in one transaction. The
messages go out through the outbox (bot/outbox.py) right after, or on the next sweep.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import messages as m
from bot.backend.base import BackendError, CodeRejected, ConnectionRef, NotSupported
from bot.home.flow import Home
from bot.idempotency import Once
from bot.outbox import Courier, enqueue, enqueue_many, outbox_row
from bot.reminders import next_reminder, snooze_until, waited
from bot.security import Vault, hash_code, mask
from bot.services import Services
from bot.slack.text import escape, slack_date
from storage import repo
from storage.db import claim_all, one_statement, transaction
from storage.models import Connection, ConnectionState, Invitation, InvitationState, Outbox

log = logging.getLogger(__name__)

CS, IS = ConnectionState, InvitationState
SWEEP_BATCH = 100
DRAFT_MAX_AGE = timedelta(days=1)  # an unfinished wizard is forgotten after a day
REJECTED = {
    "unknown": "That code doesn't match any invitation. Paste the whole code.",
    "used": "That code was already used; the connection is active.",
    "other_partner": "That code was issued to someone else; ask them to accept it.",
    "revoked": "That code no longer works; ask for a fresh invitation.",
}


@dataclass(frozen=True)
class SweepReport:
    expired: int = 0
    reminded: int = 0
    escalated: int = 0
    sent: int = 0
    failed: int = 0
    homes: int = 0


class Refused(Exception):
    """The action can't be done; the message says why, for the person who asked."""


class Unavailable(Refused):
    """Refused for now (the node didn't answer): the same request may work later."""


def _ids(*rows: Outbox | None) -> list[int]:
    return [row.id for row in rows if row is not None and row.id is not None]


def notice_row(
    connection: Connection, key: str, message: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    """The outbox row of a notice in the connection's thread (None without a channel)."""
    if not connection.notice_channel:
        return None
    return outbox_row(
        team_id=connection.team_id,
        key=f"notice:{connection.id}:{key}",
        purpose="notice",
        channel=connection.notice_channel,
        message=message,
        now=now,
        connection_id=connection.id,
        in_thread=True,
    )


def direct_row(
    connection: Connection,
    user_id: str,
    key: str,
    message: dict[str, Any],
    now: datetime,
    *,
    invitation_id: int | None = None,
    purpose: str = "dm",
    seal_with: Vault | None = None,
) -> dict[str, Any]:
    """The outbox row of a DM to `user_id` about `connection`."""
    return outbox_row(
        team_id=connection.team_id,
        key=f"{purpose}:{connection.id}:{key}",
        purpose=purpose,
        channel=user_id,
        message=message,
        now=now,
        connection_id=connection.id,
        invitation_id=invitation_id,
        seal_with=seal_with,
    )


def _audit_row(
    connection: Connection,
    action: str,
    now: datetime,
    *,
    invitation: Invitation | None = None,
    actor: str = "system",
    frm: str | None = None,
    to: str | None = None,
    detail: str = "",
) -> dict[str, Any]:
    """An audit row's values (for repo.add_audits); the detail masked."""
    return {
        "team_id": connection.team_id,
        "connection_id": connection.id,
        "invitation_id": invitation.id if invitation else None,
        "actor": actor,
        "action": action,
        "from_state": frm,
        "to_state": to,
        "detail": mask(detail),
        "at": now,
    }


async def notice(
    session: AsyncSession, connection: Connection, key: str, message: dict[str, Any], now: datetime
) -> Outbox | None:
    """A notice in the connection's thread in its notice channel (the first starts the thread)."""
    row = notice_row(connection, key, message, now)
    return None if row is None else await enqueue(session, row)


async def direct(
    session: AsyncSession,
    connection: Connection,
    user_id: str,
    key: str,
    message: dict[str, Any],
    now: datetime,
    **options: Any,
) -> Outbox | None:
    """A DM to `user_id` about `connection` (`options`: those of `direct_row`)."""
    return await enqueue(session, direct_row(connection, user_id, key, message, now, **options))


async def enqueue_invitation(
    session: AsyncSession,
    *,
    connection: Connection,
    invitation: Invitation,
    code: str,
    now: datetime,
    vault: Vault,
    resent_by: str | None = None,
    accept_here: bool = True,
) -> list[int]:
    """The partner's DM with the code (sealed until sent), and the channel notice (never the
    code)."""
    assert invitation.id is not None
    sender = resent_by or connection.initiator_user_id
    dm = m.build_invitation_dm(
        initiator_user_id=sender,
        connection_name=connection.name,
        local_short_name=connection.local_short_name,
        remote_short_name=connection.remote_short_name,
        mode=connection.mode,
        code=code,
        invitation_id=invitation.id,
        note=invitation.note,
        accept_here=accept_here,
    )
    partner = invitation.partner_user_id
    return _ids(
        await direct(
            session,
            connection,
            partner,
            str(invitation.id),
            dm,
            now,
            invitation_id=invitation.id,
            purpose="invitation_dm",
            seal_with=vault,
        ),
        await notice(
            session,
            connection,
            f"sent:{invitation.id}",
            m.notice_sent(
                partner=partner, name=connection.name, by=sender, resent=resent_by is not None
            ),
            now,
        ),
    )


class Invitations:
    def __init__(self, services: Services) -> None:
        self.s = services
        self.settings = services.settings
        self.courier = Courier(services)

    def next_reminder(self, now: datetime, tz: str | None) -> datetime:
        return next_reminder(
            now, interval=self.settings.reminder_interval, tz=tz, hours=self.settings.reminder_hours
        )

    # --- the sweep: expiry, then reminders and escalation, then the outbox --------------

    async def sweep(self, *, budget: float = 30.0) -> SweepReport:
        """Expire, remind, escalate, then send; batch after batch while there is more and the
        `budget` (seconds) lasts, so a backlog drains at Slack's pace, not one batch a sweep."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        expired = reminded = escalated = sent = failed = 0
        expiring = reminding = True  # until a batch comes back short: then nothing is left
        while True:
            if expiring:
                batch_expired = await self.expire_due()
                expired, expiring = expired + batch_expired, batch_expired >= SWEEP_BATCH
            if reminding:
                batch_reminded, batch_escalated = await self.remind_due()
                reminded, escalated = reminded + batch_reminded, escalated + batch_escalated
                reminding = batch_reminded + batch_escalated >= SWEEP_BATCH
            deliveries = await self.courier.run()
            ok = sum(d.ok for d in deliveries)
            sent, failed = sent + ok, failed + len(deliveries) - ok
            more = expiring or reminding or bool(deliveries)
            if not more or failed or loop.time() > deadline:
                break
        await Once(self.s).purge()
        await self.purge_drafts()
        homes = await Home(self.s).publish_dirty()
        return SweepReport(expired, reminded, escalated, sent, failed, homes)

    async def purge_drafts(self) -> int:
        """Forget wizards abandoned for a day (a modal that was closed without Slack telling
        us, or never submitted)."""
        async with one_statement(self.s.sessions) as session:
            return await repo.purge_drafts(
                session=session, older_than=self.s.clock.now() - DRAFT_MAX_AGE
            )

    async def remind_due(self) -> tuple[int, int]:
        """Claim up to SWEEP_BATCH due reminders and enqueue them: a few statements a batch."""
        now = self.s.clock.now()
        still_due = (
            Invitation.state == IS.PENDING,
            col(Invitation.next_reminder_at) <= now,
            col(Invitation.expires_at) > now,
        )
        due = (
            select(Invitation.id, Invitation.partner_tz)
            .where(*still_due)
            .order_by(col(Invitation.next_reminder_at))
            .limit(SWEEP_BATCH)
        )
        async with transaction(self.s.sessions) as session:
            won: list[Invitation] = await claim_all(
                session, due, lambda candidates: self._take(candidates, still_due, now)
            )
            if not won:
                return 0, 0
            connections = {
                c.id: c
                for c in await session.exec(
                    select(Connection).where(col(Connection.id).in_({i.connection_id for i in won}))
                )
            }
            won.sort(key=lambda i: i.id or 0)
            escalated = [i for i in won if i.next_reminder_at is None and i.escalated_at == now]
            reminded = [i for i in won if i not in escalated]
            await self._remind(session, [(connections[i.connection_id], i) for i in reminded], now)
            for invitation in escalated:
                connection = connections[invitation.connection_id]
                await self._escalate(session, connection, invitation, now)
        return len(reminded), len(escalated)

    def _take(
        self, candidates: list[Any], still_due: tuple[Any, ...], now: datetime
    ) -> Iterator[Any]:
        """Claim due reminders (those still due when the UPDATE runs): count each and set the
        next one (in the partner's zone: one UPDATE per zone), or, after REMINDER_MAX, mark
        the escalation and stop reminding."""
        ids = [c.id for c in candidates]
        limit = self.settings.reminder_max
        yield (
            update(Invitation)
            .where(col(Invitation.id).in_(ids), *still_due, Invitation.reminders_sent >= limit)
            .values(next_reminder_at=None, escalated_at=now, updated_at=now)
            .returning(Invitation)
        )
        zones: dict[str | None, list[int]] = {}
        for c in candidates:
            zones.setdefault(c.partner_tz, []).append(c.id)
        for tz, in_zone in zones.items():
            yield (
                update(Invitation)
                .where(
                    col(Invitation.id).in_(in_zone), *still_due, Invitation.reminders_sent < limit
                )
                .values(
                    reminders_sent=Invitation.reminders_sent + 1,
                    next_reminder_at=self.next_reminder(now, tz),
                    updated_at=now,
                )
                .returning(Invitation)
            )

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
        for connection, invitation in due:
            number, partner = invitation.reminders_sent, invitation.partner_user_id
            key = f"{invitation.id}:{number}"
            reminder = m.build_reminder_dm(
                initiator_user_id=connection.initiator_user_id,
                connection_name=connection.name,
                waited=waited(invitation.created_at, now),
                number=number,
                of=of,
                invitation_id=invitation.id or 0,
                accept_here=self.s.backend.can_redeem,
            )
            rows.append(
                direct_row(
                    connection,
                    invitation.dm_channel or partner,
                    key,
                    reminder,
                    now,
                    invitation_id=invitation.id,
                    purpose="reminder",
                )
            )
            rows.append(
                notice_row(
                    connection,
                    f"reminded:{key}",
                    m.notice_reminded(partner=partner, name=connection.name, number=number, of=of),
                    now,
                )
            )
            audits.append(
                _audit_row(
                    connection,
                    "reminded",
                    now,
                    invitation=invitation,
                    actor=actor,
                    detail=f"reminder {number} of {of}",
                )
            )
            partners[connection.team_id].add(partner)
        ids = await enqueue_many(session, [row for row in rows if row is not None])
        await repo.add_audits(session=session, events=audits)
        for team_id, users in partners.items():
            await repo.mark_homes_dirty(session=session, team_id=team_id, users=sorted(users))
        return ids

    async def _escalate(
        self, session: AsyncSession, connection: Connection, invitation: Invitation, now: datetime
    ) -> None:
        partner, admin = invitation.partner_user_id, connection.initiator_user_id
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
        await notice(
            session,
            connection,
            f"escalated:{invitation.id}",
            m.notice_escalated(partner=partner, count=count, admin=admin),
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
        still_due = (Invitation.state == IS.PENDING, col(Invitation.expires_at) <= now)
        due = (
            select(Invitation.id)
            .where(*still_due)
            .order_by(col(Invitation.expires_at))
            .limit(SWEEP_BATCH)
        )

        def take(candidates: list[Any]) -> list[Any]:
            return [
                update(Invitation)
                .where(col(Invitation.id).in_(candidates), *still_due)  # ids
                .values(state=IS.EXPIRED, next_reminder_at=None, updated_at=now)
                .returning(Invitation)
            ]

        async with transaction(self.s.sessions) as session:
            won: list[Invitation] = await claim_all(session, due, take)
            if not won:
                return 0
            won.sort(key=lambda i: i.id or 0)
            connections = {
                c.id: c
                for c in await session.exec(
                    select(Connection).where(col(Connection.id).in_({i.connection_id for i in won}))
                )
            }
            await session.exec(  # type: ignore[call-overload]
                update(Connection)
                .where(col(Connection.id).in_(connections), Connection.status == CS.PENDING)
                .values(status=CS.EXPIRED, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            rows: list[dict[str, Any] | None] = []
            audits, partners = [], defaultdict(set)
            for invitation in won:
                connection = connections[invitation.connection_id]
                rows += self._expiry_messages(connection, invitation, now)
                audits.append(
                    _audit_row(
                        connection,
                        "expired",
                        now,
                        invitation=invitation,
                        frm=CS.PENDING,
                        to=CS.EXPIRED,
                    )
                )
                partners[connection.team_id].add(invitation.partner_user_id)
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
        name, partner = connection.name, invitation.partner_user_id
        admin = connection.initiator_user_id
        age, key = waited(invitation.created_at, now), f"expired:{invitation.id}"
        return [
            direct_row(
                connection, partner, key, m.dm_expired_partner(name=name, age=age, admin=admin), now
            ),
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
                ),
                now,
            ),
            notice_row(connection, key, m.notice_expired(partner=partner, name=name, age=age), now),
        ]

    # --- the partner's actions ----------------------------------------------------------

    async def _for_partner(
        self, session: AsyncSession, invitation_id: int, user_id: str, team_id: str
    ) -> tuple[Connection, Invitation]:
        invitation = await session.get(Invitation, invitation_id)
        if invitation is None or invitation.team_id != team_id:
            raise Refused("I can't find that invitation any more.")
        if invitation.partner_user_id != user_id:
            raise Refused(
                f"This invitation is for <@{invitation.partner_user_id}>, so only they can "
                "answer it. Nothing changed."
            )
        connection = await session.get(Connection, invitation.connection_id)
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
                raise Refused("That invitation is no longer open, so there is nothing to snooze.")
            await self._audit(
                session,
                connection,
                "snoozed",
                now,
                invitation=invitation,
                actor=user_id,
                detail=f"until {until.isoformat()}",
            )
        return (
            f":zzz: Snoozed: the next reminder about `{escape(connection.name)}` comes "
            f"{slack_date(until)}."
        )

    async def accept(
        self, *, code: str, partner_project: str, user_id: str, team_id: str
    ) -> list[int]:
        """Redeem a pasted code: only while pending, only for its partner, once.

        Returns the outbox rows to send; raises Refused with the reason otherwise."""
        now = self.s.clock.now()
        code = code.strip()
        async with self.s.sessions() as session:
            by_hash = select(Invitation).where(Invitation.code_hash == hash_code(code))
            invitation = (await session.exec(by_hash)).first()
            connection = (
                await session.get(Connection, invitation.connection_id) if invitation else None
            )
        if invitation is None or connection is None or invitation.team_id != team_id:
            raise Refused(REJECTED["unknown"])
        self._check_redeemable(connection, invitation, user_id, now)
        try:
            await self.s.backend.redeem(connection.backend_id or "", code, partner_user_id=user_id)
        except CodeRejected as exc:
            raise Refused(REJECTED.get(exc.reason, "The node refused that code.")) from None
        except BackendError as exc:
            raise Unavailable(f"The Exalate node could not take it just now: {exc}.") from None
        async with transaction(self.s.sessions) as session:
            if not await self._invitation_moves(
                session, invitation, state=IS.REDEEMED, redeemed_at=now, next_reminder_at=None
            ):
                raise Refused(REJECTED["used"])
            current = await session.get(Connection, connection.id)
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
        admin = connection.initiator_user_id
        if invitation.partner_user_id != user_id:
            raise Refused(REJECTED["other_partner"])
        if invitation.state == IS.REDEEMED:
            raise Refused(REJECTED["used"])
        if invitation.state == IS.EXPIRED or invitation.expires_at <= now:
            raise Refused(f"That code expired. Ask <@{admin}> to resend the invitation.")
        if invitation.state != IS.PENDING:
            raise Refused(
                f"That invitation was withdrawn or replaced; ask <@{admin}> for a current code."
            )

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
        partner, name = connection.partner_user_id, connection.name
        after = waited(connection.created_at, now)
        return _ids(
            await notice(
                session,
                connection,
                "active",
                m.notice_active(partner=partner, name=name, after=after),
                now,
            ),
            await direct(
                session,
                connection,
                connection.initiator_user_id,
                "active",
                m.dm_active(
                    name=name, partner=partner, after=after, project=connection.partner_project
                ),
                now,
            ),
        )

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
                raise Refused("That invitation is no longer open; nothing changed.")
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
            rows = _ids(
                await direct(
                    session,
                    connection,
                    connection.initiator_user_id,
                    f"declined:{invitation.id}",
                    m.dm_declined(partner=user_id, name=connection.name, reason=reason),
                    now,
                ),
                await notice(
                    session,
                    connection,
                    f"declined:{invitation.id}",
                    m.notice_declined(partner=user_id, name=connection.name),
                    now,
                ),
            )
            backend_id = connection.backend_id
        await self._revoke_quietly(backend_id)
        return rows

    # --- the admin's actions ------------------------------------------------------------

    async def remind_now(self, *, connection_id: int, user_id: str, team_id: str) -> list[int]:
        """One more reminder, right away, whatever the hour: the admin asked for it."""
        now = self.s.clock.now()
        async with transaction(self.s.sessions) as session:
            pending = select(Invitation).where(
                Invitation.connection_id == connection_id,
                Invitation.team_id == team_id,
                Invitation.state == IS.PENDING,
            )
            invitation = (await session.exec(pending)).first()
            if invitation is None:
                raise Refused("That invitation is no longer waiting for the partner.")
            if not await self._invitation_moves(
                session,
                invitation,
                reminders_sent=invitation.reminders_sent + 1,
                next_reminder_at=self.next_reminder(now, invitation.partner_tz),
            ):
                raise Refused("That invitation changed meanwhile; nothing was sent.")
            await session.refresh(invitation)
            connection = await session.get(Connection, connection_id)
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
            newest = select(Invitation.id).where(Invitation.connection_id == connection_id)
            latest = (await session.exec(newest.order_by(col(Invitation.id).desc()))).first()
        if latest is None:
            raise Refused("I can't find that connection any more.")
        if invitation_id is not None and invitation_id != latest:
            raise Refused("That invitation was already resent; the partner has a fresh code.")

        async def action() -> dict[str, Any]:
            try:
                return {"outbox": await self._resend(connection_id, user_id, team_id)}
            except Refused as refused:
                return {"error": str(refused)}

        ran, result = await Once(self.s).run(f"resend:{latest}", action)
        if "error" in result:
            raise Refused(result["error"])
        if not ran:
            raise Refused("That invitation was already resent; the partner has a fresh code.")
        return list(result["outbox"])

    async def _resend(self, connection_id: int, user_id: str, team_id: str) -> list[int]:
        now = self.s.clock.now()
        async with self.s.sessions() as session:
            connection = await self._reopenable(session, connection_id, team_id, "resent")
        try:
            initiated = await self.s.backend.reissue(connection.backend_id or "")
        except BackendError as exc:
            raise Refused(f"I couldn't get a fresh code: {exc}.") from None
        async with transaction(self.s.sessions) as session:
            current = await self._reopenable(session, connection_id, team_id, "resent")
            newest = select(Invitation).where(Invitation.connection_id == connection_id)
            old = (await session.exec(newest.order_by(col(Invitation.id).desc()))).first()
            assert old is not None
            await self._revoke_pending(session, connection_id, now)
            invitation = Invitation(
                team_id=current.team_id,
                connection_id=connection_id,
                partner_user_id=old.partner_user_id,
                partner_team_id=old.partner_team_id,
                partner_tz=old.partner_tz,
                code_hash=hash_code(initiated.code),
                code_sealed=self.s.vault.seal(initiated.code),
                note=old.note,
                dm_channel=old.dm_channel,
                expires_at=now + self.settings.invitation_ttl,
                next_reminder_at=self.next_reminder(now, old.partner_tz),
                created_at=now,
                updated_at=now,
            )
            session.add(invitation)
            await session.flush()
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
            return await enqueue_invitation(
                session,
                connection=current,
                invitation=invitation,
                code=initiated.code,
                now=now,
                vault=self.s.vault,
                resent_by=user_id,
                accept_here=self.s.backend.can_redeem,
            )

    async def cancel(self, *, connection_id: int, user_id: str, team_id: str) -> list[int]:
        now = self.s.clock.now()
        async with transaction(self.s.sessions) as session:
            connection = await self._reopenable(session, connection_id, team_id, "cancelled")
            previous = ConnectionState(connection.status)
            if not await self._set_state(session, connection, CS.CANCELLED, now, frm=previous):
                raise Refused("That invitation changed meanwhile; nothing was cancelled.")
            await self._revoke_pending(session, connection_id, now)
            await self._audit(
                session, connection, "cancelled", now, actor=user_id, frm=previous, to=CS.CANCELLED
            )
            name = connection.name
            rows = _ids(
                await direct(
                    session,
                    connection,
                    connection.partner_user_id,
                    "withdrawn",
                    m.dm_withdrawn(admin=user_id, name=name),
                    now,
                ),
                await notice(
                    session,
                    connection,
                    "cancelled",
                    m.notice_cancelled(admin=user_id, name=name),
                    now,
                ),
            )
            backend_id = connection.backend_id
        await self._revoke_quietly(backend_id)
        return rows

    async def _reopenable(
        self, session: AsyncSession, connection_id: int, team_id: str, verb: str
    ) -> Connection:
        connection = await session.get(Connection, connection_id)
        if connection is None or connection.team_id != team_id:
            raise Refused("I can't find that connection any more.")
        if connection.status not in (CS.PENDING, CS.EXPIRED):
            raise Refused(
                f"`{escape(connection.name)}` is {connection.status.lower()}; only a pending or "
                f"expired invitation can be {verb}."
            )
        return connection

    async def _revoke_pending(
        self, session: AsyncSession, connection_id: int, now: datetime
    ) -> None:
        await session.exec(  # type: ignore[call-overload]
            update(Invitation)
            .where(col(Invitation.connection_id) == connection_id, Invitation.state == IS.PENDING)
            .values(state=IS.REVOKED, next_reminder_at=None, updated_at=now)
        )

    # --- what the node reports ----------------------------------------------------------

    async def poll_status(self) -> int:
        """Ask the backend about open connections: Pending → Active, Active → Deactivated,
        and either → Removed when the node no longer lists it."""
        async with self.s.sessions() as session:  # the columns it needs, not whole rows
            watched = select(
                Connection.id, Connection.backend_id, Connection.name, Connection.status
            ).where(
                col(Connection.status).in_([CS.PENDING, CS.ACTIVE]),
                Connection.backend == self.s.backend.kind,
            )
            connections = list((await session.exec(watched)).all())
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
        connection = await session.get(Connection, connection_id)
        if connection is None:
            return False
        if status == "ACTIVE" and connection.status == CS.PENDING:
            pending = select(Invitation).where(
                Invitation.connection_id == connection_id, Invitation.state == IS.PENDING
            )
            invitation = (await session.exec(pending)).first()
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

    # --- shared -------------------------------------------------------------------------

    async def _invitation_moves(
        self, session: AsyncSession, invitation: Invitation, **values: Any
    ) -> bool:
        """Change a PENDING invitation, if it still is: True when this call changed it."""
        result = await session.exec(  # type: ignore[call-overload]
            update(Invitation)
            .where(col(Invitation.id) == invitation.id, Invitation.state == IS.PENDING)
            .values(updated_at=self.s.clock.now(), **values)
        )
        return result.rowcount == 1

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
        result = await session.exec(  # type: ignore[call-overload]
            update(Connection)
            .where(col(Connection.id) == connection.id, Connection.status == frm)
            .values(status=to, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return False
        connection.status = to
        await repo.mark_homes_dirty(
            session=session, team_id=connection.team_id, users=[connection.partner_user_id]
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
        """One audit row; `details` as `_audit_row` takes them."""
        await repo.add_audits(
            session=session, events=[_audit_row(connection, action, now, **details)]
        )

    async def _revoke_quietly(self, backend_id: str | None) -> None:
        if not backend_id:
            return
        try:
            await self.s.backend.revoke(backend_id)
        except NotSupported:
            pass
        except BackendError as exc:
            log.warning("could not revoke the code on the node: %s", exc)
