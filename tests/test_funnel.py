"""The invitation funnel (storage/repo/funnel.py) on a seeded history with exact timestamps, on
SQLite and PostgreSQL: the 30- and 90-day figures, with connections outside the window,
another workspace's, connections without a code and a resent one; and its Block Kit
(bot/report/views.py) for the Home tab and `/exalate report`, checked as Slack would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.home.views import STATES, Row, build_home_view
from bot.report import texts, views
from bot.report.views import funnel_blocks
from storage import repo
from storage.db import session_factory, transaction
from storage.models import Connection, Invitation
from storage.repo.funnel import FunnelFigures, nearest_rank
from tests.harness import MONDAY
from tests.test_properties import BUILDERS, assert_message_ok, assert_view_ok

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


async def figures(engine: AsyncEngine, since: datetime, team: str = "T1") -> FunnelFigures:
    async with session_factory(engine)() as session:
        return await repo.funnel(session=session, team_id=team, since=since, now=NOW)


async def test_the_funnel_for_30_and_90_days(engine: AsyncEngine) -> None:
    await seed_history(session_factory(engine))
    thirty = await figures(engine, NOW - 30 * D)
    ninety = await figures(engine, NOW - 90 * D)
    assert thirty == THIRTY
    assert ninety == NINETY
    assert (thirty.days, ninety.days) == (30, 90)
    assert thirty.reminders_per_acceptance == 2.0
    assert ninety.reminders_per_acceptance == 18 / 7


async def test_the_window_ends_and_a_funnel_without_acceptances(engine: AsyncEngine) -> None:
    await seed_history(session_factory(engine))
    # a day: p1 (exactly at `since`) and p0 (at `now`) are in; a1 (2 days ago) is not
    day = await figures(engine, NOW - 1 * D)
    assert day == FunnelFigures(since=NOW - 1 * D, now=NOW, sent=2)
    assert day.median_to_accept is None and day.reminders_per_acceptance is None
    assert await figures(engine, NOW - 30 * D, team="T9") == FunnelFigures(
        since=NOW - 30 * D, now=NOW
    )
    # another workspace's own funnel: only its connection
    other = await figures(engine, NOW - 30 * D, team="T2")
    assert (other.sent, other.accepted, other.median_to_accept) == (1, 1, 1 * H)


@pytest.mark.parametrize(
    ("n", "median", "p90"), [(1, 1, 1), (2, 1, 2), (4, 2, 4), (5, 3, 5), (10, 5, 9), (11, 6, 10)]
)
def test_nearest_rank(n: int, median: int, p90: int) -> None:
    assert (nearest_rank(n=n, percent=50), nearest_rank(n=n, percent=90)) == (median, p90)


def test_durations_and_the_report_say_the_figures_plainly() -> None:
    assert [texts.duration(t) for t in (None, 30 * timedelta(seconds=1), 40 * MIN, 5 * H)] == [
        "—",
        "under a minute",
        "40 min",
        "5 h",
    ]
    assert texts.duration(5 * H + 12 * MIN + 59 * timedelta(seconds=1)) == "5 h 12 min"
    assert texts.duration(2 * D + 4 * H + 59 * MIN) == "2 d 4 h"  # rounded down
    assert texts.duration(1000 * D) == "1,000 d"
    report = views.build_report([THIRTY, NINETY], now=NOW)
    assert report["text"] == REPORT_TEXT
    assert [f["text"] for f in report["blocks"][1]["fields"]] == REPORT_FIELDS
    assert len(report["blocks"]) == views.BLOCKS
    assert_message_ok(report)
    empty = views.build_report([FunnelFigures(since=NOW - 30 * D, now=NOW)], now=NOW)
    assert "Accepted: 0;" in empty["text"] and "median —, 90th percentile —" in empty["text"]
    assert "Reminders per acceptance: —." in empty["text"]


MIN = timedelta(minutes=1)
SPANS = st.one_of(st.none(), st.timedeltas(min_value=timedelta(0), max_value=10_000 * D))
COUNTS = st.integers(0, 10**9)


@st.composite
def funnels(draw: st.DrawFn, days: int) -> FunnelFigures:
    sent = draw(COUNTS)
    accepted = draw(st.integers(0, sent))
    return FunnelFigures(
        since=NOW - days * D,
        now=NOW,
        sent=sent,
        accepted=accepted,
        declined=draw(st.integers(0, sent)),
        expired=draw(st.integers(0, sent)),
        cancelled=draw(st.integers(0, sent)),
        median_to_accept=draw(SPANS) if accepted else None,
        p90_to_accept=draw(SPANS) if accepted else None,
        reminders_to_accepted=draw(COUNTS),
    )


@BUILDERS
@given(thirty=funnels(30), ninety=funnels(90))
def test_the_report_passes_slacks_checks(thirty: FunnelFigures, ninety: FunnelFigures) -> None:
    assert_message_ok(views.build_report([thirty, ninety], now=NOW))


def _rows(count: int, status: str) -> list[Row]:
    return [
        Row(
            id=n,
            name=f"acme_to_p{n:04d}_" + "x" * 80,
            status=status,
            partner=f"<@UP{n:04d}>",
            initiator="UADMIN",
            created_at=NOW - D,
            invitation_id=n if status == "PENDING" else None,
            activated_at=NOW if status == "ACTIVE" else None,
        )
        for n in range(count)
    ]


@BUILDERS
@given(thirty=funnels(30), ninety=funnels(90))
def test_the_admins_home_with_the_funnel_at_its_fullest(
    thirty: FunnelFigures, ninety: FunnelFigures
) -> None:
    """The most the Home tab holds (15 in flight, more, 5 recent, 10 waiting, a banner) with
    the funnel: inside 100 blocks, the funnel whole, Slack's checks passed."""
    view = build_home_view(
        now=NOW,
        is_admin=True,
        admins="<@UADMIN>",
        reminder_max=5,
        accept_here=True,
        counts={state: 3 for state in STATES},
        in_flight=_rows(15, "PENDING"),
        more_in_flight=10**6,
        recent=_rows(5, "ACTIVE"),
        waiting=_rows(10, "PENDING"),
        banner=":bell: Reminder sent.",
        funnel=[thirty, ninety],
    )
    assert len(view["blocks"]) == 66  # Slack's limit is 100
    assert view["blocks"][-4:] == [{"type": "divider"}, *funnel_blocks([thirty, ninety], now=NOW)]
    assert_view_ok(view)
