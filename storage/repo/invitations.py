"""Invitations: claiming the due ones (expiry, reminders), and the conditional moves of a
pending one, so of two replicas or two clicks only one wins."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import claim_all
from storage.models import Invitation, InvitationState

IS = InvitationState


async def claim_expired(*, session: AsyncSession, now: datetime, limit: int) -> list[Invitation]:
    """Claim up to `limit` pending invitations past their life: each turns Expired (and
    stops reminding). In id order."""
    still_due = (Invitation.state == IS.PENDING, col(Invitation.expires_at) <= now)
    due = select(Invitation.id).where(*still_due).order_by(col(Invitation.expires_at)).limit(limit)

    def take(candidates: list[Any]) -> list[Any]:
        return [
            update(Invitation)
            .where(col(Invitation.id).in_(candidates), *still_due)  # ids
            .values(state=IS.EXPIRED, next_reminder_at=None, updated_at=now)
            .returning(Invitation)
        ]

    won: list[Invitation] = await claim_all(session, due, take)
    return sorted(won, key=lambda i: i.id or 0)


def still_due_reminder(*, now: datetime) -> tuple[Any, ...]:
    """What makes a reminder due at `now` (re-checked by each claiming UPDATE)."""
    return (
        Invitation.state == IS.PENDING,
        col(Invitation.next_reminder_at) <= now,
        col(Invitation.expires_at) > now,
    )


def reminder_claims(
    *,
    candidates: list[Any],
    now: datetime,
    reminder_max: int,
    next_reminder: Callable[[str | None], datetime],
) -> Iterator[Any]:
    """The UPDATEs that claim due reminders among `candidates` (rows of id and partner_tz),
    those still due when they run: count each and set the next one (in the partner's zone:
    one UPDATE per zone), or, after `reminder_max`, mark the escalation and stop reminding."""
    still_due = still_due_reminder(now=now)
    ids = [c.id for c in candidates]
    yield (
        update(Invitation)
        .where(col(Invitation.id).in_(ids), *still_due, Invitation.reminders_sent >= reminder_max)
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
                col(Invitation.id).in_(in_zone),
                *still_due,
                Invitation.reminders_sent < reminder_max,
            )
            .values(
                reminders_sent=Invitation.reminders_sent + 1,
                next_reminder_at=next_reminder(tz),
                updated_at=now,
            )
            .returning(Invitation)
        )


async def claim_due_reminders(
    *,
    session: AsyncSession,
    now: datetime,
    limit: int,
    reminder_max: int,
    next_reminder: Callable[[str | None], datetime],
) -> list[Invitation]:
    """Claim up to `limit` due reminders (see `reminder_claims`): the invitations won, with
    their new count (or `escalated_at=now` and no next reminder), in id order."""
    due = (
        select(Invitation.id, Invitation.partner_tz)
        .where(*still_due_reminder(now=now))
        .order_by(col(Invitation.next_reminder_at))
        .limit(limit)
    )
    won: list[Invitation] = await claim_all(
        session,
        due,
        lambda candidates: reminder_claims(
            candidates=candidates, now=now, reminder_max=reminder_max, next_reminder=next_reminder
        ),
    )
    return sorted(won, key=lambda i: i.id or 0)


async def move_invitation(
    *, session: AsyncSession, invitation_id: int | None, now: datetime, **values: Any
) -> bool:
    """Change a PENDING invitation, if it still is: True when this call changed it."""
    result = await session.exec(  # type: ignore[call-overload]
        update(Invitation)
        .where(col(Invitation.id) == invitation_id, Invitation.state == IS.PENDING)
        .values(updated_at=now, **values)
    )
    return bool(result.rowcount == 1)


async def revoke_pending_invitations(
    *, session: AsyncSession, connection_id: int, now: datetime
) -> None:
    """The connection's pending invitation (if any) revoked: its code stops, no reminders."""
    await session.exec(  # type: ignore[call-overload]
        update(Invitation)
        .where(col(Invitation.connection_id) == connection_id, Invitation.state == IS.PENDING)
        .values(state=IS.REVOKED, next_reminder_at=None, updated_at=now)
    )


async def get_invitation(*, session: AsyncSession, invitation_id: int) -> Invitation | None:
    return await session.get(Invitation, invitation_id)


async def invitation_by_code_hash(*, session: AsyncSession, code_hash: str) -> Invitation | None:
    statement = select(Invitation).where(Invitation.code_hash == code_hash)
    return (await session.exec(statement)).first()


async def pending_invitation(
    *, session: AsyncSession, connection_id: int, team_id: str | None = None
) -> Invitation | None:
    """The connection's pending invitation (of `team_id`'s, when given)."""
    statement = select(Invitation).where(
        Invitation.connection_id == connection_id, Invitation.state == IS.PENDING
    )
    if team_id is not None:
        statement = statement.where(Invitation.team_id == team_id)
    return (await session.exec(statement)).first()


async def newest_invitation(*, session: AsyncSession, connection_id: int) -> Invitation | None:
    """The connection's latest invitation (the one a resend replaces)."""
    statement = select(Invitation).where(Invitation.connection_id == connection_id)
    return (await session.exec(statement.order_by(col(Invitation.id).desc()))).first()


async def newest_invitation_id(*, session: AsyncSession, connection_id: int) -> int | None:
    statement = select(Invitation.id).where(Invitation.connection_id == connection_id)
    return (await session.exec(statement.order_by(col(Invitation.id).desc()))).first()


async def add_invitation(*, session: AsyncSession, **values: Any) -> Invitation:
    """A new invitation (Invitation's values), flushed: it has its id."""
    invitation = Invitation(**values)
    session.add(invitation)
    await session.flush()
    return invitation
