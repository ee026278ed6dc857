"""Reading the funnel for the Home tab and `/exalate report`: one window after another, on one
session (storage/repo/funnel.py: two statements a window)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.report import texts
from bot.report.views import build_report
from bot.services import Services
from storage import repo
from storage.repo.funnel import FunnelFigures


async def read_funnel(services: Services, *, team_id: str) -> list[FunnelFigures]:
    """The workspace's funnel for the last 30 and 90 days, as of the services' clock."""
    now = services.clock.now()
    async with services.sessions() as session:
        return [
            await repo.funnel(
                session=session, team_id=team_id, since=now - timedelta(days=days), now=now
            )
            for days in texts.WINDOWS
        ]


# How long the Home tab shows a workspace's funnel before reading it again. At 100,000
# connections a reading costs a few tenths of a second (bench/README.md), and the sweep
# publishes Home tabs often; the figures move slowly. `/exalate report` always reads afresh.
HOME_FRESH = timedelta(minutes=5)


async def home_funnel(services: Services, *, team_id: str) -> list[FunnelFigures]:
    """The funnel for the admin's Home tab: read at most once every HOME_FRESH per workspace
    in this process (its "As of" says when)."""
    now = services.clock.now()
    kept = services.kept.get(("funnel", team_id))
    if kept is not None and now - kept[0].now < HOME_FRESH:
        return list(kept)
    windows = await read_funnel(services, team_id=team_id)
    services.kept[("funnel", team_id)] = tuple(windows)
    return windows


async def report(services: Services, *, team_id: str) -> dict[str, Any]:
    """`/exalate report`'s reply (admins only: the route checks)."""
    windows = await read_funnel(services, team_id=team_id)
    return build_report(windows, now=windows[0].now)
