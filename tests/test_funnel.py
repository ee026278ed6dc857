"""The invitation funnel (storage/repo/funnel.py) on a seeded history with exact timestamps, on
SQLite and PostgreSQL: the 30- and 90-day figures, with connections outside the window,
another workspace's, connections without a code and a resent one; and its Block Kit
(bot/report/views.py) for the Home tab and `/exalate report`, checked as Slack would."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.home.views import STATES, Row, build_home_view
from bot.report import texts, views
from bot.report.views import funnel_blocks
from storage import repo
from storage.db import session_factory
from storage.repo.funnel import FunnelFigures, nearest_rank
from tests.funnel_history import (
    NINETY,
    NOW,
    REPORT_FIELDS,
    REPORT_TEXT,
    THIRTY,
    D,
    H,
    seed_history,
)
from tests.property_kit import BUILDERS, assert_message_ok, assert_view_ok


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
