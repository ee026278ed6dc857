"""A seeded history of connections for the funnel's tests (tests/test_funnel.py, the report's
end-to-end tests): who was invited when, what became of it, and the exact figures it makes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import repo
from storage.db import transaction
from storage.models import Connection, Invitation
from storage.repo.funnel import FunnelFigures
from tests.harness import MONDAY

NOW = MONDAY  # 2026-03-02 09:00 UTC
D, H = timedelta(days=1), timedelta(hours=1)


@dataclass(frozen=True)
class Seed:
    """A connection of the seeded history: when its first invitation went, its state now,
    when it was accepted (after how long), and each invitation's reminders."""

    name: str
    ago: timedelta
    status: str
    after: timedelta | None = None
    reminders: tuple[int, ...] = (0,)  # one number per invitation: more than one, a resend
    team: str = "T1"
    code: bool = True


HISTORY = [
    # first invited in the last 30 days
    Seed("a1", 2 * D, "ACTIVE", after=1 * H),
    Seed("a2", 5 * D, "ACTIVE", after=2 * D + 4 * H, reminders=(2,)),
    Seed("a3", 10 * D, "DEACTIVATED", after=3 * D, reminders=(3,)),  # accepted, then stopped
    Seed("a5", 15 * D, "ACTIVE", after=4 * D + 12 * H, reminders=(4,)),
    Seed("edge", 30 * D, "ACTIVE", after=6 * H, reminders=(1,)),  # exactly 30 days ago: in
    Seed("d1", 6 * D, "DECLINED", reminders=(1,)),
    Seed("e1", 20 * D, "EXPIRED", reminders=(5,)),
    Seed("c1", 25 * D, "CANCELLED"),
    Seed("p1", 1 * D, "PENDING"),
    Seed("p0", timedelta(0), "PENDING"),  # at `now` itself: in
    # first invited 31 to 90 days ago
    Seed("a4", 31 * D, "ACTIVE", after=5 * D, reminders=(4,)),
    # resent 20 days ago: counted where its first invitation went (40 days ago), accepted 22
    # days after it, with the reminders of both invitations
    Seed("r1", 40 * D, "ACTIVE", after=22 * D, reminders=(3, 1)),
    Seed("e2", 60 * D, "EXPIRED", reminders=(5,)),
    Seed("d2", 89 * D, "DECLINED"),
    # never in either window: too old, another workspace's, without a code
    Seed("old", 91 * D, "ACTIVE", after=1 * H),
    Seed("other", 3 * D, "ACTIVE", after=1 * H, team="T2"),
    Seed("nocode", 4 * D, "ACTIVE", after=1 * H, code=False),
    Seed("nocode2", 8 * D, "CANCELLED", code=False),
]

# what the history gives, by hand: 30 days, then 90 (times to accept in ascending order:
# 30 days: 1 h, 6 h, 2 d 4 h, 3 d, 4 d 12 h; 90 days adds 5 d and 22 d)
THIRTY = FunnelFigures(
    since=NOW - 30 * D,
    now=NOW,
    sent=10,
    accepted=5,
    declined=1,
    expired=1,
    cancelled=1,
    median_to_accept=2 * D + 4 * H,  # the 3rd of 5
    p90_to_accept=4 * D + 12 * H,  # the 5th of 5 (⌈4.5⌉)
    reminders_to_accepted=0 + 2 + 3 + 4 + 1,
)
NINETY = FunnelFigures(
    since=NOW - 90 * D,
    now=NOW,
    sent=14,
    accepted=7,
    declined=2,
    expired=2,
    cancelled=1,
    median_to_accept=3 * D,  # the 4th of 7
    p90_to_accept=22 * D,  # the 7th of 7 (⌈6.3⌉)
    reminders_to_accepted=10 + 4 + (3 + 1),
)

# the report of that history, as its text and as its two columns of fields
REPORT_TEXT = (
    "Invitation funnel. Last 30 days: Invitations sent: 10; Accepted: 5 (50%); "
    "Declined: 1 · Expired: 1 · Cancelled: 1; Time to accept: median 2 d 4 h, "
    "90th percentile 4 d 12 h; Reminders per acceptance: 2.0. Last 90 days: Invitations "
    "sent: 14; Accepted: 7 (50%); Declined: 2 · Expired: 2 · Cancelled: 1; Time to "
    "accept: median 3 d, 90th percentile 22 d; Reminders per acceptance: 2.6."
)
REPORT_FIELDS = [
    "*Last 30 days*\nInvitations sent: 10\nAccepted: 5 (50%)\n"
    "Declined: 1 · Expired: 1 · Cancelled: 1\n"
    "Time to accept: median 2 d 4 h, 90th percentile 4 d 12 h\nReminders per acceptance: 2.0",
    "*Last 90 days*\nInvitations sent: 14\nAccepted: 7 (50%)\n"
    "Declined: 2 · Expired: 2 · Cancelled: 1\n"
    "Time to accept: median 3 d, 90th percentile 22 d\nReminders per acceptance: 2.6",
]

ANSWERS = {
    "destination": "private",
    "mode": "script",
    "local_short_name": "acme",
    "remote_short_name": "partnerco",
    "project_key": "SUP",
}


async def seed_history(
    sessions: async_sessionmaker[AsyncSession], *, teams: dict[str, str] | None = None
) -> None:
    """HISTORY in the database, as the bot writes it (`teams` renames T1 and T2)."""
    teams = teams or {}
    async with transaction(sessions) as session:
        for n, s in enumerate(HISTORY):
            team, first = teams.get(s.team, s.team), NOW - s.ago
            answers = ANSWERS | {"connection_name": f"acme_to_{s.name}"}
            common = {"session": session, "team_id": team, "answers": answers, "backend": "local"}
            if not s.code:
                made = await repo.create_connection_without_code(
                    **common,
                    backend_id=None,
                    initiator_user_id="UADMIN",
                    partner_label="",
                    now=first,
                )
                connection_id = made.id
            else:
                made, invitation = await repo.create_connection(
                    **common,
                    backend_id=None,
                    initiator_user_id="UADMIN",
                    partner_user_id=f"UP{n:03d}",
                    partner_team_id=team,
                    code_hash=f"{team}{n:03d}0".ljust(64, "0"),
                    expires_at=first + 14 * D,
                    next_reminder_at=None,
                    now=first,
                )
                connection_id = made.id
                await _reminders(session, invitation.id, s.reminders[0])
                for again, reminders in enumerate(s.reminders[1:], 1):  # resent 20 days ago
                    resent = await repo.add_invitation(
                        session=session,
                        team_id=team,
                        connection_id=connection_id,
                        partner_user_id=f"UP{n:03d}",
                        partner_team_id=team,
                        code_hash=f"{team}{n:03d}{again}".ljust(64, "0"),
                        expires_at=NOW - 20 * D + 14 * D,
                        created_at=NOW - 20 * D,
                        updated_at=NOW - 20 * D,
                    )
                    await _reminders(session, resent.id, reminders)
            await session.exec(  # type: ignore[call-overload]
                update(Connection)
                .where(Connection.id == connection_id)
                .values(status=s.status, activated_at=first + s.after if s.after else None)
            )


async def _reminders(session: AsyncSession, invitation_id: int | None, count: int) -> None:
    await session.exec(  # type: ignore[call-overload]
        update(Invitation).where(Invitation.id == invitation_id).values(reminders_sent=count)
    )
