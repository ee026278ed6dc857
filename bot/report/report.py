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


async def report(services: Services, *, team_id: str) -> dict[str, Any]:
    """`/exalate report`'s reply (admins only: the route checks)."""
    windows = await read_funnel(services, team_id=team_id)
    return build_report(windows, now=windows[0].now)
